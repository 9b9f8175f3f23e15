"""Learning-rate schedule: a pure function of the step, so resuming needs no scheduler state.

Example::

    >>> [round(warmup_cosine(1.0, 10, k), 3) for k in (0, 1, 5, 9)]
    [1.0, 1.0, 0.628, 0.127]
    >>> warmup_cosine(1.0, 20, 0), warmup_cosine(1.0, 20, 1)
    (0.5, 1.0)

Linear warm-up over ``ceil(warmup_ratio * steps)`` steps, then cosine decay from the peak to
``min_lr_ratio * peak`` at the last step.
"""
from __future__ import annotations

import math


def warmup_cosine(peak: float, steps: int, step: int, warmup_ratio: float = 0.1, min_lr_ratio: float = 0.1) -> float:
    """Learning rate of optimizer step ``step`` (0-based) of a stage of ``steps`` steps."""
    warm = math.ceil(warmup_ratio * steps)
    if step < warm:
        return peak * (step + 1) / warm
    span = max(1, steps - warm)
    progress = min(1.0, (step - warm) / span)
    return peak * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


__all__ = ["warmup_cosine"]
