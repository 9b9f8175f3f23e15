"""English next-token KL between the base and the patched model, without a second forward pass.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.init import english_reference, english_shift, initialize, smoke_setup
    >>> s = smoke_setup(load_preset("smoke"), "uz", "smollm2-135m")      # tiny random model, seconds
    >>> ref = english_reference(s.model, s.base_tokenizer, s.english_texts, s.extended_tokenizer)
    >>> shift = english_shift(ref, initialize(s.model, s.base_tokenizer, s.extended_tokenizer, "mean"))
    >>> shift["english_kl"] > 0, shift["english_documents_excluded"]
    (True, 0)

The extended tokenizer cuts English exactly as the base one (``paper_utils.vocab``), so the patched
model sees the same ids and computes the same hidden states; only the softmax gains the new rows.
Hence, per position, ``KL = logsumexp(z_base, z_new) - logsumexp(z_base) = -log(1 - new-token mass)``,
computed from the base model's final hidden states once (:func:`english_reference`) and a matrix
product per patch (:func:`english_shift`); :func:`english_kl_exact` is the full forward pass it is
tested against. Documents whose English tokenization changed are excluded and counted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..bpb import _context_id
from ..errors import DataError
from .patch import EmbeddingPatch


@dataclass
class EnglishReference:
    """Final hidden states of the base model on English positions, and the base log-normaliser."""

    hidden: Any                   # (positions, hidden) float32
    lse: Any                      # (positions,) logsumexp of the base logits
    max_logit: Any                # (positions,)
    documents: int
    excluded: int                 # documents whose English tokenization the extension changed
    softcap: float | None = None


def _hidden_states(model, input_ids, mask):
    out = model.base_model(input_ids=input_ids, attention_mask=mask)
    return out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]


def _logits(hidden, rows, softcap):
    import torch

    z = hidden @ rows.T
    return z if not softcap else softcap * torch.tanh(z / softcap)


def _chunk(columns: int) -> int:
    """Positions per logit block (about 2**25 floats)."""
    return max(16, (1 << 25) // max(columns, 1))


def _output_matrix(model):
    out = model.get_output_embeddings()
    return (out.weight if out is not None else model.get_input_embeddings().weight).detach().float()


def english_reference(model, base_tokenizer, texts: Sequence[str], extended_tokenizer=None, batch_size: int = 8,
                      max_tokens: int = 128) -> EnglishReference:
    """Run the base model once over ``texts`` (BOS + tokens, truncated at ``max_tokens``)."""
    import torch

    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise DataError("english_texts is empty: the English KL needs English text (e.g. MMLU questions)")
    ids = base_tokenizer(texts, add_special_tokens=False)["input_ids"]
    excluded = 0
    if extended_tokenizer is not None:
        ext_ids = extended_tokenizer(texts, add_special_tokens=False)["input_ids"]
        keep = [a == b for a, b in zip(ids, ext_ids)]
        excluded = keep.count(False)
        ids = [s for s, k in zip(ids, keep) if k]
    ctx = _context_id(base_tokenizer)
    seqs = [[ctx] + s[:max_tokens - 1] for s in ids if s]
    softcap = getattr(model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config,
                      "final_logit_softcapping", None)
    device = next(model.parameters()).device
    w_out = _output_matrix(model)
    chunk = _chunk(w_out.shape[0])
    hiddens, lses, maxes = [], [], []
    was = model.training
    model.eval()
    with torch.no_grad():
        order = sorted(range(len(seqs)), key=lambda k: -len(seqs[k]))
        for s in range(0, len(order), batch_size):
            batch = [seqs[k] for k in order[s:s + batch_size]]
            width = max(len(b) for b in batch)
            inp = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, b in enumerate(batch):
                inp[r, :len(b)] = torch.tensor(b)
                mask[r, :len(b)] = 1
            h = _hidden_states(model, inp.to(device), mask.to(device)).float()
            # positions that predict a text token: every real position but the last of each row
            sel = mask.clone()
            sel[torch.arange(len(batch)), mask.sum(1) - 1] = 0
            h = h[sel.bool().to(device)]
            for c in range(0, h.shape[0], chunk):
                z = _logits(h[c:c + chunk], w_out, softcap)
                lses.append(torch.logsumexp(z, -1))
                maxes.append(z.max(-1).values)
            hiddens.append(h)
    model.train(was)
    if not hiddens:
        raise DataError("no English positions to score (all texts empty or tokenization changed)")
    return EnglishReference(torch.cat(hiddens), torch.cat(lses), torch.cat(maxes), len(seqs), excluded, softcap)


def english_shift(ref: EnglishReference, patch: EmbeddingPatch) -> dict[str, float]:
    """KL(base || patched) per English position (mean, max), new-token mass and argmax share."""
    import torch

    rows = (patch.output_rows if patch.output_rows is not None else patch.input_rows).float().to(ref.hidden.device)
    chunk = _chunk(rows.shape[0])
    kls, argmax = [], []
    with torch.no_grad():
        for c in range(0, ref.hidden.shape[0], chunk):
            z = _logits(ref.hidden[c:c + chunk], rows, ref.softcap)
            lse_new = torch.logsumexp(z, -1)
            lse = ref.lse[c:c + chunk]
            kls.append(torch.logaddexp(lse, lse_new) - lse)
            argmax.append(z.max(-1).values > ref.max_logit[c:c + chunk])
    kl = torch.cat(kls).double()
    return {"english_kl": float(kl.mean()), "english_kl_max": float(kl.max()),
            "english_new_mass": float((1 - torch.exp(-kl)).mean()),
            "english_new_argmax_share": float(torch.cat(argmax).float().mean()),
            "english_positions": int(kl.numel()), "english_documents": ref.documents,
            "english_documents_excluded": ref.excluded}


def english_kl_exact(base_model, patched_model, tokenizer, texts: Sequence[str], max_tokens: int = 128) -> float:
    """Mean KL(base || patched) from two full forward passes (reference for tests; slow)."""
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
            inp = torch.tensor([[_context_id(tokenizer)] + ids[:max_tokens - 1]])
            lp = torch.log_softmax(base_model(input_ids=inp).logits[0, :-1].double(), -1)
            lq = torch.log_softmax(patched_model(input_ids=inp).logits[0, :-1].double(), -1)
            v = lp.shape[-1]
            kl = (lp.exp() * (lp - lq[:, :v])).sum(-1)
            total += float(kl.sum())
            count += kl.numel()
    return total / count
