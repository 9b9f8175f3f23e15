"""How much of a CLO run's target chrF++ a copy of the prompt earns: the echo baseline and each run's copies.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/clo_echo_baseline.py [--preset demo-full] [--model smollm2-135m] \\
        [--out results/benchmarks/clo_echo/echo.csv]

Reads every committed ``generations.jsonl`` of the CLO recipe (``results/<preset>/<language>/<model>/clo/
<variant>__seed<k>/``; fields ``prompt_tgt``, ``response``, ``reference``) and writes one row per language and run:

- ``chrf_pp``: corpus chrF++ of the run's target-language answers against the translated references (what
  ``runs.csv`` reports as ``target chrF++``);
- ``echo_chrf_pp``: the same score for a system that answers with the prompt itself (the held-out tasks often
  transform their prompt, e.g. turn a statement into a question, so a copy shares most of the reference's words);
- ``copies``: answers that are non-empty and, lower-cased with spaces collapsed, contained in their prompt.

Prints the table and writes it atomically.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from sacrebleu.metrics import CHRF

from paper_utils.io import write_csv
from paper_utils.paths import RESULTS_DIR


def _flat(text: str) -> str:
    return " ".join(text.lower().split())


def echo_rows(preset: str, model: str) -> list[dict]:
    """One row per (language, run) with a ``generations.jsonl`` (module doc)."""
    chrf = CHRF(word_order=2)
    rows = []
    for path in sorted(Path(RESULTS_DIR, preset).glob(f"*/{model}/clo/*__seed*/generations.jsonl")):
        items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        variant, _, seed = path.parent.name.rpartition("__seed")
        references = [[item["reference"] for item in items]]
        rows.append({"language": path.parents[3].name, "variant": variant, "seed": int(seed), "n": len(items),
                     "chrf_pp": chrf.corpus_score([item["response"] for item in items], references).score,
                     "echo_chrf_pp": chrf.corpus_score([item["prompt_tgt"] for item in items], references).score,
                     "copies": sum(bool(_flat(item["response"])) and _flat(item["response"]) in _flat(item["prompt_tgt"])
                                   for item in items)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo-full")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "benchmarks" / "clo_echo" / "echo.csv")
    args = parser.parse_args()
    table = pd.DataFrame(echo_rows(args.preset, args.model))
    if table.empty:
        raise SystemExit(f"no generations.jsonl under results/{args.preset}/*/{args.model}/clo/: run notebook 09 first")
    print(table.round(1).to_string(index=False))
    write_csv(args.out, table)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
