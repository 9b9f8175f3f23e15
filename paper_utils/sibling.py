"""The study's own instruction-tuned sibling: English SFT of a base model with its embeddings frozen (issue 18).

Example::

    >>> import tempfile
    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("smoke", **{"grid.recipes": ["staged", "franken"],
    ...                               "franken": {"initializers": ["fvt"], "sft_steps": 2, "sft_batch_size": 2}})
    >>> result = train_sibling(cfg, "smollm2-135m", out_dir=tempfile.mkdtemp(), log=lambda line: None)   # seconds
    >>> [r["step"] for r in result.log if r["type"] == "eval"], result.summary["embeddings_frozen"]
    ([0, 1, 2], True)
    >>> shift = weight_shift(result.base, result.model)
    >>> shift[0]["layer"], shift[0]["relative_change"], shift[1]["relative_change"] > 0
    ('embeddings', 0.0, True)

No base model and its instruction-tuned sibling install here together, so ``demo-full`` makes one, **as the study's
own English alignment step** (reported as such everywhere): the grid model (Gemma-3-270M, base) is fine-tuned on the
English prompt -> ideal pairs of OpenAI ``evals`` (:func:`paper_utils.corpora.english_instructions`, split by task
file, so held-out prompts come from tasks never trained on) in Gemma's chat format. The base tokenizer of
Gemma-3-270M has no chat template, so Gemma's documented turn format is used (:data:`GEMMA_TURNS`:
``<start_of_turn>user\\n{prompt}<end_of_turn>\\n<start_of_turn>model\\n{response}<end_of_turn>``) and saved with the
sibling as its chat template (:data:`GEMMA_CHAT_TEMPLATE`); a tokenizer with a template uses its own. The loss is on
the response tokens only; the **embeddings are frozen** (input and, where untied, output), so base and sibling share
their embedding space exactly, as real -it siblings nearly do. ``[franken] sft_mode``: ``full`` trains every body
weight (the default: Gemma-3-270M's body is ~100M parameters, its AdamW state ~1.6 GB, and a CPU step costs about
the same as LoRA's because the frozen 262k-row output layer dominates the compute), ``lora`` trains adapters that
are merged on export. Training is :func:`paper_utils.train.loop` (checkpoints, resume, held-out response loss).
Files in ``results/<preset>/sibling/<model key>/`` (:func:`paper_utils.layout.sibling_dir`): ``train_log.jsonl``,
``summary.json``, ``model/``; the sibling is English-only, so every language's Franken run shares it.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

from .corpora.english_instructions import PACK, english_instructions, task_balanced
from .errors import ConfigError
from .fixtures import OPENAI_EVALS
from .layout import sibling_dir
from .study import data_source
from .train import AdaptConfig, AdaptResult, Stage, loop, select_stage
from .train.objectives import response_loss_evaluator as _response_loss
from .train.streams import ExampleStream
from .train.trainable import embeddings

GEMMA_TURNS = "<start_of_turn>user\n{prompt}<end_of_turn>\n<start_of_turn>model\n"
GEMMA_END = "<end_of_turn>"
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' "
    "else message['role'] %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}")


# ------------------------------------------------------------------------------------------------ data

def prompt_texts(tokenizer, prompts: Sequence[str]) -> tuple[list[str], list[int]]:
    """Each prompt as a user turn + the model turn's opening (the tokenizer's chat template, else Gemma's turn
    format), and the ids to put first (BOS, where the text does not carry it)."""
    if getattr(tokenizer, "chat_template", None):
        return [tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                              add_generation_prompt=True) for p in prompts], []
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    return [GEMMA_TURNS.format(prompt=p) for p in prompts], bos


def prompt_ids(tokenizer, prompt: str) -> list[int]:
    """Token ids of ``prompt`` as a user turn followed by the model turn's opening (BOS first where there is one)."""
    (text,), first = prompt_texts(tokenizer, [prompt])
    return first + tokenizer(text, add_special_tokens=False)["input_ids"]     # a template writes BOS itself


