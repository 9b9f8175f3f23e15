"""Paired significance tests, bootstrap confidence intervals and multiple-comparison correction.

Example::

    >>> from paper_utils import stats
    >>> refs = ["the cat sat on the mat", "a dog barked at the mailman"]
    >>> res = stats.compare_translations(["the cat sat on a mat", "a dog barked"],
    ...                                  ["the cat sat on the mat", "the dog barked at a mailman"],
    ...                                  refs, metric="bleu", test="paired_bootstrap",
    ...                                  method_a="base", method_b="adapted")
    >>> res.test, res.n
    ('paired_bootstrap', 2)

What is here (every random procedure takes ``seed``: an int, ``None`` or a ``numpy.random.Generator``;
the default 12345 is sacrebleu's default ``SACREBLEU_SEED``):

* :class:`CorpusMetric` -- corpus BLEU / chrF / chrF++ from per-sentence sufficient statistics, extracted with
  sacrebleu's own ``_extract_corpus_statistics`` and scored by a vectorized re-implementation of sacrebleu's
  ``_compute_score_from_stats`` (equal to sacrebleu to ~1e-13 relative, see the tests), so thousands of
  resamples cost one matrix product each, not a Python loop over resamples.
* :func:`paired_bootstrap` (Koehn 2004; sacrebleu ``--paired-bs``: same index draws, same centred
  ``(c + 1) / (n + 1)`` p-value, default 1000 resamples) and :func:`approximate_randomization` (sacrebleu
  ``--paired-ar``: same swap masks, same p-value, default 10000 trials) for BLEU/chrF, and both also for
  per-item means (accuracy, bits per byte). One departure: an observed difference of exactly 0 gives
  ``p = 1`` (sacrebleu reports ``1 / (n + 1)`` when every resample ties as well).
* :func:`mcnemar_exact` / :func:`mcnemar_pvalue` (equal to ``statsmodels ... mcnemar(table, exact=True)``),
  :func:`paired_permutation` (sign flipping, exact enumeration for small n) and :func:`wilcoxon_signed_rank`.
* :func:`bootstrap_ci` (percentile), :func:`adjust_pvalues` / :func:`correct` (Holm, Benjamini-Hochberg;
  equal to ``statsmodels.stats.multitest.multipletests``), :class:`ComparisonResult` and
  :func:`write_significance_csv` (atomic).

Sign convention: ``delta = score(method_b) - score(method_a)``; for BLEU/chrF/accuracy a positive delta means
``method_b`` is better, for bits per byte a negative one does.
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, fields, replace
from itertools import product
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from scipy import stats as _sps

from .errors import ConfigError, DataError
from .io import atomic_path

__all__ = [
    "CSV_COLUMNS",
    "ComparisonResult",
    "CorpusMetric",
    "MeanMetric",
    "adjust_pvalues",
    "approximate_randomization",
    "bootstrap_ci",
    "compare_translations",
    "correct",
    "corpus_score",
    "mcnemar_exact",
    "mcnemar_pvalue",
    "paired_bootstrap",
    "paired_permutation",
    "sentence_stats",
    "wilcoxon_signed_rank",
    "write_significance_csv",
]

DEFAULT_SEED = 12345
CSV_COLUMNS = ("language", "model", "metric", "method_a", "method_b", "delta", "ci_low", "ci_high",
               "p_value", "p_adjusted", "test", "n")
_CORPUS_METRICS = ("bleu", "chrf", "chrf++")
_MEAN_METRICS = ("accuracy", "bpb", "mean")
_CHUNK_ELEMENTS = 1 << 22  # rows * sentences per resampling chunk (~32 MiB of float64)


# ----------------------------------------------------------------------------------------------------------
# Result record
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ComparisonResult:
    """One paired comparison ``method_b`` vs ``method_a`` on one metric.

    Example::

        >>> r = ComparisonResult("BLEU", "base", "adapted", 1.2, 0.1, 2.3, 0.03, "paired_bootstrap", 200)
        >>> correct([r], method="holm")[0].p_adjusted
        0.03

    ``delta`` is ``score(b) - score(a)``; ``ci_low``/``ci_high`` a percentile bootstrap interval for it (NaN when
    not computed); ``n`` the number of paired items (sentences, questions, documents); ``p_adjusted`` is NaN
    until :func:`correct` fills it.
    """

    metric: str
    method_a: str
    method_b: str
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str
    n: int
    p_adjusted: float = math.nan


# ----------------------------------------------------------------------------------------------------------
# Argument checks
# ----------------------------------------------------------------------------------------------------------
def _check_n_samples(name: str, value: object, *, allow_zero: bool = False) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if ok and (value > 0 or (allow_zero and value == 0)):
        return int(value)
    lo = "a non-negative integer (0 disables it)" if allow_zero else "a positive integer"
    raise ConfigError(name, value, f"use {lo}, e.g. 1000")


def _check_confidence(confidence: object) -> float:
    if isinstance(confidence, (int, float, np.floating)) and not isinstance(confidence, bool) \
            and 0.0 < float(confidence) < 1.0:
        return float(confidence)
    raise ConfigError("confidence", confidence, "use a level strictly between 0 and 1, e.g. 0.95")


def _rng(seed: int | None | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        return np.random.default_rng(seed)
    raise ConfigError("seed", seed, "use a non-negative integer, None, or a numpy.random.Generator")


def _paired_values(a: object, b: object, what: str = "paired values") -> tuple[np.ndarray, np.ndarray]:
    """Two 1-D finite float arrays of the same non-zero length, or DataError."""
    try:
        xa = np.asarray(a, dtype=np.float64)
        xb = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be numeric sequences: {exc}") from exc
    if xa.ndim != 1 or xb.ndim != 1:
        raise DataError(f"{what} must be 1-D sequences (one value per item), got shapes {xa.shape} and {xb.shape}")
    if xa.shape[0] != xb.shape[0]:
        raise DataError(f"{what} have different lengths: method_a has {xa.shape[0]}, method_b has {xb.shape[0]}; "
                        "they must be paired item by item")
    if xa.shape[0] == 0:
        raise DataError(f"{what} are empty: nothing to compare (empty test set?)")
    for name, x in (("method_a", xa), ("method_b", xb)):
        bad = ~np.isfinite(x)
        if bad.any():
            raise DataError(f"{what} of {name} contain {int(bad.sum())} NaN/inf value(s) "
                            f"(first at index {int(np.flatnonzero(bad)[0])}); drop or fix those items in both methods")
    return xa, xb


def _check_binary(x: np.ndarray, name: str) -> None:
    if not np.isin(x, (0.0, 1.0)).all():
        raise DataError(f"per-item correctness of {name} must be 0/1 or boolean, "
                        f"found {np.unique(x[~np.isin(x, (0.0, 1.0))])[:5].tolist()}")


# ----------------------------------------------------------------------------------------------------------
# Metrics computed from summed sufficient statistics
# ----------------------------------------------------------------------------------------------------------
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


class CorpusMetric:
    """A sacrebleu corpus metric (BLEU, chrF, chrF++) scored from per-sentence sufficient statistics.

    Example::

        >>> m = CorpusMetric("bleu")
        >>> st = m.sentence_stats(["the cat sat on the mat"], ["the cat sat on the mat"])
        >>> round(m.corpus_score(st), 6)
        100.0

    ``metric`` is ``"bleu"`` (13a, exp smoothing), ``"chrf"`` (chrF2), ``"chrf++"`` (chrF2++), or a configured
    ``sacrebleu.metrics.BLEU``/``CHRF`` instance; ``**kwargs`` go to the sacrebleu constructor. :meth:`score` is
    vectorized over leading axes; other sacrebleu metrics (TER) fall back to a loop over
    ``_compute_score_from_stats``.
    """

    def __init__(self, metric: object = "bleu", **kwargs):
        from sacrebleu.metrics import BLEU, CHRF
        from sacrebleu.metrics.base import Metric

        if isinstance(metric, Metric):
            if kwargs:
                raise ConfigError("kwargs", kwargs, "pass either a configured sacrebleu metric or keyword options")
            self.metric = metric
        elif isinstance(metric, str) and metric.lower() in _CORPUS_METRICS:
            key = metric.lower()
            if key == "bleu":
                self.metric = BLEU(**kwargs)
            else:
                if key == "chrf++":
                    kwargs.setdefault("word_order", 2)
                self.metric = CHRF(**kwargs)
        else:
            raise ConfigError("metric", metric, f"use one of: {', '.join(_CORPUS_METRICS)} "
                                                "or a sacrebleu BLEU/CHRF instance")
        self._bleu = isinstance(self.metric, BLEU)
        self._chrf = isinstance(self.metric, CHRF)
        if self._bleu:
            self.n_stats = 2 + 2 * self.metric.max_ngram_order
        elif self._chrf:
            self.n_stats = 3 * (self.metric.char_order + self.metric.word_order)
        else:
            self.n_stats = None

    @property
    def name(self) -> str:
        """sacrebleu's name of the score: ``BLEU``, ``chrF2``, ``chrF2++``."""
        m = self.metric
        if self._chrf:
            return f"chrF{m.beta}" + "+" * m.word_order
        return type(m).__name__.upper() if not self._bleu else "BLEU"

    def signature(self) -> str:
        """sacrebleu's signature string (``nrefs`` is known once references have been seen)."""
        return self.metric.get_signature().format()

    def sentence_stats(self, hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]
                       ) -> np.ndarray:
        """Per-sentence sufficient statistics, shape ``(n_sentences, n_stats)``.

        ``references`` is one reference per hypothesis (a list of strings) or several reference streams
        (sacrebleu's layout: a list of lists of strings, each as long as ``hypotheses``).
        """
        hyps, streams = _check_translation_inputs(hypotheses, references)
        stats = self.metric._extract_corpus_statistics(hyps, streams)
        return np.asarray(stats, dtype=np.float64).reshape(len(hyps), -1)

    def score(self, summed: np.ndarray) -> np.ndarray:
        """Score(s) from summed statistics, vectorized over leading axes: ``(..., n_stats) -> (...)``."""
        summed = np.asarray(summed, dtype=np.float64)
        flat = summed.reshape(-1, summed.shape[-1])
        if self._bleu:
            out = _bleu_from_stats(flat, self.metric)
        elif self._chrf:
            out = _chrf_from_stats(flat, self.metric)
        else:  # generic fallback (e.g. TER): sacrebleu's own scorer, one call per row
            out = np.array([self.metric._compute_score_from_stats(list(row)).score for row in flat])
        return out.reshape(summed.shape[:-1])

    def corpus_score(self, stats: np.ndarray) -> float:
        """Corpus score of per-sentence statistics (summed, then scored)."""
        return float(self.score(np.asarray(stats, dtype=np.float64).sum(axis=0)))


