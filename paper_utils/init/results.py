"""Step-0 records as tables, paired tests between methods, nearest-anchor tables and the step-0 figure.

Example::

    >>> from paper_utils.init.results import results_table
    >>> records = {"base": {"method": "base", "heldout_bpb": 4.9}, "fvt": {"method": "fvt", "heldout_bpb": 3.8}}
    >>> results_table(records)[["method", "heldout_bpb"]].values.tolist()
    [['base', 4.9], ['fvt', 3.8]]

The records are those :func:`paper_utils.init.step0` returns or writes (``init/*.json``, read back by
:func:`read_results`); :func:`paired_tests` compares methods on held-out bits per byte and can write
``init/significance.csv`` (``bxod`` vs each rival): for each rival a primary ``corpus_bpb`` row (the
table's number, sum of bits / sum of bytes, :func:`paper_utils.stats.compare_bpb`) and a labelled secondary
``mean_document_bpb`` row; Holm over the primary rows only.
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import ConfigError, DataError
from ..io import read_json
from .patch import anchor_table
from .tokens import new_tokens

if TYPE_CHECKING:
    from .setup import InitSetup


COLUMNS = ("method", "heldout_bpb", "english_kl", "english_new_argmax_share", "english_new_mass", "seconds",
           "seconds_eval", "new_tokens", "heldout_documents")


def results_table(records: Mapping[str, Mapping[str, Any]]):
    """Records (as returned or read back from ``init/*.json``) as a DataFrame with ``COLUMNS``."""
    import pandas as pd

    rows = [{c: rec.get(c, math.nan) for c in COLUMNS} for rec in records.values()]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def read_results(out_dir: str | Path) -> dict[str, dict]:
    """Every ``init/*.json`` record in ``out_dir`` by label (``base`` first)."""
    out_dir = Path(out_dir)
    files = sorted(out_dir.glob("*.json"))
    if not files:
        raise DataError(f"no step-0 results in {out_dir}; run notebook 03 (or paper_utils.init.step0) first")
    recs = {p.stem: read_json(p) for p in files}
    return {k: recs[k] for k in sorted(recs, key=lambda k: (k != "base", k))}


def _bits_and_bytes(record: Mapping[str, Any], label: str) -> tuple[list, list]:
    if "per_document_bits" not in record or "per_document_bytes" not in record:
        raise DataError(f"step-0 record {label!r} has no per_document_bits/per_document_bytes (written before the "
                        "paired tests moved to corpus bits per byte); rerun notebook 03 (stage 03) to rewrite it")
    return record["per_document_bits"], record["per_document_bytes"]


def paired_tests(records: Mapping[str, Mapping[str, Any]], reference: str = "bxod", rivals: Sequence[str] | None = None,
                 test: str = "paired_permutation", correction: str = "holm", out_csv: str | Path | None = None,
                 language: str = "", model: str = "", seed: int = 12345):
    """``reference`` vs each rival on held-out bits per byte (delta = reference - rival; < 0 favours it).

    Example::

        >>> recs = {m: {"per_document_bits": bits, "per_document_bytes": [1000, 1000, 10, 10]}
        ...         for m, bits in (("fvt", [1000, 1100, 10, 12]), ("bxod", [900, 1000, 20, 25]))}
        >>> [(r.method_a, r.statistic, round(r.delta, 4)) for r in paired_tests(recs, rivals=["fvt"])]
        [('fvt', 'corpus_bpb', -0.0876), ('fvt', 'mean_document_bpb', 0.525)]

    Per rival two rows (:func:`paper_utils.stats.compare_bpb`): ``statistic = "corpus_bpb"``, the number the
    table shows (``heldout_bpb``: sum of bits / sum of bytes), tested by paired approximate randomization with a
    paired bootstrap interval, both recomputing the corpus values per resample; then the labelled secondary
    ``"mean_document_bpb"`` (unweighted mean of per-document bpb) by ``test``: ``"paired_permutation"`` or
    ``"wilcoxon"``. ``correction`` (Holm) runs over the primary ``corpus_bpb`` rows of this call only; the
    secondary rows keep ``p_adjusted`` empty. Records need ``per_document_bits`` and ``per_document_bytes``
    (written by :func:`~paper_utils.init.step0`; an older record is refused with the fix).
    """
    from .. import stats

    if reference not in records:
        raise ConfigError("reference", reference, f"use one of the methods run: {', '.join(records)}")
    if test not in ("paired_permutation", "wilcoxon"):
        raise ConfigError("test", test, "use one of: paired_permutation, wilcoxon (the secondary mean_document_bpb "
                                        "test; corpus_bpb is always tested by approximate randomization)")
    stats.adjust_pvalues([], correction)                                    # refuse an unknown correction early
    rivals = [r for r in (rivals or records) if r != reference]
    bits_b, bytes_b = _bits_and_bytes(records[reference], reference)
    results = []
    for rival in rivals:
        bits_a, bytes_a = _bits_and_bytes(records[rival], rival)
        results += stats.compare_bpb(bits_a, bytes_a, bits_b, bytes_b, method_a=rival, method_b=reference,
                                     secondary=test, seed=seed)
    results = stats.correct_primary(results, correction)
    if out_csv is not None:
        stats.write_significance_csv(out_csv, results, language=language or "?", model=model or "?")
    return results


def example_tokens(setup: InitSetup, n: int = 8) -> list[str]:
    """Surface forms of the ``n`` new word-initial tokens used most often on the held-out text."""
    base_size = len(setup.base_tokenizer.get_vocab())
    counts: Counter = Counter()
    for ids in setup.extended_tokenizer(setup.heldout_texts, add_special_tokens=False)["input_ids"]:
        counts.update(i for i in ids if i >= base_size)
    info = new_tokens(setup.base_tokenizer, setup.extended_tokenizer)
    surface = dict(zip(info.ids, info.surfaces))
    ranked = [surface[i] for i, _ in counts.most_common() if i in surface]
    initial = [s for s in ranked if s[:1].isspace() and len(s.strip()) > 2]
    return (initial + [s for s in ranked if s not in initial])[:n]


def anchor_tables(records: Mapping[str, Mapping[str, Any]], tokens: Sequence[str], methods: Sequence[str] | None = None,
                  top: int = 4):
    """Nearest-anchor table of ``tokens`` for each method (from the records' patches)."""
    import pandas as pd

    frames = [anchor_table(rec["_patch"], tokens, top=top) for label, rec in records.items()
              if "_patch" in rec and (methods is None or label in methods)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def comparison_table(results):
    """The paired tests as a DataFrame, one row per comparison and statistic (``statistic`` column first-class).

    Example::

        >>> recs = {m: {"per_document_bits": bits, "per_document_bytes": [10, 20, 30]}
        ...         for m, bits in (("fvt", [10, 22, 33]), ("bxod", [9, 20, 30]))}
        >>> list(comparison_table(paired_tests(recs, rivals=["fvt"]))["statistic"])
        ['corpus_bpb', 'mean_document_bpb']
    """
    import pandas as pd

    return pd.DataFrame([{"rival": r.method_a, "reference": r.method_b, "statistic": r.statistic,
                          "delta_bpb": r.delta, "ci_low": r.ci_low, "ci_high": r.ci_high, "p": r.p_value,
                          "p_holm": r.p_adjusted, "n": r.n, "test": r.test} for r in results])


def step0_figure(table, base_bpb: float | None = None):
    """Held-out bpb per method (bars, base as a dashed line) and English KL (second panel)."""
    import matplotlib.pyplot as plt

    from ..plots import set_style

    set_style()
    t = table[table["method"] != "base"].sort_values("heldout_bpb")
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.5 * len(t) + 1.8))
    axes[0].barh(t["method"], t["heldout_bpb"], color="C0")
    if base_bpb is not None:
        axes[0].axvline(base_bpb, color="grey", ls="--", lw=1, label=f"base model {base_bpb:.3f}")
        axes[0].legend(loc="lower right")
    lo = min(t["heldout_bpb"].min(), base_bpb or math.inf)
    axes[0].set_xlim(lo * 0.95, t["heldout_bpb"].max() * 1.02)
    axes[0].invert_yaxis()
    axes[0].set_xlabel("held-out bits per byte (lower is better)")
    axes[0].set_title("Target language, step 0")
    axes[1].barh(t["method"], t["english_kl"], color="C1")
    axes[1].invert_yaxis()
    axes[1].set_xlabel("English KL to the base model (nats / position)")
    axes[1].set_title("English, step 0")
    fig.tight_layout()
    return fig
