"""MMLU (English retention) scored through a :class:`~paper_utils.evaluate.TextLM`, one forward pass per question.

Example::

    >>> from paper_utils.evaluate import CausalTextLM
    >>> from paper_utils.fixtures import evaluation_model, mmlu_rows
    >>> from paper_utils.mmlu_format import held_out_split
    >>> items, pool = held_out_split(mmlu_rows(), 10, seed=0)   # 30 questions: 10 scored, 5 shots per subject
    >>> result = score_mmlu(CausalTextLM(*evaluation_model()), items, pool)
    >>> len(result.predictions), 0.0 <= result.accuracy <= 1.0
    (10, True)

The prompt and the split of few-shot pool and scored questions are :mod:`paper_utils.mmlu_format`. The
prediction is the argmax over the log-probabilities of ``" A" " B" " C" " D"`` after ``"Answer:"`` (equal
to the argmax of lm-eval's per-choice log-likelihoods, which share the same normalizer).

**Speed.** All questions of a subject share the description and shots, so their token prefix is run once and
its KV cache reused; each question then costs one forward pass over its own tokens, and only the last
position's logits are computed.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..errors import DataError
from ..mmlu_format import LETTERS, N_SHOTS, build_prompt
from .english_identity import check_items, english_scores, tokenizer_of
from .textlm import TextLM

@dataclass
class MMLUResult:
    ids: list[str]
    subjects: list[str]
    answers: list[int]
    predictions: list[int]
    logprobs: list[list[float]]          # log-softmax over the vocabulary of " A".." D", per item
    prompt_tokens: list[int]
    shared_prefix: bool
    seconds: float = 0.0
    meta: dict = field(default_factory=dict)
    english: list[dict] = field(default_factory=list)   # per item: english_identical, english_changed

    @property
    def correct(self) -> list[int]:
        return [int(p == a) for p, a in zip(self.predictions, self.answers)]

    @property
    def accuracy(self) -> float:
        return sum(self.correct) / len(self.correct)

    def records(self) -> list[dict]:
        english = self.english or [{}] * len(self.ids)
        return [{"id": i, "subject": s, "answer": LETTERS[a], "prediction": LETTERS[p], "correct": bool(p == a),
                 "logprobs": dict(zip(LETTERS, lp)), "prompt_tokens": t, **e}
                for i, s, a, p, lp, t, e in zip(self.ids, self.subjects, self.answers, self.predictions, self.logprobs,
                                                self.prompt_tokens, english)]

    def summary(self) -> dict:
        by_subject: dict[str, list[int]] = defaultdict(list)
        for s, c in zip(self.subjects, self.correct):
            by_subject[s].append(c)
        return {"accuracy": self.accuracy, "n": len(self.ids), "subjects": len(by_subject),
                "macro_accuracy": sum(sum(v) / len(v) for v in by_subject.values()) / len(by_subject),
                "seconds": round(self.seconds, 2), **self.meta,
                **(english_scores(self.english) if self.english else {})}


def score_mmlu(lm: TextLM, items: Sequence[dict], pool: dict[str, list[dict]], *, batch_size: int = 8,
               share_prefix: bool = True, base_tokenizer: Any = None) -> MMLUResult:
    """Score every item with one forward pass; predictions are the argmax over the 4 letter logits.

    Each item's full prompt (description, 5 shots with their choices and answers, the question and its
    choices, ``"Answer:"``) and the 4 letter continuations are checked against ``base_tokenizer``
    (:func:`~paper_utils.evaluate.english_identity.check_items`; ``None``: the model's own tokenizer).

    A tokenizer that splits ``" A"`` into several tokens (seen with tiny test tokenizers, never with the study's
    BPE vocabularies, whose English tokenization the expansion keeps) falls back to lm-eval's per-choice
    log-likelihood: four sequences per question, summed over the letter's tokens (``meta["one_pass"] = False``).
    """
    items = list(items)
    if not items:
        raise DataError("no MMLU questions to evaluate (empty test set)")
    for it in items:
        if it["subject"] not in pool:
            raise DataError(f"no few-shot examples for MMLU subject {it['subject']!r}")
        if int(it["answer"]) not in range(4):
            raise DataError(f"MMLU item {it.get('id')}: answer {it['answer']!r} is not one of 0..3 (A-D)")
    start = time.perf_counter()
    prompts = [build_prompt(it, pool[it["subject"]]) for it in items]
    logprobs, meta = lm.choice_logprobs(prompts, [" " + L for L in LETTERS], groups=[it["subject"] for it in items],
                                        batch_size=batch_size, share_prefix=share_prefix)
    preds = [max(range(4), key=lambda k: (lp[k], -k)) for lp in logprobs]   # first maximum, like np.argmax
    seconds = time.perf_counter() - start
    english = check_items(tokenizer_of(lm) if base_tokenizer is None else base_tokenizer, tokenizer_of(lm),
                          [{"prompt": p, **{f"choice {L}": " " + L for L in LETTERS}} for p in prompts])
    return MMLUResult([str(it["id"]) for it in items], [it["subject"] for it in items],
                      [int(it["answer"]) for it in items], preds, logprobs, meta["context_tokens"], share_prefix,
                      seconds,
                      {"shots": N_SHOTS, "prompt": "lm-eval mmlu default (see paper_utils.mmlu_format)",
                       "one_pass": meta["one_pass"]}, english)


def accuracy_ci(correct: Sequence[int], z: float = 1.96) -> tuple[float, float]:
    """Normal-approximation interval of an accuracy (for display)."""
    n = len(correct)
    p = sum(correct) / n
    h = z * math.sqrt(p * (1 - p) / n)
    return p - h, p + h


__all__ = ["MMLUResult", "score_mmlu", "accuracy_ci"]
