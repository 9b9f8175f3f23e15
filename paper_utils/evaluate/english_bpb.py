"""English retention that can move: bits per byte on English held out by source, for every evaluated model.

Example::

    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> class Flat:                                  # a TextLM that pays 4 bits for every byte
    ...     tokenizer = evaluation_tokenizer()
    ...     def bits_per_byte(self, texts):
    ...         from paper_utils.bpb import BitsPerByte
    ...         return BitsPerByte(4.0, [4.0 * len(t.encode()) for t in texts], [len(t.encode()) for t in texts],
    ...                            [1] * len(texts))
    >>> records, scores = evaluate_english_bpb(Flat(), {"docs": ["Some English text."]}, base_tokenizer=None)
    >>> scores["bpb"], scores["by_source"]["docs"]["bpb"], records[0]["source"], records[0]["english_identical"]
    (4.0, 4.0, 'docs', True)

The MMLU letter format sits at chance for 135M-270M models, so it cannot show English loss. Bits per byte on
English text does: it moves with every change to the model. Stage 05 scores, for the base model and every
adapted one, the same English texts: ``evaluation.english_bpb_texts`` per source (default 100) of the
English held out from the vocabulary's English protection (``vocabulary.english_heldout``: standard-library
and package docstrings, package descriptions, Firefox's English UI strings; :mod:`paper_utils.corpora.english_text`),
texts of 100 to 2,000 UTF-8 bytes taken in a stable hash order
(:func:`paper_utils.corpora.english_text.sample_texts`). None of
them is adaptation training text (adaptation mixes in the English side of the Django train pairs). Per document:
bits, bytes, tokens and whether the evaluated tokenizer gives the base ids (``english_identical``,
``english_changed``; the base tokenizer itself when ``base_tokenizer`` is None); per source
and over all sources: corpus bits per byte (all bits / all bytes), the number stage 06 tests.
"""
from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

from ..errors import DataError
from .english_identity import check_items, english_scores, tokenizer_of

def evaluate_english_bpb(lm: Any, texts_by_source: Mapping[str, Sequence[str]],
                         base_tokenizer: Any = None) -> tuple[list[dict], dict]:
    """Per-document records and ``{"bpb", "n", "by_source": {source: {...}}, ...}`` on every source's texts."""
    sources = {s: list(t) for s, t in texts_by_source.items() if t}
    if not sources:
        raise DataError("no English text for English bits per byte: every held-out English source is empty "
                        "(vocabulary.english_heldout names the sources)")
    start = time.perf_counter()
    tokenizer = tokenizer_of(lm)
    records: list[dict] = []
    for source, texts in sources.items():
        res = lm.bits_per_byte(texts)
        checks = check_items(base_tokenizer if base_tokenizer is not None else tokenizer, tokenizer,
                             [{"document": t} for t in texts])
        records += [{"id": f"{source}-{i}", "source": source, "text": t, "bits": b, "bytes": n, "tokens": k,
                     "bpb": b / n, **check}
                    for i, (t, b, n, k, check) in enumerate(zip(texts, res.bits, res.bytes, res.tokens, checks))]

    def corpus(rows: list[dict]) -> dict:
        return {"bpb": sum(r["bits"] for r in rows) / sum(r["bytes"] for r in rows), "n": len(rows),
                "bytes": sum(r["bytes"] for r in rows), "tokens": sum(r["tokens"] for r in rows), **english_scores(rows)}

    by_source = {s: corpus([r for r in records if r["source"] == s]) for s in sources}
    return records, {**corpus(records), "by_source": by_source, "statistic": "corpus_bpb",
                     "seconds": round(time.perf_counter() - start, 2)}
