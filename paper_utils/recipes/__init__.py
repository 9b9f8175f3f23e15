"""Recipes: how a run of the study is made from the stages' outputs.

Example::

    >>> from paper_utils.registry import recipes
    >>> list(recipes())
    ['staged', 'fusion', 'clo', 'franken']

A recipe registers ``jobs(preset) -> [Job, ...]``: the notebooks its runs execute, their parameters,
inputs (dependencies on stage jobs) and outputs; the runner asks every recipe of ``grid.recipes``.
Importing this package registers them.

* ``staged`` (:mod:`paper_utils.recipes.staged`): an initializer's patch, embeddings then LoRA.
* ``fusion`` (:mod:`paper_utils.recipes.fusion`): a frozen multilingual encoder fused into the frozen LLM
  (``[fusion] modes``), fusion + projection trained on English instruction pairs.
* ``clo`` (:mod:`paper_utils.recipes.clo`): Cross-Lingual Optimization of an instruction model on translated
  pairs (``[clo] variants``: CLO, SFT baselines at k x N, the base model).
* ``franken`` (:mod:`paper_utils.recipes.franken`): Franken-Adapter, target-language embeddings tuned on the base
  model (body frozen) and transplanted into its instruction-tuned sibling (``[franken] initializers``).
"""
# isort: off
from .staged import run_adaptation, staged_jobs       # registered first: the default recipe
from .fusion import fusion_jobs, run_fusion
from .clo import clo_jobs, run_clo
from .franken import franken_jobs, run_franken
# isort: on

__all__ = ["run_adaptation", "staged_jobs", "fusion_jobs", "run_fusion", "clo_jobs", "run_clo", "franken_jobs",
           "run_franken"]
