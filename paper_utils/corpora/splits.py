"""The split rule: a comparison key per text, a stable hash of it, and train/dev/test by that hash.

Example::

    >>> normalize_key("  O‘zbek tili: ")
    'ozbek tili'
    >>> split_of(normalize_key("Save")) in SPLITS
    True

A text goes to ``"test"`` when ``hash_unit(seed, key) < test_size``, to ``"dev"`` when it is below
``test_size + dev_size``, else to ``"train"``; defaults ``SPLIT_SEED`` (2026), ``TEST_SIZE`` (0.3),
``DEV_SIZE`` (0.1). The hash is sha256, never Python's ``hash``, so splits are the same in every
process. Which *key* a group of parallel pairs is hashed by is decided in :mod:`.pairs`.
"""
from __future__ import annotations

import hashlib
import unicodedata

from ..errors import ConfigError

SPLIT_SEED = 2026
TEST_SIZE = 0.3
DEV_SIZE = 0.1
SPLITS = ("train", "dev", "test")
HELD_OUT = ("dev", "test")


def check_sizes(test_size: float, dev_size: float) -> None:
    """Raise ConfigError unless ``test_size`` and ``dev_size`` are fractions in [0, 1) with a sum below 1."""
    for name, value in (("test_size", test_size), ("dev_size", dev_size)):
        if not 0.0 <= value < 1.0:
            raise ConfigError(name, value, "use a fraction in [0, 1)")
    if test_size + dev_size >= 1.0:
        raise ConfigError("test_size", test_size, f"test_size + dev_size must be < 1 (dev_size={dev_size})")


class _KeyTable(dict):
    """``str.translate`` table: letters, marks and digits kept, apostrophes deleted, the rest -> space."""

    _APOSTROPHES = set("'`\u2018\u2019\u02bb\u02bc\u02b9\u00b4")

    def __missing__(self, cp: int):
        ch = chr(cp)
        if ch in self._APOSTROPHES:
            value = None
        elif unicodedata.category(ch)[0] in "LMN":
            value = ch
        else:
            value = " "
        self[cp] = value
        return value


_KEY_TABLE = _KeyTable()        # filled one code point at a time; corpora.clear_caches() empties it


def normalize_key(text: str) -> str:
    """Comparison key used for deduplication and leak checks (not for display).

    Example::

        >>> normalize_key("  O‘zbek tili: ") == normalize_key("o'zbek   TILI")
        True
    """
    text = unicodedata.normalize("NFKC", text).casefold().translate(_KEY_TABLE)
    return " ".join(text.split())


def hash_unit(seed: int, text: str) -> float:
    """A stable number in [0, 1) from ``sha256(f"{seed}\\x1f{text}")`` (never Python's ``hash``).

    Example::

        >>> hash_unit(0, "Save") == hash_unit(0, "Save") != hash_unit(1, "Save")
        True
    """
    digest = hashlib.sha256(f"{seed}\x1f{text}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def split_of(key: str, seed: int = SPLIT_SEED, test_size: float = TEST_SIZE,
             dev_size: float = DEV_SIZE) -> str:
    """``"test"``, ``"dev"`` or ``"train"`` for ``key`` by the documented hash rule.

    Example::

        >>> split_of("Save", test_size=0.0, dev_size=0.0)
        'train'
    """
    u = hash_unit(seed, key)
    if u < test_size:
        return "test"
    if u < test_size + dev_size:
        return "dev"
    return "train"
