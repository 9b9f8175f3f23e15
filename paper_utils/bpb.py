"""Bits per byte: a language-modelling score that compares models with different tokenizers.

Example::

    >>> from paper_utils.bpb import bits_per_byte
    >>> from paper_utils.fixtures import evaluation_model
    >>> model, tok = evaluation_model()                          # a random 2-layer Llama (seconds)
    >>> result = bits_per_byte(model, tok, ["The capital of France is Paris.", "Salom dunyo"])
    >>> len(result.per_document), result.bpb > 0
    (2, True)

Per-token loss depends on how text is cut into tokens; bits per byte does not: it is the total
negative log-likelihood of a text in bits, divided by its UTF-8 length. Each document is scored on
its own, conditioned only on the beginning-of-sequence token (the end-of-sequence token when the
tokenizer has no BOS), so *every* token of the text is predicted, including the first. Documents
longer than ``max_tokens`` are scored in consecutive chunks, each conditioned on BOS (documented
approximation; the demo's sentences are far shorter). Per-document records allow paired tests.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .errors import DataError

LN2 = math.log(2.0)


@dataclass
class BitsPerByte:
    bpb: float                      # corpus-level: sum of bits / sum of bytes
    bits: list[float]               # per document
    bytes: list[int]                # per document
    tokens: list[int]               # per document (text tokens, BOS excluded)

    @property
    def per_document(self) -> list[float]:
        return [b / n for b, n in zip(self.bits, self.bytes)]

    def to_dict(self) -> dict:
        return {"bpb": self.bpb, "documents": len(self.bits), "bytes": sum(self.bytes), "tokens": sum(self.tokens),
                "per_document_bpb": self.per_document}


def _context_id(tokenizer) -> int:
    for tid in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return tid
    raise DataError("the tokenizer has neither a BOS nor an EOS token to condition the first token on; "
                    "set tokenizer.bos_token")


def bits_per_byte(model, tokenizer, texts: Sequence[str], batch_size: int = 16, max_tokens: int = 512) -> BitsPerByte:
    """Bits per byte of ``model`` on ``texts`` (sum of NLL bits over sum of UTF-8 bytes)."""
    import torch

    texts = list(texts)
    if not texts or not any(t.strip() for t in texts):
        raise DataError("bits_per_byte needs at least one non-empty text (got an empty held-out set)")
    texts = [t for t in texts if t.strip()]
    ctx = _context_id(tokenizer)
    device = next(model.parameters()).device
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    # chunks: (doc index, [ctx] + piece)
    chunks = [(i, [ctx] + seq[s:s + max_tokens]) for i, seq in enumerate(ids) for s in range(0, max(len(seq), 1), max_tokens)]
    order = sorted(range(len(chunks)), key=lambda k: -len(chunks[k][1]))      # fewer pad tokens per batch
    bits = [0.0] * len(texts)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else ctx
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            batch = [chunks[k] for k in order[start:start + batch_size]]
            width = max(len(c[1]) for c in batch)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, (_, seq) in enumerate(batch):
                input_ids[row, :len(seq)] = torch.tensor(seq)
                mask[row, :len(seq)] = 1
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1)
            target = input_ids[:, 1:].to(device)
            nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1) * mask[:, 1:].to(device)
            for row, (doc, _) in enumerate(batch):
                bits[doc] += float(nll[row].sum()) / LN2
    model.train(was_training)
    n_bytes = [len(t.encode("utf-8")) for t in texts]
    return BitsPerByte(sum(bits) / sum(n_bytes), bits, n_bytes, [len(s) for s in ids])
