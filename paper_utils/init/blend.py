"""``blend``: ``weight x fvt rows + (1 - weight) x rows of another registered method`` (the anchoring ablation).

Example::

    >>> from paper_utils.registry import initializer
    >>> import paper_utils.init                       # registers the methods
    >>> sorted(initializer("blend").options)
    ['device', 'weight', 'with_method', 'with_options']

``bxod``'s ``subtoken_weight`` mixes fvt into bxod's own rows (``bxod_sub75`` = 0.75 fvt + 0.25 anchoring).
To tell whether *anchoring* helps, or any rows pulled toward fvt would, every other method gets the same
blend: ``blend`` runs ``with_method`` (with ``with_options``, checked and completed with its defaults by
:func:`paper_utils.init.initialize`) on the same :class:`~paper_utils.init.common.Context` as fvt and returns
``weight * fvt + (1 - weight) * rows`` for the input matrix (and the untied output matrix). A grid label
``fvt+<label>`` names this ablation (:mod:`paper_utils.tuning`); the presets use one weight for every method,
the one chosen for bxod on the dev split.

Provenance per row, as the other methods record it: the anchors of both parts with their weights scaled by
the shares (fvt's sub-tokens by ``weight``, the other method's anchors by ``1 - weight``), a ``rule`` naming
both parts, and the other method's own rule and translation.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..registry import initializer, register_initializer
from .common import Context, fvt_mean, rows_and_provenance

TOP_ANCHORS = 8


def _mixed(a, b, weight: float):
    return None if a is None else weight * a + (1 - weight) * b


def _record(fvt: Mapping[str, Any], other: Mapping[str, Any], weight: float, method: str) -> dict[str, Any]:
    shares: dict[str, float] = {}
    for part, share in ((fvt, weight), (other, 1 - weight)):
        for surface, w in part.get("anchors") or []:
            shares[surface] = shares.get(surface, 0.0) + share * w
    top = sorted(shares.items(), key=lambda kv: -abs(kv[1]))[:TOP_ANCHORS]
    rec = {"id": fvt["id"], "token": fvt["token"], "surface": fvt["surface"],
           "rule": f"{weight:g} x {fvt.get('rule', 'fvt')} + {1 - weight:g} x {method} ({other.get('rule', '')})",
           "anchors": [[s, round(w, 4)] for s, w in top], "n_anchors": len(shares), "fvt_weight": weight,
           "with_rule": other.get("rule", "")}
    if other.get("translation"):
        rec["translation"] = other["translation"]
    return rec


@register_initializer("blend", options={"with_method": "mean", "with_options": {}, "weight": 0.5, "device": None},
                      summary="weight x fvt rows + (1 - weight) x rows of another method (anchoring ablation)")
def _run_blend(ctx: Context, opts: Mapping[str, Any]):
    method, weight = opts["with_method"], float(opts["weight"])
    other_in, other_out, other_prov = initializer(method).run(ctx, opts["with_options"])
    fvt_in, fvt_out, fvt_prov = rows_and_provenance(ctx, fvt_mean(ctx))
    rows_in = _mixed(fvt_in, other_in.to(fvt_in), weight)
    rows_out = _mixed(fvt_out, None if other_out is None else other_out.to(fvt_out), weight)
    return rows_in, rows_out, [_record(f, o, weight, method) for f, o in zip(fvt_prov, other_prov)]
