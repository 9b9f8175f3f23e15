"""Embedding-initialization peers beside ours: the published ``deepfocus`` (FOCUS) and transformers' ``mean_resizing``.

Note (issue 14): the committed report and the numbers below were made when our ``focus`` was the PPMI-SVD
stand-in, registered today as ``focus_ppmi``; ``focus`` is now FOCUS as deepfocus runs it (fastText from gensim),
checked against deepfocus in ``benchmarks/rivals_agreement.py``. ``--methods focus_ppmi ...`` scores the stand-in
too (the paired tests take ``focus`` as their reference).

Usage (offline; deepfocus is a benchmark-only dependency, not in pyproject, like lm-eval)::

    .venv/bin/pip install deepfocus==1.0.1      # builds fasttext 0.9.3 from its sdist (needs g++, ~1 min);
                                                # also pulls entmax 1.3, fastdist 1.1.7, numba, print-on-steroids
    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python benchmarks/init_peers.py \\
        --preset demo --language uz --model smollm2-135m --repeat 3 --out results/benchmarks/init_peers

What it measures, on one model, one base + extended tokenizer and one text (``paper_utils.init.load_setup``):

* every method yields an :class:`~paper_utils.init.EmbeddingPatch` (the new rows only) and is
  scored by the same code as ours (``paper_utils.init.evaluate_patch``): held-out bits per byte (per document too),
  English KL to the base model, share of English positions whose argmax becomes a new token;
* ``seconds``: wall time of the initialization itself (no model loading, no evaluation);
* peers (``PEERS``):

  - ``deepfocus``: ``deepfocus.FOCUS(..., auxiliary_embedding_mode="fasttext-tokenlevel")`` with the package
    defaults (fastText CBOW, 3 epochs, dim 100, ``min_count`` 10), trained on the *same* target training text
    our ``focus`` reads (``setup.target_texts`` = ``study.training_text``), written one text per line to a
    ``.txt`` file. Token-level mode downloads nothing; its caches (tokenized text, fastText model, the
    ``datasets`` cache of ``load_dataset("text")``) are redirected to a fresh temporary folder per call, so
    every run trains from scratch. ``deepfocus_mc2``: the same with ``min_count`` 2, our ``focus``'s own
    ``min_count`` (tokens below it get no auxiliary vector: deepfocus draws them from N(mean, std) of the
    source rows, our ``focus`` falls back to FVT). deepfocus returns a full ``(len(extended), hidden)``
    matrix; the patch takes its rows at the new ids and leaves the base rows as they are; how many base
    rows deepfocus itself would have changed is reported (``base_rows_changed``; its canonical-form matching
    maps byte-level tokens that decode alike, e.g. partial UTF-8 bytes -> U+FFFD, to one source row). Its
    time is split into fastText (tokenizing the text + ``fasttext.train_unsupervised``), the cosine matrix
    (``fastdist``, numba JIT compile reported apart) and the rest (vocabulary canonicalization, overlap,
    per-token sparsemax loop);
  - ``deepfocus_mc2_fvt``: a diagnostic hybrid, not a published method: ``deepfocus_mc2``'s rows, except that
    the tokens it draws at random get our FVT rows, as our ``focus`` falls back to FVT. Both then split the
    8,000 new tokens identically, so the gap to our ``focus`` is the FOCUS step itself (fastText CBOW on all
    overlapping tokens vs our PPMI-SVD co-occurrence space on the alphabetic anchors); its seconds add FVT's;
  - ``mean_resizing``: ``model.resize_token_embeddings(len(extended), mean_resizing=True)`` on a copy of the
    model (seeded); the new rows are read back into a patch (transformers samples them from
    N(mean, 1e-9 * covariance) of the old rows, so this is our ``mean`` plus tiny noise);

* ours: any of ``paper_utils.init.METHODS`` through ``paper_utils.init.run_method`` (default ``focus``,
  ``fvt``, ``mean``, ``bxod``); ``bxod`` reads e5 vectors from the on-disk encoder cache (warm);
* paired permutation tests (``paper_utils.init.paired_tests``) of ``focus`` against every other method on
  per-document held-out bpb (delta = focus - rival; Holm across rivals; the unadjusted p of the headline
  comparison is reported too), and the ratios ``seconds(deepfocus) / seconds(focus)``.

``--repeat N`` times every initialization N times and reports the median (``seconds_runs`` keeps all;
deepfocus's numba JIT compile is paid by the first deepfocus call of the process only and reported apart).
``--threads`` (default 1) sets torch's threads and deepfocus's ``processes`` (``datasets.map`` workers and
fastText threads), so both sides get the same CPU. Writes ``<out>/report.json`` and ``<out>/init_peers.csv``
atomically.

Measured (demo: SmolLM2-135M, Uzbek, 8,000 new tokens, 122 held-out texts, 132,457 training texts; 2 CPU
cores shared with another benchmark, ``--threads 1 --repeat 3``; deepfocus 1.0.1, transformers 5.23.0):
base 4.855 bpb; our ``focus`` 4.090 bpb in 22.6 s; ``deepfocus`` (defaults) 7.107 bpb in 27.9 s (1.23x ours;
4,788 of 8,000 new tokens below fastText's ``min_count`` 10 are drawn at random: English KL 1.79, new-token
argmax on 63 % of English positions); ``deepfocus_mc2`` 6.793 bpb in 40.6 s (2,192 random);
``deepfocus_mc2_fvt`` 4.126 bpb (focus - it = -0.065 bpb, 95 % CI [-0.106, -0.025], paired permutation
p = 0.0014: ours slightly better, not a tie); ``mean_resizing`` 4.376 = our ``mean`` (1e-9-scaled covariance).
deepfocus would also overwrite 473 base rows (byte tokens that decode to U+FFFD share one source row); the
patch keeps the base rows.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import json
import math
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from paper_utils.config import load_preset  # noqa: E402
from paper_utils.paths import RESULTS_DIR  # noqa: E402
from paper_utils.errors import ConfigError  # noqa: E402
from paper_utils.init import (METHODS, EmbeddingPatch, base_reference, comparison_table, embedding_matrices,  # noqa: E402
                              english_reference, evaluate_patch, initialize, load_setup, new_tokens, paired_tests,
                              run_method, vocabulary_kind)
from paper_utils.io import write_csv, write_json  # noqa: E402

# peer label -> kind, deepfocus.FOCUS keyword arguments, and what fills the rows deepfocus draws at random
PEERS = {
    "deepfocus": {"kind": "deepfocus", "focus": {}},                                    # package defaults
    "deepfocus_mc2": {"kind": "deepfocus", "focus": {"fasttext_model_min_count": 2}},  # our focus's min_count
    # diagnostic hybrid, not a published method: deepfocus_mc2's rows, but the tokens it draws at random
    # (no fastText vector) get our FVT rows, as our focus's fallback does -> isolates the FOCUS step itself
    "deepfocus_mc2_fvt": {"kind": "deepfocus", "focus": {"fasttext_model_min_count": 2}, "fill": "fvt"},
    "mean_resizing": {"kind": "mean_resizing"},
}
DEFAULT_METHODS = ["focus", "deepfocus", "deepfocus_mc2", "deepfocus_mc2_fvt", "mean_resizing", "fvt", "mean", "bxod"]
TABLE_COLUMNS = ["method", "heldout_bpb", "english_kl", "new_argmax_share", "seconds"]
COPIED = "copied: canonical form equals a base token's"
RANDOM = "random N(mean, std): no fastText vector"


# ------------------------------------------------------------------------------------------------
# peers

def _new_info(setup):
    info = new_tokens(setup.base_tokenizer, setup.extended_tokenizer)
    w_in, w_out = embedding_matrices(setup.model)
    return info, w_in, w_out


def write_training_file(texts, folder: Path, language: str) -> Path:
    """The target training text, one text per line (``.txt``: deepfocus reads it with ``load_dataset("text")``)."""
    path = folder / f"{language}_train.txt"
    with open(path, "w", encoding="utf-8") as fh:
        for t in texts:
            t = " ".join(t.split())
            if t:
                fh.write(t + "\n")
    return path


def deepfocus_patch(setup, train_file: Path, label: str, threads: int, seed: int, verify: bool = True,
                    **focus_options):
    """Run ``deepfocus.FOCUS`` (token-level fastText on ``train_file``) and keep its rows at the new ids.

    Returns ``(patch, seconds, detail)``; ``seconds`` covers the ``FOCUS`` call(s) only. ``verify`` (outside the
    timing) counts the base rows deepfocus changed and classifies each new token (copied / random / FOCUS).
    """
    import fasttext
    import torch
    from datasets import load_dataset
    from deepfocus import FOCUS
    from deepfocus import fasttext_embs as df_ft
    from deepfocus import focus as df_focus

    info, w_in, w_out = _new_info(setup)
    nb = info.base_vocab_size
    ext, base = setup.extended_tokenizer, setup.base_tokenizer
    if len(ext) != max(ext.get_vocab().values()) + 1:
        raise ConfigError("extended_tokenizer", len(ext), "deepfocus indexes rows by id: ids must be 0..len-1")
    sources = {"input": w_in.detach()[:nb].float().clone()}
    if w_out is not None:                      # untied head: FOCUS its rows too (fastText model reused)
        sources["output"] = w_out.detach()[:nb].float().clone()

    timings = {"fasttext_seconds": 0.0, "fasttext_train_seconds": 0.0, "cosine_seconds": 0.0,
               "cosine_jit_seconds": 0.0}
    captured = {}
    orig_load, orig_train = df_focus.load_target_token_embedding, fasttext.train_unsupervised
    fd_module = df_focus.fastdist
    orig_cos = fd_module.cosine_matrix_to_matrix
    orig_cache, orig_load_dataset = df_ft.CACHE_DIR, df_ft.load_dataset

    def timed_load(*a, **k):
        t = time.perf_counter()
        model = orig_load(*a, **k)
        timings["fasttext_seconds"] += time.perf_counter() - t
        captured["fasttext"] = model
        return model

    def timed_train(*a, **k):
        t = time.perf_counter()
        model = orig_train(*a, **k)
        timings["fasttext_train_seconds"] += time.perf_counter() - t
        return model

    def timed_cos(a, b):
        t = time.perf_counter()
        orig_cos(a[:2], b[:2])                 # compiles for this signature (first call in the process only)
        t1 = time.perf_counter()
        out = orig_cos(a, b)
        timings["cosine_jit_seconds"] += t1 - t
        timings["cosine_seconds"] += time.perf_counter() - t1
        return out

    rows, seconds = {}, 0.0
    with tempfile.TemporaryDirectory(prefix="init_peers_deepfocus_") as tmp:
        df_focus.load_target_token_embedding = timed_load
        fasttext.train_unsupervised = timed_train
        fd_module.cosine_matrix_to_matrix = timed_cos
        df_ft.CACHE_DIR = Path(tmp) / "deepfocus"
        df_ft.load_dataset = functools.partial(load_dataset, cache_dir=str(Path(tmp) / "hf_datasets"))
        try:
            for which, src in sources.items():
                t0 = time.perf_counter()
                full = FOCUS(target_tokenizer=ext, source_tokenizer=base, source_embeddings=src,
                             auxiliary_embedding_mode="fasttext-tokenlevel", target_training_data_path=str(train_file),
                             processes=threads, seed=seed, device="cpu", verbosity="silent", **focus_options)
                seconds += time.perf_counter() - t0
                rows[which] = full
        finally:
            df_focus.load_target_token_embedding = orig_load
            fasttext.train_unsupervised = orig_train
            fd_module.cosine_matrix_to_matrix = orig_cos
            df_ft.CACHE_DIR, df_ft.load_dataset = orig_cache, orig_load_dataset

    full = rows["input"]
    if tuple(full.shape) != (len(ext), w_in.shape[1]):
        raise RuntimeError(f"deepfocus returned {tuple(full.shape)}, expected ({len(ext)}, {w_in.shape[1]})")
    ft = captured["fasttext"]
    detail = {**{k: round(v, 3) for k, v in timings.items()},
              "rest_seconds": round(seconds - timings["fasttext_seconds"] - timings["cosine_seconds"]
                                    - timings["cosine_jit_seconds"], 3),
              "tokenize_seconds": round(timings["fasttext_seconds"] - timings["fasttext_train_seconds"], 3),
              "fasttext_vocabulary": len(ft.words) if hasattr(ft, "words") else None}
    provenance = [{"token": t, "surface": s, "rule": "deepfocus"} for t, s in zip(info.tokens, info.surfaces)]
    if verify:
        changed = torch.nonzero((full[:nb] - sources["input"]).abs().amax(1) > 0).ravel().tolist()
        overlap, _ = df_focus.get_overlapping_tokens(target_tokenizer=ext, source_tokenizer=base, match_symbols=False,
                                                     exact_match_all=True, fuzzy_match_all=False)
        rules: dict[str, int] = {}
        for rec in provenance:
            tok = rec["token"]
            if tok in overlap:
                rec.update(rule=COPIED, anchors=[[overlap[tok].source[0].native_form, 1.0]])
            elif df_focus.is_very_rare_token(tok, ft):
                rec["rule"] = RANDOM
            else:
                rec["rule"] = "focus (fastText token-level, sparsemax)"
            rules[rec["rule"]] = rules.get(rec["rule"], 0) + 1
        detail.update(new_token_rules=rules, base_rows_changed=len(changed),
                      base_rows_changed_examples=[base.convert_ids_to_tokens(i) for i in changed[:10]],
                      base_kind=vocabulary_kind(base),
                      training_lines=sum(1 for _ in open(train_file, encoding="utf-8")))
    ids = torch.tensor(info.ids)
    patch = EmbeddingPatch(
        method=label, token_ids=info.ids, tokens=info.tokens, input_rows=full[ids].to("cpu", w_in.dtype),
        output_rows=None if w_out is None else rows["output"][ids].to("cpu", w_out.dtype), provenance=provenance,
        options={"package": "deepfocus", "auxiliary_embedding_mode": "fasttext-tokenlevel", "processes": threads,
                 "seed": seed, **focus_options},
        base_rows=int(w_in.shape[0]), base_vocab_size=nb, base_fingerprint=info.fingerprint,
        hidden_size=int(w_in.shape[1]), seconds=round(seconds, 3))
    return patch, seconds, detail


def fill_random_rows(setup, patch: EmbeddingPatch, label: str, fill: str):
    """``patch`` with the rows deepfocus drew at random replaced by our ``fill`` method's rows (timed)."""
    import torch

    t0 = time.perf_counter()
    other = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, fill, **setup.options(fill))
    seconds = time.perf_counter() - t0
    if other.token_ids != patch.token_ids:
        raise RuntimeError("the fill method's new tokens differ from deepfocus's")
    pick = torch.tensor([r["rule"] == RANDOM for r in patch.provenance])
    rows_in = patch.input_rows.clone()
    rows_in[pick] = other.input_rows[pick]
    rows_out = None
    if patch.output_rows is not None:
        rows_out = patch.output_rows.clone()
        rows_out[pick] = other.output_rows[pick]
    provenance = [dict(r, rule=f"{fill} (fill: deepfocus had no fastText vector)") if r["rule"] == RANDOM else r
                  for r in patch.provenance]
    out = dataclasses.replace(patch, method=label, input_rows=rows_in, output_rows=rows_out, provenance=provenance,
                              options={**patch.options, "fill": fill})
    return out, seconds, int(pick.sum())


