"""Which parameters train: embedding rows only, LoRA adapters (+ embeddings), attention projections, or everything.

Example::

    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> from paper_utils.train.config import Stage
    >>> net = LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
    ...                                    num_attention_heads=2, num_key_value_heads=1))
    >>> net, hooks = select_stage(net, Stage("embeddings", 1), None, new_ids=[30, 31])
    >>> sorted(name for name, p in net.named_parameters() if p.requires_grad), len(hooks)
    (['lm_head.weight', 'model.embed_tokens.weight'], 2)

``select_stage(model, stage, config, new_ids)`` freezes the model, then unfreezes what ``stage.kind``
trains (wrapping it with LoRA for ``lora``) and, for ``new_rows_only`` stages, multiplies the
embedding gradients by a 0/1 row mask so only the new tokens' rows move. ``optimizer_for`` builds
AdamW without weight decay on embeddings (masked rows then stay exactly as they were);
``touched`` lists the tensors a checkpoint must hold.

Stage kind ``attention`` trains exactly the ``weight`` (and ``bias``, where a model has one) of every
``q_proj``/``k_proj``/``v_proj``/``o_proj`` module (:data:`~paper_utils.train.config.ATTENTION_PROJECTIONS`) and
nothing else (embeddings, norms, MLPs frozen); ``attention_lora`` puts LoRA adapters (``lora_r``, ``lora_alpha``) on
those four projections only, everything else frozen (CLO, :mod:`paper_utils.recipes.clo`)::

    >>> net, _ = select_stage(net, Stage("attention", 1), None, None)
    >>> sorted({name.split(".")[-2] for name, p in net.named_parameters() if p.requires_grad})
    ['k_proj', 'o_proj', 'q_proj', 'v_proj']
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

from ..errors import ConfigError
from .config import ATTENTION_PROJECTIONS, AdaptConfig, Stage

# peft 0.21 still calls transformers' deprecated alias; the warning says nothing about this run
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*is deprecated", category=FutureWarning)


def embeddings(model):
    """``(input_weight, output_weight_or_None)`` of the underlying model (None when tied); ``(None, None)`` for a
    model that is not a transformers LM (a :class:`~paper_utils.fusion.FusedEncoderLM`: nothing but its trainable
    parameters is checkpointed)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not hasattr(base, "get_input_embeddings"):
        return None, None
    w_in = base.get_input_embeddings().weight
    out = base.get_output_embeddings()
    if out is None or out.weight is w_in or out.weight.data_ptr() == w_in.data_ptr():
        return w_in, None
    return w_in, out.weight


def select_stage(model, stage: Stage, config: AdaptConfig, new_ids):
    """Freeze/unfreeze (and wrap with LoRA) for ``stage``; returns ``(model, hooks)``."""
    import torch

    if stage.kind == "fusion":
        raise ConfigError("stage", stage.kind, "a fusion stage trains what a FusedEncoderLM leaves trainable: pass "
                          "select=paper_utils.recipes.fusion.select_fusion to loop()")
    for p in model.parameters():
        p.requires_grad_(False)
    hooks = []
    if stage.kind == "attention":
        return select_attention(model), hooks
    if stage.kind == "attention_lora":
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(config.seed + 1)             # LoRA init; overwritten when resuming
        lcfg = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                          target_modules=list(ATTENTION_PROJECTIONS), bias="none", task_type="CAUSAL_LM")
        return get_peft_model(model, lcfg), hooks
    if stage.kind == "lora":
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(config.seed + 1)             # LoRA init; overwritten when resuming
        lcfg = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                          target_modules=list(config.lora_targets), bias="none", task_type="CAUSAL_LM")
        model = get_peft_model(model, lcfg)
    if stage.kind == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model, hooks
    w_in, w_out = embeddings(model)
    for w in (w_in, w_out):
        if w is None:
            continue
        w.requires_grad_(True)
        if stage.rows_only:
            if new_ids is None:
                raise ConfigError("new_token_ids", None, "new_rows_only needs the ids of the new tokens")
            mask = torch.zeros(w.shape[0], 1, dtype=w.dtype, device=w.device)
            mask[torch.as_tensor(list(new_ids), dtype=torch.long)] = 1
            hooks.append(w.register_hook(lambda g, m=mask: g * m.to(g.device, g.dtype)))
    if stage.rows_only and config is not None and config.rows_only_head:
        hooks.append(rows_only_head(model, new_ids))
    return model, hooks


class _ForwardPatch:
    """Undoes :func:`rows_only_head` (``remove()``, as a hook handle)."""

    def __init__(self, module):
        self.module = module

    def remove(self) -> None:
        self.module.__dict__.pop("forward", None)


