"""Training settings: the stages of a run and every setting of the loop.

Example::

    >>> from paper_utils.train.config import AdaptConfig, Stage
    >>> cfg = AdaptConfig((Stage("embeddings", 10), Stage("lora", 10)), seq_len=64, batch_size=4, learning_rate=1e-3)
    >>> cfg.total_steps, cfg.stages[0].rows_only, cfg.stages[1].rows_only
    (20, True, False)
    >>> AdaptConfig((Stage("lora", 5), Stage("full", 5)), seq_len=64, batch_size=4, learning_rate=1e-3)
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid stages=['lora', 'full']: 'lora' must be the last stage (adapters are merged on export)

A stage's ``kind`` (``STAGE_KINDS``) says which parameters train (:mod:`paper_utils.train.trainable`);
``weights_key`` hashes every setting that changes the trained weights, so a checkpoint written with
other settings is refused on resume.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass

from ..errors import ConfigError
from ..eval_steps import eval_interval
from .schedule import warmup_cosine

STAGE_KINDS = ("embeddings", "lora", "full", "fusion",   # fusion: what a FusedEncoderLM leaves trainable
               "attention", "attention_lora")          # attention: q/k/v/o projection weights (CLO); _lora: LoRA on them
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")     # what the attention stage kinds train


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


def _is_factor(value) -> bool:
    """A learning-rate factor: a finite number > 0 that is not a bool."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value > 0 and math.isfinite(value)


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
    flush_subnormals: bool = True        # CPU subnormals flushed to zero in the training step, one thread (devices.py)
    rows_only_head: bool = False         # new_rows_only stages: the output head's weight gradient only for the new
                                         # rows (trainable.rows_only_head; the same gradient, fewer products)
    device: str = "auto"                 # auto | cpu | cuda
    lr_scales: tuple[tuple[str, float], ...] = ()   # (parameter-name prefix, factor): that parameter's learning
                                         # rate is the stage's times the factor (the first prefix that matches)
    embedding_lr_scale: float = 1.0      # factor on the input/output embedding matrices' learning rate (by identity,
                                         # whatever the parameter names; [adaptation] embedding_lr_scales per model)

    @classmethod
    def from_preset(cls, preset, seed: int = 0, stage2: str = "lora", *, model: str | None = None,
                    **overrides) -> "AdaptConfig":
        """``[adaptation]``'s run of ``model`` (its ``embedding_lr_scales`` entry, 1.0 when it has none)."""
        a = preset.adaptation
        stages = (Stage("embeddings", a.stage1_steps), Stage(stage2, a.stage2_steps))
        values = dict(stages=stages, seq_len=a.seq_len, batch_size=a.batch_size, learning_rate=a.learning_rate,
                      english_share=a.english_share, seed=seed, eval_every=a.eval_every,
                      embedding_lr_scale=dict(a.embedding_lr_scales).get(model, 1.0),
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
        for k, item in enumerate(self.lr_scales):
            if (not isinstance(item, (tuple, list)) or len(item) != 2 or not isinstance(item[0], str) or not item[0]
                    or not _is_factor(item[1])):
                raise ConfigError(f"lr_scales[{k}]", item, 'use (parameter-name prefix, finite factor > 0), e.g. '
                                  '(("end_of_input", 100.0),)')
        object.__setattr__(self, "lr_scales", tuple((name, float(f)) for name, f in self.lr_scales))
        if not _is_factor(self.embedding_lr_scale):
            raise ConfigError("embedding_lr_scale", self.embedding_lr_scale, "use a finite factor > 0 (1.0: the stage's rate)")
        object.__setattr__(self, "embedding_lr_scale", float(self.embedding_lr_scale))
        if not stages:
            raise ConfigError("stages", stages, f"give at least one stage of: {', '.join(STAGE_KINDS)}")
        for k, st in enumerate(stages):
            if st.kind not in STAGE_KINDS:
                raise ConfigError("stage", st.kind, f"unknown stage name; use one of: {', '.join(STAGE_KINDS)}")
            if not isinstance(st.steps, int) or st.steps < 0:
                raise ConfigError(f"stages[{k}].steps", st.steps, "use an integer >= 0")
            if st.learning_rate is not None and not st.learning_rate > 0:
                raise ConfigError(f"stages[{k}].learning_rate", st.learning_rate, "use a learning rate > 0")
            if st.kind in ("lora", "attention_lora") and any(s.kind != st.kind and s.steps for s in stages[k + 1:]):
                raise ConfigError("stages", [s.kind for s in stages], f"'{st.kind}' must be the last stage "
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
        return eval_interval(self.total_steps, self.eval_every)

    @property
    def checkpoint_interval(self) -> int:
        return self.checkpoint_every or max(1, round(self.total_steps / 6))

    def stage_lr(self, stage: Stage) -> float:
        return stage.learning_rate or self.learning_rate

    def lr_at(self, stage: Stage, step_in_stage: int) -> float:
        """Learning rate of the optimizer step ``step_in_stage`` (0-based) of ``stage``."""
        return warmup_cosine(self.stage_lr(stage), stage.steps, step_in_stage, self.warmup_ratio, self.min_lr_ratio)

    def lr_scale(self, name: str) -> float:
        """The factor on the learning rate of parameter ``name`` (``lr_scales``; 1.0 when no prefix matches).

        >>> AdaptConfig((Stage("fusion", 1),), seq_len=8, batch_size=2, learning_rate=1e-4,
        ...             lr_scales=(("end_of_input", 100),)).lr_scale("end_of_input")
        100.0
        """
        return next((f for prefix, f in self.lr_scales if name.startswith(prefix)), 1.0)

    def weights_key(self) -> str:
        """Hash of every setting that changes the trained weights (not logging/eval/checkpoint cadence, nor
        execution details that change them only at the last bit: device, gradient checkpointing, the subnormal
        flush, the rows-only head gradient); ``lr_scales`` and ``embedding_lr_scale`` count only when set, so runs from before them keep their key."""
        keep = {k: v for k, v in asdict(self).items()
                if k not in ("log_every", "eval_every", "eval_documents", "checkpoint_every", "keep_checkpoints",
                             "gradient_checkpointing", "device", "flush_subnormals", "rows_only_head")
                and not (k == "lr_scales" and not v) and not (k == "embedding_lr_scale" and v == 1.0)}
        return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


__all__ = ["Stage", "AdaptConfig", "STAGE_KINDS", "LORA_TARGETS", "ATTENTION_PROJECTIONS"]
