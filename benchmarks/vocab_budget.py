"""Held-out fertility cut vs vocabulary budget, per language and tokenizer, on the demo data.

Run::

    .venv/bin/python benchmarks/vocab_budget.py --languages uz ms --tokenizers smollm2 llama3 \\
        --budgets 8000 16000 [--out results/benchmarks/vocab_budget.csv]

Everything comes from the package: training text and weights are
``study.vocabulary_training(demo, lang)`` (monolingual training text, in-domain sentences x
``vocabulary.in_domain_weight``, wordfreq words weighted by frequency where available), held-out
text is ``study.heldout_text`` (never used for training), English is ``study.english_text`` (the
14,042 MMLU questions + the English side of the parallel data). For each row the extended tokenizer
is saved, reloaded with ``AutoTokenizer`` and checked to give the same ids, and English is checked
to be identical on every English text. ``fertility_before``/``fertility_after`` are
:func:`paper_utils.fertility.fertility` (tokens per word, the study's one word rule, as in the fertility
table of notebook 01); ``cut`` is the share of held-out tokens saved. Uzbek extends with ``apostrophe_words=True``
(``data/languages.toml``). ``--override KEY=VALUE`` changes a preset value
(e.g. ``vocabulary.word_frequency_scale=100000``).
"""
from __future__ import annotations

import argparse
import ast
import tempfile
import time

import pandas as pd
from transformers import AutoTokenizer

from paper_utils import study
from paper_utils.config import load_preset
from paper_utils.errors import ConfigError
from paper_utils.tokenization import load_text_tokenizer
from paper_utils.vocab import extend_tokenizer


def hf_tokenizer(name: str):
    return load_text_tokenizer(name).hf


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--languages", nargs="+", default=["uz", "ms"])
    ap.add_argument("--tokenizers", nargs="+", default=["smollm2", "llama3"])
    ap.add_argument("--budgets", type=int, nargs="+", default=[8000, 16000])
    ap.add_argument("--override", nargs="*", default=[], help="preset overrides KEY=VALUE")
    ap.add_argument("--out")
    args = ap.parse_args()
    overrides = {k: ast.literal_eval(v) for k, v in (o.split("=", 1) for o in args.override)}
    cfg = load_preset("demo", **{"grid.languages": args.languages, **overrides})
    english = study.english_text(cfg)
    rows = []
    for lang in args.languages:
        texts, weights = study.vocabulary_training(cfg, lang)
        heldout = study.heldout_text(cfg, lang)
        for name in args.tokenizers:
            base = hf_tokenizer(name)
            for budget in args.budgets:
                t0 = time.perf_counter()
                try:
                    ext, r = extend_tokenizer(base, texts, budget, english_texts=english, heldout_texts=heldout,
                                              target_weights=weights,
                                              apostrophe_words=study.apostrophe_words(lang))
                except ConfigError as exc:
                    print(f"{lang} {name} {budget}: {exc}")
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    ext.save_pretrained(tmp)
                    again = AutoTokenizer.from_pretrained(tmp)
                    probe = heldout + english[:500]
                    reload_same = ext(probe, add_special_tokens=False)["input_ids"] == again(probe, add_special_tokens=False)["input_ids"]
                row = {"language": lang, "tokenizer": name, "budget": budget, "added": r["added"],
                       "fertility_before": round(r["fertility_before"], 3), "fertility_after": round(r["fertility_after"], 3),
                       "cut": round(r["fertility_reduction"], 4), "english_identical": r["english_identical_share"],
                       "english_texts": r["english_texts"], "dropped_for_english": r["dropped_for_english"],
                       "roundtrip_failures": len(r["roundtrip_failures"]), "reload_identical": reload_same,
                       "seconds": round(time.perf_counter() - t0, 1)}
                rows.append(row)
                print(row, flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    if args.out:
        from paper_utils.io import write_csv

        write_csv(args.out, table)


if __name__ == "__main__":
    main()
