"""Inputs of one CLO recipe run: a language's translated records (train and held-out task files), the preference pairs
with their NLL mark, the SFT examples, the start model.

Example::

    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("smoke", **{"grid.recipes": ["staged", "clo"], "clo": {"variants": ["clo"], "pairs": 8}})
    >>> train, held = training_records(cfg, "uz", 1), heldout_records(cfg, "uz")     # the fixture records
    >>> len(train), len(held), sorted({r["task"] for r in held})
    (8, 14, ['antonyms/samples.jsonl', 'seasons/samples.jsonl'])
    >>> [(p["prompt"][:12], p["chosen"], p["rejected"], p["nll"]) for p in preference_pairs(held[:1])]
    [('bering teska', 'sovuq', 'cold', True), ('Give the opp', 'cold', 'sovuq', False)]
    >>> [e["response"] for e in sft_examples(held[:1], "english+target")]
    ['cold', 'sovuq']

**Records** ``{"id", "task", "prompt_en", "response_en", "prompt_tgt", "response_tgt", "translator",
"translator_version"}`` come from the CLO data step, :func:`paper_utils.clo_data.translated_sft`: the English pairs
of ``[clo] english_sources`` (OpenAI evals and/or BIG-bench, split by task group with ``[clo] heldout_share``, only
pairs that read as language, balanced over tasks: :mod:`paper_utils.clo_data`), translated once by the first
translator of ``[clo] translator`` (else the preset's list, :data:`paper_utils.translate.PRESET_TRANSLATORS`) that
covers English -> the language, cached per translator and split and resumable; a run asks for what it needs and
only missing items are translated. **Training records**: the first k x N items of the train selection (so CLO's N
are the first N of SFT's 2N; the seed only changes the batch order). **Held-out records**: the first
``max(eval_prompts, heldout_pairs)`` items of the held-out task groups. A ``data_source.tiny_models`` preset
(``smoke``) reads :func:`paper_utils.fixtures.clo_translated` instead (the fixture English pairs with a
word-for-word toy "translation"), split by task with ``[clo] heldout_share``. **Pairs**
(:func:`preference_pairs`): :func:`paper_utils.clo_data.clo_pairs` (both directions per record), ``nll`` on the
pair whose prompt is in the target language (the CLO paper's NLL on y_l).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .clo_data import clo_pairs, read_sft_jsonl, sft_examples, translated_sft
from .config import Preset
from .corpora.english_instructions import split_of_task
from .errors import ConfigError, DataError
from .fixtures import clo_translated, evaluation_model
from .layout import MissingStageOutput, clo_dir, require
from .study import data_source
from .translate import Translator, translator_for

NOTEBOOK = "09_cross_lingual_optimization"          # trains and evaluates one run of the recipe


def fixture_records(language: str, split: str, heldout_share: float) -> list[dict]:
    """The ``smoke`` preset's records of ``split``: the fixture file, split by task file (module doc)."""
    if split not in ("train", "heldout"):
        raise ConfigError("split", split, "use train or heldout")
    path = clo_translated(language)
    if not path.exists():
        raise MissingStageOutput("the CLO fixture records (paper_utils.fixtures.clo_translated)", language, "", path)
    return [r for r in read_sft_jsonl(path) if split_of_task(r["task"], heldout_share) == split]


def translator_of(cfg: Preset, language: str) -> Translator:
    """The translator of ``language``'s records: the first of ``[clo] translator`` (else the preset's list) that
    covers English -> ``language``; ConfigError naming the language when none does."""
    return translator_for(language, list(cfg.clo.translator) or cfg.name)


def _records(cfg: Preset, language: str, split: str, n: int) -> list[dict]:
    if data_source(cfg).tiny_models:
        return fixture_records(language, split, cfg.clo.heldout_share)[:n]
    try:
        records = translated_sft(language, n, translator_of(cfg, language), split=split, preset=cfg.name,
                                 sources=cfg.clo.english_sources, heldout_share=cfg.clo.heldout_share)
    except ConfigError as exc:
        if exc.parameter != "n":
            raise
        setting = "clo.pairs" if split == "train" else "clo.eval_prompts"
        fix = ("lower [clo] pairs" if split == "train" else "lower [clo] eval_prompts and heldout_pairs")
        found = exc.fix.split("; use")[0]
        raise ConfigError(setting, getattr(cfg.clo, setting.split(".")[1]),
                          f"{language} {split} needs {n} English items, but {found}; {fix}, add sources to "
                          "[clo] english_sources or change [clo] heldout_share") from exc
    return check_translated(records, language, split)


