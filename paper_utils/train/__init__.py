"""Training: one loop for every objective, with checkpoint/resume, schedules, streams and parameter selection.

Example::

    >>> from paper_utils.train import AdaptConfig, Stage
    >>> AdaptConfig((Stage("embeddings", 2), Stage("lora", 2)), seq_len=8, batch_size=2, learning_rate=1e-3).total_steps
    4

Modules: ``config`` (stages and settings), ``schedule`` (learning rate per step), ``streams`` (packed,
stateless data), ``trainable`` (which parameters train), ``objectives`` (losses), ``devices``
(accelerate, CPU/GPU/DDP), ``checkpoint`` (SIGKILL-safe resume), ``logs``, ``loop`` (the loop itself
and :func:`train`, the staged causal-LM use of it).
"""
from .checkpoint import latest_checkpoint, read_checkpoint_state, save_checkpoint
from .config import LORA_TARGETS, STAGE_KINDS, AdaptConfig, Stage
from .logs import read_log, steps_to_reach
from .loop import AdaptResult, check_model, export_model, loop, model_context, model_fingerprint, train
from .objectives import causal_lm_loss, to_device
from .schedule import warmup_cosine
from .streams import MixedStream, pack
from .trainable import embeddings, optimizer_for, select_stage

__all__ = ["AdaptConfig", "Stage", "STAGE_KINDS", "LORA_TARGETS", "train", "loop", "AdaptResult", "export_model",
           "check_model", "model_context", "model_fingerprint", "latest_checkpoint", "read_checkpoint_state",
           "save_checkpoint", "read_log", "steps_to_reach", "causal_lm_loss", "to_device", "warmup_cosine",
           "MixedStream", "pack", "embeddings", "optimizer_for", "select_stage"]
