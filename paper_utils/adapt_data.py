"""Training data for adaptation: packed fixed-length blocks, English mixed in, order fixed by the seed.

Example::

    >>> from paper_utils.adapt_data import pack, MixedStream
    >>> from paper_utils.evaluate_lm import tiny_tokenizer
    >>> tokenizer = tiny_tokenizer()                     # a byte-level BPE trained in a second
    >>> blocks = pack(tokenizer, ["Salom dunyo", "Kitob o'qish"] * 4, seq_len=8, seed=0)
    >>> blocks.shape                                     # (blocks, seq_len), int64
    torch.Size([12, 8])
    >>> english_blocks = pack(tokenizer, ["Hello world", "Reading books"] * 4, seq_len=8, seed=0)
    >>> stream = MixedStream(blocks, english_blocks, english_share=0.2, seed=0)
    >>> stream.batch(step=0, batch_size=8).shape
    torch.Size([8, 8])

* :func:`pack` tokenizes every text (no special tokens), appends EOS after each document, shuffles
  the documents with the seed, concatenates them and cuts the stream into ``seq_len`` blocks (the
  tail shorter than a block is dropped; a text longer than a block simply spans several).
* :class:`MixedStream` serves sample ``i`` of an endless stream as a pure function of ``(seed, i)``:
  sample ``i`` is English iff ``floor((i+1)*share) > floor(i*share)`` (exactly ``share`` of every
  prefix, spread evenly), and each source is read through its own seeded permutation per epoch. No
  iterator state exists, so a resumed run reads exactly the samples the interrupted run would have
  read, and the same global batch is split the same way over 1 or N processes.
* :func:`english_training_text` is the English text mixed in to protect English: the English side of
  the *training* parallel pairs (never MMLU, which measures English retention, and never held-out
  pairs).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

from .errors import ConfigError, DataError
from .paths import results_dir

STAGE_KINDS = ("embeddings", "lora", "full")


def _seed_of(*parts) -> int:
    """A 63-bit seed from any parts (stable across processes; never Python's ``hash``)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def english_training_text(preset, lang: str) -> list[str]:
    """English text mixed into adaptation: the English side of training pairs (never MMLU, never held out).

    ``fixtures`` (smoke): ``tests/fixtures/english.txt``; ``offline``/``hub``: the English side of the
    Django ``train`` split of ``lang`` (``paper_utils.corpora.parallel``).
    """
    if preset.data_source == "fixtures":
        from .study import FIXTURES

        return [t for t in (FIXTURES / "english.txt").read_text(encoding="utf-8").splitlines() if t.strip()]
    from . import corpora

    return [t for t in corpora.parallel(lang, "train")["en"] if t.strip()]


def pack(tokenizer, texts: Sequence[str], seq_len: int, seed: int = 0, *, name: str = "target",
         batch: int = 2048):
    """``(blocks, seq_len)`` int64 tensor of packed token ids (see module doc); DataError when empty."""
    import torch

    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise DataError(f"the {name} training text is empty: adaptation needs text to train on "
                        "(check the preset's data source and language)")
    if seq_len < 2:
        raise ConfigError("seq_len", seq_len, "use at least 2 tokens per sequence")
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
    n = len(stream) // seq_len
    if n == 0:
        raise DataError(f"the {name} training text has {len(stream)} tokens, fewer than one sequence of "
                        f"seq_len={seq_len}: add text or lower seq_len")
    return torch.tensor(stream[:n * seq_len], dtype=torch.long).view(n, seq_len)


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


# ------------------------------------------------------------------------------------------------
# a run's inputs and folder

def read_log(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def steps_to_reach(log: Sequence[dict], target_bpb: float | None) -> int | None:
    """First evaluated step whose held-out bpb is at or below ``target_bpb`` (None: never)."""
    if target_bpb is None:
        return None
    for rec in log:
        if rec.get("type") == "eval" and rec["heldout_bpb"] <= target_bpb:
            return rec["step"]
    return None




def run_label(method: str, seed: int = 0) -> str:
    return f"{method}__seed{seed}"


def adapt_dir(preset: str, language: str, model: str, method: str, seed: int = 0) -> Path:
    """``results/<preset>/<language>/<model>/adapt/<method>__seed<seed>/``."""
    return results_dir(preset) / language / Path(model).name / "adapt" / run_label(method, seed)


def check_parameters(cfg, language: str, model: str, method: str, seed: int = 0, stage2: str = "lora") -> None:
    """Validate notebook parameters against the preset (ConfigError naming the fix)."""
    if language not in cfg.grid.languages:
        raise ConfigError("language", language, f"preset {cfg.name!r} has languages {list(cfg.grid.languages)}")
    if model not in cfg.grid.models and not Path(model).expanduser().is_dir():
        raise ConfigError("model", model, f"preset {cfg.name!r} has models {list(cfg.grid.models)}")
    if method not in cfg.grid.methods:
        raise ConfigError("method", method, f"use one of the preset's methods: {', '.join(cfg.grid.methods)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("seed", seed, "use an integer >= 0")
    if stage2 not in STAGE_KINDS:
        raise ConfigError("stage2", stage2, f"unknown stage name; use one of: {', '.join(STAGE_KINDS)}")


@dataclass
class AdaptInputs:
    model: Any
    base_tokenizer: Any
    tokenizer: Any                        # extended
    patch: Any                            # EmbeddingPatch
    target_texts: list[str]
    english_texts: list[str]
    heldout_texts: list[str]
    notes: dict = field(default_factory=dict)


def load_inputs(cfg, language: str, model: str, method: str) -> AdaptInputs:
    """Base model, tokenizers, the method's embedding patch and the texts of a run.

    The patch is read from ``results/<preset>/<lang>/<model>/init/patches/<method>/`` (notebook 03);
    when absent it is computed here with the same setup. ``smoke`` (fixtures): the tiny random model
    of :func:`paper_utils.diagnostics.smoke_setup`.
    """
    from transformers import AutoTokenizer

    from . import diagnostics
    from .embedding_init import EmbeddingPatch, initialize
    from .study import heldout_text, training_text

    where = results_dir(cfg.name) / language / Path(model).name
    patch_dir, tok_dir = where / "init" / "patches" / method, where / "tokenizer"
    notes: dict[str, Any] = {}
    setup = diagnostics.smoke_setup(cfg, language, model) if cfg.data_source == "fixtures" else None
    if setup is None and (patch_dir / "patch.json").exists() and (tok_dir / "tokenizer.json").exists():
        from .assets import load_model

        net, base = load_model(model)
        ext = AutoTokenizer.from_pretrained(str(tok_dir))
        notes["extended_tokenizer"] = str(tok_dir)
    else:
        setup = setup or diagnostics.load_setup(cfg, language, model)
        net, base, ext = setup.model, setup.base_tokenizer, setup.extended_tokenizer
        notes.update({k: v for k, v in setup.notes.items() if k in ("model", "extended_tokenizer")})
    if (patch_dir / "patch.json").exists():
        patch = EmbeddingPatch.load(patch_dir)
        notes["patch"] = str(patch_dir)
    else:
        patch = initialize(net, base, ext, method, **setup.options(method))
        notes["patch"] = f"computed here in {patch.seconds:.1f} s ({patch_dir} did not exist)"
    target = training_text(cfg, language)
    if not target or not any(t.strip() for t in target):
        raise DataError(f"the training text of {language!r} for preset {cfg.name!r} is empty")
    return AdaptInputs(net, base, ext, patch, target, english_training_text(cfg, language),
                       heldout_text(cfg, language), notes)


# ------------------------------------------------------------------------------------------------
# results of runs: summaries, logs, the comparison figure

def collect_runs(preset: str, language: str, model: str) -> dict[str, dict]:
    """``{run label: {"summary": ..., "log": [...]}}`` for every finished run of a language and model."""
    root = results_dir(preset) / language / Path(model).name / "adapt"
    runs = {}
    for summary in sorted(root.glob("*/summary.json")):
        runs[summary.parent.name] = {"summary": json.loads(summary.read_text(encoding="utf-8")),
                                     "log": read_log(summary.parent / "train_log.jsonl")}
    return runs


def summary_table(runs: Mapping[str, Mapping[str, Any]]):
    """One row per run: held-out bpb (base model, step 0, final) and convergence speed.

    ``steps_to_base_bpb``: first evaluated step at or below the base model's bpb (0 when the patched
    model already starts below it). ``steps_to_common_bpb``: first evaluated step at or below
    ``common_bpb``, the worst final bpb among the runs -- a level every run reaches, so the column
    compares how fast each starting point gets there on the same data, seed and budget.
    """
    import pandas as pd

    cols = ("base_bpb", "step0_bpb", "final_bpb", "steps_to_base_bpb", "total_steps", "final_loss",
            "median_tokens_per_s", "train_seconds")
    finals = [r["summary"].get("final_bpb") for r in runs.values() if r["summary"].get("final_bpb") is not None]
    common = max(finals) if finals else None
    rows = []
    for label, r in runs.items():
        row = {"run": label, **{c: r["summary"].get(c) for c in cols}}
        row.update(common_bpb=common, steps_to_common_bpb=steps_to_reach(r.get("log", []), common))
        rows.append(row)
    return pd.DataFrame(rows)


def curves_figure(runs: Mapping[str, Sequence[dict]], base_bpb: float | None = None, title: str = ""):
    """Training loss and held-out bits per byte against the step, one line per run, in one figure.

    ``runs``: ``{label: train_log records}``. The dashed line is the base model's held-out bpb (read
    with its own tokenizer); dotted vertical lines mark stage changes. Loss is per token of the
    *extended* tokenizer, so compare losses only between runs that share it (all methods of one
    language and model do); bits per byte compare across tokenizers.
    """
    import matplotlib.pyplot as plt

    from .plots import set_style

    set_style()
    fig, (ax_loss, ax_bpb) = plt.subplots(1, 2, figsize=(11, 4))
    boundaries = set()
    for label, log in runs.items():
        train = [r for r in log if r.get("type") == "train"]
        evals = [r for r in log if r.get("type") == "eval"]
        line, = ax_loss.plot([r["step"] for r in train], [r["loss"] for r in train], label=label, lw=1.2)
        ax_bpb.plot([r["step"] for r in evals], [r["heldout_bpb"] for r in evals], marker="o", ms=3,
                    color=line.get_color(), label=label)
        for a, b in zip(train, train[1:]):
            if a["stage"] != b["stage"]:
                boundaries.add(a["step"])
        if base_bpb is None:
            base_bpb = next((r["base_bpb"] for r in log if r.get("type") == "reference"), None)
    for x in boundaries:
        for ax in (ax_loss, ax_bpb):
            ax.axvline(x, color="grey", ls=":", lw=0.8)
    if base_bpb is not None:
        ax_bpb.axhline(base_bpb, color="black", ls="--", lw=1, label="base model")
    ax_loss.set(xlabel="optimizer step", ylabel="training loss (nats / token)", title="Training loss")
    ax_bpb.set(xlabel="optimizer step", ylabel="held-out bits per byte", title="Held-out bits per byte")
    ax_bpb.legend(frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


__all__ = ["pack", "MixedStream", "english_training_text", "AdaptInputs", "load_inputs", "adapt_dir",
           "check_parameters", "read_log", "steps_to_reach", "collect_runs", "summary_table", "curves_figure",
           "STAGE_KINDS"]
