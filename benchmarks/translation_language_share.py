"""Share of translated CLO records identified as the target language, two translators on the same records.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/translation_language_share.py --language ko \\
        --translator qwen25_coder_05b_gguf_fewshot --against qwen25_coder_05b_gguf --exclude-first 24

Reads the cached translations ``results/<preset>/<language>/translations/<translator>__<split>.jsonl`` of both
translators (:func:`paper_utils.layout.translations_jsonl`), keeps the records both have, and prints per split the
share of prompts and responses that :func:`paper_utils.language_id.identify` calls the target language (the
quantity ``clo_inputs.check_translated`` holds to its 50 % floor), the prompts copied unchanged, and an exact
McNemar test of the prompt share (``translator`` - ``against``). ``--exclude-first K`` leaves out the train records
that are the first K lines of ``against``'s train file: the records a translator's prompt was chosen on
(the few-shot translator: 24). Nothing is translated here. The rows go to
``results/benchmarks/translators/language_share.csv`` (one row per language, translator, against, split and
exclusion; a rerun replaces its own rows).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from paper_utils import stats
from paper_utils.io import read_jsonl, write_csv
from paper_utils.language_id import accepted_labels, identify
from paper_utils.layout import translations_jsonl
from paper_utils.paths import RESULTS_DIR

OUT = RESULTS_DIR / "benchmarks" / "translators"
KEY = ["language", "translator", "against", "split", "excluded"]


def shares(language: str, translator: str, against: str, preset: str = "demo-full", exclude_first: int = 0) -> list[dict]:
    """One row per split that both translators have: shares, copies and the McNemar test of the prompt share."""
    wanted, rows = accepted_labels(language), []
    for split in ("train", "heldout"):
        paths = [translations_jsonl(preset, language, name, split) for name in (translator, against)]
        if not all(p.exists() for p in paths):
            continue
        mine, theirs = ({r["id"]: r for r in read_jsonl(p)} for p in paths)
        excluded = set(list(theirs)[:exclude_first]) if split == "train" else set()
        ids = [i for i in mine if i in theirs and i not in excluded]
        if not ids:
            continue
        hit = {name: {k: [int(identify(records[i][k]) in wanted) for i in ids] for k in ("prompt_tgt", "response_tgt")}
               for name, records in ((translator, mine), (against, theirs))}
        test = stats.mcnemar_exact(hit[against]["prompt_tgt"], hit[translator]["prompt_tgt"], ci_samples=2000,
                                   label="prompt share", method_a=against, method_b=translator)
        rows.append({"language": language, "translator": translator, "against": against, "split": split,
                     "records": len(ids), "excluded": len(excluded),
                     **{f"{k.split('_')[0]}_share_{tag}": sum(hit[name][k]) / len(ids)
                        for tag, name in (("translator", translator), ("against", against))
                        for k in ("prompt_tgt", "response_tgt")},
                     "prompts_copied_translator": sum(mine[i]["prompt_tgt"].strip() == mine[i]["prompt_en"].strip()
                                                      for i in ids),
                     "delta": test.delta, "ci_low": test.ci_low, "ci_high": test.ci_high, "p_value": test.p_value})
    return rows


def write_rows(out: Path, rows: list[dict]) -> Path:
    """Replace these rows (by :data:`KEY`) in ``out/language_share.csv``, atomically; returns the path."""
    path = out / "language_share.csv"
    if not rows:
        return path
    new = pd.DataFrame(rows)
    table = pd.read_csv(path) if path.exists() else new.iloc[:0]
    keep = ~table[KEY].apply(tuple, axis=1).isin(set(new[KEY].apply(tuple, axis=1)))
    write_csv(path, pd.concat([table[keep], new], ignore_index=True).sort_values(KEY))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--language", required=True)
    parser.add_argument("--translator", required=True)
    parser.add_argument("--against", required=True)
    parser.add_argument("--preset", default="demo-full")
    parser.add_argument("--exclude-first", type=int, default=0)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    rows = shares(args.language, args.translator, args.against, args.preset, args.exclude_first)
    print(f"-> {write_rows(Path(args.out), rows)}")
    for row in rows:
        print(f"{row['split']:<8} n={row['records']:<4} (excluded {row['excluded']}) prompts {row['prompt_share_translator']:.3f}"
              f" vs {row['prompt_share_against']:.3f}, responses {row['response_share_translator']:.3f} vs "
              f"{row['response_share_against']:.3f}; prompt share {row['delta']:+.3f} [{row['ci_low']:.3f}, "
              f"{row['ci_high']:.3f}] McNemar p = {row['p_value']:.2g}; prompts copied {row['prompts_copied_translator']}")


if __name__ == "__main__":
    main()
