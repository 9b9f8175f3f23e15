"""Embeddings for new tokens: every initializer behind one function, as a patch of new rows only.

Example::

    >>> import tempfile
    >>> from paper_utils.config import load_preset
    >>> from paper_utils.diagnostics import smoke_setup
    >>> from paper_utils.embedding_init import initialize, apply_patch, EmbeddingPatch
    >>> setup = smoke_setup(load_preset("smoke"), "uz", "smollm2-135m")   # tiny random Llama, tokenizers
    >>> model, base, extended = setup.model, setup.base_tokenizer, setup.extended_tokenizer
    >>> patch = initialize(model, base, extended, "bxod", encoder=setup.encoder, lexicon={"kitob": "book"})
    >>> patch.input_rows.shape                     # (new tokens, hidden): new rows only
    torch.Size([50, 64])
    >>> {"rule", "anchors"} <= set(patch.provenance[0])   # how each row was made
    True
    >>> folder = tempfile.mkdtemp()
    >>> _ = patch.save(folder)
    >>> apply_patch(model, EmbeddingPatch.load(folder)).config.vocab_size == len(extended)
    True

``initialize(model, base_tokenizer, extended_tokenizer, method, **options)`` returns an
:class:`EmbeddingPatch`: the rows of the tokens that ``extended_tokenizer`` has and
``base_tokenizer`` lacks (input embeddings, plus output embeddings when the head is untied) and a
per-token provenance record (anchors and weights, translation used, or the fallback taken). It
never touches the model. :func:`apply_patch` resizes the model (``mean_resizing=False``), writes
the rows (also rows that fall into pre-existing padding), updates ``config.vocab_size`` and keeps
tied embeddings tied; :func:`patched` does the same temporarily and restores the model afterwards.

Every method except ``random`` builds a new row as a weighted combination of *stored* base rows
(``W[ids]``), so the rows live in the same space as the stored matrix. Gemma multiplies input
embeddings by ``sqrt(hidden)`` inside the model; a combination of stored rows is scaled the same
way, so no method rescales anything (tests check this on a Gemma-style model).

Methods (``METHODS``; options per method in ``OPTIONS``, implementations in
:mod:`paper_utils.init_methods`):

* ``random`` -- normal draws with the per-dimension mean and std of the base rows (seeded).
* ``mean`` -- mean of all base rows (Hewitt 2021).
* ``fvt`` -- mean of the token's sub-token rows under the base tokenizer (Gee et al. 2022). The
  byte-level string ``Ġqil`` is segmented by the base BPE model itself, so the leading space and
  partial UTF-8 bytes are handled exactly; SentencePiece ``▁`` likewise.
* ``focus`` -- FOCUS (Dobler & de Melo 2023): sparsemax over auxiliary similarities between a new
  token and the *overlapping* tokens (base tokens seen in the target text), convex combination of
  their rows. Auxiliary space ``aux="cooc"``: PPMI-SVD token co-occurrence vectors trained on the
  target text tokenized with the extended tokenizer (offline stand-in for FOCUS's fastText, which
  is not installable here), or ``aux="encoder"``: the sentence encoder on surface forms.
* ``wechsel`` -- WECHSEL (Minixhofer et al. 2022): top-k softmax with temperature over auxiliary
  similarities to source tokens (``aux="encoder"`` default, a multilingual space; or ``"cooc"``).
* ``bxod`` -- cold-start bilingual anchoring, **a reconstruction** from the paper's description
  (no code was published): the surface form of each new token (and its English translation when
  the bilingual lexicon has it) is embedded with the multilingual encoder; anchors are base tokens
  embedded the same way; the row is a top-k softmax (or sparsemax) combination of the anchors'
  rows; a lexicon translation also anchors *directly* (its own base sub-tokens receive
  ``lexicon_weight``: "bilingual exchange"). Choices the paper leaves open are options: anchor
  set, top-k, weighting and temperature, lexicon on/off and weight, query text, what to do with
  word-internal pieces (``continuation``) and a sub-token share (``subtoken_weight``).
* ``salt`` -- SALT-style per-token least squares: anchors chosen by sparsemax over encoder
  similarities (at least ``min_anchors``), a ridge regression from the auxiliary (encoder) space
  to the LLM's embedding space fitted on those anchors, applied to the new token's vector. In
  kernel form this is ``w = (K + ridge I)^-1 k(x)`` and ``row = w @ W[anchors]``, batched.

Similarity search is batched matrix work in torch (GPU when present); encoder vectors are cached
on disk by :class:`paper_utils.encoders.CachedEncoder`.

Measured (demo, SmolLM2-135M, Uzbek, 8,000 new tokens with apostrophe words, 122 held-out test
sentences, all anchors; base model 4.855 bits/byte): ``fvt`` 3.810, plain ``bxod`` 3.968 (beats mean
4.311, random 7.189, wechsel 4.107, salt 4.135, ties focus 3.972, but not fvt), and the ``bxod_sub75`` variant
(a preset ``[variants]`` entry; options chosen on the dev split) 3.783 with a third of fvt's English KL. The demo preset's own
numbers are in ``results/demo/uz/smollm2-135m/init/``. See ``benchmarks/init_methods.py``.
"""
from __future__ import annotations

