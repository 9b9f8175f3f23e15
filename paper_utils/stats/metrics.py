"""Metric names resolved to scorers, per-item means, and the paired statistics every test resamples.

Example::

    >>> from paper_utils.stats.metrics import MeanMetric, corpus_score, paired_stats, sentence_stats
    >>> m, sa, sb = paired_stats([1, 0, 1, 1], [1, 1, 1, 1], "accuracy")
    >>> m.name, sa.shape, float(m.corpus_score(sb))
    ('accuracy', (4, 2), 1.0)
    >>> round(corpus_score(sentence_stats(["a b c d"], ["a b c d"]), "bleu"), 6)
    100.0

A metric is a :class:`~paper_utils.stats.corpus_metrics.CorpusMetric` (BLEU, chrF, chrF++, from summed
sentence statistics), a :class:`MeanMetric` (accuracy, any per-item mean, as the ratio of the summed statistics
``[value, 1]``) or a :class:`RatioMetric` (corpus bits per byte, any ratio of sums, from per-item
``[numerator, denominator]``); either way a corpus score is ``score(stats.sum(0))``, which is what lets the
resampling tests score every resample with one matrix product. Each metric names the statistic a test of it
tests (``statistic``: ``corpus_bleu``, ``corpus_bpb``, ``mean_document_bpb``, ``accuracy``, ...), the value of
the ``statistic`` column of a significance CSV.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ConfigError, DataError
from .corpus_metrics import CORPUS_METRICS, CorpusMetric
from .inputs import check_binary, paired_values

__all__ = ["MeanMetric", "RatioMetric", "corpus_score", "paired_stats", "resolve_metric", "sentence_stats"]

_MEAN_METRICS = ("accuracy", "bpb", "mean")


class MeanMetric:
    """Mean of per-item values (accuracy, bits per byte), as a ratio of summed statistics ``[value, 1]``.

    Example::

        >>> m = MeanMetric("accuracy")
        >>> float(m.corpus_score(m.item_stats([1, 0, 1, 1]))), MeanMetric("bpb").statistic
        (0.75, 'mean_document_bpb')

    ``statistic`` names what a test of it tests; by default ``"accuracy"`` for 0/1 values (the mean of per-item
    correctness is the accuracy), ``"mean_document_bpb"`` for ``name="bpb"`` (the unweighted mean of
    per-document bits per byte, *not* the corpus value tables report: see :class:`RatioMetric`), else
    ``"mean_<name>"``.
    """

    def __init__(self, name: str = "mean", *, binary: bool = False, statistic: str | None = None):
        self.name = name
        self.binary = binary
        if statistic is None:
            statistic = "accuracy" if binary else "mean_document_bpb" if name == "bpb" else f"mean_{name}"
        self.statistic = statistic

    def item_stats(self, values: object) -> np.ndarray:
        x = np.asarray(values, dtype=np.float64)
        return np.column_stack([x, np.ones_like(x)])

    def score(self, summed: np.ndarray) -> np.ndarray:
        summed = np.asarray(summed, dtype=np.float64)
        return summed[..., 0] / summed[..., 1]

    def corpus_score(self, stats: np.ndarray) -> float:
        return float(self.score(np.asarray(stats, dtype=np.float64).sum(axis=0)))


class RatioMetric:
    """A ratio of sums over items, e.g. corpus bits per byte = sum of bits / sum of bytes over documents.

    Example::

        >>> m = RatioMetric("bpb")
        >>> st = m.item_stats([10.0, 30.0], [10, 10])        # per-document bits, per-document bytes
        >>> float(m.corpus_score(st)), m.statistic
        (2.0, 'corpus_bpb')

    Per-item statistics are ``[numerator, denominator]`` (shape ``(n, 2)``); a corpus score sums both columns
    and divides once, so long documents weigh by their length, as in the tables. ``statistic`` defaults to
    ``"corpus_<name>"``.
    """

    def __init__(self, name: str = "bpb", *, statistic: str | None = None):
        self.name = name
        self.statistic = statistic or f"corpus_{name}"

    def item_stats(self, numerators: object, denominators: object) -> np.ndarray:
        try:
            num = np.asarray(numerators, dtype=np.float64)
            den = np.asarray(denominators, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{self.name}: numerators and denominators must be numeric sequences: {exc}") from exc
        if num.ndim != 1 or num.shape != den.shape:
            raise DataError(f"{self.name}: numerators and denominators must be 1-D and of equal length (one pair "
                            f"per item), got shapes {num.shape} and {den.shape}")
        if num.shape[0] == 0:
            raise DataError(f"{self.name}: no items (empty test set?): nothing to compare")
        for what, x in (("numerators", num), ("denominators", den)):
            if not np.isfinite(x).all():
                raise DataError(f"{self.name}: {what} contain NaN/inf (first at item "
                                f"{int(np.flatnonzero(~np.isfinite(x))[0])}); drop or fix those items in both systems")
        if (den <= 0).any():
            raise DataError(f"{self.name}: every denominator (e.g. a document's bytes) must be positive, found "
                            f"{den[den <= 0][:5].tolist()} at item {int(np.flatnonzero(den <= 0)[0])}; "
                            "drop empty items in both systems")
        return np.column_stack([num, den])

    def score(self, summed: np.ndarray) -> np.ndarray:
        summed = np.asarray(summed, dtype=np.float64)
        return summed[..., 0] / summed[..., 1]

    def corpus_score(self, stats: np.ndarray) -> float:
        return float(self.score(np.asarray(stats, dtype=np.float64).sum(axis=0)))


def resolve_metric(metric: object) -> CorpusMetric | MeanMetric | RatioMetric:
    if isinstance(metric, (CorpusMetric, MeanMetric, RatioMetric)):
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


def _ratio_stats(x: object, m: RatioMetric, name: str) -> np.ndarray:
    try:
        s = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: per-item [numerator, denominator] pairs must be numeric: {exc}") from exc
    if s.ndim != 2 or s.shape[1] != 2:
        raise DataError(f"{name}: expected per-item {m.name} statistics of shape (n_items, 2) "
                        f"([numerator, denominator] per item), got {s.shape}; build them with RatioMetric.item_stats")
    return m.item_stats(s[:, 0], s[:, 1])


def paired_stats(a, b, metric) -> tuple[CorpusMetric | MeanMetric | RatioMetric, np.ndarray, np.ndarray]:
    m = resolve_metric(metric)
    if isinstance(m, RatioMetric):
        sa, sb = _ratio_stats(a, m, "method_a"), _ratio_stats(b, m, "method_b")
        if sa.shape[0] != sb.shape[0]:
            raise DataError(f"method_a has {sa.shape[0]} items, method_b {sb.shape[0]}; both systems must be "
                            "scored on the same items (documents)")
        return m, sa, sb
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
