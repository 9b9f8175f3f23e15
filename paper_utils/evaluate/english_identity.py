"""Is the English that stage 05 scores tokenized by the evaluated tokenizer exactly as by the base tokenizer?

Example::

    >>> from paper_utils.fixtures import evaluation_tokenizer, tiny_tokenizer
    >>> base = evaluation_tokenizer()
    >>> english_identity(base, base, ["Answer: A", "Translate English to Uzbek."])   # the base model itself
    [True, True]
    >>> other = tiny_tokenizer(["Answer Answer Answer"] * 50)        # another vocabulary: other ids
    >>> english_identity(base, other, ["Answer"])
    [False]
    >>> checks = check_items(base, base, [{"prompt": "Answer: A", "choice A": " A"}])
    >>> checks[0]
    {'english_identical': True, 'english_changed': []}
    >>> identical_share(checks)
    1.0

The vocabulary extension promises that English keeps its base ids, but that is proven only on the texts its
English fixpoint was fitted on. So every scorer of stage 05 (:mod:`~paper_utils.evaluate.translation`,
:mod:`~paper_utils.evaluate.classification`, :mod:`~paper_utils.evaluate.mmlu`) names the English texts of
each item it scores (labeled: ``"prompt"``, ``"source"``, ``"demo 2"``, ...) and :func:`check_items` encodes
each with the base and the evaluated tokenizer, ``add_special_tokens=False`` (special tokens are the same
ids in both; the texts' own ids are what an extension could change). Per item: ``english_identical`` and,
for every text whose ids differ, an entry of ``english_changed`` naming the text and the first differing
pieces (``{"text": "prompt", "base": "Ġb ash", "extended": "Ġbash", "around": " bash"}``). The item is
still scored (the metrics do not change), but it is marked. :func:`identical_share` is the
``english_identical_share`` column of ``scores.json``.

The base model evaluated with its own tokenizer is identical by construction (the same tokenizer object is
not encoded twice). A model without a ``tokenizer`` attribute (a :class:`~paper_utils.evaluate.TextLM` that
is not a causal LM over one tokenizer) cannot be checked: ``english_identical`` is ``None`` there.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

SHOWN_PIECES = 8          # differing pieces shown per changed text, each side


def _encode(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Ids of each text as the scorers encode English, without special tokens."""
    texts = list(texts)
    return [list(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []


def english_identity(base_tokenizer: Any, extended_tokenizer: Any, texts: Sequence[str]) -> list[bool]:
    """For each text: are its ids (``add_special_tokens=False``) the same with both tokenizers?"""
    texts = list(texts)
    if base_tokenizer is extended_tokenizer:
        return [True] * len(texts)
    return [a == b for a, b in zip(_encode(base_tokenizer, texts), _encode(extended_tokenizer, texts))]


def difference(base_tokenizer: Any, extended_tokenizer: Any, base_ids: Sequence[int],
               extended_ids: Sequence[int]) -> dict:
    """The first differing stretch of two encodings of one text: its base and extended pieces, and the text."""
    start = 0
    while start < min(len(base_ids), len(extended_ids)) and base_ids[start] == extended_ids[start]:
        start += 1
    end = 0
    while (end < min(len(base_ids), len(extended_ids)) - start
           and base_ids[len(base_ids) - 1 - end] == extended_ids[len(extended_ids) - 1 - end]):
        end += 1
    b, e = list(base_ids[start:len(base_ids) - end]), list(extended_ids[start:len(extended_ids) - end])
    return {"base": " ".join(base_tokenizer.convert_ids_to_tokens(b[:SHOWN_PIECES])),
            "extended": " ".join(extended_tokenizer.convert_ids_to_tokens(e[:SHOWN_PIECES])),
            "around": base_tokenizer.decode(list(base_ids[max(0, start - 2):start + len(b) + 2]))}


def check_items(base_tokenizer: Any, extended_tokenizer: Any,
                items: Sequence[Mapping[str, str]]) -> list[dict]:
    """Per item (a ``{label: English text}`` mapping): ``{"english_identical", "english_changed"}``.

    Every distinct text is encoded once per tokenizer (demonstrations and templates repeat across items).
    ``extended_tokenizer=None`` (nothing to check against) gives ``english_identical: None``.
    """
    items = [dict(texts) for texts in items]
    if extended_tokenizer is None:
        return [{"english_identical": None, "english_changed": []} for _ in items]
    unique = list(dict.fromkeys(t for texts in items for t in texts.values()))
    same = dict(zip(unique, english_identity(base_tokenizer, extended_tokenizer, unique)))
    changed_texts = [t for t in unique if not same[t]]
    base_ids = dict(zip(changed_texts, _encode(base_tokenizer, changed_texts)))
    ext_ids = dict(zip(changed_texts, _encode(extended_tokenizer, changed_texts)))
    out = []
    for texts in items:
        changed = [{"text": label, **difference(base_tokenizer, extended_tokenizer, base_ids[t], ext_ids[t])}
                   for label, t in texts.items() if not same[t]]
        out.append({"english_identical": not changed, "english_changed": changed})
    return out


def identical_share(records: Sequence[Mapping]) -> float | None:
    """Share of records whose English texts are identical (``None`` when no record was checked)."""
    flags = [r["english_identical"] for r in records if r.get("english_identical") is not None]
    return sum(flags) / len(flags) if flags else None


def english_scores(records: Sequence[Mapping]) -> dict:
    """The task-level columns: ``english_identical_share`` and ``english_changed_items``."""
    return {"english_identical_share": identical_share(records),
            "english_changed_items": sum(r.get("english_identical") is False for r in records)}


def tokenizer_of(lm: Any) -> Any:
    """The tokenizer an evaluated :class:`~paper_utils.evaluate.TextLM` encodes with (``None`` if it has none)."""
    return getattr(lm, "tokenizer", None)


__all__ = ["SHOWN_PIECES", "english_identity", "difference", "check_items", "identical_share", "english_scores",
           "tokenizer_of"]
