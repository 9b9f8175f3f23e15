"""The Firefox ESR held-out documents of one language: Debian language-pack strings minus training overlap.

Example::

    >>> docs, report = firefox_heldout("uz")       # reads the pinned Debian packages  # doctest: +SKIP
    >>> report["dev"]["documents"] >= 300 and report["dev"]["bytes_min"] >= 200       # doctest: +SKIP
    True

The strings are those :func:`.firefox_l10n.firefox_documents` uses (paired with an English source that
differs from them, keyboard shortcuts left out); overlap with the language's training text
(``monolingual(lang, "train")``) is removed and the rest grouped and split by file
(:mod:`.heldout_documents`, which states the rule).
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Mapping

from .firefox_l10n import translated_strings
from .heldout_documents import DEV_SHARE, MIN_BYTES, Document, build
from .splits import SPLIT_SEED, hash_unit
from .monolingual_text import monolingual

SOURCE = "firefox-esr-l10n"


def firefox_heldout(lang: str, min_bytes: int = MIN_BYTES, dev_share: float = DEV_SHARE, *,
                    roots: Mapping[str, str | os.PathLike] | None = None) -> tuple[list[Document], dict]:
    """``(documents, construction report)`` of ``lang``'s Firefox strings (see the module docstring)."""
    if roots is not None:
        return _build(lang, min_bytes, dev_share, roots)
    return _cached(lang, min_bytes, dev_share)


@lru_cache(maxsize=16)
def _cached(lang: str, min_bytes: int, dev_share: float) -> tuple[list[Document], dict]:
    return _build(lang, min_bytes, dev_share, None)


def _build(lang, min_bytes, dev_share, roots):
    training = monolingual(lang, "train", roots=roots)["text"]
    return build(translated_strings(lang, roots=roots), training, source=SOURCE, min_bytes=min_bytes, dev_share=dev_share)


def capped(documents: list[Document], max_documents: int) -> list[Document]:
    """At most ``max_documents`` documents per split: the first in ``hash_unit(SPLIT_SEED, id)`` order, in file order.

    Example::

        >>> docs = [Document(f"f#{n}", "f", "test", "x", "y", ("k",)) for n in range(5)]
        >>> len(capped(docs, 3)), capped(docs, 9) == docs
        (3, True)
    """
    keep: set[str] = set()
    for split in {d.split for d in documents}:
        ids = sorted((d.id for d in documents if d.split == split), key=lambda i: hash_unit(SPLIT_SEED, i))
        keep.update(ids[:max_documents])
    return [d for d in documents if d.id in keep]
