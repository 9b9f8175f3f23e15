"""Tests on paired per-item values: exact McNemar for 0/1 correctness, sign-flip permutation and Wilcoxon for
continuous values (per-document bits per byte).

Example::

    >>> from paper_utils.stats.exact import mcnemar_pvalue, paired_permutation
    >>> mcnemar_pvalue([[50, 3], [9, 38]])
    0.14599609375
    >>> paired_permutation([1.0, 1.2, 0.9, 1.1], [0.9, 1.0, 0.8, 1.0], ci_samples=0).test
    'paired_permutation_exact'

* :func:`mcnemar_exact` / :func:`mcnemar_pvalue` (equal to ``statsmodels ... mcnemar(table, exact=True)``),
* :func:`paired_permutation` (sign flipping, exact enumeration for small n, Monte Carlo beyond it),
* :func:`wilcoxon_signed_rank` (``scipy.stats.wilcoxon``).

Each attaches a percentile bootstrap interval of the difference
(:func:`~paper_utils.stats.resampling.ci_or_nan`, ``ci_samples=0`` to skip).
"""
from __future__ import annotations

from itertools import product

import numpy as np
from scipy import stats as _sps

from ..errors import ConfigError, DataError
from . import resampling
from .inputs import DEFAULT_SEED, check_confidence, check_n_samples, rng_from_seed
from .metrics import MeanMetric, paired_stats
from .resampling import ci_or_nan
from .results import ComparisonResult

__all__ = ["mcnemar_exact", "mcnemar_pvalue", "paired_permutation", "wilcoxon_signed_rank"]


def mcnemar_pvalue(table) -> float:
    """Exact McNemar p-value of a 2x2 table (equal to ``statsmodels ... mcnemar(table, exact=True).pvalue``).

    Example::

        >>> mcnemar_pvalue([[50, 3], [9, 38]])
        0.14599609375

    Only the discordant cells ``table[0][1]`` and ``table[1][0]`` matter: ``min(1, 2 * BinomCDF(min(b, c);
    b + c, 1/2))``; no discordant pair gives 1.
    """
    t = np.asarray(table, dtype=np.float64)
    if t.shape != (2, 2):
        raise DataError(f"McNemar needs a 2x2 contingency table, got shape {t.shape}")
    if not np.isfinite(t).all() or (t < 0).any() or (t != np.round(t)).any():
        raise DataError(f"McNemar table must hold non-negative integer counts, got {t.tolist()}")
    n1, n2 = t[0, 1], t[1, 0]
    pvalue = _sps.binom.cdf(np.minimum(n1, n2), int(n1 + n2), 0.5) * 2
    return float(np.minimum(pvalue, 1))


def mcnemar_exact(correct_a, correct_b, *, ci_samples: int = 1000,
                  seed: int | None | np.random.Generator = DEFAULT_SEED, confidence: float = 0.95,
                  method_a: str = "a", method_b: str = "b", label: str = "accuracy") -> ComparisonResult:
    """Exact McNemar test on paired per-item correctness (0/1 or bool), with a bootstrap CI for the accuracy gap.

    Example::

        >>> r = mcnemar_exact([1, 0, 0, 1, 0], [1, 1, 1, 1, 0], ci_samples=0)
        >>> r.delta, r.p_value
        (0.4, 0.5)

    The table is ``[[both right, only a right], [only b right, both wrong]]``.
    """
    ci_samples = check_n_samples("ci_samples", ci_samples, allow_zero=True)
    confidence = check_confidence(confidence)
    m = MeanMetric(label, binary=True, statistic="accuracy")
    m, sa, sb = paired_stats(correct_a, correct_b, m)
    a, b = sa[:, 0].astype(bool), sb[:, 0].astype(bool)
    table = [[int(np.sum(a & b)), int(np.sum(a & ~b))], [int(np.sum(~a & b)), int(np.sum(~a & ~b))]]
    p = mcnemar_pvalue(table)
    delta = float(b.mean() - a.mean())
    lo, hi = ci_or_nan(rng_from_seed(seed), ci_samples, confidence, m, sa, sb)
    return ComparisonResult(label, method_a, method_b, delta, lo, hi, p, "mcnemar_exact", len(a),
                            statistic=m.statistic)


