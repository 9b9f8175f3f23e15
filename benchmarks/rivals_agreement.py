"""Our faithful ``focus`` and ``wechsel`` against the published ``deepfocus`` 1.0.1 and ``wechsel`` 0.0.4, same inputs.

Usage (the published packages are not dependencies: a venv that sees the project's packages plus them)::

    /work/main/.venv/bin/python -m venv /tmp/peer
    echo /work/main/.venv/lib/python3.11/site-packages > /tmp/peer/lib/python3.11/site-packages/main.pth
    /tmp/peer/bin/pip install deepfocus==1.0.1 wechsel==0.0.4 fasttext==0.9.3    # builds fasttext (g++, ~1 min)
    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH=$PWD /tmp/peer/bin/python \\
        benchmarks/rivals_agreement.py --preset demo --language uz --model smollm2-135m \\
        --out results/benchmarks/rivals_agreement
    # stage 02's tokenizer must exist (PAPER_UTILS_RESULTS=<a results root that has it> reads it elsewhere)

Two comparisons per method, on the setup's model, base and extended tokenizer and text
(``paper_utils.init.load_setup``):

* ``same_vectors``: our code fed the *published package's own* fastText model (``fasttext`` 0.9.3, trained by the
  package, or, for WECHSEL, with the package's ``train_embeddings`` settings) against the package's rows. Same
  vectors in, so any difference is the algorithm: the rows should agree to float precision.
* ``own_vectors``: our method as registered (fastText from gensim, seeded, one thread) against the package.
  fastText's and gensim's random streams differ, so the spaces differ; reported: which tokens each places
  (identical vocabularies by ``min_count``), and how close the rows are.

``--methods wechsel`` reruns one method and keeps the other's entry in an existing report.

Row agreement: cosine between our row and the package's row per new token (raw, and centered on the mean base
row, which removes the component every row shares), the largest absolute difference, and the share of tokens whose
top anchor (largest weight) is the same. ``control_own_seed_*``: our method against itself with the next seed
(fastText's training noise alone; the ``seed`` option seeds both fastText and the random fill). Writes ``<out>/report.json``.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from paper_utils.config import load_preset  # noqa: E402
from paper_utils.paths import RESULTS_DIR  # noqa: E402
from paper_utils.init import embedding_matrices, initialize, load_setup, new_tokens  # noqa: E402
from paper_utils.init import focus as focus_mod  # noqa: E402
from paper_utils.init import wechsel as wechsel_mod  # noqa: E402
from paper_utils.init.static_vectors import StaticVectors  # noqa: E402
from paper_utils.io import write_json  # noqa: E402
from paper_utils.registry import initializer  # noqa: E402


def fasttext_static(model, queries=()) -> StaticVectors:
    """A ``fasttext`` model as :class:`StaticVectors` (its vocabulary, word vectors, the queries' vectors)."""
    words, counts = model.get_words(include_freq=True, on_unicode_error="replace")
    vecs = np.array([model.get_word_vector(w) for w in words], dtype=np.float32)
    q = np.array([model.get_word_vector(w) for w in queries], dtype=np.float32).reshape(len(queries), model.get_dimension())
    return StaticVectors(list(words), np.asarray(counts), vecs, list(queries), q)


def agreement(ours, theirs, base_mean, top_ours=None, top_theirs=None) -> dict:
    """Cosine (raw and centered), max |difference| and top-anchor agreement between two (n, h) row sets."""
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if not len(a):
        return {"tokens": 0}

    def cos(x, y):
        return (x * y).sum(1) / np.maximum(np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1), 1e-12)

    c, cc = cos(a, b), cos(a - base_mean, b - base_mean)
    out = {"tokens": len(a), "cosine_mean": round(float(c.mean()), 6), "cosine_min": round(float(c.min()), 6),
           "centered_cosine_mean": round(float(cc.mean()), 6), "centered_cosine_median": round(float(np.median(cc)), 6),
           "centered_cosine_min": round(float(cc.min()), 6), "max_abs_difference": float(np.abs(a - b).max())}
    if top_ours is not None:
        out["same_top_anchor_share"] = round(float(np.mean([x == y for x, y in zip(top_ours, top_theirs)])), 4)
    return out


def write_lines(texts, path: Path) -> list[str]:
    """One text per line, whitespace collapsed (as ``benchmarks/init_peers.py`` gives deepfocus its text)."""
    lines = [" ".join(t.split()) for t in texts]
    lines = [t for t in lines if t]
    path.write_text("".join(t + "\n" for t in lines), encoding="utf-8")
    return lines


