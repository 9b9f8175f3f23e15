"""Stage 6: paired significance between the evaluated methods of each language x model.

Example::

    >>> import pathlib, tempfile
    >>> from paper_utils.io import write_jsonl
    >>> from paper_utils.evaluate.significance import compare_runs
    >>> base, bxod = pathlib.Path(tempfile.mkdtemp()), pathlib.Path(tempfile.mkdtemp())   # two eval/<method>/
    >>> docs = [(str(i), 10 * (i + 1)) for i in range(8)]                  # (id, bytes)
    >>> write_jsonl(base / "bpb.jsonl", [{"id": i, "bits": 1.0 * n, "bytes": n} for i, n in docs])
    >>> write_jsonl(bxod / "bpb.jsonl", [{"id": i, "bits": 0.9 * n, "bytes": n} for i, n in docs])
    >>> [(r.statistic, round(r.delta, 3), round(r.p_value, 4)) for r in compare_runs(base, bxod, "base", "bxod")]
    [('corpus_bpb', -0.1, 0.0081), ('mean_document_bpb', -0.1, 0.0078)]

:func:`write_significance` does this for every pair of a preset's evaluated runs and writes
``results/<preset>/significance.csv``.

For every language x model, every pair of evaluated runs found under ``results/<preset>/<language>/<model>/eval/``
(``base`` first as ``method_a``, then the preset's method order, seeds > 0 as ``<method>__seed<k>``) is compared
on the items both runs scored (the ids must match exactly):

=============================  =====================  ==================================================  =====
metric                         statistic              test (:mod:`paper_utils.stats`)                      delta
=============================  =====================  ==================================================  =====
``chrF2++ <dir>``              ``corpus_chrf2++``     paired bootstrap (Koehn 2004; sacrebleu                b - a
                                                      ``--paired-bs``) on the corpus chrF++ recomputed
                                                      from sentence statistics (primary translation score)
``BLEU <dir>``                 ``corpus_bleu``        secondary: paired bootstrap of corpus BLEU           b - a
``matching accuracy <dir>``    ``accuracy``           exact McNemar on per-item correctness (translation   b - a
                                                      matching, per-byte normalized), bootstrap CI
``accuracy``                   ``accuracy``           exact McNemar on per-item correctness, bootstrap CI  b - a
``accuracy_norm``              ``accuracy``           exact McNemar (byte-normalized classification)       b - a
``MMLU accuracy``              ``accuracy``           exact McNemar (letter format)                        b - a
``MMLU cloze accuracy``        ``accuracy``           exact McNemar (cloze form, per-byte normalized)      b - a
``bpb``                        ``corpus_bpb``         paired approximate randomization of corpus bits per  b - a
                                                      byte (sum bits / sum bytes, recomputed per
                                                      resample), paired bootstrap CI (lower is better)
``bpb``                        ``mean_document_bpb``  secondary: sign-flip permutation of per-document bpb b - a
``English bpb``                ``corpus_bpb``         as ``bpb``, on the held-out English documents         b - a
                                                      (:mod:`paper_utils.evaluate.english_bpb`; + the
                                                      secondary ``mean_document_bpb`` row)
``heldout bpb @ step k``       ``corpus_bpb_at_step`` stage 04's curves: approximate randomization over   b - a
                                                      documents of corpus bpb at ``[adaptation]
                                                      convergence_step`` (bits summed over shared seeds)
``heldout bpb AUC``            ``auc_heldout_bpb``    secondary: exact sign-flip permutation over shared   b - a
                                                      seeds (>= 2) of the area under the held-out curve
=============================  =====================  ==================================================  =====

The two curve rows (:mod:`paper_utils.convergence`) compare every pair of the preset's adapted methods whose
stage-04 runs finished (``method_a`` first in ``grid.adapt_methods``), whether or not they were evaluated.

``n_samples = cfg.evaluation.bootstrap_samples`` for bootstrap tests and CIs, 10,000 trials for the approximate
randomization and the permutation test, seed 12345 (sacrebleu's). ``p_adjusted``: Holm over every *primary*
comparison of the study (one family: every row but the labelled secondary ``corpus_bleu``, ``mean_document_bpb``
and ``auc_heldout_bpb`` rows, whose ``p_adjusted`` stays empty: chrF++ is the primary translation score). The CSV columns are :data:`paper_utils.stats.CSV_COLUMNS`. ``bpb.jsonl`` records carry
``bits`` and ``bytes`` per document (stage 05); a record with only ``bpb`` and ``bytes`` is read as
``bits = bpb * bytes``.
"""
from __future__ import annotations

