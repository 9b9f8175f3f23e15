"""English protection: drop the merges that fire on English until English tokenizes as before (a fixpoint).

Example::

    >>> import json
    >>> from paper_utils.fixtures import evaluation_tokenizer
    >>> from paper_utils.vocab.candidates import learn_candidates, vocab_of
    >>> from paper_utils.vocab.english import drop_merges_firing_on_english
    >>> base = evaluation_tokenizer()
    >>> spec = json.loads(base.backend_tokenizer.to_str())
    >>> cands = learn_candidates(base, ["zanzibar zanzibarlik kitob kitoblar"] * 10, max_new=6)
    >>> fix = drop_merges_firing_on_english(base, "byte_level_bpe", spec, cands, vocab_of(spec), 6,
    ...                                     ["Where is zanzibar?"])
    >>> sorted(cands[i].token for i in fix.dropped), fix.rounds           # they would cut English 'Ġzanzibar'
    (['bar', 'zi', 'Ġz'], 1)
    >>> [cands[i].token for i in fix.kept]                                 # the freed budget, refilled
    ['Ġkit', 'ob', 'Ġkitob', 'lar', 'lik', 'Ġkitoblar']

BPE (``continue_bpe``): new merges rank after every base merge, so one fires on a text only where two
adjacent tokens of the *base* tokenization form it. :func:`drop_merges_on_english_pairs` drops every new merge
whose pair sits side by side anywhere in the base tokenization of the English texts, in one pass (the freed
budget is refilled from the next candidates, :func:`paper_utils.vocab.build.select`, which also skips merges
built on dropped tokens). That is the end state of the earlier rounds (encode, find the merges that fired by
replaying BPE, drop, repeat) without the rounds, so the protection set can hold millions of texts.
Unigram keeps the rounds: every new piece in the Viterbi path of a changed unit is dropped, until English is
unchanged or ``max_rounds`` is reached. ``method="added_tokens"``: every added token that matches a raw
English text is dropped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .added_tokens import added_tokens_round
from .build import build, model_only, select
from .candidates import SP_WORD, Candidate, backend_of, pair, units


@dataclass
class EnglishFixpoint:
    """Where :func:`drop_merges_firing_on_english` stopped.

    ``extended`` is the extended tokenizer JSON (``method="continue_bpe"``) or the extended tokenizer
    (``method="added_tokens"``); ``kept`` the candidate indices it holds; ``dropped`` the candidates
    found firing on English; ``rounds`` the rounds run.
    """

    extended: Any
    kept: list[int]
    dropped: set[int]
    rounds: int




def drop_merges_firing_on_english(base_tokenizer, family: str, spec: dict, cands: list[Candidate], vocab: dict,
                                  budget: int, english_texts: Sequence[str], method: str = "continue_bpe",
                                  unigram_margin: float = 1.0, max_rounds: int = 50,
                                  english_encodings=None, pairs: set | None = None,
                                  chars: set | None = None) -> EnglishFixpoint:
    """Select ``budget`` new tokens from ``cands`` that leave every English unit's ids unchanged.

    ``spec`` is ``base_tokenizer``'s backend JSON and ``vocab`` its vocabulary
    (:func:`paper_utils.vocab.candidates.vocab_of`); see the module doc for the method. BPE merges
    (``continue_bpe``) take the one-pass rule of :func:`drop_merges_on_english_pairs`, which reaches the
    same end state as the rounds, at any size of ``english_texts``; ``english_encodings`` (the base
    tokenizer's encodings of ``english_texts``, when the caller has them) saves tokenizing them again, and
    ``pairs``/``chars`` (:class:`paper_utils.vocab.PreparedEnglish`'s) save deriving them again.
    """
    if method == "continue_bpe" and family != "unigram":
        return drop_merges_on_english_pairs(base_tokenizer, family, spec, cands, vocab, budget, english_texts,
                                            english_encodings, pairs, chars)
    base = backend_of(base_tokenizer)
    eng_units = list(units(base, english_texts))
    base_mo = model_only(spec)
    base_ids = [e.ids for e in base_mo.encode_batch(eng_units, add_special_tokens=False)]
    base_ranks: dict = {}
    if family != "unigram":
        for r, m in enumerate(spec["model"]["merges"]):
            base_ranks.setdefault(pair(m), r)
    dropped: set[int] = set()
    rounds = 0
    while True:
        rounds += 1
        kept = select(cands, dropped, vocab, budget)
        if method == "added_tokens":
            ext_tok, culprits = added_tokens_round(base_tokenizer, family, cands, kept, vocab, english_texts)
        else:
            ext_spec, new_entries = build(spec, family, cands, kept, unigram_margin, base.model)
            ext_mo = model_only(ext_spec)
            ids = [e.ids for e in ext_mo.encode_batch(eng_units, add_special_tokens=False)]
            changed = [u for u, a, b in zip(eng_units, base_ids, ids) if a != b]
            if family == "unigram":
                inv = {ext_mo.token_to_id(t): i for t, i in new_entries.items()}
                culprits = {inv[x] for u_ids in ids for x in u_ids if x in inv}
            else:
                culprits = _culprits(changed, family, ext_spec, cands, kept,
                                     new_entries, base_ranks) if changed else set()
        culprits -= dropped
        if not culprits or rounds >= max_rounds:
            break
        dropped |= culprits
    return EnglishFixpoint(ext_tok if method == "added_tokens" else ext_spec, kept, dropped, rounds)


def english_pairs(base_tokenizer, english_texts: Sequence[str], encodings=None) -> set[tuple[str, str]]:
    """Every pair of tokens that sit side by side in the base tokenization of ``english_texts``.

    Example::

        >>> from paper_utils.fixtures import evaluation_tokenizer
        >>> sorted(english_pairs(evaluation_tokenizer(), ["zanzibar?"]))
        [('an', 'z'), ('ar', '?'), ('b', 'ar'), ('i', 'b'), ('z', 'an'), ('z', 'i')]
    """
    pairs: set[tuple[str, str]] = set()
    if encodings is None:
        encodings = backend_of(base_tokenizer).encode_batch(list(english_texts), add_special_tokens=False)
    for enc in encodings:
        toks = enc.tokens
        pairs.update(zip(toks, toks[1:]))
    return pairs


def drop_merges_on_english_pairs(base_tokenizer, family: str, spec: dict, cands: list[Candidate], vocab: dict,
                                 budget: int, english_texts: Sequence[str], english_encodings=None,
                                 pairs: set | None = None, chars: set | None = None) -> EnglishFixpoint:
    """One pass: drop every new merge whose pair sits side by side in the base tokenization of any English text.

    New merges rank after every base merge, so BPE applies a new merge only once no base merge applies, i.e.
    on the base tokenization itself; a unit changes exactly when two of its adjacent base tokens form a new
    merge. Dropping those merges (and new bare pieces for characters the English holds, SentencePiece byte
    fallback; and, where the model takes a unit that is a whole vocabulary entry directly, ``ignore_merges``,
    new tokens equal to an English unit) leaves every English text's ids unchanged, and so does every
    merge built on a kept token. The check is the same as the rounds' fixpoint but needs one tokenization of
    the English, so a protection set of millions of texts costs seconds; it also protects unseen English made
    of the same adjacent pieces.
    """
    if pairs is None:
        pairs = english_pairs(base_tokenizer, english_texts, english_encodings)
    if chars is None:
        chars = set().union(*map(set, english_texts)) if english_texts else set()
    whole: set[str] = set()
    if spec["model"].get("ignore_merges"):
        whole = set(units(backend_of(base_tokenizer), english_texts))
    dropped = {i for i, c in enumerate(cands)
               if (c.left is not None and (c.left, c.right) in pairs) or (c.left is None and c.token in chars)
               or c.token in whole}
    kept = select(cands, dropped, vocab, budget)
    ext_spec, _ = build(spec, family, cands, kept, 1.0, backend_of(base_tokenizer).model)
    return EnglishFixpoint(ext_spec, kept, dropped, 1)


def _replay_bpe(word: str, ranks: dict, vocab: dict, ignore_merges: bool) -> list[int]:
    """Ranks of the merges tokenizers' BPE applies to ``word`` (lowest rank, then leftmost)."""
    if ignore_merges and word in vocab:
        return [-1]
    syms, fired = list(word), []
    while len(syms) > 1:
        best = None
        for j in range(len(syms) - 1):
            r = ranks.get((syms[j], syms[j + 1]))
            if r is not None and (best is None or r < best[0]):
                best = (r, j)
        if best is None:
            break
        r, j = best
        syms[j:j + 2] = [syms[j] + syms[j + 1]]
        fired.append(r)
    return fired


def _culprits(units: list[str], family: str, ext_spec: dict, cands: list[Candidate], kept: list[int],
              new_entries: dict[str, int], base_ranks: dict) -> set[int]:
    """Candidate indices responsible for the changed English ``units``."""
    model = ext_spec["model"]
    found: set[int] = set()
    n_base_merges = len(base_ranks)
    merge_items = [i for i in kept if cands[i].left is not None]
    ranks = dict(base_ranks)
    for r, i in enumerate(merge_items, start=n_base_merges):
        ranks.setdefault((cands[i].left, cands[i].right), r)
    vocab, ignore = model["vocab"], bool(model.get("ignore_merges"))
    for unit in units:
        subwords = [unit] if family == "byte_level_bpe" else SP_WORD.findall(unit)
        hit = False
        for w in subwords:
            for ch in set(w):  # characters added as pieces
                if ch in new_entries and cands[new_entries[ch]].left is None:
                    found.add(new_entries[ch])
                    hit = True
            for r in _replay_bpe(w, ranks, vocab, ignore):
                if r == -1 and w in new_entries:
                    found.add(new_entries[w])
                    hit = True
                elif r >= n_base_merges:
                    found.add(merge_items[r - n_base_merges])
                    hit = True
        if not hit:  # safe fallback: every new token inside the unit
            found.update(i for t, i in new_entries.items() if t in unit)
    return found
