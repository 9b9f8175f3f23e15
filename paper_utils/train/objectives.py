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

from typing import Any, Callable


def causal_lm_loss(model, batch) -> Any:
    """Mean next-token cross-entropy of ``batch`` (``(n, seq_len)`` ids) under ``model``."""
    return model(input_ids=batch, labels=batch).loss


def to_device(batch, device):
    """``batch`` (a tensor or a dict of tensors) on ``device``."""
    if isinstance(batch, dict):
        return {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}
    return batch.to(device)


__all__ = ["causal_lm_loss", "to_device", "response_loss_evaluator"]


def response_loss_evaluator(collate: Callable[[list, int], dict], batch_nll: Callable[[Any, dict], tuple],
                            pad_id: int, batch_size: int, *, key: str = "heldout_loss",
                            device_of: Callable[[Any], Any] | None = None) -> Callable[[Any, list], dict]:
    """``evaluate(model, examples)`` for :func:`paper_utils.train.loop`: mean nats per response token, and per example.

    Example::

        >>> import torch
        >>> collate = lambda ex, pad: {"x": torch.tensor(ex, dtype=torch.float32)}
        >>> nll = lambda model, batch: (batch["x"].sum(1), torch.full((len(batch["x"]),), 2))
        >>> ev = response_loss_evaluator(collate, nll, 0, 2, key="loss", device_of=lambda m: "cpu")
        >>> ev(torch.nn.Linear(1, 1), [[1.0, 1.0], [2.0, 4.0], [0.5, 0.5]])
        {'loss': 1.5, 'document_loss': [1.0, 3.0, 0.5], 'document_tokens': [2, 2, 2]}

    ``collate(examples, pad_id)`` makes a batch (a dict of tensors), moved to ``device_of(model)`` (default: the
    device of the model's first parameter); ``batch_nll(model, batch)`` returns the summed negative log-likelihood of
    each example's scored tokens and their counts (1-D, one per example). The model is scored in eval mode without
    gradients and put back as it was.
    """
    def evaluate(model, examples) -> dict:
        import torch

        device = device_of(model) if device_of is not None else next(model.parameters()).device
        sums, counts = [], []
        was_training = model.training
        model.eval()
        with torch.no_grad():
            for start in range(0, len(examples), batch_size):
                batch = {k: v.to(device) for k, v in collate(examples[start:start + batch_size], pad_id).items()}
                s, c = batch_nll(model, batch)
                sums += s.tolist()
                counts += c.long().tolist()
        model.train(was_training)
        return {key: sum(sums) / max(sum(counts), 1),
                "document_loss": [round(s / max(c, 1), 4) for s, c in zip(sums, counts)], "document_tokens": counts}
    return evaluate
