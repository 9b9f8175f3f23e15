"""The Franken-Adapter recipe's part of a preset: the ``[franken]`` table, its checks, and the run labels it adds.

Example::

    >>> s = check_franken({"initializers": ["fvt", "bxod_sub75"], "sft_steps": 4}, ("staged", "franken"))
    >>> s.initializers, s.sft_steps, s.sibling
    (('fvt', 'bxod_sub75'), 4, '')
    >>> franken_labels(s)
    ('sibling', 'sibling_ext_fvt', 'franken_fvt', 'base_tuned_fvt', 'sibling_ext_bxod_sub75', 'franken_bxod_sub75', 'base_tuned_bxod_sub75')
    >>> parse_franken_label("franken_bxod_sub75")
    ('franken', 'bxod_sub75')
    >>> check_franken({"initializers": ["fvt"]}, ("staged",))
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid franken=['initializers']: the preset has a [franken] table but grid.recipes lacks "franken"; add it (grid.recipes = ["staged", "franken"]) or remove the table

A preset whose ``grid.recipes`` holds ``"franken"`` must have a ``[franken]`` table naming its ``initializers``
(stage 03 labels: the patch each comparison's new rows start from; the issue asks for fvt and the study's best).
``sibling`` names the instruction-tuned sibling (a Hub id such as ``google/gemma-2-2b-it`` or a local folder);
empty means the study's own English alignment step (:mod:`paper_utils.sibling`: SFT of the grid model, embeddings
frozen, ``sft_*`` keys). The comparisons, each one run label (:func:`franken_labels`): ``sibling`` (alone),
``sibling_ext_<init>`` (its vocabulary extended, rows from the patch, untuned), ``franken_<init>`` (the
Franken-Adapter: tuned embeddings of the base in the sibling) and ``base_tuned_<init>`` (the base with the tuned
embeddings, no instruction tuning).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError
from .recipe_tables import names, open_table

KINDS = ("sibling_ext", "franken", "base_tuned", "sibling_staged")
# [evaluation] sizes that [franken.evaluation] may set for the comparison labels (every one of them the same items)
EVALUATION_SIZES = ("mmlu_questions", "translation_sentences", "classification_items", "matching_items",
                    "english_bpb_texts")
SIBLING_LABEL = "sibling"
SFT_MODES = ("full", "lora")


@dataclass(frozen=True)
class FrankenSettings:
    """``[franken]``: the sibling, the initializers, the embedding tuning and the sibling's own SFT."""

    initializers: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()      # () = every grid language
    models: tuple[str, ...] = ()         # () = every grid model (a base model with a sibling)
    sibling: str = ""                    # "" = the study's own SFT sibling of the grid model (paper_utils.sibling)
    embedding_steps: int = 200           # embedding tuning of the base (body frozen) on target-language text
    embedding_learning_rate: float = 1e-3
    new_rows_only: bool = True           # True: base rows keep the sibling's values (English outputs exact);
                                         # False: the paper's whole-matrix tuning
    rows_only_head: bool = False         # new_rows_only embedding stages (base tuning, the staged sibling's first):
                                         # the head's weight gradient for the new rows only (AdaptConfig.rows_only_head;
                                         # the same rows up to float order, fewer products; not in the weights key)
    sft_mode: str = "full"               # the sibling's SFT: the body in full, or LoRA merged (embeddings frozen)
    sft_steps: int = 200
    sft_batch_size: int = 8
    sft_micro_batch_size: int = 0        # pairs per forward (gradient accumulation); 0 = sft_batch_size
    sft_learning_rate: float = 2e-5
    sft_max_prompt_tokens: int = 256
    sft_max_response_tokens: int = 64
    pairs_per_task: int = 200            # cap per evals task file (0 = all)
    heldout_share: float = 0.1           # share of evals task files held out (by a hash of their path)
    heldout_pairs: int = 64              # held-out English prompts: loss during SFT and instruction following
    max_new_tokens: int = 32             # greedy answer length of the instruction-following check
    eval_every: int = 0                  # 0: about 12 evaluations per run
    staged_sibling: bool = False         # also the study's staged adaptation ([adaptation]) of the sibling with the
                                         # extended vocabulary and the patch's rows: sibling_staged_<init>
    evaluation: tuple[tuple[str, int], ...] = ()   # [franken.evaluation]: stage 05's sizes for the comparison
                                                   # labels instead of [evaluation]'s (EVALUATION_SIZES)

    @property
    def enabled(self) -> bool:
        return bool(self.initializers)


