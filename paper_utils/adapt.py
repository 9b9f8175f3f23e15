"""Staged adaptation: new embeddings first, then LoRA (or everything), resumable, one path for CPU and GPUs.

Example::

    >>> import tempfile
    >>> from paper_utils.adapt import AdaptConfig, Stage, train
    >>> from paper_utils.evaluate_lm import tiny_model
    >>> model, tok = tiny_model()                            # random 2-layer Llama; a real run: run_adaptation
    >>> config = AdaptConfig(stages=(Stage("embeddings", 1), Stage("lora", 1)), seq_len=8, batch_size=2,
    ...                      learning_rate=1e-2, eval_every=1)
    >>> texts = ["Kitob o'qish foydali.", "Maktab kitoblari."] * 8
    >>> new_rows = list(range(len(tok) - 10, len(tok)))     # the rows stage `embeddings` may move
    >>> result = train(model, tok, texts, tempfile.mkdtemp(), config, heldout_texts=texts[:2],
    ...                new_token_ids=new_rows, export=False, log=lambda line: None)   # seconds
    >>> [(r["step"], r["stage"]) for r in result.log if r["type"] == "train"]
    [(1, 'embeddings'), (2, 'lora')]
    >>> result.summary["final_bpb"] > 0
    True

The lower-level :func:`train` takes any patched causal LM, its (extended) tokenizer and texts.

**Stages** (:class:`Stage`, run in order; a preset gives ``stage1_steps`` and ``stage2_steps``):

* ``embeddings`` -- only the input and output embedding matrices train (one matrix when tied).
  ``new_rows_only`` (default for this stage) multiplies their gradient by a 0/1 row mask so only
  the rows of the new tokens move; with weight decay 0, AdamW then leaves every base row exactly
  as it was (tested).
* ``lora`` -- LoRA adapters (``peft``) on the attention and MLP projections, plus the embeddings
  (all rows unless ``new_rows_only``). Must be the last stage; adapters are merged on export.
* ``full`` -- every parameter.

**Data**: packed ``seq_len`` blocks of target training text with ``english_share`` English blocks,
sample ``i`` a pure function of ``(seed, i)`` (:mod:`paper_utils.adapt_data`). ``batch_size`` is the
*global* number of sequences per optimizer step: accelerate splits it over processes and
``micro_batch_size`` (gradient accumulation), so 1 CPU and 8 GPUs see the same samples per step.

**Devices**: one code path through ``accelerate``: fp32 on CPU, bf16 autocast on CUDA
(``mixed_precision="auto"``), gradient accumulation, optional gradient checkpointing; many GPUs
with ``accelerate launch -m paper_utils.adapt --preset demo --language uz --model smollm2-135m
--method bxod`` (DDP; only the main process writes). On CPU the same DDP path runs over gloo with
``torchrun --standalone --nproc_per_node N -m paper_utils.adapt ...`` (``accelerate launch --cpu``
needs MPI for that); ``train`` returns held-out bpb only on the main process (NaN elsewhere).
The learning rate is a function of the step (linear warm-up, cosine decay to 10 % per stage), set by
hand each step, so resuming needs no scheduler state.

**Files** in ``results/<preset>/<lang>/<model>/adapt/<method>__seed<k>/``:

* ``train_log.jsonl`` -- ``{"type": "train", step, stage, loss, lr, tokens_per_s, ...}`` per
  ``log_every`` steps and ``{"type": "eval", step, heldout_bpb}`` every ``eval_every`` steps and at
  each stage end (step 0 = the patched model before training); small, committed.
* ``summary.json`` -- base/step-0/final held-out bpb, steps to reach the base model's bpb, timings.
* ``checkpoints/step-XXXXXX/`` -- ``weights.safetensors`` (embedding rows that may have changed,
  LoRA adapter or all weights, whatever training touched so far), ``optimizer.pt``, ``rng.pt``,
  ``state.json``; ``checkpoints/latest.json`` names the last complete one (written after it, so a
  kill at any instant leaves a consistent checkpoint). A run restarted with ``resume=True``
  continues from it and ends with the same weights as an uninterrupted run (tested with SIGKILL).
  A checkpoint written for another model, tokenizer, patch or setting raises ``ConfigError``.
  Removed after a successful export unless ``keep_checkpoints``.
* ``../base_bpb.json`` -- the base model's held-out bpb (keyed by model and documents), shared by the
  runs of every method, so it is computed once.
* ``model/`` -- ``save_pretrained`` folder with the tokenizer, LoRA merged:
  ``AutoModelForCausalLM.from_pretrained`` / ``AutoTokenizer.from_pretrained`` and any HF tool
  (lm-evaluation-harness) load it.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .adapt_data import (STAGE_KINDS, AdaptInputs, MixedStream, adapt_dir, check_parameters, load_inputs, pack,
                         read_log, steps_to_reach)
from .errors import ConfigError
from .io import atomic_dir, read_json, write_json

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CHECKPOINT_FORMAT = 1
# peft 0.21 still calls transformers' deprecated alias; the warning says nothing about this run
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*is deprecated", category=FutureWarning)


# ------------------------------------------------------------------------------------------------
# configuration

@dataclass(frozen=True)
class Stage:
    """One training stage: ``kind`` in ``STAGE_KINDS``, ``steps`` optimizer steps."""

    kind: str
    steps: int
    learning_rate: float | None = None       # None: AdaptConfig.learning_rate
    new_rows_only: bool | None = None        # None: True for "embeddings", False for "lora"

    @property
    def rows_only(self) -> bool:
        if self.kind == "full":
            return False
        return self.kind == "embeddings" if self.new_rows_only is None else bool(self.new_rows_only)


@dataclass(frozen=True)
class AdaptConfig:
    """Every setting of a run; ``from_preset`` fills it from ``[adaptation]``."""

    stages: tuple[Stage, ...]
    seq_len: int
    batch_size: int                      # global sequences per optimizer step
    learning_rate: float
    english_share: float = 0.0
    seed: int = 0
    micro_batch_size: int = 0            # sequences per process per forward; 0 = batch_size / processes
    warmup_ratio: float = 0.1
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0            # never applied to embeddings (keeps masked rows exact)
    max_grad_norm: float = 1.0
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_targets: tuple[str, ...] = LORA_TARGETS
    log_every: int = 1
    eval_every: int = 0                  # 0: about 12 evaluations per run
    eval_documents: int = 256            # held-out documents scored per evaluation
    checkpoint_every: int = 0            # 0: about 6 checkpoints per run (and every stage end)
    keep_checkpoints: bool = False       # keep checkpoints/ after a successful export
    mixed_precision: str = "auto"        # auto: bf16 on CUDA, fp32 (no) on CPU
    gradient_checkpointing: bool = False
    device: str = "auto"                 # auto | cpu | cuda

    @classmethod
    def from_preset(cls, preset, seed: int = 0, stage2: str = "lora", **overrides) -> "AdaptConfig":
        a = preset.adaptation
        stages = (Stage("embeddings", a.stage1_steps), Stage(stage2, a.stage2_steps))
        values = dict(stages=stages, seq_len=a.seq_len, batch_size=a.batch_size, learning_rate=a.learning_rate,
                      english_share=a.english_share, seed=seed, eval_every=a.eval_every,
                      device=preset.device if preset.device in ("auto", "cpu", "cuda") else "auto")
        unknown = set(overrides) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ConfigError("overrides", sorted(unknown), f"AdaptConfig takes: {', '.join(cls.__dataclass_fields__)}")
        values.update(overrides)
        return cls(**values)

    def __post_init__(self):
        stages = tuple(self.stages)
        object.__setattr__(self, "stages", stages)
        object.__setattr__(self, "lora_targets", tuple(self.lora_targets))
        if not stages:
            raise ConfigError("stages", stages, f"give at least one stage of: {', '.join(STAGE_KINDS)}")
        for k, st in enumerate(stages):
            if st.kind not in STAGE_KINDS:
                raise ConfigError("stage", st.kind, f"unknown stage name; use one of: {', '.join(STAGE_KINDS)}")
            if not isinstance(st.steps, int) or st.steps < 0:
                raise ConfigError(f"stages[{k}].steps", st.steps, "use an integer >= 0")
            if st.learning_rate is not None and not st.learning_rate > 0:
                raise ConfigError(f"stages[{k}].learning_rate", st.learning_rate, "use a learning rate > 0")
            if st.kind == "lora" and any(s.kind != "lora" and s.steps for s in stages[k + 1:]):
                raise ConfigError("stages", [s.kind for s in stages], "'lora' must be the last stage "
                                  "(adapters are merged on export)")
        if sum(st.steps for st in stages) <= 0:
            raise ConfigError("stages", [(s.kind, s.steps) for s in stages], "give at least one training step")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ConfigError("learning_rate", self.learning_rate, "use a learning rate > 0, e.g. 1e-3")
        for name in ("seq_len", "batch_size", "log_every", "eval_documents", "lora_r", "lora_alpha"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(name, v, "use an integer >= 1")
        if self.seq_len < 2:
            raise ConfigError("seq_len", self.seq_len, "use at least 2 tokens per sequence")
        for name in ("micro_batch_size", "eval_every", "checkpoint_every", "seed"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ConfigError(name, v, "use an integer >= 0")
        if not 0.0 <= self.english_share < 1.0:
            raise ConfigError("english_share", self.english_share, "use a share in [0, 1)")
        for name in ("warmup_ratio", "min_lr_ratio", "lora_dropout"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(name, getattr(self, name), "use a value in [0, 1]")
        if self.weight_decay < 0 or self.max_grad_norm < 0:
            raise ConfigError("weight_decay/max_grad_norm", (self.weight_decay, self.max_grad_norm), "use values >= 0")
        if self.mixed_precision not in ("auto", "no", "bf16", "fp16"):
            raise ConfigError("mixed_precision", self.mixed_precision, "use auto, no, bf16 or fp16")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError("device", self.device, "use auto, cpu or cuda")

    @property
    def total_steps(self) -> int:
        return sum(st.steps for st in self.stages)

    @property
    def eval_interval(self) -> int:
        return self.eval_every or max(1, round(self.total_steps / 12))

    @property
    def checkpoint_interval(self) -> int:
        return self.checkpoint_every or max(1, round(self.total_steps / 6))

    def stage_lr(self, stage: Stage) -> float:
        return stage.learning_rate or self.learning_rate

    def lr_at(self, stage: Stage, step_in_stage: int) -> float:
        """Learning rate of the optimizer step ``step_in_stage`` (0-based) of ``stage``."""
        peak = self.stage_lr(stage)
        warm = math.ceil(self.warmup_ratio * stage.steps)
        if step_in_stage < warm:
            return peak * (step_in_stage + 1) / warm
        span = max(1, stage.steps - warm)
        progress = min(1.0, (step_in_stage - warm) / span)
        return peak * (self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))

    def weights_key(self) -> str:
        """Hash of every setting that changes the trained weights (not logging/eval/checkpoint cadence)."""
        keep = {k: v for k, v in asdict(self).items()
                if k not in ("log_every", "eval_every", "eval_documents", "checkpoint_every", "keep_checkpoints",
                             "gradient_checkpointing", "device")}
        return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


def model_context(model) -> int | None:
    cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    return getattr(cfg, "max_position_embeddings", None)


def check_model(model, config: AdaptConfig) -> None:
    """ConfigError when ``seq_len`` exceeds the model's context or LoRA targets are missing."""
    ctx = model_context(model)
    if ctx is not None and config.seq_len > ctx:
        raise ConfigError("seq_len", config.seq_len, f"the model reads at most {ctx} tokens "
                                                     f"(max_position_embeddings); use seq_len <= {ctx}")
    if any(st.kind == "lora" and st.steps for st in config.stages):
        names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
        if not names & set(config.lora_targets):
            raise ConfigError("lora_targets", list(config.lora_targets),
                              f"none of these modules is in {type(model).__name__}")


