"""Accuracy of the language identifier (paper_utils.language_id) on the study's parallel data, both sides.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/language_id_accuracy.py [--split test] \\
        [--out results/benchmarks/language_id/accuracy.csv]

For each study language, every pair of the Django split (human-translated UI strings, ``markup="keep"``) is
identified, with each candidate set of :data:`CANDIDATE_SETS` (``default`` is what
:mod:`paper_utils.language_id` uses), on its target side (truth: the language) and on its English side (truth: ``en``).
``accuracy`` is exact label agreement; ``accepted_accuracy`` counts what :func:`target_rate` counts (Malay:
``ms`` or ``id``); ``confusions`` lists the wrong labels by count. Strings with no letters are ``und``
(counted wrong). Prints the table and writes it atomically.
"""
from __future__ import annotations

import argparse
from collections import Counter

import pandas as pd

from paper_utils import corpora
from paper_utils.io import write_csv
from paper_utils.language_id import CANDIDATES, STUDY_LANGUAGES, WIDE_CONFUSERS, accepted_labels, identify
from paper_utils.paths import RESULTS_DIR

CANDIDATE_SETS = {"default": CANDIDATES, "study_only": ("en",) + STUDY_LANGUAGES,
                  "wide": ("en",) + STUDY_LANGUAGES + WIDE_CONFUSERS}


def rows_for(language: str, split: str, set_name: str) -> list[dict]:
    pairs = corpora.parallel(language, split)
    candidates = CANDIDATE_SETS[set_name]
    out = []
    for side, truth, texts in (("target", language, pairs["target"]), ("english", "en", pairs["en"])):
        labels = [identify(t, candidates) for t in texts]
        wrong = Counter(label for label in labels if label != truth)
        accepted = accepted_labels(truth)
        out.append({"candidate_set": set_name, "language": language, "side": side, "truth": truth, "split": split, "n": len(labels),
                    "accuracy": round(sum(label == truth for label in labels) / len(labels), 4),
                    "accepted_accuracy": round(sum(label in accepted for label in labels) / len(labels), 4),
                    "confusions": " ".join(f"{k}:{v}" for k, v in wrong.most_common(6)),
                    "candidates": " ".join(candidates)})
    return out


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--languages", nargs="*", default=list(STUDY_LANGUAGES))
    parser.add_argument("--out", default=str(RESULTS_DIR / "benchmarks" / "language_id" / "accuracy.csv"))
    args = parser.parse_args(argv)
    table = pd.DataFrame([row for set_name in CANDIDATE_SETS for lang in args.languages
                          for row in rows_for(lang, args.split, set_name)])
    write_csv(args.out, table)
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table.drop(columns=["candidates"]).to_string(index=False))
    print("wrote", args.out)
    return table


if __name__ == "__main__":
    main()