def franken_cells(settings: FrankenSettings, languages, models) -> list[tuple[str, str]]:
    """``(language, model)`` pairs the recipe runs on: the grid's, narrowed by ``[franken] languages``/``models``.

    >>> franken_cells(FrankenSettings(("fvt",), languages=("uz",)), ("uz", "ms"), ("gemma3-270m",))
    [('uz', 'gemma3-270m')]
    """
    return [(lang, m) for lang in languages if not settings.languages or lang in settings.languages
            for m in models if not settings.models or m in settings.models]


def franken_label(kind: str, initializer: str) -> str:
    if kind not in KINDS:
        raise ConfigError("kind", kind, f"use one of: {', '.join(KINDS)}")
    return f"{kind}_{initializer}"


def franken_labels(settings: FrankenSettings) -> tuple[str, ...]:
    """Every comparison's run label: ``sibling``, then per initializer ``sibling_ext``, ``franken``, ``base_tuned``
    and, with ``staged_sibling``, ``sibling_staged``.

    >>> franken_labels(FrankenSettings(("fvt",), staged_sibling=True))
    ('sibling', 'sibling_ext_fvt', 'franken_fvt', 'base_tuned_fvt', 'sibling_staged_fvt')
    """
    if not settings.enabled:
        return ()
    kinds = KINDS if settings.staged_sibling else tuple(k for k in KINDS if k != "sibling_staged")
    return (SIBLING_LABEL,) + tuple(franken_label(k, i) for i in settings.initializers for k in kinds)


def parse_franken_label(label: str) -> tuple[str, str]:
    """``(kind, initializer)`` of a run label (``("sibling", "")`` for the sibling alone)."""
    if label == SIBLING_LABEL:
        return SIBLING_LABEL, ""
    for kind in KINDS:
        if label.startswith(kind + "_") and len(label) > len(kind) + 1:
            return kind, label[len(kind) + 1:]
    raise ConfigError("method", label, f"use {SIBLING_LABEL!r} or <kind>_<initializer> with kind in {', '.join(KINDS)}")


def is_franken_label(label: str, settings: FrankenSettings) -> bool:
    return label in franken_labels(settings)


def check_franken(table: Any, recipes: tuple[str, ...]) -> FrankenSettings:
    """``[franken]`` (``table``, ``{}`` when absent) checked against ``grid.recipes``; ConfigError names the key."""
    table = open_table("franken", table, recipes, FrankenSettings, "initializers = [...]")
    if table is None:
        return FrankenSettings()
    known = {f.name: f for f in fields(FrankenSettings)}
    inits = table.get("initializers")
    if not isinstance(inits, list) or not inits or not all(isinstance(i, str) and i for i in inits):
        raise ConfigError("franken.initializers", inits, 'grid.recipes has "franken": list the stage-03 labels whose '
                          'patches start the new rows, e.g. initializers = ["fvt", "bxod_sub75"]')
    if len(set(inits)) != len(inits):
        raise ConfigError("franken.initializers", inits, "remove the duplicates")
    values: dict[str, Any] = {"initializers": tuple(inits)}
    for key in ("languages", "models"):
        if key in table:
            values[key] = names(table, "franken", key, f"list the grid {key} the recipe runs on ([] = all of them)")
    if "evaluation" in table:
        values["evaluation"] = _evaluation_sizes(table["evaluation"])
    for key, value in table.items():
        if key in ("initializers", "languages", "models", "evaluation"):
            continue
        default = known[key].default
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= (
                0 if key in ("pairs_per_task", "eval_every", "sft_micro_batch_size") else 1)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and (
                key != "heldout_share" or value < 1)
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ConfigError(f"franken.{key}", value, f"use a value like the default {default!r}")
        values[key] = float(value) if isinstance(default, float) else value
    if values.get("rows_only_head") and not values.get("new_rows_only", True):
        raise ConfigError("franken.rows_only_head", True, "it applies to new_rows_only tuning only; with "
                          "new_rows_only = false (the whole matrix trains) set rows_only_head = false")
    if values.get("sft_mode", "full") not in SFT_MODES:
        raise ConfigError("franken.sft_mode", values["sft_mode"], f"use one of: {', '.join(SFT_MODES)}")
    return FrankenSettings(**values)


