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

The modules, from the bottom up (each docstring says what it does and how it departs from its reference):

* :mod:`.inputs` -- argument and paired-value checks, the seed (``DEFAULT_SEED`` = sacrebleu's 12345).
* :mod:`.results` -- :class:`ComparisonResult`, :data:`CSV_COLUMNS`, :func:`write_significance_csv` (atomic).
* :mod:`.corpus_metrics` -- :class:`CorpusMetric`: corpus BLEU / chrF / chrF++ from per-sentence statistics,
  vectorized, equal to sacrebleu.
* :mod:`.metrics` -- :class:`MeanMetric`, :class:`RatioMetric` (ratio of sums: corpus bits per byte),
  :func:`sentence_stats`, :func:`corpus_score`, metric names.
* :mod:`.resampling` -- :func:`paired_bootstrap`, :func:`approximate_randomization` (sacrebleu semantics, with
  ``p = 1`` for an observed difference of exactly 0), :func:`bootstrap_ci`.
* :mod:`.exact` -- :func:`mcnemar_exact` / :func:`mcnemar_pvalue`, :func:`paired_permutation`,
  :func:`wilcoxon_signed_rank`.
* :mod:`.corpus_ratio` -- :func:`paired_corpus_ratio` (approximate randomization + paired bootstrap, both corpus
  values recomputed per resample) and :func:`compare_bpb` (``corpus_bpb`` row + secondary ``mean_document_bpb``).
* :mod:`.corrections` -- :func:`adjust_pvalues` / :func:`correct` (Holm, Benjamini-Hochberg),
  :func:`correct_primary` (the family of primary statistics only).
* :mod:`.translation` -- :func:`compare_translations`: hypotheses and references in, a test result out.
* :mod:`.convergence` -- held-out curves: :func:`steps_to_reach`, :func:`area_under_curve`, :func:`seed_spread`,
  :func:`compare_auc` (paired over seeds, secondary ``auc_heldout_bpb``) and :func:`compare_at_step` (paired over
  documents at one logged step, ``corpus_bpb_at_step``).

Sign convention: ``delta = score(method_b) - score(method_a)``; for BLEU/chrF/accuracy a positive delta means
``method_b`` is better, for bits per byte a negative one does. Every result names the statistic its delta,
interval and p-value are computed on (``statistic``: ``corpus_bpb``, ``corpus_bleu``, ``accuracy``,
``mean_document_bpb``, ...).
"""
from __future__ import annotations

from .convergence import (AUC_BPB, CORPUS_BPB_AT_STEP, area_under_curve, compare_at_step, compare_auc, curve_metrics,
                          seed_spread, steps_to_reach)
from .corpus_metrics import CorpusMetric
from .corpus_ratio import CORPUS_BPB, MEAN_DOCUMENT_BPB, compare_bpb, paired_corpus_ratio
from .corrections import adjust_pvalues, correct, correct_primary
from .exact import (
    mcnemar_exact,
    mcnemar_pvalue,
    paired_permutation,
    wilcoxon_signed_rank,
)
from .inputs import DEFAULT_SEED
from .metrics import MeanMetric, RatioMetric, corpus_score, sentence_stats
from .resampling import approximate_randomization, bootstrap_ci, paired_bootstrap
from .results import CSV_COLUMNS, SECONDARY_STATISTICS, ComparisonResult, write_significance_csv
from .translation import compare_translations

__all__ = [
    "AUC_BPB",
    "CORPUS_BPB_AT_STEP",
    "area_under_curve",
    "compare_at_step",
    "compare_auc",
    "curve_metrics",
    "seed_spread",
    "steps_to_reach",
    "CORPUS_BPB",
    "CSV_COLUMNS",
    "DEFAULT_SEED",
    "MEAN_DOCUMENT_BPB",
    "SECONDARY_STATISTICS",
    "ComparisonResult",
    "CorpusMetric",
    "MeanMetric",
    "RatioMetric",
    "adjust_pvalues",
    "approximate_randomization",
    "bootstrap_ci",
    "compare_bpb",
    "compare_translations",
    "corpus_score",
    "correct",
    "correct_primary",
    "mcnemar_exact",
    "mcnemar_pvalue",
    "paired_bootstrap",
    "paired_corpus_ratio",
    "paired_permutation",
    "sentence_stats",
    "wilcoxon_signed_rank",
    "write_significance_csv",
]