MIN_TARGET_PROMPTS = 0.5        # the share of translated prompts the language identifier must call the target


def check_translated(records: list[dict], language: str, split: str, floor: float = MIN_TARGET_PROMPTS) -> list[dict]:
    """``records`` when at least ``floor`` of their translated prompts are identified as ``language``; else DataError.

    Example::

        >>> rows = [{"prompt_tgt": "¿Cuál es la capital de Francia y por qué es importante?", "translator": "t"}]
        >>> len(check_translated(rows, "es", "train"))
        1

    A small instruction model asked to translate an instruction may carry it out instead (Qwen2.5-Coder-0.5B turned
    an SQL task into the query and "find pattern number 9" into ``9.``: 6 % of 100 Korean prompts identified as
    Korean), and CLO on such pairs would learn nothing of the language. Identification:
    :func:`paper_utils.language_id.target_rate` (py3langid); the error names the translator, the share and examples.
    """
    from .language_id import accepted_labels, identify, target_rate

    if not records:
        return records
    share = target_rate([r["prompt_tgt"] for r in records], language)
    if share < floor:
        wanted = accepted_labels(language)
        wrong = [r["prompt_tgt"][:60] for r in records if identify(r["prompt_tgt"]) not in wanted][:3]
        raise DataError(f"{language} {split} records: only {share:.0%} of the translated prompts are identified as "
                        f"{language} (floor {floor:.0%}) with translator {records[0].get('translator')!r}, e.g. "
                        f"{wrong}: the translator answers or copies instead of translating; choose another in "
                        "[clo] translator")
    return records


def training_records(cfg: Preset, language: str, multiple: int) -> list[dict]:
    """The first ``multiple`` x N train records (``N = [clo] pairs``); ConfigError when fewer exist."""
    wanted = multiple * cfg.clo.pairs
    train = _records(cfg, language, "train", wanted)
    if len(train) < wanted:
        raise ConfigError("clo.pairs", cfg.clo.pairs, f"{language} has {len(train)} translated training records, "
                          f"fewer than {multiple} x {cfg.clo.pairs}: lower pairs or translate more")
    return train


def heldout_records(cfg: Preset, language: str) -> list[dict]:
    """``language``'s held-out records (the held-out task groups), in their fixed order."""
    return _records(cfg, language, "heldout", max(cfg.clo.eval_prompts, cfg.clo.heldout_pairs))


def preference_pairs(records: list[dict]) -> list[dict]:
    """Cross-lingual preference pairs ``{"prompt", "chosen", "rejected", "nll"}``, both directions per record
    (:func:`paper_utils.clo_data.clo_pairs`); ``nll`` marks the target-prompt pairs (module doc)."""
    return [{"prompt": p["prompt"], "chosen": p["chosen"], "rejected": p["rejected"],
             "nll": p["direction"] == "target"} for p in clo_pairs(records)]


def load_instruction_model(cfg: Preset, model: str) -> tuple[Any, Any]:
    """``(model, tokenizer)`` the recipe starts from: the tiny random Llama for ``tiny_models`` presets, else the
    grid model (an instruction model: SmolLM2-135M-Instruct in ``demo-full``)."""
    if data_source(cfg).tiny_models:
        return evaluation_model()
    from .assets import load_model

    return load_model(model)


def load_clo_run(cfg: Preset, language: str, model: str, label: str, seed: int = 0) -> tuple[Any, Any, Path | None]:
    """``(model, tokenizer, model folder or None)`` that a run's evaluation reads: its exported ``model/``, or the
    start model for ``base``; MissingStageOutput naming notebook 09 when the run has not finished."""
    if label == "base":
        net, tok = load_instruction_model(cfg, model)
        return net.eval(), tok, None
    folder = require(clo_dir(cfg.name, language, model, label, seed) / "model" / "config.json", NOTEBOOK,
                     language, model).parent
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(str(folder)).eval(), AutoTokenizer.from_pretrained(str(folder)), folder


__all__ = ["NOTEBOOK", "fixture_records", "translator_of", "training_records", "heldout_records", "preference_pairs",
           "sft_examples", "load_instruction_model", "load_clo_run", "check_translated", "MIN_TARGET_PROMPTS"]
