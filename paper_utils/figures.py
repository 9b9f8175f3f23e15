"""Every figure of the study, drawn from results files only (no model, no data loading).

Example::

    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from paper_utils.figures import all_figures
    >>> out = pathlib.Path(tempfile.mkdtemp())            # a results/<preset>/ folder with stage 01 only
    >>> pd.DataFrame({"tokenizer": ["gpt2"] * 2, "language": ["en", "uz"], "fertility": [1.2, 3.4],
    ...               "parity": [1.0, 2.8]}).to_csv(out / "fertility.csv", index=False)
    >>> sorted(all_figures(out))
    ['fertility_heatmap', 'fertility_parity']

Each ``figure_*`` function takes the ``results/<preset>/`` folder, returns the saved paths (PNG and
SVG) or an empty list when its inputs do not exist yet, so the batch draws whatever stages have run.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .io import save_figure
from .plots import budget_curve, fertility_heatmap


def figure_fertility(out: Path) -> dict[str, list[Path]]:
    path = out / "fertility.csv"
    if not path.exists():
        return {}
    table = pd.read_csv(path)
    made = {}
    for value, name in (("fertility", "fertility_heatmap"), ("parity", "fertility_parity")):
        made[name] = save_figure(fertility_heatmap(table, value), out / "figures" / name)
    return made


def figure_budget_curves(out: Path) -> dict[str, list[Path]]:
    curves = sorted(out.glob("*/*/budget_curve.csv"))
    if not curves:
        return {}
    table = pd.concat([pd.read_csv(p) for p in curves], ignore_index=True)
    return {"fertility_budget": save_figure(budget_curve(table), out / "figures" / "fertility_budget")}


def figure_initialization(out: Path) -> dict[str, list[Path]]:
    """Step-0 diagnostics per language x model (notebook 03's ``init/*.json``)."""
    from .init import read_results, results_table, step0_figure

    made = {}
    for init in sorted(out.glob("*/*/init")):
        if not (init / "base.json").exists():
            continue
        records = read_results(init)
        lang, model = init.parent.parent.name, init.parent.name
        name = f"init_step0__{lang}__{model}"
        fig = step0_figure(results_table(records), base_bpb=records["base"].get("heldout_bpb"))
        made[name] = save_figure(fig, out / "figures" / name)
    return made


def figure_adaptation(out: Path) -> dict[str, list[Path]]:
    """Loss and held-out bpb curves per language x model (notebook 04's ``train_log.jsonl``)."""
    from .adapt_data import collect_runs, curves_figure

    made = {}
    for adapt in sorted(out.glob("*/*/adapt")):
        lang, model = adapt.parent.parent.name, adapt.parent.name
        runs = collect_runs(out.name, lang, model)      # reads results_dir(out.name), i.e. out
        if not runs:
            continue
        base = next((r["summary"].get("base_bpb") for r in runs.values() if r["summary"].get("base_bpb")), None)
        name = f"adapt_curves__{lang}__{model}"
        fig = curves_figure({k: r["log"] for k, r in runs.items()}, base_bpb=base, title=f"{lang} x {model}")
        made[name] = save_figure(fig, out / "figures" / name)
    return made


FIGURES = [figure_fertility, figure_budget_curves, figure_initialization, figure_adaptation]


def all_figures(out: Path) -> dict[str, list[Path]]:
    """Draw every figure whose inputs exist; returns ``{figure name: saved paths}``."""
    import matplotlib.pyplot as plt

    made: dict[str, list[Path]] = {}
    for draw in FIGURES:
        made.update(draw(Path(out)))
        plt.close("all")
    return made
