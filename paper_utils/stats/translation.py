"""Significance of a translation difference: two systems' outputs and the references in, one result out.

Example::

    >>> from paper_utils.stats.translation import compare_translations
    >>> refs = ["the cat sat on the mat", "a dog barked at the mailman"]
    >>> res = compare_translations(["the cat sat on a mat", "a dog barked"],
    ...                            ["the cat sat on the mat", "the dog barked at a mailman"],
    ...                            refs, metric="bleu", test="paired_bootstrap",
    ...                            method_a="base", method_b="adapted")
    >>> res.test, res.n
    ('paired_bootstrap', 2)

:func:`compare_translations` extracts sacrebleu's per-sentence statistics of both systems
(:class:`~paper_utils.stats.corpus_metrics.CorpusMetric`) and runs
:func:`~paper_utils.stats.resampling.paired_bootstrap` or
:func:`~paper_utils.stats.resampling.approximate_randomization` on them.
"""
from __future__ import annotations

from typing import Sequence

from ..errors import ConfigError
from .corpus_metrics import CorpusMetric, check_translation_inputs
from .metrics import resolve_metric
from .resampling import approximate_randomization, paired_bootstrap
from .results import ComparisonResult

__all__ = ["compare_translations"]


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
    m = resolve_metric(metric)
    if not isinstance(m, CorpusMetric):
        raise ConfigError("metric", metric, "translations are scored with bleu, chrf or chrf++")
    check_translation_inputs(hypotheses_b, references)
    sa = m.sentence_stats(hypotheses_a, references)
    sb = m.sentence_stats(hypotheses_b, references)
    return tests[test](sa, sb, m, **kwargs)
