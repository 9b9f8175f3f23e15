"""Inputs of the CLO recipe: the translated SFT records of a language, their split, preference pairs, SFT examples.

Example::

    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("smoke", **{"grid.recipes": ["staged", "clo"], "clo": {"variants": ["clo"], "pairs": 8}})
    >>> records = translated_records(cfg, "uz")                      # the fixture copy (data/fixtures/)
    >>> train, held = split_records(records, "train", 0.1), split_records(records, "heldout", 0.1)
    >>> len(train), len(held), sorted({r["task"] for r in held})
    (40, 14, ['antonyms/samples.jsonl', 'seasons/samples.jsonl'])
    >>> [(p["prompt"][:12], p["chosen"], p["rejected"], p["nll"]) for p in _pairs_from_records(held[:1])]
    [('bering teska', 'javob: sad', 'sad', True), ('Give the opp', 'sad', 'javob: sad', False)]
    >>> [e["response"] for e in sft_examples(held[:1], "english_target")]
    ['sad', 'javob: sad']

**Records** (the data stage's interface): one JSON object a line, ``{"id", "task", "prompt_en", "response_en",
"prompt_tgt", "response_tgt", "translator", "translator_version"}``, in
:func:`~paper_utils.layout.clo_translations_jsonl` (``results/<preset>/clo_data/translated_<lang>.jsonl``); a
``data_source.tiny_models`` preset (``smoke``) reads ``data/fixtures/clo_translated_<lang>.jsonl`` (the fixture
English pairs with a word-for-word toy "translation"). A missing file is
:class:`~paper_utils.layout.MissingStageOutput` naming what to run; a record without a field is a DataError naming
the line. **Split**: by English task file, the rule of :mod:`paper_utils.corpora.english_instructions`
(``[clo] heldout_share``): no task is in both. **Training records**: the first k x N train records in a fixed
order (a hash of the id), so the CLO run's N records are the first N of the SFT run's 2N; the seed only changes
the batch order. **Pairs** (:func:`_pairs_from_records`): both directions per record, ``nll`` on the pair whose
prompt is in the target language (the CLO paper's NLL on y_l).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .config import Preset
from .corpora.english_instructions import split_of_task
from .errors import ConfigError, DataError
from .fixtures import FIXTURES_DIR, evaluation_model
from .layout import MissingStageOutput, clo_dir, clo_translations_jsonl, require
from .study import data_source

FIELDS = ("id", "task", "prompt_en", "response_en", "prompt_tgt", "response_tgt", "translator", "translator_version")
NOTEBOOK = "09_cross_lingual_optimization"          # trains and evaluates one run of the recipe
DATA_STAGE = "the CLO data stage (translate the English SFT pairs: paper_utils.clo_pairs)"


def translations_path(cfg: Preset, language: str) -> Path:
    """Where ``language``'s translated records are read from (module doc)."""
    if data_source(cfg).tiny_models:
        return FIXTURES_DIR / f"clo_translated_{language}.jsonl"
    return clo_translations_jsonl(cfg.name, language)


def read_records(path: str | Path) -> list[dict]:
    """The records of a JSONL file, each checked for every field of :data:`FIELDS` (DataError names the line)."""
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path} line {number}: not JSON ({exc.msg})") from None
            missing = [f for f in FIELDS if not isinstance(record, dict) or f not in record]
            if missing:
                raise DataError(f"{path} line {number}: missing field(s) {', '.join(missing)}; every record needs "
                                f"{', '.join(FIELDS)}")
            records.append(record)
    return records


def translated_records(cfg: Preset, language: str) -> list[dict]:
    """``language``'s translated SFT records (module doc); MissingStageOutput when they were not made yet."""
    path = translations_path(cfg, language)
    if not path.exists():
        raise MissingStageOutput(DATA_STAGE, language, "", path)
    return read_records(path)


def split_records(records: list[dict], split: str, heldout_share: float) -> list[dict]:
    """The records of ``split`` (``train`` or ``heldout``), split by task file, in a fixed order (hash of the id)."""
    if split not in ("train", "heldout"):
        raise ConfigError("split", split, "use train or heldout")
    chosen = [r for r in records if split_of_task(r["task"], heldout_share) == split]
    return sorted(chosen, key=lambda r: hashlib.sha256(str(r["id"]).encode()).hexdigest())


def training_records(cfg: Preset, language: str, multiple: int) -> list[dict]:
    """The first ``multiple`` x N train records (``N = [clo] pairs``); ConfigError when fewer exist."""
    train = split_records(translated_records(cfg, language), "train", cfg.clo.heldout_share)
    wanted = multiple * cfg.clo.pairs
    if len(train) < wanted:
        raise ConfigError("clo.pairs", cfg.clo.pairs, f"{language} has {len(train)} translated training records, "
                          f"fewer than {multiple} x {cfg.clo.pairs}: lower pairs or translate more")
    return train[:wanted]


def heldout_records(cfg: Preset, language: str) -> list[dict]:
    """``language``'s held-out records (the held-out task files), in their fixed order."""
    return split_records(translated_records(cfg, language), "heldout", cfg.clo.heldout_share)


def _pairs_from_records(records: list[dict]) -> list[dict]:
    """Cross-lingual preference pairs, both directions per record (module doc): ``{"prompt", "chosen", "rejected",
    "nll"}``."""
    pairs = []
    for r in records:
        pairs.append({"prompt": r["prompt_tgt"], "chosen": r["response_tgt"], "rejected": r["response_en"],
                      "nll": True})
        pairs.append({"prompt": r["prompt_en"], "chosen": r["response_en"], "rejected": r["response_tgt"],
                      "nll": False})
    return pairs


def sft_examples(records: list[dict], mode: str) -> list[dict]:
    """``{"prompt", "response"}`` examples: ``target`` (x_l -> y_l) or ``english_target`` (x_en -> y_en, x_l -> y_l)."""
    if mode not in ("target", "english_target"):
        raise ConfigError("mode", mode, "use target or english_target")
    out = []
    for r in records:
        if mode == "english_target":
            out.append({"prompt": r["prompt_en"], "response": r["response_en"]})
        out.append({"prompt": r["prompt_tgt"], "response": r["response_tgt"]})
    return out


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


__all__ = ["NOTEBOOK", "heldout_records", "load_clo_run", "FIELDS", "translations_path", "read_records",
           "translated_records", "split_records", "training_records",
           "sft_examples", "load_instruction_model", "_pairs_from_records"]
