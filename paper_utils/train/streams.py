"""Training data as a stateless stream: packed fixed-length blocks, English mixed in, order fixed by the seed.

Example::

    >>> import torch
    >>> target = torch.arange(40).view(10, 4)
    >>> english = torch.arange(100, 120).view(5, 4)
    >>> stream = MixedStream(target, english, english_share=0.25, seed=0)
    >>> [stream.is_english(i) for i in range(8)]
    [False, False, False, True, False, False, False, True]
    >>> stream.batch(step=0, batch_size=4).shape
    torch.Size([4, 4])
    >>> bool((stream.batch(1, 4) == stream.batch(1, 4)).all())        # a pure function of (seed, step)
    True

* :func:`pack` tokenizes every text (no special tokens), appends EOS after each document, shuffles
  the documents with the seed, concatenates them and cuts the stream into ``seq_len`` blocks (the
  tail shorter than a block is dropped; a text longer than a block simply spans several). With a tokenizer
  that opens every encoding with BOS (:func:`paper_utils.surfaces.adds_bos`: Gemma, Llama-3) each block is
  BOS + ``seq_len - 1`` stream tokens, as the model was trained and as held-out bits per byte are scored
  (:func:`paper_utils.bpb.bits_per_byte` conditions each chunk on BOS); other tokenizers' blocks are unchanged.
* :class:`ExampleStream` serves encoded examples (preference pairs, SFT prompt -> response) the same way, one
  seeded permutation per epoch, collated by a given function (the CLO recipe, the Franken sibling's SFT).
* :class:`MixedStream` serves sample ``i`` of an endless stream as a pure function of ``(seed, i)``:
  sample ``i`` is English iff ``floor((i+1)*share) > floor(i*share)`` (exactly ``share`` of every
  prefix, spread evenly), and each source is read through its own seeded permutation per epoch. No
  iterator state exists, so a resumed run reads exactly the samples the interrupted run would have
  read, and the same global batch is split the same way over 1 or N processes.
"""
from __future__ import annotations

import hashlib
from fractions import Fraction
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..errors import ConfigError, DataError
from ..surfaces import adds_bos


