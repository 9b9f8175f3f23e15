"""``salt``: SALT (Lee et al. 2025), regression from a pretrained model's token embeddings into the LLM's.

Example::

    >>> from paper_utils.registry import initializer
    >>> import paper_utils.init                       # registers the methods
    >>> opts = initializer("salt").options
    >>> opts["plm"], opts["regression"], opts["top_k"], opts["ridge"]
    ('e5-small', 'local', 8, 0.001)
    >>> initializer("salt_e5sentence").options["min_anchors"]      # the earlier stand-in, under its own name
    8

``salt`` (the paper's method, on multilingual-e5-small's token-embedding space, :mod:`.token_space`):

1. *Overlap*: the LLM's base tokens whose surface form (spaces as ``▁``) is also an e5 piece; each
   has an e5 vector ``x`` and an LLM row ``y``.
2. *New token*: its e5 vector is its own piece's vector when its surface is an e5 piece, else the
   mean of the vectors of the pieces e5's tokenizer splits it into (no piece: ``fvt`` fallback).
3. *Regression*: ``regression="local"`` (the paper's "unique regression line" per token): the
   ``top_k`` overlapping tokens most cosine-similar to the new token in e5 space, a ridge least
   squares from their ``x`` to their ``y``, applied to the new token's vector; in kernel form
   ``w = (X X^T + lambda I)^-1 X x`` and ``row = w @ Y``. ``regression="global"``: one ridge map
   ``B = (X^T X + lambda I)^-1 X^T Y`` fitted on the whole overlap, ``row = x B``. ``lambda`` is
   ``ridge`` times the mean eigenvalue of the Gram matrix inverted, so it does not depend on the
   scale of the vectors. No random draws: the result is a deterministic function of the inputs.

Defaults (``top_k=8``, ``ridge=1e-3``, local) were chosen on the Uzbek *dev* split (52 documents,
SmolLM2-135M, demo tokenizer; bits per byte): local k=4 4.454, k=8 4.332, k=16 4.566, k=32 (ridge
0.1) 5.324, k=64 (ridge 0.1) 6.643, global (ridge 0.01) 4.730, global (ridge 1) 4.621; fvt 4.181.
More neighbours fit the per-token map less well here (a 384-dimensional map from a few dozen points).

``salt_e5sentence`` keeps the study's earlier stand-in: anchors chosen by sparsemax over e5
*sentence* vectors of surface forms (at least ``min_anchors``), the same kernel ridge on those.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..errors import ConfigError
from ..registry import register_initializer
from .anchors import encode, encoder_space, query_texts, usable
from .common import (Combination, Context, provenance, rows_and_provenance, rows_of, sparsemax, topk_similar,
                     with_fallback)
from .token_space import TokenSpace, resolve_token_space

REGRESSIONS = ("local", "global")


# ------------------------------------------------------------------------------------------------
# the regression, on plain tensors

def scaled_ridge(gram, ridge: float) -> float:
    """``ridge`` times the mean eigenvalue (trace / size) of ``gram``: a scale-free ridge strength."""
    return float(ridge) * float(gram.diagonal(dim1=-2, dim2=-1).mean())


def fit_ridge(x, y, ridge: float):
    """``B`` minimizing ``|x B - y|^2 + lambda |B|^2`` (``lambda`` from :func:`scaled_ridge`); ``x`` (n, d), ``y`` (n, h)."""
    import torch

    gram = x.T @ x
    eye = torch.eye(gram.shape[0], dtype=x.dtype, device=x.device)
    return torch.linalg.solve(gram + scaled_ridge(gram, ridge) * eye, x.T @ y)


def local_weights(neighbours, queries, ridge: float):
    """Kernel weights ``w = (A A^T + lambda I)^-1 A q`` per query; ``neighbours`` (b, k, d), ``queries`` (b, d)."""
    import torch

    gram = neighbours @ neighbours.transpose(1, 2)
    lam = ridge * gram.diagonal(dim1=1, dim2=2).mean(-1)                  # per query, scale-free
    eye = torch.eye(gram.shape[1], dtype=gram.dtype, device=gram.device)
    rhs = (neighbours @ queries.unsqueeze(-1))
    return torch.linalg.solve(gram + lam[:, None, None] * eye, rhs).squeeze(-1)


# ------------------------------------------------------------------------------------------------
# the two sides of the regression

def overlap(ctx: Context, space: TokenSpace) -> tuple[np.ndarray, np.ndarray]:
    """``(base ids, piece ids)`` of the base tokens whose surface is a piece of ``space`` (specials excluded)."""
    special = ctx.special_ids()
    base, piece = [], []
    for i, surface in enumerate(ctx.base_surfaces()):
        if i in special or not usable(surface.strip()):
            continue
        pid = space.piece_id(surface)
        if pid is not None:
            base.append(i)
            piece.append(pid)
    return np.array(base, dtype=np.int64), np.array(piece, dtype=np.int64)


def new_token_vectors(ctx: Context, space: TokenSpace) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(vectors of the covered new tokens, their rows, how each new token got its vector)``."""
    vecs, rows, how = [], [], []
    for r, surface in enumerate(ctx.info.surfaces):
        vec, why = space.vector(surface) if usable(surface.strip()) else (None, "no usable surface form")
        how.append(why)
        if vec is not None:
            vecs.append(vec)
            rows.append(r)
    vectors = np.stack(vecs) if vecs else np.zeros((0, space.dim), dtype=np.float32)
    return vectors, np.array(rows, dtype=np.int64), how


