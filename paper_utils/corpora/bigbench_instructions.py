"""English instruction pairs (prompt -> response) from BIG-bench's task definitions, one task per ``task.json``.

Example::

    >>> import json, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> def task(name, examples, **fields):
    ...     path = root / DATA_ROOT / name / "task.json"
    ...     path.parent.mkdir(parents=True)
    ...     _ = path.write_text(json.dumps({"name": name, "keywords": fields.pop("keywords", []),
    ...                                     "examples": examples, **fields}), encoding="utf-8")
    >>> task("tense", [{"input": "Change to past tense: She walks to the shop.", "target": "She walked to the shop."}],
    ...      task_prefix="Rewrite the sentence.")
    >>> task("gem/turk", [{"input": "Simplify: The cat sat on the mat and it was happy.",
    ...                    "target": ["The cat sat on the mat. It was happy."]}])
    >>> task("odd_one_out", [{"input": "Which word is odd: cat, dog, car?", "target_scores": {"car": 1, "cat": 0}}])
    >>> task("swahili_english", [{"input": "Habari", "target": "Hello there, friend."}], keywords=["translation"])
    >>> rows = bigbench_instructions(roots={PACK: root})
    >>> [(r["task"], r["response"]) for r in rows]
    [('gem/turk', 'The cat sat on the mat. It was happy.'), ('tense', 'She walked to the shop.')]
    >>> print(rows[1]["prompt"])
    Rewrite the sentence.
    Change to past tense: She walks to the shop.
    >>> [(t["task"], t["reason"]) for t in task_table(roots={PACK: root})][2:]
    [('swahili_english', 'not English: keyword translation'), ('tense', 'English')]

**Source.** ``bigbench==1.0.0`` (the sdist, a pinned pack ``bigbench`` in ``data/packs.toml``; Apache-2.0): every
``task.json`` under ``bigbench/benchmark_tasks/`` is a *task* (subtasks such as ``gem/turk`` are tasks of their own;
their top-level folder, ``gem``, is their *group*). An example is a pair when it has a string ``input`` and a
``target`` (a string, or a list whose first non-empty string is taken: the response); examples with only
``target_scores`` (multiple choice) are skipped. The prompt is the task's ``task_prefix`` (when it has one), a
newline and the input. Pairs with a side longer than :data:`MAX_CHARS` characters are skipped; the first
:data:`PAIRS_PER_TASK` pairs of each task, in file order, are kept.

**English only**, per task: a task whose keywords include one of :data:`OTHER_LANGUAGE_KEYWORDS` (``non-English``,
``multilingual``, ``translation``, ``low-resource language``, ``non-language``) is out, then the same rule as the
evals tasks (:func:`paper_utils.corpora.english_instructions.english_verdict`: ASCII letters, common English words,
no other language named in the task's path). Of the 1,041 task files, 417 are English tasks with pairs
(379,577 pairs before the cap; counted 2026-12-01). No split here: the CLO data splits by group
(:func:`paper_utils.clo_data.clo_split`).
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..errors import DataError
from .arguments import pack_root
from .english_instructions import MAX_CHARS, english_verdict

PACK = "bigbench"
DATA_ROOT = "bigbench-1.0.0/bigbench/benchmark_tasks"
PAIRS_PER_TASK = 200
OTHER_LANGUAGE_KEYWORDS = frozenset({"non-English", "multilingual", "translation", "low-resource language",
                                     "non-language"})


def _target(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def read_task(path: str | os.PathLike) -> tuple[list[str], list[tuple[str, str]]]:
    """``(keywords, pairs)`` of one ``task.json``: every ``(prompt, response)`` pair, in file order."""
    with open(path, encoding="utf-8") as fh:
        task = json.load(fh)
    prefix = task.get("task_prefix") if isinstance(task.get("task_prefix"), str) else ""
    pairs = []
    for example in task.get("examples") or []:
        if not isinstance(example, dict) or not isinstance(example.get("input"), str):
            continue
        response, text = _target(example.get("target")), example["input"].strip()
        if not response or not text:
            continue
        prompt = f"{prefix.strip()}\n{text}" if prefix.strip() else text
        if len(prompt) <= MAX_CHARS and len(response) <= MAX_CHARS:
            pairs.append((prompt, response))
    keywords = [k for k in task.get("keywords") or [] if isinstance(k, str)]
    return keywords, pairs


@lru_cache(maxsize=2)
def _tasks(root: Path) -> tuple[tuple[str, tuple[tuple[str, str], ...], bool, str], ...]:
    data = root / DATA_ROOT
    if not data.is_dir():
        raise DataError(f"{data} does not exist: the {PACK} pack's task files are missing; fetch the pack "
                        "(python -m paper_utils assets fetch --preset <a preset whose grid uses the clo recipe>)")
    out = []
    for path in sorted(data.rglob("task.json")):
        task = path.parent.relative_to(data).as_posix()
        keywords, pairs = read_task(path)
        named = sorted(OTHER_LANGUAGE_KEYWORDS & set(keywords))
        if named:
            kept, reason = False, f"not English: keyword {', '.join(named)}"
        else:
            kept, reason = english_verdict(pairs[:PAIRS_PER_TASK], task)
        out.append((task, tuple(pairs[:PAIRS_PER_TASK]), kept, reason))
    return tuple(out)


def task_table(*, roots: Mapping[str, str | os.PathLike] | None = None) -> list[dict]:
    """One row per task: ``task``, ``pairs`` (after the cap), ``kept``, ``reason``."""
    return [{"task": task, "pairs": len(pairs), "kept": kept, "reason": reason}
            for task, pairs, kept, reason in _tasks(pack_root(PACK, roots))]


def bigbench_instructions(*, roots: Mapping[str, str | os.PathLike] | None = None) -> list[dict]:
    """Rows ``{"task", "prompt", "response"}`` of every English task (module doc)."""
    return [{"task": task, "prompt": prompt, "response": response}
            for task, pairs, kept, _ in _tasks(pack_root(PACK, roots)) if kept for prompt, response in pairs]


__all__ = ["PACK", "DATA_ROOT", "PAIRS_PER_TASK", "OTHER_LANGUAGE_KEYWORDS", "read_task", "task_table",
           "bigbench_instructions"]
