"""The record of one paired comparison, and the significance CSV that holds a table of them.

Example::

    >>> from paper_utils.stats.results import ComparisonResult, CSV_COLUMNS
    >>> r = ComparisonResult("chrF2++", "base", "adapted", 1.2, 0.1, 2.3, 0.03, "paired_bootstrap", 200,
    ...                      statistic="corpus_chrf2++")
    >>> r.delta, CSV_COLUMNS[:4], r.primary
    (1.2, ('language', 'model', 'metric', 'statistic'), True)

Every test of the package returns a :class:`ComparisonResult`; :func:`write_significance_csv` writes a list of
them atomically with the columns :data:`CSV_COLUMNS`. The ``statistic`` column names the number the test tested
and ``delta`` reports: ``corpus_bpb`` (sum of bits / sum of bytes, the value the tables show),
``corpus_chrf2++``, ``accuracy``, or a labelled secondary statistic: ``mean_document_bpb`` (the unweighted mean
of per-document bpb), ``corpus_bleu`` (BLEU is reported beside the primary chrF++), ``auc_heldout_bpb`` and
``mean_sentence_chrf2++`` (the mean of sentence chrF++ beside corpus chrF++). Statistics in
:data:`SECONDARY_STATISTICS` are reported beside the primary ones and left out of the multiple-comparison family
(:func:`~paper_utils.stats.corrections.correct_primary`).

Sign convention: ``delta = score(method_b) - score(method_a)``; for BLEU/chrF/accuracy a positive delta means
``method_b`` is better, for bits per byte a negative one does.
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..io import atomic_path

__all__ = ["CSV_COLUMNS", "SECONDARY_STATISTICS", "ComparisonResult", "write_significance_csv"]

CSV_COLUMNS = ("language", "model", "metric", "statistic", "method_a", "method_b", "delta", "ci_low", "ci_high",
               "p_value", "p_adjusted", "test", "n")

# reported, labelled, outside the Holm family: the unweighted mean of per-document bpb (corpus_bpb is primary),
# corpus BLEU (corpus chrF++ is the primary translation score, issue 15) and the area under the held-out curve
# (over 3 seeds its exact p-value is >= 0.25; stats.convergence), and the mean of sentence chrF++ (CLO runs: corpus
# chrF++ is primary)
SECONDARY_STATISTICS = ("mean_document_bpb", "corpus_bleu", "auc_heldout_bpb", "mean_sentence_chrf2++")


@dataclass(frozen=True)
class ComparisonResult:
    """One paired comparison ``method_b`` vs ``method_a`` on one metric.

    Example::

        >>> r = ComparisonResult("BLEU", "base", "adapted", 1.2, 0.1, 2.3, 0.03, "paired_bootstrap", 200)
        >>> r.delta, r.p_adjusted
        (1.2, nan)

    ``delta`` is ``score(b) - score(a)``; ``ci_low``/``ci_high`` a percentile bootstrap interval for it (NaN when
    not computed); ``n`` the number of paired items (sentences, questions, documents); ``p_adjusted`` is NaN
    until :func:`correct` fills it. ``statistic`` names what ``delta``, the interval and the p-value are all
    computed on (every test of the package fills it; ``""`` only for records built by hand).
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
    statistic: str = ""

    @property
    def primary(self) -> bool:
        """False for a labelled secondary statistic (:data:`SECONDARY_STATISTICS`), True otherwise."""
        return self.statistic not in SECONDARY_STATISTICS


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
        >>> p.read_text().splitlines()[0].split(",")[:4]
        ['language', 'model', 'metric', 'statistic']

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