def _check(opts: Mapping[str, Any], n_overlap: int | None = None, dim: int = 0) -> None:
    """Refuse an unknown ``regression``, or (given the overlap's size) an overlap too small for it."""
    if opts["regression"] not in REGRESSIONS:
        raise ConfigError("regression", opts["regression"], f"use one of: {', '.join(REGRESSIONS)}")
    if n_overlap is None:
        return
    if opts["regression"] == "local" and n_overlap < opts["top_k"]:
        raise ConfigError("top_k", opts["top_k"], f"the overlap between the LLM's and the PLM's vocabularies has "
                                                  f"{n_overlap} tokens; use top_k <= {n_overlap}")
    if opts["regression"] == "global" and n_overlap <= dim:
        raise ConfigError("regression", "global", f"a global map from {dim} dimensions needs more than {dim} "
                                                  f"overlapping tokens, the overlap has {n_overlap}; "
                                                  "use regression='local'")


# ------------------------------------------------------------------------------------------------
# salt

def _salt(ctx: Context, opts: Mapping[str, Any]):
    import torch

    _check(opts)
    space = resolve_token_space(opts["plm"])
    base_ids, piece_ids = overlap(ctx, space)
    _check(opts, len(base_ids), space.dim)
    queries, q_rows, how = new_token_vectors(ctx, space)
    n, dev = len(ctx.info.ids), ctx.device
    x = torch.as_tensor(np.asarray(space.vectors[piece_ids]), dtype=torch.float32, device=dev)
    q = torch.as_tensor(queries, dtype=torch.float32, device=dev)
    covered = np.zeros(n, dtype=bool)
    covered[q_rows] = True
    rules = [f"salt ({h})" if c else "" for h, c in zip(how, covered)]
    reason = "no e5 piece for the surface form"
    if opts["regression"] == "local":
        comb = _local(ctx, x, q, q_rows, base_ids, opts, rules)
        comb = with_fallback(ctx, comb, covered, reason)
        return rows_of(comb, ctx.w_in), None if ctx.w_out is None else rows_of(comb, ctx.w_out), provenance(ctx, comb)
    return _global(ctx, x, q, q_rows, base_ids, opts, rules, with_fallback(ctx, _empty(ctx, rules), covered, reason))


def _unit(t):
    return t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def _empty(ctx: Context, rules: list[str]) -> Combination:
    import torch

    n = len(ctx.info.ids)
    return Combination(torch.zeros((n, 1), dtype=torch.long, device=ctx.device),
                       torch.zeros((n, 1), device=ctx.device), torch.zeros(n, device=ctx.device), list(rules))


