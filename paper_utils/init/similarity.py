"""Stand-ins kept beside the faithful rivals: ``focus_ppmi`` (sparsemax) and ``wechsel_e5`` (top-k softmax).

Example::

    >>> from paper_utils.fixtures import tiny_tokenizer
    >>> from paper_utils.init.similarity import cooc_vectors
    >>> texts = ["kitob va qalam", "kitob va daftar", "qalam va daftar"] * 3
    >>> ids, vectors = cooc_vectors(tiny_tokenizer(texts, "llama"), texts, dim=4, min_count=2)
    >>> vectors.shape[0] == len(ids), vectors.shape[1] <= 4
    (True, True)

The auxiliary space is ``aux="cooc"``: PPMI-SVD token co-occurrence vectors trained on the target
text tokenized with the extended tokenizer (:func:`cooc_vectors`), or ``aux="encoder"``: the sentence
encoder on surface forms. Tokens the space does not cover take ``fvt`` (recorded as a fallback).

The names say what departs from the papers: ``focus_ppmi`` is FOCUS's sparsemax over PPMI-SVD vectors
(FOCUS: fastText) on the top ``candidates`` alphabetic anchors, with an fvt fallback (FOCUS: random rows);
``wechsel_e5`` is WECHSEL's top-k softmax over e5 surface-form similarities (WECHSEL: fastText spaces
aligned by a bilingual dictionary). The faithful methods are ``focus`` (:mod:`paper_utils.init.focus`)
and ``wechsel`` (:mod:`paper_utils.init.wechsel`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import DataError
from ..registry import register_initializer
from .anchors import encode, encoder_space, query_texts, resolve_encoder
from .common import Combination, Context, anchored_combination, rows_and_provenance, with_fallback


# ------------------------------------------------------------------------------------------------
# auxiliary co-occurrence space (focus_ppmi's stand-in for FOCUS's fastText)

def cooc_vectors(tokenizer, texts: Sequence[str], dim: int = 100, window: int = 5, min_count: int = 2):
    """PPMI-SVD vectors of the tokens of ``texts`` under ``tokenizer``: ``(token ids, unit vectors)``.

    Co-occurrence within ``window`` tokens (weight 1/distance, both directions, not across texts),
    PPMI with context-distribution smoothing 0.75 (Levy et al. 2015), truncated SVD with symmetric
    weighting. Only tokens seen at least ``min_count`` times get a vector.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import svds

    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise DataError("target_texts is empty: co-occurrence vectors need target-language text")
    seqs = tokenizer(texts, add_special_tokens=False)["input_ids"]
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs if len(s)])
    doc = np.repeat(np.arange(len(seqs)), [len(s) for s in seqs])
    counts = np.bincount(flat)
    kept = np.flatnonzero(counts >= min_count)
    if len(kept) < 3:
        raise DataError(f"only {len(kept)} tokens occur >= {min_count} times in target_texts; pass more text")
    pos = np.full(counts.shape[0], -1)
    pos[kept] = np.arange(len(kept))
    rows, cols, vals = [], [], []
    for o in range(1, window + 1):
        a, b = flat[:-o], flat[o:]
        ok = (doc[:-o] == doc[o:]) & (pos[a] >= 0) & (pos[b] >= 0)
        pa, pb = pos[a[ok]], pos[b[ok]]
        rows += [pa, pb]
        cols += [pb, pa]
        vals += [np.full(len(pa), 1.0 / o)] * 2
    n = len(kept)
    m = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsr()
    m.sum_duplicates()
    total = m.sum()
    row_sum = np.asarray(m.sum(1)).ravel()
    ctx = np.asarray(m.sum(0)).ravel() ** 0.75
    ctx = ctx / ctx.sum()
    coo = m.tocoo()
    pmi = np.log((coo.data / total) / ((row_sum[coo.row] / total) * ctx[coo.col]))
    keep = pmi > 0
    ppmi = coo_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=(n, n)).tocsr()
    k = max(1, min(dim, n - 2))
    u, s, _ = svds(ppmi.astype(np.float64), k=k, random_state=0)
    vecs = (u * np.sqrt(s)).astype(np.float32)
    vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    return kept, vecs


def _cooc_space(ctx: Context, opts: Mapping[str, Any]):
    import torch

    ids, vecs = cooc_vectors(ctx.extended_tokenizer, opts["target_texts"], opts["dim"], opts["window"], opts["min_count"])
    special = ctx.special_ids()
    base = np.array([i < ctx.info.base_vocab_size and int(i) not in special for i in ids], dtype=bool)
    if not base.any():
        raise DataError("no base token occurs in target_texts often enough to serve as an anchor; pass more text")
    where = {int(i): r for r, i in enumerate(ids)}
    vecs_t = torch.from_numpy(vecs).to(ctx.device)
    rows = np.array([where.get(i, -1) for i in ctx.info.ids])
    return ids[base], vecs_t[torch.as_tensor(np.flatnonzero(base), device=ctx.device)], rows, vecs_t


def _similarity_method(ctx: Context, opts: Mapping[str, Any], weighting: str, k: int, name: str) -> Combination:
    """FOCUS (sparsemax) and WECHSEL (top-k softmax) over the chosen auxiliary space."""
    import torch

    if opts["aux"] == "cooc":
        a_ids, a_vecs, rows, all_vecs = _cooc_space(ctx, opts)
        covered = rows >= 0
        q_rows = np.flatnonzero(covered)
        queries = all_vecs[torch.as_tensor(rows[covered], device=ctx.device)]
        reason = "token not in the target text"
    else:
        _, a_ids, a_vecs, _ = encoder_space(ctx, opts)
        texts, covered = query_texts(ctx)
        q_rows = np.flatnonzero(covered)
        encoder = resolve_encoder(opts["encoder"])
        queries = encode(encoder, [texts[r] for r in q_rows], ctx.device)
        reason = "no usable surface form"
    comb = anchored_combination(ctx, queries, q_rows, a_vecs, a_ids, k=k, weighting=weighting,
                     temperature=opts["temperature"], rule=f"{name} ({opts['aux']})")
    return with_fallback(ctx, comb, covered, reason)


# the registered initializers: every option with its default. ``encoder`` is a name for
# ``paper_utils.encoders.load_encoder`` or any object with ``encode(list[str]) -> (n, d) array``.

@register_initializer("focus_ppmi", data=("encoder", "target_texts"),
                      options={"aux": "cooc", "target_texts": None, "encoder": "e5-small", "anchor_set": "alpha",
                               "max_anchors": None, "candidates": 64, "temperature": 1.0, "dim": 100, "window": 5,
                               "min_count": 2, "device": None},
                      summary="stand-in: FOCUS-style sparsemax over PPMI-SVD co-occurrence vectors, fvt fallback")
def _run_focus_ppmi(ctx: Context, opts: Mapping[str, Any]):
    return rows_and_provenance(ctx, _similarity_method(ctx, opts, "sparsemax", opts["candidates"], "focus_ppmi"))


@register_initializer("wechsel_e5", data=("encoder", "target_texts"),
                      options={"aux": "encoder", "target_texts": None, "encoder": "e5-small", "anchor_set": "alpha",
                               "max_anchors": None, "top_k": 10, "temperature": 0.1, "dim": 100, "window": 5,
                               "min_count": 2, "device": None},
                      summary="stand-in: WECHSEL-style top-k softmax over e5 surface similarities (no dictionary)")
def _run_wechsel_e5(ctx: Context, opts: Mapping[str, Any]):
    return rows_and_provenance(ctx, _similarity_method(ctx, opts, "softmax", opts["top_k"], "wechsel_e5"))