def mean_resizing_patch(setup, label: str, seed: int):
    """``resize_token_embeddings(len(extended), mean_resizing=True)`` on a copy; its new rows as a patch."""
    import torch

    info, w_in, w_out = _new_info(setup)
    target_rows = len(setup.extended_tokenizer)
    if max(info.ids) < w_in.shape[0] or target_rows <= w_in.shape[0]:
        raise ConfigError("model", f"{w_in.shape[0]} embedding rows",
                          "the new ids fall into existing (padding) rows, which mean_resizing would not initialize")
    model = copy.deepcopy(setup.model)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    model.resize_token_embeddings(target_rows, mean_resizing=True)
    seconds = time.perf_counter() - t0
    n_in, n_out = embedding_matrices(model)
    if (n_out is None) != (w_out is None):
        raise RuntimeError("resize_token_embeddings changed whether the head is tied")
    ids = torch.tensor(info.ids)
    unchanged = bool(torch.equal(n_in.detach()[:w_in.shape[0]], w_in.detach()))
    patch = EmbeddingPatch(
        method=label, token_ids=info.ids, tokens=info.tokens, input_rows=n_in.detach()[ids].clone().cpu(),
        output_rows=None if n_out is None else n_out.detach()[ids].clone().cpu(),
        provenance=[{"token": t, "surface": s, "rule": "transformers mean_resizing"}
                    for t, s in zip(info.tokens, info.surfaces)],
        options={"package": "transformers", "mean_resizing": True, "seed": seed}, base_rows=int(w_in.shape[0]),
        base_vocab_size=info.base_vocab_size, base_fingerprint=info.fingerprint, hidden_size=int(w_in.shape[1]),
        seconds=round(seconds, 3))
    del model
    return patch, seconds, {"base_rows_unchanged": unchanged}


