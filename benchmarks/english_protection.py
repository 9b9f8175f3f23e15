"""English protection vs target-language cut: the trade-off curve, measured on English held out by source.

Run (demo-full: the Debian Firefox packs give the second target source and a fourth English source)::

    .venv/bin/python benchmarks/english_protection.py --languages uz ms --models smollm2-135m gemma3-270m \\
        --levels questions prompts top10000 top30000 all [--out results/benchmarks/english_protection]

For each language x model x protection level (and mode) the tokenizer is extended by the preset's budget
(8,000) exactly as stage 02 does (``study.vocabulary_training``, the language's apostrophe options), fitted on
the level's protection set, and measured on English the fit never used, **by source**: docstring paragraphs
of the standard library, of the locked packages, package descriptions (:mod:`paper_utils.corpora.english_text`)
and Firefox's English UI strings (Debian ``firefox-esr``). Target cut (share of tokens saved) on the Django
test split and on Firefox's translated strings (Uzbek: written with ‘ ʻ ’), and on the apostrophe variants
of both. Protection levels, each adding to the one before:

* ``questions``: the 14,042 MMLU questions + the English side of the parallel data (the old protection)
* ``prompts``: + the lines of every full 5-shot MMLU prompt (13,757 prompts)
* ``topN``: + the N most frequent English words of wordfreq's large list, and its other words with an apostrophe
  (possessives left out), in six surface forms
* ``all``: + all 321,180 words

The default (``vocabulary.english_words = 10000``, ``top10000``) is the largest protection on this curve that keeps
the Uzbek cut at or above 35 % on both target sources with the apostrophe words protected.

``--modes`` adds ``letters`` (``letter_tokens_only``, on by default) off/on, and ``whole_words`` (the whole-word
mode, :mod:`paper_utils.vocab.whole_words`: no merges, so an English unit changes only if it is an added word), and
``letters_every_spelling`` (``guard_every_spelling``: the pairs English holds around ' and ’ refused in every
apostrophe spelling, so o‘ g‘ written with ‘ or ʻ get no merges that ' and ’ are refused), ``word_tokens``
(``word_tokens_only``: every new token a piece of one word) and ``word_tokens_every_spelling`` (both). Rows are appended to
``curve.csv`` as they finish (a rerun skips rows already there); ``report.json`` keeps the worst changed units
and the check that every full MMLU prompt keeps its ids; ``curve.png`` plots identical share vs cut.
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import pandas as pd

from paper_utils import corpora, study
from paper_utils.config import load_preset
from paper_utils.corpora.english_text import HELDOUT_SOURCES, apostrophe_words_of, english_word_forms, heldout_english
from paper_utils.fertility import fertility
from paper_utils.io import write_csv, write_text
from paper_utils.mmlu_format import build_prompt
from paper_utils.paths import RESULTS_DIR
from paper_utils.tokenization import HFTextTokenizer
from paper_utils.vocab import extend_tokenizer
from paper_utils.vocab.english_check import heldout_identity, identical

MODE_METHODS = {"whole_words": "whole_words"}      # a mode that is an extension method of its own
MARKS = {"ascii": "'", "left_quote": "\u2018", "right_quote": "\u2019", "turned_comma": "\u02bb"}
_MARK = re.compile(r"(?<=[^\W\d_])['\u2018\u2019\u02bb\u02bc`]")


def protection(cfg, level: str, words: list[str]) -> list[str]:
    texts = dict.fromkeys(study.english_text(cfg))                          # questions + parallel English
    if level != "questions":
        items, pool = study.data_source(cfg).mmlu_split(0)
        for it in items:
            texts.update(dict.fromkeys(build_prompt(it, pool[it["subject"]]).split("\n")))
    if level.startswith("top") or level == "all":
        n = len(words) if level == "all" else int(level[3:])
        texts.update(dict.fromkeys(english_word_forms(words[:n] + apostrophe_words_of(words[n:]))))
    return [t for t in texts if t.strip()]


def cut(base, ext, texts: list[str]) -> float:
    before = fertility(HFTextTokenizer("base", base), texts, per_word=False)["tokens"]
    return 1 - fertility(HFTextTokenizer("extended", ext), texts, per_word=False)["tokens"] / before


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="demo-full")
    ap.add_argument("--languages", nargs="+", default=["uz", "ms"])
    ap.add_argument("--models", nargs="+", default=["smollm2-135m", "gemma3-270m"])
    ap.add_argument("--levels", nargs="+", default=["questions", "prompts", "top10000", "top30000", "all"])
    ap.add_argument("--modes", nargs="+", default=["letters"],
                    help="letters | letters_minN (min_start_letters=N) | all_tokens (letter_tokens_only off) | "
                         "whole_words (method='whole_words') | letters_every_spelling (guard_every_spelling) | "
                         "word_tokens (word_tokens_only) | word_tokens_every_spelling (both)")
    ap.add_argument("--out", default=str(RESULTS_DIR / "benchmarks" / "english_protection"))
    args = ap.parse_args()
    cfg = load_preset(args.preset)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "curve.csv"
    done = pd.read_csv(csv) if csv.exists() else pd.DataFrame()
    report_path = out / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    t0 = time.perf_counter()
    heldout = {s: heldout_english(s) for s in HELDOUT_SOURCES}
    words = study.data_source(cfg).english_words("large")
    items, pool = study.data_source(cfg).mmlu_split(0)
    prompts = [build_prompt(it, pool[it["subject"]]) for it in items]
    print(f"held-out English {', '.join(f'{s} {len(t):,}' for s, t in heldout.items())} ({time.perf_counter() - t0:.0f} s)",
          flush=True)
    for lang in args.languages:
        train, weights = study.vocabulary_training(cfg, lang)
        django_test = list(corpora.monolingual(lang, "test")["text"])    # the Django test split, whatever the preset
        ff = corpora.firefox_strings(lang)
        firefox = list(dict.fromkeys(t for t, u in zip(ff["text"], ff["untranslated"]) if not u and t.strip()))
        english = heldout
        for model in args.models:
            base = study.base_tokenizer(cfg, model)
            for level in args.levels:
                fit = protection(cfg, level, words)
                for mode in args.modes:
                    key = f"{lang}/{model}/{level}/{mode}"
                    if len(done) and key in set(done["key"]):
                        continue
                    t1 = time.perf_counter()
                    ext, rep = extend_tokenizer(
                        base, train, cfg.vocabulary.budget, fit, heldout_texts=django_test, target_weights=weights,
                        apostrophe_words=study.apostrophe_words(lang), apostrophe_marks=study.apostrophe_marks(lang),
                        letter_tokens_only=mode.startswith(("letters", "word_tokens")),
                        method=MODE_METHODS.get(mode, "continue_bpe"), word_tokens_only=mode.startswith("word_tokens"),
                        min_start_letters=int(mode.split("_min")[1]) if "_min" in mode else 0,
                        guard_every_spelling=mode.endswith("every_spelling"))
                    seconds = time.perf_counter() - t1
                    hr = heldout_identity(base, ext, english)
                    row = {"key": key, "language": lang, "model": model, "level": level, "mode": mode,
                           "protection_texts": len(fit), "added": rep["added"], "dropped": rep["dropped_for_english"],
                           "extend_seconds": round(seconds, 1),
                           "cut_django_test": cut(base, ext, django_test), "cut_firefox": cut(base, ext, firefox)}
                    if study.apostrophe_marks(lang):
                        for name, mark in MARKS.items():
                            row[f"cut_django_test_{name}"] = cut(base, ext, [_MARK.sub(mark, t) for t in django_test])
                            row[f"cut_firefox_{name}"] = cut(base, ext, [_MARK.sub(mark, t) for t in firefox])
                    for source, r in hr.items():
                        row[f"english_{source}"] = r["share"]
                    row["english_texts"] = sum(r["texts"] for r in hr.values())
                    row["english_identical"] = sum(r["identical"] for r in hr.values()) / row["english_texts"]
                    row["mmlu_prompts_identical"] = sum(identical(base, ext, prompts)) / len(prompts)
                    row["roundtrip_failures"] = len(rep["roundtrip_failures"])
                    done = pd.concat([done, pd.DataFrame([row])], ignore_index=True)
                    write_csv(csv, done)
                    report[key] = {s: shortened(r["worst"]) for s, r in hr.items()}
                    write_text(report_path, json.dumps(report, indent=1, ensure_ascii=False))
                    print(f"{key}: cut django {row['cut_django_test']:.3f} firefox {row['cut_firefox']:.3f}; English "
                          f"identical {row['english_identical']:.5f} of {row['english_texts']:,} "
                          + " ".join(f"{s}={r['share']:.5f}" for s, r in hr.items())
                          + f"; prompts {row['mmlu_prompts_identical']:.4f}; {seconds:.0f} s", flush=True)
    plot(done, out)


def shortened(worst: list[dict], limit: int = 160) -> list[dict]:
    """The worst changed units with long strings cut to ``limit`` characters (Gemma-3's unit is a whole text)."""
    cut_str = lambda v: v if not isinstance(v, str) or len(v) <= limit else v[:limit] + "..."      # noqa: E731
    cut_list = lambda v: v if not isinstance(v, list) or len(v) <= 40 else v[:40] + ["..."]     # noqa: E731
    return [{k: cut_list(cut_str(v)) for k, v in row.items()} for row in worst]


def plot(curve: pd.DataFrame, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 5.5), sharey=True)
    for ax, column, title in ((axes[0], "cut_django_test", "Django test"), (axes[1], "cut_firefox", "Firefox")):
        groups = list(curve.groupby(["language", "model", "mode"]))
        colors = plt.cm.tab20(range(len(groups)))
        for ((lang, model, mode), g), color in zip(groups, colors):
            g = g.sort_values("protection_texts")
            ax.plot(100 * g[column], 100 * g["english_identical"], marker="o" if "smollm2" in model else "s",
                    color=color, label=f"{lang} {model} {mode}")
            for _, r in g.iterrows():
                ax.annotate(r["level"], (100 * r[column], 100 * r["english_identical"]), fontsize=6)
        ax.axhline(99.9, color="grey", lw=0.8, ls="--")
        ax.set(xlabel=f"target token cut on {title} (%)", title=title)
    axes[0].set_ylabel("held-out English texts with identical ids (%)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=7)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    fig.savefig(out / "curve.png", dpi=150)


if __name__ == "__main__":
    main()
