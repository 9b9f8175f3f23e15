"""The smoke preset's inputs: the fixture files in ``data/fixtures/`` and the tiny random models built on them.

Example::

    >>> from paper_utils import fixtures
    >>> targets_and_english = fixtures.parallel_pairs("uz")
    >>> len(targets_and_english)
    8
    >>> tok = fixtures.tiny_tokenizer(["Salom dunyo", "Hello world"] * 20, vocab_size=300)
    >>> model = fixtures.tiny_model("llama", len(tok))
    >>> model.config.num_hidden_layers, model.config.hidden_size
    (2, 64)

This is the only module that knows where fixture files live and how tiny tokenizers and models are built;
:mod:`paper_utils.study` serves the files to the stages (``data_source = "fixtures"``), the tests use the same
builders. The files are real text, a few hundred lines (``data/`` holds small hand-written inputs):

=====================  ====================================================================================
``parallel.tsv``       held-out parallel sentences (``lang``, ``en``, ``target``): Django UI strings
``parallel_dev.tsv``   translation demonstrations (same columns)
``<lang>_train.txt``   target-language training text (Uzbek word lists and sentences)
``english.txt``        English text (MMLU questions) mixed into adaptation and kept intact by extension
``classification.tsv`` a small sentiment task (``split``, ``text``, ``label``)
``mmlu.jsonl``         MMLU-format questions (``question``, ``choices``, ``answer``, ``subject``)
=====================  ====================================================================================

Two tiny models, both deterministic (seeded), both from :func:`tiny_tokenizer` + :func:`tiny_model`:

* the **initialization** model of step 0 and adaptation (:func:`paper_utils.init.smoke_setup`): a
  2-layer Llama or Gemma-3 (``kind``), hidden 64, default initializer range, over a 400-entry BPE trained on
  the English fixture sentences; ``tiny_model`` seeds the global torch generator and leaves it there;
* the **evaluation** model (:func:`evaluation_model`): a 2-layer Llama, hidden 64, initializer range 0.2,
  4,096 positions, over a 600-entry BPE trained on the evaluation templates and every fixture text, with a pad
  token; the global torch generator is restored afterwards.

``torch``, ``transformers`` and ``tokenizers`` are imported inside the builders: reading a fixture file must
not cost the seconds those imports take.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Sequence

from .errors import ConfigError, DataError
from .mmlu_format import build_prompt
from .io import read_lines
from .paths import DATA_DIR

FIXTURES_DIR = DATA_DIR / "fixtures"
PARALLEL = FIXTURES_DIR / "parallel.tsv"
PARALLEL_DEV = FIXTURES_DIR / "parallel_dev.tsv"
CLASSIFICATION = FIXTURES_DIR / "classification.tsv"
MMLU = FIXTURES_DIR / "mmlu.jsonl"
ENGLISH = FIXTURES_DIR / "english.txt"
OPENAI_EVALS = FIXTURES_DIR / "openai_evals"     # the evals pack's layout, a few tasks (the fusion recipe's English)
KINDS = ("llama", "gemma")
CLASSIFICATION_LABELS = ("negative", "positive")
# Strings the evaluation tokenizer must hold as single tokens, as real BPE vocabularies do (" A", " negative").
EVALUATION_TEMPLATES = ("Answer: A Answer: B Answer: C Answer: D", "Sentiment: negative Sentiment: positive",
                        "The following are multiple choice questions (with answers) about")


# ----------------------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------------------
def clo_translated(language: str) -> Path:
    """The CLO recipe's fixture records of ``language`` (the fixture English pairs, toy word-for-word "translation")."""
    return FIXTURES_DIR / f"clo_translated_{language}.jsonl"


