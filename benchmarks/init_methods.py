"""Step-0 table of every initializer (and bxod option variants) on a real model, with paired tests.

Example::

    python benchmarks/init_methods.py --preset demo --language uz --model smollm2-135m \\
        --english-questions 300 --variants --split dev      # choose bxod options on the dev split
    python benchmarks/init_methods.py --preset demo --language uz --model smollm2-135m \\
        --english-questions 300 --variants --write          # report on the test split, write init/*.json

The same code path as notebook 03 (``paper_utils.init.step0``). ``--split dev`` evaluates on the
held-out *dev* targets (``corpora.monolingual(lang, "dev")``) so option choices are not made on the test
split; ``--write`` writes ``results/<preset>/<lang>/<model>/init/`` like the notebook does.
"""
from __future__ import annotations

import argparse
import json
import time

from paper_utils.config import load_preset
from paper_utils.init import comparison_table, load_setup, paired_tests, step0

VARIANTS = {
    "bxod_nolex": {"method": "bxod", "use_lexicon": False},
    "bxod_lex1": {"method": "bxod", "lexicon_weight": 1.0},
    "bxod_sparsemax": {"method": "bxod", "weighting": "sparsemax", "temperature": 0.05, "top_k": 32},
    "bxod_k32": {"method": "bxod", "top_k": 32},
    "bxod_t0.02": {"method": "bxod", "temperature": 0.02},
    "bxod_t0.2": {"method": "bxod", "temperature": 0.2},
    "bxod_sub0.5": {"method": "bxod", "subtoken_weight": 0.5},
    "bxod_alpha_cont": {"method": "bxod", "anchor_set": "alpha", "continuation": "anchor"},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--language", default="uz")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--methods", nargs="*", default=None)
    ap.add_argument("--variants", action="store_true", help="also run the bxod option variants")
    ap.add_argument("--only-variants", nargs="*", default=None)
    ap.add_argument("--english-questions", type=int, default=300)
    ap.add_argument("--split", choices=("test", "dev"), default="test")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--summary", default=None, help="JSON file for the table and tests")
    args = ap.parse_args()

    t0 = time.perf_counter()
    cfg = load_preset(args.preset)
    setup = load_setup(cfg, args.language, args.model, english_questions=args.english_questions)
    if args.split == "dev":
        from paper_utils import corpora

        setup.heldout_texts = list(corpora.monolingual(args.language, "dev")["text"])
    print(f"setup {time.perf_counter() - t0:.0f} s: {len(setup.base_tokenizer)} -> {len(setup.extended_tokenizer)} tokens, "
          f"{len(setup.heldout_texts)} {args.split} texts, {len(setup.english_texts)} English texts; {setup.notes}",
          flush=True)
    methods = args.methods or list(cfg.grid.methods)
    variants = {}
    if args.variants:
        variants = {k: v for k, v in VARIANTS.items() if not args.only_variants or k in args.only_variants}
    result = step0(setup, methods, variants=variants, write=args.write, log=lambda m: print(m, flush=True))
    table, records = result.table, result.records
    print(table.round(4).to_markdown(index=False))
    results = []
    if "bxod" in records:
        results = paired_tests(records, reference="bxod", rivals=[m for m in records if m != "bxod"],
                               out_csv=setup.out_dir / "significance.csv" if args.write else None,
                               language=args.language, model=args.model)
        print(comparison_table(results).round(4).to_markdown(index=False))
    if args.summary:
        with open(args.summary, "w") as fh:
            json.dump({"table": table.to_dict(orient="records"), "tests": comparison_table(results).to_dict(orient="records") if results else [],
                       "split": args.split, "args": vars(args), "seconds": time.perf_counter() - t0}, fh, indent=2, default=str)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