import csv
import math
from itertools import combinations
from pathlib import Path

from .. import stats
from ..config import Preset
from ..convergence import convergence_rows
from ..errors import DataError
from ..franken_grid import is_franken_label
from ..io import atomic_path, read_json, read_jsonl
from ..layout import ModelLayout, eval_label, eval_method, significance_csv, study_root


def discover(cfg: Preset) -> dict[tuple[str, str], dict[str, Path]]:
    """``{(language, model): {run label: eval folder}}`` for every finished run (a ``scores.json``)."""
    found: dict[tuple[str, str], dict[str, Path]] = {}
    order = ["base"] + [eval_label(m, s) for m in cfg.grid.adapt_methods for s in cfg.grid.all_seeds]
    for lang in cfg.grid.languages:
        for model in cfg.grid.models:
            root = ModelLayout(cfg.name, lang, model).eval_root
            if not root.is_dir():
                continue
            runs = {p.name: p for p in root.iterdir() if (p / "scores.json").exists()}
            ranked = sorted(runs, key=lambda r: (order.index(r) if r in order else len(order), r))
            if ranked:
                found[(lang, model)] = {r: runs[r] for r in ranked}
    return found


def _paired(a: list[dict], b: list[dict], what: str) -> tuple[list[dict], list[dict]]:
    ids_a, ids_b = [r["id"] for r in a], [r["id"] for r in b]
    if ids_a != ids_b:
        raise DataError(f"{what}: the two runs scored different items ({len(ids_a)} vs {len(ids_b)}); rerun "
                        "both with the same preset so the comparison is paired")
    return a, b


def compare_runs(folder_a: Path, folder_b: Path, method_a: str, method_b: str, *, n_samples: int = 1000,
                 seed: int = stats.DEFAULT_SEED) -> list[stats.ComparisonResult]:
    """Every paired comparison of two evaluated runs (tasks present in both; translation only where both were
    prompted the same way: a Franken-Adapter run translates by instruction, the others by 5 shots)."""
    out: list[stats.ComparisonResult] = []
    kw = {"method_a": method_a, "method_b": method_b, "seed": seed}
    for path_a in sorted(folder_a.glob("translation_*.jsonl")):
        path_b = folder_b / path_a.name
        if not path_b.exists():
            continue
        direction = path_a.stem.split("_", 1)[1]
        if _translation_style(folder_a, direction) != _translation_style(folder_b, direction):
            continue                 # 5-shot against instruction prompting (the Franken runs): not one task
        a, b = _paired(read_jsonl(path_a), read_jsonl(path_b), path_a.name)
        refs = [r["reference"] for r in a]
        if refs != [r["reference"] for r in b]:
            raise DataError(f"{path_a.name}: the references differ between {method_a} and {method_b}")
        hyp_a, hyp_b = [r["hypothesis"] for r in a], [r["hypothesis"] for r in b]
        for metric, name in (("chrf++", "chrF2++"), ("bleu", "BLEU")):
            out.append(stats.compare_translations(hyp_a, hyp_b, refs, metric, test="paired_bootstrap",
                                                  n_samples=n_samples, label=f"{name} {direction}", **kw))
    accuracies = [(p.name, "correct", f"matching accuracy {p.stem.split('_', 1)[1]}")
                  for p in sorted(folder_a.glob("matching_*.jsonl"))]
    accuracies += [("classification.jsonl", "correct", "accuracy"),
                   ("classification.jsonl", "correct_norm", "accuracy_norm"),
                   ("mmlu.jsonl", "correct", "MMLU accuracy"), ("mmlu_cloze.jsonl", "correct", "MMLU cloze accuracy")]
    for name, key, label in accuracies:
        if (folder_a / name).exists() and (folder_b / name).exists():
            a, b = _paired(read_jsonl(folder_a / name), read_jsonl(folder_b / name), name)
            out.append(stats.mcnemar_exact([int(r[key]) for r in a], [int(r[key]) for r in b], ci_samples=n_samples,
                                           label=label, **kw))
    for name, label in (("bpb.jsonl", "bpb"), ("english_bpb.jsonl", "English bpb")):
        if (folder_a / name).exists() and (folder_b / name).exists():
            a, b = _paired(read_jsonl(folder_a / name), read_jsonl(folder_b / name), name)
            (bits_a, bytes_a), (bits_b, bytes_b) = _bits_bytes(a, folder_a / name), _bits_bytes(b, folder_b / name)
            out += stats.compare_bpb(bits_a, bytes_a, bits_b, bytes_b, ci_samples=n_samples, label=label, **kw)
    return out


