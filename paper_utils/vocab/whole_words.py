"""The whole-word mode ``method="whole_words"``: frequent target words join the vocabulary whole, with no merges.

Example::

    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> base = evaluation_tokenizer()
    >>> units = learn_whole_words(base, ["kitoblar va kitob", "kitoblar"] * 5, None, budget=2,
    ...                           protected_units={"Ġva"})
    >>> units
    ['kitoblar', 'Ġkitob']
    >>> ext = add_whole_words(base, units)
    >>> ext.tokenize(" kitob kitobxon") == ["Ġkitob"] + base.tokenize(" kitobxon")   # a whole unit, or base BPE
    True

How it keeps English: the tokenizer's BPE model gets ``ignore_merges = True`` (the HF ``tokenizers`` option
Llama-3 uses): a pre-tokenized unit that is itself a vocabulary entry becomes that one token, any other unit
goes through the base merges exactly as before (no merge is added). So an English unit changes only if it is
**exactly** one of the added words, and the added words exclude every unit of the English protection
(``protected_units``; stage 02 protects every wordfreq English word). The switch itself changes nothing in the
base tokenizer only if every base vocabulary string already encodes to itself: :func:`self_encoding_failures`
checks that (SmolLM2 and GPT-2: only special tokens fail, and those are matched before the model; Gemma-3's
SentencePiece BPE reads a whole text as one unit and has 6,582 entries that do not encode to themselves, so
the mode refuses it).

Candidates are the units of the (weighted) target training text that the base splits into 2 or more tokens,
seen at least ``min_frequency`` times, holding a letter, not in the vocabulary or the protection, ranked by
tokens saved on the training text (weight x (base tokens - 1)); the top ``budget`` are added. The cut is
smaller than continued BPE's (uz SmolLM2: 23 % vs 35 % on the Django test split) because an unseen inflected
form gets nothing; that is the price of the guarantee (README "English stays English").
"""
from __future__ import annotations

import copy
import json
from typing import Sequence

from tokenizers import Tokenizer

from ..errors import ConfigError
from ..surfaces import tokenizer_family
from .candidates import backend_of, has_letter, units, vocab_of

SPECIAL_MARK = "<"          # special tokens (<|im_start|>, <repo_name>) are matched before the model


def self_encoding_failures(tokenizer) -> list[str]:
    """Vocabulary strings (not special tokens) that the BPE model does not encode to their own single token."""
    backend = backend_of(tokenizer)
    model = backend.model
    special = {t.content for t in backend.get_added_tokens_decoder().values()}
    return [s for s, i in backend.get_vocab(with_added_tokens=False).items()
            if s not in special and [t.id for t in model.tokenize(s)] != [i]]


def check_supported(tokenizer) -> None:
    """ConfigError unless ``tokenizer`` is a byte-level BPE on which ``ignore_merges`` changes nothing."""
    family = tokenizer_family(tokenizer)
    if family != "byte_level_bpe":
        raise ConfigError("method", "whole_words", f"needs a byte-level BPE tokenizer (GPT-2, SmolLM2, Llama-3), not "
                          f"{family}: a SentencePiece BPE reads a whole text as one unit; use method='continue_bpe'")
    failures = self_encoding_failures(tokenizer)
    if failures:
        raise ConfigError("method", "whole_words", f"{len(failures)} base vocabulary strings do not encode to "
                          f"themselves (e.g. {failures[:3]}), so ignore_merges would change base ids; use "
                          "method='continue_bpe'")


def learn_whole_words(tokenizer, texts: Sequence[str], weights: Sequence[int] | None, budget: int,
                      protected_units: set[str], min_frequency: int = 2) -> list[str]:
    """The ``budget`` units that save the most base tokens on the weighted ``texts`` (see the module docstring)."""
    counts = units(backend_of(tokenizer), texts, weights)
    vocab = vocab_of(json.loads(backend_of(tokenizer).to_str()))
    model = backend_of(tokenizer).model
    scored = []
    for unit, n in counts.items():
        if n < min_frequency or unit in vocab or unit in protected_units or not has_letter(unit, "byte_level"):
            continue
        pieces = len(model.tokenize(unit))
        if pieces >= 2:
            scored.append((-n * (pieces - 1), unit))
    return [u for _, u in sorted(scored)[:budget]]


def add_whole_words(tokenizer, words: Sequence[str]):
    """A copy of ``tokenizer`` with ``words`` (units) as new vocabulary entries and ``ignore_merges`` switched on."""
    spec = json.loads(backend_of(tokenizer).to_str())
    spec["model"]["ignore_merges"] = True
    used = list(spec["model"]["vocab"].values()) + [t["id"] for t in spec.get("added_tokens") or []]
    next_id = max(used) + 1
    for k, unit in enumerate(words):
        spec["model"]["vocab"][unit] = next_id + k
    extended = copy.deepcopy(tokenizer)
    backend = Tokenizer.from_str(json.dumps(spec))
    if isinstance(extended, Tokenizer):
        return backend
    extended._tokenizer = backend
    return extended
