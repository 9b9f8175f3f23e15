"""Paired bootstrap and approximate randomization with sacrebleu's semantics: BLEU/chrF, ratios of sums, means.

Example::

    >>> from paper_utils.stats.resampling import paired_bootstrap
    >>> r = paired_bootstrap([1, 0, 1, 0, 1, 1], [1, 1, 1, 0, 1, 1], "accuracy", n_samples=200)
    >>> r.test, r.n
    ('paired_bootstrap', 6)

* :func:`paired_bootstrap` (Koehn 2004; sacrebleu ``--paired-bs``: same index draws, same centred
  ``(c + 1) / (n + 1)`` p-value, default 1000 resamples) and :func:`approximate_randomization` (sacrebleu
  ``--paired-ar``: same swap masks, same p-value, default 10000 trials) for BLEU/chrF, and both also for
  ratios of sums (corpus bits per byte, :class:`~paper_utils.stats.metrics.RatioMetric`; both corpus values
  recomputed in every resample, see :mod:`.corpus_ratio`) and per-item means (accuracy). One departure: an observed difference of exactly 0 gives
  ``p = 1`` (sacrebleu reports ``1 / (n + 1)`` when every resample ties as well).
* :func:`bootstrap_ci` (percentile) and :func:`ci_or_nan`, the bootstrap interval the other tests attach.

The engines are vectorized and chunked over resamples to bound memory: at most :data:`CHUNK_ELEMENTS`
``rows * sentences`` per chunk; the chunking does not change the random stream or the result.
"""
from __future__ import annotations

import math

import numpy as np

from .inputs import DEFAULT_SEED, check_confidence, check_n_samples, rng_from_seed
from .metrics import paired_stats
from .results import ComparisonResult

__all__ = ["CHUNK_ELEMENTS", "approximate_randomization", "bootstrap_ci", "ci_or_nan", "paired_bootstrap"]

CHUNK_ELEMENTS = 1 << 22  # rows * sentences per resampling chunk (~32 MiB of float64)


