"""The fusion recipe's part of a preset: the ``[fusion]`` table, its checks, and the run labels it adds.

Example::

    >>> settings = check_fusion({"modes": ["last", "global_softmax"], "steps": 4}, ("staged", "fusion"))
    >>> settings.modes, settings.steps, settings.batch_size
    (('last', 'global_softmax'), 4, 8)
    >>> fusion_labels(settings)
    ('fusion_last', 'fusion_global_softmax')
    >>> mode_of("fusion_transformer_softmax")
    'transformer_softmax'
    >>> check_fusion({"modes": ["mean"]}, ("fusion",))
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid fusion.modes='mean': use one of: last, global_softmax, transformer_softmax
    >>> check_fusion({"modes": ["last"]}, ("staged",))
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid fusion=['modes']: the preset has a [fusion] table but grid.recipes lacks "fusion"; add it (grid.recipes = ["staged", "fusion"]) or remove the table

A preset whose ``grid.recipes`` holds ``"fusion"`` must have a ``[fusion]`` table naming its ``modes``; every
other key has the default of :class:`FusionSettings`. The run label of a mode is ``fusion_<mode>``
(:func:`fusion_label`): the ``method`` of the recipe's runs, their adaptation and evaluation folders.
This module sits below :mod:`paper_utils.config` (which calls :func:`check_fusion`) and below
:mod:`paper_utils.fusion` (which takes :data:`FUSION_MODES` and :data:`VECTOR_PARAMETERS` from here).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .recipe_tables import english_sources, number, open_table, per_model, share

FUSION_MODES = ("last", "global_softmax", "transformer_softmax")
FUSION_ENCODERS = ("e5-small",)          # multilingual-e5-small as a torch model (paper_utils.e5_torch), offline
# the seed paper's and LangBridge's encoder family (mT5's encoder stack), from the Hub: the `paper` preset
HUB_ENCODERS = {"mt5-base": "google/mt5-base", "mt5-large": "google/mt5-large", "mt5-xl": "google/mt5-xl"}
LABEL_PREFIX = "fusion_"
# the trained parameters that are one vector each (FusedEncoderLM's end-of-input vector, global_softmax's layer
# logits): they train at [fusion] vector_learning_rate when it is set
VECTOR_PARAMETERS = {"last": ("end_of_input",), "global_softmax": ("end_of_input", "fusion.logits"),
                     "transformer_softmax": ("end_of_input",)}


@dataclass(frozen=True)
class FusionSettings:
    """``[fusion]``: what the fusion recipe trains and how (every key but ``modes`` optional)."""

    modes: tuple[str, ...] = ()
    encoder: str = "e5-small"           # the smoke preset (fixtures) uses a tiny random XLM-R instead
    steps: int = 200                    # optimizer steps of fusion + projection
    batch_size: int = 8                 # English pairs per step
    learning_rate: float = 1e-4
    vector_learning_rate: float | None = None   # the end-of-input vector and global_softmax's layer logits (None:
                                        # learning_rate); single vectors that lr 1e-4 barely moves in a short run
    max_prompt_tokens: int = 256        # encoder tokens of a prompt (longer ones are truncated and counted)
    max_response_tokens: int = 64       # LLM tokens of a response (longer ones are truncated and counted)
    pairs_per_task: int = 200           # cap per evals task file (0 = all)
    heldout_share: float = 0.1          # share of task files held out (by a hash of their path)
    # () : every pair of evals' English task files (split by task file; pairs_per_task); a list of sources
    # (recipe_tables.SOURCE_PACKS): the CLO pool's pairs that read as language (clo_data.language_pairs: split by
    # source group at heldout_share, codes, SQL and one-word answers dropped)
    english_sources: tuple[str, ...] = ()
    heldout_pairs: int = 256            # held-out English pairs scored at each evaluation
    translation_eval_pairs: int = 0     # per grid language, dev-split parallel pairs whose X->English loss (the
                                        # encoder reads the target sentence) is logged at each evaluation; 0 = off
    eval_every: int = 0                 # held-out English loss every N steps; 0 = about 12 evaluations
    fusion_heads: int = 4               # attention heads of transformer_softmax's layer
    # { model = pairs per forward }: gradient accumulation for an LLM whose logits would not fit (Gemma-3's 262k
    # tokens); a model not named runs its whole batch in one forward
    micro_batch_sizes: tuple[tuple[str, int], ...] = ()

    def micro_batch_size(self, model: str) -> int:
        """Pairs per forward for ``model`` (0: the whole batch)."""
        return dict(self.micro_batch_sizes).get(model, 0)

    @property
    def enabled(self) -> bool:
        return bool(self.modes)


def fusion_label(mode: str) -> str:
    """The run label (``method``) of fusion mode ``mode``: ``fusion_<mode>``."""
    if mode not in FUSION_MODES:
        raise ConfigError("mode", mode, f"use one of: {', '.join(FUSION_MODES)}")
    return LABEL_PREFIX + mode


def fusion_labels(settings: FusionSettings) -> tuple[str, ...]:
    return tuple(fusion_label(m) for m in settings.modes)


def is_fusion_label(label: str) -> bool:
    return label.startswith(LABEL_PREFIX) and label[len(LABEL_PREFIX):] in FUSION_MODES


def mode_of(label: str) -> str:
    """The fusion mode of a run label (``fusion_last`` -> ``last``)."""
    if not is_fusion_label(label):
        raise ConfigError("method", label, f"use a fusion label: {', '.join(LABEL_PREFIX + m for m in FUSION_MODES)}")
    return label[len(LABEL_PREFIX):]


def check_fusion(table: Any, recipes: tuple[str, ...]) -> FusionSettings:
    """``[fusion]`` (``table``, ``{}`` when absent) checked against ``grid.recipes``; ConfigError names the key."""
    table = open_table("fusion", table, recipes, FusionSettings, "modes = [...]")
    if table is None:
        return FusionSettings()
    modes = table.get("modes")
    if not isinstance(modes, list) or not modes:
        raise ConfigError("fusion.modes", modes, f'grid.recipes has "fusion": list its modes, e.g. modes = '
                          f'["last", "transformer_softmax"] (of: {", ".join(FUSION_MODES)})')
    for mode in modes:
        if mode not in FUSION_MODES:
            raise ConfigError("fusion.modes", mode, f"use one of: {', '.join(FUSION_MODES)}")
    if len(set(modes)) != len(modes):
        raise ConfigError("fusion.modes", modes, "remove the duplicates")
    values: dict[str, Any] = {"modes": tuple(modes)}
    if "encoder" in table:
        encoder, choices = table["encoder"], ", ".join(FUSION_ENCODERS + tuple(HUB_ENCODERS))
        if not isinstance(encoder, str):
            raise ConfigError("fusion.encoder", encoder, f"use a name ({choices}) or the absolute path of a local "
                              "encoder folder")
        local = os.path.isabs(encoder) and os.path.isfile(os.path.join(encoder, "config.json"))
        if encoder not in FUSION_ENCODERS and encoder not in HUB_ENCODERS and not local:
            raise ConfigError("fusion.encoder", encoder, f"use one of: {choices} or the absolute path of a local "
                              "encoder folder (config.json, safetensors, tokenizer)")
        values["encoder"] = encoder
    for key, minimum in (("steps", 1), ("batch_size", 1), ("max_prompt_tokens", 1), ("max_response_tokens", 1),
                         ("pairs_per_task", 0), ("heldout_pairs", 1), ("eval_every", 0), ("fusion_heads", 1),
                         ("translation_eval_pairs", 0)):
        if key in table:
            values[key] = number(table, "fusion", key, int, minimum, f"use an integer >= {minimum}")
    if "learning_rate" in table:
        values["learning_rate"] = number(table, "fusion", "learning_rate", float, 0, "use a learning rate > 0, e.g. 1e-4",
                                         strict=True)
    if "vector_learning_rate" in table:
        values["vector_learning_rate"] = number(table, "fusion", "vector_learning_rate", float, 0,
                                                "use a learning rate > 0, e.g. 1e-2", strict=True)
    if "heldout_share" in table:
        values["heldout_share"] = share(table, "fusion", "heldout_share")
    if "english_sources" in table:
        values["english_sources"] = english_sources(table, "fusion")
    if "micro_batch_sizes" in table:
        values["micro_batch_sizes"] = _micro_batch_sizes(table["micro_batch_sizes"],
                                                         values.get("batch_size", FusionSettings.batch_size))
    return FusionSettings(**values)


def _micro_batch_sizes(table: Any, batch_size: int) -> tuple[tuple[str, int], ...]:
    """``[fusion] micro_batch_sizes = { model = pairs }``: model keys of ``assets.MODELS``, each a divisor of
    ``batch_size``.

    >>> _micro_batch_sizes({"gemma3-270m": 2}, 8)
    (('gemma3-270m', 2),)
    """
    from .assets import MODELS

    return per_model(table, "fusion.micro_batch_sizes", tuple(MODELS),
                     lambda size: isinstance(size, int) and not isinstance(size, bool) and size >= 1
                     and batch_size % size == 0,
                     f"use a whole number of pairs that divides batch_size = {batch_size}", '{ "gemma3-270m" = 2 }')


__all__ = ["FUSION_MODES", "VECTOR_PARAMETERS", "FUSION_ENCODERS", "HUB_ENCODERS", "FusionSettings", "fusion_label", "fusion_labels", "is_fusion_label",
           "mode_of", "check_fusion"]
