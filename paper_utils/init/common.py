"""What every initializer shares: the context of one call and combinations of base rows (batched torch).

Example::

    >>> import torch
    >>> from paper_utils.init.common import sparsemax
    >>> sparsemax(torch.tensor([[2.0, 1.0, -1.0]])).tolist()      # sparse, sums to 1
    [[1.0, 0.0, 0.0]]

Every method but ``random`` returns a :class:`Combination`: for each new token, base ids with
weights (plus a weight on the mean of all base rows for fallbacks). Rows are computed from it for
the input matrix and, with the same weights, for an untied output matrix (:func:`rows_and_provenance`).
Similarities are chunked matrix products with ``topk``; nothing loops in Python over the base
vocabulary except building the anchor strings once (:mod:`paper_utils.init.anchors`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..surfaces import surface_forms

CHUNK_ELEMENTS = 1 << 25          # similarity entries per chunk (~128 MiB of float32)


# ------------------------------------------------------------------------------------------------
# building blocks

def sparsemax(z):
    """Sparsemax along the last dimension (Martins & Astudillo 2016): a sparse probability vector."""
    import torch

    zs, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
    cssv = zs.cumsum(-1) - 1
    support = (zs - cssv / k) > 0
    k_z = support.sum(-1, keepdim=True).clamp(min=1)
    tau = cssv.gather(-1, k_z - 1) / k_z.to(z.dtype)
    return torch.clamp(z - tau, min=0)


@dataclass
class Combination:
    """Per new token: ``row = sum_k weight[k] * W[index[k]] + mean_weight * mean(W)``."""

    index: Any                    # LongTensor (n, K), base ids
    weight: Any                   # Tensor (n, K); padding entries have weight 0
    mean_weight: Any              # Tensor (n,)
    rule: list[str] = field(default_factory=list)      # per token, e.g. "fvt", "anchors", "fvt (fallback: ...)"

    @property
    def n(self) -> int:
        return int(self.index.shape[0])


def _padded(lists: Sequence[Sequence[int]], weights: Sequence[Sequence[float]], device):
    import torch

    width = max([1] + [len(x) for x in lists])
    index = torch.zeros((len(lists), width), dtype=torch.long)
    weight = torch.zeros((len(lists), width), dtype=torch.float32)
    for r, (ids, ws) in enumerate(zip(lists, weights)):
        if ids:
            index[r, :len(ids)] = torch.tensor(list(ids), dtype=torch.long)
            weight[r, :len(ids)] = torch.tensor(list(ws), dtype=torch.float32)
    return index.to(device), weight.to(device)


def uniform(pieces: Sequence[Sequence[int]], device, rule: str) -> Combination:
    """Mean of each token's pieces; tokens without pieces fall back to the mean of all rows."""
    import torch

    index, weight = _padded(pieces, [[1.0 / len(p)] * len(p) if p else [] for p in pieces], device)
    empty = torch.tensor([not p for p in pieces], device=device)
    return Combination(index, weight, empty.float(),
                       [rule if p else "mean (fallback: no sub-tokens)" for p in pieces])


def blend(parts: Sequence[tuple[Combination, Any]]) -> Combination:
    """``sum_i share_i * part_i`` with per-token shares (tensors of shape (n,), or floats)."""
    import torch

    n = parts[0][0].n
    device = parts[0][0].index.device
    shares = [s if torch.is_tensor(s) else torch.full((n,), float(s), device=device) for _, s in parts]
    index = torch.cat([c.index for c, _ in parts], dim=1)
    weight = torch.cat([c.weight * s[:, None] for (c, _), s in zip(parts, shares)], dim=1)
    mean_weight = sum(c.mean_weight * s for (c, _), s in zip(parts, shares))
    rule = []
    for r in range(n):
        used = [c.rule[r] for (c, _), s in zip(parts, shares) if float(s[r]) > 0 and c.rule]
        rule.append(" + ".join(dict.fromkeys(used)) if used else "")
    return Combination(index, weight, mean_weight, rule)


def rows_of(comb: Combination, matrix, chunk: int = 1024):
    """Rows ``(n, hidden)`` of a combination over ``matrix`` (base rows only)."""
    import torch

    mean = matrix.mean(0)
    out = torch.empty((comb.n, matrix.shape[1]), dtype=matrix.dtype, device=matrix.device)
    for s in range(0, comb.n, chunk):
        idx, w = comb.index[s:s + chunk], comb.weight[s:s + chunk].to(matrix.dtype)
        out[s:s + chunk] = torch.einsum("nk,nkd->nd", w, matrix[idx]) + comb.mean_weight[s:s + chunk, None].to(matrix.dtype) * mean
    return out


