"""Pack fetching: pinned sha256, corrupted cache -> refetch, atomic unpack, clear errors."""
import hashlib
import zipfile

import pytest

from paper_utils import packs
from paper_utils.errors import AssetError, ConfigError


@pytest.fixture
def fake_pack(isolated_cache, tmp_path, monkeypatch):
    """A registry with one local wheel; ``_download`` copies it like pip would."""
    wheel = tmp_path / "demo_pack-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo_pack/data.txt", "hello")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    pack = packs.Pack("demo-pack", "demo-pack==1.0", wheel.name, sha, "MIT", "test")
    monkeypatch.setattr(packs, "registry", lambda: {"demo-pack": pack})
    calls = []

    def download(p):
        calls.append(p.key)
        p.wheel_path.parent.mkdir(parents=True, exist_ok=True)
        p.wheel_path.write_bytes(wheel.read_bytes())

    monkeypatch.setattr(packs, "_download", download)
    return pack, calls


def test_fetch_unpacks_once(fake_pack):
    pack, calls = fake_pack
    root = packs.fetch("demo-pack")
    assert (root / "demo_pack" / "data.txt").read_text() == "hello"
    assert packs.pack_dir("demo-pack") == root
    packs.fetch("demo-pack")
    assert calls == ["demo-pack"]


def test_corrupted_wheel_is_refetched(fake_pack):
    pack, calls = fake_pack
    packs.fetch("demo-pack")
    pack.wheel_path.write_bytes(b"truncated")
    root = packs.fetch("demo-pack")
    assert calls == ["demo-pack", "demo-pack"]
    assert packs.sha256_file(pack.wheel_path) == pack.sha256
    assert (root / "demo_pack" / "data.txt").exists()


def test_unknown_pack_lists_valid_ones(fake_pack):
    with pytest.raises(ConfigError, match="demo-pack"):
        packs.get_pack("nope")


def test_download_with_wrong_sha_writes_nothing(isolated_cache, monkeypatch, tmp_path):
    pack = packs.Pack("x", "x==1", "x.whl", "0" * 64, "MIT", "test")

    def fake_run(cmd, capture_output, text):
        dest = cmd[cmd.index("--dest") + 1]
        (tmp_path / "dummy").write_text("")
        open(f"{dest}/x.whl", "wb").write(b"not the pinned file")

        class R:
            returncode, stderr = 0, ""
        return R()

    monkeypatch.setattr(packs.subprocess, "run", fake_run)
    with pytest.raises(AssetError, match="sha256"):
        packs._download(pack)
    assert not pack.wheel_path.exists()


def test_pins_are_complete():
    for key, pack in packs.registry().items():
        assert len(pack.sha256) == 64 and "==" in pack.requirement, key
        assert pack.file.endswith(".whl") or (pack.is_sdist and pack.extract), key


@pytest.fixture
def fake_index(isolated_cache, tmp_path, monkeypatch):
    """A local simple index (file://) with one sdist holding a wanted and an unwanted member."""
    import io
    import tarfile

    sdist = tmp_path / "index" / "files" / "demo-sdist-1.0.tar.gz"
    sdist.parent.mkdir(parents=True)
    with tarfile.open(sdist, "w:gz") as tf:
        for name, text in (("demo-sdist-1.0/tasks/a/task.json", b"{}"), ("demo-sdist-1.0/setup.py", b"boom"),
                           ("demo-sdist-1.0/tasks/../../../escaped/task.json", b"evil")):   # matches the glob
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tf.addfile(info, io.BytesIO(text))
    page = tmp_path / "index" / "demo-sdist"
    page.mkdir()
    (page / "index.html").write_text('<a href="../files/demo-sdist-1.0.tar.gz#sha256=x">demo-sdist-1.0.tar.gz</a>')
    monkeypatch.setenv("PIP_INDEX_URL", (tmp_path / "index").as_uri())
    sha = hashlib.sha256(sdist.read_bytes()).hexdigest()
    pack = packs.Pack("demo-sdist", "demo_sdist==1.0", sdist.name, sha, "MIT", "test", ("*/tasks/*task.json",))
    monkeypatch.setattr(packs, "registry", lambda: {"demo-sdist": pack})
    return pack


def test_an_sdist_member_that_leaves_the_folder_is_refused(fake_index, monkeypatch, tmp_path):
    import urllib.request

    real_open = urllib.request.urlopen
    monkeypatch.setattr(packs, "_open", lambda address, timeout=None: real_open(
        address + "index.html" if address.endswith("/") else address, timeout=timeout))
    with pytest.raises(Exception, match="outside the destination|escaped"):
        packs.fetch("demo-sdist")
    assert not fake_index.unpacked_path.exists() and not (fake_index.unpacked_path.parent / "escaped").exists()


def test_a_token_in_the_index_address_is_not_printed(fake_index, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "https://user:s3cret@localhost:1/simple")
    with pytest.raises(AssetError) as err:
        packs.sdist_url(fake_index)
    assert "s3cret" not in str(err.value) and "localhost" in str(err.value)


def test_an_sdist_comes_from_the_simple_index_and_only_the_wanted_members_are_unpacked(fake_index, monkeypatch):
    import urllib.request

    real_open = urllib.request.urlopen

    def urlopen(address, timeout=None):              # file:// has no index.html fallback: serve the page's file
        return real_open(address + "index.html" if address.endswith("/") else address, timeout=timeout)

    monkeypatch.setattr(packs, "_open", urlopen)
    import dataclasses

    pack = dataclasses.replace(fake_index, extract=("*/tasks/a/task.json",))     # not the member that escapes
    monkeypatch.setattr(packs, "registry", lambda: {"demo-sdist": pack})
    root = packs.fetch("demo-sdist")
    assert (root / ".unpacked-sha256").read_text().split() == [pack.sha256, "*/tasks/a/task.json"]
    monkeypatch.setattr(packs, "registry", lambda: {"demo-sdist": fake_index})
    assert not fake_index.is_cached()                                              # other globs: unpack again
    assert (root / "demo-sdist-1.0" / "tasks" / "a" / "task.json").read_text() == "{}"
    assert not (root / "demo-sdist-1.0" / "setup.py").exists()
    assert packs.sha256_file(fake_index.wheel_path) == fake_index.sha256


def test_an_extract_glob_that_matches_nothing_is_refused_and_nothing_is_unpacked(fake_index, monkeypatch):
    import dataclasses
    import urllib.request

    real_open = urllib.request.urlopen
    monkeypatch.setattr(packs, "_open", lambda address, timeout=None: real_open(
        address + "index.html" if address.endswith("/") else address, timeout=timeout))
    pack = dataclasses.replace(fake_index, extract=("*/tasks/a/task.json", "*/taks/*.json"))   # a typo
    monkeypatch.setattr(packs, "registry", lambda: {"demo-sdist": pack})
    with pytest.raises(AssetError, match=r"matches \['\*/taks/\*.json'\]; fix `extract`"):
        packs.fetch("demo-sdist")
    assert not pack.unpacked_path.exists()


def test_an_sdist_the_index_does_not_list_is_refused_naming_the_file(fake_index, monkeypatch):
    import dataclasses
    import urllib.request

    real_open = urllib.request.urlopen
    monkeypatch.setattr(packs, "_open", lambda address, timeout=None: real_open(address + "index.html", timeout=timeout))
    other = dataclasses.replace(fake_index, file="demo-sdist-2.0.tar.gz")
    with pytest.raises(AssetError, match="lists no file demo-sdist-2.0.tar.gz"):
        packs._download(other)
    assert not other.wheel_path.exists()
