"""The fallback method ``method="added_tokens"``: candidate strings go in as *added tokens* (comparison only).

Example::

    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> from paper_utils.vocab.added_tokens import added_tokens_round
    >>> from paper_utils.vocab.candidates import Candidate
    >>> base = evaluation_tokenizer()
    >>> ext, culprits = added_tokens_round(base, "byte_level_bpe", [Candidate("Ġkitob", "Ġkit", "ob")], [0],
    ...                                    base.get_vocab(), ["The kitob is here."])
    >>> len(ext) - len(base), culprits          # one new token; it fires on that English text
    (1, {0})

Added tokens bypass normalization and pre-tokenization and break decoding of byte-level text (Llama-3's
``"B\\ufffdc"`` problem), so they are only for comparison with ``method="continue_bpe"``.
"""
from __future__ import annotations

import copy

from tokenizers import AddedToken, Tokenizer

from .candidates import backend_of


def _surface(base: Tokenizer, family: str, token: str) -> str:
    """Text form of a model-space token ('Ġqil' -> ' qil', '▁qil' -> ' qil')."""
    if family == "byte_level_bpe":
        return base.decoder.decode([token])
    return token.replace("▁", " ")


def added_tokens_round(base_tokenizer, family, cands, kept, vocab, english_texts):
    """Fallback method: new strings as added tokens (breaks byte-level decoding; comparison only)."""
    base = backend_of(base_tokenizer)
    ext = copy.deepcopy(base_tokenizer)
    surface: dict[str, int] = {}
    for i in kept:
        if cands[i].token not in vocab:
            surface.setdefault(_surface(base, family, cands[i].token), i)
    ext.add_tokens([AddedToken(s, normalized=False) for s in surface])
    inv = {ext.convert_tokens_to_ids(s): i for s, i in surface.items()}
    culprits = set()
    # added tokens match the raw text before normalization and pre-tokenization: check full texts
    for enc in backend_of(ext).encode_batch(list(english_texts), add_special_tokens=False):
        culprits.update(inv[x] for x in enc.ids if x in inv)
    return ext, culprits
