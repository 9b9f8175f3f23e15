"""Translator quality on held-out human pairs: BLEU and chrF++ per translator x direction, seconds per sentence.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/translator_quality.py --translator uz_dictionary_wfw_standin \\
        --directions en-uz uz-en                    # all test pairs
    PYTHONPATH=. .venv/bin/python benchmarks/translator_quality.py --translator apertium_eng_spa --directions en-es
    OMP_NUM_THREADS=2 PYTHONPATH=. nohup .venv/bin/python benchmarks/translator_quality.py \\
        --translator qwen25_coder_05b_gguf --directions en-ko en-es ko-en es-en --n 100 &

**Data.** The Django test split (:func:`paper_utils.corpora.parallel`, human-translated UI strings,
``markup="keep"``: placeholders and tags stay, as the study's translation task has them) of the direction's
non-English language; ``--n`` takes the first n pairs in the order of a hash of their id (spread over Django's
apps; 0 = all). Scores: :func:`paper_utils.evaluate.translation.translation_scores` (sacrebleu corpus chrF++,
the primary metric, and BLEU with its default 13a tokenizer, which splits Korean poorly: read BLEU into Korean
with care). ``seconds_per_sentence`` is wall time of ``translate`` over the pairs done (model loading
excluded, on whatever CPU share the machine gave; ``threads`` records ``OMP_NUM_THREADS``).

**Paired comparison.** ``--against OTHER`` (after the runs) tests this translator against OTHER on the pairs both
have translated, per direction (:func:`paper_utils.stats.translation.compare_translations`: chrF++, approximate
randomization and a paired bootstrap CI over sentences, 10,000 samples each) and writes ``comparisons.csv``::

    PYTHONPATH=. .venv/bin/python benchmarks/translator_quality.py --translator qwen25_coder_05b_gguf_fewshot \
        --directions en-ko --n 100 --against qwen25_coder_05b_gguf

**Partial and resumable.** Hypotheses go to ``hypotheses/<translator>__<src>-<tgt>.jsonl`` after every
``--chunk`` sentences (atomic rewrite); a rerun translates only the pairs not there. Each chunk also rewrites
this translator x direction's row of ``quality.csv`` (``complete`` false until all n are done); other rows
are kept, so one CSV collects every run.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from paper_utils import corpora
from paper_utils.corpora.splits import hash_unit
from paper_utils.evaluate.translation import translation_scores
from paper_utils.io import read_jsonl, write_csv, write_jsonl
from paper_utils.paths import RESULTS_DIR
from paper_utils.translate import get_translator

OUT = RESULTS_DIR / "benchmarks" / "translators"
KEY = ["translator", "direction"]


def held_out_pairs(language: str, n: int) -> list[dict]:
    data = corpora.parallel(language, "test")
    rows = [{"id": i, "en": e, language: t} for i, e, t in zip(data["id"], data["en"], data["target"])]
    rows.sort(key=lambda r: hash_unit(0, r["id"]))
    return rows[:n] if n else rows


def write_row(out: Path, row: dict) -> pd.DataFrame:
    csv = out / "quality.csv"
    table = pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=list(row))
    table = table[~((table["translator"] == row["translator"]) & (table["direction"] == row["direction"]))]
    table = pd.concat([table, pd.DataFrame([row])], ignore_index=True).sort_values(KEY)
    write_csv(csv, table)
    return table


def run(translator_name: str, direction: str, n: int, chunk: int, out: Path) -> dict:
    source, target = direction.split("-")
    language = target if source == "en" else source
    translator = get_translator(translator_name)
    translator.require_assets()
    pairs = held_out_pairs(language, n)
    hyp_file = out / "hypotheses" / f"{translator_name}__{direction}.jsonl"
    done = {r["id"]: r for r in read_jsonl(hyp_file)} if hyp_file.exists() else {}
    done = {k: r for k, r in done.items() if r.get("translator_version") == translator.version}
    todo = [p for p in pairs if p["id"] not in done]
    row = {}
    for start in range(0, max(len(todo), 1), chunk):
        batch = todo[start:start + chunk]
        if batch:
            t0 = time.perf_counter()
            hyps = translator.translate([p[source] for p in batch], source, target)
            per = (time.perf_counter() - t0) / len(batch)
            for p, h in zip(batch, hyps):
                done[p["id"]] = {"id": p["id"], "source": p[source], "reference": p[target], "hypothesis": h,
                                 "seconds": per, "translator_version": translator.version}
            write_jsonl(hyp_file, [done[p["id"]] for p in pairs if p["id"] in done])
        finished = [done[p["id"]] for p in pairs if p["id"] in done]
        scores = translation_scores([r["hypothesis"] for r in finished], [r["reference"] for r in finished])
        row = {"translator": translator_name, "direction": direction, "n": len(finished), "n_planned": len(pairs),
               "complete": len(finished) == len(pairs), "chrf++": round(scores["chrf++"], 2),
               "bleu": round(scores["bleu"], 2),
               "seconds_per_sentence": round(sum(r["seconds"] for r in finished) / len(finished), 4),
               "threads": os.environ.get("OMP_NUM_THREADS", ""), "stand_in": translator.stand_in,
               "translator_version": translator.version, "data": "django test split (markup kept)",
               "bleu_signature": scores["bleu_signature"]}
        write_row(out, row)
        print(f"{translator_name} {direction}: {row['n']}/{row['n_planned']} chrF++ {row['chrf++']} "
              f"BLEU {row['bleu']} {row['seconds_per_sentence']} s/sentence", flush=True)
    return row


def compare(translator_name: str, other: str, direction: str, out: Path, samples: int = 10_000) -> dict:
    """``translator_name`` - ``other`` in chrF++ on the sentences both translated (same id, same reference)."""
    from paper_utils.stats.translation import compare_translations

    files = [out / "hypotheses" / f"{name}__{direction}.jsonl" for name in (translator_name, other)]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise SystemExit(f"--against: no hypotheses in {', '.join(missing)}; run that translator first")
    versions = [get_translator(name).version for name in (translator_name, other)]
    mine, theirs = ({r["id"]: r for r in read_jsonl(f) if r.get("translator_version") == v}
                    for f, v in zip(files, versions))                 # current versions only, as run() keeps
    ids = [i for i in mine if i in theirs]
    if not ids:
        raise SystemExit(f"--against: {translator_name} and {other} share no translated sentence for {direction} "
                         "at their current versions")
    differ = [i for i in ids if mine[i]["reference"] != theirs[i]["reference"]]
    if differ:
        raise SystemExit(f"--against: the references of {differ[:3]} differ between the two files (another data "
                         "version): rerun both translators")
    refs = [mine[i]["reference"] for i in ids]
    hyps_b, hyps_a = [mine[i]["hypothesis"] for i in ids], [theirs[i]["hypothesis"] for i in ids]
    res = compare_translations(hyps_a, hyps_b, refs, "chrf++", test="approximate_randomization",
                               n_samples=samples, ci_samples=samples, method_a=other, method_b=translator_name)
    row = {"translator": translator_name, "against": other, "direction": direction, "n": len(ids),
           "metric": res.metric, "score": round(translation_scores(hyps_b, refs)["chrf++"], 2),
           "score_against": round(translation_scores(hyps_a, refs)["chrf++"], 2), "delta": round(res.delta, 2),
           "ci_low": round(res.ci_low, 2), "ci_high": round(res.ci_high, 2), "p_value": res.p_value,
           "test": res.test, "samples": samples}
    csv = out / "comparisons.csv"
    table = pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=list(row))
    key = (table["translator"] == translator_name) & (table["against"] == other) & (table["direction"] == direction)
    write_csv(csv, pd.concat([table[~key], pd.DataFrame([row])], ignore_index=True))
    print(f"{translator_name} - {other} {direction}: chrF++ {row['delta']:+.2f} [{row['ci_low']}, {row['ci_high']}] "
          f"p = {row['p_value']:.4f} (n = {row['n']})", flush=True)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--translator", required=True)
    parser.add_argument("--directions", nargs="+", required=True, help="e.g. en-ko ko-en")
    parser.add_argument("--n", type=int, default=0, help="pairs per direction (0: the whole test split)")
    parser.add_argument("--chunk", type=int, default=16)
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--against", default=None, help="another translator: paired chrF++ test on shared sentences")
    args = parser.parse_args(argv)
    for direction in args.directions:
        run(args.translator, direction, args.n, args.chunk, Path(args.out))
        if args.against:
            compare(args.translator, args.against, direction, Path(args.out))
    print(pd.read_csv(Path(args.out) / "quality.csv").drop(columns=["bleu_signature", "translator_version"])
          .to_string(index=False))


if __name__ == "__main__":
    main()
