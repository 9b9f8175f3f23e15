"""Metric names resolved to scorers, per-item means, and the paired statistics every test resamples.

Example::

    >>> from paper_utils.stats.metrics import MeanMetric, corpus_score, paired_stats, sentence_stats
    >>> m, sa, sb = paired_stats([1, 0, 1, 1], [1, 1, 1, 1], "accuracy")
    >>> m.name, sa.shape, float(m.corpus_score(sb))
    ('accuracy', (4, 2), 1.0)
    >>> round(corpus_score(sentence_stats(["a b c d"], ["a b c d"]), "bleu"), 6)
    100.0

A metric is a :class:`~paper_utils.stats.corpus_metrics.CorpusMetric` (BLEU, chrF, chrF++, from summed
sentence statistics) or a :class:`MeanMetric` (accuracy, bits per byte, any per-item mean, as the ratio of the
summed statistics ``[value, 1]``); either way a corpus score is ``score(stats.sum(0))``, which is what lets
the resampling tests score every resample with one matrix product.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ConfigError, DataError
from .corpus_metrics import CORPUS_METRICS, CorpusMetric
from .inputs import check_binary, paired_values

__all__ = ["MeanMetric", "corpus_score", "paired_stats", "resolve_metric", "sentence_stats"]

_MEAN_METRICS = ("accuracy", "bpb", "mean")


class MeanMetric:
    """Mean of per-item values (accuracy, bits per byte), as a ratio of summed statistics ``[value, 1]``.

    Example::

        >>> m = MeanMetric("accuracy")
        >>> float(m.corpus_score(m.item_stats([1, 0, 1, 1])))
        0.75
    """

    def __init__(self, name: str = "mean", *, binary: bool = False):
        self.name = name
        self.binary = binary

    def item_stats(self, values: object) -> np.ndarray:
        x = np.asarray(values, dtype=np.float64)
        return np.column_stack([x, np.ones_like(x)])

    def score(self, summed: np.ndarray) -> np.ndarray:
        summed = np.asarray(summed, dtype=np.float64)
        return summed[..., 0] / summed[..., 1]

    def corpus_score(self, stats: np.ndarray) -> float:
        return float(self.score(np.asarray(stats, dtype=np.float64).sum(axis=0)))


def resolve_metric(metric: object) -> CorpusMetric | MeanMetric:
    if isinstance(metric, (CorpusMetric, MeanMetric)):
        return metric
    if isinstance(metric, str) and metric.lower() in CORPUS_METRICS:
        return CorpusMetric(metric)
    if isinstance(metric, str) and metric.lower() in _MEAN_METRICS:
        return MeanMetric(metric.lower(), binary=metric.lower() == "accuracy")
    try:
        return CorpusMetric(metric)
    except ConfigError:
        raise ConfigError("metric", metric, f"use one of: {', '.join(CORPUS_METRICS + _MEAN_METRICS)}, "
                                            "a CorpusMetric, MeanMetric or sacrebleu metric instance") from None


def sentence_stats(hypotheses: Sequence[str], references, metric: object = "bleu") -> np.ndarray:
    """Per-sentence sufficient statistics of ``metric`` (see :meth:`CorpusMetric.sentence_stats`).

    Example::

        >>> sentence_stats(["a b c d"], ["a b c d"], "bleu").tolist()
        [[4.0, 4.0, 4.0, 3.0, 2.0, 1.0, 4.0, 3.0, 2.0, 1.0]]
    """
    m = resolve_metric(metric)
    if not isinstance(m, CorpusMetric):
        raise ConfigError("metric", metric, "sentence statistics exist for bleu, chrf, chrf++ only")
    return m.sentence_stats(hypotheses, references)


def corpus_score(stats: np.ndarray, metric: object = "bleu") -> float:
    """Corpus score from per-sentence statistics (sums them, then scores once).

    Example::

        >>> round(corpus_score(sentence_stats(["a b c d"], ["a b c d"]), "bleu"), 6)
        100.0
    """
    m = resolve_metric(metric)
    return m.corpus_score(_as_stats(stats, m, "statistics"))


def _as_stats(x: object, m: CorpusMetric | MeanMetric, name: str) -> np.ndarray:
    if isinstance(m, MeanMetric):
        xa, _ = paired_values(x, x, f"per-item {m.name} values")
        if m.binary:
            check_binary(xa, name)
        return m.item_stats(xa)
    try:
        s = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: sentence statistics must be a numeric array: {exc}") from exc
    if s.ndim != 2 or (m.n_stats is not None and s.shape[1] != m.n_stats):
        raise DataError(f"{name}: expected per-sentence {m.name} statistics of shape (n_sentences, {m.n_stats}), "
                        f"got {s.shape}; build them with CorpusMetric.sentence_stats")
    if s.shape[0] == 0:
        raise DataError(f"{name}: no sentences (empty test set)")
    if not np.isfinite(s).all():
        raise DataError(f"{name}: sentence statistics contain NaN/inf")
    return s


def paired_stats(a, b, metric) -> tuple[CorpusMetric | MeanMetric, np.ndarray, np.ndarray]:
    m = resolve_metric(metric)
    if isinstance(m, MeanMetric):
        xa, xb = paired_values(a, b, f"per-item {m.name} values")
        if m.binary:
            check_binary(xa, "method_a")
            check_binary(xb, "method_b")
        return m, m.item_stats(xa), m.item_stats(xb)
    sa, sb = _as_stats(a, m, "method_a"), _as_stats(b, m, "method_b")
    if sa.shape[0] != sb.shape[0]:
        raise DataError(f"method_a has statistics for {sa.shape[0]} sentences, method_b for {sb.shape[0]}; "
                        "both systems must translate the same test set")
    return m, sa, sb
