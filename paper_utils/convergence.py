"""Convergence of the adapted runs: held-out curves read from stage 04's logs, per-run and per-seed tables, paired rows.

Example::

    >>> import os, tempfile
    >>> from paper_utils.config import load_preset
    >>> from paper_utils.convergence import convergence_rows, run_table, seed_table, write_synthetic_runs
    >>> os.environ["PAPER_UTILS_RESULTS"] = tempfile.mkdtemp()      # a results root with synthetic stage-04 logs
    >>> cfg = load_preset("smoke")
    >>> write_synthetic_runs(cfg.name, "uz", "smollm2-135m", {"fvt": [0, 1, 2], "bxod": [0, 1, 2]})
    >>> runs = run_table(cfg.name, "uz", "smollm2-135m", ["fvt", "bxod"])
    >>> runs[["method", "seed", "steps_to_base_bpb", "reached_base"]].head(2).values.tolist()
    [['fvt', 0, 3, True], ['fvt', 1, 3, True]]
    >>> seed_table(runs)[["method", "n_seeds", "auc_bpb_mean"]].round(4).values.tolist()
    [['fvt', 3, 3.62], ['bxod', 3, 3.5325]]
    >>> rows = convergence_rows(cfg, "uz", "smollm2-135m", n_samples=200, ci_samples=0)
    >>> [(r.method_a, r.method_b, r.statistic) for r in rows]
    [('fvt', 'bxod', 'auc_heldout_bpb'), ('fvt', 'bxod', 'corpus_bpb_at_step')]
    >>> del os.environ["PAPER_UTILS_RESULTS"]

Reads only finished runs (a ``summary.json``) under ``results/<preset>/<language>/<model key>/adapt/<method>__seed<k>/``
and their ``train_log.jsonl`` ``eval`` records (:mod:`paper_utils.train.loop`); the numbers are
:mod:`paper_utils.stats.convergence`'s:

* :func:`curve_table` -- one row per logged point: ``method, seed, step, heldout_bpb`` (the figure's input).
* :func:`run_table` -- one row per run: ``base_bpb``, ``final_bpb``, ``auc_bpb`` (trapezoid / step span),
  ``steps_to_base_bpb`` (None + ``reached_base`` False when never reached).
* :func:`seed_table` -- per (language, model, method): ``n_seeds`` and mean / sd / min / max over seeds of
  ``final_bpb``, ``auc_bpb`` and ``steps_to_base_bpb`` (over the seeds that reached it; ``reached_base`` counts them).
* :func:`convergence_rows` -- for every pair of the preset's adapted methods (preset order: ``method_a`` first), the
  paired test over shared seeds of ``auc_heldout_bpb`` (>= 2 seeds) and the document-level test of
  ``corpus_bpb_at_step`` at ``[adaptation] convergence_step`` (:mod:`paper_utils.eval_steps`; needs logs with
  per-document bits). Stage 06 adds them to ``significance.csv``.
"""
from __future__ import annotations

import json
from itertools import combinations
from typing import Callable, Sequence

import pandas as pd

from . import stats
from .eval_steps import compared_step
from .io import read_json
from .layout import ModelLayout, adapt_label
from .train import read_log

SPREAD_OF = ("final_bpb", "auc_bpb", "steps_to_base_bpb")


def read_runs(preset: str, language: str, model: str, methods: Sequence[str] | None = None) -> dict[tuple[str, int], dict]:
    """``{(method, seed): {"base_bpb", "evals": [eval records by step]}}`` of every finished run (of ``methods``)."""
    root = ModelLayout(preset, language, model).adapt_root
    runs: dict[tuple[str, int], dict] = {}
    for summary in sorted(root.glob("*__seed*/summary.json")):
        method, _, seed = summary.parent.name.rpartition("__seed")
        if not seed.isdigit() or (methods is not None and method not in methods):
            continue
        records = read_log(summary.parent / "train_log.jsonl")
        evals = sorted((r for r in records if r.get("type") == "eval"), key=lambda r: r["step"])
        if not evals:
            continue
        base = read_json(summary).get("base_bpb")
        if base is None:
            base = next((r["base_bpb"] for r in records if r.get("type") == "reference"), None)
        runs[(method, int(seed))] = {"base_bpb": base, "evals": evals}
    order = list(methods) if methods is not None else sorted({m for m, _ in runs})
    return dict(sorted(runs.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])))


