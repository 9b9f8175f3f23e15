"""Embedding surgery (Franken-Adapter): tuned embeddings of a base model written into its instruction-tuned sibling.

Example::

    >>> import tempfile, torch
    >>> from paper_utils.fixtures import tiny_model, tiny_tokenizer
    >>> tok = tiny_tokenizer(["the cat sat on the mat"] * 20)
    >>> base, sibling = tiny_model("llama", len(tok), seed=0), tiny_model("llama", len(tok), seed=1)
    >>> check_compatible(base, sibling, base_tokenizer=tok, sibling_tokenizer=tok)   # same family: no error
    >>> ext = tiny_tokenizer(["the cat sat on the mat"] * 20); _ = ext.add_tokens(["kitob"])
    >>> base.resize_token_embeddings(len(ext), mean_resizing=False).weight.shape[0] == len(ext)
    True
    >>> tuned = embedding_checkpoint(base, ext, base_vocab_size=len(tok))
    >>> franken, franken_tok = transplant(sibling, tuned, tokenizer=ext)
    >>> torch.equal(franken.get_input_embeddings().weight, base.get_input_embeddings().weight)
    True
    >>> folder = export(franken, franken_tok, tempfile.mkdtemp() + "/franken")
    >>> sorted(p.name for p in folder.iterdir() if p.suffix in (".json", ".safetensors"))[:2]
    ['config.json', 'embedding_surgery.json']

The steps (arXiv 2502.08037): the base model's embeddings are tuned on target-language text with its body
frozen (:mod:`paper_utils.recipes.franken`); :func:`embedding_checkpoint` keeps the tuned matrices with the
vocabulary hash of the tokenizer they were trained with; :func:`check_compatible` refuses a sibling of another
architecture class, hidden size, depth, base vocabulary size or base tokenizer; :func:`transplant` resizes the
sibling to the extended vocabulary, copies the tuned input matrix (and the output matrix where the model does not
tie them) **raw**: a Gemma model scales its input embeddings by sqrt(hidden) inside its forward, so the stored
weights are copied as they are, never rescaled; the sibling's tokenizer is replaced by the extended one with the
sibling's chat template kept. :func:`export` writes an ordinary Hugging Face folder (safetensors, tokenizer,
``embedding_surgery.json``) into a temporary folder that is renamed into place: nothing half-written.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, DataError
from .io import atomic_dir, read_json, write_json
from .surfaces import vocab_fingerprint

CHECKPOINT_FILE = "embeddings.safetensors"
CHECKPOINT_META = "embeddings.json"
SURGERY_RECORD = "embedding_surgery.json"


def _text_config(model):
    cfg = model.config
    return cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg


def embedding_weights(model) -> tuple[Any, Any]:
    """``(input matrix, output matrix or None when tied)`` of a causal LM (the tensors themselves)."""
    w_in = model.get_input_embeddings().weight
    out = model.get_output_embeddings()
    if out is None or out.weight is w_in or out.weight.data_ptr() == w_in.data_ptr():
        return w_in, None
    return w_in, out.weight


@dataclass
class EmbeddingCheckpoint:
    """Tuned embedding matrices and the vocabulary hash (:func:`~paper_utils.surfaces.vocab_fingerprint`) of the
    tokenizer they were trained with; ``output`` is None for a tied model."""

    input: Any
    output: Any
    tokenizer_hash: str
    base_vocab_size: int
    notes: dict = field(default_factory=dict)

    @property
    def tied(self) -> bool:
        return self.output is None

    def save(self, folder: str | Path) -> Path:
        """``embeddings.safetensors`` + ``embeddings.json`` in ``folder``, written to a temporary folder first."""
        from safetensors.torch import save_file

        with atomic_dir(folder) as tmp:
            tensors = {"input": self.input.detach().cpu().contiguous()}
            if self.output is not None:
                tensors["output"] = self.output.detach().cpu().contiguous()
            save_file(tensors, str(tmp / CHECKPOINT_FILE))
            write_json(tmp / CHECKPOINT_META, {"tokenizer_hash": self.tokenizer_hash, "tied": self.tied,
                                               "base_vocab_size": self.base_vocab_size,
                                               "rows": int(self.input.shape[0]), "hidden": int(self.input.shape[1]),
                                               "notes": self.notes})
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path) -> "EmbeddingCheckpoint":
        from safetensors.torch import load_file

        folder = Path(folder)
        if not (folder / CHECKPOINT_META).exists() or not (folder / CHECKPOINT_FILE).exists():
            raise DataError(f"{folder} holds no embedding checkpoint ({CHECKPOINT_FILE} + {CHECKPOINT_META}); "
                            "write one with EmbeddingCheckpoint.save")
        meta = read_json(folder / CHECKPOINT_META)
        tensors = load_file(str(folder / CHECKPOINT_FILE))
        return cls(tensors["input"], tensors.get("output"), meta["tokenizer_hash"], int(meta["base_vocab_size"]),
                   meta.get("notes", {}))


def embedding_checkpoint(model, tokenizer, *, base_vocab_size: int, notes: dict | None = None) -> EmbeddingCheckpoint:
    """The current embedding matrices of ``model`` (copies) tagged with ``tokenizer``'s vocabulary hash."""
    w_in, w_out = embedding_weights(model)
    if w_in.shape[0] < len(tokenizer):
        raise ConfigError("tokenizer", len(tokenizer), f"the model has {w_in.shape[0]} embedding rows, fewer than the "
                          "tokenizer's entries: resize the model to the extended tokenizer first")
    return EmbeddingCheckpoint(w_in.detach().clone(), None if w_out is None else w_out.detach().clone(),
                               vocab_fingerprint(tokenizer), int(base_vocab_size), dict(notes or {}))


