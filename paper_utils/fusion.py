"""A frozen multilingual encoder feeding a frozen causal LM through a trainable layer fusion and projection.

Example::

    >>> import torch
    >>> from transformers import XLMRobertaConfig, XLMRobertaModel
    >>> from paper_utils.fixtures import tiny_model
    >>> encoder = XLMRobertaModel(XLMRobertaConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
    ...                           num_attention_heads=2, intermediate_size=64), add_pooling_layer=False)
    >>> model = FusedEncoderLM(encoder, tiny_model("llama", 80), mode="global_softmax")
    >>> model.count_parameters(), model.count_parameters(trainable=False) > 100_000
    (2179, True)
    >>> out = model(torch.tensor([[0, 7, 9, 2]]), torch.ones(1, 4, dtype=torch.long), torch.tensor([[5, 6, 7]]))
    >>> out.logits.shape, round(float(model.fusion.weights().detach().sum()), 6)   # BOS, 4 prompt, end, 3 target
    (torch.Size([1, 9, 80]), 1.0)

The encoder reads the prompt; its hidden states (the embedding output and every layer's, ``L + 1`` of them)
are fused into one vector per prompt token, projected by a linear map into the LLM's input-embedding size,
followed by a learned end-of-input vector; the LLM reads ``[BOS] prompt vectors, end-of-input, target
embeddings`` (``inputs_embeds``) and the loss is its LM loss on the target tokens only. Fusion ``mode``:

* ``last`` (LangBridge): the last layer's states, no fusion parameters;
* ``global_softmax``: one learned softmax over the ``L + 1`` states, shared by every token (logits start at
  zero: the plain mean of the layers);
* ``transformer_softmax``: per-token weights. Each token's stack of ``L + 1`` states, plus learned layer
  position embeddings, is read by one pre-LN transformer encoder layer (``fusion_heads`` heads,
  feed-forward 4 x the encoder width, no dropout) along the layer axis; a linear head scores every layer
  position and a softmax over the ``L + 1`` scores weights that token's states.

Choices the seed paper leaves open (arXiv 2508.09091): the end-of-input vector starts as the LLM's own EOS
embedding (zeros without one); the LLM's BOS embedding is put first when its config names one
(``prepend_bos``); the projection is one ``nn.Linear`` with bias (LangBridge's linear map) for every mode.
The end-of-input vector and ``global_softmax``'s layer logits (:data:`~paper_utils.fusion_grid.VECTOR_PARAMETERS`)
may train at their own learning rate (``[fusion] vector_learning_rate``): at the projection's 1e-4 for 100 steps
the end-of-input vector moved 1.8 % from the EOS start, after which SmolLM2 writes a newline first (measured
2026-12-01), and the layer logits stayed at the uniform start.
Encoder and LLM are frozen (``requires_grad`` False) and stay in eval mode, also under ``model.train()``;
the encoder runs without autograd. A prompt longer than the encoder's maximum is refused (DataError naming
the limit): truncating is the caller's choice, made at tokenization. :meth:`FusedEncoderLM.fusion_state`
and :meth:`FusedEncoderLM.load_fusion_state` save and restore only the trained part, and refuse an encoder
or LLM whose sizes differ from the saved ones.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .errors import ConfigError, DataError
from .fusion_grid import FUSION_MODES


def encoder_sizes(encoder) -> tuple[int, int]:
    """``(layers, hidden)`` of an encoder config (BERT/XLM-R names or T5 names)."""
    cfg = encoder.config
    layers = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "num_layers", None)
    hidden = getattr(cfg, "hidden_size", None) or getattr(cfg, "d_model", None)
    if not layers or not hidden:
        raise ConfigError("encoder", type(encoder).__name__, "use a transformers encoder whose config has "
                          "num_hidden_layers/hidden_size (BERT, XLM-R) or num_layers/d_model (T5)")
    return int(layers), int(hidden)


def encoder_max_tokens(encoder) -> int | None:
    """The longest input the encoder's absolute positions allow (XLM-R: 514 - padding_idx - 1 = 512), or None."""
    cfg = encoder.config
    rows = getattr(cfg, "max_position_embeddings", None)
    if rows is None or getattr(cfg, "position_embedding_type", "absolute") not in (None, "absolute"):
        return None
    if cfg.model_type in ("xlm-roberta", "roberta", "camembert"):
        return int(rows) - int(cfg.pad_token_id) - 1
    return int(rows)


class LastLayer(nn.Module):
    """LangBridge: the last hidden state of every token; no parameters."""

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, None]:
        return states[-1], None


class GlobalSoftmax(nn.Module):
    """One softmax over the ``L + 1`` hidden states, the same for every token."""

    def __init__(self, n_states: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(n_states))

    def weights(self) -> torch.Tensor:
        return torch.softmax(self.logits, dim=0)

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights = self.weights()
        return torch.einsum("l,lbth->bth", weights.to(states.dtype), states), weights