def run_deepfocus(setup, lines_file: Path, tmp: Path, seed: int = 42):
    """``deepfocus.FOCUS`` with its defaults (one process); returns (full matrix, its fastText model, seconds)."""
    from datasets import load_dataset
    from deepfocus import FOCUS
    from deepfocus import fasttext_embs as df_ft
    from deepfocus import focus as df_focus

    w_in, _ = embedding_matrices(setup.model)
    nb = len(setup.base_tokenizer)
    captured = {}
    orig = df_focus.load_target_token_embedding

    def capture(*a, **k):
        captured["ft"] = orig(*a, **k)
        return captured["ft"]

    df_focus.load_target_token_embedding = capture
    df_ft.CACHE_DIR = tmp / "deepfocus"
    df_ft.load_dataset = functools.partial(load_dataset, cache_dir=str(tmp / "hf"))
    t0 = time.perf_counter()
    try:
        full = FOCUS(target_tokenizer=setup.extended_tokenizer, source_tokenizer=setup.base_tokenizer,
                     source_embeddings=w_in.detach()[:nb].float().clone(), auxiliary_embedding_mode="fasttext-tokenlevel",
                     target_training_data_path=str(lines_file), processes=1, seed=seed, device="cpu",
                     verbosity="silent")
    finally:
        df_focus.load_target_token_embedding = orig
    return full, captured["ft"], time.perf_counter() - t0


def focus_report(setup, tmp: Path) -> dict:
    info = new_tokens(setup.base_tokenizer, setup.extended_tokenizer)
    w = embedding_matrices(setup.model)[0].detach().float()
    base_mean = w[:info.base_vocab_size].mean(0).numpy()
    lines = write_lines(setup.target_texts, tmp / "target.txt")
    full, ft, seconds = run_deepfocus(setup, tmp / "target.txt", tmp)
    theirs = full[info.ids].numpy()
    random_theirs = np.array([df_is_rare(t, ft) for t in info.tokens])
    # same vectors: our FOCUS step on deepfocus's own fastText model
    orig = focus_mod.train_static_vectors
    focus_mod.train_static_vectors = lambda sentences, options, queries=(), cache=True: fasttext_static(ft, queries)
    try:
        same = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, "focus", target_texts=lines,
                          cache=False)
    finally:
        focus_mod.train_static_vectors = orig
    t0 = time.perf_counter()
    own = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, "focus", target_texts=lines)
    own_seconds = time.perf_counter() - t0
    control = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, "focus", target_texts=lines,
                         seed=43)
    out = {"package": "deepfocus 1.0.1 (fasttext 0.9.3)", "package_seconds": round(seconds, 1),
           "ours_seconds": round(own_seconds, 1), "new_tokens": len(info.ids),
           "package_random_rows": int(random_theirs.sum())}
    for label, patch in (("same_vectors", same), ("own_vectors", own)):
        rows = patch.input_rows.float().numpy()
        random_ours = np.array([p["rule"].startswith("random") for p in patch.provenance])
        placed = ~random_ours & ~random_theirs
        out[label] = {"ours_random_rows": int(random_ours.sum()),
                      "same_random_decision_share": round(float(np.mean(random_ours == random_theirs)), 6),
                      "focus_rows": agreement(rows[placed], theirs[placed], base_mean),
                      "random_rows": agreement(rows[random_ours & random_theirs], theirs[random_ours & random_theirs],
                                               base_mean)}
    out["control_own_seed_43_vs_42"] = seed_control(own, control, base_mean)
    return out


def seed_control(a, b, base_mean) -> dict:
    """Our method against itself with another fastText seed: the rows placed by both (training noise alone)."""
    ra = np.array([not p["rule"].startswith("random") for p in a.provenance])
    rb = np.array([not p["rule"].startswith("random") for p in b.provenance])
    both = ra & rb
    top = lambda patch: [p["anchors"][0][0] if p["anchors"] else None for p in patch.provenance]  # noqa: E731
    return {"same_random_decision_share": round(float(np.mean(ra == rb)), 6),
            "rows": agreement(a.input_rows.float().numpy()[both], b.input_rows.float().numpy()[both], base_mean,
                              [t for t, k in zip(top(a), both) if k], [t for t, k in zip(top(b), both) if k])}


def df_is_rare(token, ft) -> bool:
    from deepfocus.focus import is_very_rare_token

    return bool(is_very_rare_token(token, ft))


def _train_fasttext(sentences, path: Path, o: dict):
    import fasttext

    path.write_text("".join(" ".join(s) + "\n" for s in sentences if s), encoding="utf-8")
    return fasttext.train_unsupervised(str(path), model=o["model"], dim=o["dim"], neg=o["negative"], minn=o["minn"],
                                       maxn=o["maxn"], epoch=o["epochs"], minCount=o["min_count"], ws=o["window"],
                                       thread=1, verbose=0)