import hashlib
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from . import init_methods
from .errors import ConfigError, DataError
from .io import atomic_path, read_json, write_json
from .registry import check_option_names, initializer, initializer_names, initializers
from .surfaces import surface_forms, vocabulary_kind

METHODS = initializer_names()
ANCHOR_SETS = ("words", "alpha", "all")
WEIGHTINGS = ("softmax", "sparsemax")
# every option of every method with its default (registered in :mod:`paper_utils.init_methods`)
OPTIONS: dict[str, dict[str, Any]] = {name: dict(m.options) for name, m in initializers().items()}
PATCH_FORMAT = 1


# ------------------------------------------------------------------------------------------------
# the patch

@dataclass
class EmbeddingPatch:
    """New rows only, and how each was made.

    ``input_rows[i]`` is the stored input-embedding row of token ``token_ids[i]`` (for Gemma the
    model multiplies it by ``sqrt(hidden)`` at run time, as for every base row);
    ``output_rows`` is ``None`` for tied heads. ``base_rows`` is the number of embedding rows of
    the model the patch was made for; ``base_fingerprint`` identifies the base vocabulary.
    """

    method: str
    token_ids: list[int]
    tokens: list[str]
    input_rows: Any                      # torch.Tensor (n_new, hidden)
    output_rows: Any = None              # torch.Tensor (n_new, hidden) or None when tied
    provenance: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    base_rows: int = 0
    base_vocab_size: int = 0
    base_fingerprint: str = ""
    hidden_size: int = 0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        """Embedding rows the patched model needs (at least ``base_rows``)."""
        return max([self.base_rows] + [i + 1 for i in self.token_ids])

    @property
    def tied(self) -> bool:
        return self.output_rows is None

    def save(self, folder: str | Path) -> Path:
        """``rows.safetensors`` (input, and output when untied) + ``patch.json``; atomic files."""
        from safetensors.torch import save_file

        folder = Path(folder)
        tensors = {"input_rows": self.input_rows.detach().cpu().contiguous()}
        if self.output_rows is not None:
            tensors["output_rows"] = self.output_rows.detach().cpu().contiguous()
        with atomic_path(folder / "rows.safetensors") as tmp:
            save_file(tensors, str(tmp), metadata={"method": self.method, "format": str(PATCH_FORMAT)})
        meta = {k: getattr(self, k) for k in ("method", "token_ids", "tokens", "base_rows", "base_vocab_size",
                                                "base_fingerprint", "hidden_size", "seconds")}
        meta.update(format=PATCH_FORMAT, tied=self.tied, options=_jsonable(self.options),
                    provenance=self.provenance)
        write_json(folder / "patch.json", meta)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "EmbeddingPatch":
        from safetensors.torch import load_file

        folder = Path(folder)
        if not (folder / "patch.json").exists() or not (folder / "rows.safetensors").exists():
            raise DataError(f"{folder} is not an embedding patch (needs patch.json and rows.safetensors)")
        meta = read_json(folder / "patch.json")
        rows = load_file(str(folder / "rows.safetensors"))
        return cls(meta["method"], meta["token_ids"], meta["tokens"], rows["input_rows"], rows.get("output_rows"),
                   meta.get("provenance", []), meta.get("options", {}), meta["base_rows"], meta["base_vocab_size"],
                   meta["base_fingerprint"], meta["hidden_size"], meta.get("seconds", 0.0))


