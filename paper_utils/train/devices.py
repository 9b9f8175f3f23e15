"""One device path for CPU and GPUs through accelerate: process count, mixed precision, progress bar.

Example::

    >>> from paper_utils.train.config import AdaptConfig, Stage
    >>> from paper_utils.train.devices import processes
    >>> processes(AdaptConfig((Stage("full", 1),), seq_len=8, batch_size=2, learning_rate=1e-3, device="cpu"))
    1

fp32 on CPU, bf16 autocast on CUDA (``mixed_precision="auto"``). A launch with several processes
(``torchrun``, ``accelerate launch``) is DDP, over gloo on CPU and NCCL on GPUs.

**Subnormal floats.** The training step runs with CPU subnormals flushed to zero (:func:`subnormals_flushed`,
``AdaptConfig.flush_subnormals``). A softmax over Gemma-3's 262k-token vocabulary puts most of its output
gradient in the subnormal range (below 1.2e-38), and x86 arithmetic on subnormals is slow: one step of Gemma-3-270M
(4 x 128 tokens, one thread) spent 30-57 CPU s in the backward pass (the two 270,144 x 512 x 640 products of the
tied head, 21-24 s each) against 9 s with subnormals flushed, and a full step ran at that speed only after its first
update. The held-out evaluations run without it. It is applied only with one intra-op thread (the flag belongs to
a thread; :func:`subnormals_flushed`), and, like the thread count or the device, it is an execution detail that
``AdaptConfig.weights_key`` does not hash: whether a run's steps flushed is in its ``summary.json``
(``subnormals_flushed``).
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from ..errors import ConfigError
from .config import AdaptConfig


def use_cuda(config: AdaptConfig) -> bool:
    import torch

    if config.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda", "no CUDA device is visible; use device='auto' or 'cpu'")
    forced_cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")   # accelerate launch --cpu
    return torch.cuda.is_available() and config.device != "cpu" and not (forced_cpu and config.device == "auto")


def processes(config: AdaptConfig) -> int:
    """Processes of this launch (``torchrun`` / ``accelerate launch``): 1 for a plain ``python`` run.

    The process state is built with the same ``cpu`` flag as the :class:`Accelerator`, so a CPU
    launch with several processes is DDP over gloo (``MULTI_CPU``), as a GPU launch is over NCCL.
    """
    import torch.distributed as dist
    from accelerate.state import AcceleratorState, PartialState

    cuda = use_cuda(config)
    if dist.is_available() and dist.is_initialized():
        backend = str(dist.get_backend()).lower()
        if (backend == "nccl") != cuda:
            raise ConfigError("device", config.device, f"this process group already runs the {backend!r} backend; "
                              f"{'CUDA' if cuda else 'CPU'} training in the same launch needs a new launch "
                              f"(or the matching device)")
    AcceleratorState._reset_state(reset_partial_state=True)    # settings may differ between runs in one process
    return PartialState(cpu=not cuda).num_processes


def accelerator(config: AdaptConfig, accum: int):
    import torch
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    cuda = use_cuda(config)
    mp = config.mixed_precision
    if mp == "auto":
        mp = "bf16" if cuda and torch.cuda.is_bf16_supported() else "no"
    if not cuda and mp != "no":
        mp = "no"                                       # fp32 on CPU, always
    AcceleratorState._reset_state()                     # the process state (if built) stays as it is
    return Accelerator(mixed_precision=mp, gradient_accumulation_steps=accum, cpu=not cuda)


def flushing_subnormals() -> bool:
    """Whether the calling thread flushes subnormal floats now (a probe: torch has no getter for it)."""
    import torch

    return bool((torch.tensor([1e-39]) * 1.0 == 0).all())


def flushes_subnormals(enabled: bool) -> bool:
    """Whether :func:`subnormals_flushed` acts here: ``enabled`` and one intra-op thread (see the module doc)."""
    import torch

    return bool(enabled) and torch.get_num_threads() == 1


@contextmanager
def subnormals_flushed(enabled: bool = True):
    """Flush CPU subnormal floats to zero inside the block when :func:`flushes_subnormals` (x86 FTZ/DAZ).

    >>> import torch
    >>> tiny = torch.tensor([1e-39])
    >>> threads = torch.get_num_threads()
    >>> torch.set_num_threads(1)
    >>> with subnormals_flushed():
    ...     bool((tiny * 1.0 == 0).all())
    True
    >>> bool((tiny * 1.0 == 0).all())                # as it was before the block
    False
    >>> torch.set_num_threads(threads)

    The setting belongs to the calling thread (its MXCSR register). Intra-op worker threads copy it only when they
    are created, so with several threads the flush would cover the main thread's share of an operation only, and a
    pool created inside the block would keep flushing afterwards. It is therefore applied with one intra-op thread
    only (the study's long CPU runs: ``PAPER_UTILS_THREADS=1``); otherwise the block runs as it is. The previous
    state of the calling thread is restored on exit, exceptions included.
    """
    import torch

    if not flushes_subnormals(enabled):
        yield
        return
    before = flushing_subnormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    interactive = sys.stderr.isatty() or "TQDM_MININTERVAL" in os.environ
    return tqdm(total=total, initial=initial, disable=not (enabled and interactive), unit="step",
                mininterval=float(os.environ.get("TQDM_MININTERVAL", 0.5)), dynamic_ncols=True)


__all__ = ["use_cuda", "processes", "accelerator", "subnormals_flushed", "flushes_subnormals", "flushing_subnormals",
           "progress"]
