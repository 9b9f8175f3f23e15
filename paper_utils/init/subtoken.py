"""Initializers that need no auxiliary space: ``random``, ``mean`` and ``fvt`` (sub-token mean).

Example::

    >>> from paper_utils.registry import initializer
    >>> import paper_utils.init                       # registers the methods
    >>> [initializer(m).summary for m in ("random", "mean")]
    ['normal draws with the per-dimension mean and std of the base rows', 'mean of all base rows (Hewitt 2021)']
    >>> initializer("fvt").options
    {'device': None}

``fvt`` averages the rows of the token's sub-tokens under the base tokenizer (Gee et al. 2022); its
combination (:func:`paper_utils.init.common.fvt_mean`) is also every other method's fallback.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..registry import register_initializer
from .common import Combination, Context, fvt_mean, rows_and_provenance


def _mean(ctx: Context) -> Combination:
    import torch

    n = len(ctx.info.ids)
    return Combination(torch.zeros((n, 1), dtype=torch.long, device=ctx.device),
                       torch.zeros((n, 1), device=ctx.device), torch.ones(n, device=ctx.device), ["mean"] * n)


def _random_rows(ctx: Context, seed: int):
    import torch

    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    n = len(ctx.info.ids)
    out = []
    for w in (ctx.w_in, ctx.w_out):
        if w is None:
            out.append(None)
            continue
        mu, sd = w.mean(0).cpu(), w.std(0).cpu()
        out.append((torch.randn((n, w.shape[1]), generator=gen) * sd + mu).to(w.device))
    return out


# the registered initializers: every option with its default. ``encoder`` is a name for
# ``paper_utils.encoders.load_encoder`` or any object with ``encode(list[str]) -> (n, d) array``.

@register_initializer("random", options={"seed": 0, "device": None},
                      summary="normal draws with the per-dimension mean and std of the base rows")
def _run_random(ctx: Context, opts: Mapping[str, Any]):
    rows_in, rows_out = _random_rows(ctx, opts["seed"])
    prov = [{"id": i, "token": t, "surface": s, "rule": "random", "anchors": []}
            for i, t, s in zip(ctx.info.ids, ctx.info.tokens, ctx.info.surfaces)]
    return rows_in, rows_out, prov


@register_initializer("mean", options={"device": None}, summary="mean of all base rows (Hewitt 2021)")
def _run_mean(ctx: Context, opts: Mapping[str, Any]):
    return rows_and_provenance(ctx, _mean(ctx))


@register_initializer("fvt", options={"device": None}, summary="mean of the sub-token rows (Gee et al. 2022)")
def _run_fvt(ctx: Context, opts: Mapping[str, Any]):
    return rows_and_provenance(ctx, fvt_mean(ctx))