def _bleu_from_stats(s: np.ndarray, m) -> np.ndarray:
    """Vectorized ``sacrebleu.metrics.BLEU.compute_bleu`` (same operations in the same order)."""
    from sacrebleu.metrics import BLEU

    n_order = m.max_ngram_order
    rows = s.shape[0]
    sys_len, ref_len = s[:, 0], s[:, 1]
    correct = s[:, 2:2 + n_order].copy()
    total = s[:, 2 + n_order:2 + 2 * n_order].copy()
    method = m.smooth_method
    value = m.smooth_value if m.smooth_value is not None else BLEU.SMOOTH_DEFAULTS[method]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        bp = np.where(sys_len < ref_len,
                      np.where(sys_len > 0, np.exp(1 - ref_len / np.where(sys_len > 0, sys_len, 1.0)), 0.0), 1.0)
        any_correct = (correct != 0).any(axis=1)
        prec = np.zeros((rows, n_order))
        smooth = np.ones(rows)
        active = np.ones(rows, dtype=bool)
        eff = np.full(rows, n_order)
        for n in range(1, n_order + 1):
            c, t = correct[:, n - 1], total[:, n - 1]
            if method == "add-k" and n > 1:
                c += value
                t += value
            active &= t != 0
            if m.effective_order:
                eff[active] = n
            zero = active & (c == 0)
            if method == "exp":
                smooth[zero] *= 2
                prec[zero, n - 1] = 100. / (smooth[zero] * t[zero])
            elif method == "floor":
                prec[zero, n - 1] = 100. * value / t[zero]
            pos = active & (c != 0)
            prec[pos, n - 1] = 100. * c[pos] / t[pos]
        acc = np.zeros(rows)
        for n in range(n_order):
            p = prec[:, n]
            term = np.where(p == 0.0, -9999999999.0, np.log(np.where(p == 0.0, 1.0, p)))
            acc = np.where(n < eff, acc + term, acc)
        score = bp * np.exp(acc / eff)
    return np.where(any_correct, score, 0.0)


