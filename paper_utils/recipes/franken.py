"""The Franken-Adapter recipe (arXiv 2502.08037): target-language embeddings tuned on the base, put into its sibling.

Example::

    >>> import tempfile
    >>> from paper_utils.config import load_preset
    >>> cfg = load_preset("smoke", **{"grid.recipes": ["staged", "franken"],
    ...                               "franken": {"initializers": ["fvt"], "sft_steps": 2, "sft_batch_size": 2,
    ...                                           "embedding_steps": 2}})
    >>> [j.job_id for j in franken_jobs(cfg)][:2]
    ['10_franken_adapter__uz__smollm2-135m__seed0', '05_evaluation__uz__smollm2-135m__sibling']
    >>> out = run_franken(cfg, "uz", "smollm2-135m", seed=0, log=lambda line: None)   # doctest: +SKIP
    >>> out["runs"]["franken_fvt"]["surgery_check"]["rows_equal"]                     # doctest: +SKIP
    True

One run is (language, model, seed); for each ``[franken] initializers`` label ``<init>`` it makes:

1. the vocabulary: stage 02's extended tokenizer (the paper's pruned-and-extended vocabulary is **not built**);
2. the new rows: stage 03's patch of ``<init>`` applied to the base model (:func:`paper_utils.init.apply_patch`);
3. embedding tuning of the base, body frozen, on target-language text (+ ``[adaptation] english_share`` English):
   :func:`paper_utils.train.train` with one ``embeddings`` stage of ``[franken] embedding_steps`` at
   ``embedding_learning_rate`` (``new_rows_only``: the new rows, else the whole matrix as in the paper), the
   ``[adaptation]`` sequence length and batch size (``rows_only_head``: the head's weight gradient for the new rows
   only, :func:`paper_utils.train.trainable.rows_only_head`, here and in step 6's embedding stage); its export is the
   ``base_tuned_<init>`` comparison;
4. the surgery (:mod:`paper_utils.surgery`): the tuned matrices into the sibling (:mod:`paper_utils.sibling` or
   ``[franken] sibling``), checked exact (:func:`~paper_utils.surgery.surgery_check`);
5. the export: ``franken_<init>/model/`` (and ``sibling_ext_<init>/model/``: the sibling with the untuned rows);
6. with ``[franken] staged_sibling``: the study's own route applied to the sibling, ``sibling_staged_<init>``: the
   sibling with the extended vocabulary and the patch's rows adapted by stage 04's staged schedule
   (:meth:`paper_utils.train.AdaptConfig.from_preset`: embeddings, then LoRA + embeddings) on the same text.

Every compared model is an ordinary Hugging Face folder that stage 05 evaluates like any run (labels in
:func:`paper_utils.franken_grid.franken_labels`); ``<language>/<model key>/franken/summary.json`` holds the
surgery checks, the weight shift of the sibling and the embedding tuning's cost per step.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from ..config import Preset
from ..franken_grid import SIBLING_LABEL, franken_cells, franken_label, franken_labels
from ..errors import ConfigError
from ..io import read_json, write_json
from ..jobs import Job, stage_job_id
from ..layout import ModelLayout, franken_dir
from ..registry import register_recipe
from ..train import AdaptConfig, Stage, train

NOTEBOOK = "10_franken_adapter"


@register_recipe("franken", summary="Franken-Adapter: target-language embeddings tuned on the base model (body frozen), "
                                    "transplanted into its instruction-tuned sibling")
def franken_jobs(p: Preset) -> list[Job]:
    """Notebook 10 for every (language, model, seed), then stage 05 for each of its compared models."""
    jobs = []
    for lang, model in franken_cells(p.franken, p.grid.languages, p.grid.models):
        lay = ModelLayout(p.name, lang, model)
        for seed in p.grid.seeds_for(lang, model):
            key = (lang, lay.key, f"seed{seed}")
            depends = (stage_job_id("02_vocabulary_expansion", lang, model),
                       stage_job_id("03_anchored_initialization", lang, model))
            outputs = tuple(lay.relative(franken_dir(p.name, lang, model, label, seed) / "model" / "config.json")
                            for label in franken_labels(p.franken) if label != SIBLING_LABEL)
            jobs.append(Job(NOTEBOOK, key, {"preset": p.ref, "language": lang, "model": model, "seed": seed},
                            outputs + (lay.relative(summary_path(p.name, lang, model, seed)),), depends=depends,
                            timeout_s=7200))
            for label in franken_labels(p.franken):
                jobs.append(Job("05_evaluation", (lang, lay.key, label) + ((f"seed{seed}",) if seed else ()),
                                {"preset": p.ref, "language": lang, "model": model, "method": label, "seed": seed},
                                (lay.relative(lay.eval_dir(label, seed) / "scores.json"),),
                                depends=(stage_job_id(NOTEBOOK, lang, model, f"seed{seed}"),), timeout_s=7200))
    return jobs


def check_run(cfg: Preset, language: str, model: str, seed: int = 0) -> None:
    """ConfigError naming the parameter when (language, model, seed) is no run of the preset's Franken recipe."""
    if "franken" not in cfg.grid.recipes:
        raise ConfigError("preset", cfg.name, 'its grid.recipes lacks "franken" (add it and a [franken] table)')
    cells = franken_cells(cfg.franken, cfg.grid.languages, cfg.grid.models)
    if language not in {lang for lang, _ in cells}:
        raise ConfigError("language", language, f"the Franken runs of {cfg.name!r} are on {sorted({c[0] for c in cells})}")
    if (language, model) not in cells:
        raise ConfigError("model", model, f"the Franken runs of {cfg.name!r} use {sorted({c[1] for c in cells})}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("seed", seed, "use an integer >= 0")


def summary_path(preset: str, language: str, model: str, seed: int = 0) -> Path:
    return franken_dir(preset, language, model, "summary", seed).parent / f"summary__seed{seed}.json"


def embedding_config(cfg: Preset, seed: int = 0, **overrides) -> AdaptConfig:
    """The embedding tuning's settings: one ``embeddings`` stage (``[franken]``) at ``[adaptation]``'s shapes."""
    f, a = cfg.franken, cfg.adaptation
    values = dict(stages=(Stage("embeddings", f.embedding_steps, new_rows_only=f.new_rows_only),), seq_len=a.seq_len,
                  batch_size=a.batch_size, learning_rate=f.embedding_learning_rate, english_share=a.english_share,
                  seed=seed, eval_every=f.eval_every, rows_only_head=f.rows_only_head,
                  device=cfg.device if cfg.device in ("auto", "cpu", "cuda") else "auto")
    values.update(overrides)
    return AdaptConfig(**values)


def load_sibling(cfg: Preset, model: str, base, log: Callable[[str], None] = print):
    """``(sibling, its tokenizer, where from)``: ``[franken] sibling`` (a Hub id or local folder; the ``paper``
    preset's ``google/gemma-2-2b-it``) or the study's own SFT sibling (trained here if missing, else loaded)."""
    from ..sibling import train_sibling

    name = cfg.franken.sibling
    if name:
        from ..surgery import load_causal_lm

        sibling, tok = load_causal_lm(name)          # the paper preset: a Hub id, never reached offline
        return sibling, tok, name
    result = train_sibling(cfg, model, base=base, log=log)
    return result.model.eval(), result.tokenizer, "the study's own English SFT sibling (results/<preset>/sibling/)"


def staged_sibling(cfg: Preset, language: str, model: str, seed: int, extended_sibling, tokenizer, inputs,
                   record: dict, resume: bool, log: Callable[[str], None]) -> dict:
    """Stage 04's staged adaptation of the sibling with the extended vocabulary and the patch's rows (untuned, as
    exported for ``sibling_ext_<init>``): the BXOD route on the instruction model, exported as
    ``sibling_staged_<init>/model/``; returns its training numbers."""
    import copy

    label = franken_label("sibling_staged", record["initializer"])
    config = AdaptConfig.from_preset(cfg, seed=seed, model=model, rows_only_head=cfg.franken.rows_only_head)
    heldout = [t for t in inputs.heldout_texts if t.strip()][:config.eval_documents]
    t0 = time.perf_counter()
    result = train(copy.deepcopy(extended_sibling), tokenizer, inputs.target_texts,
                   franken_dir(cfg.name, language, model, label, seed), config, english_texts=inputs.english_texts,
                   heldout_texts=heldout, new_token_ids=inputs.patch.token_ids, resume=resume,
                   extra_summary={**record, "role": "staged adaptation of the sibling (stage 04's schedule)"}, log=log)
    return {"train_seconds": round(time.perf_counter() - t0, 1), "step0_bpb": result.summary.get("step0_bpb"),
            "final_bpb": result.summary.get("final_bpb"), "stages": [s.kind for s in config.stages if s.steps]}


def run_franken(cfg: Preset, language: str, model: str, seed: int = 0, *, resume: bool = True,
                log: Callable[[str], None] = print, **overrides) -> dict:
    """Every comparison model of one (language, model, seed) (module doc); returns what ``summary`` holds."""
    import copy

    from ..adapt_data import load_inputs
    from ..init import apply_patch
    from ..sibling import weight_shift
    from ..study import data_source
    from ..surgery import check_compatible, embedding_checkpoint, export, surgery_check, transplant

    check_run(cfg, language, model, seed)
    f = cfg.franken
    runs: dict = {}
    sibling = sibling_tok = None
    for init in f.initializers:
        inputs = load_inputs(cfg, language, model, init)
        base, base_tok, ext = inputs.model, inputs.base_tokenizer, inputs.tokenizer
        if sibling is None:
            sibling, sibling_tok, source = load_sibling(cfg, model, (copy.deepcopy(base), base_tok), log)
            check_compatible(base, sibling, base_tokenizer=base_tok, sibling_tokenizer=sibling_tok)
            shift = weight_shift(base, sibling)
        base_rows = base.get_input_embeddings().weight.shape[0]
        english = [t for t in inputs.english_texts if t.strip()][:8] or ["The answer is yes."]
        apply_patch(base, inputs.patch, tokenizer=ext)
        record = {"recipe": "franken", "initializer": init, "sibling": source, "seed": seed,
                  "extended_tokenizer": inputs.notes.get("extended_tokenizer", ""), "patch": inputs.notes.get("patch"),
                  "training_text": inputs.notes.get("training_text")}
        # the sibling with its vocabulary extended and the patch's rows, untuned
        untuned = embedding_checkpoint(base, ext, base_vocab_size=base_rows, notes={"tuned": False})
        ext_label = franken_label("sibling_ext", init)
        m, t = transplant(sibling, untuned, tokenizer=ext, sibling_tokenizer=sibling_tok)
        runs[ext_label] = {"surgery_check": surgery_check(m, untuned, sibling, t, sibling_tok, english)}
        export(m, t, franken_dir(cfg.name, language, model, ext_label, seed) / "model", {**record, "tuned": False})
        if f.staged_sibling:
            runs[franken_label("sibling_staged", init)] = staged_sibling(cfg, language, model, seed, m, t, inputs,
                                                                         record, resume, log)
        del m
        # embedding tuning on the base, body frozen: its export is base_tuned_<init>
        tuned_label = franken_label("base_tuned", init)
        config = embedding_config(cfg, seed, **overrides)
        heldout = [t for t in inputs.heldout_texts if t.strip()][:config.eval_documents]
        t0 = time.perf_counter()
        result = train(base, ext, inputs.target_texts, franken_dir(cfg.name, language, model, tuned_label, seed), config,
                       english_texts=inputs.english_texts, heldout_texts=heldout, new_token_ids=inputs.patch.token_ids,
                       resume=resume, extra_summary={**record, "role": "embedding tuning on the base, body frozen"},
                       log=log)
        steps = [r for r in result.log if r["type"] == "train" and "seconds" in r]
        runs[tuned_label] = {"train_seconds": round(time.perf_counter() - t0, 1),
                             "median_step_seconds": sorted(r["seconds"] for r in steps)[len(steps) // 2] if steps else None,
                             "step0_bpb": result.summary.get("step0_bpb"), "final_bpb": result.summary.get("final_bpb")}
        # the surgery: the tuned matrices into the sibling
        tuned = embedding_checkpoint(result.model, ext, base_vocab_size=base_rows, notes={"tuned": True})
        label = franken_label("franken", init)
        out = franken_dir(cfg.name, language, model, label, seed)
        tuned.save(out / "embeddings")
        m, t = transplant(sibling, tuned, tokenizer=ext, sibling_tokenizer=sibling_tok)
        runs[label] = {"surgery_check": surgery_check(m, tuned, sibling, t, sibling_tok, english)}
        export(m, t, out / "model", {**record, "tuned": True, "surgery_check": runs[label]["surgery_check"]})
        log(f"{label}: surgery check {runs[label]['surgery_check']}")
    summary = {"preset": cfg.name, "language": language, "model": model, "seed": seed, "sibling": source,
               "tiny_models": data_source(cfg).tiny_models, "weight_shift": shift, "runs": runs,
               "vocabulary": "stage 02's extended vocabulary (the paper's pruned-and-extended vocabulary: not built)"}
    write_json(summary_path(cfg.name, language, model, seed), summary)
    return summary


def _folder_digest(folder: Path) -> str:
    """sha256 over a model folder's weights and tokenizer files (what a compared model answers with)."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted([*folder.glob("*.safetensors"), *folder.glob("tokenizer*.json"), *folder.glob("*.jinja"),
                        *folder.glob("config.json"), *folder.glob("generation_config.json")]):
        h.update(path.name.encode() + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def label_instruction_following(cfg: Preset, language: str, model: str, label: str, seed: int = 0, *,
                                resume: bool = True, log: Callable[[str], None] = print) -> dict:
    """English instruction following of one compared model, on the same held-out English prompts as the sibling's
    report (:func:`paper_utils.sibling.instruction_following`, made with seed 0 whatever the run's seed, so every
    seed's labels answer the same prompts), answered the same way (on the GPU where the preset's device allows); written once to
    ``instruction_following.json`` in the label's run folder and read back while its key matches (the prompts, the
    answer length, the scoring version, a digest of the model folder's weights and tokenizer). ``sibling``: the
    sibling report's own answers (notebook 10 writes it first). Returns ``{"label", "scores", "records", ...}``.
    """
    from ..franken_grid import franken_model_dir, parse_franken_label
    from ..layout import require, sibling_dir
    from ..sibling import IF_VERSION, follow_instructions, heldout_pairs, pairs_digest
    from ..surgery import load_causal_lm

    parse_franken_label(label)
    if label == SIBLING_LABEL:
        report = read_json(require(sibling_dir(cfg.name, model) / "instruction_following.json", "10", language, model))
        return {"label": label, "scores": report["scores"]["sibling"], "records": report["records"]["sibling"],
                "from": "the sibling's instruction_following.json"}
    pairs = heldout_pairs(cfg, 0)        # the sibling report's prompts (seed 0 for every seed: one shared report)
    folder = Path(franken_model_dir(cfg.name, cfg.franken, language, model, label, seed))
    key = {"version": IF_VERSION, "pairs": pairs_digest(pairs), "n": len(pairs),
           "max_new_tokens": cfg.franken.max_new_tokens, "model": _folder_digest(folder)}
    path = franken_dir(cfg.name, language, model, label, seed) / "instruction_following.json"
    done = read_json(path) if resume and path.exists() else {}
    if done.get("key") == key:
        return done
    import torch

    net, tokenizer = load_causal_lm(str(folder))
    if torch.cuda.is_available() and cfg.device in ("auto", "cuda"):
        net = net.to("cuda")
    records, scores = follow_instructions(net, tokenizer, pairs, cfg.franken.max_new_tokens)
    log(f"{label}: English exact match {scores['exact_match']:.3f}, chrF++ {scores['chrf++']:.2f} "
        f"({scores['seconds']:.0f} s)")
    report = {"key": key, "label": label, "language": language, "model": model, "seed": seed, "scores": scores,
              "note": "the sibling report's held-out English prompts, greedy answers in the Gemma turn format",
              "records": records}
    write_json(path, report)
    return report


def surgery_row(preset: str, language: str, model: str, initializer: str, seed: int = 0, token: str = "") -> dict:
    """The surgery on one token's row: ``token`` (default: the first new token) in the untuned sibling
    (``sibling_ext_<init>``: the patch's row), the tuned checkpoint, and the exported Franken model; ``equal``:
    the Franken model's row is the tuned row bit for bit."""
    import torch
    from transformers import AutoTokenizer

    from ..layout import require
    from ..surgery import CHECKPOINT_META, SURGERY_RECORD, embedding_row

    folder = franken_dir(preset, language, model, franken_label("franken", initializer), seed)
    require(folder / "model" / SURGERY_RECORD, "10", language, model)
    tok = AutoTokenizer.from_pretrained(str(folder / "model"))
    untuned_dir = franken_dir(preset, language, model, franken_label("sibling_ext", initializer), seed) / "model"
    base_rows = int(read_json(folder / "embeddings" / CHECKPOINT_META)["base_vocab_size"])
    token_id = tok.convert_tokens_to_ids(token) if token else base_rows
    if token_id is None or token_id == tok.unk_token_id or token_id >= len(tok):
        raise ConfigError("token", token, "name a token of the extended vocabulary (or leave it empty)")
    tuned, franken, untuned = (embedding_row(folder / "embeddings", token_id), embedding_row(folder / "model", token_id),
                               embedding_row(untuned_dir, token_id))
    return {"token": tok.convert_ids_to_tokens(token_id), "id": token_id, "new": token_id >= base_rows,
            "untuned": untuned, "tuned": tuned, "franken": franken, "equal": bool(torch.equal(tuned, franken)),
            "moved": float((tuned - untuned).norm() / untuned.norm().clamp(min=1e-30))}


__all__ = ["NOTEBOOK", "check_run", "surgery_row", "franken_jobs", "run_franken", "staged_sibling", "embedding_config",
           "load_sibling", "summary_path"]
