"""MMLU in the cloze form (lm-eval ``mmlu_continuation``): each answer's text scored as a continuation, zero-shot.

Example::

    >>> from paper_utils.evaluate import CausalTextLM
    >>> from paper_utils.fixtures import evaluation_model, mmlu_rows
    >>> from paper_utils.mmlu_format import held_out_split
    >>> items, _ = held_out_split(mmlu_rows(), 6, seed=0)
    >>> records, scores = score_mmlu_cloze(CausalTextLM(*evaluation_model()), items)
    >>> len(records), scores["n"], 0.0 <= scores["accuracy"] <= 1.0
    (6, 6, True)
    >>> print(cloze_prompt({"subject": "anatomy", "question": " What is 2 + 2? "}))
    The following are questions (with answers) about anatomy.
    <BLANKLINE>
    Question: What is 2 + 2?
    Answer:

For small models the letter format (:mod:`paper_utils.evaluate.mmlu`, kept unchanged for comparability with the
paper) sits at chance: the model must map a letter to an answer. The cloze form asks only which answer text is most
likely after the question, so it can move when English knowledge is lost or kept. The prompt is lm-eval's
``mmlu_continuation`` (description ``"The following are questions (with answers) about <subject>."``, then
``"Question: <question.strip()>\\nAnswer:"``), continuation ``" " + choice``; **zero-shot** here (lm-eval's default
for the task is also 0 shots), on the same questions as the letter format
(:func:`paper_utils.study.mmlu_split`). **Primary**: the argmax of the log-likelihood divided by the UTF-8 bytes of
the continuation (``accuracy``, lm-eval's ``acc_norm`` counts characters; bytes here, as every per-byte score of
the study); secondary: the argmax of the summed log-likelihood (``accuracy_sum``, lm-eval's ``acc``). Ties go to
the first choice.

**English check**: the prompt and each ``" " + choice`` against the base tokenizer
(:mod:`paper_utils.evaluate.english_identity`).
"""
from __future__ import annotations

import time
from typing import Any, Sequence

from ..errors import DataError
from ..mmlu_format import LETTERS, subject_title
from .english_identity import check_items, english_scores, tokenizer_of
from .textlm import TextLM

PRIMARY = "accuracy: argmax of log-likelihood per UTF-8 byte of ' <choice>' (lm-eval acc_norm, bytes not characters)"


def cloze_prompt(item: dict) -> str:
    """lm-eval ``mmlu_continuation``'s zero-shot prompt of one question (dict with subject, question)."""
    return (f"The following are questions (with answers) about {subject_title(item['subject'])}.\n\n"
            f"Question: {item['question'].strip()}\nAnswer:")


def _argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=lambda k: (values[k], -k))


def score_mmlu_cloze(lm: TextLM, items: Sequence[dict], *, batch_size: int = 8, share_prefix: bool = True,
                     base_tokenizer: Any = None) -> tuple[list[dict], dict]:
    """Score every question's four answer texts as continuations; returns (per-item records, scores)."""
    items = list(items)
    if not items:
        raise DataError("no MMLU questions to evaluate in the cloze form (empty test set)")
    requests = []
    for it in items:
        if len(it["choices"]) != 4 or int(it["answer"]) not in range(4):
            raise DataError(f"MMLU item {it.get('id')}: needs 4 choices and an answer in 0..3, got "
                            f"{len(it['choices'])} choices and answer {it['answer']!r}")
        prompt = cloze_prompt(it)
        requests += [(prompt, " " + str(c)) for c in it["choices"]]
    start = time.perf_counter()
    ll = lm.loglik(requests, batch_size=batch_size, share_prefix=share_prefix,
                   groups=[k for k in range(len(items)) for _ in range(4)])
    seconds = time.perf_counter() - start
    english = check_items(tokenizer_of(lm) if base_tokenizer is None else base_tokenizer, tokenizer_of(lm),
                          [{"prompt": cloze_prompt(it), **{f"choice {L}": " " + str(c) for L, c in zip(LETTERS, it["choices"])}}
                           for it in items])
    records = []
    for k, (it, eng) in enumerate(zip(items, english)):
        sums = ll[4 * k:4 * k + 4]
        per_byte = [s / len((" " + str(c)).encode("utf-8")) for s, c in zip(sums, it["choices"])]
        pred, pred_sum, gold = _argmax(per_byte), _argmax(sums), int(it["answer"])
        records.append({"id": str(it["id"]), "subject": it["subject"], "answer": LETTERS[gold],
                        "prediction": LETTERS[pred], "correct": pred == gold,
                        "prediction_sum": LETTERS[pred_sum], "correct_sum": pred_sum == gold,
                        "loglik": dict(zip(LETTERS, sums)), "loglik_per_byte": dict(zip(LETTERS, per_byte)), **eng})
    n = len(records)
    scores = {"accuracy": sum(r["correct"] for r in records) / n,
              "accuracy_sum": sum(r["correct_sum"] for r in records) / n, "n": n,
              "subjects": len({r["subject"] for r in records}), "shots": 0, "primary": PRIMARY,
              "prompt": "lm-eval mmlu_continuation, zero-shot (see paper_utils.evaluate.cloze)",
              "seconds": round(seconds, 2), **english_scores(records)}
    return records, scores


__all__ = ["PRIMARY", "cloze_prompt", "score_mmlu_cloze"]
