"""Tokenizer facts: families (which ones the study can extend), each token as text, the vocabulary's fingerprint.

Example::

    >>> from paper_utils.surfaces import surface_forms
    >>> surface_forms(None, ["Ġqil", "ish"], kind="byte_level")
    [' qil', 'ish']
    >>> surface_forms(None, ["▁qil"], kind="sentencepiece")
    [' qil']

Shared by the initializers (anchors are read as text by an encoder), the patch code and training (a
run records the fingerprint of the vocabulary it starts from); it imports nothing else of the package
but the errors.
"""
from __future__ import annotations

import hashlib
import json
from typing import Mapping, Sequence

from tokenizers import Tokenizer

from .errors import ConfigError

SUPPORTED = ("byte-level BPE (GPT-2, Llama-3, SmolLM2), SentencePiece-style BPE with '▁' and optional "
             "byte fallback (Llama-2, Mistral v1, Gemma), SentencePiece Unigram; as HF fast tokenizers")


def tokenizer_family(tokenizer) -> str:
    """``"byte_level_bpe"``, ``"sentencepiece_bpe"`` or ``"unigram"``; ConfigError otherwise.

    Example::

        >>> from paper_utils.fixtures import evaluation_tokenizer
        >>> tokenizer_family(evaluation_tokenizer())                # GPT-2-style byte-level BPE
        'byte_level_bpe'
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None and isinstance(tokenizer, Tokenizer):
        backend = tokenizer
    if backend is None:
        raise ConfigError("base_tokenizer", type(tokenizer).__name__,
                          f"need a fast tokenizer (use_fast=True); supported: {SUPPORTED}")
    spec = json.loads(backend.to_str())
    model, kind = spec["model"], spec["model"].get("type")
    pieces = json.dumps([spec.get("normalizer"), spec.get("pre_tokenizer")])
    if kind == "BPE":
        if model.get("dropout") or model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
            raise ConfigError("base_tokenizer", "BPE with dropout/subword prefix/suffix",
                              f"supported: {SUPPORTED}")
        if '"ByteLevel"' in pieces:
            return "byte_level_bpe"
        if "▁" in pieces or "\\u2581" in pieces:
            return "sentencepiece_bpe"
    elif kind == "Unigram":
        return "unigram"
    raise ConfigError("base_tokenizer", f"{kind} model ({type(tokenizer).__name__})", f"supported: {SUPPORTED}")


def _backend_spec(tokenizer) -> dict:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ConfigError("tokenizer", type(tokenizer).__name__, "pass a fast tokenizer (AutoTokenizer, use_fast=True)")
    return json.loads(backend.to_str())


def vocabulary_kind(tokenizer) -> str:
    """``"byte_level"``, ``"sentencepiece"`` (``▁`` marks spaces) or ``"other"``."""
    spec = _backend_spec(tokenizer)
    parts = json.dumps([spec.get("pre_tokenizer"), spec.get("decoder")])
    if '"ByteLevel"' in parts:
        return "byte_level"
    if "▁" in json.dumps([spec.get("normalizer"), spec.get("pre_tokenizer"), spec.get("decoder")], ensure_ascii=False):
        return "sentencepiece"
    return "other"


def _byte_decoder() -> dict[str, int]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


_BYTE_DECODER = _byte_decoder()


def surface_forms(tokenizer, tokens: Sequence[str], kind: str | None = None) -> list[str]:
    """Text form of model-vocabulary tokens: ``'Ġqil' -> ' qil'``, ``'▁qil' -> ' qil'``.

    Byte-level tokens that end inside a UTF-8 character decode with U+FFFD; callers treat those as
    having no usable surface for an encoder (sub-token methods do not need one).
    """
    kind = kind or vocabulary_kind(tokenizer)
    if kind == "byte_level":
        return [bytes(_BYTE_DECODER.get(c, 32) for c in t).decode("utf-8", errors="replace") for t in tokens]
    if kind == "sentencepiece":
        return [t.replace("▁", " ") for t in tokens]
    return list(tokens)


def adds_bos(tokenizer) -> bool:
    """Does ``tokenizer`` start every encoding with its BOS token (Gemma, Llama-3), i.e. was the model trained on
    sequences that open with BOS? SmolLM2's and GPT-2's tokenizers add nothing.

    Example::

        >>> from paper_utils.fixtures import evaluation_tokenizer
        >>> adds_bos(evaluation_tokenizer())
        False

    A model trained so scores about twice the loss on text that does not open with BOS (Gemma-3-270M on Malay:
    7.2 nats a token without, 3.7 with), so training blocks and scored chunks open with it
    (:func:`paper_utils.train.streams.pack`)."""
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is None:
        return False
    ids = tokenizer("a")["input_ids"]
    return bool(ids) and int(ids[0]) == int(bos)


def vocab_fingerprint(tokenizer) -> str:
    """sha256 of the (token, id) pairs of a tokenizer's vocabulary (first 16 hex digits).

    Example::

        >>> from paper_utils.fixtures import evaluation_tokenizer
        >>> tok = evaluation_tokenizer()
        >>> vocab_fingerprint(tok) == fingerprint_vocab(tok.get_vocab()), len(vocab_fingerprint(tok))
        (True, 16)
    """
    return fingerprint_vocab(tokenizer.get_vocab())


def fingerprint_vocab(vocab: Mapping[str, int]) -> str:
    """:func:`vocab_fingerprint` of a ``{token: id}`` mapping (the patch code checks part of a vocabulary)."""
    digest = hashlib.sha256()
    for tok, i in sorted(vocab.items(), key=lambda kv: kv[1]):
        digest.update(f"{i}\x1f{tok}\x1e".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]
