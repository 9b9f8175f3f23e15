"""Convergence of held-out curves: steps to reach a level, area under the curve, seed spread, paired tests.

Example::

    >>> steps, bpb = [0, 10, 20, 30], [4.0, 3.6, 3.2, 3.0]                # one run's logged held-out bpb
    >>> steps_to_reach(steps, bpb, 3.5), steps_to_reach(steps, bpb, 2.0)
    (20, None)
    >>> round(area_under_curve(steps, bpb), 6)                             # (3.8 + 3.4 + 3.1) * 10 / 30
    3.433333
    >>> spread = seed_spread([3.0, 3.2, 3.4])
    >>> spread["n"], round(spread["mean"], 6), round(spread["sd"], 6), spread["min"], spread["max"]
    (3, 3.2, 0.2, 3.0, 3.4)

A run logs its held-out bits per byte at steps ``0 = s_0 < s_1 < ... < s_m`` (:mod:`paper_utils.train.loop`).

* :func:`steps_to_reach` -- the first logged step whose bpb is at or below a level (the base model's bpb:
  ``steps_to_base_bpb``), ``None`` when no logged step reaches it (callers keep a ``reached`` flag beside it).
* :func:`area_under_curve` -- trapezoid rule over the logged steps, **divided by the step span** ``s_m - s_0``:
  the curve's mean bpb over training, in bits per byte (lower: the run sat lower for longer). Runs compared on it
  must share their logged steps (same preset).
* :func:`curve_metrics` -- final bpb, area, steps to reach the base model's bpb and the flag, for one run.
* :func:`seed_spread` -- n, mean, sd (``ddof=1``; NaN for one seed), min and max over seeds.
* :func:`compare_auc` -- the paired test over seeds (same seed = same data order, so a pair differs only by the
  initialization): exact sign-flip permutation of the per-seed area difference, ``statistic`` ``auc_heldout_bpb``.
  With 3 seeds the smallest attainable two-sided p-value is 2 / 2**3 = 0.25, so it cannot reject at 0.05: it is a
  labelled secondary statistic (outside the Holm family, :data:`paper_utils.stats.SECONDARY_STATISTICS`).
* :func:`compare_at_step` -- the document-level paired test at one logged step: each document's bits summed over
  the seeds both methods ran, corpus bpb ``sum(bits) / sum(bytes)`` (the mean over seeds of the corpus bpb),
  paired approximate randomization and bootstrap over documents
  (:func:`~paper_utils.stats.corpus_ratio.paired_corpus_ratio`), ``statistic`` ``corpus_bpb_at_step``: primary.

Sign convention (the repo's): ``delta = value(method_b) - value(method_a)``; negative: ``method_b`` lower (better).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..errors import DataError
from .corpus_ratio import paired_corpus_ratio
from .exact import paired_permutation
from .inputs import DEFAULT_SEED
from .results import ComparisonResult

__all__ = ["AUC_BPB", "CORPUS_BPB_AT_STEP", "area_under_curve", "compare_at_step", "compare_auc", "curve_metrics",
           "seed_spread", "steps_to_reach"]

AUC_BPB = "auc_heldout_bpb"                 # area under the held-out curve / step span; paired over seeds
CORPUS_BPB_AT_STEP = "corpus_bpb_at_step"   # corpus bpb at one logged step; paired over documents


def _curve(steps: Sequence[float], bpb: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    s, b = np.asarray(steps, dtype=np.float64), np.asarray(bpb, dtype=np.float64)
    if s.ndim != 1 or s.shape != b.shape or s.size == 0:
        raise DataError(f"a held-out curve needs as many steps as bpb values, at least one ({s.size} steps, "
                        f"{b.size} values)")
    if np.any(np.diff(s) <= 0):
        raise DataError(f"the logged steps must increase strictly, got {s.tolist()}")
    if not np.isfinite(b).all():
        raise DataError(f"a held-out bpb value is not finite: {b.tolist()}")
    return s, b


def steps_to_reach(steps: Sequence[int], bpb: Sequence[float], level: float | None) -> int | None:
    """First logged step whose bpb is ``<= level``; ``None`` when none is (or ``level`` is None)."""
    s, b = _curve(steps, bpb)
    if level is None:
        return None
    hit = np.flatnonzero(b <= level)
    return int(s[hit[0]]) if hit.size else None


def area_under_curve(steps: Sequence[int], bpb: Sequence[float]) -> float:
    """Trapezoid area under bpb vs step divided by the step span (a single point: its bpb)."""
    s, b = _curve(steps, bpb)
    if s.size == 1:
        return float(b[0])
    return float(np.sum((b[1:] + b[:-1]) / 2 * np.diff(s)) / (s[-1] - s[0]))


def curve_metrics(steps: Sequence[int], bpb: Sequence[float], base_bpb: float | None) -> dict:
    """``final_bpb``, ``auc_bpb``, ``steps_to_base_bpb`` (None: never), ``reached_base``, the steps' span.

    Example::

        >>> m = curve_metrics([0, 10, 20], [4.0, 3.9, 3.8], base_bpb=3.5)
        >>> m["final_bpb"], m["steps_to_base_bpb"], m["reached_base"], m["last_step"]
        (3.8, None, False, 20)
    """
    s, b = _curve(steps, bpb)
    reach = steps_to_reach(s, b, base_bpb)
    return {"final_bpb": float(b[-1]), "auc_bpb": area_under_curve(s, b), "steps_to_base_bpb": reach,
            "reached_base": reach is not None, "first_step": int(s[0]), "last_step": int(s[-1]), "points": int(s.size)}


def seed_spread(values: Sequence[float | None]) -> dict:
    """``n``, ``mean``, ``sd`` (ddof=1, NaN when n < 2), ``min``, ``max`` of the non-None values (NaN when none)."""
    x = np.asarray([v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))],
                   dtype=np.float64)
    if x.size == 0:
        return {"n": 0, "mean": math.nan, "sd": math.nan, "min": math.nan, "max": math.nan}
    return {"n": int(x.size), "mean": float(x.mean()), "sd": float(x.std(ddof=1)) if x.size > 1 else math.nan,
            "min": float(x.min()), "max": float(x.max())}


def compare_auc(auc_a: Sequence[float], auc_b: Sequence[float], *, method_a: str = "a", method_b: str = "b",
                ci_samples: int = 1000, seed: int | None | np.random.Generator = DEFAULT_SEED,
                label: str = "heldout bpb AUC") -> ComparisonResult:
    """Exact paired sign-flip permutation over seeds of the area under the held-out curve (``auc_a[i]`` and
    ``auc_b[i]``: the same seed).

    Example::

        >>> r = compare_auc([3.5, 3.6, 3.4], [3.3, 3.5, 3.2], method_a="fvt", method_b="bxod", ci_samples=0)
        >>> r.statistic, round(r.delta, 6), r.p_value, r.test, r.n
        ('auc_heldout_bpb', -0.166667, 0.25, 'paired_permutation_exact', 3)
    """
    if len(auc_a) < 2:
        raise DataError(f"{label}: {len(auc_a)} paired seed(s); a paired test over seeds needs at least 2")
    return paired_permutation(auc_a, auc_b, ci_samples=ci_samples, seed=seed, method_a=method_a, method_b=method_b,
                              label=label, statistic=AUC_BPB)


def compare_at_step(bits_a: Sequence[Sequence[float]], bits_b: Sequence[Sequence[float]], document_bytes: Sequence[int],
                    *, step: int, method_a: str = "a", method_b: str = "b", n_samples: int = 10000,
                    ci_samples: int = 1000, seed: int | None | np.random.Generator = DEFAULT_SEED) -> ComparisonResult:
    """Corpus bpb at logged ``step``, paired over documents; ``bits_*[i]``: seed i's per-document bits.

    Example::

        >>> r = compare_at_step([[30.0, 40.0], [32.0, 38.0]], [[25.0, 41.0], [27.0, 36.0]], [10, 10], step=50,
        ...                     n_samples=100, ci_samples=0, method_a="fvt", method_b="bxod")
        >>> r.statistic, r.metric, round(r.delta, 4), r.n
        ('corpus_bpb_at_step', 'heldout bpb @ step 50', -0.275, 2)

    The seeds' bits are summed per document (the same seeds for both methods, the same documents in the same
    order), so the value is the mean over seeds of each method's corpus bpb and the unit resampled is a document.
    """
    a, b = np.asarray(bits_a, dtype=np.float64), np.asarray(bits_b, dtype=np.float64)
    n_bytes = np.asarray(document_bytes, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape or a.shape[0] == 0 or a.shape[1] != n_bytes.size:
        raise DataError(f"held-out bpb @ step {step}: {method_a} has bits of shape {a.shape}, {method_b} {b.shape}, "
                        f"{n_bytes.size} documents; give both methods the same seeds' per-document bits")
    seeds = a.shape[0]
    return paired_corpus_ratio(a.sum(axis=0), n_bytes * seeds, b.sum(axis=0), n_bytes * seeds, n_samples=n_samples,
                               ci_samples=ci_samples, seed=seed, method_a=method_a, method_b=method_b,
                               label=f"heldout bpb @ step {step}", statistic=CORPUS_BPB_AT_STEP)
