"""``wechsel``: WECHSEL (Minixhofer et al. 2022) as the published ``wechsel`` 0.0.4 runs it, on the study's text.

Example::

    >>> from paper_utils.init.wechsel import parallel_dictionary, words
    >>> words("Toʻgʻri parolni kiriting, iltimos!")
    ['Toʻgʻri', 'parolni', 'kiriting', ',', 'iltimos', '!']
    >>> pairs = [("Save", "Saqlash"), ("Save and add", "Saqlash va qo'shish"), ("Add", "Qo'shish"),
    ...          ("and", "va"), ("Delete", "O'chirish"), ("Delete and add", "O'chirish va qo'shish")]
    >>> parallel_dictionary(pairs, min_count=2)       # mutual best Dice, co-occurring >= 2 times
    [('add', "qo'shish"), ('and', 'va'), ('delete', "o'chirish"), ('save', 'saqlash')]

As ``wechsel.WECHSEL(...).apply(...)``:

1. fastText on English text and on target-language text, words as units (WECHSEL's ``train_embeddings``:
   CBOW, dim 100, negative 10, char n-grams of length 5 only, 20 epochs; fastText's ``minCount`` 5; cased);
2. a bilingual dictionary aligns them: for each pair (case variants tried as WECHSEL does) with both words in
   the two vocabularies, the (English, target) vector pair; orthogonal Procrustes ``R`` (scipy) maps English
   vectors onto target vectors (``english @ R``);
3. every token's vector is fastText's vector of its surface form without surrounding spaces (char n-grams:
   "subword information"); English for the base tokens, target for the new ones; all unit-normalized;
4. each new token: cosine to every base token in the aligned space, its ``top_k`` (10) nearest, weights
   ``softmax(similarity / temperature)`` (0.1), row = weighted sum of their base rows;
5. a new token whose vector is zero (none of its n-grams occurs in a training word: ``unseen_ngrams="zero"``,
   see :mod:`~paper_utils.init.static_vectors`) gets WECHSEL's fill: row ``id`` of
   ``RandomState(seed).normal(mean, std, (len(extended), hidden))`` over the base rows' per-dimension mean and
   std (``fallback="random"``), or the labelled option ``fallback="fvt"``.

``seed`` (1234, WECHSEL's) seeds both fastText (gensim) and the fill. The dictionary: with ``use_lexicon`` the one-word entries of the study's lexicon (uz: the uz-en dictionary and
CLDR names; other languages: CLDR names), plus, with ``use_parallel``, pairs derived from the parallel training
pairs (:func:`parallel_dictionary`), both lower-cased (the alignment tries each word as is, lower-cased and
title-cased, as WECHSEL does; target words also with ``ʻ``/``’`` for ``'``). Too few pairs in both vocabularies is a DataError naming ``lexicon``,
raised before anything is trained or cached. What departs from the paper: fastText trained here on the small
text the study has (the paper loads 300-d vectors pretrained on Common Crawl), words split by a regular
expression (:func:`words`) instead of NLTK's Punkt tokenizer.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..registry import register_initializer
from .anchors import lexicon_map
from .common import Combination, Context, provenance, rows_of, topk_similar, weigh, with_fallback
from .static_vectors import fasttext_options, train_static_vectors

_WORD = re.compile(r"[^\W\d_]+(?:['ʻʼ’‘`\-][^\W\d_]+)*|\d+|[^\w\s]", re.UNICODE)
RANDOM_RULE = "random N(mean, std): zero fastText vector"


def words(text: str) -> list[str]:
    """Words, numbers and punctuation marks of ``text``, case kept (apostrophes and hyphens inside words kept)."""
    return _WORD.findall(text)


def parallel_dictionary(pairs: Sequence[tuple[str, str]], min_count: int = 2, min_dice: float = 0.0):
    """``[(english word, target word), ...]`` from parallel ``(en, target)`` pairs: mutual best Dice.

    A word pair counts once per sentence pair where both occur; Dice = 2 c(e, t) / (c(e) + c(t)); a pair is
    kept when each word is the other's best match (ties: the more frequent pair, then alphabetical), it
    co-occurs at least ``min_count`` times and its Dice is at least ``min_dice``. Punctuation is left out.
    """
    c_e, c_t, c_et = Counter(), Counter(), Counter()
    for en, tgt in pairs:
        ws_e = {w.casefold() for w in words(en) if w[0].isalnum()}
        ws_t = {w.casefold() for w in words(tgt) if w[0].isalnum()}
        c_e.update(ws_e)
        c_t.update(ws_t)
        c_et.update((e, t) for e in ws_e for t in ws_t)
    best_e: dict[str, tuple] = {}
    best_t: dict[str, tuple] = {}
    for (e, t), c in c_et.items():
        dice = 2 * c / (c_e[e] + c_t[t])
        rank_e, rank_t = (-dice, -c, t), (-dice, -c, e)       # best = smallest: high Dice, frequent, alphabetical
        if e not in best_e or rank_e < best_e[e]:
            best_e[e] = rank_e
        if t not in best_t or rank_t < best_t[t]:
            best_t[t] = rank_t
    out = [(e, t) for e, (neg_dice, neg_c, t) in best_e.items()
           if best_t[t][2] == e and -neg_c >= min_count and -neg_dice >= min_dice]
    return sorted(out)


def lexicon_dictionary(lexicon) -> list[tuple[str, str]]:
    """``[(english word, target word), ...]``: the lexicon's entries that are one word on both sides."""
    out = []
    for tgt, en in lexicon_map(lexicon).items():
        we, wt = words(en.casefold()), words(tgt)
        if len(we) == 1 and len(wt) == 1 and we[0][0].isalnum() and wt[0][0].isalnum():
            out.append((we[0], wt[0]))
    return sorted(set(out))


