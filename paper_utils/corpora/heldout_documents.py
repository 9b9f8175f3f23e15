"""Held-out target-language documents from a source the study never trains on, with overlap removed.

Example::

    >>> strings = [("a.ftl", "k1", "Bu yangi matn va yana biroz matn", "This is new text"),
    ...            ("a.ftl", "k2", "Saqlash", "Save"),
    ...            ("b.ftl", "k1", "Faylni ochib bo'lmadi, qayta urinib ko'ring", "Could not open the file")]
    >>> index = TrainingIndex(["Saqlash", "faylni ochib bo'lmadi qayta urinib ko'ring iltimos"])
    >>> [reason for *_, reason in screen(strings, index)]
    [None, 'contained', 'contained']
    >>> docs = group_documents([s[:4] for s in screen(strings, index) if s[-1] is None], min_bytes=10)
    >>> [(d.file, d.text) for d in docs]
    [('a.ftl', 'Bu yangi matn va yana biroz matn')]

The ``demo-full`` preset scores held-out text on the Firefox ESR language packs (Debian, human-translated
UI strings; :mod:`.firefox_l10n`), a source no stage trains on, instead of the 1-3-word Django test strings.

**Overlap removal** (:func:`screen`), each held-out string against the language's whole training text
(``monolingual(lang, "train")``: Django and CLDR train pairs and the extra corpora), compared on
:func:`~.splits.normalize_key` words (case, punctuation and apostrophes ignored):

* ``duplicate``: its key was already seen in an earlier string of the source (sorted file order);
* ``contained``: strings of at most ``CONTAINED_MAX_WORDS`` (6) words that occur as consecutive whole words
  in a training text (this covers exact matches: "Ha", "Tidak diketahui");
* ``ngram``: strings of 3 or more words of which at least ``NGRAM_SHARE`` (half) of the word 3-grams occur
  in the training text (a longer string copied or near-copied into training).

**Documents** (:func:`group_documents`): the kept strings of one source file, in file order, joined with
``\\n``, cut once the text reaches ``min_bytes`` UTF-8 bytes (default ``MIN_BYTES``, 200); a file's shorter
leftover joins its previous document, or is dropped when the file has none. **Splits**: a whole file goes
to ``dev`` when ``hash_unit(SPLIT_SEED, file) < DEV_SHARE`` (0.5), else to ``test``, so no file straddles
dev and test. The counts of every step are in :func:`construction` (stage 01 writes them).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..errors import ConfigError, DataError
from .splits import SPLIT_SEED, hash_unit, normalize_key

MIN_BYTES = 200
DEV_SHARE = 0.5
CONTAINED_MAX_WORDS = 6
NGRAM = 3
NGRAM_SHARE = 0.5
REASONS = ("duplicate", "contained", "ngram")


@dataclass(frozen=True)
class Document:
    """One held-out document: ``id`` = ``<file>#<n>``, its ``split``, target ``text`` and English ``en``."""

    id: str
    file: str
    split: str
    text: str
    en: str
    keys: tuple[str, ...]


def _ngrams(words: Sequence[str], n: int) -> Iterable[tuple[str, ...]]:
    return (tuple(words[i:i + n]) for i in range(len(words) - n + 1))


class TrainingIndex:
    """The word n-grams (1 to ``CONTAINED_MAX_WORDS``) of the training text, for :func:`screen`.

    Example::

        >>> index = TrainingIndex(["Fayl saqlandi.", "Yangi oyna ochildi"])
        >>> index.contains(["fayl"]), index.contains(["saqlandi", "yangi"]), index.share(["yangi", "oyna", "ochildi", "endi"])
        (True, False, 0.5)
    """

    def __init__(self, training_texts: Iterable[str]):
        self.grams: set[tuple[str, ...]] = set()
        for text in training_texts:
            words = normalize_key(text).split()
            for n in range(1, min(CONTAINED_MAX_WORDS, len(words)) + 1):
                self.grams.update(_ngrams(words, n))

    def contains(self, words: Sequence[str]) -> bool:
        """True when ``words`` (at most ``CONTAINED_MAX_WORDS``) occur consecutively in one training text."""
        return 0 < len(words) <= CONTAINED_MAX_WORDS and tuple(words) in self.grams

    def share(self, words: Sequence[str]) -> float:
        """The share of the word ``NGRAM``-grams of ``words`` that occur in the training text (0 when none)."""
        grams = list(_ngrams(words, NGRAM))
        return sum(g in self.grams for g in grams) / len(grams) if grams else 0.0


def screen(strings: Sequence[tuple[str, str, str, str]], index: TrainingIndex) -> list[tuple[str, str, str, str, str | None]]:
    """Each ``(file, key, text, en)`` with the reason it is removed (``REASONS``), or None when it is kept."""
    seen: set[str] = set()
    out = []
    for file, key, text, en in strings:
        norm = normalize_key(text)
        words = norm.split()
        if not words or norm in seen:
            reason = "duplicate"
        elif index.contains(words):
            reason = "contained"
        elif len(words) >= NGRAM and index.share(words) >= NGRAM_SHARE:
            reason = "ngram"
        else:
            reason = None
        seen.add(norm)
        out.append((file, key, text, en, reason))
    return out


