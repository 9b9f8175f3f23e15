"""One seaborn style and the figure functions the notebooks use.

Example::

    >>> import pandas as pd
    >>> from paper_utils.plots import fertility_heatmap
    >>> df = pd.DataFrame({"tokenizer": ["gpt2", "gpt2"], "language": ["en", "uz"], "fertility": [1.3, 3.1]})
    >>> fig = fertility_heatmap(df)

Figures take results tables (``pandas.DataFrame`` read from ``results/<preset>/``) and return a
matplotlib figure; saving is :func:`paper_utils.io.save_figure`.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline") else None
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from .errors import ConfigError  # noqa: E402

PALETTE = "colorblind"
FALLBACK_FONTS: list[str] = []          # families added by add_fallback_fonts, tried after the theme's font


def add_fallback_fonts(paths) -> list[str]:
    """Register font files (``.ttf``/``.otf``) with matplotlib as fallbacks for glyphs the theme's font lacks
    (Hangul, say); :func:`set_style` puts their families after the theme's. A file registered before is not added
    again. Returns the families new to the fallback list.

    Example::

        >>> add_fallback_fonts([])
        []
    """
    from matplotlib import font_manager

    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    added = []
    for path in paths:
        if str(path) not in known:
            font_manager.fontManager.addfont(str(path))
        family = font_manager.FontProperties(fname=str(path)).get_name()
        if family not in FALLBACK_FONTS:
            FALLBACK_FONTS.append(family)
            added.append(family)
    return added


def reset_fallback_fonts() -> None:
    """Forget the fallback families (the next :func:`set_style` uses the theme's font alone)."""
    FALLBACK_FONTS.clear()


def set_style() -> None:
    """The study's single style: seaborn ``whitegrid``, colour-blind palette, readable sizes, and the fallback
    fonts of :func:`add_fallback_fonts` after the theme's font (matplotlib takes each glyph from the first that has
    it)."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook", font_scale=1.0)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "axes.titleweight": "bold", "svg.hashsalt": "paper-utils"})
    if FALLBACK_FONTS:
        plt.rcParams["font.family"] = list(dict.fromkeys([*plt.rcParams["font.family"], *FALLBACK_FONTS]))


def fertility_heatmap(table, value: str = "fertility", languages=None, tokenizers=None):
    """Heatmap of ``value`` (tokens per word) with tokenizers as rows and languages as columns."""
    set_style()
    pivot = table.pivot(index="tokenizer", columns="language", values=value)
    if languages:
        pivot = pivot[[lang for lang in languages if lang in pivot.columns]]
    if tokenizers:
        pivot = pivot.loc[[t for t in tokenizers if t in pivot.index]]
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * pivot.shape[1], 0.9 + 0.5 * pivot.shape[0]))
    sns.heatmap(pivot, annot=True, fmt=".2f", cmap="rocket_r", cbar_kws={"label": value.replace("_", " ")}, ax=ax)
    ax.set_title(f"{value.replace('_', ' ').capitalize()} by tokenizer and language")
    ax.set_xlabel("language")
    ax.set_ylabel("tokenizer")
    fig.tight_layout()
    return fig


def budget_curve(table, x: str = "budget", y: str = "fertility_after", hue: str = "language", style: str | None = "model",
                 baseline: str | None = "fertility_before"):
    """Held-out fertility against the number of new tokens, one line per language (and model)."""
    set_style()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    sns.lineplot(data=table, x=x, y=y, hue=hue, style=style if style in table.columns else None, marker="o", ax=ax)
    if baseline and baseline in table.columns:
        for (key, group) in table.groupby([hue] + ([style] if style in table.columns else [])):
            ax.axhline(group[baseline].iloc[0], color="grey", lw=0.8, ls=":")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("new tokens (budget)")
    ax.set_ylabel("held-out fertility (tokens / word)")
    ax.set_title("Fertility vs vocabulary budget (dotted: base tokenizer)")
    fig.tight_layout()
    return fig


BANDS = ("minmax", "sd")


def heldout_curves(curves, base_bpb: float | None = None, methods=None, band: str = "minmax", title: str = ""):
    """Held-out bpb against the optimizer step, one line per method (mean over seeds) with a band over seeds.

    ``curves``: a long table ``method, seed, step, heldout_bpb`` (:func:`paper_utils.convergence.curve_table`).
    ``band``: ``"minmax"`` (the band spans the seeds' lowest to highest bpb at each step) or ``"sd"`` (mean +- one
    standard deviation over seeds); a method with one seed is a line without a band. The dashed horizontal line is
    the base model's held-out bpb (its own tokenizer). ``methods`` fixes the order (default: as in ``curves``).
    """
    if band not in BANDS:
        raise ConfigError("band", band, f"use one of: {', '.join(BANDS)}")
    set_style()
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    order = [m for m in (methods or curves["method"].drop_duplicates()) if m in set(curves["method"])]
    for method in order:
        group = curves[curves["method"] == method]
        by_step = group.groupby("step")["heldout_bpb"]
        mean, seeds = by_step.mean(), group["seed"].nunique()
        line, = ax.plot(mean.index, mean.values, marker="o", ms=3, lw=1.4,
                        label=f"{method} ({seeds} seed{'s' if seeds != 1 else ''})")
        if seeds > 1:
            low, high = ((by_step.min(), by_step.max()) if band == "minmax"
                         else (mean - by_step.std(ddof=1), mean + by_step.std(ddof=1)))
            ax.fill_between(mean.index, low.values, high.values, color=line.get_color(), alpha=0.2, lw=0)
    if base_bpb is not None:
        ax.axhline(base_bpb, color="black", ls="--", lw=1, label="base model")
    what = "min-max over seeds" if band == "minmax" else "mean +- 1 sd over seeds"
    ax.set(xlabel="optimizer step", ylabel="held-out bits per byte",
           title=title or "Held-out bits per byte during adaptation")
    ax.legend(frameon=False, loc="upper right", fontsize="small", title=f"line: mean over seeds; band: {what}",
              title_fontsize="small")
    fig.tight_layout()
    return fig


def fusion_layer_weights(weights: dict[str, list[float]], title: str = ""):
    """The learned softmax over the encoder's states (``global_softmax``), one line per run: ``{run: weights}``
    with weight ``k`` for state ``k`` (0 = embedding output). The uniform start (1 / (L + 1)) is dotted."""
    set_style()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, row in weights.items():
        ax.plot(range(len(row)), row, marker="o", label=name)
    if weights:
        n = len(next(iter(weights.values())))
        ax.axhline(1.0 / n, color="grey", lw=0.8, ls=":", label="uniform (start)")
        ax.set_xticks(range(n))
    ax.set_xlabel("encoder state (0 = embedding output)")
    ax.set_ylabel("softmax weight")
    ax.set_title(title or "Learned layer weights (global_softmax)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fusion_loss_curves(table, title: str = ""):
    """Loss during fusion training, one panel per text (``English`` held-out pairs first, then each target
    language's X->English pairs), one line per run. ``table``: long rows ``run, text, step, loss`` (mean nats per
    response token)."""
    set_style()
    texts = list(dict.fromkeys(table["text"]))
    fig, axes = plt.subplots(1, len(texts), figsize=(3.2 * len(texts), 3.4), squeeze=False, sharex=True)
    for ax, text in zip(axes[0], texts):
        part = table[table["text"] == text]
        for run, group in part.groupby("run", sort=False):
            ax.plot(group["step"], group["loss"], marker="o", ms=3, label=run)
        ax.set(title=text, xlabel="optimizer step")
    axes[0][0].set_ylabel("nats per response token")
    axes[0][-1].legend(fontsize=7, frameon=False)
    fig.suptitle(title or "Held-out loss during fusion training")
    fig.tight_layout()
    return fig


def fusion_token_heatmap(examples: dict[str, dict], title: str = ""):
    """Per-token layer weights (``transformer_softmax``): one panel per language, encoder tokens as rows and
    encoder states as columns; ``examples`` is ``token_weights.json``'s ``{language: {"tokens", "weights"}}``."""
    set_style()
    langs = list(examples)
    heights = [max(1.5, 0.22 * len(examples[lang]["tokens"]) + 0.8) for lang in langs]
    fig, axes = plt.subplots(1, max(1, len(langs)), figsize=(3.6 * max(1, len(langs)), max(heights or [2.0])),
                             squeeze=False)
    for ax, lang in zip(axes[0], langs):
        ex = examples[lang]
        sns.heatmap(ex["weights"], ax=ax, cmap="rocket_r", vmin=0.0, cbar=ax is axes[0][-1],
                    yticklabels=ex["tokens"], xticklabels=range(len(ex["weights"][0])))
        ax.set_title(lang)
        ax.set_xlabel("encoder state")
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(title or "Per-token layer weights (transformer_softmax)")
    fig.tight_layout()
    return fig
