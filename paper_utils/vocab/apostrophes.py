"""Keep apostrophe words (Uzbek Latin ``o'zbek``, ``g'isht``, ``ma'lumot``) in one pre-tokenized unit.

Example::

    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> from paper_utils.vocab.apostrophes import join_apostrophe_words
    >>> base = evaluation_tokenizer()
    >>> [u for u, _ in base.backend_tokenizer.pre_tokenizer.pre_tokenize_str(" o'zbek")]
    ['Ġo', "'", 'zbek']
    >>> [u for u, _ in join_apostrophe_words(base).backend_tokenizer.pre_tokenizer.pre_tokenize_str(" o'zbek")]
    ["Ġo'zbek"]

Byte-level pre-tokenizers cut at an ASCII apostrophe, so no merge can ever join "o'z" and Uzbek keeps
3-5 pieces per such word. The joined rule keeps letter + apostrophe + letter runs in one unit, except an
ASCII apostrophe that starts an English contraction followed by more letters (C'mon): there the base
regex cuts first and base merges could straddle the cut. Everything else cannot change English ids: no
base merge joins a letter with a following apostrophe, so BPE inside a joined unit equals BPE of its
parts. ``extend_tokenizer(apostrophe_words=True)`` still checks every English text and falls back if
any changes.
"""
from __future__ import annotations

import copy
import json

import re
from typing import Sequence

from tokenizers import Tokenizer

from ..errors import ConfigError
from ..surfaces import tokenizer_family
from .candidates import backend_of

UZBEK_MARKS = ("'", "\u2018", "\u2019", "\u02bb", "\u02bc", "`")   # ' ‘ ’ ʻ ʼ `: how o‘ g‘ and the tutuq are written

_GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_CONTRACTION = r"(?:s|t|re|ve|m|ll|d)"
_LLAMA3_LEAD = r"[^\r\n\p{L}\p{N}]?\p{L}+"


def _joined_words_regex(lead: str, case_insensitive: bool) -> str:
    contraction = f"(?i:{_CONTRACTION})" if case_insensitive else _CONTRACTION
    joint = rf"(?:'(?!{contraction}\p{{L}})|[’‘`])"
    return rf"{lead}(?:{joint}\p{{L}}+)+|"


def join_apostrophe_words(base_tokenizer):
    """A copy of a byte-level BPE tokenizer whose pre-tokenizer keeps apostrophe words whole.

    Example::

        >>> from paper_utils.fixtures import evaluation_tokenizer
        >>> base = evaluation_tokenizer()
        >>> joined = join_apostrophe_words(base)
        >>> joined.tokenize(" to'g'ri") == base.tokenize(" to'g'ri")      # same merges: same tokens
        True
        >>> [u for u, _ in joined.backend_tokenizer.pre_tokenizer.pre_tokenize_str(" to'g'ri")]   # one unit
        ["Ġto'g'ri"]

    Same vocabulary and merges, so the ids are unchanged; the difference is that merges learned
    afterwards may join across the apostrophe ("Ġto'g'ri" can become one token). Supports the
    GPT-2 ``ByteLevel(use_regex=True)`` pre-tokenizer (GPT-2, SmolLM2) and a ``Split`` regex +
    ``ByteLevel`` sequence (Llama-3); anything else raises ConfigError.
    """
    if tokenizer_family(base_tokenizer) != "byte_level_bpe":
        raise ConfigError("apostrophe_words", True, "only byte-level BPE tokenizers cut words at apostrophes; "
                          "use apostrophe_words=False for SentencePiece vocabularies")
    spec = json.loads(backend_of(base_tokenizer).to_str())
    pre = spec.get("pre_tokenizer") or {}
    if pre.get("type") == "ByteLevel" and pre.get("use_regex", True) and not pre.get("add_prefix_space"):
        split = {"type": "Split", "pattern": {"Regex": _joined_words_regex(r" ?\p{L}+", False) + _GPT2_REGEX},
                 "behavior": "Isolated", "invert": False}
        spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [split, dict(pre, use_regex=False)]}
    elif (pre.get("type") == "Sequence" and pre["pretokenizers"][0].get("type") == "Split"
          and _LLAMA3_LEAD in pre["pretokenizers"][0]["pattern"].get("Regex", "")):
        split = copy.deepcopy(pre["pretokenizers"][0])
        regex = split["pattern"]["Regex"]
        split["pattern"]["Regex"] = _joined_words_regex(_LLAMA3_LEAD, regex.startswith("(?i:")) + regex
        spec["pre_tokenizer"] = dict(pre, pretokenizers=[split] + pre["pretokenizers"][1:])
    else:
        raise ConfigError("apostrophe_words", json.dumps(pre)[:80],
                          "supported: GPT-2 ByteLevel(use_regex=True, add_prefix_space=False) or a Llama-3 "
                          "Split regex + ByteLevel pre-tokenizer; use apostrophe_words=False")
    joined = copy.deepcopy(base_tokenizer)
    if isinstance(joined, Tokenizer):
        return Tokenizer.from_str(json.dumps(spec))
    joined._tokenizer = Tokenizer.from_str(json.dumps(spec))
    return joined


def spelling_variants(texts: Sequence[str], weights: Sequence[int] | None, marks: Sequence[str]):
    """Training text in every apostrophe spelling: ``(texts, weights)`` with the variants appended.

    Example::

        >>> texts, weights = spelling_variants(["o'zbek tili", "kitob"], [3, 1], ("'", "\u2018", "\u02bb"))
        >>> texts, weights
        (["o'zbek tili", 'kitob', 'o‘zbek tili', 'oʻzbek tili'], [3, 1, 3, 3])

    Uzbek writes o‘, g‘ and the tutuq with any of ``UZBEK_MARKS``; a text with one of ``marks`` right after a
    letter is added once more for each other mark, every such mark replaced, with the same weight, so that
    extension learns the same merges for every spelling. Only the *training* text is augmented: the text a
    tokenizer later reads is never changed (round trip stays exact).
    """
    marks = list(dict.fromkeys(marks))
    if len(marks) < 2:
        return list(texts), None if weights is None else list(weights)
    pattern = re.compile(r"(?<=[^\W\d_])(?:" + "|".join(map(re.escape, marks)) + ")")
    out_texts, out_weights = list(texts), None if weights is None else list(weights)
    extra_t, extra_w = [], []
    for i, text in enumerate(texts):
        found = set(pattern.findall(text))
        if not found:
            continue
        for mark in marks:
            variant = pattern.sub(mark, text)
            if variant != text:
                extra_t.append(variant)
                extra_w.append(1 if weights is None else weights[i])
    out_texts += extra_t
    if out_weights is not None:
        out_weights += extra_w
    return out_texts, out_weights
