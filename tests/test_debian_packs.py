"""Pinned Debian packages: sha256 checked before unpacking, atomic unpack once, clear errors without apt.

The fake ``.deb`` files are built here (``ar`` + ``tar.xz`` in Python); nothing reaches the network.
"""
import hashlib
import io
import tarfile
from types import SimpleNamespace

import pytest

from paper_utils import cli, debian_packs
from paper_utils.config import load_preset
from paper_utils.errors import AssetError, ConfigError


def _deb_bytes(files: dict[str, bytes]) -> bytes:
    """A minimal Debian package: ar archive with debian-binary, control.tar.xz and data.tar.xz."""
    def tar_xz(entries: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:xz") as tar:
            for name, data in entries.items():
                info = tarfile.TarInfo("./" + name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    members = [("debian-binary", b"2.0\n"), ("control.tar.xz", tar_xz({"control": b"Package: demo\n"})),
               ("data.tar.xz", tar_xz(files))]
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        out += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode("ascii") + data
        if len(data) % 2:
            out += b"\n"
    return bytes(out)


@pytest.fixture
def fake_debian(isolated_cache, tmp_path, monkeypatch):
    """A registry with one pinned fake package; ``_download`` writes it like apt-get would."""
    deb = _deb_bytes({"usr/share/demo/a.txt": b"hello", "usr/share/demo/skip.txt": b"no",
                      "usr/share/doc/demo/copyright": b"MPL-2.0"})
    package = debian_packs.DebianPackage(
        key="demo", package="demo", version="1:1.0-1", architecture="all",
        sha256=hashlib.sha256(deb).hexdigest(), license="MPL-2.0", content="test", presets=("demo-full",),
        extract=("usr/share/demo/a.txt",))
    monkeypatch.setattr(debian_packs, "registry", lambda: {"demo": package})
    calls = []

    def download(p):
        calls.append(p.key)
        p.deb_path.parent.mkdir(parents=True, exist_ok=True)
        p.deb_path.write_bytes(deb)

    monkeypatch.setattr(debian_packs, "_download", download)
    return package, calls


def test_fetch_unpacks_the_extract_paths_once(fake_debian):
    package, calls = fake_debian
    assert package.file == "demo_1%3a1.0-1_all.deb" and package.apt_spec == "demo=1:1.0-1"
    root = debian_packs.fetch("demo")
    assert root == package.unpacked_path and (root / "usr/share/demo/a.txt").read_bytes() == b"hello"
    assert not (root / "usr/share/demo/skip.txt").exists() and not (root / "usr/share/doc").exists()
    assert debian_packs.package_dir("demo") == root
    debian_packs.fetch("demo")                     # cached: nothing downloaded or unpacked again
    assert calls == ["demo"]


def test_corrupted_cached_deb_is_fetched_again(fake_debian):
    package, calls = fake_debian
    debian_packs.fetch("demo")
    package.deb_path.write_bytes(b"truncated")
    root = debian_packs.fetch("demo")
    assert calls == ["demo", "demo"] and (root / "usr/share/demo/a.txt").exists()


def test_download_with_wrong_sha_refuses_and_unpacks_nothing(isolated_cache, monkeypatch):
    package = debian_packs.DebianPackage("demo", "demo", "1.0", "amd64", "0" * 64, "MPL-2.0", "test", ("demo-full",))
    monkeypatch.setattr(debian_packs, "registry", lambda: {"demo": package})
    monkeypatch.setattr(debian_packs.shutil, "which", lambda name: "/usr/bin/apt-get")
    seen = []

    def fake_run(cmd, cwd, capture_output, text):
        seen.append(cmd)
        (debian_packs.Path(cwd) / package.file).write_bytes(_deb_bytes({"usr/x": b"not the pinned file"}))

        class Result:
            returncode, stderr = 0, ""
        return Result()

    monkeypatch.setattr(debian_packs.subprocess, "run", fake_run)
    with pytest.raises(AssetError, match=r"'demo'.*sha256.*nothing was unpacked"):
        debian_packs.fetch("demo")
    assert seen == [["apt-get", "download", "demo:amd64=1.0"]]
    assert not package.deb_path.exists() and not package.unpacked_path.exists()
    assert list(package.deb_path.parent.iterdir()) == []          # the temporary download folder is gone


def test_no_apt_names_the_preset_and_the_demo_way_out(isolated_cache, monkeypatch):
    package = debian_packs.DebianPackage("demo", "demo", "1.0", "all", "0" * 64, "MPL-2.0", "test", ("demo-full",))
    monkeypatch.setattr(debian_packs, "registry", lambda: {"demo": package})
    monkeypatch.setattr(debian_packs.shutil, "which", lambda name: None)
    with pytest.raises(AssetError) as info:
        debian_packs.fetch("demo")
    message = str(info.value)
    assert "preset demo-full" in message and "apt-get" in message
    assert "`demo` preset does not need it" in message and str(package.deb_path.parent) in message


def test_missing_extract_path_fails_and_leaves_no_folder(fake_debian, monkeypatch):
    package, _ = fake_debian
    wrong = debian_packs.DebianPackage(**{**package.__dict__, "extract": ("usr/share/absent",)})
    monkeypatch.setattr(debian_packs, "registry", lambda: {"demo": wrong})
    with pytest.raises(AssetError, match="usr/share/absent"):
        debian_packs.fetch("demo")
    assert not wrong.unpacked_path.exists()


def test_unknown_package_lists_valid_ones(fake_debian):
    with pytest.raises(ConfigError, match="demo"):
        debian_packs.get_package("nope")


def test_pins_are_complete_and_only_demo_full_uses_them():
    pins = debian_packs.registry()
    assert {"firefox-esr", "firefox-esr-l10n-uz", "firefox-esr-l10n-ms", "firefox-esr-l10n-ko",
            "firefox-esr-l10n-es-es"} <= set(pins)
    for key, package in pins.items():
        assert len(package.sha256) == 64 and int(package.sha256, 16) >= 0, key
        assert package.version and package.license and package.presets, key
    assert debian_packs.for_preset("demo") == [] and debian_packs.for_preset("smoke") == []
    assert set(debian_packs.for_preset("demo-full")) == set(pins)


def test_assets_fetch_of_demo_full_fetches_the_debian_packages(fake_debian, monkeypatch):
    monkeypatch.setattr("paper_utils.packs.fetch", lambda key: None)
    monkeypatch.setattr("paper_utils.tokenization.load_text_tokenizer", lambda name: None)
    monkeypatch.setattr("paper_utils.assets.model_dir", lambda name: None)
    monkeypatch.setattr("paper_utils.e5_weights.word_embeddings", lambda: None)    # salt's table: not this test
    fetched = []                                                                    # CLO's translators: not this test
    monkeypatch.setattr("paper_utils.translate.translator_for",
                        lambda language, names: SimpleNamespace(name=f"tr-{language}", fetch=lambda: fetched.append(1)))
    messages = []
    done = cli.fetch_preset_assets("demo-full", progress=messages.append)
    assert "tr-es" in done and len(fetched) == len(load_preset("demo-full").clo.languages)
    assert "demo" in done and any("Debian package demo (demo=1:1.0-1)" in m for m in messages)
    assert debian_packs.get_package("demo").is_cached()
    assert "demo" not in cli.fetch_preset_assets("demo", progress=messages.append)


# ------------------------------------------------------------------------------------------------ fonts for figures

def test_fallback_fonts_come_after_the_theme_font(monkeypatch):
    """A registered font file's family follows the theme's in font.family (matplotlib's per-glyph fallback)."""
    from pathlib import Path

    import matplotlib
    import matplotlib.pyplot as plt

    from paper_utils import plots

    monkeypatch.setattr(plots, "FALLBACK_FONTS", [])
    monkeypatch.setitem(plt.rcParams, "font.family", plt.rcParams["font.family"])     # restored after the test
    mono = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSansMono.ttf"   # ships with matplotlib
    assert plots.add_fallback_fonts([mono]) == ["DejaVu Sans Mono"]
    assert plots.add_fallback_fonts([mono]) == []                     # once
    plots.set_style()
    assert list(plt.rcParams["font.family"]) == ["sans-serif", "DejaVu Sans Mono"]
    plots.reset_fallback_fonts()
    plots.set_style()
    assert list(plt.rcParams["font.family"]) == ["sans-serif"]


@pytest.mark.assets
def test_pinned_korean_font_draws_hangul_without_missing_glyphs(monkeypatch):
    """The fetched Nanum Gothic (data/debian.toml) gives the figures Hangul: no "Glyph missing" warning."""
    import warnings

    import matplotlib.pyplot as plt

    from paper_utils import figures, plots

    if not debian_packs.get_package("fonts-nanum").is_cached():
        pytest.skip("fonts-nanum not fetched: python -m paper_utils assets fetch --preset demo-full")
    monkeypatch.setattr(plots, "FALLBACK_FONTS", [])
    monkeypatch.setitem(plt.rcParams, "font.family", plt.rcParams["font.family"])
    files = figures.register_fonts()
    assert [f.name for f in files] == ["NanumGothic.ttf", "NanumGothicBold.ttf"]
    fig = plots.fusion_token_heatmap({"ko": {"tokens": ["▁한국어", "입니다"], "weights": [[0.5, 0.5], [0.2, 0.8]]}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # matplotlib warns "Glyph ... missing from font(s)"
        fig.canvas.draw()
    plt.close(fig)