def _chrf_from_stats(s: np.ndarray, m) -> np.ndarray:
    """Vectorized ``sacrebleu.metrics.CHRF._compute_f_score`` (same operations in the same order)."""
    eps = 1e-16
    factor = m.beta ** 2
    rows = s.shape[0]
    score = np.zeros(rows)
    avg_prec, avg_rec = np.zeros(rows), np.zeros(rows)
    eff = np.zeros(rows, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(m.char_order + m.word_order):
            n_hyp, n_ref, n_match = s[:, 3 * i], s[:, 3 * i + 1], s[:, 3 * i + 2]
            prec = np.where(n_hyp > 0, n_match / n_hyp, eps)
            rec = np.where(n_ref > 0, n_match / n_ref, eps)
            denom = factor * prec + rec
            score = score + np.where(denom > 0, (1 + factor) * prec * rec / denom, eps)
            both = (n_hyp > 0) & (n_ref > 0)
            avg_prec = np.where(both, avg_prec + prec, avg_prec)
            avg_rec = np.where(both, avg_rec + rec, avg_rec)
            eff += both
        if m.eps_smoothing:
            return 100 * score / (m.char_order + m.word_order)
        safe = np.where(eff == 0, 1, eff)
        avg_prec = np.where(eff == 0, 0.0, avg_prec / safe)
        avg_rec = np.where(eff == 0, 0.0, avg_rec / safe)
        f = (1 + factor) * avg_prec * avg_rec
        f = f / ((factor * avg_prec) + avg_rec)
        return np.where(avg_prec + avg_rec != 0, 100 * f, 0.0)


def _check_translation_inputs(hypotheses, references) -> tuple[list[str], list[list[str]]]:
    def listed(x):  # lists, tuples, numpy arrays, pandas Series; not a bare string
        return None if isinstance(x, (str, bytes)) or not hasattr(x, "__len__") else list(x)

    hyps = listed(hypotheses)
    if hyps is None:
        raise DataError("hypotheses must be a sequence of strings, one per test sentence")
    if not hyps:
        raise DataError("hypotheses are empty: the test set has no sentences")
    refs = listed(references)
    if not refs:
        raise DataError("references must be a non-empty sequence of strings (or of reference streams)")
    streams = [refs] if isinstance(refs[0], str) else [listed(r) for r in refs]
    if any(stream is None for stream in streams):
        raise DataError("references must be strings (one reference) or sequences of strings (reference streams)")
    for i, stream in enumerate(streams):
        if len(stream) != len(hyps):
            raise DataError(f"references and hypotheses have different lengths: reference stream {i} has "
                            f"{len(stream)} lines, hypotheses have {len(hyps)}; they must be aligned line by line")
    for name, lines in [("hypotheses", hyps)] + [(f"reference stream {i}", s) for i, s in enumerate(streams)]:
        bad = [j for j, x in enumerate(lines) if not isinstance(x, str)]
        if bad:
            raise DataError(f"{name} line {bad[0]} is {type(lines[bad[0]]).__name__}, not a string")
    return hyps, streams


def _resolve_metric(metric: object) -> CorpusMetric | MeanMetric:
    if isinstance(metric, (CorpusMetric, MeanMetric)):
        return metric
    if isinstance(metric, str) and metric.lower() in _CORPUS_METRICS:
        return CorpusMetric(metric)
    if isinstance(metric, str) and metric.lower() in _MEAN_METRICS:
        return MeanMetric(metric.lower(), binary=metric.lower() == "accuracy")
    try:
        return CorpusMetric(metric)
    except ConfigError:
        raise ConfigError("metric", metric, f"use one of: {', '.join(_CORPUS_METRICS + _MEAN_METRICS)}, "
                                            "a CorpusMetric, MeanMetric or sacrebleu metric instance") from None


def sentence_stats(hypotheses: Sequence[str], references, metric: object = "bleu") -> np.ndarray:
    """Per-sentence sufficient statistics of ``metric`` (see :meth:`CorpusMetric.sentence_stats`).

    Example::

        >>> sentence_stats(["a b c d"], ["a b c d"], "bleu").tolist()
        [[4.0, 4.0, 4.0, 3.0, 2.0, 1.0, 4.0, 3.0, 2.0, 1.0]]
    """
    m = _resolve_metric(metric)
    if not isinstance(m, CorpusMetric):
        raise ConfigError("metric", metric, "sentence statistics exist for bleu, chrf, chrf++ only")
    return m.sentence_stats(hypotheses, references)


def corpus_score(stats: np.ndarray, metric: object = "bleu") -> float:
    """Corpus score from per-sentence statistics (sums them, then scores once).

    Example::

        >>> round(corpus_score(sentence_stats(["a b c d"], ["a b c d"]), "bleu"), 6)
        100.0
    """
    m = _resolve_metric(metric)
    return m.corpus_score(_as_stats(stats, m, "statistics"))


def _as_stats(x: object, m: CorpusMetric | MeanMetric, name: str) -> np.ndarray:
    if isinstance(m, MeanMetric):
        xa, _ = _paired_values(x, x, f"per-item {m.name} values")
        if m.binary:
            _check_binary(xa, name)
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


def _paired_stats(a, b, metric) -> tuple[CorpusMetric | MeanMetric, np.ndarray, np.ndarray]:
    m = _resolve_metric(metric)
    if isinstance(m, MeanMetric):
        xa, xb = _paired_values(a, b, f"per-item {m.name} values")
        if m.binary:
            _check_binary(xa, "method_a")
            _check_binary(xb, "method_b")
        return m, m.item_stats(xa), m.item_stats(xb)
    sa, sb = _as_stats(a, m, "method_a"), _as_stats(b, m, "method_b")
    if sa.shape[0] != sb.shape[0]:
        raise DataError(f"method_a has statistics for {sa.shape[0]} sentences, method_b for {sb.shape[0]}; "
                        "both systems must translate the same test set")
    return m, sa, sb


# ----------------------------------------------------------------------------------------------------------
# Resampling engines (vectorized; chunked over resamples to bound memory)
# ----------------------------------------------------------------------------------------------------------
def _bootstrap_sums(rng: np.random.Generator, n_samples: int, *stats: np.ndarray) -> list[np.ndarray]:
    """Summed statistics of ``n_samples`` paired bootstrap resamples, one array per input.

    Draws ``rng.choice(n, size=(n_samples, n), replace=True)`` exactly like sacrebleu (in row chunks, which
    yields the same stream), then sums via resample-count matrices: ``counts @ stats``.
    """
    n = stats[0].shape[0]
    out = [np.empty((n_samples, s.shape[1])) for s in stats]
    chunk = max(1, min(n_samples, _CHUNK_ELEMENTS // n))
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


def _ci_or_nan(rng, ci_samples, confidence, m, sa, sb) -> tuple[float, float]:
    if ci_samples == 0:
        return math.nan, math.nan
    return _percentile_ci(_bootstrap_deltas(rng, ci_samples, m, sa, sb), confidence)


def _label(m, label: str | None) -> str:
    return label if label is not None else m.name


# ----------------------------------------------------------------------------------------------------------
# Tests for corpus metrics and per-item means
# ----------------------------------------------------------------------------------------------------------
def paired_bootstrap(stats_a, stats_b, metric: object = "bleu", *, n_samples: int = 1000,
                     seed: int | None | np.random.Generator = DEFAULT_SEED, confidence: float = 0.95,
                     method_a: str = "a", method_b: str = "b", label: str | None = None) -> ComparisonResult:
    """Paired bootstrap resampling test (Koehn 2004) with sacrebleu ``--paired-bs`` semantics.

    Example::

        >>> r = paired_bootstrap([1, 0, 1, 0, 1, 1], [1, 1, 1, 0, 1, 1], "accuracy", n_samples=200)
        >>> round(r.delta, 4), r.test
        (0.1667, 'paired_bootstrap')

    ``stats_a``/``stats_b`` are per-sentence statistics (``CorpusMetric.sentence_stats``) for BLEU/chrF, or
    1-D per-item values for ``metric="accuracy"`` (0/1), ``"bpb"`` or ``"mean"``. Like sacrebleu, the same
    ``n_samples`` index vectors (``rng.choice(n, (n_samples, n))`` with ``default_rng(seed)``) resample both
    systems; with ``d_i = |score_b* - score_a*|`` the p-value is ``(#{d_i - mean(d) > |delta|} + 1) /
    (n_samples + 1)``. The CI is the percentile interval of the signed resampled differences.
    One departure from sacrebleu: an observed difference of exactly 0 gives ``p = 1`` (sacrebleu's strict
    ``>`` gives ``1 / (n_samples + 1)`` when every resample ties too, e.g. two systems both at BLEU 0).
    """
    n_samples = _check_n_samples("n_samples", n_samples)
    confidence = _check_confidence(confidence)
    m, sa, sb = _paired_stats(stats_a, stats_b, metric)
    rng = _rng(seed)
    delta = float(m.score(sb.sum(0)) - m.score(sa.sum(0)))
    deltas = _bootstrap_deltas(rng, n_samples, m, sa, sb)
    absd = np.abs(deltas)
    centred = absd - absd.mean()
    p = (int(np.sum(centred > abs(delta))) + 1) / (n_samples + 1) if delta else 1.0
    lo, hi = _percentile_ci(deltas, confidence)
    return ComparisonResult(_label(m, label), method_a, method_b, delta, lo, hi, p, "paired_bootstrap", len(sa))


def approximate_randomization(stats_a, stats_b, metric: object = "bleu", *, n_samples: int = 10000,
                              seed: int | None | np.random.Generator = DEFAULT_SEED, ci_samples: int = 1000,
                              confidence: float = 0.95, method_a: str = "a", method_b: str = "b",
                              label: str | None = None) -> ComparisonResult:
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
    """
    n_samples = _check_n_samples("n_samples", n_samples)
    ci_samples = _check_n_samples("ci_samples", ci_samples, allow_zero=True)
    confidence = _check_confidence(confidence)
    m, sa, sb = _paired_stats(stats_a, stats_b, metric)
    rng = _rng(seed)
    n = sa.shape[0]
    delta = float(m.score(sb.sum(0)) - m.score(sa.sum(0)))
    mask = rng.integers(2, size=(n_samples, n), dtype=bool)
    diff = sa - sb
    base, total = sb.sum(0), sa.sum(0) + sb.sum(0)
    count = 0
    chunk = max(1, min(n_samples, _CHUNK_ELEMENTS // n))
    for start in range(0, n_samples, chunk):
        shuf_a = mask[start:start + chunk].astype(np.float64) @ diff + base
        shuf_b = total - shuf_a
        count += int(np.sum(np.abs(m.score(shuf_a) - m.score(shuf_b)) > abs(delta)))
    p = (count + 1) / (n_samples + 1) if delta else 1.0
    lo, hi = _ci_or_nan(rng, ci_samples, confidence, m, sa, sb)
    return ComparisonResult(_label(m, label), method_a, method_b, delta, lo, hi, p,
                            "approximate_randomization", n)


def bootstrap_ci(stats_a, stats_b, metric: object = "mean", *, n_samples: int = 1000,
                 seed: int | None | np.random.Generator = DEFAULT_SEED, confidence: float = 0.95
                 ) -> tuple[float, float, float]:
    """Percentile bootstrap interval for ``score(b) - score(a)``: returns ``(delta, ci_low, ci_high)``.

    Example::

        >>> d, lo, hi = bootstrap_ci([0.9, 1.1, 1.0, 1.2], [0.8, 1.0, 0.9, 1.0], "bpb", n_samples=500)
        >>> round(d, 3), lo <= d <= hi
        (-0.125, True)
    """
    n_samples = _check_n_samples("n_samples", n_samples)
    confidence = _check_confidence(confidence)
    m, sa, sb = _paired_stats(stats_a, stats_b, metric)
    delta = float(m.score(sb.sum(0)) - m.score(sa.sum(0)))
    lo, hi = _percentile_ci(_bootstrap_deltas(_rng(seed), n_samples, m, sa, sb), confidence)
    return delta, lo, hi


def compare_translations(hypotheses_a: Sequence[str], hypotheses_b: Sequence[str], references,
                         metric: object = "bleu", *, test: str = "paired_bootstrap", **kwargs) -> ComparisonResult:
    """Extract sentence statistics of two systems and run ``paired_bootstrap`` or ``approximate_randomization``.

    Example::

        >>> r = compare_translations(["a b c"], ["a b c d"], ["a b c d"], "chrf", test="approximate_randomization",
        ...                          n_samples=100, ci_samples=0)
        >>> r.metric, r.delta > 0
        ('chrF2', True)
    """
    tests = {"paired_bootstrap": paired_bootstrap, "approximate_randomization": approximate_randomization}
    if test not in tests:
        raise ConfigError("test", test, f"use one of: {', '.join(tests)}")
    m = _resolve_metric(metric)
    if not isinstance(m, CorpusMetric):
        raise ConfigError("metric", metric, "translations are scored with bleu, chrf or chrf++")
    _check_translation_inputs(hypotheses_b, references)
    sa = m.sentence_stats(hypotheses_a, references)
    sb = m.sentence_stats(hypotheses_b, references)
    return tests[test](sa, sb, m, **kwargs)


# ----------------------------------------------------------------------------------------------------------
# Accuracy: exact McNemar
# ----------------------------------------------------------------------------------------------------------
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
    ci_samples = _check_n_samples("ci_samples", ci_samples, allow_zero=True)
    confidence = _check_confidence(confidence)
    m = MeanMetric(label, binary=True)
    m, sa, sb = _paired_stats(correct_a, correct_b, m)
    a, b = sa[:, 0].astype(bool), sb[:, 0].astype(bool)
    table = [[int(np.sum(a & b)), int(np.sum(a & ~b))], [int(np.sum(~a & b)), int(np.sum(~a & ~b))]]
    p = mcnemar_pvalue(table)
    delta = float(b.mean() - a.mean())
    lo, hi = _ci_or_nan(_rng(seed), ci_samples, confidence, m, sa, sb)
    return ComparisonResult(label, method_a, method_b, delta, lo, hi, p, "mcnemar_exact", len(a))


# ----------------------------------------------------------------------------------------------------------
# Continuous paired values (per-document bits per byte)
# ----------------------------------------------------------------------------------------------------------
def paired_permutation(values_a, values_b, *, n_samples: int = 10000, exact_max_n: int = 16,
                       seed: int | None | np.random.Generator = DEFAULT_SEED, ci_samples: int = 1000,
                       confidence: float = 0.95, method_a: str = "a", method_b: str = "b",
                       label: str = "bpb") -> ComparisonResult:
    """Two-sided paired permutation (sign-flipping) test of the mean difference ``mean(b - a)``.

    Example::

        >>> r = paired_permutation([1.0, 1.2, 0.9, 1.1], [0.9, 1.0, 0.8, 1.0], ci_samples=0)
        >>> r.test, r.p_value
        ('paired_permutation_exact', 0.125)

    With ``n <= exact_max_n`` all ``2**n`` sign patterns are enumerated and ``p = #{|T*| >= |T|} / 2**n``
    (test ``paired_permutation_exact``); otherwise ``n_samples`` random sign patterns and ``p = (#{|T*| >= |T|}
    + 1) / (n_samples + 1)``. Ties are judged with a relative tolerance of 1e-9, as in scipy.
    """
    n_samples = _check_n_samples("n_samples", n_samples)
    ci_samples = _check_n_samples("ci_samples", ci_samples, allow_zero=True)
    if not isinstance(exact_max_n, (int, np.integer)) or isinstance(exact_max_n, bool) or not 0 <= exact_max_n <= 24:
        raise ConfigError("exact_max_n", exact_max_n, "use an integer between 0 and 24 (2**n patterns are enumerated)")
    confidence = _check_confidence(confidence)
    m = MeanMetric(label)
    m, sa, sb = _paired_stats(values_a, values_b, m)
    rng = _rng(seed)
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
        chunk = max(1, min(n_samples, _CHUNK_ELEMENTS // n))
        for start in range(0, n_samples, chunk):
            c = min(chunk, n_samples - start)
            signs = rng.integers(2, size=(c, n), dtype=np.int8) * 2 - 1
            count += int(np.sum(np.abs(signs.astype(np.float64) @ d / n) >= threshold))
        p = (count + 1) / (n_samples + 1)
    lo, hi = _ci_or_nan(rng, ci_samples, confidence, m, sa, sb)
    return ComparisonResult(label, method_a, method_b, float(d.mean()), lo, hi, float(p), test, n)


def wilcoxon_signed_rank(values_a, values_b, *, ci_samples: int = 1000,
                         seed: int | None | np.random.Generator = DEFAULT_SEED, confidence: float = 0.95,
                         method_a: str = "a", method_b: str = "b", label: str = "bpb",
                         **scipy_kwargs) -> ComparisonResult:
    """Two-sided Wilcoxon signed-rank test on ``b - a`` (``scipy.stats.wilcoxon``), delta = mean difference.

    Example::

        >>> r = wilcoxon_signed_rank([1.0, 1.2, 0.9, 1.1, 1.3], [0.9, 1.0, 0.8, 1.0, 1.1], ci_samples=0)
        >>> r.p_value
        0.0625

    All-zero differences give p = 1 (scipy would return NaN). ``scipy_kwargs`` (``zero_method``, ``method``,
    ...) go to scipy unchanged; the CI is a percentile bootstrap interval of the mean difference.
    """
    ci_samples = _check_n_samples("ci_samples", ci_samples, allow_zero=True)
    confidence = _check_confidence(confidence)
    m = MeanMetric(label)
    m, sa, sb = _paired_stats(values_a, values_b, m)
    d = sb[:, 0] - sa[:, 0]
    p = 1.0 if not np.any(d) else float(_sps.wilcoxon(d, **scipy_kwargs).pvalue)
    lo, hi = _ci_or_nan(_rng(seed), ci_samples, confidence, m, sa, sb)
    return ComparisonResult(label, method_a, method_b, float(d.mean()), lo, hi, p, "wilcoxon_signed_rank",
                            len(d))


# ----------------------------------------------------------------------------------------------------------
# Multiple comparisons
# ----------------------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------------------
# CSV output
# ----------------------------------------------------------------------------------------------------------
def _cell(value: object) -> object:
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_significance_csv(path: str | os.PathLike, results: Sequence[ComparisonResult], *, language: str,
                           model: str) -> Path:
    """Write ``results`` to ``path`` (e.g. ``results/<preset>/significance.csv``) atomically; returns the path.

    Example::

        >>> r = ComparisonResult("BLEU", "base", "adapted", 1.0, 0.2, 1.8, 0.01, "paired_bootstrap", 200)
        >>> import pathlib, tempfile
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> p = write_significance_csv(tmp / "significance.csv", [r], language="uz", model="smollm2-135m")
        >>> p.read_text().splitlines()[0].split(",")[:3]
        ['language', 'model', 'metric']

    Columns are exactly :data:`CSV_COLUMNS`; NaN (e.g. an uncorrected ``p_adjusted``) is written as an empty
    cell. The rows go to a temporary file in the same folder, renamed over ``path`` with ``os.replace``, so a
    reader never sees a half-written file.
    """
    for name, value in (("language", language), ("model", model)):
        if not isinstance(value, str) or not value:
            raise ConfigError(name, value, f"pass the {name} as a non-empty string")
    results = list(results)
    if not results:
        raise DataError(f"no comparisons to write to {path}")
    for r in results:
        if not isinstance(r, ComparisonResult):
            raise DataError(f"expected ComparisonResult records, got {type(r).__name__}")
    path = Path(path)
    names = [f.name for f in fields(ComparisonResult)]
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        for r in results:
            row = {k: _cell(getattr(r, k)) for k in names}
            writer.writerow({"language": language, "model": model, **row})
    return path
