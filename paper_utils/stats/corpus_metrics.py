"""Corpus BLEU / chrF / chrF++ from per-sentence sufficient statistics, scored in one vectorized call.

Example::

    >>> from paper_utils.stats.corpus_metrics import CorpusMetric
    >>> m = CorpusMetric("chrf")
    >>> hyps, refs = ["a b c", "d e"], ["a b c", "d e f"]
    >>> st = m.sentence_stats(hyps, refs)
    >>> st.shape, round(m.corpus_score(st), 9) == round(m.metric.corpus_score(hyps, [refs]).score, 9)
    ((2, 18), True)

:class:`CorpusMetric` extracts the statistics with sacrebleu's own ``_extract_corpus_statistics`` and scores
them with a vectorized re-implementation of sacrebleu's ``_compute_score_from_stats`` (equal to sacrebleu to
~1e-13 relative, see the tests), so thousands of resamples cost one matrix product each, not a Python loop over
resamples. sacrebleu is imported when a metric is built, not when the package is imported.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ConfigError, DataError

__all__ = ["CORPUS_METRICS", "CorpusMetric", "check_translation_inputs"]

CORPUS_METRICS = ("bleu", "chrf", "chrf++")


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
        elif isinstance(metric, str) and metric.lower() in CORPUS_METRICS:
            key = metric.lower()
            if key == "bleu":
                self.metric = BLEU(**kwargs)
            else:
                if key == "chrf++":
                    kwargs.setdefault("word_order", 2)
                self.metric = CHRF(**kwargs)
        else:
            raise ConfigError("metric", metric, f"use one of: {', '.join(CORPUS_METRICS)} "
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

    @property
    def statistic(self) -> str:
        """What a test of this metric tests: the corpus score, ``corpus_bleu``, ``corpus_chrf2++``, ..."""
        return f"corpus_{self.name.lower()}"

    def signature(self) -> str:
        """sacrebleu's signature string (``nrefs`` is known once references have been seen)."""
        return self.metric.get_signature().format()

    def sentence_stats(self, hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]
                       ) -> np.ndarray:
        """Per-sentence sufficient statistics, shape ``(n_sentences, n_stats)``.

        ``references`` is one reference per hypothesis (a list of strings) or several reference streams
        (sacrebleu's layout: a list of lists of strings, each as long as ``hypotheses``).
        """
        hyps, streams = check_translation_inputs(hypotheses, references)
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


def check_translation_inputs(hypotheses, references) -> tuple[list[str], list[list[str]]]:
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
