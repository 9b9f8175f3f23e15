"""A job of the batch: one notebook run with its parameters, outputs, dependencies and timeout.

Example::

    >>> from paper_utils.jobs import Job
    >>> job = Job("04_adaptation", ("uz", "smollm2-135m", "fvt", "seed0"), {"preset": "demo"})
    >>> job.job_id
    '04_adaptation__uz__smollm2-135m__fvt__seed0'
    >>> stage_job_id("02_vocabulary_expansion", "uz", "/ckpt/llama")
    '02_vocabulary_expansion__uz__llama'

Stages and recipes build jobs; :mod:`paper_utils.runner` executes them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .layout import model_key


@dataclass(frozen=True)
class Job:
    notebook: str                       # stem in notebooks/
    key: tuple[str, ...]                # grid coordinates, () for study-wide notebooks
    parameters: dict[str, Any] = field(hash=False, compare=False)
    outputs: tuple[str, ...] = ()       # paths relative to results/<preset>/ that prove the job is done
    depends: tuple[str, ...] = ()       # job ids that must succeed first
    timeout_s: int = 1800
    always_run: bool = False            # cheap jobs whose inputs are other jobs' results (figures)

    @property
    def job_id(self) -> str:
        return "__".join((self.notebook,) + self.key)


def stage_job_id(notebook: str, language: str, model: str, *rest: str) -> str:
    """Job id of a per-model stage: ``<notebook>__<language>__<model key>[__...]``."""
    return "__".join((notebook, language, model_key(model)) + rest)


__all__ = ["Job", "stage_job_id"]
