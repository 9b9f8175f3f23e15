"""Extend a base tokenizer with target-language tokens without changing English tokenization.

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
   training text at that point (frequency x 1 saved piece, recomputed after every merge).
2. Every learned merge is mapped back to base-vocabulary strings ``(left, right)`` and appended
   *after* the base merges, so base merges keep priority. Merges whose result already is a base
   token cost no budget; the budget counts new vocabulary entries only. New ids start after the
   highest id in use (model vocabulary and added/special tokens).
3. English invariance: the unique English pre-tokenized units are encoded with the base and the
   extended model; in every unit whose ids changed, the new merges that fired are found by
   replaying BPE and dropped. Dropping a merge removes the merges built on its token, and the
   freed budget is refilled from the next candidates, so the check repeats until English is
   unchanged (a fixpoint). A final check encodes every English text through the full pipeline.

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
:func:`join_apostrophe_words`); it is proven not to change English before it is used.

``method="added_tokens"`` is the explicitly named fallback: the same candidate strings go in as
*added tokens*. They bypass pre-tokenization and break decoding of byte-level text (Llama-3's
``"B\\ufffdc"`` problem), so they are for comparison only.
"""
from __future__ import annotations

import copy
import json
import re
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers

from paper_utils.errors import ConfigError, DataError
from paper_utils.fertility import fertility
from paper_utils.surfaces import tokenizer_family
from paper_utils.tokenization import HFTextTokenizer

METHODS = ("continue_bpe", "added_tokens")
_PUA = 0xF0000  # supplementary private-use planes 15-16: 131,068 code points
_SP_WORD = re.compile(r"▁+[^▁]*|[^▁]+")


@dataclass
class Candidate:
    """One learned extension step, in merge (= rank) order.

    ``left``/``right`` are base-vocabulary strings (``None`` for a bare piece such as a character
    the base vocabulary lacks). ``token`` is ``left + right``.
    """

    token: str
    left: str | None = None
    right: str | None = None


def _backend(tokenizer) -> Tokenizer:
    return tokenizer if isinstance(tokenizer, Tokenizer) else tokenizer.backend_tokenizer


def _units(backend: Tokenizer, texts: Iterable[str], weights: Iterable[int] | None = None) -> Counter:
    """What the model sees: normalized, pre-tokenized strings, with their (weighted) counts."""
    norm, pre = backend.normalizer, backend.pre_tokenizer
    units: Counter = Counter()
    for text, weight in zip(texts, weights if weights is not None else iter(lambda: 1, None)):
        s = norm.normalize_str(text) if norm is not None else text
        for p in ([p for p, _ in pre.pre_tokenize_str(s)] if pre is not None else [s]):
            units[p] += weight
    return units


# Apostrophe words (Uzbek Latin o'zbek, g'isht, ma'lumot): byte-level pre-tokenizers cut at an ASCII
# apostrophe, so no merge can ever join "o'z" and Uzbek keeps 3-5 pieces per such word. The
# joined rule keeps letter + apostrophe + letter runs in one unit, except an ASCII apostrophe that
# starts an English contraction followed by more letters (C'mon): there the base regex cuts first and
# base merges could straddle the cut. Everything else cannot change English ids: no base merge
# joins a letter with a following apostrophe, so BPE inside a joined unit equals BPE of its parts.
# extend_tokenizer(apostrophe_words=True) still checks every English text and falls back if any changes.
_GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_CONTRACTION = r"(?:s|t|re|ve|m|ll|d)"
_LLAMA3_LEAD = r"[^\r\n\p{L}\p{N}]?\p{L}+"


def _joined_words_regex(lead: str, case_insensitive: bool) -> str:
    contraction = f"(?i:{_CONTRACTION})" if case_insensitive else _CONTRACTION
    joint = rf"(?:'(?!{contraction}\p{{L}})|[’‘`])"
    return rf"{lead}(?:{joint}\p{{L}}+)+|"