def paired_permutation(values_a, values_b, *, n_samples: int = 10000, exact_max_n: int = 16,
                       seed: int | None | np.random.Generator = DEFAULT_SEED, ci_samples: int = 1000,
                       confidence: float = 0.95, method_a: str = "a", method_b: str = "b",
                       label: str = "bpb", statistic: str | None = None) -> ComparisonResult:
    """Two-sided paired permutation (sign-flipping) test of the mean difference ``mean(b - a)``.

    Example::

        >>> r = paired_permutation([1.0, 1.2, 0.9, 1.1], [0.9, 1.0, 0.8, 1.0], ci_samples=0)
        >>> r.test, r.p_value
        ('paired_permutation_exact', 0.125)

    With ``n <= exact_max_n`` all ``2**n`` sign patterns are enumerated and ``p = #{|T*| >= |T|} / 2**n``
    (test ``paired_permutation_exact``); otherwise ``n_samples`` random sign patterns and ``p = (#{|T*| >= |T|}
    + 1) / (n_samples + 1)``. Ties are judged with a relative tolerance of 1e-9, as in scipy.
    This tests the unweighted mean of per-item values: for bits per byte that is ``statistic =
    "mean_document_bpb"`` (the default for ``label="bpb"``), a secondary statistic; the corpus value the tables
    report is tested by :func:`~paper_utils.stats.corpus_ratio.paired_corpus_ratio`.
    """
    n_samples = check_n_samples("n_samples", n_samples)
    ci_samples = check_n_samples("ci_samples", ci_samples, allow_zero=True)
    if not isinstance(exact_max_n, (int, np.integer)) or isinstance(exact_max_n, bool) or not 0 <= exact_max_n <= 24:
        raise ConfigError("exact_max_n", exact_max_n, "use an integer between 0 and 24 (2**n patterns are enumerated)")
    confidence = check_confidence(confidence)
    m = MeanMetric(label, statistic=statistic)
    m, sa, sb = paired_stats(values_a, values_b, m)
    rng = rng_from_seed(seed)
    d = sb[:, 0] - sa[:, 0]
    n = d.shape[0]
    t_obs = abs(float(d.mean()))
    threshold = t_obs * (1 - 1e-9) if t_obs > 0 else -np.inf
    count, total = 0, 0
    if n <= exact_max_n:
        test = "paired_permutation_exact"
        signs_all = np.array(list(product((1.0, -1.0), repeat=n))) if n <= 12 else None
        if signs_all is not None:
            count = int(np.sum(np.abs(signs_all @ d / n) >= threshold))
        else:  # enumerate the patterns of the first 12 signs against each pattern of the rest
            head = np.array(list(product((1.0, -1.0), repeat=12)))
            partial = head @ d[:12]
            for tail in product((1.0, -1.0), repeat=n - 12):
                count += int(np.sum(np.abs((partial + np.dot(tail, d[12:])) / n) >= threshold))
        total = 2 ** n
        p = count / total
    else:
        test = "paired_permutation"
        chunk = max(1, min(n_samples, resampling.CHUNK_ELEMENTS // n))  # read at call time: one knob
        for start in range(0, n_samples, chunk):
            c = min(chunk, n_samples - start)
            signs = rng.integers(2, size=(c, n), dtype=np.int8) * 2 - 1
            count += int(np.sum(np.abs(signs.astype(np.float64) @ d / n) >= threshold))
        p = (count + 1) / (n_samples + 1)
    lo, hi = ci_or_nan(rng, ci_samples, confidence, m, sa, sb)
    return ComparisonResult(label, method_a, method_b, float(d.mean()), lo, hi, float(p), test, n,
                            statistic=m.statistic)


def wilcoxon_signed_rank(values_a, values_b, *, ci_samples: int = 1000,
                         seed: int | None | np.random.Generator = DEFAULT_SEED, confidence: float = 0.95,
                         method_a: str = "a", method_b: str = "b", label: str = "bpb",
                         statistic: str | None = None, **scipy_kwargs) -> ComparisonResult:
    """Two-sided Wilcoxon signed-rank test on ``b - a`` (``scipy.stats.wilcoxon``), delta = mean difference.

    Example::

        >>> r = wilcoxon_signed_rank([1.0, 1.2, 0.9, 1.1, 1.3], [0.9, 1.0, 0.8, 1.0, 1.1], ci_samples=0)
        >>> r.p_value
        0.0625

    All-zero differences give p = 1 (scipy would return NaN). ``scipy_kwargs`` (``zero_method``, ``method``,
    ...) go to scipy unchanged; the CI is a percentile bootstrap interval of the mean difference.
    """
    ci_samples = check_n_samples("ci_samples", ci_samples, allow_zero=True)
    confidence = check_confidence(confidence)
    m = MeanMetric(label, statistic=statistic)
    m, sa, sb = paired_stats(values_a, values_b, m)
    d = sb[:, 0] - sa[:, 0]
    p = 1.0 if not np.any(d) else float(_sps.wilcoxon(d, **scipy_kwargs).pvalue)
    lo, hi = ci_or_nan(rng_from_seed(seed), ci_samples, confidence, m, sa, sb)
    return ComparisonResult(label, method_a, method_b, float(d.mean()), lo, hi, p, "wilcoxon_signed_rank",
                            len(d), statistic=m.statistic)
