"""General word frequency lists (wordfreq 3.1.1 ``small_<lang>``, offline pack), not derived from held-out text.

Example::

    >>> import gzip, msgpack, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())           # a two-word wordfreq pack
    >>> (root / "wordfreq" / "data").mkdir(parents=True)
    >>> with gzip.open(root / "wordfreq" / "data" / "small_ms.msgpack.gz", "wb") as fh:
    ...     msgpack.dump([{"format": "cB"}, ["yang"], [], ["dan"]], fh)
    >>> ds = word_frequencies("ms", roots={"wordfreq": root})
    >>> list(ds["word"]), [round(f, 4) for f in ds["frequency"]]
    (['yang', 'dan'], [1.0, 0.955])
"""
from __future__ import annotations

import gzip
import os
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import datasets
import msgpack

from ..errors import DataError
from .arguments import choice, pack_root

WORDFREQ_LANGUAGES = ("ms", "ko", "es", "ta", "id", "en")


@lru_cache(maxsize=None)
def wordfreq_rows(lang: str, root: str, size: str = "small") -> tuple[tuple[str, float], ...]:
    """(word, frequency) of the wordfreq pack's ``<size>_<lang>`` list, most frequent first."""
    path = Path(root) / "wordfreq" / "data" / f"{size}_{lang}.msgpack.gz"
    try:
        with gzip.open(path) as fh:
            packed = msgpack.load(fh, raw=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read word frequencies from {path}: {exc}") from exc
    if not packed or packed[0].get("format") != "cB":
        raise DataError(f"{path}: not a wordfreq 'cB' frequency list (header {packed[:1]})")
    # bucket i (after the header) holds the words of frequency 10 ** (-i / 100)
    return tuple((word, 10 ** (-i / 100)) for i, bucket in enumerate(packed[1:]) for word in bucket)


def word_frequencies(lang: str, *, top: int | None = None, size: str = "small",
                     roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """Word frequency list (wordfreq 3.1.1 ``small_<lang>``), columns ``word, frequency``.

    Example::

        >>> word_frequencies("ms", top=1)[0]["word"]  # reads the wordfreq pack  # doctest: +SKIP
        'yang'

    Words are lowercased by wordfreq; ``frequency`` is the share of running text (the list's
    bucketed values, 10**(-centibels/100)), most frequent first. Available for
    ``WORDFREQ_LANGUAGES`` (not Uzbek); ``size="large"`` reads the longer list where the pack has one
    (English: 321,180 words against 28,917 in ``small``). It is a general list, not derived from our held-out text,
    so it may serve as tokenizer training text.
    """
    choice("lang", lang, WORDFREQ_LANGUAGES)
    choice("size", size, ("small", "large"))
    rows = wordfreq_rows(lang, str(pack_root("wordfreq", roots)), size)
    rows = rows[:top] if top else rows
    return datasets.Dataset.from_dict({"word": [w for w, _ in rows], "frequency": [f for _, f in rows]})