# ------------------------------------------------------------------------------------------------
# model pieces

def _embeddings(model):
    """``(input_weight, output_weight_or_None)`` of the underlying model (None when tied)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    w_in = base.get_input_embeddings().weight
    out = base.get_output_embeddings()
    if out is None or out.weight is w_in or out.weight.data_ptr() == w_in.data_ptr():
        return w_in, None
    return w_in, out.weight


def model_fingerprint(model, tokenizer) -> str:
    """Identity of the model a run starts from: architecture, vocabulary and a digest of its weights."""
    import torch

    from .embedding_init import vocab_fingerprint

    w_in, w_out = _embeddings(model)
    cfg = model.config
    digest = hashlib.sha256()
    digest.update(json.dumps([type(model).__name__, list(w_in.shape), w_out is None,
                              getattr(cfg, "num_hidden_layers", None), vocab_fingerprint(tokenizer)]).encode())
    with torch.no_grad():
        for w in [w_in, w_out] + [p for _, p in list(model.named_parameters())[1:4]]:
            if w is not None:
                digest.update(w.detach().float().cpu().flatten()[::97].numpy().tobytes())
    return digest.hexdigest()[:16]


def _setup_stage(model, stage: Stage, config: AdaptConfig, new_ids):
    """Freeze/unfreeze (and wrap with LoRA) for ``stage``; returns ``(model, hooks)``."""
    import torch

    for p in model.parameters():
        p.requires_grad_(False)
    hooks = []
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
    w_in, w_out = _embeddings(model)
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
    return model, hooks


def _optimizer(model, stage: Stage, config: AdaptConfig):
    import torch

    w_in, w_out = _embeddings(model)
    emb = {id(w_in), id(w_out)}
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if id(p) in emb or p.ndim < 2 or "norm" in name else decay).append(p)
    groups = [g for g in ({"params": no_decay, "weight_decay": 0.0},
                          {"params": decay, "weight_decay": config.weight_decay}) if g["params"]]
    return torch.optim.AdamW(groups, lr=config.stage_lr(stage), betas=(0.9, 0.95), eps=1e-8)


def _touched(model, stages_so_far: Sequence[Stage], new_ids) -> tuple[dict[str, Any], int]:
    """Tensors training may have changed so far (embedding rows from ``row_start``, trainable, or all)."""
    w_in, w_out = _embeddings(model)
    full = any(s.kind == "full" and s.steps for s in stages_so_far)
    rows_only = all(s.rows_only for s in stages_so_far if s.steps) and not full
    row_start = min(new_ids) if rows_only and new_ids else 0
    tensors = {"embed_in": w_in.detach()[row_start:]}
    if w_out is not None:
        tensors["embed_out"] = w_out.detach()[row_start:]
    skip = {id(w_in), id(w_out)}
    for name, p in model.named_parameters():
        if id(p) not in skip and (full or p.requires_grad):
            tensors[name] = p.detach()
    return tensors, row_start


# ------------------------------------------------------------------------------------------------
# checkpoints

def _rng_state() -> dict:
    import numpy as np
    import torch

    state = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    import numpy as np
    import torch

    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(folder: Path, model, optimizer, step: int, stage_index: int, stages_so_far, new_ids,
                    meta: dict) -> Path:
    """Write ``folder/step-XXXXXX/`` completely, then point ``latest.json`` at it; returns the folder."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step-{step:06d}"
    with atomic_dir(final) as tmp:
        tensors, row_start = _touched(model, stages_so_far, new_ids)
        save_file({k: v.cpu().contiguous() for k, v in tensors.items()}, str(tmp / "weights.safetensors"),
                  metadata={"format": str(CHECKPOINT_FORMAT)})
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(_rng_state(), tmp / "rng.pt")
        write_json(tmp / "state.json", {**meta, "format": CHECKPOINT_FORMAT, "step": step, "stage_index": stage_index,
                                        "row_start": row_start, "tensors": sorted(tensors)})
    write_json(folder / "latest.json", {"step": step, "dir": final.name})
    for old in folder.glob("step-*"):
        if old.name != final.name:
            shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(folder: Path) -> Path | None:
    pointer = Path(folder) / "latest.json"
    if not pointer.exists():
        return None
    path = Path(folder) / read_json(pointer)["dir"]
    return path if (path / "state.json").exists() else None


