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

Memory: the logits of one batch are ``rows x width x vocabulary`` floats, 8.6 GB for 16 chunks of 513
tokens over Gemma-3's 262,144-piece vocabulary, and a batch-wide log-softmax made a copy of that size.
``max_logit_bytes`` (1 GiB) caps the logits by scoring fewer chunks at once (at least one), and each row's
log-softmax is taken on its own. Measured with Gemma-3-270M on four ~505-token texts (one thread): peak RSS
8.2 GB before, 4.0 GB now, same bpb to 1e-8. This is the likely cause of the 15-18 GB peaks of Gemma-3's
stage 03 on CPU (the arithmetic matches; that stage has not been measured again).
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


def _output_size(model) -> int | None:
    """Width of the model's logits (the output embedding's rows; the config's vocabulary size), None if unknown."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None and getattr(head, "weight", None) is not None:
        return int(head.weight.shape[0])
    size = getattr(getattr(model, "config", None), "vocab_size", None)
    return int(size) if size else None


def bits_per_byte(model, tokenizer, texts: Sequence[str], batch_size: int = 16, max_tokens: int = 512,
                  max_logit_bytes: int = 2 ** 30) -> BitsPerByte:
    """Bits per byte of ``model`` on ``texts`` (sum of NLL bits over sum of UTF-8 bytes).

    At most ``batch_size`` chunks are scored together, fewer when their float32 logits would pass
    ``max_logit_bytes``.
    """
    import torch

    if batch_size < 1 or max_logit_bytes < 1:
        raise ValueError(f"bits_per_byte: batch_size ({batch_size}) and max_logit_bytes ({max_logit_bytes}) "
                         "must be positive")

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
        vocab = _output_size(model)
        start = 0
        while start < len(order):
            width = len(chunks[order[start]][1])                      # the longest left (order is by length)
            rows = max(1, min(batch_size, max_logit_bytes // (4 * width * vocab))) if vocab else batch_size
            batch = [chunks[k] for k in order[start:start + rows]]
            start += rows
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, (_, seq) in enumerate(batch):
                input_ids[row, :len(seq)] = torch.tensor(seq)
                mask[row, :len(seq)] = 1
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            target = input_ids[:, 1:].to(device)
            keep = mask[:, 1:].to(device)
            for row, (doc, _) in enumerate(batch):                   # one row's log-softmax at a time
                logp = torch.log_softmax(logits[row, :-1].float(), dim=-1)
                nll = -logp.gather(-1, target[row].unsqueeze(-1)).squeeze(-1) * keep[row]
                bits[doc] += float(nll.sum()) / LN2
            del logits
    model.train(was_training)
    n_bytes = [len(t.encode("utf-8")) for t in texts]
    return BitsPerByte(sum(bits) / sum(n_bytes), bits, n_bytes, [len(s) for s in ids])
