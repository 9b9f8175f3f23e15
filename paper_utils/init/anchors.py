"""Anchors and the texts an encoder reads: base tokens to anchor on, query texts, encoders and the lexicon.

Example::

    >>> from paper_utils.init.anchors import NgramHashEncoder, lexicon_map, normalize_word
    >>> normalize_word("Toʻgʻri")                        # every apostrophe form as '
    "to'g'ri"
    >>> lexicon_map({"Kitob": " book ", "qalam": ""})    # normalized keys, entries without English dropped
    {'kitob': 'book'}
    >>> NgramHashEncoder(dim=8).encode(["kitob"]).shape
    (1, 8)

:func:`anchor_ids` picks the base tokens an initializer may anchor on (``anchor_set``: ``words``,
``alpha`` or ``all``); :func:`encoder_space` embeds them with the encoder of the options;
:func:`query_texts` gives the surface form of each new token and whether an encoder can read it.
"""
from __future__ import annotations

import re
import unicodedata
import zlib
from typing import Any, Mapping, Sequence

import numpy as np

from ..encoders import load_encoder
from ..errors import ConfigError, DataError
from .common import Context

_APOSTROPHES = re.compile(r"[ʻʼ’‘`´ʹ']")


def usable(text: str) -> bool:
    """A surface form an encoder can read: non-empty, printable, no broken UTF-8."""
    return bool(text) and "\ufffd" not in text and text.isprintable()


def _is_alpha(text: str) -> bool:
    core = _APOSTROPHES.sub("", text).replace("-", "")
    return len(text) >= 2 and core.isalpha()


def anchor_ids(ctx: Context, anchor_set: str, max_anchors: int | None) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Base ids usable as anchors, their encoder texts and a word-initial flag (lowest ids first)."""
    surfaces = ctx.base_surfaces()
    special = ctx.special_ids()
    ids, texts, initial = [], [], []
    for i, s in enumerate(surfaces):
        text = s.strip()
        if i in special or not usable(text):
            continue
        word_initial = s[:1].isspace()
        if anchor_set == "words" and not (word_initial and _is_alpha(text)):
            continue
        if anchor_set == "alpha" and not _is_alpha(text):
            continue
        ids.append(i)
        texts.append(text)
        initial.append(word_initial)
        if max_anchors and len(ids) >= max_anchors:
            break
    if not ids:
        raise DataError(f"anchor_set={anchor_set!r} leaves no base token to anchor on; use anchor_set='all'")
    return np.array(ids), texts, np.array(initial)


def resolve_encoder(encoder):
    if isinstance(encoder, str):
        return load_encoder(encoder)
    if not hasattr(encoder, "encode"):
        raise ConfigError("encoder", type(encoder).__name__, "pass an encoder name ('e5-small', 'labse') or an object "
                                                               "with encode(list[str]) -> array")
    return encoder


def encode(encoder, texts: Sequence[str], device):
    import torch

    vecs = np.asarray(encoder.encode(list(texts)), dtype=np.float32)
    if vecs.shape[0] != len(texts):
        raise DataError(f"encoder returned {vecs.shape[0]} vectors for {len(texts)} texts")
    vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    return torch.from_numpy(vecs).to(device)


def normalize_word(text: str) -> str:
    """Lexicon key: NFKC, case-folded, every apostrophe form as ``'``."""
    return _APOSTROPHES.sub("'", unicodedata.normalize("NFKC", text)).casefold().strip()


def lexicon_map(lexicon) -> dict[str, str]:
    """``{normalized target word: English}`` from a mapping, (target, en) pairs or a Dataset."""
    if lexicon is None:
        return {}
    if hasattr(lexicon, "column_names"):
        pairs = zip(lexicon["target"], lexicon["en"])
    elif isinstance(lexicon, Mapping):
        pairs = lexicon.items()
    else:
        pairs = lexicon
    out: dict[str, str] = {}
    for target, en in pairs:
        if target and en and en.strip():
            out.setdefault(normalize_word(target), en.strip())
    return out


def query_texts(ctx: Context) -> tuple[list[str], np.ndarray]:
    """Each new token's surface form without its leading space, and whether an encoder can read it."""
    texts = [s.strip() for s in ctx.info.surfaces]
    return texts, np.array([usable(t) for t in texts])


def encoder_space(ctx: Context, opts: Mapping[str, Any]):
    """``(encoder, anchor ids, their unit vectors, word-initial flags)`` for the options' encoder and anchor set."""
    encoder = resolve_encoder(opts["encoder"])
    a_ids, a_texts, a_initial = anchor_ids(ctx, opts["anchor_set"], opts["max_anchors"])
    return encoder, a_ids, encode(encoder, a_texts, ctx.device), a_initial


# ------------------------------------------------------------------------------------------------
# a deterministic encoder for tests and the smoke preset

class NgramHashEncoder:
    """Character n-gram hashing vectors: deterministic, no download; similar strings are close.

    Example::

        >>> enc = NgramHashEncoder(dim=64)
        >>> v = enc.encode(["kitob", "kitoblar", "xyz"])
        >>> bool(v[0] @ v[1] > v[0] @ v[2])
        True

    Stands in for the multilingual encoder in tests and in the ``smoke`` preset; it knows spelling,
    not meaning.
    """

    def __init__(self, dim: int = 64, n: int = 3, name: str = "ngram-hash"):
        self.dim, self.n, self.name = dim, n, name
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"<{text.lower()}>"
            for k in range(max(1, len(padded) - self.n + 1)):
                h = zlib.crc32(padded[k:k + self.n].encode("utf-8"))
                out[row, h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out[norms[:, 0] == 0, 0] = 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
