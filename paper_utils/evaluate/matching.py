"""Translation matching: zero-shot four-way multiple choice from held-out parallel pairs, for every language.

Example::

    >>> targets = ["Saqlash", "Ochish", "Yopish", "Chop etish", "Nusxa olish"]
    >>> english = ["Save", "Open", "Close", "Print", "Copy"]
    >>> items = matching_items(targets, english, "uz")
    >>> len(items), items[0]["id"], items[0]["direction"], items[0]["source"]
    (10, 'uz-en/p0000', 'uz-en', 'Saqlash')
    >>> items[0]["choices"][items[0]["gold"]]
    'Save'
    >>> print(matching_prompt("Saqlash", "Uzbek", "English"))
    Translate Uzbek to English.
    <BLANKLINE>
    Uzbek: Saqlash
    English:

**Items.** The held-out parallel pairs of the data source (:func:`paper_utils.study.heldout_parallel`, pair ids
``p0000``, ``p0001``, ... in their order) give two items each: ``<lang>-en`` (a target-language sentence, four
English candidates) and ``en-<lang>`` (an English sentence, four target-language candidates); ids
``<direction>/<pair id>``. ``n`` pairs are kept (:func:`paper_utils.evaluate.items.select`, 0 = all): the same
pairs in both directions. The candidates are the pair's own translation (gold) and three **distractors**: the other
pairs ranked by ``sha256(f"{seed}\\x1f{item id}\\x1f{pair id}")`` (:func:`paper_utils.corpora.hash_unit`, never
Python's ``hash``), taking the first three whose candidate side differs, after :func:`normalise` (NFKC, case-folded,
whitespace collapsed), from the gold text and from every candidate already taken, and whose source side differs from
the item's source (so no distractor is another valid translation of it). **Gold position**: the items of a direction,
in the order of ``sha256(f"{seed}\\x1f{item id}")``, take positions A, B, C, D, A, ... (balanced: the counts differ
by at most one); the distractors fill the other positions in their ranked order.

**Scoring** (zero-shot, no demonstrations): each candidate as a continuation ``" " + candidate`` of the fixed
prompt :func:`matching_prompt` (the translation task's template without demonstrations), through
:meth:`~paper_utils.evaluate.TextLM.loglik`. **Primary**: the argmax of the log-likelihood divided by the UTF-8
bytes of the continuation (lm-eval's ``acc_norm`` by bytes; candidates differ in length); secondary: the argmax
of the summed log-likelihood (``accuracy_sum``). Ties go to the first candidate. Chance is 0.25.

**English check** (:mod:`paper_utils.evaluate.english_identity`): the template and the item's English, as the lines
``English: <text>`` (the source of ``en-<lang>``; the four candidates of ``<lang>-en``).
"""
from __future__ import annotations

import time
import unicodedata
from collections import Counter
from typing import Any, Sequence

from ..corpora import hash_unit
from ..corpora import language as lang_info
from ..errors import DataError
from .english_identity import check_items, english_scores, tokenizer_of
from .items import select
from .textlm import TextLM
from .translation import translation_prompt

N_CHOICES = 4
LETTERS = "ABCD"
MATCHING_SEED = 0
PRIMARY = "accuracy: argmax of log-likelihood per UTF-8 byte of ' <candidate>' (lm-eval acc_norm by bytes)"