def join_apostrophe_words(base_tokenizer):
    """A copy of a byte-level BPE tokenizer whose pre-tokenizer keeps apostrophe words whole.

    Example::

        >>> from paper_utils.fixtures import evaluation_tokenizer
        >>> base = evaluation_tokenizer()
        >>> joined = join_apostrophe_words(base)
        >>> joined.tokenize(" to'g'ri") == base.tokenize(" to'g'ri")      # same merges: same tokens
        True
        >>> [u for u, _ in joined.backend_tokenizer.pre_tokenizer.pre_tokenize_str(" to'g'ri")]   # one unit
        ["Ġto'g'ri"]

    Same vocabulary and merges, so the ids are unchanged; the difference is that merges learned
    afterwards may join across the apostrophe ("Ġto'g'ri" can become one token). Supports the
    GPT-2 ``ByteLevel(use_regex=True)`` pre-tokenizer (GPT-2, SmolLM2) and a ``Split`` regex +
    ``ByteLevel`` sequence (Llama-3); anything else raises ConfigError.
    """
    if tokenizer_family(base_tokenizer) != "byte_level_bpe":
        raise ConfigError("apostrophe_words", True, "only byte-level BPE tokenizers cut words at apostrophes; "
                          "use apostrophe_words=False for SentencePiece vocabularies")
    spec = json.loads(_backend(base_tokenizer).to_str())
    pre = spec.get("pre_tokenizer") or {}
    if pre.get("type") == "ByteLevel" and pre.get("use_regex", True) and not pre.get("add_prefix_space"):
        split = {"type": "Split", "pattern": {"Regex": _joined_words_regex(r" ?\p{L}+", False) + _GPT2_REGEX},
                 "behavior": "Isolated", "invert": False}
        spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [split, dict(pre, use_regex=False)]}
    elif (pre.get("type") == "Sequence" and pre["pretokenizers"][0].get("type") == "Split"
          and _LLAMA3_LEAD in pre["pretokenizers"][0]["pattern"].get("Regex", "")):
        split = copy.deepcopy(pre["pretokenizers"][0])
        regex = split["pattern"]["Regex"]
        split["pattern"]["Regex"] = _joined_words_regex(_LLAMA3_LEAD, regex.startswith("(?i:")) + regex
        spec["pre_tokenizer"] = dict(pre, pretokenizers=[split] + pre["pretokenizers"][1:])
    else:
        raise ConfigError("apostrophe_words", json.dumps(pre)[:80],
                          "supported: GPT-2 ByteLevel(use_regex=True, add_prefix_space=False) or a Llama-3 "
                          "Split regex + ByteLevel pre-tokenizer; use apostrophe_words=False")
    joined = copy.deepcopy(base_tokenizer)
    if isinstance(joined, Tokenizer):
        return Tokenizer.from_str(json.dumps(spec))
    joined._tokenizer = Tokenizer.from_str(json.dumps(spec))
    return joined


def _check_weights(texts: Sequence[str], weights: Sequence[int] | None) -> list[int] | None:
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
    plain, spaced = list(_units(backend, ["a"])), list(_units(backend, [" a"]))
    return " " if plain == ["a"] and len(spaced) == 1 and len(spaced[0]) == 2 else ""


def _words(units: Counter, family: str) -> Counter:
    """Training words: units, further cut at '▁' for SentencePiece (merges never cross words)."""
    if family == "byte_level_bpe":
        return units
    words: Counter = Counter()
    for unit, n in units.items():
        for w in _SP_WORD.findall(unit):
            words[w] += n
    return words


