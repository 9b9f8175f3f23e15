"""The embedding patch: new rows only, saved and loaded as files, applied to a model for good or for a while.

Example::

    >>> import tempfile
    >>> from paper_utils.config import load_preset
    >>> from paper_utils.init import EmbeddingPatch, apply_patch, initialize, smoke_setup
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

An :class:`EmbeddingPatch` holds the rows of the tokens that the extended tokenizer has and the
base tokenizer lacks (input embeddings, plus output embeddings when the head is untied) and a
per-token provenance record (anchors and weights, translation used, or the fallback taken).
:func:`apply_patch` resizes the model (``mean_resizing=False``), writes the rows (also rows that fall
into pre-existing padding), updates ``config.vocab_size`` and keeps tied embeddings tied;
:func:`patched` does the same temporarily and restores the model afterwards. :func:`anchor_table`
shows a few tokens' nearest anchors.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import ConfigError, DataError
from ..io import atomic_path, read_json, write_json
from ..surfaces import fingerprint_vocab

PATCH_FORMAT = 1


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

    def digest(self) -> str:
        """sha256 (first 16 hex digits) of the new tokens' ids and their rows' bytes, input then output: two
        patches with the same digest put the same numbers into the same rows of the model (how a resumed step-0
        record checks its rebuilt patch)."""
        import torch

        digest = hashlib.sha256(json.dumps([int(i) for i in self.token_ids]).encode())
        for rows in (self.input_rows, self.output_rows):
            if rows is not None:
                t = rows.detach().cpu().contiguous()
                digest.update(f"{tuple(t.shape)} {t.dtype}\0".encode() + t.reshape(-1).view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()[:16]

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
        meta.update(format=PATCH_FORMAT, tied=self.tied, options=jsonable(self.options),
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


_TEXT_OPTIONS = ("target_texts", "english_texts", "parallel_pairs")      # recorded as their size only


def jsonable(options: Mapping[str, Any]) -> dict:
    out = {}
    for k, v in options.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            out[k] = v
        elif isinstance(v, (list, tuple)) and k not in _TEXT_OPTIONS and all(isinstance(x, (str, int, float)) for x in v):
            out[k] = list(v)
        elif isinstance(v, Mapping) and k not in ("lexicon", *_TEXT_OPTIONS):
            out[k] = jsonable({kk: vv for kk, vv in v.items() if kk != "device"})     # a blend's with_options
        elif k == "encoder":
            out[k] = getattr(v, "name", type(v).__name__)
        elif k in ("lexicon", *_TEXT_OPTIONS):
            out[k] = f"<{len(v)} entries>"
        else:
            out[k] = repr(v)[:80]
    return out


def embedding_matrices(model):
    """``(input_weight, output_weight_or_None)``; ``None`` when the head is tied to the input matrix."""
    emb = model.get_input_embeddings()
    out = model.get_output_embeddings()
    if out is None or out.weight is emb.weight or out.weight.data_ptr() == emb.weight.data_ptr():
        return emb.weight, None
    return emb.weight, out.weight


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
        if fingerprint_vocab(base_part) != patch.base_fingerprint or wrong_new:
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
        >>> from paper_utils.init import initialize, smoke_setup
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
