"""Objectives for :func:`paper_utils.train.loop`: ``objective(model, batch) -> scalar loss``.

Example::

    >>> import torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> net = LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
    ...                                    num_attention_heads=2, num_key_value_heads=1))
    >>> loss = causal_lm_loss(net, torch.randint(0, 32, (2, 8), generator=torch.Generator().manual_seed(0)))
    >>> loss.ndim, bool(loss > 0)
    (0, True)

A batch is a tensor of token ids (causal LM) or a dict of tensors (objectives that need more than one
sequence per example, such as preference pairs); :func:`to_device` moves either.
"""
from __future__ import annotations

from typing import Any


def causal_lm_loss(model, batch) -> Any:
    """Mean next-token cross-entropy of ``batch`` (``(n, seq_len)`` ids) under ``model``."""
    return model(input_ids=batch, labels=batch).loss


def to_device(batch, device):
    """``batch`` (a tensor or a dict of tensors) on ``device``."""
    if isinstance(batch, dict):
        return {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}
    return batch.to(device)


__all__ = ["causal_lm_loss", "to_device"]