def read_checkpoint_state(path: Path, fingerprint: str, weights_key: str) -> dict:
    """``state.json`` of a checkpoint; ConfigError when it belongs to another model or other settings."""
    state = read_json(Path(path) / "state.json")
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError("checkpoint", str(path), f"format {state.get('format')} is not {CHECKPOINT_FORMAT}; "
                                                   "delete the checkpoints folder to start over")
    if state.get("model_fingerprint") != fingerprint:
        raise ConfigError("checkpoint", str(path),
                          f"it was written for another model/tokenizer/initialization (fingerprint "
                          f"{state.get('model_fingerprint')}, this run starts from {fingerprint}): use another "
                          "output folder, or delete its checkpoints/ folder, or pass resume=False")
    if state.get("weights_key") != weights_key:
        raise ConfigError("checkpoint", str(path),
                          "it was written with other training settings (seed, steps, batch, learning rate, "
                          "stages, ...): use another output folder, delete checkpoints/, or pass resume=False")
    return state


def _load_weights(path: Path, model, state: dict) -> None:
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(Path(path) / "weights.safetensors"))
    w_in, w_out = _embeddings(model)
    params = dict(model.named_parameters())
    start = state["row_start"]
    with torch.no_grad():
        for key, target in (("embed_in", w_in), ("embed_out", w_out)):
            if key not in tensors:
                continue
            if target is None or tuple(tensors[key].shape) != tuple(target[start:].shape):
                raise ConfigError("checkpoint", str(path), f"its {key} rows {tuple(tensors[key].shape)} do not fit "
                                  "this model: it comes from another model")
            target[start:].copy_(tensors[key])
        for name, value in tensors.items():
            if name in ("embed_in", "embed_out"):
                continue
            if name not in params or tuple(params[name].shape) != tuple(value.shape):
                raise ConfigError("checkpoint", str(path), f"tensor {name} does not fit this model: it comes from "
                                  "another model or stage layout")
            params[name].copy_(value)