def peer_record(setup, label: str, patch: EmbeddingPatch, runs: list[float], detail: dict, ref, base) -> dict:
    """The same record as ``paper_utils.init.run_method`` writes, for a patch made elsewhere."""
    rec = {"method": label, "base_method": PEERS[label]["kind"], "preset": setup.preset, "language": setup.language,
           "model": setup.model_name, "new_tokens": len(patch.token_ids), "options": patch.options}
    rec.update(evaluate_patch(setup, patch, ref))
    rec["base_bpb"] = base["heldout_bpb"]
    rec["seconds"] = round(statistics.median(runs), 3)
    rec["seconds_runs"] = [round(r, 3) for r in runs]
    rec["rules"] = dict(Counter(r["rule"] for r in patch.provenance).most_common())
    rec["detail"] = detail
    return rec


def _timing_summary(details: list[dict]) -> dict:
    """Median of each deepfocus timing over the repeats; the numba JIT compile of the first call apart."""
    keys = ("fasttext_seconds", "tokenize_seconds", "fasttext_train_seconds", "cosine_seconds", "rest_seconds")
    out = {k: round(statistics.median(d[k] for d in details), 3) for k in keys}
    out["cosine_jit_seconds_first_call"] = details[0]["cosine_jit_seconds"]
    out["runs"] = [{k: d[k] for k in keys + ("cosine_jit_seconds",)} for d in details]
    return out


