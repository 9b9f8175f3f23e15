"""The fusion recipe: a frozen multilingual encoder fused into the frozen LLM, fusion + projection trained on English.

Example::

    >>> import tempfile
    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("smoke", **{"grid.recipes": ["staged", "fusion"],
    ...                               "fusion": {"modes": ["global_softmax"], "steps": 2, "batch_size": 2}})
    >>> result = run_fusion(cfg, "smollm2-135m", "fusion_global_softmax", seed=0,
    ...                     out_dir=tempfile.mkdtemp(), log=lambda line: None)          # seconds
    >>> [r["step"] for r in result.log if r["type"] == "eval"], result.summary["fusion_mode"]
    ([0, 1, 2], 'global_softmax')
    >>> result.summary["final_heldout_loss"] > 0, (result.out_dir / "fusion_state.pt").exists()
    (True, True)

One run is (model, fusion mode, seed), labeled ``fusion_<mode>`` (:mod:`paper_utils.fusion_grid`):
:func:`paper_utils.train.loop` trains the fusion, the projection and the end-of-input vector of a
:class:`~paper_utils.fusion.FusedEncoderLM` (encoder and LLM frozen; stage kind ``fusion``) for ``[fusion] steps``
on the English pairs of the train task files: the prompt through the encoder (truncated to ``max_prompt_tokens``
encoder tokens, at most the encoder's own limit), the response (``max_response_tokens`` LLM tokens, then the LLM's
EOS) scored by the LLM, loss on the response only. The stream (:class:`paper_utils.train.streams.ExampleStream`) is a pure function of the step,
so checkpoints resume bit-identically. Every ``eval_every`` steps the held-out English loss (mean nats per
response token over ``heldout_pairs`` held-out pairs, task-balanced: :func:`~paper_utils.fusion_data.heldout_english`;
per pair in ``document_loss``) is logged (runs trained before commit efdb865 (2026-12-02) logged the held-out task files'
first 64 rows instead, one file's four-token answers), and with ``[fusion] translation_eval_pairs`` the target-language loss of every grid language
(``translation_loss_<lang>``: the encoder reads a dev-split target sentence, the LLM scores its human English;
:func:`paper_utils.fusion_data.translation_pairs`); ``summary.json`` keeps the first and last of each. Files in ``results/<preset>/fusion/<model key>/fusion_<mode>__seed<k>/``
(:func:`~paper_utils.layout.fusion_dir`): ``train_log.jsonl``, ``summary.json`` and
``fusion_state.pt`` (:meth:`~paper_utils.fusion.FusedEncoderLM.fusion_state`, written atomically, before the
summary; checkpoints are removed after it). The training is English only, so it has no language: one training per
(model, mode, seed) serves every language of the grid, and the language axis is the evaluation's (stage 05 scores
the run on each language, each job depending on the one training job).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

from ..config import Preset
from ..fusion_data import (FusionParts, build_fused, check_run, english_pairs, heldout_english, load_fusion_parts,
                           translation_pairs)
from ..fusion_grid import VECTOR_PARAMETERS
from ..io import read_json, write_json
from ..jobs import Job
from ..layout import ModelLayout, fusion_dir, fusion_state_file, fusion_token_weights_file, model_key, relative
from ..registry import register_recipe
from ..surfaces import vocab_fingerprint
from ..train import AdaptConfig, Stage, loop, read_log
from ..train.objectives import response_loss_evaluator
from ..train.streams import ExampleStream

NOTEBOOK = "08_encoder_fusion"


@register_recipe("fusion", summary="a frozen multilingual encoder's fused layers projected into the frozen LLM; "
                                   "fusion + projection trained on English pairs")
def fusion_jobs(p: Preset) -> list[Job]:
    """Notebook 08 (training, English only) once per model x mode x seed, then 05 (evaluation) for every language."""
    jobs, trained = [], {}
    for model, label, seed in p.fusion_trainings():
        out = fusion_dir(p.name, model, label, seed)
        job = Job(NOTEBOOK, training_key(model, label, seed), {"preset": p.ref, "model": model, "method": label,
                                                               "seed": seed},
                  tuple(relative(p.name, path) for path in (out / "summary.json",
                                                            fusion_state_file(p.name, model, label, seed))),
                  timeout_s=7200)
        jobs.append(job)
        trained[(model, label, seed)] = job.job_id
    for r in p.fusion_runs():
        lay = ModelLayout(p.name, r.language, r.model)
        jobs.append(Job("05_evaluation", (r.language, lay.key, r.method, f"seed{r.seed}"),
                        {"preset": p.ref, "language": r.language, "model": r.model, "method": r.method, "seed": r.seed},
                        (lay.relative(lay.eval_dir(r.method, r.seed) / "scores.json"),),
                        depends=(trained[(r.model, r.method, r.seed)],),
                        timeout_s=7200))
    return jobs


def training_key(model: str, label: str, seed: int) -> tuple[str, str, str]:
    """The job key of a fusion training: ``(model key, label, seed<k>)``; no language (it is English only)."""
    return (model_key(model), label, f"seed{seed}")


# ------------------------------------------------------------------------------------------------ data

def tokenize_pairs(pairs: Sequence[dict], parts: FusionParts, max_prompt_tokens: int,
                   max_response_tokens: int) -> tuple[list[tuple[list[int], list[int]]], dict]:
    """``[(encoder ids of the prompt, LLM ids of the response + EOS)]`` and counts of what was truncated."""
    limit = parts.prompt_limit(max_prompt_tokens)
    eos = parts.tokenizer.eos_token_id
    prompts = parts.encoder_tokenizer([p["prompt"] for p in pairs])["input_ids"]
    responses = parts.tokenizer([p["response"] for p in pairs], add_special_tokens=False)["input_ids"]
    out, cut_prompts, cut_responses = [], 0, 0
    for ids, resp in zip(prompts, responses):
        if len(ids) > limit:                      # keep the start and the tokenizer's closing special token
            ids, cut_prompts = ids[:limit - 1] + ids[-1:], cut_prompts + 1
        if len(resp) > max_response_tokens:
            resp, cut_responses = resp[:max_response_tokens], cut_responses + 1
        if resp:
            out.append((list(ids), list(resp) + ([eos] if eos is not None else [])))
    return out, {"pairs": len(out), "prompt_limit": limit, "truncated_prompts": cut_prompts,
                 "truncated_responses": cut_responses}


def collate(examples: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict:
    """Right-padded ``input_ids``/``attention_mask`` (encoder) and ``target_ids``/``target_mask`` (LLM)."""
    import torch

    def pad(rows, value):
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), value, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r)], mask[i, :len(r)] = torch.tensor(r, dtype=torch.long), 1
        return ids, mask

    input_ids, attention_mask = pad([e[0] for e in examples], pad_id)
    target_ids, target_mask = pad([e[1] for e in examples], 0)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "target_ids": target_ids,
            "target_mask": target_mask}


def fused_loss(model, batch) -> Any:
    """The LM loss on the response tokens of a :func:`collate` batch."""
    return model(batch["input_ids"], batch["attention_mask"], batch["target_ids"], batch["target_mask"]).loss


def select_fusion(model, stage, config, new_ids):
    """The loop's parameter selection for stage kind ``fusion``: what the fused model leaves trainable, no hooks."""
    return model, []