def _seed_of(*parts) -> int:
    """A 63-bit seed from any parts (stable across processes; never Python's ``hash``)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def pack(tokenizer, texts: Sequence[str], seq_len: int, seed: int = 0, *, name: str = "target",
         batch: int = 2048):
    """``(blocks, seq_len)`` int64 tensor of packed token ids (see module doc); DataError when empty."""
    import torch

    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise DataError(f"the {name} training text is empty: adaptation needs text to train on "
                        "(check the preset's data source and language)")
    prefix = [int(tokenizer.bos_token_id)] if adds_bos(tokenizer) else []
    if seq_len < 2 + len(prefix):
        raise ConfigError("seq_len", seq_len, f"use at least {2 + len(prefix)} tokens per sequence"
                          + (" (each block opens with BOS)" if prefix else ""))
    eos = tokenizer.eos_token_id
    if eos is None:
        eos = tokenizer.bos_token_id
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(_seed_of(seed, name, "docs")))
    texts = [texts[k] for k in order.tolist()]
    stream: list[int] = []
    for start in range(0, len(texts), batch):
        for ids in tokenizer(texts[start:start + batch], add_special_tokens=False)["input_ids"]:
            stream.extend(ids)
            if eos is not None:
                stream.append(eos)
    width = seq_len - len(prefix)
    n = len(stream) // width
    if n == 0:
        raise DataError(f"the {name} training text has {len(stream)} tokens, fewer than one sequence of "
                        f"seq_len={seq_len}" + (" (BOS + seq_len - 1 text tokens)" if prefix else "")
                        + ": add text or lower seq_len")
    blocks = torch.tensor(stream[:n * width], dtype=torch.long).view(n, width)
    if prefix:
        blocks = torch.cat([torch.full((n, 1), prefix[0], dtype=torch.long), blocks], dim=1)
    return blocks


class MixedStream:
    """An endless, seeded, stateless stream of blocks: target text with ``english_share`` English."""

    def __init__(self, target_blocks, english_blocks=None, english_share: float = 0.0, seed: int = 0):
        if not 0.0 <= float(english_share) < 1.0:
            raise ConfigError("english_share", english_share, "use a share in [0, 1): 0 trains on target text only")
        if target_blocks is None or len(target_blocks) == 0:
            raise DataError("no target-language training blocks: the training text is empty")
        self.share = Fraction(float(english_share)).limit_denominator(10_000)
        if self.share > 0 and (english_blocks is None or len(english_blocks) == 0):
            raise DataError(f"english_share={float(english_share)} but the English training text is empty: "
                            "pass English text or set english_share = 0")
        if english_blocks is not None and len(english_blocks) and english_blocks.shape[1] != target_blocks.shape[1]:
            raise ConfigError("english_blocks", tuple(english_blocks.shape), "pack English with the same seq_len")
        self.sources = {"target": target_blocks, "english": english_blocks}
        self.seed = seed
        self._perms: dict[tuple[str, int], list[int]] = {}

    @property
    def seq_len(self) -> int:
        return int(self.sources["target"].shape[1])

    def is_english(self, i: int) -> bool:
        s = self.share
        return (i + 1) * s.numerator // s.denominator > i * s.numerator // s.denominator

    def locate(self, i: int) -> tuple[str, int]:
        """``(source, block index)`` of global sample ``i``."""
        s = self.share
        english_before = i * s.numerator // s.denominator
        if self.is_english(i):
            source, k = "english", english_before
        else:
            source, k = "target", i - english_before
        n = len(self.sources[source])
        epoch, pos = divmod(k, n)
        key = (source, epoch)
        if key not in self._perms:
            import torch

            if len(self._perms) > 64:
                self._perms.clear()
            gen = torch.Generator().manual_seed(_seed_of(self.seed, source, epoch))
            self._perms[key] = torch.randperm(n, generator=gen).tolist()
        return source, self._perms[key][pos]

    def samples(self, start: int, count: int):
        """``(count, seq_len)`` blocks for global samples ``start .. start+count-1``."""
        import torch

        rows = [self.sources[src][k] for src, k in (self.locate(i) for i in range(start, start + count))]
        return torch.stack(rows)

    def batch(self, step: int, batch_size: int, micro: int = 0, micro_size: int | None = None,
              process: int = 0, processes: int = 1):
        """The slice of optimizer step ``step`` (0-based) that process ``process`` reads in micro-step ``micro``.

        A global batch of ``batch_size`` samples is split into micro-steps of ``micro_size`` samples per
        process: micro-step ``a`` of process ``p`` reads samples ``a*micro_size*processes + p*micro_size``
        onward. With the defaults it is the whole global batch.
        """
        micro_size = batch_size if micro_size is None else micro_size
        start = step * batch_size + micro * micro_size * processes + process * micro_size
        return self.samples(start, micro_size)

    def english_fraction(self, start: int, count: int) -> float:
        return sum(self.is_english(i) for i in range(start, start + count)) / max(count, 1)


@dataclass
class ExampleStream:
    """Encoded examples served as a pure function of the sample index (epoch ``e`` visits them in the order of a
    permutation drawn from ``seed`` and ``e``), collated by ``collate``: a resumed run reads the same batches."""

    examples: list
    collate: Callable[[list], dict]
    seed: int = 0
    _orders: dict = field(default_factory=dict, repr=False)

    def _order(self, epoch: int) -> list[int]:
        import torch

        if epoch not in self._orders:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._orders[epoch] = torch.randperm(len(self.examples), generator=gen).tolist()
        return self._orders[epoch]

    def batch(self, step: int, batch_size: int, micro: int = 0, micro_size: int | None = None,
              process: int = 0, processes: int = 1) -> dict:
        micro_size = batch_size if micro_size is None else micro_size
        start = step * batch_size + micro * micro_size * processes + process * micro_size
        n = len(self.examples)
        return self.collate([self.examples[self._order(i // n)[i % n]] for i in range(start, start + micro_size)])


__all__ = ["pack", "MixedStream", "ExampleStream"]