def run_peer(setup, label: str, args, train_file_for, cache: dict):
    """``(patch, seconds of each repeat, detail)`` of one peer; deepfocus runs are shared between labels."""
    spec = PEERS[label]
    if spec["kind"] == "mean_resizing":
        runs, patch, detail = [], None, {}
        for _ in range(args.repeat):
            patch, sec, detail = mean_resizing_patch(setup, label, args.seed)
            runs.append(sec)
        return patch, runs, detail
    key = json.dumps(spec["focus"], sort_keys=True)
    if key not in cache:
        train_file = train_file_for()
        details, runs, patch = [], [], None
        for r in range(args.repeat):
            p, sec, d = deepfocus_patch(setup, train_file, label, args.threads, args.seed, verify=r == 0,
                                        **spec["focus"])
            patch = patch or p
            runs.append(sec)
            details.append(d)
        first = {k: v for k, v in details[0].items() if not k.endswith("seconds")}
        cache[key] = (patch, runs, {**first, **_timing_summary(details)})
    patch, runs, detail = cache[key]
    detail = dict(detail)
    if spec.get("fill"):
        patch, fill_seconds, filled = fill_random_rows(setup, patch, label, spec["fill"])
        runs = [r + fill_seconds for r in runs]
        detail.update(fill=spec["fill"], fill_seconds=round(fill_seconds, 3), filled_rows=filled)
    else:
        patch = dataclasses.replace(patch, method=label)
    return patch, runs, detail