def heldout_evaluator(pad_id: int, batch_size: int, translation: dict[str, list] | None = None
                      ) -> Callable[[Any, list], dict]:
    """``evaluate(model, examples)``: mean nats per response token (``heldout_loss``) and per pair; with
    ``translation`` (``{language: tokenized X->English pairs}``) also ``translation_loss_<language>``, the mean nats
    per English token when the encoder reads the target-language sentence."""
    def nll(model, batch):
        s, c = model.target_loglik(**batch)
        return -s, c
    english = response_loss_evaluator(collate, nll, pad_id, batch_size, device_of=lambda m: m.projection.weight.device)

    def evaluate(model, examples) -> dict:
        values = english(model, examples)
        for lang, pairs in (translation or {}).items():
            values[f"translation_loss_{lang}"] = english(model, pairs)["heldout_loss"]
        return values
    return evaluate


# ------------------------------------------------------------------------------------------------ a run

@dataclass
class FusionResult:
    out_dir: Path
    log: list[dict]
    summary: dict
    model: Any = field(default=None, repr=False)
    parts: FusionParts | None = field(default=None, repr=False)     # the frozen encoder, LLM and tokenizers


def fusion_config(cfg: Preset, seed: int, mode: str, model: str | None = None, **overrides) -> AdaptConfig:
    """The loop's settings of a ``mode`` fusion run from ``[fusion]`` (one stage of kind ``fusion``); ``model``'s
    ``micro_batch_sizes`` entry, where it has one, splits each step into forwards of that many pairs."""
    f = cfg.fusion
    scales = () if f.vector_learning_rate is None else tuple(
        (name, f.vector_learning_rate / f.learning_rate) for name in VECTOR_PARAMETERS[mode])
    values = dict(stages=(Stage("fusion", f.steps),), seq_len=max(2, f.max_prompt_tokens + f.max_response_tokens),
                  batch_size=f.batch_size, learning_rate=f.learning_rate, seed=seed, eval_every=f.eval_every,
                  eval_documents=f.heldout_pairs, device=cfg.device if cfg.device in ("auto", "cpu", "cuda") else "auto",
                  lr_scales=scales)
    if model is not None and f.micro_batch_size(model):
        values["micro_batch_size"] = f.micro_batch_size(model)      # only when set: other runs keep their weights key
    values.update(overrides)
    return AdaptConfig(**values)


