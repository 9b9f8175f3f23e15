"""Paired tests on a ratio-of-sums corpus metric (corpus bits per byte): the number the tables report.

Example::

    >>> from paper_utils.stats.corpus_ratio import paired_corpus_ratio
    >>> bytes_ = [1000, 1000, 10, 10]                        # two long documents, two short ones
    >>> r = paired_corpus_ratio([1000, 1100, 10, 12], bytes_, [900, 1000, 20, 25], bytes_, n_samples=200,
    ...                         ci_samples=200, method_a="fvt", method_b="bxod")
    >>> r.statistic, round(r.delta, 4), r.test
    ('corpus_bpb', -0.0876, 'approximate_randomization')

The tables show corpus bits per byte, ``sum(bits) / sum(bytes)`` over the held-out documents, so long documents
weigh by their length. A test of the unweighted mean of per-document bpb tests another number, and the two can
disagree in sign (long documents better under one system, short ones worse). The tests here resample the
documents and recompute *both* corpus values in every resample, as sacrebleu does for corpus BLEU
(``--paired-bs``, ``--paired-ar``):

* :func:`paired_corpus_ratio` -- two-sided paired approximate randomization for the p-value (each trial swaps the
  two systems' ``[bits, bytes]`` document by document with probability 1/2, recomputes both corpus values;
  ``p = (#{|delta*| >= |delta|} + 1) / (n_samples + 1)``, the +1 as sacrebleu; ``p = 1`` when ``delta`` is
  exactly 0. One departure from sacrebleu's strict ``>``: ties count (relative tolerance 1e-9), since with few
  documents the masks that swap every document reproduce ``|delta|`` exactly and ``>`` would give a p-value
  below the exact one) and a percentile paired bootstrap for the interval (documents drawn with replacement,
  the same draw for both systems, both corpus values recomputed). Engine:
  :func:`~paper_utils.stats.resampling.approximate_randomization` on a
  :class:`~paper_utils.stats.metrics.RatioMetric`, vectorized (one matrix product per chunk of resamples).
* :func:`compare_bpb` -- what every stage runs to compare two systems' bits per byte: the primary
  ``corpus_bpb`` row above, then (``secondary``) the labelled secondary ``mean_document_bpb`` row (sign-flip
  permutation or Wilcoxon on per-document bpb), kept for comparison with earlier reports and left out of the
  Holm family (:func:`~paper_utils.stats.corrections.correct_primary`).

Sign convention (the repo's): ``delta = value(method_b) - value(method_a)``; for bits per byte a negative delta
means ``method_b`` is better. ``delta``, the interval and the p-value of a row are computed on the statistic its
``statistic`` column names.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError
from .exact import paired_permutation, wilcoxon_signed_rank
from .inputs import DEFAULT_SEED
from .metrics import RatioMetric
from .resampling import approximate_randomization
from .results import ComparisonResult

__all__ = ["CORPUS_BPB", "MEAN_DOCUMENT_BPB", "compare_bpb", "paired_corpus_ratio"]

CORPUS_BPB = "corpus_bpb"                 # sum of bits / sum of bytes: the tables' number, primary
MEAN_DOCUMENT_BPB = "mean_document_bpb"   # unweighted mean of per-document bpb: labelled secondary

_SECONDARY_TESTS = {"paired_permutation": paired_permutation, "wilcoxon": wilcoxon_signed_rank}


def paired_corpus_ratio(numerators_a, denominators_a, numerators_b, denominators_b, *, n_samples: int = 10000,
                        ci_samples: int = 1000, seed: int | None | np.random.Generator = DEFAULT_SEED,
                        confidence: float = 0.95, method_a: str = "a", method_b: str = "b", label: str = "bpb",
                        statistic: str | None = None) -> ComparisonResult:
    """Paired approximate randomization (p) and paired bootstrap (CI) of a ratio-of-sums corpus metric.

    Example::

        >>> r = paired_corpus_ratio([3.0, 40.0], [1, 10], [2.0, 30.0], [1, 10], n_samples=100, ci_samples=0)
        >>> round(r.delta, 6), r.statistic, r.n
        (-1.0, 'corpus_bpb', 2)

    ``numerators_*``/``denominators_*`` are per-item (per-document bits and bytes), paired item by item over the
    same items; the value of a system is ``sum(numerators) / sum(denominators)``; ``delta = value(b) -
    value(a)``. ``n_samples`` randomization trials (default 10,000, as sacrebleu ``--paired-ar``), then
    ``ci_samples`` bootstrap resamples (0 to skip) from the same generator; ``statistic`` defaults to
    ``"corpus_<label>"``.
    """
    m = RatioMetric(label, statistic=statistic)
    sa = m.item_stats(numerators_a, denominators_a)
    sb = m.item_stats(numerators_b, denominators_b)
    if sa.shape[0] != sb.shape[0]:
        raise DataError(f"{label}: method_a has {sa.shape[0]} items, method_b {sb.shape[0]}; both systems must be "
                        "scored on the same items (documents), in the same order")
    return approximate_randomization(sa, sb, m, n_samples=n_samples, ci_samples=ci_samples, seed=seed,
                                     confidence=confidence, method_a=method_a, method_b=method_b, label=label,
                                     count_ties=True)


def compare_bpb(bits_a, bytes_a, bits_b, bytes_b, *, method_a: str = "a", method_b: str = "b",
                secondary: str | None = "paired_permutation", n_samples: int = 10000, ci_samples: int = 1000,
                seed: int | None | np.random.Generator = DEFAULT_SEED, confidence: float = 0.95,
                label: str = "bpb") -> list[ComparisonResult]:
    """Two systems' bits per byte on the same documents: the ``corpus_bpb`` row, then the secondary row.

    Example::

        >>> bytes_ = [1000, 1000, 10, 10]
        >>> rows = compare_bpb([1000, 1100, 10, 12], bytes_, [900, 1000, 20, 25], bytes_, n_samples=200,
        ...                    ci_samples=0)
        >>> [(r.statistic, round(r.delta, 4)) for r in rows]
        [('corpus_bpb', -0.0876), ('mean_document_bpb', 0.525)]

    The documents must be the same for both systems: ``bytes_a`` must equal ``bytes_b`` item by item (the text
    is the same whatever the tokenizer). ``secondary``: ``"paired_permutation"`` (sign flipping, default),
    ``"wilcoxon"`` or ``None`` (no secondary row) for the ``mean_document_bpb`` row, on per-document
    ``bits / bytes``; it uses ``n_samples`` sign flips and the same ``ci_samples``, ``seed`` and ``confidence``.
    """
    if secondary is not None and secondary not in _SECONDARY_TESTS:
        raise ConfigError("secondary", secondary, f"use one of: {', '.join(_SECONDARY_TESTS)}, or None")
    primary = paired_corpus_ratio(bits_a, bytes_a, bits_b, bytes_b, n_samples=n_samples, ci_samples=ci_samples,
                                  seed=seed, confidence=confidence, method_a=method_a, method_b=method_b,
                                  label=label, statistic=CORPUS_BPB)
    ba, bb = np.asarray(bytes_a, dtype=np.float64), np.asarray(bytes_b, dtype=np.float64)
    if not np.array_equal(ba, bb):
        first = int(np.flatnonzero(ba != bb)[0])
        raise DataError(f"{label}: {method_a} and {method_b} were scored on different documents (document {first} "
                        f"has {ba[first]:g} bytes under {method_a}, {bb[first]:g} under {method_b}); score both on "
                        "the same held-out texts")
    rows = [primary]
    if secondary is not None:
        kw = {"n_samples": n_samples} if secondary == "paired_permutation" else {}
        rows.append(_SECONDARY_TESTS[secondary](np.asarray(bits_a, dtype=np.float64) / ba,
                                                np.asarray(bits_b, dtype=np.float64) / bb, ci_samples=ci_samples,
                                                seed=seed, confidence=confidence, method_a=method_a,
                                                method_b=method_b, label=label, statistic=MEAN_DOCUMENT_BPB, **kw))
    return rows