def _translation_style(folder: Path, direction: str) -> str:
    """How the run in ``folder`` was asked to translate in ``direction`` (``scores.json``; runs scored before the
    styles existed were all 5-shot)."""
    scores = folder / "scores.json"
    if not scores.exists():
        return "few_shot"
    task = read_json(scores).get("tasks", {}).get("translation", {}).get(direction, {})
    return task.get("style", "few_shot")


def _bits_bytes(records: list[dict], path: Path) -> tuple[list[float], list[float]]:
    """Per-document bits and bytes of a ``bpb.jsonl`` (``bits = bpb * bytes`` when only those are stored)."""
    try:
        return ([r["bits"] if "bits" in r else r["bpb"] * r["bytes"] for r in records],
                [r["bytes"] for r in records])
    except KeyError as exc:
        raise DataError(f"{path}: a record lacks {exc}; the corpus bits per byte needs each "
                        "document's bits (or bpb) and bytes: rerun stage 05 (notebook 05) for this run") from None


def same_items(cfg: Preset, label_a: str, label_b: str) -> bool:
    """Were the two runs scored on the same items? Not a Franken comparison label against another run when
    ``[franken.evaluation]`` gives the comparison labels their own sizes (those are compared in notebook 10). The
    whole pair is left out, also its tasks whose items no size changes (the held-out target bits per byte): the
    Franken labels form their own family of tests.

    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("demo-full")
    >>> same_items(cfg, "sibling", "franken_fvt"), same_items(cfg, "base", "franken_fvt"), same_items(cfg, "base", "fvt")
    (True, False, True)
    """
    if not dict(cfg.franken.evaluation):
        return True
    return (is_franken_label(eval_method(label_a), cfg.franken)
            == is_franken_label(eval_method(label_b), cfg.franken))


def significance_rows(cfg: Preset, correction: str = "holm") -> list[tuple[str, str, stats.ComparisonResult]]:
    """``(language, model, result)`` for every pair of runs scored on the same items (:func:`same_items`); p-values
    corrected over the study's primary rows."""
    rows = []
    for (lang, model), runs in discover(cfg).items():
        for a, b in combinations(list(runs), 2):
            if not same_items(cfg, a, b):
                continue
            for r in compare_runs(runs[a], runs[b], a, b, n_samples=cfg.evaluation.bootstrap_samples):
                rows.append((lang, model, r))
    for lang in cfg.grid.languages:          # stage 04's held-out curves (paper_utils.convergence)
        for model in cfg.grid.models:
            rows += [(lang, model, r) for r in convergence_rows(cfg, lang, model,
                                                                ci_samples=cfg.evaluation.bootstrap_samples)]
    if not rows:
        return []
    corrected = stats.correct_primary([r for _, _, r in rows], correction)
    return [(lang, model, r) for (lang, model, _), r in zip(rows, corrected)]


def _cell(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value


def write_significance(cfg: Preset, path: Path | None = None, correction: str = "holm") -> Path:
    """Write ``results/<preset>/significance.csv`` (columns ``stats.CSV_COLUMNS``); returns the path.

    Raises :class:`~paper_utils.errors.DataError` when fewer than two runs of one language x model exist.
    """
    rows = significance_rows(cfg, correction)
    if not rows:
        raise DataError(f"no pair of evaluated runs under {study_root(cfg.name)}/<language>/<model>/eval/: "
                        "evaluate at least two methods (e.g. base and an adapted one) first")
    path = Path(path or significance_csv(cfg.name))
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(stats.CSV_COLUMNS))
        writer.writeheader()
        for lang, model, r in rows:
            writer.writerow({"language": lang, "model": model,
                             **{k: _cell(getattr(r, k)) for k in stats.CSV_COLUMNS if k not in ("language", "model")}})
    return path