# ------------------------------------------------------------------------------------------------
# training

@dataclass
class AdaptResult:
    out_dir: Path
    model_dir: Path | None
    log: list[dict]
    summary: dict
    model: Any = field(default=None, repr=False)


def _use_cuda(config: AdaptConfig) -> bool:
    import torch

    if config.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda", "no CUDA device is visible; use device='auto' or 'cpu'")
    forced_cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")   # accelerate launch --cpu
    return torch.cuda.is_available() and config.device != "cpu" and not (forced_cpu and config.device == "auto")


def _processes(config: AdaptConfig) -> int:
    """Processes of this launch (``torchrun`` / ``accelerate launch``): 1 for a plain ``python`` run.

    The process state is built with the same ``cpu`` flag as the :class:`Accelerator`, so a CPU
    launch with several processes is DDP over gloo (``MULTI_CPU``), as a GPU launch is over NCCL.
    """
    import torch.distributed as dist
    from accelerate.state import AcceleratorState, PartialState

    cuda = _use_cuda(config)
    if dist.is_available() and dist.is_initialized():
        backend = str(dist.get_backend()).lower()
        if (backend == "nccl") != cuda:
            raise ConfigError("device", config.device, f"this process group already runs the {backend!r} backend; "
                              f"{'CUDA' if cuda else 'CPU'} training in the same launch needs a new launch "
                              f"(or the matching device)")
    AcceleratorState._reset_state(reset_partial_state=True)    # settings may differ between runs in one process
    return PartialState(cpu=not cuda).num_processes


