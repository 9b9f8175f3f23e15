"""The tokens an extended tokenizer adds to its base: ids, surface forms and base sub-tokens.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.init import new_tokens, smoke_setup
    >>> s = smoke_setup(load_preset("smoke"), "uz", "smollm2-135m")      # tiny tokenizers, seconds
    >>> info = new_tokens(s.base_tokenizer, s.extended_tokenizer)
    >>> info.ids[0] == len(s.base_tokenizer), info.surfaces[:2], info.pieces[:2]
    (True, ['ir', 'ar'], [[73, 82], [65, 82]])

:func:`new_tokens` checks that the extension keeps every base token at its id and segments each new
token with the base tokenizer's own model (its sub-tokens, used by ``fvt`` and every fallback).
The vocabulary fingerprint it records is :func:`paper_utils.surfaces.vocab_fingerprint`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError, DataError
from ..surfaces import surface_forms, vocab_fingerprint, vocabulary_kind


@dataclass
class NewTokens:
    """The tokens of ``extended`` that ``base`` lacks, in id order."""

    ids: list[int]
    tokens: list[str]
    surfaces: list[str]            # text form, leading space included (" qil")
    pieces: list[list[int]]        # base ids of the same text under the base tokenizer
    word_initial: list[bool]       # surface starts with a space (a word start)
    base_vocab_size: int           # 1 + highest base id
    fingerprint: str


def new_tokens(base_tokenizer, extended_tokenizer) -> NewTokens:
    """Find the new tokens; ConfigError when ``extended`` does not keep every base token at its id."""
    base_vocab = base_tokenizer.get_vocab()
    ext_vocab = extended_tokenizer.get_vocab()
    moved = [(t, i, ext_vocab.get(t)) for t, i in base_vocab.items() if ext_vocab.get(t) != i]
    if moved:
        examples = ", ".join(f"{t!r}: {i} -> {j}" for t, i, j in moved[:3])
        raise ConfigError("extended_tokenizer", f"{len(moved)} base tokens missing or moved ({examples})",
                          "pass an extension of this base tokenizer that keeps every base token at its id "
                          "(paper_utils.vocab.extend_tokenizer does)")
    new = sorted((i, t) for t, i in ext_vocab.items() if t not in base_vocab)
    if not new:
        raise DataError("the extended tokenizer adds no tokens to the base tokenizer: nothing to initialize")
    ids = [i for i, _ in new]
    toks = [t for _, t in new]
    added = {i: a.content for i, a in getattr(extended_tokenizer, "added_tokens_decoder", {}).items()}
    kind = vocabulary_kind(base_tokenizer)
    model_space = [i not in added for i in ids]
    surfaces = surface_forms(base_tokenizer, toks, kind)
    surfaces = [s if ms else added[i] for s, ms, i in zip(surfaces, model_space, ids)]
    # sub-tokens: model-vocabulary tokens are segmented by the base model itself (exact for byte-level
    # strings, leading space and partial characters included); added tokens are raw text -> encode it.
    base_model = base_tokenizer.backend_tokenizer.model
    pieces: list[list[int]] = []
    raw = [surfaces[k] for k in range(len(ids)) if not model_space[k]]
    raw_ids = iter(base_tokenizer(raw, add_special_tokens=False)["input_ids"] if raw else [])
    for tok, ms in zip(toks, model_space):
        if ms:
            pieces.append([p.id for p in base_model.tokenize(tok)] if tok else [])
        else:
            pieces.append(list(next(raw_ids)))
    return NewTokens(ids, toks, surfaces, pieces, [s[:1].isspace() for s in surfaces],
                     max(base_vocab.values()) + 1, vocab_fingerprint(base_tokenizer))