def _evaluation_sizes(table: Any) -> tuple[tuple[str, int], ...]:
    """``[franken.evaluation]`` checked: keys among :data:`EVALUATION_SIZES`, whole numbers read as ``[evaluation]``
    reads them (0 = all items, except ``english_bpb_texts``: at least 1)."""
    if not isinstance(table, dict):
        raise ConfigError("franken.evaluation", table, "use a table, e.g. [franken.evaluation] mmlu_questions = 200")
    out = []
    for key, value in sorted(table.items()):
        if key not in EVALUATION_SIZES:
            raise ConfigError(f"franken.evaluation.{key}", value, f"use one of: {', '.join(EVALUATION_SIZES)}")
        least = 1 if key == "english_bpb_texts" else 0
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ConfigError(f"franken.evaluation.{key}", value, "use a whole number of items "
                              + ("of at least 1 (documents per English source)" if least else "(0 = all of them)"))
        out.append((key, value))
    return tuple(out)


def evaluated_preset(cfg: Any, label: str) -> Any:
    """``cfg`` as stage 05 evaluates ``label``: for a Franken comparison label, ``[evaluation]`` with
    ``[franken.evaluation]``'s sizes (every comparison label the same items); any other label: ``cfg`` itself.

    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("demo-full")
    >>> evaluated_preset(cfg, "franken_fvt").evaluation.mmlu_questions, evaluated_preset(cfg, "fvt") is cfg
    (200, True)
    """
    import dataclasses

    sizes = dict(cfg.franken.evaluation)
    if not sizes or not is_franken_label(label, cfg.franken):
        return cfg
    return dataclasses.replace(cfg, evaluation=dataclasses.replace(cfg.evaluation, **sizes))


__all__ = ["FrankenSettings", "KINDS", "SIBLING_LABEL", "SFT_MODES", "EVALUATION_SIZES", "franken_label",
           "franken_labels", "parse_franken_label", "is_franken_label", "franken_cells", "check_franken",
           "franken_model_dir", "evaluated_preset"]


def franken_model_dir(preset: str, settings: FrankenSettings, language: str, model: str, label: str,
                      seed: int = 0) -> str:
    """Where stage 05 loads a Franken comparison: ``sibling`` = ``[franken] sibling`` (Hub id or folder) or the
    study's own SFT sibling's ``model/``; any other label = its run's exported ``model/`` (notebook 10);
    :class:`~paper_utils.layout.MissingStageOutput` naming notebook 10 when it is missing."""
    from .layout import franken_dir, require, sibling_dir

    parse_franken_label(label)
    if label == SIBLING_LABEL:
        if settings.sibling:
            return settings.sibling
        return str(require(sibling_dir(preset, model) / "model" / "config.json", "10", language, model).parent)
    return str(require(franken_dir(preset, language, model, label, seed) / "model" / "config.json", "10", language,
                       model).parent)
