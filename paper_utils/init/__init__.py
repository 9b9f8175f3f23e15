"""Initialization of new-token embeddings: the patch, the initializers (registered) and step-0 diagnostics.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.init import METHODS, initialize, smoke_setup
    >>> METHODS                                       # registration order
    ('random', 'mean', 'fvt', 'focus', 'wechsel', 'focus_ppmi', 'wechsel_e5', 'bxod', 'salt', 'salt_e5sentence', 'blend')
    >>> s = smoke_setup(load_preset("smoke"), "uz", "smollm2-135m")      # tiny random model, seconds
    >>> initialize(s.model, s.base_tokenizer, s.extended_tokenizer, "mean").input_rows.shape
    torch.Size([50, 64])

Modules, from the bottom up: ``tokens`` (what is new) and ``patch`` (the new rows, saved, loaded and
applied); ``common`` (the call's context, combinations of base rows), ``anchors`` (anchor sets,
encoders, the lexicon) and ``static_vectors`` (fastText via gensim, cached); one module per method family,
each registering its initializers with :mod:`paper_utils.registry` on import: ``subtoken`` (random, mean,
fvt), ``focus`` and ``wechsel`` (the published methods), ``similarity`` (their stand-ins ``focus_ppmi``,
``wechsel_e5``), ``bxod``, ``salt`` (salt, salt_e5sentence; its token space in ``token_space``);
``blend`` (fvt blended with another method: the anchoring ablation); ``initialize`` (option checks, the one entry point); ``english_shift``
(English KL maths) and ``setup`` (what a preset runs on); ``results`` (tables, paired tests, the
figure), ``step0`` (the diagnostics run) and ``sweep`` (the dev sweep and the labels ``<method>@dev`` and
``fvt+<label>`` it resolves). The registry imports this package by name
(``registry.PROVIDERS``), so the method modules are imported here first, in registration order.
"""
from ..surfaces import surface_forms, vocab_fingerprint, vocabulary_kind
from .patch import EmbeddingPatch, anchor_table, apply_patch, embedding_matrices, patched
from .tokens import NewTokens, new_tokens
from .common import Combination, Context, sparsemax
from .anchors import NgramHashEncoder
# the method families register their initializers on import: random, mean, fvt, focus, wechsel, focus_ppmi,
# wechsel_e5, bxod, salt, salt_e5sentence, blend (fvt blended with any of them)
from . import subtoken  # noqa: E402,I001
from . import focus  # noqa: E402
from . import wechsel  # noqa: E402
from . import similarity  # noqa: E402
from . import bxod  # noqa: E402
from . import salt  # noqa: E402
from . import blend  # noqa: E402
from .initialize import ANCHOR_SETS, METHODS, OPTIONS, WEIGHTINGS, initialize
from .english_shift import EnglishReference, english_kl_exact, english_reference, english_shift
from .setup import InitSetup, extended_tokenizer_for, load_setup, smoke_setup
from .results import (COLUMNS, anchor_tables, comparison_table, example_tokens, paired_tests, read_results,
                      results_table, step0_figure)
from .step0 import Step0, base_reference, evaluate_patch, run_method, step0
from .sweep import chosen_options, dev_sweep, read_sweep, resolve_labels

__all__ = ["EmbeddingPatch", "NewTokens", "METHODS", "OPTIONS", "ANCHOR_SETS", "WEIGHTINGS", "initialize",
           "apply_patch", "patched", "new_tokens", "surface_forms", "vocabulary_kind", "embedding_matrices",
           "NgramHashEncoder", "anchor_table", "vocab_fingerprint", "Combination", "Context", "sparsemax",
           "subtoken", "focus", "wechsel", "similarity", "bxod", "salt",
           "EnglishReference", "InitSetup", "english_reference", "english_shift", "english_kl_exact",
           "load_setup", "smoke_setup", "extended_tokenizer_for", "base_reference", "run_method",
           "evaluate_patch", "step0", "Step0", "COLUMNS", "results_table", "read_results", "paired_tests",
           "comparison_table", "step0_figure", "example_tokens", "anchor_tables", "blend", "dev_sweep", "read_sweep",
           "resolve_labels", "chosen_options"]
