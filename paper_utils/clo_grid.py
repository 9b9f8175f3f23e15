"""The CLO recipe's part of a preset: the ``[clo]`` table, its checks, and the run labels (variants) it adds.

Example::

    >>> settings = check_clo({"variants": ["clo", "sft_target_1x", "sft_target_2x", "base"], "pairs": 200}, ("clo",))
    >>> settings.variants, settings.pairs, settings.beta, settings.stage
    (('clo', 'sft_target_1x', 'sft_target_2x', 'base'), 200, 0.1, 'attention')
    >>> [variant_of(v) for v in settings.variants]
    [('clo', '', 1), ('sft', 'target', 1), ('sft', 'target', 2), ('base', '', 0)]
    >>> check_clo({"variants": ["clo", "dpo"], "pairs": 8}, ("clo",))
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid clo.variants='dpo': use clo, base or sft_<mode>_<k>x with mode target or english_target (e.g. sft_target_2x)
    >>> check_clo({"variants": ["clo"]}, ("clo",))
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid clo.pairs=None: missing; give N, the translated records CLO trains on (e.g. pairs = 200)

**Variants** (the ``method`` of a run; one run = language x model x variant x seed):

* ``clo``: CLO on the N training records (2N preference pairs, both directions: for the target prompt the target
  response is chosen and the English one rejected; for the English prompt the reverse), DPO + ``nll_weight`` x the
  NLL of the target response of the target-prompt pairs, ``stage`` (attention-only by default) trained;
* ``sft_target_<k>x``: SFT on k x N translated records, target prompt -> target response (``sft_stage`` trained);
* ``sft_english_target_<k>x``: SFT on k x N records, each as English -> English and target -> target (2kN examples);
* ``base``: the instruction model as it is: evaluation only, nothing trained.

Every other key has the default of :class:`CloSettings`. This module sits below :mod:`paper_utils.config`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .recipe_tables import SOURCE_PACKS, english_sources, names, number, open_table, share

STAGES = ("attention", "attention_lora", "full")            # paper_utils.train stage kinds a CLO/SFT run may train
SFT_MODES = ("target", "english_target")                    # target: x_l -> y_l; english_target: both languages
_SFT = re.compile(r"^sft_(target|english_target)_([1-9][0-9]*)x$")
VARIANT_FIX = ("use clo, base or sft_<mode>_<k>x with mode target or english_target (e.g. sft_target_2x)")


@dataclass(frozen=True)
class CloSettings:
    """``[clo]``: what the CLO recipe runs and how (``variants`` and ``pairs`` required when the recipe is on)."""

    variants: tuple[str, ...] = ()
    pairs: int = 0                      # N: translated training records of a CLO run (SFT variants: k x N)
    languages: tuple[str, ...] = ()     # () = grid.languages
    models: tuple[str, ...] = ()        # () = grid.models (instruction models: CLO assumes one)
    seeds: tuple[int, ...] = ()         # () = the grid's seeds of each language x model
    beta: float = 0.1                   # DPO temperature
    nll_weight: float = 1.0             # weight of the target-response NLL (0 = DPO only)
    stage: str = "attention"            # what CLO trains: q/k/v/o projections (attention), LoRA on them, or full
    sft_stage: str = "full"             # what the SFT baselines train
    steps: int = 200                    # optimizer steps of every trained variant
    batch_size: int = 4                 # preference pairs (CLO) or examples (SFT) per step
    learning_rate: float = 5e-5
    max_prompt_tokens: int = 128        # last tokens of the chat-formatted prompt
    max_response_tokens: int = 64       # first tokens of a response (then EOS)
    heldout_share: float = 0.1          # share of English task groups held out (paper_utils.clo_data.clo_split)
    english_sources: tuple[str, ...] = ("evals",)   # English pair sources (SOURCE_PACKS: evals, bigbench, alpaca)
    heldout_pairs: int = 32             # held-out target pairs whose response NLL is logged during training
    eval_prompts: int = 100             # held-out prompts generated per language (target and English each)
    max_new_tokens: int = 48            # greedy generation bound at evaluation
    eval_every: int = 0                 # held-out NLL every N steps; 0 = about 12 evaluations
    retention: bool = True              # English retention at evaluation: MMLU letter + cloze, English bpb
    mmlu_questions: int = 0             # MMLU questions of the retention scores; 0 = [evaluation] mmlu_questions
    translator: tuple[str, ...] = ()    # translator names in priority order (the first covering en->language);
                                        # () = the preset's list (paper_utils.translate.PRESET_TRANSLATORS)

    @property
    def enabled(self) -> bool:
        return bool(self.variants)


def variant_of(label: str) -> tuple[str, str, int]:
    """``(kind, sft mode, multiple of N)`` of a variant: ``clo`` -> ``("clo", "", 1)``, ``base`` ->
    ``("base", "", 0)``, ``sft_target_2x`` -> ``("sft", "target", 2)``; ConfigError for anything else."""
    if label == "clo":
        return "clo", "", 1
    if label == "base":
        return "base", "", 0
    m = _SFT.match(label) if isinstance(label, str) else None
    if not m:
        raise ConfigError("clo.variants", label, VARIANT_FIX)
    return "sft", m.group(1), int(m.group(2))


def check_clo(table: Any, recipes: tuple[str, ...]) -> CloSettings:
    """``[clo]`` (``table``, ``{}`` when absent) checked against ``grid.recipes``; ConfigError names the key."""
    table = open_table("clo", table, recipes, CloSettings, "variants = [...], pairs = N")
    if table is None:
        return CloSettings()
    if not isinstance(table.get("variants"), list) or not table["variants"]:
        raise ConfigError("clo.variants", table.get("variants"), 'grid.recipes has "clo": list its variants, e.g. '
                          'variants = ["clo", "sft_target_1x", "sft_target_2x", "sft_english_target_1x", "base"]')
    variants = names(table, "clo", "variants")
    for v in variants:
        variant_of(v)
    if "pairs" not in table:
        raise ConfigError("clo.pairs", None, "missing; give N, the translated records CLO trains on (e.g. pairs = 200)")
    values: dict[str, Any] = {"variants": variants}
    for key in ("languages", "models"):
        if key in table:
            values[key] = names(table, "clo", key)
    if "seeds" in table:
        seeds = table["seeds"]
        if (not isinstance(seeds, list) or not seeds or len(set(seeds)) != len(seeds)
                or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in seeds)):
            raise ConfigError("clo.seeds", seeds, "use a list of distinct integers >= 0, e.g. seeds = [0, 1, 2]")
        values["seeds"] = tuple(seeds)
    for key, minimum in (("pairs", 1), ("steps", 1), ("batch_size", 1), ("max_prompt_tokens", 1),
                         ("max_response_tokens", 1), ("heldout_pairs", 1), ("eval_prompts", 1), ("max_new_tokens", 1),
                         ("eval_every", 0), ("mmlu_questions", 0)):
        if key in table:
            values[key] = number(table, "clo", key, int, minimum, f"use an integer >= {minimum}")
    for key, strict in (("beta", True), ("learning_rate", True), ("nll_weight", False)):
        if key in table:
            values[key] = number(table, "clo", key, float, 0, "use a number > 0" if strict else "use a number >= 0",
                                 strict)
    if "heldout_share" in table:
        values["heldout_share"] = share(table, "clo", "heldout_share")
    if "english_sources" in table:
        values["english_sources"] = english_sources(table, "clo")
    for key in ("stage", "sft_stage"):
        if key in table:
            if table[key] not in STAGES:
                raise ConfigError(f"clo.{key}", table[key], f"use one of: {', '.join(STAGES)}")
            values[key] = table[key]
    if "retention" in table:
        if not isinstance(table["retention"], bool):
            raise ConfigError("clo.retention", table["retention"], "use true or false")
        values["retention"] = table["retention"]
    if "translator" in table:
        chosen = table["translator"]
        chosen = [chosen] if isinstance(chosen, str) else chosen
        if not isinstance(chosen, list) or not all(isinstance(n, str) and n for n in chosen):
            raise ConfigError("clo.translator", table["translator"], "use a translator's name or a list of names "
                              "in priority order, e.g. [\"apertium_eng_spa\", \"qwen25_coder_05b_gguf\"]")
        values["translator"] = tuple(chosen)
    return CloSettings(**values)


__all__ = ["CloSettings", "STAGES", "SFT_MODES", "SOURCE_PACKS", "check_clo", "variant_of"]
