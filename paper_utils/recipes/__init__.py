"""Recipes: how a run of the study is made from the stages' outputs.

Example::

    >>> from paper_utils.recipes import run_adaptation
    >>> run_adaptation.__module__
    'paper_utils.recipes.staged'

``staged`` (:mod:`paper_utils.recipes.staged`): an initializer's patch, embeddings then LoRA.
"""
from .staged import run_adaptation

__all__ = ["run_adaptation"]