def _segment(model, word: str) -> list[str]:
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
                     prefix_space: bool | str = True, target_weights: Sequence[int] | None = None) -> list[Candidate]:
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
    """
    family = tokenizer_family(base_tokenizer)
    target_weights = _check_weights(target_texts, target_weights)
    backend = _backend(base_tokenizer)
    spec = json.loads(backend.to_str())
    vocab = _vocab_of(spec)
    base_pairs = {_pair(m) for m in spec["model"].get("merges", [])}
    prefix = _space_prefix(backend) if prefix_space else ""
    texts = [prefix + t for t in target_texts]
    weights = target_weights
    if prefix and prefix_space == "both":
        texts += list(target_texts)
        weights = None if weights is None else weights + weights
    words = _words(_units(backend, texts, weights), family)
    seg_model = backend.model
    sym2pua: dict[str, str] = {}
    seqs: Counter = Counter()
    for word, n in words.items():
        syms = _segment(seg_model, word)
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
    out: list[Candidate] = []
    have, seen = set(vocab), set(base_pairs)
    for m in merges:
        a, b = (m.split(" ", 1) if isinstance(m, str) else m)
        left, right = unmap(a), unmap(b)
        if (left, right) in seen:
            continue
        seen.add((left, right))
        for piece in (left, right):  # characters the base covers only by byte fallback
            if piece not in have:
                out.append(Candidate(piece))
                have.add(piece)
        out.append(Candidate(left + right, left, right))
        have.add(left + right)
    return out


def _vocab_of(spec: dict) -> dict[str, int]:
    model = spec["model"]
    if model["type"] == "Unigram":
        return {p: i for i, (p, _) in enumerate(model["vocab"])}
    return dict(model["vocab"])


def _select(cands: list[Candidate], dropped: set[int], vocab: dict, budget: int) -> list[int]:
    """Indices of candidates kept: not dropped, built on available tokens, up to ``budget`` new."""
    have, kept, n_new = set(vocab), [], 0
    for i, c in enumerate(cands):
        if n_new >= budget:
            break
        if i in dropped or (c.left is not None and (c.left not in have or c.right not in have)):
            continue
        is_new = c.token not in have
        if c.left is None and not is_new:
            continue
        kept.append(i)
        n_new += is_new
        have.add(c.token)
    return kept


def _build(spec: dict, family: str, cands: list[Candidate], kept: list[int],
           unigram_margin: float, base_model) -> tuple[dict, dict]:
    """The extended tokenizer JSON and {token: candidate index} of its new entries."""
    spec = dict(spec)
    model = spec["model"] = dict(spec["model"])
    model["vocab"] = list(model["vocab"]) if family == "unigram" else dict(model["vocab"])
    if "merges" in model:
        model["merges"] = list(model["merges"])
    used = [t["id"] for t in spec.get("added_tokens", [])]
    new_entries: dict[str, int] = {}
    if family == "unigram":
        pieces = model["vocab"]
        if used and max(used) >= len(pieces):
            raise ConfigError("base_tokenizer", "Unigram with added tokens past the vocabulary",
                              "Unigram ids are list positions; re-save the tokenizer with them inside the vocab")
        score = dict(map(tuple, pieces))
        have = {p for p, _ in pieces}
        for i in kept:
            t = cands[i].token
            if t in have:
                continue
            path = base_model.tokenize(t)
            base_score = sum(score.get(p.value, -20.0) for p in path)
            pieces.append([t, base_score + unigram_margin])
            have.add(t)
            new_entries[t] = i
    else:
        vocab = model["vocab"]
        # Added tokens above the model vocabulary (Llama-3's 256 specials) go into it at their ids:
        # tokenizers re-numbers added tokens missing from the model from its size on, which would
        # collide with the new entries. Added tokens are matched before the model, so nothing changes.
        taken = set(vocab.values())
        for t in spec.get("added_tokens", []):
            if t["content"] not in vocab and t["id"] not in taken:
                vocab[t["content"]] = t["id"]
                taken.add(t["id"])
        next_id = max(list(vocab.values()) + used) + 1
        as_str = bool(model["merges"]) and isinstance(model["merges"][0], str)
        for i in kept:
            c = cands[i]
            if c.token not in vocab:
                vocab[c.token] = next_id
                next_id += 1
                new_entries[c.token] = i
            if c.left is not None:
                model["merges"].append(f"{c.left} {c.right}" if as_str else [c.left, c.right])
    return spec, new_entries


def _model_only(spec: dict) -> Tokenizer:
    """Only the model: encodes already normalized, pre-tokenized units."""
    return Tokenizer.from_str(json.dumps(dict(spec, normalizer=None, pre_tokenizer=None, post_processor=None,
                                              decoder=None, added_tokens=[])))


def _pair(m) -> tuple[str, str]:
    return tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m)


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
        subwords = [unit] if family == "byte_level_bpe" else _SP_WORD.findall(unit)
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


def _roundtrip_failures(tok: Tokenizer, texts: Sequence[str]) -> list[str]:
    encs = tok.encode_batch(list(texts), add_special_tokens=False)
    decoded = tok.decode_batch([e.ids for e in encs], skip_special_tokens=False)
    return [t for t, d in zip(texts, decoded) if d != t]


def _check_inputs(target_texts, budget, english_texts, method):
    if method not in METHODS:
        raise ConfigError("method", method, f"use one of: {', '.join(METHODS)}")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise ConfigError("budget", budget, "use a positive number of new tokens, e.g. 8000")
    for name, texts in (("target_texts", target_texts), ("english_texts", english_texts)):
        if isinstance(texts, str):
            raise ConfigError(name, texts[:40], "pass a list of texts, not one string")
        if not any(isinstance(t, str) and t.strip() for t in texts):
            raise DataError(f"{name} is empty or whitespace-only: need at least one non-blank text")
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise DataError(f"{name}[{bad}] is {type(texts[bad]).__name__}, not str")


def extend_tokenizer(base_tokenizer, target_texts: Sequence[str], budget: int,
                     english_texts: Sequence[str], heldout_texts: Sequence[str] | None = None,
                     method: str = "continue_bpe", min_frequency: int = 2,
                     unigram_margin: float = 1.0, prefix_space: bool | str = True, max_rounds: int = 50,
                     target_weights: Sequence[int] | None = None, apostrophe_words: bool = False):
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
    ``dropped_dependent`` (merges lost because they were built on those), ``budget``,
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

    Errors: ``ConfigError`` for a budget <= 0 or above the candidates the target text yields,
    an unknown method or an unsupported tokenizer (the message lists the supported kinds);
    ``DataError`` for an empty or whitespace-only corpus.
    """
    t0 = time.perf_counter()
    _check_inputs(target_texts, budget, english_texts, method)
    family = tokenizer_family(base_tokenizer)
    base = _backend(base_tokenizer)
    spec = json.loads(base.to_str())
    vocab = _vocab_of(spec)
    target_weights = _check_weights(target_texts, target_weights)
    if target_weights is not None:
        target_weights = [w for t, w in zip(target_texts, target_weights) if t.strip()]
    target_texts = [t for t in target_texts if t.strip()]
    english_texts = [t for t in english_texts if t.strip()]
    original_tokenizer, original = base_tokenizer, _backend(base_tokenizer)
    english_before = None                          # original ids of every English text, computed once
    apostrophes = "off"
    if apostrophe_words and family != "byte_level_bpe":
        apostrophes = f"off: a {family} pre-tokenizer does not cut words at apostrophes"
    elif apostrophe_words:
        joined = join_apostrophe_words(base_tokenizer)
        english_before = original.encode_batch(english_texts)
        n_changed = sum(a.ids != b.ids for a, b in zip(english_before, _backend(joined).encode_batch(english_texts)))
        if n_changed:
            apostrophes = f"off: the joined pre-tokenizer alone changes {n_changed} English texts"
            warnings.warn(f"apostrophe_words=True ignored: {apostrophes}", stacklevel=2)
        else:
            base_tokenizer, apostrophes = joined, "on"
            base = _backend(base_tokenizer)          # learn, build and check English in joined units
            spec = json.loads(base.to_str())
    cands = learn_candidates(base_tokenizer, target_texts, budget, min_frequency, prefix_space=prefix_space,
                             target_weights=target_weights)
    available = len(_select(cands, set(), vocab, len(cands)))
    n_new_avail = sum(1 for i in _select(cands, set(), vocab, len(cands)) if cands[i].token not in vocab)
    if budget > n_new_avail:
        raise ConfigError("budget", budget, f"the target text yields only {n_new_avail} new tokens; "
                          f"use budget <= {n_new_avail} or more target text")
    t_learn = time.perf_counter() - t0

    eng_units = list(_units(base, english_texts))
    base_mo = _model_only(spec)
    base_ids = [e.ids for e in base_mo.encode_batch(eng_units, add_special_tokens=False)]
    base_ranks: dict = {}
    if family != "unigram":
        for r, m in enumerate(spec["model"]["merges"]):
            base_ranks.setdefault(_pair(m), r)
    dropped: set[int] = set()
    rounds = 0
    while True:
        rounds += 1
        kept = _select(cands, dropped, vocab, budget)
        if method == "added_tokens":
            ext_tok, culprits = _added_tokens_round(base_tokenizer, family, cands, kept, vocab, english_texts)
        else:
            ext_spec, new_entries = _build(spec, family, cands, kept, unigram_margin, base.model)
            ext_mo = _model_only(ext_spec)
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
    t_english = time.perf_counter() - t0 - t_learn

    if method == "added_tokens":
        extended = ext_tok
    else:
        extended = copy.deepcopy(base_tokenizer)
        extended._tokenizer = Tokenizer.from_str(json.dumps(ext_spec))
    ext_backend = _backend(extended)
    same = [a.ids == b.ids for a, b in zip(english_before or original.encode_batch(english_texts),
                                           ext_backend.encode_batch(english_texts))]
    if not all(same):
        warnings.warn(f"{len(same) - sum(same)} English texts tokenize differently after extension "
                      f"(rounds={rounds}, max_rounds={max_rounds}); see report['english_identical_share']",
                      stacklevel=2)
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
        "dropped_for_english": len(dropped),
        "dropped_dependent": sum(1 for i in scanned if i not in dropped and i not in kept_set),
        "english_rounds": rounds, "english_texts": len(english_texts),
        "english_identical_share": sum(same) / len(same),
        "fertility_on": "heldout_texts" if heldout_texts else "target_texts",
        "fertility_before": before["fertility"], "fertility_after": after["fertility"],
        "fertility_reduction": 1 - after["tokens"] / before["tokens"],
        "roundtrip_failures": [t for t in rt if t not in rt_base],
        "roundtrip_failures_base": sorted(rt_base),
        "apostrophe_words": apostrophes,
        "seconds": {"learn": round(t_learn, 3), "english": round(t_english, 3),
                    "total": round(time.perf_counter() - t0, 3)},
    }
    return extended, report


