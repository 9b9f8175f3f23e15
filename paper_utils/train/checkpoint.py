"""Checkpoints that survive SIGKILL: written whole, then pointed at; refused for another model or setting.

Example::

    >>> from paper_utils.train.checkpoint import latest_checkpoint
    >>> import tempfile
    >>> latest_checkpoint(tempfile.mkdtemp()) is None
    True

``checkpoints/step-XXXXXX/`` holds ``weights.safetensors`` (the tensors training may have changed so
far), ``optimizer.pt``, ``rng.pt`` and ``state.json``; ``checkpoints/latest.json`` names the last
complete one and is written after it, so a kill at any instant leaves a consistent checkpoint.
"""
from __future__ import annotations

import random
import shutil
from pathlib import Path

from ..errors import ConfigError
from ..io import atomic_dir, read_json, write_json
from .trainable import embeddings, touched

CHECKPOINT_FORMAT = 1


def rng_state() -> dict:
    import numpy as np
    import torch

    state = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import numpy as np
    import torch

    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(folder: Path, model, optimizer, step: int, stage_index: int, stages_so_far, new_ids,
                    meta: dict) -> Path:
    """Write ``folder/step-XXXXXX/`` completely, then point ``latest.json`` at it; returns the folder."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step-{step:06d}"
    with atomic_dir(final) as tmp:
        tensors, row_start = touched(model, stages_so_far, new_ids)
        save_file({k: v.cpu().contiguous() for k, v in tensors.items()}, str(tmp / "weights.safetensors"),
                  metadata={"format": str(CHECKPOINT_FORMAT)})
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(rng_state(), tmp / "rng.pt")
        write_json(tmp / "state.json", {**meta, "format": CHECKPOINT_FORMAT, "step": step, "stage_index": stage_index,
                                        "row_start": row_start, "tensors": sorted(tensors)})
    write_json(folder / "latest.json", {"step": step, "dir": final.name})
    for old in folder.glob("step-*"):
        if old.name != final.name:
            shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(folder: Path) -> Path | None:
    pointer = Path(folder) / "latest.json"
    if not pointer.exists():
        return None
    path = Path(folder) / read_json(pointer)["dir"]
    return path if (path / "state.json").exists() else None


def read_checkpoint_state(path: Path, fingerprint: str, weights_key: str) -> dict:
    """``state.json`` of a checkpoint; ConfigError when it belongs to another model or other settings."""
    state = read_json(Path(path) / "state.json")
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError("checkpoint", str(path), f"format {state.get('format')} is not {CHECKPOINT_FORMAT}; "
                                                   "delete the checkpoints folder to start over")
    if state.get("model_fingerprint") != fingerprint:
        raise ConfigError("checkpoint", str(path),
                          f"it was written for another model/tokenizer/initialization, for other training text "
                          f"(the '+text-' part), or before training blocks opened with BOS for this tokenizer "
                          f"(a '+bos-blocks' fingerprint; fingerprint "
                          f"{state.get('model_fingerprint')}, this run starts from {fingerprint}): use another "
                          "output folder, or delete its checkpoints/ folder, or pass resume=False")
    if state.get("weights_key") != weights_key:
        raise ConfigError("checkpoint", str(path),
                          "it was written with other training settings (seed, steps, batch, learning rate, "
                          "stages, ...): use another output folder, delete checkpoints/, or pass resume=False")
    return state


def load_weights(path: Path, model, state: dict) -> None:
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(Path(path) / "weights.safetensors"))
    w_in, w_out = embeddings(model)
    params = dict(model.named_parameters())
    start = state["row_start"]
    with torch.no_grad():
        for key, target in (("embed_in", w_in), ("embed_out", w_out)):
            if key not in tensors:
                continue
            if target is None or tuple(tensors[key].shape) != tuple(target[start:].shape):
                raise ConfigError("checkpoint", str(path), f"its {key} rows {tuple(tensors[key].shape)} do not fit "
                                  "this model: it comes from another model")
            target[start:].copy_(tensors[key])
        for name, value in tensors.items():
            if name in ("embed_in", "embed_out"):
                continue
            if name not in params or tuple(params[name].shape) != tuple(value.shape):
                raise ConfigError("checkpoint", str(path), f"tensor {name} does not fit this model: it comes from "
                                  "another model or stage layout")
            params[name].copy_(value)


__all__ = ["CHECKPOINT_FORMAT", "save_checkpoint", "latest_checkpoint", "read_checkpoint_state", "load_weights",
           "rng_state", "set_rng_state"]
