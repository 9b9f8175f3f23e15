"""The CLO recipe: Cross-Lingual Optimization of an instruction model, beside SFT baselines and the base model.

Example::

    >>> import tempfile
    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("smoke", **{"grid.recipes": ["staged", "clo"],
    ...                               "clo": {"variants": ["clo"], "pairs": 8, "steps": 2, "batch_size": 2,
    ...                                       "max_prompt_tokens": 24, "max_response_tokens": 8}})
    >>> result = run_clo(cfg, "uz", "smollm2-135m", "clo", seed=0, out_dir=tempfile.mkdtemp(),
    ...                  log=lambda line: None)                                     # seconds: tiny random Llama
    >>> [r["step"] for r in result.log if r["type"] == "eval"], result.summary["stage"]
    ([0, 1, 2], 'attention')
    >>> result.summary["train_pairs"], result.summary["trained_parameters"] < result.summary["parameters"]
    (16, True)

One run is (language, model, variant, seed) (:mod:`paper_utils.clo_grid`), in
:func:`~paper_utils.layout.clo_dir` (``results/<preset>/<language>/<model key>/clo/<variant>__seed<k>/``).
``clo``: :func:`paper_utils.train.loop` minimizes :class:`~paper_utils.train.preference.CloObjective` (DPO against a
frozen copy of the start model + ``nll_weight`` x the target NLL) over the 2N pairs of the first N training records
(:mod:`paper_utils.clo_inputs`), training ``[clo] stage`` (``attention``: q/k/v/o projections only). ``sft_<mode>_<k>x``:
the same loop minimizes the response NLL (:func:`~paper_utils.train.preference.sft_loss`) of the first k x N records
(``target``: x_l -> y_l; ``english_target``: x_en -> y_en and x_l -> y_l), training ``[clo] sft_stage`` (``full``
by default). ``base``: nothing is trained (the summary says so; evaluation reads the start model). Every trained run
logs the held-out target NLL (nats per response token over the first ``heldout_pairs`` held-out target records;
per record in ``document_loss``), checkpoints, resumes bit-identically after a kill (the stream is a pure function
of the step) and exports ``model/`` (LoRA merged), on CPU or GPU (``paper_utils.train.devices``). The start
fingerprint covers the model, the variant, the CLO weights and the records, so a changed setting retrains.
Evaluation (held-out prompts, target-response rate, chrF++, English retention) is
:func:`paper_utils.evaluate.clo.evaluate_clo_run`; notebook 09 runs both.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

from ..clo_inputs import (NOTEBOOK, heldout_records, load_instruction_model, preference_pairs, sft_examples,
                          training_records)
from ..clo_grid import variant_of
from ..config import Preset
from ..errors import ConfigError
from ..io import write_json
from ..jobs import Job
from ..layout import ModelLayout, clo_dir
from ..registry import register_recipe
from ..train import AdaptConfig, Stage, loop
from ..train.loop import model_fingerprint
from ..train.objectives import response_loss_evaluator
from ..train.preference import (CloObjective, ExampleStream, collate_pairs, collate_sft, encode_pair, encode_sft,
                                frozen_copy, sft_loss, token_logprobs)

@register_recipe("clo", summary="Cross-Lingual Optimization (DPO between target and English responses + target NLL, "
                                "attention only) beside SFT at N and 2N and the base instruction model")
def clo_jobs(p: Preset) -> list[Job]:
    """Notebook 09 for every CLO run (training, then evaluation): language x model x variant x seed."""
    jobs = []
    for r in p.clo_runs():
        lay = ModelLayout(p.name, r.language, r.model)
        folder = clo_dir(p.name, r.language, r.model, r.method, r.seed)
        params = {"preset": p.ref, "language": r.language, "model": r.model, "method": r.method, "seed": r.seed}
        jobs.append(Job(NOTEBOOK, (r.language, lay.key, r.method, f"seed{r.seed}"), params,
                        (lay.relative(folder / "summary.json"), lay.relative(folder / "scores.json")), timeout_s=7200))
    return jobs

# the [clo] variant's SFT mode -> the mode of paper_utils.clo_data.sft_examples
SFT_EXAMPLE_MODE = {"target": "target", "english_target": "english+target"}


def check_run(cfg: Preset, language: str, model: str, label: str, seed: int = 0) -> tuple[str, str, int]:
    """Validate a CLO run's parameters against the preset; returns its :func:`~paper_utils.clo_grid.variant_of`."""
    if not cfg.clo.enabled:
        raise ConfigError("preset", cfg.name, 'its grid.recipes lacks "clo" (add it and a [clo] table with variants '
                                              'and pairs)')
    languages, models = cfg.clo.languages or cfg.grid.languages, cfg.clo.models or cfg.grid.models
    if language not in languages:
        raise ConfigError("language", language, f"the CLO runs of preset {cfg.name!r} have languages {list(languages)}")
    if model not in models:
        raise ConfigError("model", model, f"the CLO runs of preset {cfg.name!r} have models {list(models)}")
    if label not in cfg.clo.variants:
        raise ConfigError("method", label, f"use one of: {', '.join(cfg.clo.variants)} ([clo] variants)")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("seed", seed, "use an integer >= 0")
    return variant_of(label)