def read_tsv(path: Path) -> list[dict]:
    """Rows of a tab-separated fixture file as dicts (header = keys)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def lines(name: str) -> list[str]:
    """Non-empty lines of ``data/fixtures/<name>`` (:func:`paper_utils.io.read_lines`)."""
    return read_lines(FIXTURES_DIR / name)


def parallel_pairs(lang: str) -> list[tuple[str, str]]:
    """Held-out ``(target, English)`` pairs of ``lang``; a language without pairs is a ConfigError."""
    rows = [(r["target"], r["en"]) for r in read_tsv(PARALLEL) if r["lang"] == lang]
    if not rows:
        raise ConfigError("language", lang, f"{PARALLEL} has no pairs for it; the smoke preset uses uz and ms")
    return rows


def parallel_rows(lang: str, split: str) -> list[dict]:
    """``{"id", "en", "target"}`` rows of ``lang``: ``test`` (``parallel.tsv``, ids ``fixture-<i>``) or ``dev``
    (``parallel_dev.tsv``, ids ``fixture-dev-<i>``); ``i`` counts every row of the file."""
    if split not in ("test", "dev"):
        raise ConfigError("split", split, "use 'test' or 'dev' (the fixtures have no parallel training split)")
    path, prefix = (PARALLEL, "fixture") if split == "test" else (PARALLEL_DEV, "fixture-dev")
    return [{"id": f"{prefix}-{i}", "en": r["en"], "target": r["target"]}
            for i, r in enumerate(read_tsv(path)) if r["lang"] == lang]


def training_lines(lang: str) -> list[str]:
    """``data/fixtures/<lang>_train.txt`` (non-empty lines)."""
    return lines(f"{lang}_train.txt")


def english_lines() -> list[str]:
    """``data/fixtures/english.txt`` (non-empty lines)."""
    return read_lines(ENGLISH)


def classification_items(split: str) -> list[dict]:
    """``{"id", "text", "label"}`` items of ``classification.tsv``'s ``split`` (ids ``fixture-<i>``)."""
    return [{"id": f"fixture-{i}", "text": r["text"], "label": r["label"]}
            for i, r in enumerate(read_tsv(CLASSIFICATION)) if r["split"] == split]


def mmlu_rows(path: Path = MMLU) -> list[dict]:
    """The MMLU-format questions of ``mmlu.jsonl`` (``id``, ``question``, ``choices``, ``answer``, ``subject``)."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if line.strip():
                try:
                    r = json.loads(line)
                    rows.append({"id": r.get("id", f"fixture-{line_no}"), "question": r["question"],
                                 "choices": list(r["choices"]), "answer": int(r["answer"]), "subject": r["subject"]})
                except (ValueError, KeyError, TypeError) as exc:
                    raise DataError(f"{path}, line {line_no}: not an MMLU question ({exc!r}); each line needs "
                                    "question, choices, answer and subject") from exc
    return rows


def evaluation_texts() -> list[str]:
    """Every fixture text evaluation reads (parallel, dev, classification, MMLU prompts): the tokenizer of
    :func:`evaluation_model` is trained on them."""
    texts = []
    for path in (PARALLEL, PARALLEL_DEV, CLASSIFICATION):
        for row in read_tsv(path):
            texts.extend(v for k, v in row.items() if k in ("en", "target", "text"))
    texts.extend(build_prompt(r, []) for r in mmlu_rows())
    return texts


# ----------------------------------------------------------------------------------------------------------
# Tiny tokenizers and models
# ----------------------------------------------------------------------------------------------------------
def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ConfigError("kind", kind, f"use one of: {', '.join(KINDS)}")


def tiny_tokenizer(texts: Sequence[str], kind: str = "llama", vocab_size: int = 400, *, pad_token: bool = False):
    """A BPE trained on ``texts`` (deterministic, < 1 s), wrapped as a ``PreTrainedTokenizerFast``.

    ``kind="llama"``: byte-level BPE (GPT-2 style), ``<|endoftext|>`` as BOS/EOS (and pad with
    ``pad_token=True``); ``kind="gemma"``: ``▁``-SentencePiece-style BPE with byte fallback and
    ``<pad>``/``<eos>``/``<bos>``/``<unk>`` (``vocab_size`` merges on top of the 260 specials and bytes).
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    _check_kind(kind)
    if kind == "gemma":
        tok = Tokenizer(models.BPE(byte_fallback=True))
        tok.normalizer = normalizers.Replace(" ", "▁")
        tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
        specials = ["<pad>", "<eos>", "<bos>", "<unk>"] + [f"<0x{b:02X}>" for b in range(256)]
        trainer = trainers.BpeTrainer(vocab_size=vocab_size + 260, special_tokens=specials, show_progress=False)
        tok.train_from_iterator(list(texts), trainer)
        return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>",
                                       pad_token="<pad>", unk_token="<unk>")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"], show_progress=False)
    tok.train_from_iterator(list(texts), trainer)
    specials = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}
    if pad_token:
        specials["pad_token"] = "<|endoftext|>"
    return PreTrainedTokenizerFast(tokenizer_object=tok, **specials)