def group_documents(strings: Sequence[tuple[str, str, str, str]], min_bytes: int = MIN_BYTES,
                    dev_share: float = DEV_SHARE) -> list[Document]:
    """Kept ``(file, key, text, en)`` strings grouped per file into documents of at least ``min_bytes``."""
    if not isinstance(min_bytes, int) or isinstance(min_bytes, bool) or min_bytes < 1:
        raise ConfigError("min_bytes", min_bytes, "use an integer >= 1 (UTF-8 bytes of target text per document)")
    if not 0.0 <= dev_share <= 1.0:
        raise ConfigError("dev_share", dev_share, "use a fraction in [0, 1] (the share of files in dev)")
    by_file: dict[str, list[tuple[str, str, str]]] = {}
    for file, key, text, en in strings:
        by_file.setdefault(file, []).append((key, text, en))
    documents: list[Document] = []
    for file, rows in by_file.items():
        groups: list[list[tuple[str, str, str]]] = []
        current: list[tuple[str, str, str]] = []
        for row in rows:
            current.append(row)
            if len("\n".join(r[1] for r in current).encode("utf-8")) >= min_bytes:
                groups.append(current)
                current = []
        if current and groups:
            groups[-1].extend(current)        # a short leftover joins the file's previous document
        split = "dev" if hash_unit(SPLIT_SEED, file) < dev_share else "test"
        documents += [Document(f"{file}#{n}", file, split, "\n".join(r[1] for r in g), "\n".join(r[2] for r in g),
                               tuple(r[0] for r in g)) for n, g in enumerate(groups)]
    return documents


def _lengths(texts: Sequence[str]) -> dict:
    sizes = sorted(len(t.encode("utf-8")) for t in texts)
    if not sizes:
        return {"documents": 0}
    return {"documents": len(sizes), "bytes_min": sizes[0], "bytes_median": statistics.median(sizes),
            "bytes_p90": sizes[int(0.9 * (len(sizes) - 1))], "bytes_max": sizes[-1], "bytes_total": sum(sizes)}


def build(strings: Sequence[tuple[str, str, str, str]], training_texts: Iterable[str], *, source: str,
          min_bytes: int = MIN_BYTES, dev_share: float = DEV_SHARE) -> tuple[list[Document], dict]:
    """Documents of ``strings`` after overlap removal against ``training_texts``, and the construction counts.

    Example::

        >>> docs, report = build([("f", "k", "Bir ikki uch to'rt besh olti yetti", "x")], ["boshqa"], source="demo",
        ...                      min_bytes=5)
        >>> len(docs), report["strings"], report["kept_strings"], report["removed"]
        (1, 1, 1, {'duplicate': 0, 'contained': 0, 'ngram': 0})
    """
    screened = screen(strings, TrainingIndex(training_texts))
    kept = [(f, k, t, e) for f, k, t, e, reason in screened if reason is None]
    documents = group_documents(kept, min_bytes, dev_share)
    report = {"source": source, "min_bytes": min_bytes, "dev_share": dev_share, "strings": len(strings),
              "removed": {r: sum(s[-1] == r for s in screened) for r in REASONS}, "kept_strings": len(kept),
              "files": len({f for f, *_ in kept}),
              "rule": (f"a string is removed when its normalized text repeats an earlier string (duplicate), occurs as "
                       f"consecutive whole words in a training text (contained; strings of <= {CONTAINED_MAX_WORDS} "
                       f"words), or >= {NGRAM_SHARE:.0%} of its word {NGRAM}-grams occur in the training text "
                       f"(ngram); documents group a file's kept strings until >= {min_bytes} UTF-8 bytes; whole "
                       f"files go to dev with probability {dev_share} (sha256 of the file name)")}
    for split in ("dev", "test"):
        report[split] = _lengths([d.text for d in documents if d.split == split])
    return documents, report


def require_documents(documents: Sequence[Document], split: str, language: str, report: dict,
                      minimum: int = 1) -> list[str]:
    """The ``split`` texts, or a DataError with the construction numbers when there are fewer than ``minimum``."""
    texts = [d.text for d in documents if d.split == split]
    if len(texts) < minimum:
        raise DataError(f"language {language!r} has {len(texts)} held-out {split} documents of at least "
                        f"{report['min_bytes']} bytes from {report['source']} (needs {minimum}): "
                        f"{report['strings']} strings, {report['kept_strings']} kept after overlap removal "
                        f"({report['removed']}), {report['files']} files; use a preset whose data_source has "
                        f"held-out documents for {language!r} (e.g. data_source = \"offline\")")
    return texts