class TransformerSoftmax(nn.Module):
    """Per-token softmax weights over a token's ``L + 1`` states, from one transformer layer along the layer axis."""

    def __init__(self, n_states: int, hidden: int, heads: int = 4):
        super().__init__()
        if hidden % heads:
            raise ConfigError("fusion_heads", heads, f"the encoder width {hidden} must divide by it; use a divisor")
        self.layer_positions = nn.Parameter(torch.randn(n_states, hidden) * 0.02)
        self.block = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=4 * hidden, dropout=0.0,
                                                batch_first=True, norm_first=True)
        self.score = nn.Linear(hidden, 1)

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n_states, batch, tokens, hidden = states.shape
        stacks = states.permute(1, 2, 0, 3).reshape(batch * tokens, n_states, hidden)   # one stack per token
        scores = self.score(self.block(stacks + self.layer_positions.to(states.dtype))).squeeze(-1)
        weights = torch.softmax(scores, dim=-1)
        fused = (weights.unsqueeze(-1) * stacks).sum(1)
        return fused.view(batch, tokens, hidden), weights.view(batch, tokens, n_states)


def make_fusion(mode: str, n_states: int, hidden: int, heads: int = 4) -> nn.Module:
    """The fusion module of ``mode`` (:data:`FUSION_MODES`)."""
    if mode == "last":
        return LastLayer()
    if mode == "global_softmax":
        return GlobalSoftmax(n_states)
    if mode == "transformer_softmax":
        return TransformerSoftmax(n_states, hidden, heads)
    raise ConfigError("mode", mode, f"use one of: {', '.join(FUSION_MODES)}")


