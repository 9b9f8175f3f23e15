"""Pinned Debian packages read as data: ``apt-get download``, sha256 checked before unpacking, cached.

Example::

    >>> from paper_utils.debian_packs import get_package, for_preset
    >>> get_package("firefox-esr-l10n-uz").apt_spec            # pinned in data/debian.toml
    'firefox-esr-l10n-uz=140.12.0esr-1~deb12u1'
    >>> "firefox-esr" in for_preset("demo-full"), for_preset("demo")
    (True, [])
    >>> root = package_dir("firefox-esr-l10n-uz")   # fetches once, then reads the cache  # doctest: +SKIP

The pins (package, version, architecture, sha256, license, the presets that use it) live in
``data/debian.toml``. A package is fetched with apt's ordinary client into a temporary folder; its
sha256 is checked before anything is unpacked, and a mismatch stops with the package named (the
download is deleted, nothing is unpacked). The data archive is unpacked without dpkg (``ar`` + ``tar`` in
Python, only the ``extract`` paths when the pin names some) into a temporary folder renamed to
``data/cache/debian/<key>/``, so an interrupted fetch leaves nothing half-done; a second fetch does
nothing. The verified ``.deb`` stays in ``data/cache/debian/debs/``: a file put there by hand (for
example from snapshot.debian.org once the mirrors moved on) is used after the same check.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from .errors import AssetError, ConfigError
from .io import atomic_dir
from .packs import sha256_file
from .paths import DATA_DIR, cache_dir

DEBIAN_FILE = DATA_DIR / "debian.toml"
_MARKER = ".unpacked-sha256"
_AR_MAGIC = b"!<arch>\n"


@dataclass(frozen=True)
class DebianPackage:
    """One pinned ``.deb``; ``key`` is our name (the table name in ``data/debian.toml``)."""

    key: str
    package: str
    version: str
    architecture: str
    sha256: str
    license: str
    content: str
    presets: tuple[str, ...]
    extract: tuple[str, ...] = ()       # paths inside the data archive to unpack; () = all
    language: str | None = None         # the study's language code of a language pack
    locale: str | None = None           # the locale folder name inside a language pack
    corpus: str | None = None           # what the package is read as: "firefox-l10n", "gettext-ui" (None: a tool)

    @property
    def apt_spec(self) -> str:
        """What ``apt-get download`` is asked for (the architecture only when the pin is not ``all``)."""
        arch = "" if self.architecture == "all" else f":{self.architecture}"
        return f"{self.package}{arch}={self.version}"

    @property
    def file(self) -> str:
        """The file name apt gives the download (an epoch's ``:`` is written ``%3a``)."""
        return f"{self.package}_{self.version.replace(':', '%3a')}_{self.architecture}.deb"

    @property
    def deb_path(self) -> Path:
        return cache_dir() / "debian" / "debs" / self.file

    @property
    def unpacked_path(self) -> Path:
        return cache_dir() / "debian" / self.key

    def is_cached(self) -> bool:
        marker = self.unpacked_path / _MARKER
        return marker.exists() and marker.read_text().strip() == self.sha256


@lru_cache(maxsize=None)
def registry() -> dict[str, DebianPackage]:
    """All packages pinned in ``data/debian.toml``, by key."""
    with open(DEBIAN_FILE, "rb") as fh:
        table = tomllib.load(fh)
    return {key: DebianPackage(key=key, **{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
            for key, fields in table.items()}


def get_package(key: str) -> DebianPackage:
    packages = registry()
    if key not in packages:
        raise ConfigError("debian package", key, f"use one of: {', '.join(sorted(packages))} (pinned in {DEBIAN_FILE})")
    return packages[key]


def for_preset(preset_name: str) -> list[str]:
    """Keys of the pinned packages that preset ``preset_name`` uses, in file order."""
    return [key for key, package in registry().items() if preset_name in package.presets]


def _no_apt_message(package: DebianPackage) -> str:
    presets = ", ".join(package.presets) or "no preset"
    return (f"Debian package {package.key!r} ({package.apt_spec}) is needed by preset {presets} and is fetched "
            f"with apt's client `apt-get download`, which this machine does not have. The `demo` preset does not "
            f"need it (python -m paper_utils assets fetch --preset demo). Or put the file {package.file} "
            f"(sha256 {package.sha256}, e.g. from https://snapshot.debian.org/) into {package.deb_path.parent}.")


def _download(package: DebianPackage) -> None:
    """``apt-get download`` into a temporary folder; the file moves into the cache only when its sha256 is the pin."""
    if shutil.which("apt-get") is None:
        raise AssetError(_no_apt_message(package))
    debs = package.deb_path.parent
    debs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=debs, prefix=".download-") as tmp:
        proc = subprocess.run(["apt-get", "download", package.apt_spec], cwd=tmp, capture_output=True, text=True)
        got = Path(tmp) / package.file
        if proc.returncode != 0 or not got.exists():
            found = sorted(p.name for p in Path(tmp).iterdir())
            raise AssetError(
                f"could not download Debian package {package.key!r} ({package.apt_spec}): apt-get exit "
                f"{proc.returncode}, files {found}, expected {package.file}. A Debian 12 (bookworm) apt source "
                f"must be reachable for the first fetch (run `apt-get update`); a version the mirrors no longer "
                f"carry is on https://snapshot.debian.org/ (put the file into {debs}). "
                f"apt said: {proc.stderr.strip()[-600:]}")
        actual = sha256_file(got)
        if actual != package.sha256:
            raise AssetError(
                f"Debian package {package.key!r}: downloaded {package.file} has sha256 {actual}, pinned "
                f"{package.sha256} in {DEBIAN_FILE}; nothing was unpacked. Do not update the pin without "
                f"re-checking the file.")
        os.replace(got, package.deb_path)


def _ar_members(path: Path) -> dict[str, bytes]:
    """The members of an ``ar`` archive (a ``.deb``: debian-binary, control.tar.*, data.tar.*)."""
    members: dict[str, bytes] = {}
    with open(path, "rb") as fh:
        if fh.read(8) != _AR_MAGIC:
            raise AssetError(f"{path} is not a Debian package (no ar header); delete it and fetch again")
        while len(header := fh.read(60)) == 60:
            name = header[:16].decode("ascii").strip().rstrip("/")
            size = int(header[48:58].decode("ascii").strip())
            members[name] = fh.read(size)
            if size % 2:
                fh.read(1)                    # members are 2-byte aligned
    return members


def _wanted(name: str, extract: tuple[str, ...]) -> bool:
    return not extract or any(name == path or name.startswith(path.rstrip("/") + "/") for path in extract)


def _unpack(package: DebianPackage) -> None:
    members = _ar_members(package.deb_path)
    data = [name for name in members if name.startswith("data.tar")]
    if not data:
        raise AssetError(f"{package.deb_path}: no data.tar.* member (members {sorted(members)})")
    if data[0].endswith(".zst"):
        raise AssetError(f"{package.deb_path}: {data[0]} is zstd-compressed, which Python's tarfile cannot read; "
                         "pin a package built with xz (Debian 12 packages are)")
    with atomic_dir(package.unpacked_path) as tmp:
        with tarfile.open(fileobj=BytesIO(members[data[0]]), mode="r:*") as tar:
            found = []
            for member in tar:
                name = member.name.removeprefix("./")
                if name and _wanted(name, package.extract) and (member.isfile() or member.isdir()):
                    member.name = name
                    tar.extract(member, tmp, filter="data")
                    found.append(name)
        missing = [p for p in package.extract if not any(_wanted(n, (p,)) for n in found)]
        if missing:
            raise AssetError(f"Debian package {package.key!r}: {missing} not in {package.file}; fix `extract` "
                             f"in {DEBIAN_FILE}")
        (tmp / _MARKER).write_text(package.sha256 + "\n")


def fetch(key: str, *, verify: bool = True) -> Path:
    """Make package ``key`` available in the cache and return its unpacked folder (idempotent).

    With ``verify`` (the default) a cached ``.deb`` is re-hashed; a mismatch deletes it (and its
    unpacked folder) and downloads it again.
    """
    package = get_package(key)
    deb = package.deb_path
    if deb.exists() and verify and sha256_file(deb) != package.sha256:
        deb.unlink()
        if package.unpacked_path.exists():
            shutil.rmtree(package.unpacked_path)
    if not deb.exists():
        _download(package)
    if not package.is_cached():
        _unpack(package)
    return package.unpacked_path


def package_dir(key: str) -> Path:
    """Unpacked folder of package ``key``, fetching it on first use (no re-hash when already unpacked)."""
    package = get_package(key)
    if package.is_cached():
        return package.unpacked_path
    return fetch(key)