def tiny_model(kind: str, vocab_size: int, tied: bool = True, hidden: int = 64, seed: int = 0, *,
               tokenizer: Any = None, initializer_range: float | None = None, max_positions: int | None = None,
               restore_rng: bool = False):
    """A random 2-layer ``LlamaForCausalLM`` or ``Gemma3ForCausalLM`` (``kind``), in eval mode.

    The weights are drawn after ``torch.manual_seed(seed)``; ``restore_rng=True`` puts the global torch
    generator back afterwards (else it is left seeded). ``tokenizer`` gives the config its BOS/EOS/pad ids
    (else the transformers defaults; Gemma: pad 0, EOS 1, BOS 2); ``initializer_range`` and
    ``max_positions`` override the transformers defaults (0.02 and 2,048 for Llama).
    """
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM

    _check_kind(kind)
    options: dict[str, Any] = {}
    if tokenizer is not None:
        options.update(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id)
    if initializer_range is not None:
        options["initializer_range"] = initializer_range
    if max_positions is not None:
        options["max_position_embeddings"] = max_positions
    generator_state = torch.random.get_rng_state() if restore_rng else None
    torch.manual_seed(seed)
    if kind == "gemma":
        options = {"pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 1, **options}
        cfg = Gemma3TextConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
                               num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                               tie_word_embeddings=tied, sliding_window=16,
                               layer_types=["sliding_attention", "full_attention"], **options)
        model = Gemma3ForCausalLM(cfg)
    else:
        cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
                          num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                          tie_word_embeddings=tied, **options)
        model = LlamaForCausalLM(cfg)
    if generator_state is not None:
        torch.random.set_rng_state(generator_state)
    return model.eval()


def tiny_encoder(tokenizer: Any, hidden: int = 32, layers: int = 2, seed: int = 0):
    """A random ``layers``-layer ``XLMRobertaModel`` over ``tokenizer``'s ids (the smoke preset's fusion encoder),
    in eval mode; the global torch generator is put back afterwards."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    config = XLMRobertaConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                              num_attention_heads=2, intermediate_size=2 * hidden, pad_token_id=pad,
                              max_position_embeddings=pad + 1 + 256, hidden_dropout_prob=0.0,
                              attention_probs_dropout_prob=0.0)
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    try:
        return XLMRobertaModel(config, add_pooling_layer=False).eval()
    finally:
        torch.set_rng_state(state)


def evaluation_tokenizer(texts: Sequence[str] | None = None):
    """The evaluation model's tokenizer: a 600-entry byte-level BPE (with pad) trained on
    :data:`EVALUATION_TEMPLATES` (x 50) and ``texts`` (default: :func:`evaluation_texts`)."""
    texts = evaluation_texts() if texts is None else texts
    return tiny_tokenizer(list(EVALUATION_TEMPLATES) * 50 + list(texts), "llama", vocab_size=600, pad_token=True)


def evaluation_model(texts: Sequence[str] | None = None, seed: int = 0, tokenizer: Any = None):
    """``(model, tokenizer)``: the smoke preset's evaluated base model (see the module doc), seeded by ``seed``,
    over ``tokenizer`` or :func:`evaluation_tokenizer` of ``texts``."""
    tokenizer = tokenizer or evaluation_tokenizer(texts)
    model = tiny_model("llama", len(tokenizer), tied=True, hidden=64, seed=seed, tokenizer=tokenizer,
                       initializer_range=0.2, max_positions=4096, restore_rng=True)
    return model, tokenizer


__all__ = ["clo_translated", "FIXTURES_DIR", "PARALLEL", "PARALLEL_DEV", "CLASSIFICATION", "MMLU", "ENGLISH", "OPENAI_EVALS", "KINDS",
           "EVALUATION_TEMPLATES", "read_tsv", "lines", "parallel_pairs", "parallel_rows", "training_lines",
           "english_lines", "classification_items", "mmlu_rows", "evaluation_texts", "tiny_tokenizer", "tiny_model",
           "tiny_encoder",
           "evaluation_tokenizer", "evaluation_model"]