def _accelerator(config: AdaptConfig, accum: int):
    import torch
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    cuda = _use_cuda(config)
    mp = config.mixed_precision
    if mp == "auto":
        mp = "bf16" if cuda and torch.cuda.is_bf16_supported() else "no"
    if not cuda and mp != "no":
        mp = "no"                                       # fp32 on CPU, always
    AcceleratorState._reset_state()                     # the process state (if built) stays as it is
    return Accelerator(mixed_precision=mp, gradient_accumulation_steps=accum, cpu=not cuda)


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    interactive = sys.stderr.isatty() or "TQDM_MININTERVAL" in os.environ
    return tqdm(total=total, initial=initial, disable=not (enabled and interactive), unit="step",
                mininterval=float(os.environ.get("TQDM_MININTERVAL", 0.5)), dynamic_ncols=True)


def train(model, tokenizer, target_texts: Sequence[str], out_dir: str | Path, config: AdaptConfig, *,
          english_texts: Sequence[str] = (), heldout_texts: Sequence[str] = (), new_token_ids=None,
          reference_bpb: float | None = None, resume: bool = True, export: bool = True,
          extra_summary: dict | None = None, callback: Callable[[int, dict], None] | None = None,
          log: Callable[[str], None] = print) -> AdaptResult:
    """Train ``model`` (already patched) through ``config.stages``; see the module doc.

    ``new_token_ids``: rows that ``new_rows_only`` stages may change. ``reference_bpb``: the base
    model's held-out bpb (for ``steps_to_base_bpb``). ``callback(step, record)`` runs after each step
    (and its checkpoint). Returns an :class:`AdaptResult` (``model`` is the trained, merged model).
    """
    import torch

    out = Path(out_dir)
    check_model(model, config)
    if new_token_ids is not None:
        new_token_ids = sorted(int(i) for i in new_token_ids)
    if any(s.rows_only and s.steps for s in config.stages) and not new_token_ids:
        raise ConfigError("new_token_ids", new_token_ids, "stages with new_rows_only need the new tokens' ids")
    fingerprint = model_fingerprint(model, tokenizer)
    wkey = config.weights_key()
    log_path = out / "train_log.jsonl"
    if resume and export and (out / "summary.json").exists() and (out / "model" / "config.json").exists():
        prev = read_json(out / "summary.json")
        if prev.get("weights_key") == wkey and prev.get("model_fingerprint") == fingerprint:
            from transformers import AutoModelForCausalLM

            log(f"{out} is complete (same model and settings): loading it; pass resume=False to train again")
            done = AutoModelForCausalLM.from_pretrained(str(out / "model")).eval()
            return AdaptResult(out, out / "model", read_log(log_path), prev, done)

    # data (every process builds the same stream; each reads its own slice)
    target_blocks = pack(tokenizer, target_texts, config.seq_len, config.seed, name="target")
    english_blocks = (pack(tokenizer, english_texts, config.seq_len, config.seed, name="English")
                      if config.english_share > 0 else None)
    stream = MixedStream(target_blocks, english_blocks, config.english_share, config.seed)
    heldout = [t for t in heldout_texts if t and t.strip()][:config.eval_documents]

    # processes, micro-batches, accumulation
    world = _processes(config)
    micro = config.micro_batch_size or max(1, config.batch_size // world)
    if config.batch_size % (micro * world):
        raise ConfigError("micro_batch_size", micro, f"batch_size={config.batch_size} must be a multiple of "
                          f"micro_batch_size x processes = {micro} x {world}")
    accum = config.batch_size // (micro * world)
    acc = _accelerator(config, accum)
    main = acc.is_main_process

    # resume
    ckdir = out / "checkpoints"
    state = None
    if resume and (ck := latest_checkpoint(ckdir)) is not None:
        state = read_checkpoint_state(ck, fingerprint, wkey)
    elif not resume and main:
        shutil.rmtree(ckdir, ignore_errors=True)
    step = state["step"] if state else 0
    records = [r for r in read_log(log_path) if r["step"] <= step] if state else []
    if main:
        out.mkdir(parents=True, exist_ok=True)
        log_path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    meta = {"model_fingerprint": fingerprint, "weights_key": wkey, "config": asdict(config)}

    def emit(rec):
        records.append(rec)
        if main:
            with open(log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")

    def evaluate(net, at_step, stage_kind):
        if not heldout:
            return None
        from .bpb import bits_per_byte

        t0 = time.perf_counter()
        bpb = bits_per_byte(acc.unwrap_model(net), tokenizer, heldout).bpb if main else float("nan")
        rec = {"type": "eval", "step": at_step, "stage": stage_kind, "heldout_bpb": bpb,
               "seconds": round(time.perf_counter() - t0, 3)}
        emit(rec)
        if main:
            log(f"step {at_step:>5} [{stage_kind}] held-out bpb {bpb:.4f}")
        return rec

    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    use_cache = getattr(model.config, "use_cache", None)
    model.config.use_cache = False
    if step == 0 and reference_bpb is not None:
        emit({"type": "reference", "step": 0, "base_bpb": reference_bpb})
    t_start = time.perf_counter()
    if step == 0:
        evaluate(model.to(acc.device), 0, "init")
    bar = _progress(config.total_steps, step, main)
    net, hooks, stage_start = model, [], 0
    tokens_per_step = config.batch_size * config.seq_len
    for k, stage in enumerate(config.stages):
        stage_end = stage_start + stage.steps
        if stage.steps == 0 or step >= stage_end and not (state and state["stage_index"] == k):
            stage_start = stage_end
            continue
        net, hooks = _setup_stage(model, stage, config, new_token_ids)
        optimizer = _optimizer(net, stage, config)
        if state and state["stage_index"] == k:
            _load_weights(ckdir / read_json(ckdir / "latest.json")["dir"], net, state)
        prepared, optimizer = acc.prepare(net, optimizer)
        if state and state["stage_index"] == k and step < stage_end:
            ck = ckdir / read_json(ckdir / "latest.json")["dir"]
            optimizer.load_state_dict(torch.load(ck / "optimizer.pt", weights_only=True))
            _set_rng_state(torch.load(ck / "rng.pt", weights_only=False))
        state = None
        params = [p for p in prepared.parameters() if p.requires_grad]
        prepared.train()
        window: list[float] = []
        while step < stage_end:
            t0 = time.perf_counter()
            lr = config.lr_at(stage, step - stage_start)
            for g in optimizer.param_groups:
                g["lr"] = lr
            micro_losses = []
            for a in range(accum):
                x = stream.batch(step, config.batch_size, a, micro, acc.process_index, world).to(acc.device)
                with acc.accumulate(prepared):
                    loss = prepared(input_ids=x, labels=x).loss
                    acc.backward(loss)
                    if acc.sync_gradients and config.max_grad_norm:
                        acc.clip_grad_norm_(params, config.max_grad_norm)
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                micro_losses.append(loss.detach())
            mean_loss = acc.reduce(torch.stack(micro_losses).mean(), reduction="mean").item()
            step += 1
            seconds = time.perf_counter() - t0
            window.append(mean_loss)
            rec = {"type": "train", "step": step, "stage": stage.kind, "loss": mean_loss, "lr": lr}
            if step % config.log_every == 0 or step == stage_end:
                rec.update(loss=sum(window) / len(window), tokens=step * tokens_per_step,
                           tokens_per_s=round(tokens_per_step / seconds, 1), seconds=round(seconds, 3),
                           english_fraction=stream.english_fraction((step - 1) * config.batch_size, config.batch_size))
                emit(rec)
                window = []
            if step % config.eval_interval == 0 or step == stage_end:
                evaluate(prepared, step, stage.kind)
            if step % config.checkpoint_interval == 0 or step == stage_end:
                if main:
                    save_checkpoint(ckdir, acc.unwrap_model(prepared), optimizer.optimizer, step, k,
                                    config.stages[:k + 1], new_token_ids, meta)
                acc.wait_for_everyone()
            bar.update(1)
            bar.set_postfix(loss=f"{mean_loss:.3f}", stage=stage.kind, refresh=False)
            if callback is not None:
                callback(step, rec)
        for h in hooks:
            h.remove()
        net = acc.unwrap_model(prepared, keep_fp32_wrapper=False)
        acc.free_memory()
        stage_start = stage_end
    bar.close()
    train_seconds = time.perf_counter() - t_start

    final = net.merge_and_unload() if hasattr(net, "merge_and_unload") else net
    for p in final.parameters():
        p.requires_grad_(False)
    if config.gradient_checkpointing:
        final.gradient_checkpointing_disable()
    final.config.use_cache = use_cache
    final.eval()
    evals = [r for r in records if r["type"] == "eval"]
    trains = [r for r in records if r["type"] == "train" and "tokens_per_s" in r]
    summary = {
        "base_bpb": reference_bpb,
        "step0_bpb": evals[0]["heldout_bpb"] if evals else None,
        "final_bpb": evals[-1]["heldout_bpb"] if evals else None,
        "steps_to_base_bpb": steps_to_reach(evals, reference_bpb),
        "total_steps": config.total_steps, "stages": [[s.kind, s.steps] for s in config.stages],
        "final_loss": trains[-1]["loss"] if trains else None,
        "tokens": config.total_steps * tokens_per_step,
        "median_tokens_per_s": sorted(r["tokens_per_s"] for r in trains)[len(trains) // 2] if trains else None,
        "train_seconds_this_session": round(train_seconds, 1),
        "train_seconds": round(sum(r.get("seconds", 0) for r in trains)
                               + sum(r.get("seconds", 0) for r in evals), 1),
        "model_fingerprint": fingerprint, "weights_key": wkey,
        "device": str(acc.device), "mixed_precision": acc.mixed_precision, "processes": world,
        "gradient_accumulation": accum, "heldout_documents": len(heldout),
        "config": asdict(config), **(extra_summary or {}),
    }
    model_dir = None
    if main:
        summary = json.loads(json.dumps(summary, default=str))        # what summary.json holds
        if export:
            model_dir = export_model(final, tokenizer, out / "model")
            summary["model_dir"] = str(model_dir)
        write_json(out / "summary.json", summary)
        if export and not config.keep_checkpoints:
            shutil.rmtree(ckdir, ignore_errors=True)
    acc.wait_for_everyone()
    return AdaptResult(out, model_dir, records, summary, final.to("cpu") if not torch.cuda.is_available() else final)


def export_model(model, tokenizer, folder: str | Path) -> Path:
    """``save_pretrained`` (safetensors) + tokenizer into ``folder``, atomically (tmp folder, rename)."""
    from transformers.utils import logging as hf_logging

    folder = Path(folder)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        with atomic_dir(folder) as tmp:
            model.save_pretrained(str(tmp), safe_serialization=True)
            tokenizer.save_pretrained(str(tmp))
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return folder


# ------------------------------------------------------------------------------------------------
# the study: one (preset, language, model, method, seed) run

def run_adaptation(cfg, language: str, model: str, method: str, seed: int = 0, *, stage2: str = "lora",
                   out_dir: str | Path | None = None, resume: bool = True, inputs: AdaptInputs | None = None,
                   log: Callable[[str], None] = print, **overrides) -> AdaptResult:
    """Load inputs, measure the base model, apply the patch, :func:`train`, export; see the module doc."""
    from .bpb import bits_per_byte
    from .embedding_init import apply_patch

    check_parameters(cfg, language, model, method, seed, stage2)
    config = AdaptConfig.from_preset(cfg, seed=seed, stage2=stage2, **overrides)
    inputs = inputs or load_inputs(cfg, language, model, method)
    out = Path(out_dir) if out_dir else adapt_dir(cfg.name, language, model, method, seed)
    heldout = [t for t in inputs.heldout_texts if t.strip()][:config.eval_documents]
    # the base model's bpb on these documents, shared by every method's run (adapt/base_bpb.json)
    key = hashlib.sha256("\x1e".join([str(model), *heldout]).encode()).hexdigest()[:16]
    cache = out.parent / "base_bpb.json"
    known = read_json(cache) if cache.exists() else {}
    if key in known:
        base_bpb = known[key]
        log(f"base model held-out bpb {base_bpb:.4f} ({len(heldout)} documents, from {cache.name})")
    else:
        t0 = time.perf_counter()
        base_bpb = bits_per_byte(inputs.model, inputs.base_tokenizer, heldout).bpb
        log(f"base model held-out bpb {base_bpb:.4f} ({len(heldout)} documents, {time.perf_counter() - t0:.1f} s)")
        write_json(cache, {**known, key: base_bpb})
    apply_patch(inputs.model, inputs.patch, tokenizer=inputs.tokenizer)
    extra = {"preset": cfg.name, "language": language, "model": model, "method": method, "seed": seed,
             "new_tokens": len(inputs.patch.token_ids), "notes": inputs.notes}
    return train(inputs.model, inputs.tokenizer, inputs.target_texts, out, config,
                 english_texts=inputs.english_texts, heldout_texts=heldout,
                 new_token_ids=inputs.patch.token_ids, reference_bpb=base_bpb, resume=resume,
                 extra_summary=extra, log=log)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m paper_utils.adapt`` / ``accelerate launch -m paper_utils.adapt``: one run."""
    import argparse

    from .config import load_preset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--language", default="uz")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--method", default="bxod")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stage2", default="lora", choices=STAGE_KINDS)
    ap.add_argument("--micro-batch-size", type=int, default=0)
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--no-resume", action="store_true")
    args = ap.parse_args(argv)
    result = run_adaptation(load_preset(args.preset), args.language, args.model, args.method, args.seed,
                            stage2=args.stage2, resume=not args.no_resume, micro_batch_size=args.micro_batch_size,
                            gradient_checkpointing=args.gradient_checkpointing)
    print(json.dumps({k: result.summary.get(k) for k in ("base_bpb", "step0_bpb", "final_bpb",
                                                          "steps_to_base_bpb", "model_dir")}))
    return 0


__all__ = ["Stage", "AdaptConfig", "AdaptResult", "AdaptInputs", "STAGE_KINDS", "train", "export_model",
           "run_adaptation", "load_inputs", "adapt_dir", "check_parameters", "read_log", "steps_to_reach",
           "save_checkpoint", "latest_checkpoint", "model_fingerprint", "check_model"]

if __name__ == "__main__":
    sys.exit(main())