def wechsel_report(setup, tmp: Path) -> dict:
    from wechsel import WECHSEL

    info = new_tokens(setup.base_tokenizer, setup.extended_tokenizer)
    w = embedding_matrices(setup.model)[0].detach().float()
    nb = info.base_vocab_size
    base_mean = w[:nb].mean(0).numpy()
    opts = {**initializer("wechsel").options, **setup.options("wechsel")}
    dictionary = wechsel_mod._dictionary(opts)
    # one line per apostrophe form of the target word: WECHSEL then meets the same (English, target) pairs as ours
    (tmp / "dict.txt").write_text("".join(f"{e}\t{form}\n" for e, t in dictionary for form in wechsel_mod.target_forms(t)),
                                  encoding="utf-8")
    t0 = time.perf_counter()
    en_ft = _train_fasttext([wechsel_mod.words(t) for t in opts["english_texts"]], tmp / "en.txt", opts)
    tgt_ft = _train_fasttext([wechsel_mod.words(t) for t in opts["target_texts"]], tmp / "tgt.txt", opts)
    ft_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    wx = WECHSEL(en_ft, tgt_ft, bilingual_dictionary=str(tmp / "dict.txt"))
    full, winfo = wx.apply(setup.base_tokenizer, setup.extended_tokenizer, w[:nb].numpy(), neighbors=opts["top_k"],
                           temperature=opts["temperature"])
    seconds = time.perf_counter() - t0
    theirs = np.asarray(full)[info.ids]
    random_theirs = np.array([t in set(winfo.not_found) for t in info.tokens])
    calls = iter([en_ft, tgt_ft])
    orig = wechsel_mod.train_static_vectors
    wechsel_mod.train_static_vectors = lambda sentences, options, queries=(), cache=True: fasttext_static(next(calls),
                                                                                                          queries)
    try:
        same = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, "wechsel", **setup.options("wechsel"),
                          cache=False)
    finally:
        wechsel_mod.train_static_vectors = orig
    t0 = time.perf_counter()
    own = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, "wechsel", **setup.options("wechsel"))
    own_seconds = time.perf_counter() - t0
    control = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, "wechsel",
                         **{**setup.options("wechsel"), "seed": 1235})
    surfaces = {i: s for i, s in enumerate(setup.base_tokenizer.batch_decode([[i] for i in range(nb)]))}
    vocab = setup.base_tokenizer.get_vocab()
    top_theirs = [surfaces[vocab[winfo.sources[t][0][0]]].strip() if t in winfo.sources else None for t in info.tokens]
    out = {"package": "wechsel 0.0.4 (fasttext 0.9.3)", "dictionary_pairs": len(dictionary),
           "fasttext_seconds_package_side": round(ft_seconds, 1), "package_seconds": round(seconds, 1),
           "ours_seconds": round(own_seconds, 1), "new_tokens": len(info.ids),
           "package_random_rows": int(random_theirs.sum())}
    for label, patch in (("same_vectors", same), ("own_vectors", own)):
        rows = patch.input_rows.float().numpy()
        random_ours = np.array([p["rule"].startswith("random") for p in patch.provenance])
        placed = ~random_ours & ~random_theirs
        top_ours = [p["anchors"][0][0].strip() if p["anchors"] else None for p in patch.provenance]
        out[label] = {"ours_random_rows": int(random_ours.sum()),
                      "same_random_decision_share": round(float(np.mean(random_ours == random_theirs)), 6),
                      "aligned_pairs": next((int(r.split(" on ")[1].split()[0]) for r in
                                             (p["rule"] for p in patch.provenance) if " on " in r), None),
                      "wechsel_rows": agreement(rows[placed], theirs[placed], base_mean,
                                                [top_ours[k] for k in np.flatnonzero(placed)],
                                                [top_theirs[k] for k in np.flatnonzero(placed)]),
                      "random_rows": agreement(rows[random_ours & random_theirs], theirs[random_ours & random_theirs],
                                               base_mean)}
    out["control_own_seed_1235_vs_1234"] = seed_control(own, control, base_mean)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--language", default="uz")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--methods", nargs="+", default=["focus", "wechsel"])
    ap.add_argument("--out", default=str(RESULTS_DIR / "benchmarks" / "rivals_agreement"))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    setup = load_setup(load_preset(args.preset), args.language, args.model)
    report = {"args": {**vars(args), "out": Path(args.out).name},
              "versions": {p: version(p) for p in ("deepfocus", "wechsel", "fasttext", "gensim", "entmax", "fastdist",
                                                   "numba", "numpy", "scipy", "scikit-learn", "torch", "transformers")},
              "setup": {"base_tokens": len(setup.base_tokenizer),
                        "extended_tokens": len(setup.extended_tokenizer),
                        "target_texts": len(setup.target_texts),
                        "english_texts": len(setup.static_english_texts),
                        "parallel_pairs": len(setup.parallel_pairs)}}
    with tempfile.TemporaryDirectory(prefix="rivals_agreement_") as tmp:
        for method in args.methods:
            folder = Path(tmp) / method
            folder.mkdir()
            report[method] = (focus_report if method == "focus" else wechsel_report)(setup, folder)
            print(method, report[method], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "report.json").exists():                 # a run of some methods keeps the others' entries
        report = {**json.loads((out / "report.json").read_text()), **report}
    write_json(out / "report.json", report)
    return report


if __name__ == "__main__":
    main()
