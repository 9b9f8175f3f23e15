"""What the CLO data stage selects from the English pool, and whether its held-out items overlap training.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/clo_data_report.py --preset demo-full

Reads the preset's English sources (``[clo] english_sources``; the pinned packs, nothing translated) and writes
``results/benchmarks/clo_data/<preset>.json`` with the counts README section 7 states:

- ``pooled``: English pairs in the pool, with their tasks and task groups (source and first folder,
  :func:`paper_utils.clo_data.task_group`, the unit held out);
- per split (``clo_data.clo_split``, by group at ``[clo] heldout_share``): the pairs that pass the length and
  language rules (:func:`paper_utils.clo_data.language_pairs`), their tasks and groups;
- ``groups_keeping_items``: groups with at least one passing pair, and how many of them are held out;
- the first ``2N`` training records (``N = [clo] pairs``: CLO takes the first N, SFT at 2N all) and the first
  ``[clo] eval_prompts`` held-out ones: tasks and the most items from one task;
- ``overlap``: held-out records (the first ``eval_prompts``) whose prompt or response equals, lower-cased with
  punctuation and spaces removed, a prompt or response of any passing training pair; and those sharing a span of
  ``--span`` words (default 8) with the first ``2N`` training records. Both should be 0.

Example (a tiny pool)::

    >>> rows = [{"task": f"evals/t{i % 3}", "prompt": f"What is the colour of item {i}?",
    ...          "response": f"The colour of item {i} is a deep blue."} for i in range(6)]
    >>> shared_spans(rows[:1], rows[1:], 4)     # "what is the colour" etc. recur
    1
    >>> normalized("The colour, of item 1!") == normalized("the colour of item 1")
    True
"""
from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

from paper_utils.clo_data import clo_split, english_pool, language_pairs, task_group
from paper_utils.config import load_preset
from paper_utils.io import atomic_path
from paper_utils.paths import RESULTS_DIR

OUT = RESULTS_DIR / "benchmarks" / "clo_data"
_NOT_WORD = re.compile(r"[\W_]+")


def normalized(text: str) -> str:
    """Lower-cased, punctuation and spaces removed: the form of the exact-overlap check."""
    return _NOT_WORD.sub("", text.lower())


def _spans(text: str, k: int) -> set[tuple[str, ...]]:
    words = [w for w in _NOT_WORD.sub(" ", text.lower()).split() if w]
    return {tuple(words[i:i + k]) for i in range(len(words) - k + 1)}


def shared_spans(heldout: Sequence[Mapping], train: Sequence[Mapping], k: int) -> int:
    """How many ``heldout`` items share a span of ``k`` words (prompt or response) with any ``train`` item."""
    seen = set().union(*(_spans(r["prompt"], k) | _spans(r["response"], k) for r in train)) if train else set()
    return sum(bool((_spans(r["prompt"], k) | _spans(r["response"], k)) & seen) for r in heldout)


def _selection(items: Sequence[Mapping]) -> dict:
    per_task = Counter(r["task"] for r in items)
    return {"items": len(items), "tasks": len(per_task), "most_from_one_task": max(per_task.values(), default=0)}


def report(preset: str, span: int = 8, *, pool: Sequence[Mapping] | None = None,
           vocabulary: frozenset[str] | None = None) -> dict:
    """The counts of the module doc for ``preset`` (a dict, also what is written); ``pool`` and ``vocabulary``
    replace the preset's English pool and wordfreq's common words (tests)."""
    cfg = load_preset(preset)
    c = cfg.clo
    pool = list(pool) if pool is not None else english_pool(c.english_sources)
    split_of = {task: clo_split(task, c.heldout_share) for task in {r["task"] for r in pool}}
    passing = {split: language_pairs(split, english=[r for r in pool if split_of[r["task"]] == split],
                                     heldout_share=c.heldout_share, vocabulary=vocabulary)
               for split in ("train", "heldout")}
    kept_groups = {task_group(r["task"]) for items in passing.values() for r in items}
    train_records, heldout_records = passing["train"][:2 * c.pairs], passing["heldout"][:c.eval_prompts]
    train_forms = {normalized(r[k]) for r in passing["train"] for k in ("prompt", "response")}
    return {
        "preset": preset, "english_sources": list(c.english_sources), "heldout_share": c.heldout_share,
        "pooled": {"pairs": len(pool), "tasks": len(split_of), "groups": len({task_group(t) for t in split_of})},
        "passing": {split: {"pairs": len(items), "tasks": len({r["task"] for r in items}),
                            "groups": len({task_group(r["task"]) for r in items})}
                    for split, items in passing.items()},
        "groups_keeping_items": {"groups": len(kept_groups),
                                 "heldout": sum(clo_split(g, c.heldout_share) == "heldout" for g in kept_groups)},
        "train_records_2n": _selection(train_records), "clo_records_n": _selection(train_records[:c.pairs]),
        "heldout_records": _selection(heldout_records),
        "overlap": {"heldout_equal_to_a_training_pair": sum(any(normalized(r[k]) in train_forms
                                                                for k in ("prompt", "response"))
                                                            for r in heldout_records),
                    "span_words": span,
                    "heldout_sharing_a_span_with_the_2n_records": shared_spans(heldout_records, train_records, span)},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="demo-full")
    parser.add_argument("--span", type=int, default=8)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    result = report(args.preset, args.span)
    path = Path(args.out) / f"{args.preset}.json"
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    print(f"-> {path}")


if __name__ == "__main__":
    main()