class FusedEncoderLM(nn.Module):
    """Frozen ``encoder`` + frozen causal ``llm``; trainable ``fusion``, ``projection`` and ``end_of_input``."""

    def __init__(self, encoder, llm, mode: str = "last", *, fusion_heads: int = 4, prepend_bos: bool = True):
        super().__init__()
        self.mode = mode
        self.encoder_layers, self.encoder_hidden = encoder_sizes(encoder)
        self.encoder_limit = encoder_max_tokens(encoder)
        self.fusion = make_fusion(mode, self.encoder_layers + 1, self.encoder_hidden, fusion_heads)
        self.encoder, self.llm = encoder, llm
        for part in (encoder, llm):
            part.requires_grad_(False)
            part.eval()
        table = llm.get_input_embeddings()
        self.llm_hidden = int(table.weight.shape[1])
        self.projection = nn.Linear(self.encoder_hidden, self.llm_hidden)
        eos = _first_id(llm.config.eos_token_id)
        with torch.no_grad():
            start = table(torch.tensor([eos]))[0].float() if eos is not None else torch.zeros(self.llm_hidden)
        self.end_of_input = nn.Parameter(start.clone())
        self.bos_id = _first_id(llm.config.bos_token_id) if prepend_bos else None

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()                     # frozen parts keep dropout off
        self.llm.eval()
        return self

    # -------------------------------------------------------------------------------------------- encoder side
    def encoder_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The encoder's ``L + 1`` hidden states, stacked ``(L + 1, batch, tokens, hidden)``, without autograd."""
        if self.encoder_limit is not None and input_ids.shape[1] > self.encoder_limit:
            raise DataError(f"prompt of {input_ids.shape[1]} encoder tokens; the encoder reads at most "
                            f"{self.encoder_limit}: tokenize with truncation=True, max_length={self.encoder_limit}")
        with torch.no_grad():
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return torch.stack(out.hidden_states)

    def fuse(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        """``(fused (batch, tokens, encoder hidden), layer weights)``; weights are None (``last``), ``(L + 1,)``
        (``global_softmax``) or ``(batch, tokens, L + 1)`` (``transformer_softmax``)."""
        return self.fusion(self.encoder_states(input_ids, attention_mask))

    def soft_prompt(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The projected prompt ``(batch, tokens, LLM hidden)`` (padding positions included)."""
        fused, _ = self.fuse(input_ids, attention_mask)
        return self.projection(fused)

    # -------------------------------------------------------------------------------------------- LLM side
    def build_inputs(self, input_ids, attention_mask, target_ids=None, target_mask=None) -> dict[str, torch.Tensor]:
        """``inputs_embeds``, ``attention_mask`` and ``labels`` for the LLM: per row ``[BOS] prompt vectors,
        end-of-input, target embeddings``, right-padded; labels are the target ids, -100 elsewhere."""
        prompt = self.soft_prompt(input_ids, attention_mask)
        table = self.llm.get_input_embeddings()
        device = prompt.device
        if target_ids is None:
            target_ids = torch.zeros(len(prompt), 0, dtype=torch.long, device=device)
        if target_mask is None:
            target_mask = torch.ones_like(target_ids)
        targets = table(target_ids).to(prompt.dtype)
        bos = table(torch.tensor([self.bos_id], device=device)).to(prompt.dtype) if self.bos_id is not None else None
        rows, labels = [], []
        for b in range(len(prompt)):
            keep_t = target_mask[b].bool()
            parts = ([bos] if bos is not None else []) + [prompt[b, attention_mask[b].bool()],
                                                          self.end_of_input[None].to(prompt.dtype), targets[b, keep_t]]
            rows.append(torch.cat(parts))
            prefix = len(rows[-1]) - int(keep_t.sum())
            labels.append(torch.cat([torch.full((prefix,), -100, device=device), target_ids[b, keep_t]]))
        width = max(len(r) for r in rows)
        embeds = torch.zeros(len(rows), width, self.llm_hidden, dtype=prompt.dtype, device=device)
        mask = torch.zeros(len(rows), width, dtype=torch.long, device=device)
        label_ids = torch.full((len(rows), width), -100, dtype=torch.long, device=device)
        for b, (row, lab) in enumerate(zip(rows, labels)):
            embeds[b, :len(row)], mask[b, :len(row)], label_ids[b, :len(row)] = row, 1, lab
        return {"inputs_embeds": embeds, "attention_mask": mask, "labels": label_ids}

    def forward(self, input_ids, attention_mask, target_ids=None, target_mask=None):
        """The LLM's output on the fused prompt and the target; ``.loss`` is the LM loss on the target tokens."""
        inputs = self.build_inputs(input_ids, attention_mask, target_ids, target_mask)
        if target_ids is None or not bool((inputs["labels"] != -100).any()):
            inputs.pop("labels")
        return self.llm(**inputs)

    def target_loglik(self, input_ids, attention_mask, target_ids, target_mask):
        """``(sum of log p(target token), target tokens)`` per row (natural log; the target after the prompt)."""
        inputs = self.build_inputs(input_ids, attention_mask, target_ids, target_mask)
        labels = inputs.pop("labels")
        logits = self.llm(**inputs).logits[:, :-1].float()
        labels = labels[:, 1:]
        keep = labels != -100
        logp = torch.log_softmax(logits, dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        return (logp * keep).sum(-1), keep.sum(-1)

    def prompt_logits(self, input_ids, attention_mask):
        """The LLM's next-token logits after each row's ``[BOS] prompt, end-of-input`` ``(batch, vocab)``."""
        inputs = self.build_inputs(input_ids, attention_mask)
        inputs.pop("labels")
        logits = self.llm(**inputs).logits
        last = inputs["attention_mask"].sum(-1) - 1
        return logits[torch.arange(len(logits), device=logits.device), last].float()

    # -------------------------------------------------------------------------------------------- parameters
    def trainable_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """``(name, parameter)`` of fusion, projection and the end-of-input vector (all that trains): every
        parameter outside the encoder and the LLM, whatever its ``requires_grad`` (a finished training loop
        freezes everything)."""
        return [(n, p) for n, p in self.named_parameters() if not n.startswith(("encoder.", "llm."))]

    def count_parameters(self, trainable: bool = True) -> int:
        """Number of trainable parameters (``trainable=False``: the frozen ones, encoder and LLM)."""
        mine = {id(p) for _, p in self.trainable_named_parameters()}
        return sum(p.numel() for p in self.parameters() if (id(p) in mine) == trainable)

    def fusion_config(self) -> dict[str, Any]:
        return {"mode": self.mode, "encoder_layers": self.encoder_layers, "encoder_hidden": self.encoder_hidden,
                "llm_hidden": self.llm_hidden}

    def fusion_state(self) -> dict[str, Any]:
        """The trained part: ``{"config": sizes and mode, "state": tensors}`` (what a checkpoint must hold)."""
        return {"config": self.fusion_config(),
                "state": {n: p.detach().clone() for n, p in self.trainable_named_parameters()}}

    def load_fusion_state(self, saved: dict[str, Any]) -> None:
        """Restore :meth:`fusion_state`; a mode or size that differs from this model's is refused, nothing loaded."""
        ours = self.fusion_config()
        for key, value in saved["config"].items():
            if ours.get(key) != value:
                raise ConfigError(key, ours.get(key), f"the saved fusion checkpoint was trained with {key}={value!r}; "
                                  f"build the model with the same encoder, LLM and mode")
        shapes = {n: tuple(p.shape) for n, p in self.trainable_named_parameters()}
        differ = sorted(set(shapes) ^ set(saved["state"]))
        differ += sorted(n for n in shapes if n in saved["state"] and tuple(saved["state"][n].shape) != shapes[n])
        if differ:
            raise ConfigError("fusion_state", differ[:4], "the checkpoint's tensors differ from this model's "
                              "trainable ones; save it with FusedEncoderLM.fusion_state()")
        with torch.no_grad():
            for name, param in self.trainable_named_parameters():
                param.copy_(saved["state"][name])


def _first_id(value) -> int | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)
