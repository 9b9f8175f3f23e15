"""Translators for the CLO recipe, by name, and which one a preset uses for a language.

Example::

    >>> sorted(TRANSLATORS)
    ['apertium_eng_spa', 'fixture_tag', 'nllb_200_distilled_600m', 'qwen25_coder_05b_gguf', 'qwen25_coder_05b_gguf_fewshot', 'uz_dictionary_wfw_standin']
    >>> translator_for("ko", "demo-full").name, translator_for("es", "demo-full").name
    ('qwen25_coder_05b_gguf_fewshot', 'qwen25_coder_05b_gguf')
    >>> translator_for("es", ["apertium_eng_spa", "qwen25_coder_05b_gguf"]).name   # a priority list of names
    'apertium_eng_spa'
    >>> translator_for("uz", "demo-full").name
    'uz_dictionary_wfw_standin'
    >>> translator_for("ms", "demo-full")                   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid language='ms': no offline translator covers en->ms (Malay) ...

Every translator has ``.name``, ``.version`` (its package/model version and a hash of its pinned asset) and
``.translate(texts, source, target)``; see :mod:`.base`. The offline ones, in order of priority
(:data:`PRESET_TRANSLATORS`): ``qwen25_coder_05b_gguf_fewshot`` (en -> ko), ``qwen25_coder_05b_gguf`` (ko, es;
:mod:`.qwen_gguf`), ``apertium_eng_spa``
(en -> es, rule-based; :mod:`.apertium`), ``uz_dictionary_wfw_standin`` (uz, a word-for-word STAND-IN;
:mod:`.uz_dictionary`). Malay has none: the ``paper`` preset uses ``nllb_200_distilled_600m`` from the Hub
for every language (:mod:`.hub_nllb`). ``qwen25_coder_05b_gguf_fewshot`` is the same model shown three
human-translated Django pairs first, with a repetition penalty. ``fixture_tag`` is the ``smoke`` preset's fixture (no asset).
"""
from __future__ import annotations

from typing import Sequence

from ..errors import ConfigError
from .apertium import ApertiumEngSpa
from .base import LANGUAGE_NAMES, FixtureTagTranslator, Translator, fetch_command
from .hub_nllb import HubNLLBTranslator
from .qwen_gguf import QwenGGUFFewShotTranslator, QwenGGUFTranslator
from .uz_dictionary import UzDictionaryStandIn

TRANSLATORS: dict[str, type[Translator]] = {cls.name: cls for cls in (
    QwenGGUFTranslator, QwenGGUFFewShotTranslator, ApertiumEngSpa, UzDictionaryStandIn, HubNLLBTranslator, FixtureTagTranslator)}
OFFLINE_PRIORITY = ("qwen25_coder_05b_gguf_fewshot", "qwen25_coder_05b_gguf", "apertium_eng_spa",
                    "uz_dictionary_wfw_standin")
PRESET_TRANSLATORS: dict[str, tuple[str, ...]] = {
    "smoke": ("fixture_tag",), "demo": OFFLINE_PRIORITY, "demo-full": OFFLINE_PRIORITY,
    "paper": ("nllb_200_distilled_600m",)}


def _catalogue() -> str:
    return "; ".join(f"{name} ({', '.join(f'{s}->{t}' for s, t in sorted(cls.directions))})"
                     for name, cls in TRANSLATORS.items())


def get_translator(name: str, **options) -> Translator:
    """The translator called ``name`` (``options`` go to its constructor, e.g. ``batch_size``, ``model_dir``)."""
    if name not in TRANSLATORS:
        raise ConfigError("translator", name, f"use one of: {_catalogue()}")
    return TRANSLATORS[name](**options)


def translator_for(language: str, preset_or_names: str | Sequence[str], source: str = "en") -> Translator:
    """The first translator of a preset's priority list (or of a list of names) that covers ``source -> language``."""
    if isinstance(preset_or_names, str):
        if preset_or_names not in PRESET_TRANSLATORS:
            raise ConfigError("preset", preset_or_names, f"use one of: {', '.join(PRESET_TRANSLATORS)}, "
                                                         "or a list of translator names")
        names = PRESET_TRANSLATORS[preset_or_names]
    else:
        names = tuple(preset_or_names)
    for name in names:
        if name not in TRANSLATORS:
            raise ConfigError("translator", name, f"use one of: {_catalogue()}")
    for name in names:
        if TRANSLATORS[name].directions >= {(source, language)}:
            return get_translator(name)
    label = LANGUAGE_NAMES.get(language, "unknown language")
    malay = (" Malay has no offline translator here (no OPUS-MT, NLLB, M2M100 or Argos pack installs); the paper "
             "preset uses nllb_200_distilled_600m from the Hub." if language == "ms" else "")
    raise ConfigError("language", language, f"no {'offline ' if 'nllb_200_distilled_600m' not in names else ''}"
                      f"translator covers {source}->{language} ({label}) among {', '.join(names)}.{malay} "
                      f"Translators that exist: {_catalogue()}")


__all__ = ["Translator", "TRANSLATORS", "PRESET_TRANSLATORS", "OFFLINE_PRIORITY", "get_translator",
           "translator_for", "fetch_command", "LANGUAGE_NAMES"]