def _surface(base: Tokenizer, family: str, token: str) -> str:
    """Text form of a model-space token ('Ġqil' -> ' qil', '▁qil' -> ' qil')."""
    if family == "byte_level_bpe":
        return base.decoder.decode([token])
    return token.replace("▁", " ")


def _added_tokens_round(base_tokenizer, family, cands, kept, vocab, english_texts):
    """Fallback method: new strings as added tokens (breaks byte-level decoding; comparison only)."""
    base = _backend(base_tokenizer)
    ext = copy.deepcopy(base_tokenizer)
    surface: dict[str, int] = {}
    for i in kept:
        if cands[i].token not in vocab:
            surface.setdefault(_surface(base, family, cands[i].token), i)
    ext.add_tokens([AddedToken(s, normalized=False) for s in surface])
    inv = {ext.convert_tokens_to_ids(s): i for s, i in surface.items()}
    culprits = set()
    # added tokens match the raw text before normalization and pre-tokenization: check full texts
    for enc in _backend(ext).encode_batch(list(english_texts), add_special_tokens=False):
        culprits.update(inv[x] for x in enc.ids if x in inv)
    return ext, culprits


def token_savings(extended_tokenizer, base_tokenizer, texts: Sequence[str]) -> list[tuple[str, int, int]]:
    """Rank the new tokens by pieces saved on ``texts``: (token, frequency, frequency x saved).

    Example::

        >>> from paper_utils.fixtures import evaluation_tokenizer
        >>> base = evaluation_tokenizer()
        >>> ext, _ = extend_tokenizer(base, ["kitob kitoblar"] * 10, 2, english_texts=["The books."])
        >>> token_savings(ext, base, ["kitob kitoblar"])[:1]
        [('ob', 2, 2)]
    """
    base, ext = _backend(base_tokenizer), _backend(extended_tokenizer)
    base_ids = set(base.get_vocab(True).values())
    counts: Counter = Counter()
    for enc in ext.encode_batch(list(texts), add_special_tokens=False):
        counts.update(x for x in enc.ids if x not in base_ids)
    out = []
    for x, n in counts.items():
        tok = ext.id_to_token(x)
        pieces = len(_segment(base.model, tok))
        out.append((tok, n, n * max(pieces - 1, 0)))
    return sorted(out, key=lambda r: -r[2])