def topk_similar(queries, anchors, k: int):
    """``(values, indices)`` of the ``k`` most similar anchors (dot products) for each query, chunked."""
    import torch

    n, m = queries.shape[0], anchors.shape[0]
    k = min(k, m)
    values = torch.empty((n, k), dtype=torch.float32, device=queries.device)
    indices = torch.empty((n, k), dtype=torch.long, device=queries.device)
    step = max(1, CHUNK_ELEMENTS // max(m, 1))
    for s in range(0, n, step):
        v, i = (queries[s:s + step] @ anchors.T).topk(k, dim=1)
        values[s:s + step], indices[s:s + step] = v, i
    return values, indices


def weigh(values, weighting: str, temperature: float):
    import torch

    z = values / temperature
    return torch.softmax(z, dim=-1) if weighting == "softmax" else sparsemax(z)



# ------------------------------------------------------------------------------------------------
# context shared by the methods

@dataclass
class Context:
    info: Any                      # tokens.NewTokens
    base_tokenizer: Any
    extended_tokenizer: Any
    w_in: Any                      # base rows only (base_vocab_size, hidden), float32
    w_out: Any                     # same for an untied head, else None
    device: Any
    _base: dict = field(default_factory=dict)

    def base_surfaces(self) -> list[str]:
        """Surface form of every base id (index = id)."""
        if "surfaces" not in self._base:
            tokens = self.base_tokenizer.convert_ids_to_tokens(list(range(self.info.base_vocab_size)))
            tokens = [t if t is not None else "" for t in tokens]
            added = {i: a.content for i, a in getattr(self.base_tokenizer, "added_tokens_decoder", {}).items()}
            surfaces = surface_forms(self.base_tokenizer, tokens)
            self._base["surfaces"] = [added.get(i, s) for i, s in enumerate(surfaces)]
            self._base["special"] = set(self.base_tokenizer.all_special_ids) | set(added)
        return self._base["surfaces"]

    def special_ids(self) -> set[int]:
        self.base_surfaces()
        return self._base["special"]


# ------------------------------------------------------------------------------------------------
# combinations the method families share

def fvt_mean(ctx: Context, rule: str = "fvt") -> Combination:
    """``fvt``: the mean of each new token's base sub-token rows (every method's fallback)."""
    return uniform(ctx.info.pieces, ctx.device, rule)


def anchored_combination(ctx: Context, queries, q_rows: np.ndarray, anchor_vecs, a_ids: np.ndarray, *, k: int,
                         weighting: str, temperature: float,
                         groups: Sequence[tuple[np.ndarray, np.ndarray]] | None = None, rule: str) -> Combination:
    """Top-k similarity combination for the rows ``q_rows`` of the new tokens (others get weight 0)."""
    import torch

    n = len(ctx.info.ids)
    k_eff = min(k, len(a_ids))
    index = torch.zeros((n, k_eff), dtype=torch.long, device=ctx.device)
    weight = torch.zeros((n, k_eff), device=ctx.device)
    a_ids_t = torch.as_tensor(a_ids, device=ctx.device)
    groups = groups or [(np.ones(len(q_rows), dtype=bool), np.ones(len(a_ids), dtype=bool))]
    for q_mask, a_mask in groups:
        sel = np.flatnonzero(q_mask)
        if not len(sel):
            continue
        if not a_mask.any():
            a_mask = np.ones(len(a_ids), dtype=bool)
        a_sel = np.flatnonzero(a_mask)
        vals, idx = topk_similar(queries[sel], anchor_vecs[a_sel], k_eff)
        w = weigh(vals, weighting, temperature)
        rows = torch.as_tensor(q_rows[sel], device=ctx.device)
        kk = vals.shape[1]
        index[rows, :kk] = a_ids_t[torch.as_tensor(a_sel, device=ctx.device)[idx]]
        weight[rows, :kk] = w
    rules = [""] * n
    for r in q_rows:
        rules[int(r)] = rule
    return Combination(index, weight, torch.zeros(n, device=ctx.device), rules)


def with_fallback(ctx: Context, comb: Combination, covered: np.ndarray, reason: str) -> Combination:
    """Rows not ``covered`` take FVT (recorded as a fallback)."""
    import torch

    cov = torch.as_tensor(covered, dtype=torch.float32, device=ctx.device)
    return blend([(comb, cov), (fvt_mean(ctx, f"fvt (fallback: {reason})"), 1 - cov)])


def provenance(ctx: Context, comb: Combination, top: int = 8, translation=None) -> list[dict]:
    """Per-token record: id, token, surface, rule, the ``top`` anchors by |weight| (surface, weight)."""
    surfaces = ctx.base_surfaces()
    index, weight, mean_w = comb.index.tolist(), comb.weight.tolist(), comb.mean_weight.tolist()
    out = []
    for r, (tid, tok, surf) in enumerate(zip(ctx.info.ids, ctx.info.tokens, ctx.info.surfaces)):
        agg: dict[int, float] = {}
        for i, w in zip(index[r], weight[r]):
            if w != 0:
                agg[i] = agg.get(i, 0.0) + w
        anchors = sorted(agg.items(), key=lambda kv: -abs(kv[1]))[:top]
        rec = {"id": tid, "token": tok, "surface": surf, "rule": comb.rule[r] if comb.rule else "",
               "anchors": [[surfaces[i], round(w, 4)] for i, w in anchors], "n_anchors": len(agg),
               "weight_sum": round(sum(agg.values()) + mean_w[r], 6)}
        if mean_w[r]:
            rec["anchors"].append(["<mean of all rows>", round(mean_w[r], 4)])
        if translation is not None and translation[r]:
            rec["translation"] = translation[r]
        out.append(rec)
    return out


def rows_and_provenance(ctx: Context, comb: Combination):
    rows_in = rows_of(comb, ctx.w_in)
    rows_out = None if ctx.w_out is None else rows_of(comb, ctx.w_out)
    return rows_in, rows_out, provenance(ctx, comb, translation=getattr(comb, "translation", None))
