"""The staged-adaptation recipe: an initializer's embedding patch, trained embeddings first, then LoRA.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.recipes.staged import run_adaptation
    >>> result = run_adaptation(load_preset("smoke"), "uz", "smollm2-135m", "bxod", seed=0)   # doctest: +SKIP
    >>> result.summary["final_bpb"] < result.summary["step0_bpb"]                             # doctest: +SKIP
    True

One run is (language, model, initializer or variant, seed): the base model's held-out bpb is measured
once per language and model (``adapt/base_bpb.json``), stage 03's patch is applied, and
:func:`paper_utils.train.train` runs ``[adaptation]``'s two stages (``embeddings`` on the new rows, then
``lora`` or ``full``), writing ``results/<preset>/<language>/<model key>/adapt/<label>__seed<k>/``.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable

from ..adapt_data import AdaptInputs, adapt_dir, check_parameters, load_inputs
from ..io import read_json, write_json
from ..jobs import Job, stage_job_id
from ..layout import ModelLayout
from ..registry import register_recipe
from ..train import AdaptConfig, AdaptResult, train


@register_recipe("staged", summary="an initializer's (or variant's) embedding patch; embeddings, then LoRA")
def staged_jobs(p) -> list[Job]:
    """Notebook 04 (adaptation) and 05 (evaluation) for every run: language x model x adapt method x seed.

    Inputs: stage 02's tokenizer and stage 03's patch of the run's label; outputs: the run folder's
    ``summary.json`` and exported ``model/``, then the evaluation's ``scores.json``.
    """
    jobs = []
    for r in p.runs():
        lay = ModelLayout(p.name, r.language, r.model)
        run = (r.language, lay.key, r.method, f"seed{r.seed}")
        params = {"preset": p.ref, "language": r.language, "model": r.model, "method": r.method, "seed": r.seed}
        jobs.append(Job("04_adaptation", run, params,
                        (lay.relative(lay.adapt_dir(r.method, r.seed) / "summary.json"),
                         lay.relative(lay.adapted_model_dir(r.method, r.seed) / "config.json")),
                        depends=(stage_job_id("02_vocabulary_expansion", r.language, r.model),
                                 stage_job_id("03_anchored_initialization", r.language, r.model)), timeout_s=3600))
    for r in p.runs():
        lay = ModelLayout(p.name, r.language, r.model)
        run = (r.language, lay.key, r.method, f"seed{r.seed}")
        jobs.append(Job("05_evaluation", run,
                        {"preset": p.ref, "language": r.language, "model": r.model, "method": r.method, "seed": r.seed},
                        (lay.relative(lay.eval_dir(r.method, r.seed) / "scores.json"),),
                        depends=(stage_job_id("04_adaptation", r.language, r.model, r.method, f"seed{r.seed}"),),
                        timeout_s=7200))
    return jobs


def run_adaptation(cfg, language: str, model: str, method: str, seed: int = 0, *, stage2: str = "lora",
                   out_dir: str | Path | None = None, resume: bool = True, inputs: AdaptInputs | None = None,
                   log: Callable[[str], None] = print, **overrides) -> AdaptResult:
    """Load inputs, measure the base model, apply the patch, :func:`train`, export; see the module doc."""
    from ..bpb import bits_per_byte
    from ..init import apply_patch

    check_parameters(cfg, language, model, method, seed, stage2)
    config = AdaptConfig.from_preset(cfg, seed=seed, stage2=stage2, model=model, **overrides)
    inputs = inputs or load_inputs(cfg, language, model, method)
    out = Path(out_dir) if out_dir else adapt_dir(cfg.name, language, model, method, seed)
    heldout = [t for t in inputs.heldout_texts if t.strip()][:config.eval_documents]
    # the base model's bpb on these documents, shared by every method's run (adapt/base_bpb.json)
    key = hashlib.sha256("\x1e".join([str(model), *heldout]).encode()).hexdigest()[:16]
    cache = out.parent / "base_bpb.json"
    known = read_json(cache) if cache.exists() else {}
    if key in known:
        base_bpb = known[key]
        log(f"base model held-out bpb {base_bpb:.4f} ({len(heldout)} documents, from {cache.name})")
    else:
        t0 = time.perf_counter()
        base_bpb = bits_per_byte(inputs.model, inputs.base_tokenizer, heldout).bpb
        log(f"base model held-out bpb {base_bpb:.4f} ({len(heldout)} documents, {time.perf_counter() - t0:.1f} s)")
        write_json(cache, {**known, key: base_bpb})
    apply_patch(inputs.model, inputs.patch, tokenizer=inputs.tokenizer)
    extra = {"preset": cfg.name, "language": language, "model": model, "method": method, "seed": seed,
             "new_tokens": len(inputs.patch.token_ids), "notes": inputs.notes}
    return train(inputs.model, inputs.tokenizer, inputs.target_texts, out, config,
                 english_texts=inputs.english_texts, heldout_texts=heldout,
                 new_token_ids=inputs.patch.token_ids, reference_bpb=base_bpb, resume=resume,
                 extra_summary=extra, log=log)


__all__ = ["run_adaptation", "staged_jobs"]
