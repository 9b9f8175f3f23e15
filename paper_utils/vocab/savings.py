"""Rank an extension's new tokens by the pieces they save on a text.

Example::

    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> from paper_utils.vocab import extend_tokenizer
    >>> from paper_utils.vocab.savings import token_savings
    >>> base = evaluation_tokenizer()
    >>> ext, _ = extend_tokenizer(base, ["kitob kitoblar"] * 10, 2, english_texts=["The books."])
    >>> token_savings(ext, base, ["kitob kitoblar"])          # (token, frequency, frequency x saved)
    [('itob', 2, 4)]
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from .candidates import backend_of, segment


def token_savings(extended_tokenizer, base_tokenizer, texts: Sequence[str]) -> list[tuple[str, int, int]]:
    """Rank the new tokens by pieces saved on ``texts``: (token, frequency, frequency x saved).

    Example::

        >>> from paper_utils.fixtures import evaluation_tokenizer
        >>> from paper_utils.vocab import extend_tokenizer
        >>> base = evaluation_tokenizer()
        >>> ext, _ = extend_tokenizer(base, ["kitob kitoblar"] * 10, 2, english_texts=["The books."])
        >>> token_savings(ext, base, ["kitob kitoblar"])[:1]
        [('itob', 2, 4)]
    """
    base, ext = backend_of(base_tokenizer), backend_of(extended_tokenizer)
    base_ids = set(base.get_vocab(True).values())
    counts: Counter = Counter()
    for enc in ext.encode_batch(list(texts), add_special_tokens=False):
        counts.update(x for x in enc.ids if x not in base_ids)
    out = []
    for x, n in counts.items():
        tok = ext.id_to_token(x)
        pieces = len(segment(base.model, tok))
        out.append((tok, n, n * max(pieces - 1, 0)))
    return sorted(out, key=lambda r: -r[2])