def target_forms(word: str) -> list[str]:
    """The lexicon writes every apostrophe as ``'``; Uzbek text writes oʻ, gʻ with ``'``, ``ʻ`` or ``’``."""
    return [word] + ([word.replace("'", a) for a in "ʻ’"] if "'" in word else [])


def _variants(word: str) -> tuple[str, ...]:
    return (word, word.lower(), word.title())          # not deduplicated, as WECHSEL (a pair may count 4 times)


def dictionary_vector_pairs(dictionary, en_vocab, tgt_vocab) -> list[tuple[str, str]]:
    """The word pairs WECHSEL aligns on: every case variant pair with both words in the vocabularies.

    As WECHSEL, each dictionary entry contributes (word, lower, title) x (word, lower, title), duplicates kept;
    a target word is also tried in its other apostrophe forms (:func:`target_forms`).
    """
    return [(e, t) for en, tgt in dictionary for form in target_forms(tgt) for e in _variants(en)
            for t in _variants(form) if e in en_vocab and t in tgt_vocab]


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Orthogonal ``R`` minimizing ``||source @ R - target||`` (scipy's ``orthogonal_procrustes``)."""
    from scipy.linalg import orthogonal_procrustes

    return orthogonal_procrustes(source.astype(np.float64), target.astype(np.float64))[0]


def wechsel_random_rows(matrix, ids: Sequence[int], n_rows: int, seed: int, chunk: int = 4096) -> np.ndarray:
    """Rows ``ids`` of ``RandomState(seed).normal(mean, std, (n_rows, hidden))`` (WECHSEL's fill), drawn in chunks."""
    m = matrix.detach().float().cpu().numpy()
    mean, std = m.mean(0), m.std(0)
    rng = np.random.RandomState(seed)
    want = {int(i): k for k, i in enumerate(ids)}
    out = np.zeros((len(ids), m.shape[1]), dtype=np.float64)
    last = max(want) + 1 if want else 0
    for s in range(0, min(last, n_rows), chunk):
        block = rng.normal(mean, std, (min(chunk, n_rows - s), m.shape[1]))
        for i in range(s, s + block.shape[0]):
            if i in want:
                out[want[i]] = block[i - s]
    return out


def _dictionary(opts: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    if opts["use_lexicon"] and opts["lexicon"] is not None:
        found += lexicon_dictionary(opts["lexicon"])
    if opts["use_parallel"] and opts["parallel_pairs"]:
        found += parallel_dictionary(opts["parallel_pairs"], opts["dice_min_count"])
    if not found:
        raise ConfigError("lexicon", None if not opts["use_lexicon"] else "no one-word entry",
                          "WECHSEL aligns on a bilingual dictionary: pass a lexicon with one-word entries "
                          "(use_lexicon=True) or parallel_pairs=[(en, target), ...] (use_parallel=True)")
    return sorted(set(found))


def _wechsel(ctx: Context, opts: Mapping[str, Any]):
    import torch

    for key in ("target_texts", "english_texts"):
        if not opts[key]:
            raise ConfigError(key, opts[key], "WECHSEL trains fastText on English and target-language text: "
                                              f"pass {key}=[...]")
    ft = fasttext_options(opts)
    dictionary = _dictionary(opts)
    tgt_sents = [words(t) for t in opts["target_texts"]]
    en_sents = [words(t) for t in opts["english_texts"]]
    vocab = lambda sents: {w for w, c in Counter(w for s in sents for w in s).items() if c >= ft.min_count}  # noqa: E731
    usable = dictionary_vector_pairs(dictionary, vocab(en_sents), vocab(tgt_sents))
    if len(set(usable)) < opts["min_pairs"]:
        raise DataError(f"lexicon: {len(set(usable))} of {len(dictionary)} dictionary pairs have both words among the "
                        f"fastText words (min_count={ft.min_count}); WECHSEL needs min_pairs={opts['min_pairs']} "
                        "to align: pass a lexicon that overlaps english_texts and target_texts, more text, or a "
                        "smaller min_count")
    base_surfaces = [s.strip() for s in ctx.base_surfaces()]
    new_surfaces = [s.strip() for s in ctx.info.surfaces]
    en = train_static_vectors(en_sents, ft, queries=base_surfaces, cache=opts["cache"])
    tgt = train_static_vectors(tgt_sents, ft, queries=new_surfaces, cache=opts["cache"])
    e_ix, t_ix = en.index(), tgt.index()
    usable = [(e, t) for e, t in usable if e in e_ix and t in t_ix]   # the same words (gensim: count >= min_count)
    R = procrustes(en.vectors[[e_ix[e] for e, _ in usable]], tgt.vectors[[t_ix[t] for _, t in usable]])
    anchors = torch.from_numpy((en.query_vectors.astype(np.float64) @ R).astype(np.float32)).to(ctx.device)
    anchors = torch.nn.functional.normalize(anchors, dim=-1)
    covered = np.abs(tgt.query_vectors).sum(1) > 0
    q_rows = np.flatnonzero(covered)
    queries = torch.nn.functional.normalize(torch.from_numpy(tgt.query_vectors[q_rows]).to(ctx.device), dim=-1)
    n = len(ctx.info.ids)
    k = min(opts["top_k"], anchors.shape[0])
    index = torch.zeros((n, k), dtype=torch.long, device=ctx.device)
    weight = torch.zeros((n, k), device=ctx.device)
    if len(q_rows):
        vals, idx = topk_similar(queries, anchors, k)
        rows = torch.as_tensor(q_rows, device=ctx.device)
        index[rows], weight[rows] = idx, weigh(vals, "softmax", opts["temperature"])
    rule = f"wechsel (fastText aligned on {len(set(usable))} dictionary pairs, top-{k} softmax)"
    comb = Combination(index, weight, torch.zeros(n, device=ctx.device), [rule if c else "" for c in covered])
    return comb, covered


def _run_wechsel(ctx: Context, opts: Mapping[str, Any]):
    import torch

    if opts["fallback"] not in ("random", "fvt"):
        raise ConfigError("fallback", opts["fallback"], "use 'random' (WECHSEL: N(mean, std) of the base rows) "
                                                        "or 'fvt' (mean of the sub-token rows)")
    comb, covered = _wechsel(ctx, opts)
    if opts["fallback"] == "fvt":
        comb = with_fallback(ctx, comb, covered, "zero fastText vector")
        return rows_of(comb, ctx.w_in), None if ctx.w_out is None else rows_of(comb, ctx.w_out), provenance(ctx, comb)
    missing = np.flatnonzero(~covered)
    n_rows = len(ctx.extended_tokenizer)
    out = []
    for w in (ctx.w_in, ctx.w_out):
        if w is None:
            out.append(None)
            continue
        rows = rows_of(comb, w)
        if len(missing):
            fill = wechsel_random_rows(w, [ctx.info.ids[r] for r in missing], n_rows, opts["seed"])
            rows[torch.as_tensor(missing, device=ctx.device)] = torch.from_numpy(fill).to(rows.device, rows.dtype)
        out.append(rows)
    comb.rule = [r if c else RANDOM_RULE for r, c in zip(comb.rule, covered)]
    prov = provenance(ctx, comb)
    for rec, c in zip(prov, covered):
        if not c:
            rec["weight_sum"] = 0.0
    return out[0], out[1], prov


register_initializer(
    "wechsel", data=("target_texts", "english_texts", "lexicon", "parallel_pairs"),
    options={"target_texts": None, "english_texts": None, "lexicon": None, "parallel_pairs": None,
             "use_lexicon": True, "use_parallel": True, "dice_min_count": 2, "min_pairs": 10, "top_k": 10,
             "temperature": 0.1, "epochs": 20, "dim": 100, "min_count": 5, "window": 5, "negative": 10, "minn": 5,
             "maxn": 5, "model": "cbow", "lr": 0.05, "sample": 1e-4, "bucket": 2_000_000, "unseen_ngrams": "zero",
             "fallback": "random",
             "seed": 1234, "cache": True, "device": None},
    summary="WECHSEL as wechsel 0.0.4: fastText (gensim) per language, Procrustes on a bilingual dictionary, "
            "top-k softmax")(_run_wechsel)