def _jsonable(options: Mapping[str, Any]) -> dict:
    out = {}
    for k, v in options.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            out[k] = v
        elif isinstance(v, (list, tuple)) and k != "target_texts" and all(isinstance(x, (str, int, float)) for x in v):
            out[k] = list(v)
        elif k == "encoder":
            out[k] = getattr(v, "name", type(v).__name__)
        elif k in ("lexicon", "target_texts"):
            out[k] = f"<{len(v)} entries>"
        else:
            out[k] = repr(v)[:80]
    return out


# ------------------------------------------------------------------------------------------------
# tokens: what is new, its surface form and its base sub-tokens

@dataclass
class NewTokens:
    """The tokens of ``extended`` that ``base`` lacks, in id order."""

    ids: list[int]
    tokens: list[str]
    surfaces: list[str]            # text form, leading space included (" qil")
    pieces: list[list[int]]        # base ids of the same text under the base tokenizer
    word_initial: list[bool]       # surface starts with a space (a word start)
    base_vocab_size: int           # 1 + highest base id
    fingerprint: str


def vocab_fingerprint(tokenizer) -> str:
    """sha256 of the (token, id) pairs of a tokenizer's vocabulary (first 16 hex digits)."""
    return _fingerprint(tokenizer.get_vocab())


def _fingerprint(vocab: Mapping[str, int]) -> str:
    digest = hashlib.sha256()
    for tok, i in sorted(vocab.items(), key=lambda kv: kv[1]):
        digest.update(f"{i}\x1f{tok}\x1e".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]


def new_tokens(base_tokenizer, extended_tokenizer) -> NewTokens:
    """Find the new tokens; ConfigError when ``extended`` does not keep every base token at its id."""
    base_vocab = base_tokenizer.get_vocab()
    ext_vocab = extended_tokenizer.get_vocab()
    moved = [(t, i, ext_vocab.get(t)) for t, i in base_vocab.items() if ext_vocab.get(t) != i]
    if moved:
        examples = ", ".join(f"{t!r}: {i} -> {j}" for t, i, j in moved[:3])
        raise ConfigError("extended_tokenizer", f"{len(moved)} base tokens missing or moved ({examples})",
                          "pass an extension of this base tokenizer that keeps every base token at its id "
                          "(paper_utils.vocab.extend_tokenizer does)")
    new = sorted((i, t) for t, i in ext_vocab.items() if t not in base_vocab)
    if not new:
        raise DataError("the extended tokenizer adds no tokens to the base tokenizer: nothing to initialize")
    ids = [i for i, _ in new]
    toks = [t for _, t in new]
    added = {i: a.content for i, a in getattr(extended_tokenizer, "added_tokens_decoder", {}).items()}
    kind = vocabulary_kind(base_tokenizer)
    model_space = [i not in added for i in ids]
    surfaces = surface_forms(base_tokenizer, toks, kind)
    surfaces = [s if ms else added[i] for s, ms, i in zip(surfaces, model_space, ids)]
    # sub-tokens: model-vocabulary tokens are segmented by the base model itself (exact for byte-level
    # strings, leading space and partial characters included); added tokens are raw text -> encode it.
    base_model = base_tokenizer.backend_tokenizer.model
    pieces: list[list[int]] = []
    raw = [surfaces[k] for k in range(len(ids)) if not model_space[k]]
    raw_ids = iter(base_tokenizer(raw, add_special_tokens=False)["input_ids"] if raw else [])
    for tok, ms in zip(toks, model_space):
        if ms:
            pieces.append([p.id for p in base_model.tokenize(tok)] if tok else [])
        else:
            pieces.append(list(next(raw_ids)))
    return NewTokens(ids, toks, surfaces, pieces, [s[:1].isspace() for s in surfaces],
                     max(base_vocab.values()) + 1, vocab_fingerprint(base_tokenizer))


