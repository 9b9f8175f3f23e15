"""English -> Spanish with Debian's rule-based Apertium (``apertium-eng-spa``), run from the pinned .debs.

Example::

    >>> t = ApertiumEngSpa()
    >>> t.name, t.directions
    ('apertium_eng_spa', frozenset({('en', 'es')}))
    >>> t.translate(["The house is big."], "en", "es")      # the Debian packages  # doctest: +SKIP
    ['La casa es grande.']

**Asset.** Seven Debian 12 packages pinned in ``data/debian.toml`` (:data:`PACKAGES`: the apertium
programs and libraries, lttoolbox, apertium-lex-tools and the ``apertium-eng-spa`` 0.8.1-2 data; GPL),
fetched with ``apt-get download`` and unpacked without dpkg or root. Because the unpacker keeps regular
files only, :func:`runtime_dir` builds once, under ``data/cache/debian/apertium-eng-spa-runtime/``, the
library links (``libapertium.so.3 -> .../libapertium.so.3.0.0``) and the pair's mode pipeline with its
``/usr/share/apertium`` paths pointed at the unpacked data. System libraries it needs: libicu72, libxml2,
libstdc++6 (present in Debian 12).

**Running.** Equivalent to ``apertium -u eng-spa`` (unknown words unmarked): every text goes through
``apertium-destxt`` on its own, the formatted texts are joined with a superblank holding
:data:`SEPARATOR` (superblanks pass through every stage untouched), the pipeline runs once per batch of
:data:`BATCH_SIZE` texts, ``apertium-retxt`` restores the text and the output is split on the separator.
Only English -> Spanish is offered (the pair's ``spa-eng`` direction exists but is not measured here).
"""
from __future__ import annotations

import os
import re
import subprocess
from functools import cached_property
from pathlib import Path

from ..debian_packs import get_package, package_dir
from ..errors import AssetError
from ..io import atomic_dir
from ..paths import cache_dir
from .base import Translator, fetch_command

PACKAGES = ("apertium", "libapertium3", "lttoolbox", "liblttoolbox3", "apertium-lex-tools",
            "libapertium-lex-tools1", "apertium-eng-spa")
PAIR = "eng-spa"
SEPARATOR = "\u241eCLO\u241e"
BATCH_SIZE = 200
RUNTIME_VERSION = "1"
_SONAME = re.compile(r"^(lib.+\.so\.\d+)\.[\d.]+$")


def runtime_dir() -> Path:
    """The library links and the rewritten mode file, built once from the unpacked packages (idempotent)."""
    target = cache_dir() / "debian" / f"apertium-{PAIR}-runtime"
    stamp = target / "runtime.txt"
    pins = "\n".join(f"{key} {get_package(key).sha256}" for key in PACKAGES) + f"\nruntime {RUNTIME_VERSION}\n"
    if stamp.exists() and stamp.read_text() == pins:
        return target
    roots = {key: package_dir(key) for key in PACKAGES}
    data = roots["apertium-eng-spa"] / "usr" / "share" / "apertium"
    with atomic_dir(target) as tmp:
        (tmp / "lib").mkdir()
        for key in ("libapertium3", "liblttoolbox3", "libapertium-lex-tools1"):
            for lib in (roots[key] / "usr" / "lib" / "x86_64-linux-gnu").glob("lib*.so.*"):
                match = _SONAME.match(lib.name)
                if match:
                    os.symlink(lib, tmp / "lib" / match.group(1))
        mode = (data / "modes" / f"{PAIR}.mode").read_text(encoding="utf-8")
        (tmp / f"{PAIR}.mode").write_text(mode.replace("/usr/share/apertium", str(data)), encoding="utf-8")
        (tmp / "runtime.txt").write_text(pins)
    return target


class ApertiumEngSpa(Translator):
    """en -> es with Apertium 3.8.3 + apertium-eng-spa 0.8.1-2 (rule-based), from pinned Debian packages."""

    name = "apertium_eng_spa"
    directions = frozenset({("en", "es")})

    @property
    def version(self) -> str:
        eng_spa, engine = get_package("apertium-eng-spa"), get_package("apertium")
        return (f"apertium=={engine.version}+apertium-eng-spa=={eng_spa.version}"
                f"+deb-sha256:{eng_spa.sha256[:12]}+unknown-unmarked")

    def missing_assets(self) -> list[tuple[str, str]]:
        return [(f"Debian package {get_package(key).apt_spec}", fetch_command(self.name))
                for key in PACKAGES if not get_package(key).is_cached()]

    def fetch(self) -> None:
        runtime_dir()

    @cached_property
    def _environment(self) -> tuple[dict[str, str], str]:
        runtime = runtime_dir()
        bins = [str(package_dir(key) / "usr" / "bin") for key in ("apertium", "lttoolbox", "apertium-lex-tools")]
        env = dict(os.environ, PATH=os.pathsep.join(bins + [os.environ.get("PATH", "")]),
                   LD_LIBRARY_PATH=os.pathsep.join([str(runtime / "lib"), os.environ.get("LD_LIBRARY_PATH", "")]))
        return env, (runtime / f"{PAIR}.mode").read_text(encoding="utf-8").strip()

    def _run(self, args: list[str], text: str) -> str:
        env, _ = self._environment
        proc = subprocess.run(args, input=text.encode("utf-8"), capture_output=True, env=env)
        if proc.returncode != 0:
            raise AssetError(f"apertium step {args[0]!r} failed (exit {proc.returncode}): "
                             f"{proc.stderr.decode('utf-8', 'replace')[-400:]}; refetch with {fetch_command(self.name)}")
        return proc.stdout.decode("utf-8")

    def _translate(self, texts: list[str], source: str, target: str) -> list[str]:
        _, mode = self._environment
        pipeline = mode.replace("$1", "-n").replace("$2", "")
        out: list[str] = []
        for start in range(0, len(texts), BATCH_SIZE):
            batch = texts[start:start + BATCH_SIZE]
            if any(SEPARATOR in t for t in batch):
                raise AssetError(f"a text holds the apertium batch separator {SEPARATOR!r}")
            formatted = [self._run(["apertium-destxt"], t) for t in batch]
            stream = f"[{SEPARATOR}]".join(formatted)
            translated = self._run(["apertium-retxt"], self._run(["bash", "-c", pipeline], stream))
            pieces = translated.split(SEPARATOR)
            if len(pieces) != len(batch):
                raise AssetError(f"apertium returned {len(pieces)} texts for {len(batch)} (separator lost)")
            out.extend(p.strip() for p in pieces)
        return out


__all__ = ["ApertiumEngSpa", "PACKAGES", "runtime_dir", "SEPARATOR"]
