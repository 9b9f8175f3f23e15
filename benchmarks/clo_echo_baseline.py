"""How much of a CLO run's scores a copy of the prompt earns: echo baselines, copies, and the rate without copies.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/clo_echo_baseline.py [--preset demo-full] [--model smollm2-135m] \\
        [--out results/benchmarks/clo_echo/echo.csv] [--tests-out results/benchmarks/clo_echo/tests.csv]

Reads every scored run's ``scores.json`` and ``generations.jsonl`` of the preset's CLO grid (``results/<preset>/<language>/<model>/clo/
<variant>__seed<k>/``) and writes one row per language and run:

- ``chrf_pp`` / ``english_chrf_pp``: corpus chrF++ of the answers to the target-language / English prompts against
  their references (what ``runs.csv`` reports as ``target chrF++`` / ``English chrF++``);
- ``echo_chrf_pp`` / ``english_echo_chrf_pp``: the same score for a system that answers with the prompt itself (the
  held-out tasks often transform their prompt, e.g. turn a statement into a question, so a copy shares most of the
  reference's words);
- ``copies`` / ``english_copies``: answers that are non-empty and, lower-cased with spaces collapsed, contained in
  their prompt. An upper bound on copying: a short answer, or a right answer extracted from the prompt, counts too;
  ``reference_in_prompt`` says for how many items the reference itself is inside the prompt;
- ``target_rate``: the share of target-prompt answers identified as the target language (``runs.csv``'s number,
  from ``scores.json``), and ``target_rate_not_copied``: the share identified as the target language *and* not a
  copy (a copied target-language prompt is identified as the target language).

The tests file compares ``target_rate_not_copied`` of every run with ``clo`` at the same seed (``base`` with seed 0),
exact McNemar on the items, Holm over all rows. Prints both tables and writes them atomically.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from paper_utils.clo_report import find_runs
from paper_utils.config import load_preset
from paper_utils.evaluate.translation import translation_scores
from paper_utils.io import read_jsonl, write_csv
from paper_utils.layout import clo_dir
from paper_utils.paths import RESULTS_DIR
from paper_utils.stats import correct, mcnemar_exact


def _flat(text: str) -> str:
    return " ".join(text.lower().split())


def _copied(answer: str, prompt: str) -> bool:
    return bool(_flat(answer)) and _flat(answer) in _flat(prompt)


def run_items(preset: str, model: str) -> dict[tuple[str, str, int], tuple[dict, list[dict]]]:
    """``{(language, variant, seed): (scores, items)}`` for every scored CLO run of ``model`` (``find_runs``), each
    item its generation plus ``target_language`` (0/1) and ``copied`` / ``english_copied`` (module doc)."""
    cfg = load_preset(preset)
    runs = {}
    for language in dict.fromkeys(r.language for r in cfg.clo_runs() if r.model == model):
        for (variant, seed), scores in sorted(find_runs(cfg, language, model).items()):
            path = clo_dir(cfg.name, language, model, variant, seed) / "generations.jsonl"
            items = read_jsonl(path)
            if not items or scores["record_ids"] != [item["id"] for item in items]:
                raise SystemExit(f"{path}: empty, or not in the order of its scores.json's record_ids: rerun notebook 09")
            for item, flag in zip(items, scores["items"]["target_language"]):
                item.update(target_language=int(flag), copied=_copied(item["response"], item["prompt_tgt"]),
                            english_copied=_copied(item["response_en_generated"], item["prompt_en"]))
            runs[(language, variant, seed)] = (scores, items)
    return runs


def echo_rows(runs: dict[tuple[str, str, int], tuple[dict, list[dict]]]) -> list[dict]:
    """One row per run (module doc); the run's own numbers come from its ``scores.json``."""
    rows = []
    for (language, variant, seed), (scores, items) in runs.items():
        n = len(items)
        rows.append({
            "language": language, "variant": variant, "seed": seed, "n": n,
            "chrf_pp": scores["target"]["chrf++"],
            "echo_chrf_pp": translation_scores([item["prompt_tgt"] for item in items],
                                               [item["reference"] for item in items])["chrf++"],
            "copies": sum(item["copied"] for item in items),
            "reference_in_prompt": sum(_copied(item["reference"], item["prompt_tgt"]) for item in items),
            "target_rate": scores["target"]["target_rate"],
            "target_rate_not_copied": sum(item["target_language"] and not item["copied"] for item in items) / n,
            "english_chrf_pp": scores["english"]["chrf++"],
            "english_echo_chrf_pp": translation_scores([item["prompt_en"] for item in items],
                                                       [item["reference_en"] for item in items])["chrf++"],
            "english_copies": sum(item["english_copied"] for item in items)})
    return rows


def not_copied_tests(runs: dict[tuple[str, str, int], tuple[dict, list[dict]]]) -> pd.DataFrame:
    """``target_rate_not_copied`` of each run against ``clo`` at the same seed (``base``: seed 0); Holm over all."""
    results, keys = [], []
    for (language, variant, seed), (_, items) in runs.items():
        anchor = runs.get((language, "clo", seed if variant != "base" else 0))
        if variant == "clo" or anchor is None:
            continue
        flags = [[int(item["target_language"] and not item["copied"]) for item in rows] for rows in (anchor[1], items)]
        results.append(mcnemar_exact(*flags, method_a="clo", method_b=variant, label="target_rate_not_copied"))
        keys.append({"language": language, "variant": variant, "seed": seed})
    corrected = correct(results)
    return pd.DataFrame([{**key, "delta": r.delta, "ci_low": r.ci_low, "ci_high": r.ci_high, "p": r.p_value,
                          "p_holm": r.p_adjusted, "n": r.n} for key, r in zip(keys, corrected)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo-full")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "benchmarks" / "clo_echo" / "echo.csv")
    parser.add_argument("--tests-out", type=Path, default=RESULTS_DIR / "benchmarks" / "clo_echo" / "tests.csv")
    args = parser.parse_args()
    runs = run_items(args.preset, args.model)
    if not runs:
        raise SystemExit(f"no generations.jsonl under results/{args.preset}/*/{args.model}/clo/: run notebook 09 first")
    table, tests = pd.DataFrame(echo_rows(runs)), not_copied_tests(runs)
    with pd.option_context("display.width", 200):
        print(table.round(2).to_string(index=False))
        print(tests.round(4).to_string(index=False))
    write_csv(args.out, table)
    write_csv(args.tests_out, tests)
    print(f"written: {args.out}, {args.tests_out}")


if __name__ == "__main__":
    main()
