"""Fertility: how many tokens a word costs, per tokenizer and language.

Example::

    >>> from paper_utils.fertility import fertility, words
    >>> words("Oʻzbekiston — go'zal yurt!")
    ['Oʻzbekiston', "go'zal", 'yurt']
    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> from paper_utils.tokenization import HFTextTokenizer, load_text_tokenizer
    >>> tok = HFTextTokenizer("tiny", evaluation_tokenizer(["hello world"] * 50))   # "hello", " world": one token each
    >>> stats = fertility(tok, ["hello world"])
    >>> stats["words"], stats["tokens"], stats["fertility"]
    (2, 2, 1.0)
    >>> fertility(load_text_tokenizer("gpt2"), ["hello world"])["fertility"]   # real pack  # doctest: +SKIP
    1.0

Definitions (Rust et al. 2021; Petrov et al. 2023):

- **words**: runs of letters, combining marks and digits, with internal apostrophes (Uzbek ``oʻ``,
  ``ta'lim``) and hyphens kept inside the word; punctuation and symbols are not words. Korean is
  segmented the same way, which yields space-delimited *eojeol* (a stem with its particles), the
  unit Korean writes between spaces; no morphological analyser is used.
- **fertility** = tokens of the whole texts / words (punctuation tokens count as cost). This is the
  study's one definition: the fertility table (notebook 01), the vocabulary reports
  (:func:`paper_utils.vocab.extend_tokenizer`'s ``fertility_before``/``fertility_after``: :func:`fertility`
  with ``per_word=False``) and ``benchmarks/vocab_budget.py`` all use it.
- **tokens_per_whitespace_word** = tokens / whitespace-separated chunks (the measure in
  ``shared/ASSETS.md``).
- **continued_share**: share of word occurrences that a tokenizer splits into >= 2 tokens, each
  word tokenized as it appears mid-sentence (with its leading space).
- **parity** = tokens(X) / tokens(English) over the same parallel sentences (1.0 for English).
- **bytes_per_token**, **chars_per_token**: UTF-8 bytes and characters per token.

All tokenization is batched (``encode_batch``); unique words are tokenized once each.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import regex

from .errors import DataError
from .tokenization import TextTokenizer

WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+(?:['ʻʼ’‘`\-][\p{L}\p{M}\p{N}]+)*")
COLUMNS = ("tokenizer", "language", "texts", "words", "tokens", "fertility", "tokens_per_whitespace_word",
           "continued_share", "parity", "bytes_per_token", "chars_per_token")


def words(text: str) -> list[str]:
    """Words of ``text`` under the module's segmentation (see the module docstring)."""
    return WORD.findall(text)


def _check_texts(texts: Sequence[str], what: str) -> list[str]:
    for i, t in enumerate(texts):
        try:
            t.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DataError(f"{what}[{i}] is not valid Unicode text (unpaired surrogate at character {exc.start}); "
                            "decode the source file as UTF-8 with errors='strict' and fix it") from exc
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise DataError(f"{what}: no non-empty text to measure; pass at least one text with words in it")
    return texts


def word_token_counts(tokenizer: TextTokenizer, unique_words: Sequence[str]) -> dict[str, int]:
    """Tokens each word costs mid-sentence: ``" " + word`` tokenized, a lone leading space token dropped."""
    unique_words = list(unique_words)
    lone = tokenizer.encode_batch([" "])[0]
    space = lone[0] if len(lone) == 1 else None
    return {word: len(ids) - (len(ids) > 1 and ids[0] == space)
            for word, ids in zip(unique_words, tokenizer.encode_batch([" " + w for w in unique_words]))}


def fertility(tokenizer: TextTokenizer, texts: Sequence[str], english: Sequence[str] | None = None, *,
              per_word: bool = True) -> dict:
    """Fertility statistics of ``tokenizer`` on ``texts``.

    ``english``, when given, is the English side of the same parallel sentences (same order and
    length) and yields ``parity``; without it ``parity`` is ``None``. ``per_word=False`` skips the
    per-word pass (``continued_share`` is then ``None``); every other value is the same.
    """
    if english is not None and len(english) != len(texts):
        raise DataError(f"english has {len(english)} texts but texts has {len(texts)}; parity needs the "
                        "English side of the same parallel sentences, in the same order")
    if english is not None:
        pairs = [(t, e) for t, e in zip(texts, english) if t and t.strip() and e and e.strip()]
        texts, english = [p[0] for p in pairs], [p[1] for p in pairs]
    texts = _check_texts(texts, "texts")
    encoded = tokenizer.encode_batch(texts)
    tokens = sum(len(ids) for ids in encoded)
    occurrences = Counter(w for t in texts for w in words(t))
    n_words = sum(occurrences.values())
    if n_words == 0:
        raise DataError("texts contain no words (only punctuation or symbols); fertility is undefined")
    continued = None
    if per_word:
        counts = word_token_counts(tokenizer, list(occurrences))
        continued = sum(n for w, n in occurrences.items() if counts[w] >= 2)
    parity = None
    if english is not None:
        parity = tokens / max(1, sum(len(ids) for ids in tokenizer.encode_batch(list(english))))
    return {
        "texts": len(texts),
        "words": n_words,
        "tokens": tokens,
        "fertility": tokens / n_words,
        "tokens_per_whitespace_word": tokens / max(1, sum(len(t.split()) for t in texts)),
        "continued_share": continued / n_words if continued is not None else None,
        "parity": parity,
        "bytes_per_token": sum(len(t.encode("utf-8")) for t in texts) / max(1, tokens),
        "chars_per_token": sum(len(t) for t in texts) / max(1, tokens),
    }


def fertility_table(tokenizers: dict[str, TextTokenizer], texts: dict[str, Sequence[str]],
                    english: dict[str, Sequence[str]] | None = None):
    """A ``pandas.DataFrame`` with :data:`COLUMNS`, one row per tokenizer x language.

    ``texts`` maps a language code to its texts; ``english`` maps it to the English side of the
    same parallel sentences (parity). Use ``"en"`` in ``texts`` for the English row (parity 1.0).
    """
    import pandas as pd

    rows = []
    for tok_name, tok in tokenizers.items():
        for lang, lang_texts in texts.items():
            eng = None if english is None or lang == "en" else english.get(lang)
            stats = fertility(tok, lang_texts, eng)
            if lang == "en":
                stats["parity"] = 1.0
            rows.append({"tokenizer": tok_name, "language": lang, **stats})
    return pd.DataFrame(rows, columns=list(COLUMNS))
