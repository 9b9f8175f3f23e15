"""The optimizer steps at which adaptation logs held-out bpb, and the step stage 06 tests convergence at.

Example::

    >>> logged_steps(150, 150, 25)[:4], logged_steps(150, 150, 25)[-1], len(logged_steps(150, 150, 25))
    ((0, 25, 50, 75), 300, 13)
    >>> compared_step(150, 150, 0), compared_step(0, 40, 0), compared_step(150, 150, 100)
    (150, 40, 100)
    >>> check_convergence_step(110, 150, 150, 25)
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid adaptation.convergence_step=110: use a step whose held-out bpb is logged: one of [0, 25, 50, 75, 100, 125, 150, 175, 200, 225, 250, 275, 300] (0 = the end of stage 1)

The training loop (:mod:`paper_utils.train.loop`) evaluates at step 0, every ``eval_every`` steps (0: about 12
evaluations per run, ``round(total / 12)``, as :attr:`paper_utils.train.AdaptConfig.eval_interval`) and at each
stage end; ``[adaptation] convergence_step`` must be one of those steps (0: the end of stage 1, the last step when
stage 1 has none).
"""
from __future__ import annotations

from .errors import ConfigError


def eval_interval(total_steps: int, eval_every: int = 0) -> int:
    """Steps between held-out evaluations: ``eval_every``, or about 12 per run (``round(total / 12)``, at least 1)."""
    return eval_every or max(1, round(total_steps / 12))


def logged_steps(stage1_steps: int, stage2_steps: int, eval_every: int = 0) -> tuple[int, ...]:
    """Every step whose held-out bpb the loop logs, ascending."""
    total = stage1_steps + stage2_steps
    every = eval_interval(total, eval_every)
    return tuple(sorted({0, *range(every, total + 1, every), *({stage1_steps, total} - {0})}))


def compared_step(stage1_steps: int, stage2_steps: int, convergence_step: int = 0) -> int:
    """``convergence_step``, or the end of stage 1 (the last step when stage 1 has no steps)."""
    return convergence_step or stage1_steps or stage1_steps + stage2_steps


def check_convergence_step(step, stage1_steps: int, stage2_steps: int, eval_every: int = 0) -> int:
    """``step`` when it is 0 or a logged step (ConfigError listing the logged steps otherwise)."""
    if not isinstance(step, int) or isinstance(step, bool):
        raise ConfigError("adaptation.convergence_step", step, "use an integer: a logged step, or 0 = the end of stage 1")
    allowed = logged_steps(stage1_steps, stage2_steps, eval_every)
    if step and step not in allowed:
        raise ConfigError("adaptation.convergence_step", step, f"use a step whose held-out bpb is logged: one of "
                                                              f"{list(allowed)} (0 = the end of stage 1)")
    return step


__all__ = ["logged_steps", "compared_step", "check_convergence_step"]
