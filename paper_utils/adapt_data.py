"""What the staged adaptation recipe reads and what its runs left: inputs, parameters, summaries, curves.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.adapt_data import check_parameters
    >>> check_parameters(load_preset("demo"), "uz", "smollm2-135m", "bxod_sub75", seed=0)   # a variant: fine
    >>> check_parameters(load_preset("demo"), "uz", "smollm2-135m", "bxod_sub50")
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid method='bxod_sub50': use one of the preset's methods: random, mean, fvt, focus, wechsel, bxod, salt, bxod_sub75, bxod@dev, focus@dev, wechsel@dev, salt@dev, fvt+mean, fvt+focus@dev, fvt+wechsel@dev, fvt+salt@dev, fvt+bxod@dev

* :func:`load_inputs` reads stage 02's tokenizer and stage 03's patch (never rebuilding them).
* :func:`english_training_text` (asked of the data source, :mod:`paper_utils.study`) is the English text
  mixed in to protect English: the English side of the *training* parallel pairs (never MMLU, which measures
  English retention, and never held-out pairs).
* :func:`collect_runs`, :func:`summary_table`, :func:`curves_figure` read finished runs.
The data stream itself is :mod:`paper_utils.train.streams`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .errors import ConfigError, DataError
from .layout import ModelLayout
from .study import data_source, english_training_text
from .train import STAGE_KINDS, read_log, steps_to_reach


# ------------------------------------------------------------------------------------------------
# a run's inputs and folder

def adapt_dir(preset: str, language: str, model: str, method: str, seed: int = 0) -> Path:
    """``results/<preset>/<language>/<model key>/adapt/<method>__seed<seed>/`` (:mod:`paper_utils.layout`)."""
    return ModelLayout(preset, language, model).adapt_dir(method, seed)


def check_parameters(cfg, language: str, model: str, method: str, seed: int = 0, stage2: str = "lora") -> None:
    """Validate notebook parameters against the preset (ConfigError naming the fix)."""
    if language not in cfg.grid.languages:
        raise ConfigError("language", language, f"preset {cfg.name!r} has languages {list(cfg.grid.languages)}")
    if model not in cfg.grid.models and not Path(model).expanduser().is_dir():
        raise ConfigError("model", model, f"preset {cfg.name!r} has models {list(cfg.grid.models)}")
    if method not in cfg.grid.methods:
        raise ConfigError("method", method, f"use one of the preset's methods: {', '.join(cfg.grid.methods)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("seed", seed, "use an integer >= 0")
    if stage2 not in STAGE_KINDS:
        raise ConfigError("stage2", stage2, f"unknown stage name; use one of: {', '.join(STAGE_KINDS)}")


@dataclass
class AdaptInputs:
    model: Any
    base_tokenizer: Any
    tokenizer: Any                        # extended
    patch: Any                            # EmbeddingPatch
    target_texts: list[str]
    english_texts: list[str]
    heldout_texts: list[str]
    notes: dict = field(default_factory=dict)


def load_inputs(cfg, language: str, model: str, method: str) -> AdaptInputs:
    """Base model, tokenizers, the embedding patch of ``method`` (an initializer or variant label) and texts.

    The patch is read from ``results/<preset>/<lang>/<model key>/init/patches/<method>/`` (stage 03)
    and the extended tokenizer from ``.../tokenizer/`` (stage 02); a missing one stops with
    :class:`~paper_utils.layout.MissingStageOutput` naming the stage to run, never recomputed here.
    ``smoke`` (fixtures): the tiny random model and tokenizers of
    :func:`paper_utils.init.smoke_setup` (the smoke stage 03 builds the same ones).
    """
    from transformers import AutoTokenizer

    from .init import EmbeddingPatch, smoke_setup
    from .study import heldout_text, training_text

    layout = ModelLayout(cfg.name, language, model)
    patch_dir = layout.require_patch(method)                 # first: fails fast without stage 03
    notes: dict[str, Any] = {}
    if data_source(cfg).tiny_models:
        setup = smoke_setup(cfg, language, model)
        net, base, ext = setup.model, setup.base_tokenizer, setup.extended_tokenizer
        notes.update({k: v for k, v in setup.notes.items() if k in ("model", "extended_tokenizer")})
    else:
        from .assets import load_model

        tok_dir = layout.require_tokenizer()
        net, base = load_model(model)
        ext = AutoTokenizer.from_pretrained(str(tok_dir))
        notes["extended_tokenizer"] = layout.relative(tok_dir)
    patch = EmbeddingPatch.load(patch_dir)
    notes["patch"] = layout.relative(patch_dir)
    target = training_text(cfg, language)
    if not target or not any(t.strip() for t in target):
        raise DataError(f"the training text of {language!r} for preset {cfg.name!r} is empty")
    notes["training_text"] = {"texts": len(target), "characters": sum(len(t) for t in target)}
    return AdaptInputs(net, base, ext, patch, target, english_training_text(cfg, language),
                       heldout_text(cfg, language), notes)


# ------------------------------------------------------------------------------------------------
# results of runs: summaries, logs, the comparison figure

def collect_runs(preset: str, language: str, model: str) -> dict[str, dict]:
    """``{run label: {"summary": ..., "log": [...]}}`` for every finished run of a language and model."""
    root = ModelLayout(preset, language, model).adapt_root
    runs = {}
    for summary in sorted(root.glob("*/summary.json")):
        runs[summary.parent.name] = {"summary": json.loads(summary.read_text(encoding="utf-8")),
                                     "log": read_log(summary.parent / "train_log.jsonl")}
    return runs


def summary_table(runs: Mapping[str, Mapping[str, Any]]):
    """One row per run: held-out bpb (base model, step 0, final) and convergence speed.

    ``steps_to_base_bpb``: first evaluated step at or below the base model's bpb (0 when the patched
    model already starts below it). ``steps_to_common_bpb``: first evaluated step at or below
    ``common_bpb``, the worst final bpb among the runs -- a level every run reaches, so the column
    compares how fast each starting point gets there on the same data, seed and budget.
    """
    import pandas as pd

    cols = ("base_bpb", "step0_bpb", "final_bpb", "steps_to_base_bpb", "total_steps", "final_loss",
            "median_tokens_per_s", "train_seconds")
    finals = [r["summary"].get("final_bpb") for r in runs.values() if r["summary"].get("final_bpb") is not None]
    common = max(finals) if finals else None
    rows = []
    for label, r in runs.items():
        row = {"run": label, **{c: r["summary"].get(c) for c in cols}}
        row.update(common_bpb=common, steps_to_common_bpb=steps_to_reach(r.get("log", []), common))
        rows.append(row)
    return pd.DataFrame(rows)


def curves_figure(runs: Mapping[str, Sequence[dict]], base_bpb: float | None = None, title: str = ""):
    """Training loss and held-out bits per byte against the step, one line per run, in one figure.

    ``runs``: ``{label: train_log records}``. The dashed line is the base model's held-out bpb (read
    with its own tokenizer); dotted vertical lines mark stage changes. Loss is per token of the
    *extended* tokenizer, so compare losses only between runs that share it (all methods of one
    language and model do); bits per byte compare across tokenizers.
    """
    import matplotlib.pyplot as plt

    from .plots import set_style

    set_style()
    fig, (ax_loss, ax_bpb) = plt.subplots(1, 2, figsize=(11, 4))
    boundaries = set()
    for label, log in runs.items():
        train = [r for r in log if r.get("type") == "train"]
        evals = [r for r in log if r.get("type") == "eval"]
        line, = ax_loss.plot([r["step"] for r in train], [r["loss"] for r in train], label=label, lw=1.2)
        ax_bpb.plot([r["step"] for r in evals], [r["heldout_bpb"] for r in evals], marker="o", ms=3,
                    color=line.get_color(), label=label)
        for a, b in zip(train, train[1:]):
            if a["stage"] != b["stage"]:
                boundaries.add(a["step"])
        if base_bpb is None:
            base_bpb = next((r["base_bpb"] for r in log if r.get("type") == "reference"), None)
    for x in boundaries:
        for ax in (ax_loss, ax_bpb):
            ax.axvline(x, color="grey", ls=":", lw=0.8)
    if base_bpb is not None:
        ax_bpb.axhline(base_bpb, color="black", ls="--", lw=1, label="base model")
    ax_loss.set(xlabel="optimizer step", ylabel="training loss (nats / token)", title="Training loss")
    ax_bpb.set(xlabel="optimizer step", ylabel="held-out bits per byte", title="Held-out bits per byte")
    ax_bpb.legend(frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


__all__ = ["english_training_text", "AdaptInputs", "load_inputs", "adapt_dir",
           "check_parameters", "read_log", "steps_to_reach", "collect_runs", "summary_table", "curves_figure",
           "STAGE_KINDS"]