def start_fingerprint(model, parts: FusionParts) -> str:
    """Identity of what a run starts from: mode, sizes, the frozen parts' weights (sampled), the trained part's
    initial values and the LLM's vocabulary (a checkpoint of another start is refused on resume)."""
    import torch

    digest = hashlib.sha256(json.dumps([model.fusion_config(), type(parts.llm).__name__,
                                        vocab_fingerprint(parts.tokenizer)], sort_keys=True).encode())
    with torch.no_grad():
        frozen = [p for _, p in list(parts.encoder.named_parameters())[:3] + list(parts.llm.named_parameters())[:3]]
        for w in frozen + [p for _, p in model.trainable_named_parameters()]:
            digest.update(w.detach().float().cpu().flatten()[::97].numpy().tobytes())
    return digest.hexdigest()[:16]


def save_state(model, path: Path, extra: dict) -> Path:
    """``fusion_state()`` (+ ``extra`` strings/numbers) to ``path`` atomically (a temporary file, then a rename)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".fusion_state-", suffix=".tmp")
    os.close(fd)
    try:
        torch.save({**model.fusion_state(), **extra}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def layer_weights(model) -> list[float] | None:
    """The learned softmax over the encoder's states (``global_softmax``), else None (per token or none)."""
    return [round(float(w), 6) for w in model.fusion.weights()] if model.mode == "global_softmax" else None


def token_layer_weights(fused, encoder_tokenizer, text: str) -> dict:
    """How much each encoder state (0 = the embedding output, ``L`` = the last layer) makes up each token's fused
    vector when ``fused`` reads ``text``: ``{"text", "tokens", "weights"}`` with one row of ``L + 1`` weights per
    encoder token (``global_softmax``: the same row for every token; ``last``: all weight on the last layer)."""
    import torch

    enc = encoder_tokenizer([text], return_tensors="pt", truncation=True,
                            max_length=fused.encoder_limit or 512)
    with torch.no_grad():
        states = fused.encoder_states(enc["input_ids"], enc["attention_mask"])
        _, weights = fused.fusion(states)
    n_tokens, n_states = int(enc["input_ids"].shape[1]), int(states.shape[0])
    if weights is None:                                         # last: the last state only
        rows = torch.zeros(n_tokens, n_states)
        rows[:, -1] = 1.0
    elif weights.dim() == 1:                                    # global_softmax: one row for every token
        rows = weights.unsqueeze(0).expand(n_tokens, -1)
    else:                                                       # transformer_softmax: per token
        rows = weights[0]
    tokens = encoder_tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    return {"text": text, "tokens": tokens, "weights": [[round(float(w), 6) for w in r] for r in rows]}


def example_texts(cfg: Preset, max_encoder_tokens: int = 24, parts: FusionParts | None = None) -> dict[str, str]:
    """One held-out target sentence per grid language for the token heat map: the first held-out parallel text of
    at least three words that the encoder reads in at most ``max_encoder_tokens`` tokens (else the first text)."""
    from ..study import heldout_parallel

    out = {}
    for lang in cfg.grid.languages:
        targets, _ = heldout_parallel(cfg, lang)
        short = [t for t in targets if len(t.split()) >= 3 and (parts is None or len(
            parts.encoder_tokenizer(t)["input_ids"]) <= max_encoder_tokens)]
        if short or targets:
            out[lang] = (short or targets)[0]
    return out


def write_token_weights(cfg: Preset, model: str, label: str, seed: int, fused, parts: FusionParts,
                        texts: dict[str, str] | None = None) -> Path:
    """:func:`token_layer_weights` of one held-out sentence per language (:func:`example_texts`) to the run's
    ``token_weights.json`` (atomic); the figures read it (:func:`paper_utils.figures.figure_fusion`)."""
    texts = texts if texts is not None else example_texts(cfg, parts=parts)
    records = {lang: token_layer_weights(fused, parts.encoder_tokenizer, text) for lang, text in texts.items()}
    path = fusion_token_weights_file(cfg.name, model, label, seed)
    write_json(path, {"method": label, "seed": seed, "fusion_mode": fused.mode, "examples": records})
    return path


