""":func:`extend_tokenizer`: add target-language tokens to a base tokenizer, English ids unchanged, and report.

Example::

    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> from paper_utils.vocab import extend_tokenizer
    >>> english = ["The quick brown fox jumps over the lazy dog.", "Please enter a valid email address."] * 20
    >>> uz_train = ["Bu kitob juda foydali.", "Kitoblar va maktablar.", "Maktab kitoblari."] * 20
    >>> base = evaluation_tokenizer(english)                    # a byte-level BPE trained in a second
    >>> ext, report = extend_tokenizer(base, uz_train, budget=12, english_texts=english,
    ...                                heldout_texts=uz_train[:3])
    >>> report["added"], report["english_identical_share"], report["fertility_reduction"] > 0
    (12, 1.0, True)

Method (``method="continue_bpe"``, the default; see DESIGN.md "Measured design notes"):

1. Each target word (after the base normalizer and pre-tokenizer, so the byte-to-unicode mapping
   and the leading-space marker ``Ġ`` / ``▁`` are the base tokenizer's own) is segmented into
   base tokens. Each distinct base token becomes one private-use character and BPE is continued
   over these sequences, weighted by word frequency (``tokenizers.trainers.BpeTrainer``). The
   merge order is the ranking: each merge is the pair that saves the most pieces on the
   training text at that point (frequency x 1 saved piece, recomputed after every merge)
   (:mod:`paper_utils.vocab.candidates`).
2. Every learned merge is mapped back to base-vocabulary strings ``(left, right)`` and appended
   *after* the base merges, so base merges keep priority. Merges whose result already is a base
   token cost no budget; the budget counts new vocabulary entries only. New ids start after the
   highest id in use (model vocabulary and added/special tokens) (:mod:`paper_utils.vocab.build`).
3. English invariance: the unique English pre-tokenized units are encoded with the base and the
   extended model; in every unit whose ids changed, the new merges that fired are found by
   replaying BPE and dropped. Dropping a merge removes the merges built on its token, and the
   freed budget is refilled from the next candidates, so the check repeats until English is
   unchanged (a fixpoint; :mod:`paper_utils.vocab.english`). A final check here encodes every
   English text through the full pipeline.

Supported base tokenizers (HF fast tokenizers, ``tokenizer.backend_tokenizer``):

* byte-level BPE: GPT-2, Llama-3, SmolLM2 (``ByteLevel`` pre-tokenizer);
* SentencePiece-style BPE with ``▁`` (Metaspace or a ``Replace(" ", "▁")`` normalizer), with or
  without byte fallback: Llama-2, Mistral v1, Gemma. Characters that the base vocabulary only
  covers by byte fallback are added as pieces when a merge needs them (they count as new tokens);
* SentencePiece Unigram: new pieces get the score of their best base segmentation plus
  ``unigram_margin``, so Viterbi prefers them over that segmentation.

Uzbek Latin writes two letters and the tutuq sign with an apostrophe (``o'zbek``, ``g'isht``,
``ma'lumot``); byte-level pre-tokenizers cut there, which caps what any merge can save.
``apostrophe_words=True`` extends the pre-tokenizer regex so such words stay one unit (see
:mod:`paper_utils.vocab.apostrophes`); it is proven not to change English before it is used.

``method="whole_words"`` (byte-level BPE) adds the most frequent target words whole, with no merges, and
switches on ``ignore_merges``: an English unit can only change if it *is* one of the added words, and none is a
unit of the English protection (:mod:`paper_utils.vocab.whole_words`; a structural guarantee, at a smaller cut).

``method="added_tokens"`` is the explicitly named fallback: the same candidate strings go in as
*added tokens*. They bypass pre-tokenization and break decoding of byte-level text (Llama-3's
``"B\\ufffdc"`` problem), so they are for comparison only (:mod:`paper_utils.vocab.added_tokens`).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import re
from dataclasses import dataclass
import time
import warnings
from typing import Mapping, Sequence

from tokenizers import Tokenizer

from ..errors import ConfigError, DataError
from ..fertility import fertility
from ..surfaces import tokenizer_family
from ..tokenization import HFTextTokenizer
from .apostrophes import join_apostrophe_words, spelling_variants
from .build import select
from .candidates import backend_of, check_weights, learn_candidates, units, vocab_of
from .english import drop_merges_firing_on_english, english_pairs
from .english_check import check_english_texts, enforce_floor, heldout_identity
from .whole_words import add_whole_words, check_supported, learn_whole_words

METHODS = ("continue_bpe", "whole_words", "added_tokens")


def _roundtrip_failures(tok: Tokenizer, texts: Sequence[str]) -> list[str]:
    encs = tok.encode_batch(list(texts), add_special_tokens=False)
    decoded = tok.decode_batch([e.ids for e in encs], skip_special_tokens=False)
    return [t for t, d in zip(texts, decoded) if d != t]


@dataclass
class PreparedEnglish:
    """English texts with their base encodings, side-by-side pairs and characters, computed once.

    Pass it as ``english_texts`` to several :func:`extend_tokenizer` calls on the same base tokenizer (a budget
    curve) so a protection set of millions of texts is tokenized once.
    """

    texts: list[str]
    encodings: list
    pairs: set
    chars: set
    base_id: int

    def identical_share(self, tokenizer) -> float:
        """Share of the texts that ``tokenizer`` (e.g. the saved, reloaded extension) gives the base ids."""
        ids = backend_of(tokenizer).encode_batch(self.texts, add_special_tokens=False)
        return sum(a.ids == b.ids for a, b in zip(self.encodings, ids)) / len(self.texts)


def prepare_english(base_tokenizer, english_texts: Sequence[str]) -> PreparedEnglish:
    """Check ``english_texts`` (non-empty, English-looking) and tokenize them once with ``base_tokenizer``."""
    texts = [t for t in english_texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise DataError("english_texts is empty or whitespace-only: need at least one non-blank text")
    check_english_texts(texts)
    encodings = backend_of(base_tokenizer).encode_batch(texts, add_special_tokens=False)
    return PreparedEnglish(texts, encodings, english_pairs(base_tokenizer, texts, encodings),
                           set().union(*map(set, texts)), id(backend_of(base_tokenizer)))


def _check_inputs(target_texts, budget, english_texts, method):
    if method not in METHODS:
        raise ConfigError("method", method, f"use one of: {', '.join(METHODS)}")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise ConfigError("budget", budget, "use a positive number of new tokens, e.g. 8000")
    for name, texts in (("target_texts", target_texts),) + ((("english_texts", english_texts),)
                                                            if not isinstance(english_texts, PreparedEnglish) else ()):
        if isinstance(texts, str):
            raise ConfigError(name, texts[:40], "pass a list of texts, not one string")
        if not any(isinstance(t, str) and t.strip() for t in texts):
            raise DataError(f"{name} is empty or whitespace-only: need at least one non-blank text")
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise DataError(f"{name}[{bad}] is {type(texts[bad]).__name__}, not str")


def _check_heldout(english_heldout, english_floor):
    if isinstance(english_floor, bool) or not isinstance(english_floor, (int, float)) or not 0 <= english_floor <= 1:
        raise ConfigError("english_floor", english_floor, "use a share between 0 and 1, e.g. 0.999 (0 = no floor)")
    if english_floor and not english_heldout:
        raise ConfigError("english_heldout", english_heldout, "a floor needs held-out English: pass "
                          "{source: texts} from sources the protection was not fitted on, or english_floor=0")


def extend_tokenizer(base_tokenizer, target_texts: Sequence[str], budget: int,
                     english_texts: Sequence[str], heldout_texts: Sequence[str] | None = None,
                     method: str = "continue_bpe", min_frequency: int = 2,
                     unigram_margin: float = 1.0, prefix_space: bool | str = True, max_rounds: int = 50,
                     target_weights: Sequence[int] | None = None, apostrophe_words: bool = False,
                     apostrophe_marks: Sequence[str] = (), letter_tokens_only: bool = False,
                     english_heldout: Mapping[str, Sequence[str]] | None = None, english_floor: float = 0.0,
                     min_start_letters: int = 0, guard_every_spelling: bool = False, word_tokens_only: bool = False):
    """Extend ``base_tokenizer`` by ``budget`` target tokens; English ids stay identical.

    Example::

        >>> from paper_utils.fixtures import evaluation_tokenizer
        >>> base = evaluation_tokenizer()
        >>> ext, report = extend_tokenizer(base, ["kitob kitoblar kitobxon"] * 10, 4,
        ...                                english_texts=["The books are on the table."])
        >>> report["added"], report["english_identical_share"], len(ext) - len(base)
        (4, 1.0, 4)

    Returns ``(extended_tokenizer, report)``: a deep copy of ``base_tokenizer`` (same class, same
    special tokens) whose backend carries the new entries, and a JSON-serialisable dict with
    ``added``, ``dropped_for_english`` (merges/pieces found firing on English),
    ``dropped_dependent`` (merges lost because they were built on those), ``refused_for_english`` (merges
    of two base tokens adjacent in English that learning went around, :mod:`paper_utils.vocab.guarded_bpe`),
    ``protected_pairs`` (how many such pairs the English holds), ``budget``,
    ``candidates``, ``fertility_before``/``fertility_after`` (tokens per word,
    :func:`paper_utils.fertility.fertility`, on ``heldout_texts``, else on ``target_texts``),
    ``fertility_reduction`` (the share of those tokens saved, ``1 - tokens after / tokens before``;
    independent of the word rule), ``english_identical_share``,
    ``roundtrip_failures`` (target texts where ``decode(encode(x)) != x``; those that already
    failed with the base tokenizer are listed under ``roundtrip_failures_base``), ``seconds`` and
    ``apostrophe_words``.

    ``apostrophe_words=True`` (byte-level BPE; for orthographies that write letters with an
    apostrophe, Uzbek ``o'`` ``g'``) first swaps in :func:`join_apostrophe_words`' pre-tokenizer, so
    learned merges can join across the apostrophe. It is kept only if it leaves every English text's
    ids unchanged by itself; otherwise the report says ``"off: ..."`` and a warning names the count.
    ``guard_every_spelling=True`` (with ``apostrophe_marks``): the English texts that hold an apostrophe after a
    letter are also written with every other mark, and the pairs those spellings hold are refused too, so a
    target word gets the same merges whichever mark it is written with (English writes ``don't``/``don’t``,
    never ``don‘t``, so without it ‘ and ʻ keep merges that ' and ’ are refused).
    ``word_tokens_only=True``: every new token is a piece of one word (letters and apostrophe marks after at most
    a leading space; :func:`paper_utils.vocab.candidates.is_word_token`).

    Errors: ``ConfigError`` for a budget <= 0 or above the candidates the target text yields,
    an unknown method or an unsupported tokenizer (the message lists the supported kinds);
    ``DataError`` for an empty or whitespace-only corpus.
    """
    t0 = time.perf_counter()
    _check_inputs(target_texts, budget, english_texts, method)
    _check_heldout(english_heldout, english_floor)
    family = tokenizer_family(base_tokenizer)
    base = backend_of(base_tokenizer)
    spec = json.loads(base.to_str())
    vocab = vocab_of(spec)
    target_weights = check_weights(target_texts, target_weights)
    if target_weights is not None:
        target_weights = [w for t, w in zip(target_texts, target_weights) if t.strip()]
    target_texts = [t for t in target_texts if t.strip()]
    original_tokenizer, original = base_tokenizer, backend_of(base_tokenizer)
    if not isinstance(english_texts, PreparedEnglish):
        english_texts = prepare_english(base_tokenizer, english_texts)
    elif english_texts.base_id != id(original):
        raise ConfigError("english_texts", "PreparedEnglish of another tokenizer",
                          "prepare it with prepare_english(base_tokenizer, texts) for this base tokenizer")
    prepared, english_texts = english_texts, english_texts.texts
    english_before = prepared.encodings                 # the base ids of every English text, computed once
    apostrophes = "off"
    if apostrophe_words and family != "byte_level_bpe":
        apostrophes = f"off: a {family} pre-tokenizer does not cut words at apostrophes"
    elif apostrophe_words:
        joined = join_apostrophe_words(base_tokenizer)
        n_changed = sum(a.ids != b.ids for a, b in zip(english_before, backend_of(joined).encode_batch(
            english_texts, add_special_tokens=False)))
        if n_changed:
            apostrophes = f"off: the joined pre-tokenizer alone changes {n_changed} English texts"
            warnings.warn(f"apostrophe_words=True ignored: {apostrophes}", stacklevel=2)
        else:
            base_tokenizer, apostrophes = joined, "on"
            base = backend_of(base_tokenizer)          # learn, build and check English in joined units
            spec = json.loads(base.to_str())
    learn_texts, learn_weights = spelling_variants(target_texts, target_weights, apostrophe_marks)
    if guard_every_spelling and apostrophe_marks:
        prepared = _guard_every_spelling(base_tokenizer, prepared, apostrophe_marks)
    if method == "whole_words":
        extended, kept, dropped, rounds, refused, cands, available, t_learn, t_english = _whole_words(
            base_tokenizer, learn_texts, learn_weights, budget, min_frequency, english_texts, t0)
        guard: dict = {}
    else:
        extended, kept, dropped, rounds, refused, cands, available, guard, t_learn, t_english = _continue(
            base_tokenizer, family, spec, vocab, learn_texts, learn_weights, budget, min_frequency, prefix_space,
            letter_tokens_only, prepared, min_start_letters, method, unigram_margin, max_rounds, english_before, t0,
            word_tokens_only)
    ext_backend = backend_of(extended)
    same = [a.ids == b.ids for a, b in zip(english_before, ext_backend.encode_batch(english_texts,
                                                                                  add_special_tokens=False))]
    if not all(same):
        warnings.warn(f"{len(same) - sum(same)} English texts tokenize differently after extension "
                      f"(rounds={rounds}, max_rounds={max_rounds}); see report['english_identical_share']",
                      stacklevel=2)
    heldout_report = heldout_identity(original, ext_backend, english_heldout) if english_heldout else None
    if heldout_report is not None:
        enforce_floor(heldout_report, english_floor)
    scanned = range(max(kept) + 1) if kept else range(0)
    kept_set = set(kept)
    n_added = ext_backend.get_vocab_size(True) - base.get_vocab_size(True)
    held = [t for t in (heldout_texts or target_texts) if t.strip()]
    before = fertility(HFTextTokenizer("base", original_tokenizer), held, per_word=False)
    after = fertility(HFTextTokenizer("extended", extended), held, per_word=False)
    unique_targets = list(dict.fromkeys(target_texts))
    rt_base = set(_roundtrip_failures(original, unique_targets))
    rt = _roundtrip_failures(ext_backend, unique_targets)
    report = {
        "method": method, "family": family, "budget": budget, "added": n_added,
        "candidates": available,
        "merges_added": sum(1 for i in kept if cands[i].left is not None) if method != "added_tokens" else 0,
        "dropped_for_english": len(dropped), "refused_for_english": len(refused),
        "protected_pairs": len(guard.get("protected_pairs", ())),
        "dropped_dependent": sum(1 for i in scanned if i not in dropped and i not in kept_set),
        "english_rounds": rounds, "english_texts": len(english_texts),
        "english_identical_share": sum(same) / len(same),
        "fertility_on": "heldout_texts" if heldout_texts else "target_texts",
        "fertility_before": before["fertility"], "fertility_after": after["fertility"],
        "fertility_reduction": 1 - after["tokens"] / before["tokens"],
        "roundtrip_failures": [t for t in rt if t not in rt_base],
        "roundtrip_failures_base": sorted(rt_base),
        "apostrophe_words": apostrophes, "apostrophe_marks": "".join(dict.fromkeys(apostrophe_marks)),
        "letter_tokens_only": letter_tokens_only, "min_start_letters": min_start_letters,
        **_guard_options(method, family, guard_every_spelling, apostrophe_marks, word_tokens_only),
        **({"english_heldout": heldout_report, "english_floor": english_floor} if heldout_report else {}),
        "seconds": {"learn": round(t_learn, 3), "english": round(t_english, 3),
                    "total": round(time.perf_counter() - t0, 3)},
    }
    return extended, report


def _guard_options(method, family, guard_every_spelling, apostrophe_marks, word_tokens_only) -> dict:
    """The guard options as they took effect: both act on guarded continued BPE only."""
    guarded = method == "continue_bpe" and family != "unigram"
    return {"guard_every_spelling": bool(guarded and guard_every_spelling and len(set(apostrophe_marks)) > 1),
            "word_tokens_only": bool(guarded and word_tokens_only)}


def _guard_every_spelling(tokenizer, prepared: PreparedEnglish, marks: Sequence[str]) -> PreparedEnglish:
    """``prepared`` whose protected pairs also hold those of its apostrophe texts written with every other mark.

    English writes ``don't`` / ``don’t``, never ``don‘t``: without this the pairs English blocks for ' and ’
    stay free for ‘ and ʻ, and the same Uzbek word gets a different cut in each spelling. The variants only add
    pairs to refuse (the texts checked for identical ids stay the English as written)."""
    variants = spelling_variants(prepared.texts, None, marks)[0][len(prepared.texts):]
    if not variants:
        return prepared
    extra = english_pairs(tokenizer, variants, backend_of(tokenizer).encode_batch(variants, add_special_tokens=False))
    inside = [_byte_level(m) for m in marks]          # bytes of one mark: refusing them would keep it from a token
    extra = {(a, b) for a, b in extra
             if not any(a + b in m for m in inside) and not (_BYTE_PIECE.fullmatch(a) and _BYTE_PIECE.fullmatch(b))}
    return dataclasses.replace(prepared, pairs=prepared.pairs | extra)


_BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")          # a SentencePiece byte-fallback piece


def _byte_level(text: str) -> str:
    """``text`` as byte-level BPE writes it (``'ʼ'`` -> ``'Ê¼'``)."""
    from ..surfaces import _BYTE_DECODER

    encoder = {b: c for c, b in _BYTE_DECODER.items()}
    return "".join(encoder[b] for b in text.encode("utf-8"))


def _continue(base_tokenizer, family, spec, vocab, learn_texts, learn_weights, budget, min_frequency, prefix_space,
              letter_tokens_only, prepared, min_start_letters, method, unigram_margin, max_rounds, english_before, t0,
              word_tokens_only=False):
    """Continued BPE (or the added-tokens fallback): learn, then drop what still fires on English."""
    guard: dict = {}
    refused: set = set()
    if method == "continue_bpe" and family != "unigram":     # learn around the pairs English holds
        guard = {"protected_pairs": prepared.pairs, "protected_chars": prepared.chars, "refused_out": refused,
                 "min_start_letters": min_start_letters}
    cands = learn_candidates(base_tokenizer, learn_texts, budget, min_frequency, prefix_space=prefix_space,
                             target_weights=learn_weights, letter_tokens_only=letter_tokens_only,
                             word_tokens_only=word_tokens_only, **guard)
    available = len(select(cands, set(), vocab, len(cands)))
    n_new_avail = sum(1 for i in select(cands, set(), vocab, len(cands)) if cands[i].token not in vocab)
    if budget > n_new_avail:
        raise ConfigError("budget", budget, f"the target text yields only {n_new_avail} new tokens; "
                          f"use budget <= {n_new_avail} or more target text")
    t_learn = time.perf_counter() - t0

    fix = drop_merges_firing_on_english(base_tokenizer, family, spec, cands, vocab, budget, prepared.texts,
                                        method, unigram_margin, max_rounds, english_encodings=english_before,
                                        pairs=prepared.pairs, chars=prepared.chars)
    kept, dropped, rounds = fix.kept, fix.dropped, fix.rounds
    t_english = time.perf_counter() - t0 - t_learn

    if method == "added_tokens":
        extended = fix.extended
    else:
        extended = copy.deepcopy(base_tokenizer)
        extended._tokenizer = Tokenizer.from_str(json.dumps(fix.extended))
    return extended, kept, dropped, rounds, refused, cands, available, guard, t_learn, t_english


def _whole_words(base_tokenizer, learn_texts, learn_weights, budget, min_frequency, english_texts, t0):
    """Whole target words as new entries, no merges; every unit of the English protection excluded."""
    check_supported(base_tokenizer)
    protected = set(units(backend_of(base_tokenizer), english_texts))
    everything = learn_whole_words(base_tokenizer, learn_texts, learn_weights, 10 ** 9, set(), min_frequency)
    outside = [u for u in everything if u not in protected]
    if budget > len(outside):
        raise ConfigError("budget", budget, f"the target text yields only {len(outside)} whole words outside the "
                          f"English protection; use budget <= {len(outside)} or more target text")
    t_learn = time.perf_counter() - t0
    extended = add_whole_words(base_tokenizer, outside[:budget])
    refused = {u for u in everything if u in protected}      # candidates that are units of the protection
    return extended, [], set(), 0, refused, outside, len(outside), t_learn, 0.0