def rows_only_head(model, new_ids) -> _ForwardPatch:
    """Make the output head's weight gradient cover only the rows ``new_ids``; returns a handle whose ``remove()``
    restores the head.

    Example::

        >>> import torch
        >>> head = torch.nn.Linear(4, 6, bias=False)
        >>> class LM(torch.nn.Module):
        ...     def get_output_embeddings(self):
        ...         return head
        >>> handle = rows_only_head(LM(), [4, 5])
        >>> head(torch.ones(1, 4)).sum().backward()
        >>> head.weight.grad[:4].abs().sum().item(), head.weight.grad[4:].abs().sum().item()
        (0.0, 8.0)
        >>> handle.remove()

    A ``new_rows_only`` stage masks the embedding gradients to the new rows (:func:`select_stage`), yet autograd still
    computes the head's full weight gradient (vocabulary x hidden x tokens, the largest product of the step for a
    262k-token vocabulary) and the mask then zeroes all but the new rows. Here the head computes its logits with the
    weight detached and writes the new rows' logits again from ``weight[new_ids]``, so the weight gradient is that
    small product only; the logits, the gradient reaching the hidden states and the new rows' gradient are the same
    up to floating-point order (tied or untied; the input embedding's own gradient is untouched).
    """
    import torch
    import torch.nn.functional as F

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = base.get_output_embeddings() if hasattr(base, "get_output_embeddings") else None
    if not isinstance(head, torch.nn.Linear):
        raise ConfigError("rows_only_head", True, f"{type(base).__name__} has no linear output head; set "
                          "rows_only_head=False")
    ids = torch.as_tensor(sorted({int(i) for i in new_ids}), dtype=torch.long)

    def forward(hidden):
        weight, bias = head.weight, head.bias
        index = ids.to(weight.device)
        logits = F.linear(hidden, weight.detach(), None if bias is None else bias.detach())
        logits[..., index] = F.linear(hidden, weight.index_select(0, index),
                                      None if bias is None else bias.detach().index_select(0, index)).to(logits.dtype)
        return logits

    head.forward = forward
    return _ForwardPatch(head)


def attention_parameters(model) -> list[str]:
    """Names of the parameters of every q/k/v/o projection module of ``model`` (weights and biases)."""
    names = [f"{module}.{leaf}" for module, mod in model.named_modules()
             if module.rsplit(".", 1)[-1] in ATTENTION_PROJECTIONS for leaf, _ in mod.named_parameters(recurse=False)]
    if not names:
        raise ConfigError("stage", "attention", f"{type(model).__name__} has no module named "
                          f"{'/'.join(ATTENTION_PROJECTIONS)}; train it with another stage kind")
    return names


def select_attention(model):
    """Unfreeze exactly the q/k/v/o projection parameters of an already frozen ``model``; returns it."""
    wanted = set(attention_parameters(model))
    for name, p in model.named_parameters():
        p.requires_grad_(name in wanted)
    return model


def optimizer_for(model, stage: Stage, config: AdaptConfig):
    import torch

    w_in, w_out = embeddings(model)
    emb = {id(w_in), id(w_out)}
    groups: dict[tuple[float, bool], list] = {}          # (lr scale, decays) -> parameters
    matched: set[str] = set()
    for name, p in model.named_parameters():
        if p.requires_grad:
            decays = not (id(p) in emb or p.ndim < 2 or "norm" in name)
            scale = config.lr_scale(name) * (config.embedding_lr_scale if id(p) in emb else 1.0)
            groups.setdefault((scale, decays), []).append(p)
            matched.update(prefix for prefix, _ in config.lr_scales if name.startswith(prefix))
    unmatched = [prefix for prefix, _ in config.lr_scales if prefix not in matched]
    if unmatched:
        warnings.warn(f"lr_scales: no trainable parameter of {type(model).__name__} starts with "
                      f"{', '.join(map(repr, unmatched))}; those factors change nothing", stacklevel=2)
    # a fixed order: unscaled [no decay, decay] first (the layout of checkpoints from before lr_scales), then scaled
    lr = config.stage_lr(stage)
    params = [{"params": groups[key], "weight_decay": config.weight_decay if key[1] else 0.0, "lr_scale": key[0],
               "lr": lr * key[0]}
              for key in sorted(groups, key=lambda k: (k[0] != 1.0, k[0], k[1]))]
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95), eps=1e-8)


def touched(model, stages_so_far: Sequence[Stage], new_ids) -> tuple[dict[str, Any], int]:
    """Tensors training may have changed so far (embedding rows from ``row_start``, trainable, or all)."""
    w_in, w_out = embeddings(model)
    full = any(s.kind == "full" and s.steps for s in stages_so_far)
    rows_only = all(s.rows_only for s in stages_so_far if s.steps) and not full
    row_start = min(new_ids) if rows_only and new_ids else 0
    tensors = {"embed_in": w_in.detach()[row_start:]} if w_in is not None else {}
    if w_out is not None:
        tensors["embed_out"] = w_out.detach()[row_start:]
    skip = {id(w_in), id(w_out)}
    for name, p in model.named_parameters():
        if id(p) not in skip and (full or p.requires_grad):
            tensors[name] = p.detach()
    return tensors, row_start


__all__ = ["embeddings", "select_stage", "select_attention", "attention_parameters", "optimizer_for", "touched"]