def end_id(tokenizer) -> int | None:
    """``<end_of_turn>`` where the tokenizer has it as a token, else EOS."""
    end = tokenizer.convert_tokens_to_ids(GEMMA_END) if GEMMA_END in tokenizer.get_vocab() else None
    return end if end is not None else tokenizer.eos_token_id


def response_ids(tokenizer, response: str) -> list[int]:
    """Ids of ``response`` and the turn's end (:func:`end_id`)."""
    end = end_id(tokenizer)
    return tokenizer(response, add_special_tokens=False)["input_ids"] + ([end] if end is not None else [])


def sft_examples(tokenizer, pairs: Sequence[dict], max_prompt_tokens: int,
                 max_response_tokens: int) -> tuple[list[tuple[list[int], int]], dict]:
    """``[(ids, prompt length)]``: prompt (its start and its final turn marker kept when cut) + response + end."""
    if not pairs:
        return [], {"pairs": 0, "truncated_prompts": 0, "truncated_responses": 0}
    texts, first = prompt_texts(tokenizer, [p["prompt"] for p in pairs])
    prompts = [first + ids for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]   # one batched call
    end = end_id(tokenizer)
    responses = [ids + ([end] if end is not None else []) for ids in
                 tokenizer([p["response"] for p in pairs], add_special_tokens=False)["input_ids"]]
    tail = len(prompt_ids(tokenizer, "")) - 1
    out, cut_p, cut_r = [], 0, 0
    for p, r in zip(prompts, responses):
        if len(p) > max_prompt_tokens:
            p, cut_p = p[:max_prompt_tokens - tail] + p[-tail:], cut_p + 1
        if len(r) > max_response_tokens:
            r, cut_r = r[:max_response_tokens], cut_r + 1
        out.append((p + r, len(p)))
    return out, {"pairs": len(out), "truncated_prompts": cut_p, "truncated_responses": cut_r}


def collate(examples: Sequence[tuple[list[int], int]], pad_id: int) -> dict:
    """Right-padded ``input_ids``/``attention_mask`` and ``labels`` (-100 on the prompt and the padding)."""
    import torch

    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros(len(examples), width, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    for i, (seq, n_prompt) in enumerate(examples):
        ids[i, :len(seq)] = torch.tensor(seq)
        mask[i, :len(seq)] = 1
        labels[i, n_prompt:len(seq)] = torch.tensor(seq[n_prompt:])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def sft_loss(model, batch) -> Any:
    """Mean cross-entropy over the response tokens of a :func:`collate` batch."""
    return model(**batch).loss


def select_body(model, stage, config, new_ids):
    """The loop's selection for the SFT: ``full`` = every weight but the embeddings, ``lora`` = the adapters only."""
    if stage.kind not in ("full", "lora"):
        raise ConfigError("franken.sft_mode", stage.kind, "use full or lora")
    model, hooks = select_stage(model, stage, config, new_ids)
    for w in embeddings(model):
        if w is not None:
            w.requires_grad_(False)                    # frozen: base and sibling share the embedding space
    return model, hooks


def response_loss_evaluator(pad_id: int, batch_size: int) -> Callable[[Any, list], dict]:
    """``evaluate(model, examples)``: mean nats per response token (``heldout_loss``) and per pair."""
    def nll(model, batch):
        import torch

        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
        labels = batch["labels"][:, 1:]
        scored = labels != -100
        per_token = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), labels.clamp(min=0),
                                                      reduction="none") * scored
        return per_token.sum(1), scored.sum(1)
    return _response_loss(collate, nll, pad_id, batch_size)


# ------------------------------------------------------------------------------------------------ a run

def english_pairs(cfg, split: str) -> list[dict]:
    """``[franken]``'s English pairs of ``split`` (the fixtures' evals layout for the smoke preset)."""
    f = cfg.franken
    roots = {PACK: OPENAI_EVALS} if data_source(cfg).tiny_models else None
    return english_instructions(split, heldout_share=f.heldout_share, pairs_per_task=f.pairs_per_task, roots=roots)


