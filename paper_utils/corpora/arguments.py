"""Arguments every corpus loader shares: a choice among valid values, and ``roots=`` (which folder holds a pack).

Example::

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> pack_root("django", {"django": folder}).is_dir()   # roots= points a loader at another copy
    True
    >>> choice("split", "valid", ("train", "dev", "test"))
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid split='valid': use one of: train, dev, test

Without ``roots`` (or without the key in it) :func:`pack_root` gives the pinned pack's folder
(``paper_utils.packs.pack_dir``, fetched once), and :func:`debian_root` the pinned Debian package's
(``paper_utils.debian_packs.package_dir``); the unit tests replace ``pack_dir`` here to make sure
they never read a real pack.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

from ..errors import ConfigError, DataError
from ..debian_packs import package_dir
from ..packs import pack_dir


def choice(parameter: str, value: object, valid: Iterable[object]) -> None:
    """Raise ConfigError naming ``parameter`` and the valid values when ``value`` is not one of them."""
    valid = tuple(valid)
    if value not in valid:
        raise ConfigError(parameter, value, f"use one of: {', '.join(map(str, valid))}")


def pack_root(key: str, roots: Mapping[str, str | os.PathLike] | None) -> Path:
    """Folder of pack ``key``: ``roots[key]`` when given (tests, other copies), else the pinned pack."""
    return _given_root(key, roots) or pack_dir(key)


def debian_root(key: str, roots: Mapping[str, str | os.PathLike] | None) -> Path:
    """Folder of Debian package ``key``: ``roots[key]`` when given, else the pinned package (data/debian.toml)."""
    return _given_root(key, roots) or package_dir(key)


def _given_root(key: str, roots: Mapping[str, str | os.PathLike] | None) -> Path | None:
    if roots and key in roots:
        path = Path(roots[key])
        if not path.is_dir():
            raise DataError(f"folder for {key!r} does not exist: {path}")
        return path.resolve()
    return None
