"""``salt``: SALT-style per-token ridge regression from the encoder space to the embedding space.

Example::

    >>> from paper_utils.registry import initializer
    >>> import paper_utils.init                       # registers the methods
    >>> initializer("salt").options["ridge"], initializer("salt").options["min_anchors"]
    (0.1, 8)

Anchors are chosen by sparsemax over encoder similarities (at least ``min_anchors``); a ridge
regression fitted on those anchors is applied to the new token's vector. In kernel form this is
``w = (K + ridge I)^-1 k(x)`` and ``row = w @ W[anchors]``, batched.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..registry import register_initializer
from .anchors import encode, encoder_space, query_texts
from .common import Combination, Context, rows_and_provenance, sparsemax, topk_similar, with_fallback


def _salt(ctx: Context, opts: Mapping[str, Any]) -> Combination:
    import torch

    encoder, a_ids, a_vecs, _ = encoder_space(ctx, opts)
    texts, ok = query_texts(ctx)
    q_rows = np.flatnonzero(ok)
    n = len(ctx.info.ids)
    c = min(opts["candidates"], len(a_ids))
    index = torch.zeros((n, c), dtype=torch.long, device=ctx.device)
    weight = torch.zeros((n, c), device=ctx.device)
    a_ids_t = torch.as_tensor(a_ids, device=ctx.device)
    queries = encode(encoder, [texts[r] for r in q_rows], ctx.device)
    vals, idx = topk_similar(queries, a_vecs, c)
    rank = torch.arange(c, device=ctx.device)
    step = 512
    for s in range(0, len(q_rows), step):
        v, ix = vals[s:s + step], idx[s:s + step]
        mask = (sparsemax(v / opts["temperature"]) > 0) | (rank < min(opts["min_anchors"], c))
        m = mask.float()
        A = a_vecs[ix]                                               # (b, c, q)
        K = A @ A.transpose(1, 2) * (m[:, :, None] * m[:, None, :])
        K = K + torch.diag_embed(opts["ridge"] + (1 - m))
        w = torch.linalg.solve(K, (v * m).unsqueeze(-1)).squeeze(-1) * m
        rows = torch.as_tensor(q_rows[s:s + step], device=ctx.device)
        index[rows] = a_ids_t[ix]
        weight[rows] = w
    covered = ok.copy()
    covered[ok] = (weight[torch.as_tensor(q_rows, device=ctx.device)].abs().sum(-1) > 1e-6).cpu().numpy()
    rules = ["salt" if o else "" for o in covered]
    comb = Combination(index, weight, torch.zeros(n, device=ctx.device), rules)
    return with_fallback(ctx, comb, covered, "no usable surface form or no similar anchor")


@register_initializer("salt", data=("encoder",),
                      options={"encoder": "e5-small", "anchor_set": "alpha", "max_anchors": None, "candidates": 32,
                               "min_anchors": 8, "temperature": 0.05, "ridge": 0.1, "device": None},
                      summary="SALT-style per-token ridge regression from encoder space to embedding space")
def _run_salt(ctx: Context, opts: Mapping[str, Any]):
    return rows_and_provenance(ctx, _salt(ctx, opts))