def curve_table(preset: str, language: str, model: str, methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Long table ``language, model, method, seed, step, heldout_bpb, base_bpb`` of every finished run."""
    rows = [{"language": language, "model": model, "method": m, "seed": s, "step": r["step"],
             "heldout_bpb": r["heldout_bpb"], "base_bpb": run["base_bpb"]}
            for (m, s), run in read_runs(preset, language, model, methods).items() for r in run["evals"]]
    return pd.DataFrame(rows, columns=["language", "model", "method", "seed", "step", "heldout_bpb", "base_bpb"])


def run_table(preset: str, language: str, model: str, methods: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per finished run: its curve's metrics (:func:`paper_utils.stats.curve_metrics`)."""
    rows = []
    for (m, s), run in read_runs(preset, language, model, methods).items():
        metrics = stats.curve_metrics([r["step"] for r in run["evals"]], [r["heldout_bpb"] for r in run["evals"]],
                                      run["base_bpb"])
        rows.append({"language": language, "model": model, "method": m, "seed": s, "base_bpb": run["base_bpb"],
                     **metrics})
    return pd.DataFrame(rows)


def seed_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (language, model, method): seeds, mean / sd / min / max of :data:`SPREAD_OF`, runs that reached base."""
    rows = []
    if runs.empty:
        return pd.DataFrame(rows)
    for (lang, model, method), group in runs.groupby(["language", "model", "method"], sort=False):
        row = {"language": lang, "model": model, "method": method, "n_seeds": len(group),
               "seeds": " ".join(str(s) for s in sorted(group["seed"])), "reached_base": int(group["reached_base"].sum())}
        for col in SPREAD_OF:
            spread = stats.seed_spread([None if pd.isna(v) else float(v) for v in group[col]])
            row.update({f"{col}_{k}": v for k, v in spread.items() if k != "n"})
        rows.append(row)
    return pd.DataFrame(rows)


def _at_step(run: dict, step: int) -> dict | None:
    return next((r for r in run["evals"] if r["step"] == step and r.get("document_bits")), None)


def convergence_rows(cfg, language: str, model: str, *, n_samples: int = 10000, ci_samples: int = 1000,
                     log: Callable[[str], None] = lambda line: None) -> list[stats.ComparisonResult]:
    """Paired rows for every pair of ``cfg.grid.adapt_methods`` with finished runs (module doc); ``log`` says
    what was skipped and why."""
    runs = read_runs(cfg.name, language, model, cfg.grid.adapt_methods)
    a = cfg.adaptation
    step = compared_step(a.stage1_steps, a.stage2_steps, a.convergence_step)
    out = []
    for m_a, m_b in combinations(cfg.grid.adapt_methods, 2):
        seeds = sorted({s for m, s in runs if m == m_a} & {s for m, s in runs if m == m_b})
        if not seeds:
            continue
        where = f"{language} x {model}: {m_a} vs {m_b}"
        curves = {m: [runs[(m, s)]["evals"] for s in seeds] for m in (m_a, m_b)}
        steps = {tuple(r["step"] for r in ev) for m in curves for ev in curves[m]}
        if len(seeds) >= 2 and len(steps) == 1:
            auc = {m: [stats.area_under_curve([r["step"] for r in ev], [r["heldout_bpb"] for r in ev]) for ev in curves[m]]
                   for m in curves}
            out.append(stats.compare_auc(auc[m_a], auc[m_b], method_a=m_a, method_b=m_b, ci_samples=ci_samples))
        else:
            log(f"{where}: no paired AUC test ({len(seeds)} shared seed(s), {len(steps)} distinct step grids)")
        points = {m: [_at_step(runs[(m, s)], step) for s in seeds] for m in (m_a, m_b)}
        if any(p is None for ps in points.values() for p in ps):
            log(f"{where}: no test at step {step} (a run did not log per-document bits there)")
            continue
        out.append(stats.compare_at_step([p["document_bits"] for p in points[m_a]],
                                         [p["document_bits"] for p in points[m_b]], points[m_a][0]["document_bytes"],
                                         step=step, method_a=m_a, method_b=m_b, n_samples=n_samples,
                                         ci_samples=ci_samples))
    return out


def write_synthetic_runs(preset: str, language: str, model: str, seeds_of: dict[str, Sequence[int]], *,
                         steps: Sequence[int] = (0, 1, 2, 3, 4), base_bpb: float = 3.5, documents: int = 6) -> None:
    """Finished-looking stage-04 runs with made-up curves (doctests and tests): ``4.0 - 0.2 * j`` bpb at the j-th
    logged step, a method later in ``seeds_of`` 0.1 lower after step 0, a larger seed 0.02 higher per seed; the
    default steps are the smoke preset's logged steps."""
    root = ModelLayout(preset, language, model).adapt_root
    doc_bytes = [200 + 10 * d for d in range(documents)]
    for k, (method, seeds) in enumerate(seeds_of.items()):
        for seed in seeds:
            folder = root / adapt_label(method, seed)
            folder.mkdir(parents=True, exist_ok=True)
            records = [{"type": "reference", "step": 0, "base_bpb": base_bpb}]
            for j, step in enumerate(steps):
                bpb = 4.0 - 0.2 * j - 0.1 * k * (step > 0) + 0.02 * seed
                bits = [round((bpb + 0.01 * ((d * 7 + j) % 5 - 2)) * n, 4) for d, n in enumerate(doc_bytes)]
                records.append({"type": "eval", "step": step, "stage": "init" if step == 0 else "lora",
                                "heldout_bpb": sum(bits) / sum(doc_bytes), "document_bits": bits,
                                "document_bytes": doc_bytes})
            (folder / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
            (folder / "summary.json").write_text(json.dumps({"base_bpb": base_bpb, "seed": seed, "method": method}),
                                                 encoding="utf-8")


__all__ = ["SPREAD_OF", "read_runs", "curve_table", "run_table", "seed_table", "convergence_rows",
           "write_synthetic_runs"]
