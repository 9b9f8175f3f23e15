"""Every figure of the study, drawn from results files only (no model, no data loading).

Example::

    >>> import os, tempfile
    >>> import pandas as pd
    >>> from paper_utils.config import load_preset
    >>> from paper_utils.layout import fertility_csv
    >>> os.environ["PAPER_UTILS_RESULTS"] = tempfile.mkdtemp()     # a results root with stage 01 only
    >>> cfg = load_preset("smoke")
    >>> fertility_csv(cfg.name).parent.mkdir(parents=True)
    >>> pd.DataFrame({"tokenizer": ["gpt2"] * 2, "language": ["en", "uz"], "fertility": [1.2, 3.4],
    ...               "parity": [1.0, 2.8]}).to_csv(fertility_csv(cfg.name), index=False)
    >>> sorted(all_figures(cfg))                 # a figure whose inputs are missing is skipped (some say so)
    convergence figure uz x smollm2-135m: no finished stage-04 run yet, skipped
    ['fertility_heatmap', 'fertility_parity']
    >>> del os.environ["PAPER_UTILS_RESULTS"]

Each ``figure_*`` function takes a preset, reads the files its stages wrote (paths from
:mod:`paper_utils.layout`, for every language x model of the grid) and returns the saved paths (PNG and
SVG) under ``results/<preset>/figures/``, or nothing when its inputs do not exist yet, so the batch
draws whatever stages have run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from .config import Preset
from .io import save_figure
from .layout import ModelLayout, fertility_csv, figures_dir, fusion_dir, fusion_token_weights_file, model_key
from .plots import (budget_curve, fertility_heatmap, fusion_layer_weights, fusion_loss_curves, fusion_token_heatmap,
                    heldout_curves)


def _models(cfg: Preset) -> list[ModelLayout]:
    return [ModelLayout(cfg.name, lang, model) for lang in cfg.grid.languages for model in cfg.grid.models]


def figure_fertility(cfg: Preset) -> dict[str, list[Path]]:
    path = fertility_csv(cfg.name)
    if not path.exists():
        return {}
    table = pd.read_csv(path)
    made = {}
    for value, name in (("fertility", "fertility_heatmap"), ("parity", "fertility_parity")):
        made[name] = save_figure(fertility_heatmap(table, value), figures_dir(cfg.name) / name)
    return made


def figure_budget_curves(cfg: Preset) -> dict[str, list[Path]]:
    curves = [lay.budget_curve_csv for lay in _models(cfg) if lay.budget_curve_csv.exists()]
    if not curves:
        return {}
    table = pd.concat([pd.read_csv(p) for p in curves], ignore_index=True)
    return {"fertility_budget": save_figure(budget_curve(table), figures_dir(cfg.name) / "fertility_budget")}


def figure_initialization(cfg: Preset) -> dict[str, list[Path]]:
    """Step-0 diagnostics per language x model (notebook 03's ``init/*.json``)."""
    from .init import read_results, results_table, step0_figure

    made = {}
    for lay in _models(cfg):
        if not lay.init_record("base").exists():
            continue
        records = read_results(lay.init_dir)
        name = f"init_step0__{lay.language}__{lay.key}"
        fig = step0_figure(results_table(records), base_bpb=records["base"].get("heldout_bpb"))
        made[name] = save_figure(fig, figures_dir(cfg.name) / name)
    return made


def figure_adaptation(cfg: Preset) -> dict[str, list[Path]]:
    """Loss and held-out bpb curves per language x model (notebook 04's ``train_log.jsonl``)."""
    from .adapt_data import collect_runs, curves_figure

    made = {}
    for lay in _models(cfg):
        runs = collect_runs(cfg.name, lay.language, lay.model)
        if not runs:
            continue
        base = next((r["summary"].get("base_bpb") for r in runs.values() if r["summary"].get("base_bpb")), None)
        name = f"adapt_curves__{lay.language}__{lay.key}"
        fig = curves_figure({k: r["log"] for k, r in runs.items()}, base_bpb=base, title=f"{lay.language} x {lay.key}")
        made[name] = save_figure(fig, figures_dir(cfg.name) / name)
    return made


def figure_convergence(cfg: Preset, band: str = "minmax", log: Callable[[str], None] = print) -> dict[str, list[Path]]:
    """Held-out bpb vs step per language x model, a band over seeds (min-max by default), for the preset's
    adapted methods (fvt, bxod, the chosen variant), the base model's bpb as a dashed line; a language x model or
    method without finished stage-04 runs is skipped with a printed note."""
    from .convergence import curve_table

    made = {}
    for lay in _models(cfg):
        curves = curve_table(cfg.name, lay.language, lay.model, cfg.grid.adapt_methods)
        missing = [m for m in cfg.grid.adapt_methods if m not in set(curves["method"])]
        if curves.empty:
            log(f"convergence figure {lay.language} x {lay.key}: no finished stage-04 run yet, skipped")
            continue
        if missing:
            log(f"convergence figure {lay.language} x {lay.key}: no finished run of {', '.join(missing)}, drawn without")
        base = curves["base_bpb"].dropna()
        name = f"convergence__{lay.language}__{lay.key}"
        fig = heldout_curves(curves, base_bpb=float(base.iloc[0]) if len(base) else None, methods=cfg.grid.adapt_methods,
                             band=band, title=f"Held-out bpb during adaptation: {lay.language} x {lay.key}")
        made[name] = save_figure(fig, figures_dir(cfg.name) / name)
    return made


# data/debian.toml keys of font packages: the font files are their `extract` paths (Nanum Gothic regular and bold)
FONT_PACKAGES = ("fonts-nanum",)


def register_fonts() -> list[Path]:
    """Make the pinned fonts that ``assets fetch`` unpacked (:data:`FONT_PACKAGES`: Nanum Gothic for Hangul)
    matplotlib's fallbacks (:func:`paper_utils.plots.add_fallback_fonts`); a font not in the cache is skipped (its
    glyphs then show as boxes, with matplotlib's "Glyph missing" warning). Returns the font files used."""
    from .debian_packs import get_package
    from .plots import add_fallback_fonts

    packages = [get_package(key) for key in FONT_PACKAGES]
    files = [p.unpacked_path / name for p in packages if p.is_cached() for name in p.extract]
    add_fallback_fonts(files)
    return files


def fusion_curve_table(cfg: Preset, trainings) -> pd.DataFrame:
    """Long table ``run, text, step, loss`` of the fusion trainings' evaluations (``train_log.jsonl``): ``English``
    for the held-out English loss, the language code for ``translation_loss_<lang>`` (when the run logged it)."""
    from .train import read_log

    rows = []
    for model, label, seed in trainings:
        path = fusion_dir(cfg.name, model, label, seed) / "train_log.jsonl"
        for rec in (read_log(path) if path.exists() else []):
            if rec.get("type") != "eval":
                continue
            run = f"{label} seed {seed}"
            rows.append({"run": run, "text": "English", "step": rec["step"], "loss": rec["heldout_loss"]})
            rows += [{"run": run, "text": key[len("translation_loss_"):], "step": rec["step"], "loss": value}
                     for key, value in rec.items() if key.startswith("translation_loss_")]
    return pd.DataFrame(rows, columns=["run", "text", "step", "loss"])


def figure_fusion(cfg: Preset) -> dict[str, list[Path]]:
    """The fusion recipe's figures (notebook 08): per model, the ``global_softmax`` runs' learned softmax over the
    encoder states (``summary.json``) and the held-out losses during training (:func:`fusion_curve_table`), and per
    ``transformer_softmax`` run the per-token weights of one held-out sentence per language (``token_weights.json``)."""
    from .io import read_json

    register_fonts()                            # Korean tokens in the heat maps
    made = {}
    trainings = cfg.fusion_trainings() if cfg.fusion.enabled else []
    for model in dict.fromkeys(m for m, _, _ in trainings):
        own = [t for t in trainings if t[0] == model]
        rows = {}
        for m, label, seed in own:
            summary = fusion_dir(cfg.name, m, label, seed) / "summary.json"
            weights = read_json(summary).get("layer_weights") if summary.exists() else None
            if weights:
                rows[f"{label} seed {seed}"] = weights
        if rows:
            name = f"fusion_layer_weights__{model_key(model)}"
            made[name] = save_figure(fusion_layer_weights(rows, f"Learned layer weights: {model_key(model)}"),
                                     figures_dir(cfg.name) / name)
        curves = fusion_curve_table(cfg, own)
        if len(curves):
            name = f"fusion_loss_curves__{model_key(model)}"
            made[name] = save_figure(fusion_loss_curves(curves, f"Held-out loss during fusion training: "
                                                                f"{model_key(model)}"), figures_dir(cfg.name) / name)
    for model, label, seed in trainings:
        path = fusion_token_weights_file(cfg.name, model, label, seed)
        if label.endswith("transformer_softmax") and path.exists():
            name = f"fusion_token_weights__{model_key(model)}__{label}__seed{seed}"
            fig = fusion_token_heatmap(read_json(path)["examples"],
                                       f"Per-token layer weights: {model_key(model)}, {label}, seed {seed}")
            made[name] = save_figure(fig, figures_dir(cfg.name) / name)
    return made


FIGURES = [figure_fertility, figure_budget_curves, figure_initialization, figure_adaptation, figure_convergence,
           figure_fusion]


def all_figures(cfg: Preset) -> dict[str, list[Path]]:
    """Draw every figure whose inputs exist; returns ``{figure name: saved paths}``."""
    import matplotlib.pyplot as plt

    made: dict[str, list[Path]] = {}
    for draw in FIGURES:
        made.update(draw(cfg))
        plt.close("all")
    return made


__all__ = ["FIGURES", "FONT_PACKAGES", "register_fonts", "all_figures", "figure_fertility", "figure_budget_curves",
           "figure_initialization", "figure_adaptation", "figure_convergence", "figure_fusion", "fusion_curve_table"]