def heldout_pairs(cfg, seed: int = 0) -> list[dict]:
    """``[franken] heldout_pairs`` held-out English pairs, task-balanced (:func:`task_balanced`)."""
    return task_balanced(english_pairs(cfg, "heldout"), cfg.franken.heldout_pairs, seed)


def load_base(cfg, model: str):
    """``(base model, base tokenizer)`` of the grid ``model`` (smoke: the tiny random model stage 03 extends)."""
    if data_source(cfg).tiny_models:
        from .init import smoke_setup

        setup = smoke_setup(cfg, cfg.grid.languages[0], model)
        return setup.model, setup.base_tokenizer
    from .assets import load_model

    return load_model(model)


def sft_config(cfg, seed: int = 0, **overrides) -> AdaptConfig:
    f = cfg.franken
    values = dict(stages=(Stage(f.sft_mode, f.sft_steps),), seq_len=f.sft_max_prompt_tokens + f.sft_max_response_tokens,
                  batch_size=f.sft_batch_size, micro_batch_size=f.sft_micro_batch_size,
                  learning_rate=f.sft_learning_rate, seed=seed, eval_every=f.eval_every,
                  eval_documents=f.heldout_pairs, device=cfg.device if cfg.device in ("auto", "cpu", "cuda") else "auto")
    values.update(overrides)
    return AdaptConfig(**values)


@dataclass
class SiblingResult:
    out_dir: Path
    log: list[dict]
    summary: dict
    model: Any = field(default=None, repr=False)
    base: Any = field(default=None, repr=False)
    tokenizer: Any = field(default=None, repr=False)


def train_sibling(cfg, model: str, *, out_dir: str | Path | None = None, seed: int = 0, resume: bool = True,
                  base=None, log: Callable[[str], None] = print, **overrides) -> SiblingResult:
    """SFT of the base ``model`` on English pairs, embeddings frozen (module doc); a finished run is loaded."""
    import copy

    out = Path(out_dir) if out_dir else sibling_dir(cfg.name, model)
    base_model, tok = base if base is not None else load_base(cfg, model)
    tok = copy.deepcopy(tok)
    template_note = "the tokenizer's own chat template"
    if not getattr(tok, "chat_template", None):
        template_note = "Gemma's documented <start_of_turn> format (the base tokenizer has no chat template)"
    f = cfg.franken
    train, train_counts = sft_examples(tok, english_pairs(cfg, "train"), f.sft_max_prompt_tokens,
                                       f.sft_max_response_tokens)
    heldout, held_counts = sft_examples(tok, heldout_pairs(cfg), f.sft_max_prompt_tokens, f.sft_max_response_tokens)
    if not tok.chat_template:
        tok.chat_template = GEMMA_CHAT_TEMPLATE              # saved with the sibling: its chat format
    pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    config = sft_config(cfg, seed, **overrides)
    log(f"sibling of {model}: {len(train)} English training pairs, {min(len(heldout), f.heldout_pairs)} held-out "
        f"pairs; sft_mode={f.sft_mode}, embeddings frozen; chat format: {template_note}")
    extra = {"preset": cfg.name, "model": model, "recipe": "franken", "role": "sibling",
             "note": "the study's own English alignment step (SFT of the base model), not a released -it model",
             "sft_mode": f.sft_mode, "embeddings_frozen": True, "chat_format": template_note,
             "train_pairs": train_counts, "heldout_pairs": held_counts}
    student = copy.deepcopy(base_model)
    stream = partial(ExampleStream, train, partial(collate, pad_id=pad), seed)
    result: AdaptResult = loop(student, tok, stream, out, config, objective=sft_loss,
                               select=select_body, heldout_texts=heldout,
                               evaluator=response_loss_evaluator(pad, config.batch_size), resume=resume,
                               extra_summary=extra, log=log)
    return SiblingResult(out, result.log, result.summary, result.model, base_model, tok)