def clo_config(cfg: Preset, kind: str, seed: int, **overrides) -> AdaptConfig:
    """The loop's settings of a trained variant: one stage (``[clo] stage`` for CLO, ``sft_stage`` for SFT)."""
    c = cfg.clo
    values = dict(stages=(Stage(c.stage if kind == "clo" else c.sft_stage, c.steps),),
                  seq_len=c.max_prompt_tokens + c.max_response_tokens + 1, batch_size=c.batch_size,
                  learning_rate=c.learning_rate, seed=seed, eval_every=c.eval_every, eval_documents=c.heldout_pairs,
                  device=cfg.device if cfg.device in ("auto", "cpu", "cuda") else "auto")
    values.update(overrides)
    return AdaptConfig(**values)


def heldout_evaluator(pad_id: int, batch_size: int) -> Callable[[Any, list], dict]:
    """``evaluate(model, examples)``: mean nats per response token of encoded SFT examples, and per example."""
    def nll(model, batch):
        logps, mask = token_logprobs(model, batch)
        return -logps.sum(dim=1), mask.sum(dim=1)
    return response_loss_evaluator(collate_sft, nll, pad_id, batch_size, key="heldout_target_nll")


def start_fingerprint(model, tokenizer, label: str, cfg: Preset, records: list[dict]) -> str:
    """Identity of a run's start: the model, the variant, the CLO weights and the training records' ids/texts."""
    c = cfg.clo
    digest = hashlib.sha256(json.dumps([model_fingerprint(model, tokenizer), label, c.beta, c.nll_weight,
                                        c.max_prompt_tokens, c.max_response_tokens]).encode())
    for r in records:
        digest.update(json.dumps([r["id"], r["prompt_tgt"], r["response_tgt"], r["prompt_en"], r["response_en"]],
                                 ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


@dataclass
class CloResult:
    out_dir: Path
    log: list[dict]
    summary: dict
    model: Any = field(default=None, repr=False)
    tokenizer: Any = field(default=None, repr=False)


def run_clo(cfg: Preset, language: str, model: str, label: str, seed: int = 0, *,
            out_dir: str | Path | None = None, resume: bool = True, start: tuple[Any, Any] | None = None,
            callback: Callable[[int, dict], None] | None = None, log: Callable[[str], None] = print,
            **overrides) -> CloResult:
    """Train (or, for ``base``, describe) one CLO-recipe run (module doc); a finished run is loaded, not retrained.

    ``start``: ``(model, tokenizer)`` to start from instead of :func:`~paper_utils.clo_inputs.load_instruction_model`;
    ``overrides``: :class:`~paper_utils.train.AdaptConfig` settings (tests: ``checkpoint_every``)."""
    kind, mode, multiple = check_run(cfg, language, model, label, seed)
    c = cfg.clo
    out = Path(out_dir) if out_dir else clo_dir(cfg.name, language, model, label, seed)
    net, tok = start or load_instruction_model(cfg, model)
    extra = {"preset": cfg.name, "language": language, "model": model, "method": label, "seed": seed,
             "recipe": "clo", "variant": kind, "sft_mode": mode or None, "pairs_n": c.pairs,
             "parameters": sum(p.numel() for p in net.parameters())}
    if kind == "base":
        summary = {**extra, "trained": False, "stage": None, "train_records": 0, "trained_parameters": 0}
        write_json(out / "summary.json", summary)
        log(f"{label}: the instruction model as it is (evaluation only)")
        return CloResult(out, [], summary, net.eval(), tok)
    records = training_records(cfg, language, multiple)
    held = heldout_records(cfg, language)[:c.heldout_pairs]
    pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    encode = partial(encode_sft, tok, max_prompt_tokens=c.max_prompt_tokens, max_response_tokens=c.max_response_tokens)
    heldout = [encode(r["prompt_tgt"], r["response_tgt"]) for r in held]
    config = clo_config(cfg, kind, seed, **overrides)
    fingerprint = start_fingerprint(net, tok, label, cfg, records)
    if kind == "clo":
        pairs = preference_pairs(records)
        examples = [encode_pair(tok, p, c.max_prompt_tokens, c.max_response_tokens) for p in pairs]
        objective, collate = CloObjective(frozen_copy(net), c.beta, c.nll_weight), partial(collate_pairs, pad_id=pad)
        extra.update(train_pairs=len(pairs), beta=c.beta, nll_weight=c.nll_weight, nll_on="target-prompt pairs")
    else:
        examples = [encode(e["prompt"], e["response"]) for e in sft_examples(records, SFT_EXAMPLE_MODE[mode])]
        objective, collate = sft_loss, partial(collate_sft, pad_id=pad)
        extra.update(train_examples=len(examples))
    stage = config.stages[0].kind
    extra.update(trained=True, stage=stage, train_records=len(records), heldout_records=len(heldout),
                 translators=sorted({f"{r['translator']} {r['translator_version']}" for r in records}))
    log(f"{label}: {len(records)} {language} training records -> {len(examples)} "
        f"{'preference pairs' if kind == 'clo' else 'SFT examples'}; {len(heldout)} held-out target records; "
        f"stage {stage}")
    result = loop(net, tok, lambda: ExampleStream(examples, collate, seed), out, config, objective=objective,
                  heldout_texts=heldout, evaluator=heldout_evaluator(pad, config.batch_size), fingerprint=fingerprint,
                  resume=resume, export=True, extra_summary=extra, callback=callback, log=log)
    evals = [r for r in result.log if r["type"] == "eval"]
    summary = {**result.summary, "trained_parameters": trained_parameter_count(net, stage),
               "step0_heldout_target_nll": evals[0]["heldout_target_nll"] if evals else None,
               "final_heldout_target_nll": evals[-1]["heldout_target_nll"] if evals else None}
    write_json(out / "summary.json", summary)
    return CloResult(out, result.log, summary, result.model, tok)


def trained_parameter_count(model, stage: str) -> int:
    """Parameters ``stage`` trains in ``model`` (``attention``: the q/k/v/o projections; ``full``: all; LoRA: the
    merged model's projections, which the adapters changed)."""
    from ..train.trainable import attention_parameters

    if stage == "full":
        return sum(p.numel() for p in model.parameters())
    names = set(attention_parameters(model))
    return sum(p.numel() for n, p in model.named_parameters() if n in names)


__all__ = ["NOTEBOOK", "clo_jobs", "check_run", "clo_config", "heldout_evaluator", "start_fingerprint", "run_clo",
           "CloResult", "trained_parameter_count"]
