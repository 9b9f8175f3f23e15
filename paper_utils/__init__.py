"""paper_utils: the tested package behind the cross-lingual semantic anchoring study.

Example::

    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("demo")
    >>> cfg.grid.models, cfg.grid.recipes, cfg.method_of("bxod_sub75")[0]
    (('smollm2-135m',), ('staged',), 'bxod')

One level of subpackages and small modules, in the order of the study (the README has the map and the
data flow; ``pyproject.toml``'s import-linter contracts hold the layering):

* plumbing and orchestration: ``paths``, ``layout`` (every results path), ``config`` + ``registry``
  (presets, the run grid, registered initializers and recipes), ``jobs`` + ``runner`` (the papermill
  batch), ``provenance`` + ``lockfile``, ``cli``;
* inputs: ``packs``, ``assets``, ``tokenization``, ``encoders``, ``corpora/``, ``study`` (the one
  data-source switch), ``fixtures`` (the smoke preset), ``mmlu_format``;
* the stages: ``fertility``, ``surfaces`` + ``vocab/`` (extension), ``init/`` (patches, initializers,
  step 0), ``train/`` (the loop), ``recipes/`` (how runs are made) with ``adapt`` + ``adapt_data``,
  ``evaluate/`` (a TextLM and its scorers, significance), ``bpb``, ``stats/``, ``plots`` + ``figures``.
"""