def check_compatible(base, sibling, *, base_tokenizer=None, sibling_tokenizer=None) -> None:
    """ConfigError naming the first mismatch between ``base`` and its would-be ``sibling``: architecture class,
    hidden size, number of layers, tied or untied embeddings, base vocabulary size (embedding rows) and, when both
    tokenizers are given, the tokenizers' vocabulary hash."""
    a, b = _text_config(base), _text_config(sibling)
    checks = [("architecture class", type(base).__name__, type(sibling).__name__),
              ("hidden size", getattr(a, "hidden_size", None), getattr(b, "hidden_size", None)),
              ("number of layers", getattr(a, "num_hidden_layers", None), getattr(b, "num_hidden_layers", None)),
              ("tied embeddings", embedding_weights(base)[1] is None, embedding_weights(sibling)[1] is None),
              ("base vocabulary size", base.get_input_embeddings().weight.shape[0],
               sibling.get_input_embeddings().weight.shape[0])]
    if base_tokenizer is not None and sibling_tokenizer is not None:
        checks.append(("tokenizer vocabulary hash", vocab_fingerprint(base_tokenizer),
                       vocab_fingerprint(sibling_tokenizer)))
    for what, x, y in checks:
        if x != y:
            raise ConfigError("sibling", f"{what} {y!r}", f"the base model has {what} {x!r}: embedding surgery needs "
                              "the instruction-tuned sibling of the same base model")


def check_checkpoint(tuned: EmbeddingCheckpoint, tokenizer, sibling) -> None:
    """ConfigError when ``tuned`` was trained with another tokenizer than ``tokenizer`` or does not fit ``sibling``."""
    if tuned.tokenizer_hash != vocab_fingerprint(tokenizer):
        raise ConfigError("tuned_embeddings", f"tokenizer hash {tuned.tokenizer_hash}",
                          f"the checkpoint was trained with another tokenizer than this one ({vocab_fingerprint(tokenizer)}); "
                          "pass the extended tokenizer the embeddings were tuned with")
    w_in, w_out = embedding_weights(sibling)
    if tuned.input.shape[0] < len(tokenizer) or tuned.input.shape[1] != w_in.shape[1]:
        raise ConfigError("tuned_embeddings", tuple(tuned.input.shape), f"need >= {len(tokenizer)} rows of width "
                          f"{w_in.shape[1]} (the sibling's hidden size)")
    if tuned.base_vocab_size != w_in.shape[0]:
        raise ConfigError("tuned_embeddings", f"base vocabulary size {tuned.base_vocab_size}",
                          f"the sibling has {w_in.shape[0]} embedding rows: tune the embeddings of its base model")
    if tuned.tied != (w_out is None):
        raise ConfigError("tuned_embeddings", "tied" if tuned.tied else "untied",
                          f"the sibling's embeddings are {'tied' if w_out is None else 'untied'}")