# ------------------------------------------------------------------------------------------------ checks

_LAYER = re.compile(r"\.layers\.(\d+)\.")


def weight_shift(base, sibling) -> list[dict]:
    """Per layer, ``||W_s - W_b|| / ||W_b||`` over the layer's weights (Frobenius norms of all its tensors together);
    rows ``embeddings`` (first), ``layer <k>`` and ``other`` (final norm, ...)."""
    import torch

    groups: dict[str, list[float]] = {}
    theirs = dict(sibling.named_parameters())
    w_in, w_out = embeddings(base)
    emb = {id(w_in), id(w_out)}
    for name, p in base.named_parameters():
        if name not in theirs:
            raise ConfigError("sibling", name, "the sibling lacks this weight of the base: not the same architecture")
        m = _LAYER.search(name)
        key = "embeddings" if id(p) in emb else (f"layer {int(m.group(1))}" if m else "other")
        diff = (theirs[name].detach().float() - p.detach().float()).pow(2).sum().item()
        norm = p.detach().float().pow(2).sum().item()
        acc = groups.setdefault(key, [0.0, 0.0])
        acc[0], acc[1] = acc[0] + diff, acc[1] + norm
    order = sorted(groups, key=lambda k: (k != "embeddings", k == "other", int(k.split()[1]) if k.startswith("layer") else 0))
    with torch.no_grad():
        return [{"layer": k, "relative_change": math.sqrt(groups[k][0]) / max(math.sqrt(groups[k][1]), 1e-30)}
                for k in order]


def follow_instructions(model, tokenizer, pairs: Sequence[dict], max_new_tokens: int = 32) -> tuple[list[dict], dict]:
    """Greedy answers to held-out English prompts scored against the ideal answer: per item ``exact`` (stripped,
    case-folded equality, or the ideal as the answer's first line) and sentence ``chrf++``; and their means."""
    import torch
    from sacrebleu.metrics import CHRF

    chrf = CHRF(word_order=2)
    records = []
    t0 = time.perf_counter()
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    stop = sorted({i for i in (tokenizer.eos_token_id, end_id(tokenizer)) if i is not None})
    model.eval()
    for k, pair in enumerate(pairs):
        ids = torch.tensor([prompt_ids(tokenizer, pair["prompt"])], device=device)
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                 do_sample=False, pad_token_id=pad, eos_token_id=stop or None)
        answer = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).replace(GEMMA_END, "").strip()
        ideal = pair["response"].strip()
        first = answer.splitlines()[0].strip() if answer else ""
        exact = answer.casefold() == ideal.casefold() or first.casefold() == ideal.casefold()
        records.append({"id": k, "task": pair.get("task", ""), "prompt": pair["prompt"], "ideal": ideal,
                        "answer": answer, "exact": bool(exact),
                        "chrf++": round(chrf.sentence_score(answer, [ideal]).score, 4)})
    n = max(len(records), 1)
    return records, {"n": len(records), "exact_match": sum(r["exact"] for r in records) / n,
                     "chrf++": sum(r["chrf++"] for r in records) / n, "seconds": round(time.perf_counter() - t0, 1)}


IF_VERSION = 1      # the scoring rule of :func:`follow_instructions` and the report's layout


def pairs_digest(pairs: Sequence[dict]) -> str:
    """The held-out prompts' identity in an instruction-following report's key: sha256 of (task, prompt, response)."""
    import hashlib
    import json

    items = json.dumps([[p.get("task", ""), p["prompt"], p["response"]] for p in pairs], ensure_ascii=False)
    return hashlib.sha256(items.encode()).hexdigest()[:16]