def run_fusion(cfg: Preset, model: str, label: str, seed: int = 0, *,
               out_dir: str | Path | None = None, resume: bool = True, parts: FusionParts | None = None,
               callback: Callable[[int, dict], None] | None = None, log: Callable[[str], None] = print,
               **overrides) -> FusionResult:
    """Train one fusion run (module doc); a finished run with the same start and settings is loaded, not retrained."""
    import torch

    mode = check_run(cfg, None, model, label, seed)
    out = Path(out_dir) if out_dir else fusion_dir(cfg.name, model, label, seed)
    state_path = out / "fusion_state.pt"
    parts = parts or load_fusion_parts(cfg, model)
    fused = build_fused(cfg, parts, label, seed)
    config = fusion_config(cfg, seed, mode, model, **overrides)
    fingerprint, wkey = start_fingerprint(fused, parts), config.weights_key()
    if resume and state_path.exists() and (out / "summary.json").exists():
        done = read_json(out / "summary.json")
        if done.get("model_fingerprint") == fingerprint and done.get("weights_key") == wkey:
            log(f"{out.name} is complete (same start and settings): loading it; pass resume=False to train again")
            fused.load_fusion_state(torch.load(state_path, map_location="cpu", weights_only=True))
            return FusionResult(out, read_log(out / "train_log.jsonl"), done, fused.eval(), parts)
    f = cfg.fusion
    pad = parts.encoder_tokenizer.pad_token_id or 0
    train, train_counts = tokenize_pairs(english_pairs(cfg, "train"), parts, f.max_prompt_tokens, f.max_response_tokens)
    heldout, held_counts = tokenize_pairs(heldout_english(cfg), parts, f.max_prompt_tokens, f.max_response_tokens)
    translation = {lang: tokenize_pairs(translation_pairs(cfg, lang, f.translation_eval_pairs), parts,
                                        f.max_prompt_tokens, f.max_response_tokens)[0]
                   for lang in cfg.grid.languages} if f.translation_eval_pairs else {}
    for lang in [lang for lang, pairs in translation.items() if not pairs]:
        log(f"{label}: {lang} has no dev-split parallel pairs: no {lang}->English loss during training")
        del translation[lang]
    log(f"{label}: {len(train)} English training pairs, {min(len(heldout), f.heldout_pairs)} held-out pairs; "
        f"{fused.count_parameters():,} trained parameters, {fused.count_parameters(trainable=False):,} frozen")
    extra = {"preset": cfg.name, "languages": list(cfg.grid.languages), "model": model, "method": label, "seed": seed,
             "recipe": "fusion", "fusion_mode": mode, "encoder": parts.encoder_name, "llm": parts.llm_name,
             "trained_parameters": fused.count_parameters(), "frozen_parameters": fused.count_parameters(False),
             "train_pairs": train_counts, "heldout_pairs": held_counts,
             "translation_eval_pairs": {lang: len(pairs) for lang, pairs in translation.items()}}
    stream = partial(ExampleStream, train, partial(collate, pad_id=pad), seed)
    start = fused.end_of_input.detach().float().clone()
    result = loop(fused, parts.tokenizer, stream, out, config, objective=fused_loss,
                  select=select_fusion, heldout_texts=heldout, evaluator=heldout_evaluator(pad, config.batch_size, translation),
                  fingerprint=fingerprint, resume=resume, export=False, extra_summary=extra, callback=callback,
                  log=log)
    trained = result.model
    evals = [r for r in result.log if r["type"] == "eval"]
    summary = {**result.summary, "step0_heldout_loss": evals[0]["heldout_loss"] if evals else None,
               "final_heldout_loss": evals[-1]["heldout_loss"] if evals else None,
               # .get: a run resumed from a checkpoint written before translation_eval_pairs was set has none at step 0
               "step0_translation_loss": {lang: evals[0].get(f"translation_loss_{lang}") for lang in translation}
               if evals else {},
               "final_translation_loss": {lang: evals[-1].get(f"translation_loss_{lang}") for lang in translation}
               if evals else {},
               "layer_weights": layer_weights(trained), "fusion_state": state_path.name,
               # how far the end-of-input vector moved from its start (|trained - start| / |start|)
               "end_of_input_shift": float((trained.end_of_input.detach().float().cpu() - start).norm()
                                           / start.norm().clamp(min=1e-12))}
    save_state(trained, state_path, {"label": label, "seed": seed})
    write_json(out / "summary.json", summary)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    return FusionResult(out, result.log, summary, trained.to("cpu").eval(), parts)


__all__ = ["NOTEBOOK", "fusion_jobs", "run_fusion", "tokenize_pairs", "collate", "fused_loss",
           "select_fusion", "heldout_evaluator", "training_key",
           "token_layer_weights", "example_texts", "write_token_weights", "fusion_config", "start_fingerprint", "save_state", "layer_weights",
           "FusionResult"]