def _bootstrap_sums(rng: np.random.Generator, n_samples: int, *stats: np.ndarray) -> list[np.ndarray]:
    """Summed statistics of ``n_samples`` paired bootstrap resamples, one array per input.

    Draws ``rng.choice(n, size=(n_samples, n), replace=True)`` exactly like sacrebleu (in row chunks, which
    yields the same stream), then sums via resample-count matrices: ``counts @ stats``.
    """
    n = stats[0].shape[0]
    out = [np.empty((n_samples, s.shape[1])) for s in stats]
    chunk = max(1, min(n_samples, CHUNK_ELEMENTS // n))
    for start in range(0, n_samples, chunk):
        c = min(chunk, n_samples - start)
        idx = rng.choice(n, size=(c, n), replace=True)
        flat = (idx + (np.arange(c) * n)[:, None]).ravel()
        counts = np.bincount(flat, minlength=c * n).reshape(c, n).astype(np.float64)
        for s, o in zip(stats, out):
            o[start:start + c] = counts @ s
    return out


def _bootstrap_deltas(rng, n_samples, m, sa, sb) -> np.ndarray:
    ra, rb = _bootstrap_sums(rng, n_samples, sa, sb)
    return m.score(rb) - m.score(ra)


def _percentile_ci(deltas: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    lo, hi = np.quantile(deltas, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def ci_or_nan(rng, ci_samples, confidence, m, sa, sb) -> tuple[float, float]:
    if ci_samples == 0:
        return math.nan, math.nan
    return _percentile_ci(_bootstrap_deltas(rng, ci_samples, m, sa, sb), confidence)


def _label(m, label: str | None) -> str:
    return label if label is not None else m.name


def paired_bootstrap(stats_a, stats_b, metric: object = "bleu", *, n_samples: int = 1000,
                     seed: int | None | np.random.Generator = DEFAULT_SEED, confidence: float = 0.95,
                     method_a: str = "a", method_b: str = "b", label: str | None = None) -> ComparisonResult:
    """Paired bootstrap resampling test (Koehn 2004) with sacrebleu ``--paired-bs`` semantics.

    Example::

        >>> r = paired_bootstrap([1, 0, 1, 0, 1, 1], [1, 1, 1, 0, 1, 1], "accuracy", n_samples=200)
        >>> round(r.delta, 4), r.test
        (0.1667, 'paired_bootstrap')

    ``stats_a``/``stats_b`` are per-sentence statistics (``CorpusMetric.sentence_stats``) for BLEU/chrF,
    per-item ``[numerator, denominator]`` for a :class:`~paper_utils.stats.metrics.RatioMetric`, or 1-D per-item
    values for ``metric="accuracy"`` (0/1), ``"bpb"`` (the per-document *mean*) or ``"mean"``. Like sacrebleu, the same
    ``n_samples`` index vectors (``rng.choice(n, (n_samples, n))`` with ``default_rng(seed)``) resample both
    systems; with ``d_i = |score_b* - score_a*|`` the p-value is ``(#{d_i - mean(d) > |delta|} + 1) /
    (n_samples + 1)``. The CI is the percentile interval of the signed resampled differences.
    One departure from sacrebleu: an observed difference of exactly 0 gives ``p = 1`` (sacrebleu's strict
    ``>`` gives ``1 / (n_samples + 1)`` when every resample ties too, e.g. two systems both at BLEU 0).
    """
    n_samples = check_n_samples("n_samples", n_samples)
    confidence = check_confidence(confidence)
    m, sa, sb = paired_stats(stats_a, stats_b, metric)
    rng = rng_from_seed(seed)
    delta = float(m.score(sb.sum(0)) - m.score(sa.sum(0)))
    deltas = _bootstrap_deltas(rng, n_samples, m, sa, sb)
    absd = np.abs(deltas)
    centred = absd - absd.mean()
    p = (int(np.sum(centred > abs(delta))) + 1) / (n_samples + 1) if delta else 1.0
    lo, hi = _percentile_ci(deltas, confidence)
    return ComparisonResult(_label(m, label), method_a, method_b, delta, lo, hi, p, "paired_bootstrap", len(sa),
                            statistic=m.statistic)


def approximate_randomization(stats_a, stats_b, metric: object = "bleu", *, n_samples: int = 10000,
                              seed: int | None | np.random.Generator = DEFAULT_SEED, ci_samples: int = 1000,
                              confidence: float = 0.95, method_a: str = "a", method_b: str = "b",
                              label: str | None = None, count_ties: bool = False) -> ComparisonResult:
    """Paired two-sided approximate randomization test with sacrebleu ``--paired-ar`` semantics.

    Example::

        >>> r = approximate_randomization([3.1, 2.9, 3.3], [2.8, 2.7, 3.0], "bpb", n_samples=500, ci_samples=0)
        >>> r.test, r.n
        ('approximate_randomization', 3)

    Each trial swaps the two systems' outputs sentence by sentence with probability 1/2 (masks drawn as
    ``rng.integers(2, (n_samples, n), dtype=bool)``, as sacrebleu); p-value ``(#{|score(A') - score(B')| >
    |delta|} + 1) / (n_samples + 1)``, and ``p = 1`` when ``delta`` is exactly 0 (no observed difference; the
    strict ``>`` would otherwise give ``1 / (n_samples + 1)`` for two identical systems). The CI
    (``ci_samples`` paired bootstrap resamples drawn after the masks, 0 to skip) is for the difference ``delta``.
    ``count_ties=True`` counts ``|score(A') - score(B')| >= |delta|`` (relative tolerance 1e-9) instead: the
    standard Monte Carlo permutation p-value, valid with few items, where whole-swap masks reproduce ``|delta|``
    exactly and the strict ``>`` would miss them (:mod:`.corpus_ratio` uses it).
    """
    n_samples = check_n_samples("n_samples", n_samples)
    ci_samples = check_n_samples("ci_samples", ci_samples, allow_zero=True)
    confidence = check_confidence(confidence)
    m, sa, sb = paired_stats(stats_a, stats_b, metric)
    rng = rng_from_seed(seed)
    n = sa.shape[0]
    delta = float(m.score(sb.sum(0)) - m.score(sa.sum(0)))
    mask = rng.integers(2, size=(n_samples, n), dtype=bool)
    diff = sa - sb
    base, total = sb.sum(0), sa.sum(0) + sb.sum(0)
    count = 0
    threshold = abs(delta) * (1 - 1e-9)
    chunk = max(1, min(n_samples, CHUNK_ELEMENTS // n))
    for start in range(0, n_samples, chunk):
        shuf_a = mask[start:start + chunk].astype(np.float64) @ diff + base
        shuf_b = total - shuf_a
        shuffled = np.abs(m.score(shuf_a) - m.score(shuf_b))
        count += int(np.sum(shuffled >= threshold if count_ties else shuffled > abs(delta)))
    p = (count + 1) / (n_samples + 1) if delta else 1.0
    lo, hi = ci_or_nan(rng, ci_samples, confidence, m, sa, sb)
    return ComparisonResult(_label(m, label), method_a, method_b, delta, lo, hi, p,
                            "approximate_randomization", n, statistic=m.statistic)


def bootstrap_ci(stats_a, stats_b, metric: object = "mean", *, n_samples: int = 1000,
                 seed: int | None | np.random.Generator = DEFAULT_SEED, confidence: float = 0.95
                 ) -> tuple[float, float, float]:
    """Percentile bootstrap interval for ``score(b) - score(a)``: returns ``(delta, ci_low, ci_high)``.

    Example::

        >>> d, lo, hi = bootstrap_ci([0.9, 1.1, 1.0, 1.2], [0.8, 1.0, 0.9, 1.0], "bpb", n_samples=500)
        >>> round(d, 3), lo <= d <= hi
        (-0.125, True)
    """
    n_samples = check_n_samples("n_samples", n_samples)
    confidence = check_confidence(confidence)
    m, sa, sb = paired_stats(stats_a, stats_b, metric)
    delta = float(m.score(sb.sum(0)) - m.score(sa.sum(0)))
    lo, hi = _percentile_ci(_bootstrap_deltas(rng_from_seed(seed), n_samples, m, sa, sb), confidence)
    return delta, lo, hi