def _finite(value):
    """``value`` with every NaN float replaced by None (strict JSON)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def instruction_following(cfg, model: str, base, sibling, tokenizer, *, out_dir: str | Path | None = None,
                          seed: int = 0, resume: bool = True, log: Callable[[str], None] = print) -> dict:
    """Base vs sibling on the held-out English prompts (:func:`heldout_pairs`), with paired tests; written once.

    Both models answer every prompt greedily in the sibling's chat format (:func:`follow_instructions`). Paired
    tests, sibling vs base on the same items: exact McNemar on exact match, paired permutation on the mean
    sentence chrF++ (the two numbers reported). Also :func:`weight_shift`. Written atomically to
    ``instruction_following.json`` in :func:`~paper_utils.layout.sibling_dir` (the study's own sibling lives there;
    a released ``[franken] sibling`` gets its report there too). A rerun reads it back when its key matches: the
    pairs (task, prompt, ideal), the answer length, the chat template, ``[franken] sibling``, the scoring version
    and, for the study's own sibling, its ``summary.json``'s ``weights_key`` and ``model_fingerprint``.
    """
    import hashlib

    from .errors import DataError
    from .io import read_json, write_json
    from .stats import mcnemar_exact, paired_permutation

    out = Path(out_dir) if out_dir else sibling_dir(cfg.name, model)
    pairs = heldout_pairs(cfg, seed)
    if not pairs:
        raise DataError("instruction_following: no held-out English pairs (set [franken] heldout_pairs > 0, and check "
                        "that [franken] heldout_share holds out at least one task file)")
    trained = read_json(out / "summary.json") if (out / "summary.json").exists() and not cfg.franken.sibling else {}
    key = {"version": IF_VERSION, "pairs": pairs_digest(pairs), "n": len(pairs),
           "max_new_tokens": cfg.franken.max_new_tokens, "sibling": cfg.franken.sibling,
           "chat_template": hashlib.sha256(str(getattr(tokenizer, "chat_template", "")).encode()).hexdigest()[:16],
           "sibling_weights_key": trained.get("weights_key"),
           "sibling_fingerprint": trained.get("model_fingerprint")}
    path = out / "instruction_following.json"
    if resume and path.exists():
        done = read_json(path)
        if done.get("key") == key:
            return done
    records, scores = {}, {}
    for name, net in (("base", base), ("sibling", sibling)):
        records[name], scores[name] = follow_instructions(net, tokenizer, pairs, cfg.franken.max_new_tokens)
        log(f"{name}: exact match {scores[name]['exact_match']:.3f}, chrF++ {scores[name]['chrf++']:.2f} "
            f"({scores[name]['seconds']:.0f} s)")
    tests = [mcnemar_exact([r["exact"] for r in records["base"]], [r["exact"] for r in records["sibling"]],
                           method_a="base", method_b="sibling", label="exact_match"),
             paired_permutation([r["chrf++"] for r in records["base"]], [r["chrf++"] for r in records["sibling"]],
                                method_a="base", method_b="sibling", label="chrf++",
                                statistic="mean_sentence_chrf2++")]
    report = {"key": key, "preset": cfg.name, "model": model, "seed": seed, "sibling": cfg.franken.sibling or "own SFT",
              "note": "held-out English prompts (task files never trained on), task-balanced; greedy answers in the "
                      "sibling's chat format; exact = the answer or its first line equals the ideal, case-folded; "
                      "seconds are the run's that wrote this file",
              "scores": scores, "tests": [vars(t) for t in tests], "weight_shift": weight_shift(base, sibling),
              "records": records}
    report = _finite(report)
    write_json(path, report)
    return report


__all__ = ["GEMMA_TURNS", "GEMMA_END", "GEMMA_CHAT_TEMPLATE", "prompt_texts", "prompt_ids", "end_id", "response_ids", "sft_examples", "collate",
           "sft_loss", "select_body", "response_loss_evaluator", "english_pairs", "heldout_pairs", "load_base",
           "sft_config", "SiblingResult", "train_sibling", "weight_shift", "follow_instructions", "pairs_digest",
           "instruction_following"]
