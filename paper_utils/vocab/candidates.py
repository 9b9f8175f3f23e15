"""Continue BPE from a base tokenizer's segmentation of target text: ranked extension candidates.

Example::

    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> from paper_utils.vocab.candidates import learn_candidates, units
    >>> base = evaluation_tokenizer()
    >>> units(base.backend_tokenizer, ["kitob kitoblar"])          # what the model sees
    Counter({'kitob': 1, 'Ġkitoblar': 1})
    >>> cands = learn_candidates(base, ["kitob kitoblar kitobxon"] * 10, max_new=3)
    >>> [(c.left, c.right) for c in cands][:1]
    [('Ġk', 'it')]

Each target word (after the base normalizer and pre-tokenizer, so the byte-to-unicode mapping and the
leading-space marker ``Ġ`` / ``▁`` are the base tokenizer's own) is segmented into base tokens. Each
distinct base token becomes one private-use character and BPE is continued over these sequences,
weighted by word frequency (``tokenizers.trainers.BpeTrainer``). The merge order is the ranking: each
merge is the pair that saves the most pieces on the training text at that point (frequency x 1 saved
piece, recomputed after every merge). Every learned merge is mapped back to base-vocabulary strings
``(left, right)``; characters the base vocabulary only covers by byte fallback become bare pieces.

This module also owns the small readers of a base tokenizer the rest of :mod:`paper_utils.vocab`
shares: :func:`backend_of`, :func:`units`, :func:`segment`, :func:`vocab_of`, :func:`pair`.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from ..errors import ConfigError, DataError
from ..surfaces import _BYTE_DECODER, surface_forms, tokenizer_family, vocabulary_kind
from .guarded_bpe import guarded_merges

_PUA = 0xF0000  # supplementary private-use planes 15-16: 131,068 code points
SP_WORD = re.compile(r"▁+[^▁]*|[^▁]+")


@dataclass
class Candidate:
    """One learned extension step, in merge (= rank) order.

    ``left``/``right`` are base-vocabulary strings (``None`` for a bare piece such as a character
    the base vocabulary lacks). ``token`` is ``left + right``.
    """

    token: str
    left: str | None = None
    right: str | None = None


def backend_of(tokenizer) -> Tokenizer:
    return tokenizer if isinstance(tokenizer, Tokenizer) else tokenizer.backend_tokenizer


def units(backend: Tokenizer, texts: Iterable[str], weights: Iterable[int] | None = None) -> Counter:
    """What the model sees: normalized, pre-tokenized strings, with their (weighted) counts."""
    norm, pre = backend.normalizer, backend.pre_tokenizer
    units: Counter = Counter()
    for text, weight in zip(texts, weights if weights is not None else iter(lambda: 1, None)):
        s = norm.normalize_str(text) if norm is not None else text
        for p in ([p for p, _ in pre.pre_tokenize_str(s)] if pre is not None else [s]):
            units[p] += weight
    return units


def check_weights(texts: Sequence[str], weights: Sequence[int] | None) -> list[int] | None:
    if weights is None:
        return None
    weights = list(weights)
    if len(weights) != len(texts):
        raise ConfigError("target_weights", f"{len(weights)} weights", f"give one weight per target text ({len(texts)})")
    if any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in weights):
        raise ConfigError("target_weights", "non-positive or non-integer weight", "use integers >= 1 (repeat counts)")
    return weights


def _space_prefix(backend: Tokenizer) -> str:
    """" " when a leading space turns a text-initial word into its in-sentence form ('a' -> 'Ġa').

    Word lists and dictionary headwords are text-initial, but in running text nearly every word
    follows a space; tokenizers that already prepend a marker (Llama-2's '▁') need nothing.
    """
    plain, spaced = list(units(backend, ["a"])), list(units(backend, [" a"]))
    return " " if plain == ["a"] and len(spaced) == 1 and len(spaced[0]) == 2 else ""


def _words(units: Counter, family: str) -> Counter:
    """Training words: units, further cut at '▁' for SentencePiece (merges never cross words)."""
    if family == "byte_level_bpe":
        return units
    words: Counter = Counter()
    for unit, n in units.items():
        for w in SP_WORD.findall(unit):
            words[w] += n
    return words


def segment(model, word: str) -> list[str]:
    """Base segmentation; byte-fallback pieces are folded back into the characters they encode."""
    out: list[str] = []
    buf = bytearray()
    for tok in model.tokenize(word):
        v = tok.value
        if len(v) == 6 and v.startswith("<0x") and v.endswith(">"):
            buf.append(int(v[3:5], 16))
            continue
        if buf:
            out.extend(buf.decode("utf-8", errors="replace"))
            buf.clear()
        out.append(v)
    if buf:
        out.extend(buf.decode("utf-8", errors="replace"))
    return out


def learn_candidates(base_tokenizer, target_texts: Sequence[str], max_new: int,
                     min_frequency: int = 2, headroom: float = 0.5,
                     prefix_space: bool | str = True, target_weights: Sequence[int] | None = None,
                     letter_tokens_only: bool = False, protected_pairs: set[tuple[str, str]] | None = None,
                     protected_chars: set[str] = frozenset(), refused_out: set | None = None,
                     min_start_letters: int = 0, word_tokens_only: bool = False) -> list[Candidate]:
    """Continue BPE from the base segmentation of ``target_texts``; candidates in rank order.

    Example::

        >>> from paper_utils.fixtures import evaluation_tokenizer
        >>> base = evaluation_tokenizer()
        >>> cands = learn_candidates(base, ["kitob kitoblar kitobxon"] * 10, max_new=3)
        >>> [(c.left, c.right) for c in cands][:1]
        [('Ġk', 'it')]

    About ``max_new * (1 + headroom)`` merges are learned (fewer if the text runs out), so that
    merges landing on existing base tokens and merges dropped for English can be replaced.
    With ``prefix_space`` each text is read with a leading space, so the first word (all of a word
    list) is learned in its in-sentence form ('Ġtili', not 'tili'); ``"both"`` counts both forms.
    Candidates whose token the base vocabulary already has cost no budget; pairs that are already
    base merges are skipped. ``target_weights`` (one integer >= 1 per text) counts a text that
    many times: word-frequency lists, or in-domain text weighted above a lexicon.
    ``letter_tokens_only`` skips every candidate whose text has no letter (``Ġ"%(``, ``Ġ2024``, a byte
    fragment of a character) and with it the merges built on it (see :func:`has_letter`).
    ``protected_pairs`` (pairs of base tokens adjacent in English, :func:`paper_utils.vocab.english.english_pairs`)
    switches to :func:`paper_utils.vocab.guarded_bpe.guarded_merges`, which never learns a merge of two base
    tokens in that set (nor one adding a piece for a character in ``protected_chars``) and learns around them;
    ``refused_out`` (a set) receives the pairs it refused. ``min_start_letters`` (guarded learning only) refuses
    a merge of two base tokens whose joined text has fewer letters: a chain of new merges can only start on a
    longer, more specific piece of a word, which short English words and identifiers rarely hold.
    ``word_tokens_only`` (stricter than ``letter_tokens_only``) keeps only candidates that are a piece of one word:
    letters and apostrophe marks after at most a leading space (:func:`is_word_token`), so no new token joins a
    letter to punctuation, a digit or a second word (SentencePiece vocabularies such as Gemma's read a whole
    text as one unit, where ``(value`` or ``an-`` would otherwise be learned from placeholders in UI strings).
    """
    family = tokenizer_family(base_tokenizer)
    target_weights = check_weights(target_texts, target_weights)
    backend = backend_of(base_tokenizer)
    spec = json.loads(backend.to_str())
    vocab = vocab_of(spec)
    base_pairs = {pair(m) for m in spec["model"].get("merges", [])}
    prefix = _space_prefix(backend) if prefix_space else ""
    texts = [prefix + t for t in target_texts]
    weights = target_weights
    if prefix and prefix_space == "both":
        texts += list(target_texts)
        weights = None if weights is None else weights + weights
    words = _words(units(backend, texts, weights), family)
    seg_model = backend.model
    sym2pua: dict[str, str] = {}
    seqs: Counter = Counter()
    for word, n in words.items():
        syms = segment(seg_model, word)
        if len(syms) < 2:
            continue
        for s in syms:
            if s not in sym2pua:
                if len(sym2pua) >= 0x1FFFE:
                    raise DataError("more than 131k distinct base tokens in the target text")
                sym2pua[s] = chr(_PUA + len(sym2pua))
        seqs["".join(sym2pua[s] for s in syms)] += n
    if not seqs:
        raise DataError("target_texts give no word of two or more base tokens: nothing to merge")
    if protected_pairs is not None:
        merges = _guarded(seqs, sym2pua, max_new, headroom, min_frequency, protected_pairs, protected_chars, vocab,
                          vocabulary_kind(base_tokenizer) if letter_tokens_only else None, refused_out,
                          min_start_letters, vocabulary_kind(base_tokenizer), word_tokens_only)
    else:
        merges = _hf_trainer_merges(seqs, sym2pua, max_new, headroom, min_frequency)
    out: list[Candidate] = []
    have, seen = set(vocab), set(base_pairs)
    kind = vocabulary_kind(base_tokenizer)
    for left, right in merges:
        if (left, right) in seen:
            continue
        seen.add((left, right))
        new_texts = [left + right] + [p for p in (left, right) if p not in have]
        if letter_tokens_only and not all(has_letter(t, kind) for t in new_texts):
            continue                            # the merge's token, and any piece it adds, must hold a letter
        if word_tokens_only and not all(is_word_token(t, kind) for t in new_texts):
            continue
        for piece in (left, right):  # characters the base covers only by byte fallback
            if piece not in have:
                out.append(Candidate(piece))
                have.add(piece)
        out.append(Candidate(left + right, left, right))
        have.add(left + right)
    return out


def _hf_trainer_merges(seqs: Counter, sym2pua: dict, max_new: int, headroom: float,
                       min_frequency: int) -> list[tuple[str, str]]:
    """``tokenizers``' BpeTrainer over the private-use spelling of the base-token sequences."""
    pua2sym = {v: k for k, v in sym2pua.items()}
    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    # merges landing on existing base tokens do not count, so ask for some headroom
    trainer = trainers.BpeTrainer(vocab_size=len(sym2pua) + int(max_new * (1 + headroom)) + 100,
                                  min_frequency=min_frequency, show_progress=False,
                                  initial_alphabet=list(sym2pua.values()), special_tokens=[])
    trainer_tok.train_from_iterator((" ".join([s] * n) for s, n in seqs.items()), trainer=trainer)
    merges = json.loads(trainer_tok.to_str())["model"]["merges"]
    unmap = lambda s: "".join(pua2sym[c] for c in s)  # noqa: E731
    return [(unmap(a), unmap(b)) for a, b in (m.split(" ", 1) if isinstance(m, str) else m for m in merges)]


def _guarded(seqs: Counter, sym2pua: dict, max_new: int, headroom: float, min_frequency: int,
             protected_pairs: set, protected_chars: set, vocab: dict, letters_kind: str | None, refused_out,
             min_start_letters: int = 0, kind: str = "byte_level", word_tokens_only: bool = False):
    pua2sym = {v: k for k, v in sym2pua.items()}
    words = {tuple(pua2sym[c] for c in s): n for s, n in seqs.items()}
    letters = lambda t: letter_count(t, kind)  # noqa: E731

    def allowed(a: str, b: str) -> bool:
        if any(t not in vocab and t in protected_chars for t in (a, b)):
            return False                              # a new piece for a character English holds
        if min_start_letters and a in vocab and b in vocab and letters(a + b) < min_start_letters:
            return False                              # a chain starts only on a piece with enough letters
        new = [t for t in (a + b, a, b) if t == a + b or t not in vocab]
        if word_tokens_only and not all(is_word_token(t, kind) for t in new):
            return False                              # a new token is a piece of one word
        return letters_kind is None or all(has_letter(t, letters_kind) for t in new)

    return guarded_merges(words, int(max_new * (1 + headroom)) + 100, protected_pairs, set(vocab), min_frequency,
                          allowed, refused_out)


def letter_count(token: str, kind: str) -> int:
    """How many letters a vocabulary token's text holds (``'Ġkit'`` -> 3)."""
    return sum(ch.isalpha() for ch in surface_forms(None, [token], kind)[0])


def has_letter(token: str, kind: str) -> bool:
    """Whether a vocabulary token's text holds a letter (a byte fragment of a character does not).

    Example::

        >>> has_letter("Ġkitob", "byte_level"), has_letter('Ġ"%(', "byte_level"), has_letter("Ê", "byte_level")
        (True, False, False)
        >>> has_letter("Ê»", "byte_level"), has_letter("▁2024", "sentencepiece")   # 'ʻ' is a letter (Lm)
        (True, False)

    A new token with a letter can only occur in text with that letter, so with every new token letter-bearing
    (``letter_tokens_only``) a pre-tokenized unit without letters (punctuation, digits, symbols, spaces) keeps
    its base ids: a structural guarantee, whatever the English.
    """
    return any(ch.isalpha() for ch in surface_forms(None, [token], kind)[0])


WORD_MARKS = frozenset("'\u2018\u2019\u02bb\u02bc`")     # apostrophes that write letters (Uzbek o‘ g‘, tutuq)


def is_word_token(token: str, kind: str) -> bool:
    """Whether a vocabulary token's text is a piece of one word: letters and apostrophe marks, at most a leading space.

    Example::

        >>> [is_word_token(t, "sentencepiece") for t in ("▁o‘zbek", "(value", "an-", "▁the▁cat")]
        [True, False, False, False]
        >>> is_word_token("Ġkitob", "byte_level"), is_word_token("Ġ(", "byte_level"), is_word_token("ĠíķĻ", "byte_level")
        (True, False, True)

    A byte-level piece may begin or end inside a character (Hangul syllables are three bytes, most without a base
    merge between them): those partial characters are left out of the check, so such a piece passes when its whole
    characters do, and a piece made only of parts of one character passes too; the token that completes the
    character is checked whole.
    """
    if kind == "byte_level":
        raw = bytes(_BYTE_DECODER.get(c, 32) for c in token)
        start = 0
        while start < len(raw) and 0x80 <= raw[start] < 0xC0:        # continuation bytes of a cut character
            start += 1
        end = len(raw)
        for back in range(1, min(4, end - start) + 1):                # a lead byte whose character is cut off
            b = raw[end - back]
            if b >= 0xC0:
                if back < (2 if b < 0xE0 else 3 if b < 0xF0 else 4):
                    end -= back
                break
            if b < 0x80:
                break
        text = raw[start:end].decode("utf-8", errors="replace")
        if not text:
            return True                                               # only parts of one character
    else:
        text = surface_forms(None, [token], kind)[0]
    text = text[1:] if text.startswith(" ") else text
    return any(ch.isalpha() for ch in text) and all(ch.isalpha() or ch in WORD_MARKS for ch in text)


def vocab_of(spec: dict) -> dict[str, int]:
    model = spec["model"]
    if model["type"] == "Unigram":
        return {p: i for i, (p, _) in enumerate(model["vocab"])}
    return dict(model["vocab"])


def pair(m) -> tuple[str, str]:
    return tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m)
