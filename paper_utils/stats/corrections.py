"""Multiple-comparison correction: Holm and Benjamini-Hochberg adjusted p-values for a family of comparisons.

Example::

    >>> from paper_utils.stats.corrections import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04], "bh").tolist()
    [0.02, 0.04]

:func:`adjust_pvalues` equals ``statsmodels.stats.multitest.multipletests(p, method="holm"|"fdr_bh")[1]``;
:func:`correct` fills ``p_adjusted`` of :class:`~paper_utils.stats.results.ComparisonResult` records, one family;
:func:`correct_primary` corrects over the primary statistics only (``corpus_bpb``, ``corpus_chrf2++``,
``accuracy``, ...) and leaves ``p_adjusted`` empty on labelled secondary rows (``mean_document_bpb``,
``corpus_bleu``), which are reported but are not part of the family a claim rests on.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from .results import ComparisonResult

__all__ = ["adjust_pvalues", "correct", "correct_primary"]

_CORRECTIONS = {"holm": "holm", "bh": "bh", "fdr_bh": "bh", "benjamini-hochberg": "bh"}


def adjust_pvalues(pvalues: Iterable[float], method: str = "holm") -> np.ndarray:
    """Holm or Benjamini-Hochberg adjusted p-values (equal to ``multipletests(p, method="holm"|"fdr_bh")[1]``).

    Example::

        >>> adjust_pvalues([0.01, 0.04, 0.03], "holm").tolist()
        [0.03, 0.06, 0.06]
    """
    key = _CORRECTIONS.get(method.lower() if isinstance(method, str) else method)
    if key is None:
        raise ConfigError("method", method, "use 'holm' or 'bh' (Benjamini-Hochberg)")
    p = np.asarray(list(pvalues), dtype=np.float64)
    if p.ndim != 1:
        raise DataError(f"p-values must be a flat sequence, got shape {p.shape}")
    if p.size == 0:
        return p
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise DataError(f"p-values must lie in [0, 1] and not be NaN, got {p.tolist()}")
    order = np.argsort(p)
    ps = np.take(p, order)
    m = len(ps)
    if key == "holm":
        adj = np.maximum.accumulate(ps * np.arange(m, 0, -1))
    else:
        adj = np.minimum.accumulate((ps / (np.arange(1, m + 1) / float(m)))[::-1])[::-1]
    adj[adj > 1] = 1
    out = np.empty_like(adj)
    out[order] = adj
    return out


def correct(results: Sequence[ComparisonResult], method: str = "holm") -> list[ComparisonResult]:
    """Copies of ``results`` with ``p_adjusted`` filled, correcting across all of them (one family).

    Example::

        >>> rs = [ComparisonResult("BLEU", "a", "b", 1.0, 0.0, 2.0, p, "paired_bootstrap", 9) for p in (0.01, 0.04)]
        >>> [r.p_adjusted for r in correct(rs, "bh")]
        [0.02, 0.04]
    """
    results = list(results)
    adjusted = adjust_pvalues([r.p_value for r in results], method)
    return [replace(r, p_adjusted=float(q)) for r, q in zip(results, adjusted)]


def correct_primary(results: Sequence[ComparisonResult], method: str = "holm") -> list[ComparisonResult]:
    """Copies of ``results``: ``p_adjusted`` over the primary rows as one family; secondary rows keep NaN.

    Example::

        >>> rs = [ComparisonResult("bpb", "a", "b", -0.1, -0.2, 0.0, p, "approximate_randomization", 9,
        ...                        statistic=s) for p, s in ((0.01, "corpus_bpb"), (0.02, "mean_document_bpb"),
        ...                                                  (0.04, "corpus_bpb"))]
        >>> [r.p_adjusted for r in correct_primary(rs)]
        [0.02, nan, 0.04]

    A row is secondary when its ``statistic`` is in :data:`~paper_utils.stats.results.SECONDARY_STATISTICS`
    (:attr:`ComparisonResult.primary`); the order of the rows is kept.
    """
    adjust_pvalues([], method)                        # an unknown method is refused even with no primary row
    results = list(results)
    primary = [i for i, r in enumerate(results) if r.primary]
    corrected = correct([results[i] for i in primary], method) if primary else []
    out = list(results)
    for i, r in zip(primary, corrected):
        out[i] = r
    return out