def normalise(text: str) -> str:
    """The form in which two candidates count as the same text.

    >>> normalise("  Save\\u00a0 FILE ") == normalise("save file")
    True
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def matching_prompt(source: str, src_name: str, tgt_name: str) -> str:
    """The fixed zero-shot prompt; candidates are scored as its continuation ``" " + candidate``."""
    return translation_prompt(source, [], src_name, tgt_name)


def _pairs(targets: Sequence[str], english: Sequence[str]) -> list[dict]:
    if len(targets) != len(english):
        raise DataError(f"{len(targets)} target texts but {len(english)} English texts: held-out pairs must be "
                        "paired one to one")
    return [{"id": f"p{i:04d}", "target": t, "en": e} for i, (t, e) in enumerate(zip(targets, english))
            if t.strip() and e.strip()]


def _distractors(item_id: str, gold: dict, pool: Sequence[dict], cand_key: str, src_key: str,
                 seed: int) -> list[dict]:
    taken, out = {normalise(gold[cand_key])}, []
    source = normalise(gold[src_key])
    for other in sorted(pool, key=lambda p: hash_unit(seed, f"{item_id}\x1f{p['id']}")):
        text = normalise(other[cand_key])
        if other["id"] == gold["id"] or text in taken or normalise(other[src_key]) == source:
            continue
        taken.add(text)
        out.append(other)
        if len(out) == N_CHOICES - 1:
            return out
    raise DataError(f"matching item {item_id}: only {len(out)} of {N_CHOICES - 1} distractors differ from the gold "
                    f"text and from each other among {len(pool)} held-out pairs; the task needs at least "
                    f"{N_CHOICES} pairs with distinct texts")


def matching_items(targets: Sequence[str], english: Sequence[str], language: str, n: int = 0,
                   seed: int = MATCHING_SEED) -> list[dict]:
    """Items of both directions (``<lang>-en`` first) from held-out ``(targets, english)`` pairs."""
    pool = _pairs(targets, english)
    if len({normalise(p["en"]) for p in pool}) < N_CHOICES or len({normalise(p["target"]) for p in pool}) < N_CHOICES:
        raise DataError(f"translation matching for {language!r}: {len(pool)} held-out pairs, fewer than {N_CHOICES} "
                        "distinct texts on one side; the task needs four candidates per item")
    chosen = select(pool, n, seed)
    items = []
    for direction, src_key, cand_key in ((f"{language}-en", "target", "en"), (f"en-{language}", "en", "target")):
        ids = [f"{direction}/{p['id']}" for p in chosen]
        rank = {i: k for k, i in enumerate(sorted(ids, key=lambda i: hash_unit(seed, i)))}
        for item_id, pair in zip(ids, chosen):
            gold = rank[item_id] % N_CHOICES
            others = iter(_distractors(item_id, pair, pool, cand_key, src_key, seed))
            row = [pair if k == gold else next(others) for k in range(N_CHOICES)]
            items.append({"id": item_id, "direction": direction, "pair": pair["id"], "source": pair[src_key],
                          "choices": [p[cand_key] for p in row], "choice_pairs": [p["id"] for p in row],
                          "gold": gold})
    return items


def english_texts(item: dict, src_name: str, tgt_name: str) -> dict[str, str]:
    """The English one item shows or scores, labeled (``template``, ``source`` or ``candidate A`` .. ``D``)."""
    texts = {"template": f"Translate {src_name} to {tgt_name}.\n\n{src_name}:\n{tgt_name}:"}
    if src_name == "English":
        texts["source"] = f"English: {item['source']}"
    else:
        texts.update({f"candidate {L}": f"English: {c}" for L, c in zip(LETTERS, item["choices"])})
    return texts


def _argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=lambda k: (values[k], -k))


def score_matching(lm: TextLM, items: Sequence[dict], language: str, *, batch_size: int = 8,
                   share_prefix: bool = True, base_tokenizer: Any = None) -> tuple[list[dict], dict]:
    """Score ``items`` (one direction or both); returns (per-item records, ``{direction: scores}``)."""
    items = list(items)
    if not items:
        raise DataError(f"translation matching for {language!r}: no items (empty held-out set)")
    names = {f"{language}-en": (lang_info(language).name, "English"), f"en-{language}": ("English", lang_info(language).name)}
    requests = []
    for it in items:
        if it["direction"] not in names:
            raise DataError(f"matching item {it['id']}: direction {it['direction']!r} is not one of {list(names)}")
        prompt = matching_prompt(it["source"], *names[it["direction"]])
        requests += [(prompt, " " + c) for c in it["choices"]]
    start = time.perf_counter()
    ll = lm.loglik(requests, batch_size=batch_size, share_prefix=share_prefix,
                   groups=[k for k in range(len(items)) for _ in range(N_CHOICES)])
    seconds = time.perf_counter() - start
    english = check_items(tokenizer_of(lm) if base_tokenizer is None else base_tokenizer, tokenizer_of(lm),
                          [english_texts(it, *names[it["direction"]]) for it in items])
    records = []
    for k, (it, eng) in enumerate(zip(items, english)):
        sums = ll[N_CHOICES * k:N_CHOICES * k + N_CHOICES]
        per_byte = [s / len((" " + c).encode("utf-8")) for s, c in zip(sums, it["choices"])]
        pred, pred_sum = _argmax(per_byte), _argmax(sums)
        records.append({"id": it["id"], "direction": it["direction"], "source": it["source"],
                        "choices": dict(zip(LETTERS, it["choices"])), "gold": LETTERS[it["gold"]],
                        "predicted": LETTERS[pred], "correct": pred == it["gold"],
                        "predicted_sum": LETTERS[pred_sum], "correct_sum": pred_sum == it["gold"],
                        "loglik": dict(zip(LETTERS, sums)), "loglik_per_byte": dict(zip(LETTERS, per_byte)), **eng})
    scores = {}
    for direction in dict.fromkeys(r["direction"] for r in records):
        rs = [r for r in records if r["direction"] == direction]
        scores[direction] = {
            "accuracy": sum(r["correct"] for r in rs) / len(rs),
            "accuracy_sum": sum(r["correct_sum"] for r in rs) / len(rs), "n": len(rs), "chance": 1 / N_CHOICES,
            "primary": PRIMARY, "shots": 0,
            "gold_positions": dict(sorted(Counter(r["gold"] for r in rs).items())),
            "template": matching_prompt("<source>", *names[direction]) + " <candidate>",
            "seconds": round(seconds * len(rs) / len(records), 2), **english_scores(rs)}
    return records, scores


__all__ = ["N_CHOICES", "LETTERS", "MATCHING_SEED", "PRIMARY", "normalise", "matching_prompt", "matching_items",
           "english_texts", "score_matching"]
