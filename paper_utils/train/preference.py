"""Preference pairs and the CLO objective: chat-template tokenization, response log-probs, DPO + NLL.

Example::

    >>> import torch
    >>> from paper_utils.fixtures import evaluation_model
    >>> model, tok = evaluation_model()                       # random 2-layer Llama (no chat template)
    >>> pairs = [{"prompt": "Salom?", "chosen": "Yaxshi.", "rejected": "Fine.", "nll": True},
    ...          {"prompt": "Hello?", "chosen": "Fine.", "rejected": "Yaxshi.", "nll": False}]
    >>> examples = [encode_pair(tok, p, max_prompt_tokens=16, max_response_tokens=8) for p in pairs]
    >>> batch = collate_pairs(examples, pad_id=tok.pad_token_id or 0)
    >>> batch["input_ids"].shape[0], batch["nll_mask"].tolist()     # chosen rows, then rejected rows
    (4, [1.0, 0.0])
    >>> objective = CloObjective(frozen_copy(model), beta=0.1, nll_weight=1.0)
    >>> terms = clo_terms(model, objective.reference, batch, beta=0.1, nll_weight=1.0)
    >>> round(float(terms["dpo"]), 4)                          # policy == reference: -log sigmoid(0) = log 2
    0.6931
    >>> bool(torch.isclose(objective(model, batch), terms["dpo"] + terms["nll"]))
    True

**Encoding** (:func:`encode_pair`, :func:`encode_sft`): the prompt through the tokenizer's chat template as one user
turn with the generation prompt (a tokenizer without a template: ``"User: <prompt>\\nAssistant: "``), kept to its
last ``max_prompt_tokens`` tokens; a response is its first ``max_response_tokens`` tokens plus the tokenizer's EOS
(the end of the assistant turn for ChatML/Llama-3 instruction models). **Batches** (:func:`collate_pairs`) follow
TRL's ``DataCollatorForPreference`` layout: ``input_ids``/``attention_mask``/``completion_mask`` of shape
``(2B, L)``, the B chosen sequences then the B rejected ones, right-padded; ``completion_mask`` is 1 on response
tokens only (prompt tokens never enter a loss); ``nll_mask`` (B,) marks the pairs whose chosen response gets the NLL.

**The CLO loss** (:func:`clo_terms`): with ``pi_c``/``pi_r`` the policy's log-probabilities of the chosen/rejected
response summed over its tokens and ``ref_c``/``ref_r`` the frozen reference's,
``dpo = mean_i -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))`` (TRL 1.16's ``loss_type="sigmoid"``) and
``nll = -mean over the chosen response tokens of the nll_mask pairs of log p`` (TRL's ``loss_type="sft"``, a token
mean, restricted to the marked pairs); ``loss = dpo + nll_weight * nll``. CLO (arXiv 2505.14297) puts the NLL on
the target-language response only, so the recipe marks the pairs whose prompt is in the target language
(:mod:`paper_utils.recipes.clo`); with every pair marked this is exactly TRL's ``loss_type=["sigmoid", "sft"]``,
``loss_weights=[1, nll_weight]`` (tests/test_clo.py calls TRL's own loss on the same batch).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .streams import ExampleStream   # the preference and SFT examples' stream (re-exported for the recipe)


def prompt_ids(tokenizer, prompt: str) -> list[int]:
    """``prompt`` as one user turn of ``tokenizer``'s chat template, with the assistant's generation prompt."""
    if getattr(tokenizer, "chat_template", None):
        ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                            tokenize=True)
        ids = ids["input_ids"] if isinstance(ids, Mapping) else ids
        return [int(i) for i in ids]
    return list(tokenizer(f"User: {prompt}\nAssistant: ", add_special_tokens=True)["input_ids"])


def response_ids(tokenizer, response: str, max_response_tokens: int) -> list[int]:
    """The first ``max_response_tokens`` tokens of ``response``, then the tokenizer's EOS (end of the turn)."""
    ids = list(tokenizer(response, add_special_tokens=False)["input_ids"])[:max_response_tokens]
    return ids + ([tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else [])


def encode_pair(tokenizer, pair: Mapping[str, Any], max_prompt_tokens: int, max_response_tokens: int) -> dict:
    """``{"prompt_ids", "chosen_ids", "rejected_ids", "nll"}`` of ``{"prompt", "chosen", "rejected"[, "nll"]}``."""
    return {"prompt_ids": prompt_ids(tokenizer, pair["prompt"])[-max_prompt_tokens:],
            "chosen_ids": response_ids(tokenizer, pair["chosen"], max_response_tokens),
            "rejected_ids": response_ids(tokenizer, pair["rejected"], max_response_tokens),
            "nll": bool(pair.get("nll", True))}


def encode_sft(tokenizer, prompt: str, response: str, max_prompt_tokens: int, max_response_tokens: int) -> dict:
    """``{"prompt_ids", "response_ids"}`` of one supervised (prompt, response) example."""
    return {"prompt_ids": prompt_ids(tokenizer, prompt)[-max_prompt_tokens:],
            "response_ids": response_ids(tokenizer, response, max_response_tokens)}


def _pad(rows: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict:
    import torch

    width = max(len(p) + len(r) for p, r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention = torch.zeros(len(rows), width, dtype=torch.long)
    completion = torch.zeros(len(rows), width, dtype=torch.long)
    for i, (p, r) in enumerate(rows):
        ids[i, :len(p) + len(r)] = torch.tensor(p + r, dtype=torch.long)
        attention[i, :len(p) + len(r)] = 1
        completion[i, len(p):len(p) + len(r)] = 1
    return {"input_ids": ids, "attention_mask": attention, "completion_mask": completion}


def collate_pairs(examples: Sequence[Mapping[str, Any]], pad_id: int) -> dict:
    """One preference batch (module doc): chosen rows, then rejected rows, right-padded, plus ``nll_mask``."""
    import torch

    rows = ([(e["prompt_ids"], e["chosen_ids"]) for e in examples]
            + [(e["prompt_ids"], e["rejected_ids"]) for e in examples])
    batch = _pad(rows, pad_id)
    batch["nll_mask"] = torch.tensor([1.0 if e.get("nll", True) else 0.0 for e in examples])
    return batch


def collate_sft(examples: Sequence[Mapping[str, Any]], pad_id: int) -> dict:
    """One supervised batch: ``input_ids``/``attention_mask``/``completion_mask`` (response tokens), right-padded."""
    return _pad([(e["prompt_ids"], e["response_ids"]) for e in examples], pad_id)


def token_logprobs(model, batch: Mapping[str, Any]):
    """``(per-token log-probs of each next token, mask)``, both ``(rows, positions)``; the mask keeps response tokens.

    Only the positions from the earliest response token on are projected through the LM head (transformers'
    ``logits_to_keep``: the prompt's logits are never computed); the sums over response tokens are unchanged."""
    import torch

    ids, completion = batch["input_ids"], batch["completion_mask"]
    has = completion.any(dim=0).nonzero()
    first = max(1, int(has[0])) if len(has) else 1                 # the earliest response token of any row
    logits = model(input_ids=ids, attention_mask=batch["attention_mask"],
                   logits_to_keep=ids.shape[1] - first + 1).logits[:, :-1]
    logits = logits if logits.dtype == torch.float64 else logits.float()     # bf16/fp16 logits: softmax in fp32
    labels = ids[:, first:]
    mask = completion[:, first:].to(logits.dtype)
    logps = torch.gather(logits.log_softmax(-1), 2, labels.unsqueeze(-1)).squeeze(-1)
    return logps * mask, mask


def sequence_logprobs(model, batch: Mapping[str, Any]):
    """Log-probability of each row's response, summed over its tokens: ``(rows,)``."""
    logps, _ = token_logprobs(model, batch)
    return logps.sum(dim=1)


def clo_terms(policy, reference, batch: Mapping[str, Any], beta: float, nll_weight: float) -> dict:
    """``{"loss", "dpo", "nll", "reward_accuracy", "margin"}`` of one preference batch (module doc)."""
    import torch
    import torch.nn.functional as F

    logps, mask = token_logprobs(policy, batch)
    with torch.no_grad():
        ref_logps = sequence_logprobs(reference, batch)
    pi_c, pi_r = logps.sum(dim=1).chunk(2, dim=0)
    ref_c, ref_r = ref_logps.chunk(2, dim=0)
    delta = (pi_c - ref_c) - (pi_r - ref_r)
    dpo = -F.logsigmoid(beta * delta).mean()
    rows = batch["nll_mask"].to(logps.dtype).unsqueeze(1)
    chosen_logps, chosen_mask = logps.chunk(2, dim=0)[0], mask.chunk(2, dim=0)[0] * rows
    tokens = chosen_mask.sum()
    nll = -(chosen_logps * chosen_mask).sum() / tokens if tokens > 0 else logps.new_zeros(())
    return {"loss": dpo + nll_weight * nll, "dpo": dpo, "nll": nll,
            "reward_accuracy": (delta.detach() > 0).float().mean(), "margin": beta * delta.detach().mean()}


def clo_loss(policy, reference, batch: Mapping[str, Any], beta: float, nll_weight: float):
    """The CLO loss of one preference batch: ``dpo + nll_weight * nll`` (module doc)."""
    return clo_terms(policy, reference, batch, beta, nll_weight)["loss"]


def sft_loss(model, batch: Mapping[str, Any]):
    """Mean NLL per response token of a :func:`collate_sft` batch (prompt tokens masked)."""
    logps, mask = token_logprobs(model, batch)
    return -logps.sum() / mask.sum().clamp(min=1)


def frozen_copy(model):
    """A deep copy of ``model`` in eval mode with every parameter frozen: the DPO reference."""
    reference = copy.deepcopy(model).eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    return reference


@dataclass
class CloObjective:
    """``objective(model, batch)`` for :func:`paper_utils.train.loop`: :func:`clo_loss` against ``reference`` (moved to
    the batch's device on first use)."""

    reference: Any
    beta: float = 0.1
    nll_weight: float = 1.0

    def __call__(self, model, batch):
        device = batch["input_ids"].device
        if next(self.reference.parameters()).device != device:
            self.reference.to(device)
        return clo_loss(model, self.reference, batch, self.beta, self.nll_weight)


__all__ = ["prompt_ids", "response_ids", "encode_pair", "encode_sft", "collate_pairs", "collate_sft",
           "token_logprobs", "sequence_logprobs", "clo_terms", "clo_loss", "sft_loss", "frozen_copy", "CloObjective",
           "ExampleStream"]