# ------------------------------------------------------------------------------------------------
# model access

def embedding_matrices(model):
    """``(input_weight, output_weight_or_None)``; ``None`` when the head is tied to the input matrix."""
    emb = model.get_input_embeddings()
    out = model.get_output_embeddings()
    if out is None or out.weight is emb.weight or out.weight.data_ptr() == emb.weight.data_ptr():
        return emb.weight, None
    return emb.weight, out.weight


def _check_model(model, info: NewTokens) -> None:
    w_in, w_out = embedding_matrices(model)
    if w_in.shape[0] < info.base_vocab_size:
        raise ConfigError("model", f"{type(model).__name__} with {w_in.shape[0]} embedding rows",
                          f"the base tokenizer uses ids up to {info.base_vocab_size - 1}; pass the tokenizer that "
                          "belongs to this model")
    if w_out is not None and w_out.shape[0] < info.base_vocab_size:
        raise ConfigError("model", f"output head with {w_out.shape[0]} rows",
                          f"the base tokenizer uses ids up to {info.base_vocab_size - 1}")


# ------------------------------------------------------------------------------------------------
# the one entry point

def _check_options(method: str, options: Mapping[str, Any]) -> dict[str, Any]:
    check_option_names(method, options)
    merged = {**initializer(method).options, **options}
    if "anchor_set" in merged and merged["anchor_set"] not in ANCHOR_SETS:
        raise ConfigError("anchor_set", merged["anchor_set"], f"use one of: {', '.join(ANCHOR_SETS)}")
    if "weighting" in merged and merged["weighting"] not in WEIGHTINGS:
        raise ConfigError("weighting", merged["weighting"], f"use one of: {', '.join(WEIGHTINGS)}")
    if "aux" in merged and merged["aux"] not in ("cooc", "encoder"):
        raise ConfigError("aux", merged["aux"], "use 'cooc' (co-occurrence vectors on target text) or 'encoder'")
    for key in ("top_k", "candidates", "min_anchors", "dim", "window", "min_count"):
        if key in merged and (not isinstance(merged[key], int) or isinstance(merged[key], bool) or merged[key] < 1):
            raise ConfigError(key, merged[key], "use an integer >= 1")
    if merged.get("max_anchors") is not None and (not isinstance(merged["max_anchors"], int) or merged["max_anchors"] < 1):
        raise ConfigError("max_anchors", merged["max_anchors"], "use None (all) or an integer >= 1")
    for key in ("temperature", "ridge"):
        if key in merged and not (isinstance(merged[key], (int, float)) and merged[key] > 0):
            raise ConfigError(key, merged[key], "use a number > 0")
    for key in ("lexicon_weight", "subtoken_weight"):
        if key in merged and not (isinstance(merged[key], (int, float)) and 0 <= merged[key] <= 1):
            raise ConfigError(key, merged[key], "use a weight in [0, 1]")
    if method == "bxod":
        if merged["query"] not in ("surface", "translation", "both"):
            raise ConfigError("query", merged["query"], "use one of: surface, translation, both")
        if merged["continuation"] not in ("fvt", "anchor"):
            raise ConfigError("continuation", merged["continuation"], "use 'fvt' (sub-tokens) or 'anchor'")
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
    ctx = init_methods.Context(
        info=info, base_tokenizer=base_tokenizer, extended_tokenizer=extended_tokenizer,
        w_in=w_in.detach()[:info.base_vocab_size].float().to(device),
        w_out=None if w_out is None else w_out.detach()[:info.base_vocab_size].float().to(device),
        device=device)
    rows_in, rows_out, provenance = init_methods.run(method, ctx, opts)
    dtype = w_in.dtype
    return EmbeddingPatch(
        method=method, token_ids=info.ids, tokens=info.tokens, input_rows=rows_in.to("cpu", dtype),
        output_rows=None if rows_out is None else rows_out.to("cpu", w_out.dtype), provenance=provenance,
        options={k: v for k, v in opts.items() if k != "device"}, base_rows=int(w_in.shape[0]),
        base_vocab_size=info.base_vocab_size, base_fingerprint=info.fingerprint, hidden_size=int(w_in.shape[1]),
        seconds=round(time.perf_counter() - start, 3))