def transplant(sibling, tuned: EmbeddingCheckpoint, *, tokenizer, sibling_tokenizer=None,
               in_place: bool = False) -> tuple[Any, Any]:
    """``(model, tokenizer)``: ``sibling`` resized to ``tokenizer`` (the extended one) with ``tuned``'s matrices
    copied raw, and ``tokenizer`` carrying the sibling's chat template (module doc). ``sibling`` is copied first
    unless ``in_place``."""
    import torch

    check_checkpoint(tuned, tokenizer, sibling)
    model = sibling if in_place else copy.deepcopy(sibling)
    rows = int(tuned.input.shape[0])
    model.resize_token_embeddings(rows, mean_resizing=False)
    w_in, w_out = embedding_weights(model)
    with torch.no_grad():
        w_in.copy_(tuned.input.to(w_in.device, w_in.dtype))
        if w_out is not None:
            w_out.copy_(tuned.output.to(w_out.device, w_out.dtype))
    _text_config(model).vocab_size = rows
    new_tok = copy.deepcopy(tokenizer)
    template = getattr(sibling_tokenizer, "chat_template", None) if sibling_tokenizer is not None else None
    if template:
        new_tok.chat_template = template
    return model, new_tok


def export(model, tokenizer, out_dir: str | Path, record: dict | None = None) -> Path:
    """``model`` (safetensors) + ``tokenizer`` + ``embedding_surgery.json`` (``record``) as one Hugging Face folder
    that ``AutoModelForCausalLM``/``AutoTokenizer`` load; written to a temporary folder, then renamed."""
    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        write_json(tmp / SURGERY_RECORD, {"tokenizer_hash": vocab_fingerprint(tokenizer),
                                          "vocab_size": len(tokenizer), **(record or {})})
    return out


def embedding_row(folder: str | Path, token_id: int):
    """Row ``token_id`` of the input embedding matrix stored in a Hugging Face folder's safetensors (or of an
    :class:`EmbeddingCheckpoint` folder), read without loading the model."""
    from safetensors import safe_open

    folder = Path(folder)
    for path in sorted(folder.glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as fh:
            keys = [k for k in fh.keys() if k == "input" or k.endswith("embed_tokens.weight")]
            if keys:
                return fh.get_slice(keys[0])[token_id:token_id + 1][0].clone()
    raise DataError(f"{folder} holds no input embedding matrix (*embed_tokens.weight or an embedding checkpoint)")


def load_causal_lm(name: str):
    """``(model, tokenizer)`` of a registry model, a local folder, or a Hub id not in the registry (the ``paper``
    preset's ``google/gemma-2-2b-it`` sibling: needs Hub access, refused offline), in eval mode."""
    from .assets import MODELS, OFFLINE_MODELS, load_model, require_online

    if name in MODELS or Path(name).expanduser().is_dir():
        return load_model(name)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    require_online(name, "model", OFFLINE_MODELS)
    return AutoModelForCausalLM.from_pretrained(name, use_safetensors=True).eval(), AutoTokenizer.from_pretrained(name)


def surgery_check(franken, tuned: EmbeddingCheckpoint, sibling, tokenizer, sibling_tokenizer,
                  english_texts) -> dict:
    """The exactness check: tuned rows equal bit for bit, English ids unchanged, and on English inputs (no new
    token) the logits over the sibling's vocabulary equal the sibling's (``max_abs_logit_diff`` 0.0)."""
    import torch

    w_in, w_out = embedding_weights(franken)
    rows_equal = torch.equal(w_in.detach().cpu(), tuned.input.cpu()) and (
        w_out is None or torch.equal(w_out.detach().cpu(), tuned.output.cpu()))
    texts = [t for t in english_texts if t.strip()]
    same_ids = [tokenizer(t, add_special_tokens=False)["input_ids"] == sibling_tokenizer(t, add_special_tokens=False)[
        "input_ids"] for t in texts]                 # as stage 05's English check (special tokens are the same ids)
    diff = 0.0
    base_rows = sibling.get_input_embeddings().weight.shape[0]
    with torch.no_grad():
        for t, same in zip(texts, same_ids):
            ids = torch.tensor([sibling_tokenizer(t)["input_ids"]])
            a = sibling(input_ids=ids).logits[..., :base_rows]
            b = franken(input_ids=ids.to(w_in.device)).logits[..., :base_rows].cpu()
            diff = max(diff, float((a - b).abs().max()))
    return {"rows_equal": bool(rows_equal), "english_identical_share": sum(same_ids) / max(len(same_ids), 1),
            "english_texts": len(texts), "max_abs_logit_diff": diff}


__all__ = ["embedding_row", "load_causal_lm", "EmbeddingCheckpoint", "embedding_checkpoint", "embedding_weights", "check_compatible", "check_checkpoint",
           "transplant", "export", "surgery_check", "CHECKPOINT_FILE", "CHECKPOINT_META", "SURGERY_RECORD"]