def _local(ctx, x, q, q_rows, base_ids, opts, rules) -> Combination:
    import torch

    n, k = len(ctx.info.ids), opts["top_k"]
    index = torch.zeros((n, k), dtype=torch.long, device=ctx.device)
    weight = torch.zeros((n, k), device=ctx.device)
    base_t = torch.as_tensor(base_ids, device=ctx.device)
    _, nearest = topk_similar(_unit(q), _unit(x), k)
    for s in range(0, len(q_rows), 512):
        idx = nearest[s:s + 512]
        rows = torch.as_tensor(q_rows[s:s + 512], device=ctx.device)
        index[rows] = base_t[idx]
        weight[rows] = local_weights(x[idx], q[s:s + 512], opts["ridge"])
    return Combination(index, weight, torch.zeros(n, device=ctx.device), rules)


def _global(ctx, x, q, q_rows, base_ids, opts, rules, fallback: Combination):
    """Rows ``q B`` for the covered tokens (``fallback`` rows elsewhere); provenance shows the 8 largest kernel weights."""
    import torch

    base_t = torch.as_tensor(base_ids, device=ctx.device)
    rows_t = torch.as_tensor(q_rows, device=ctx.device)
    gram = x.T @ x
    eye = torch.eye(gram.shape[0], device=ctx.device)
    mapped = q @ torch.linalg.inv(gram + scaled_ridge(gram, opts["ridge"]) * eye)   # kernel weights: x @ mapped[i]
    outs = []
    for matrix in (ctx.w_in, ctx.w_out):
        rows = None if matrix is None else rows_of(fallback, matrix)
        if rows is not None:
            rows[rows_t] = mapped @ (x.T @ matrix[base_t])           # = q @ fit_ridge(x, matrix[base_ids])
        outs.append(rows)
    vals, idx = topk_similar(mapped, x, min(8, len(base_ids)))
    width = max(fallback.index.shape[1], vals.shape[1])
    index = torch.nn.functional.pad(fallback.index, (0, width - fallback.index.shape[1]))
    weight = torch.nn.functional.pad(fallback.weight, (0, width - fallback.weight.shape[1]))
    index[rows_t], weight[rows_t] = 0, 0.0
    index[rows_t, :vals.shape[1]], weight[rows_t, :vals.shape[1]] = base_t[idx], vals
    records = provenance(ctx, Combination(index, weight, fallback.mean_weight, fallback.rule))
    for r, total in zip(q_rows.tolist(), (mapped @ x.sum(0)).tolist()):
        records[r].update(n_anchors=len(base_ids), weight_sum=round(total, 6))
    return outs[0], outs[1], records


@register_initializer("salt", options={"plm": "e5-small", "regression": "local", "top_k": 8, "ridge": 1e-3,
                                       "device": None},
                      summary="SALT: regression from e5 token embeddings (overlapping tokens) into the LLM's space")
def _run_salt(ctx: Context, opts: Mapping[str, Any]):
    return _salt(ctx, opts)


# ------------------------------------------------------------------------------------------------
# salt_e5sentence: the earlier stand-in (e5 sentence vectors of surface forms, sparsemax-chosen anchors)

def _salt_e5sentence(ctx: Context, opts: Mapping[str, Any]) -> Combination:
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
    rules = ["salt_e5sentence" if o else "" for o in covered]
    comb = Combination(index, weight, torch.zeros(n, device=ctx.device), rules)
    return with_fallback(ctx, comb, covered, "no usable surface form or no similar anchor")


@register_initializer("salt_e5sentence", data=("encoder",),
                      options={"encoder": "e5-small", "anchor_set": "alpha", "max_anchors": None, "candidates": 32,
                               "min_anchors": 8, "temperature": 0.05, "ridge": 0.1, "device": None},
                      summary="SALT stand-in: per-token ridge regression from e5 sentence vectors of surface forms")
def _run_salt_e5sentence(ctx: Context, opts: Mapping[str, Any]):
    return rows_and_provenance(ctx, _salt_e5sentence(ctx, opts))