# ------------------------------------------------------------------------------------------------
# applying a patch

def _text_config(model):
    cfg = model.config
    return cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg


def apply_patch(model, patch: EmbeddingPatch, tokenizer=None):
    """Write ``patch`` into ``model`` in place and return it.

    Resizes with ``mean_resizing=False`` when the new ids exceed the current rows (rows inside
    pre-existing padding are written without resizing), sets ``config.vocab_size`` and keeps a
    tied head tied. A model already extended to ``patch.total_rows`` (another method's patch) is
    overwritten in place. ``tokenizer`` (base or extended), when given, must match the patch's base
    vocabulary.
    """
    import torch

    w_in, w_out = embedding_matrices(model)
    rows = w_in.shape[0]
    if rows not in (patch.base_rows, patch.total_rows) or w_in.shape[1] != patch.hidden_size:
        raise ConfigError("patch", f"{patch.method} patch for {patch.base_rows} x {patch.hidden_size} embeddings",
                          f"this model has {rows} x {w_in.shape[1]}: apply the patch to the model it was made for")
    if patch.tied != (w_out is None):
        raise ConfigError("patch", f"{'tied' if patch.tied else 'untied'} patch",
                          f"the model's head is {'untied' if w_out is not None else 'tied'}")
    if tokenizer is not None:
        vocab = tokenizer.get_vocab()
        new = dict(zip(patch.tokens, patch.token_ids))
        base_part = {t: i for t, i in vocab.items() if t not in new}
        extended = any(t in vocab for t in new) or len(base_part) != len(vocab)
        wrong_new = extended and (len(vocab) - len(base_part) != len(new) or any(vocab.get(t) != i for t, i in new.items()))
        if _fingerprint(base_part) != patch.base_fingerprint or wrong_new:
            raise ConfigError("tokenizer", type(tokenizer).__name__,
                              "its vocabulary is not the one the patch was made for (base fingerprint "
                              f"{patch.base_fingerprint}); use the matching base or extended tokenizer")
    tied = w_out is None
    if patch.total_rows > rows:
        model.resize_token_embeddings(patch.total_rows, mean_resizing=False)
    w_in, w_out = embedding_matrices(model)
    ids = torch.tensor(patch.token_ids, dtype=torch.long, device=w_in.device)
    with torch.no_grad():
        w_in[ids] = patch.input_rows.to(w_in.device, w_in.dtype)
        if w_out is not None:
            w_out[ids] = patch.output_rows.to(w_out.device, w_out.dtype)
    if tied and w_out is not None:            # resizing broke the tie: restore it
        model.tie_weights()
        if embedding_matrices(model)[1] is not None:
            raise RuntimeError("could not keep input and output embeddings tied after resizing")
    _text_config(model).vocab_size = int(embedding_matrices(model)[0].shape[0])
    if _text_config(model) is not model.config and hasattr(model.config, "vocab_size"):
        model.config.vocab_size = _text_config(model).vocab_size
    return model