# ------------------------------------------------------------------------------------------------

def _versions() -> dict:
    from paper_utils.provenance import package_versions

    return package_versions(("deepfocus", "fasttext", "entmax", "fastdist", "numba", "transformers", "torch",
                             "datasets"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--language", default="uz")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--methods", nargs="*", default=None,
                    help=f"ours ({', '.join(METHODS)}) and peers ({', '.join(PEERS)}); default: {' '.join(DEFAULT_METHODS)}")
    ap.add_argument("--out", default=str(RESULTS_DIR / "benchmarks" / "init_peers"))
    ap.add_argument("--english-questions", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1, help="torch threads and deepfocus processes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="time each initialization this many times; report the median")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    methods = args.methods or list(DEFAULT_METHODS)
    if args.repeat < 1:
        raise ConfigError("repeat", args.repeat, "use an integer >= 1")
    unknown = [m for m in methods if m not in METHODS and m not in PEERS]
    if unknown:
        raise ConfigError("methods", unknown, f"use any of: {', '.join(METHODS + tuple(PEERS))}")
    t_start = time.perf_counter()
    cfg = load_preset(args.preset)
    setup = load_setup(cfg, args.language, args.model, english_questions=args.english_questions)
    print(f"setup {time.perf_counter() - t_start:.0f} s: {len(setup.base_tokenizer)} -> {len(setup.extended_tokenizer)} "
          f"tokens, {len(setup.heldout_texts)} held-out texts, {len(setup.english_texts)} English texts, "
          f"{len(setup.target_texts)} target training texts; {setup.notes}", flush=True)
    base = base_reference(setup, write=False)
    ref = english_reference(setup.model, setup.base_tokenizer, setup.english_texts, setup.extended_tokenizer)
    print(f"base bpb {base['heldout_bpb']:.4f}; English reference {ref.hidden.shape[0]} positions", flush=True)

    records: dict[str, dict] = {}
    deepfocus_runs: dict = {}
    with tempfile.TemporaryDirectory(prefix="init_peers_text_") as tmp:
        train_path = Path(tmp) / f"{args.language}_train.txt"

        def train_file_for() -> Path:            # the same text our focus reads, one text per line
            if not train_path.exists():
                write_training_file(setup.target_texts, Path(tmp), args.language)
            return train_path

        for label in methods:
            if label in PEERS:
                patch, runs, detail = run_peer(setup, label, args, train_file_for, deepfocus_runs)
                rec = peer_record(setup, label, patch, runs, detail, ref, base)
            else:
                rec = run_method(setup, label, ref, base, write=False, save_patch=False)
                rec.pop("examples", None)
                runs = [rec["seconds"]]
                for _ in range(args.repeat - 1):
                    t0 = time.perf_counter()
                    initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, label,
                               **setup.options(label))
                    runs.append(time.perf_counter() - t0)
                rec["seconds"] = round(statistics.median(runs), 3)
                rec["seconds_runs"] = [round(r, 3) for r in runs]
            rec.pop("_patch", None)
            records[label] = rec
            extra = ""
            d = rec.get("detail", {})
            if "fasttext_seconds" in d:
                extra = (f"  (median of {len(runs)}: fastText {d['fasttext_seconds']:.1f} s = tokenize "
                         f"{d['tokenize_seconds']:.1f} + train {d['fasttext_train_seconds']:.1f}; cosine "
                         f"{d['cosine_seconds']:.1f}; rest {d['rest_seconds']:.1f}; numba JIT once "
                         f"{d['cosine_jit_seconds_first_call']:.1f}; base rows changed {d.get('base_rows_changed')}"
                         + (f"; fill {d['fill_seconds']:.1f}" if "fill_seconds" in d else "") + ")")
            print(f"{label:<18} bpb {rec['heldout_bpb']:.4f}  KL {rec['english_kl']:.4f}  "
                  f"argmax {rec['english_new_argmax_share']:.3f}  init {rec['seconds']:.2f} s "
                  f"{rec['seconds_runs']}{extra}  rules {rec['rules']}", flush=True)

    import pandas as pd

    all_recs = {"base": base, **records}
    table = pd.DataFrame([{"method": k, "heldout_bpb": r["heldout_bpb"], "english_kl": r.get("english_kl", 0.0),
                           "new_argmax_share": r.get("english_new_argmax_share", 0.0),
                           "seconds": r.get("seconds", math.nan)} for k, r in all_recs.items()], columns=TABLE_COLUMNS)
    tests, headline = [], {}
    if "focus" in records:
        results = paired_tests(all_recs, reference="focus", rivals=[m for m in all_recs if m != "focus"],
                               language=args.language, model=args.model, seed=12345)
        tests = comparison_table(results)
        # delta = focus - rival (per-document bpb); < 0 favours focus
        table = table.merge(tests.rename(columns={"rival": "method", "delta_bpb": "focus_minus_bpb"})
                            [["method", "focus_minus_bpb", "p", "p_holm"]], on="method", how="left")
        f = records["focus"]
        for label in records:
            if PEERS.get(label, {}).get("kind") == "deepfocus":
                r = records[label]
                t = tests[tests["rival"] == label].iloc[0]
                headline[label] = {
                    "seconds_ratio_deepfocus_over_focus": r["seconds"] / f["seconds"],
                    "seconds_ratio_without_fasttext": (r["seconds"] - r["detail"]["fasttext_seconds"]) / f["seconds"],
                    "bpb_focus_minus_deepfocus": float(t["delta_bpb"]), "ci95": [float(t["ci_low"]), float(t["ci_high"])],
                    "p": float(t["p"]), "p_holm": float(t["p_holm"]), "test": t["test"], "n_documents": int(t["n"]),
                    "english_kl_ratio_focus_over_deepfocus": f["english_kl"] / r["english_kl"] if r["english_kl"] else None,
                }
    print()
    print(table.round(4).to_markdown(index=False))
    if len(tests):
        print()
        print(tests.round(4).to_markdown(index=False))
    for label, h in headline.items():
        print(f"\n{label}: seconds {label}/focus = {h['seconds_ratio_deepfocus_over_focus']:.2f}x "
              f"({h['seconds_ratio_without_fasttext']:.2f}x without its fastText step); bpb focus - {label} = "
              f"{h['bpb_focus_minus_deepfocus']:+.4f} [{h['ci95'][0]:+.4f}, {h['ci95'][1]:+.4f}], "
              f"p = {h['p']:.4g} (Holm {h['p_holm']:.4g}, {h['test']}, n = {h['n_documents']})")

    out = Path(args.out)
    total = time.perf_counter() - t_start
    report = {"args": vars(args), "setup": {"preset": setup.preset, "language": setup.language, "model": setup.model_name,
                                            "base_tokens": len(setup.base_tokenizer),
                                            "extended_tokens": len(setup.extended_tokenizer),
                                            "heldout_texts": len(setup.heldout_texts),
                                            "english_texts": len(setup.english_texts),
                                            "target_training_texts": len(setup.target_texts), "notes": setup.notes},
              "versions": _versions(), "table": table.to_dict(orient="records"),
              "tests": tests.to_dict(orient="records") if len(tests) else [], "headline": headline,
              "records": all_recs, "seconds_total": round(total, 1)}
    write_json(out / "report.json", report)
    write_csv(out / "init_peers.csv", table)
    print(f"\nwrote {out / 'report.json'} and {out / 'init_peers.csv'}; total {total:.0f} s")


if __name__ == "__main__":
    main()
