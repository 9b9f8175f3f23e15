"""Recipes: how a run of the study is made from the stages' outputs.

Example::

    >>> from paper_utils.registry import recipes
    >>> list(recipes())
    ['staged']

A recipe registers ``jobs(preset) -> [Job, ...]``: the notebooks its runs execute, their parameters,
inputs (dependencies on stage jobs) and outputs; the runner asks every recipe of ``grid.recipes``.
Importing this package registers them.

* ``staged`` (:mod:`paper_utils.recipes.staged`): an initializer's patch, embeddings then LoRA.
"""
from .staged import run_adaptation, staged_jobs

__all__ = ["run_adaptation", "staged_jobs"]