@contextmanager
def patched(model, patch: EmbeddingPatch):
    """Apply ``patch`` for the duration of a ``with`` block, then restore the model exactly.

    Example::

        >>> from paper_utils.bpb import bits_per_byte
        >>> from paper_utils.config import load_preset
        >>> from paper_utils.diagnostics import smoke_setup
        >>> s = smoke_setup(load_preset("smoke"), "uz", "smollm2-135m")
        >>> patch = initialize(s.model, s.base_tokenizer, s.extended_tokenizer, "fvt")
        >>> with patched(s.model, patch):
        ...     bpb = bits_per_byte(s.model, s.extended_tokenizer, s.heldout_texts).bpb
        >>> s.model.config.vocab_size == len(s.base_tokenizer)      # restored
        True
    """
    import torch

    w_in, w_out = embedding_matrices(model)
    rows = int(w_in.shape[0])
    vocab_size = _text_config(model).vocab_size
    inside = [i for i in patch.token_ids if i < rows]                    # pre-existing padding rows
    idx = torch.tensor(inside, dtype=torch.long, device=w_in.device)
    saved_in = w_in.detach()[idx].clone()
    saved_out = None if w_out is None else w_out.detach()[idx].clone()
    apply_patch(model, patch)
    try:
        yield model
    finally:
        if embedding_matrices(model)[0].shape[0] != rows:
            model.resize_token_embeddings(rows, mean_resizing=False)
            if w_out is None:
                model.tie_weights()
        w_in, w_out = embedding_matrices(model)
        with torch.no_grad():
            w_in[idx] = saved_in
            if saved_out is not None:
                w_out[idx] = saved_out
        _text_config(model).vocab_size = vocab_size
        if _text_config(model) is not model.config and hasattr(model.config, "vocab_size"):
            model.config.vocab_size = vocab_size


# ------------------------------------------------------------------------------------------------
# a deterministic encoder for tests and the smoke preset

class NgramHashEncoder:
    """Character n-gram hashing vectors: deterministic, no download; similar strings are close.

    Example::

        >>> enc = NgramHashEncoder(dim=64)
        >>> v = enc.encode(["kitob", "kitoblar", "xyz"])
        >>> bool(v[0] @ v[1] > v[0] @ v[2])
        True

    Stands in for the multilingual encoder in tests and in the ``smoke`` preset; it knows spelling,
    not meaning.
    """

    def __init__(self, dim: int = 64, n: int = 3, name: str = "ngram-hash"):
        self.dim, self.n, self.name = dim, n, name
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"<{text.lower()}>"
            for k in range(max(1, len(padded) - self.n + 1)):
                h = zlib.crc32(padded[k:k + self.n].encode("utf-8"))
                out[row, h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out[norms[:, 0] == 0, 0] = 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def anchor_table(patch: EmbeddingPatch, tokens: Sequence[str] | None = None, n: int = 8, top: int = 5):
    """Nearest anchors of a few new tokens as a ``pandas.DataFrame`` (surface, how, anchors).

    ``tokens`` picks by surface form (``" kitob"``) or token string; default the first ``n``
    word-initial tokens whose provenance has anchors.
    """
    import pandas as pd

    recs = patch.provenance
    if tokens:
        wanted = set(tokens)
        chosen = [r for r in recs if r["surface"] in wanted or r["token"] in wanted or r["surface"].strip() in wanted]
    else:
        chosen = [r for r in recs if r.get("anchors") and r["surface"][:1].isspace()][:n] or recs[:n]
    rows = []
    for r in chosen:
        anchors = ", ".join(f"{a!r} {w:.2f}" for a, w in (r.get("anchors") or [])[:top])
        rows.append({"method": patch.method, "token": r["surface"], "rule": r.get("rule", ""),
                     "translation": r.get("translation") or "", "anchors (weight)": anchors})
    return pd.DataFrame(rows)


__all__ = ["EmbeddingPatch", "NewTokens", "METHODS", "OPTIONS", "initialize", "apply_patch", "patched",
           "new_tokens", "surface_forms", "vocabulary_kind", "embedding_matrices", "NgramHashEncoder",
           "anchor_table", "vocab_fingerprint"]
