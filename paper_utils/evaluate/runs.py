"""Stage 5: evaluate one run (base or adapted) on one language: translation, translation matching, classification,
MMLU (letter and cloze), bits per byte.

Example::

    >>> from paper_utils.config import load_preset
    >>> check_parameters(load_preset("demo"), "uz", "smollm2-135m", "bxod_sub75", tasks=["bpb"])
    ('bpb',)
    >>> eval_dir("demo", "uz", "smollm2-135m", "bxod_sub75").name
    'bxod_sub75'
    >>> run_evaluation(load_preset("smoke"), "uz", "smollm2-135m", "base")   # writes results/smoke/  # doctest: +SKIP

Outputs go to ``results/<preset>/<language>/<model>/eval/<method>/`` (:func:`eval_dir`): one JSONL of per-item
records per task (``translation_en-uz.jsonl``, ``translation_uz-en.jsonl``, ``matching_uz-en.jsonl``,
``matching_en-uz.jsonl``, ``classification.jsonl``, ``mmlu.jsonl``, ``mmlu_cloze.jsonl``, ``bpb.jsonl``) and
``scores.json`` (corpus scores, sacrebleu signatures, item counts, the exact prompt settings and the data notes).
Every file is written atomically. An interrupted evaluation resumes task by task: each finished task is recorded in
``progress.json`` with its files' sha256, and a rerun with the same weights, tokenizer, settings and scoring code
takes it back instead of scoring it again (:mod:`~paper_utils.evaluate.progress`); the record is removed with ``scores.json``
written.

Tasks (:data:`TASKS`) and their primary score in ``scores.json["tasks"]``: ``translation`` (per direction:
``chrf++``, BLEU beside it as ``bleu``; :mod:`~paper_utils.evaluate.translation`), ``matching`` (per direction:
``accuracy``, per-byte normalized; :mod:`~paper_utils.evaluate.matching`, every language), ``classification``
(``accuracy`` and ``accuracy_norm``; where a labeled set exists), ``mmlu`` (letter format, ``accuracy``),
``mmlu_cloze`` (``accuracy``, per-byte normalized; :mod:`~paper_utils.evaluate.cloze`), ``bpb`` (``bpb``).

A Franken-Adapter comparison label is scored at ``[franken.evaluation]``'s sizes where the preset sets them
(:func:`paper_utils.franken_grid.evaluated_preset`; ``scores.json["evaluation_sizes"]`` says so), so it shares items
with the other comparison labels, not with the staged runs.

The model is loaded as a :class:`~paper_utils.evaluate.TextLM` (:func:`load_eval_model`); every scorer reads
it through that interface. The base model's MMLU does not depend on the language: an identical finished
run of another language is reused. Bits per byte: :func:`paper_utils.bpb.bits_per_byte` on the held-out
target text (:func:`paper_utils.study.evaluation_bpb_text`: the held-out parallel targets, or the
held-out documents of ``offline-debian``), per document.

**English check.** Every English text a scorer scores is encoded by the evaluated tokenizer and by the base
tokenizer (:func:`base_tokenizer_of`) and the ids compared (:mod:`paper_utils.evaluate.english_identity`):
per item ``english_identical`` (and ``english_changed``) in the JSONL, per task ``english_identical_share``
in ``scores.json``. Bits per byte scores held-out target-language text only: its share is ``None``.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Iterable, Sequence

from .. import fixtures
from ..config import Preset
from ..errors import ConfigError, DataError
from ..fusion_data import load_trained_fusion
from ..franken_grid import evaluated_preset, franken_labels, franken_model_dir
from ..fusion_grid import fusion_labels, is_fusion_label
from ..init import smoke_setup
from ..surgery import load_causal_lm
from ..io import read_json, write_json, write_jsonl
from ..layout import ModelLayout, eval_label, study_root
from ..paths import shown
from ..study import base_tokenizer, data_source, english_bpb_texts, evaluation_bpb_text, heldout_parallel, mmlu_split
from .classification import classify
from .english_bpb import evaluate_english_bpb
from .fused import FusedTextLM
from .cloze import score_mmlu_cloze
from .items import classification_data, translation_data
from .matching import MATCHING_SEED, matching_items, score_matching
from .mmlu import score_mmlu
from .progress import PROGRESS_FILE, EvaluationProgress, evaluation_fingerprint
from .textlm import CausalTextLM, TextLM
from .translation import evaluate_translation

TASKS = ("translation", "matching", "classification", "mmlu", "mmlu_cloze", "bpb", "english_bpb")

run_label = eval_label      # folder name of an evaluated run (kept under its old name for callers)

def eval_dir(preset: str, language: str, model: str, method: str, seed: int = 0) -> Path:
    """``results/<preset>/<language>/<model key>/eval/<method>/`` (``<method>__seed<k>`` for seeds > 0)."""
    return ModelLayout(preset, language, model).eval_dir(method, seed)

def default_model_dir(preset: str, language: str, model: str, method: str, seed: int = 0) -> Path:
    """Where an adapted model is expected when no ``model_dir`` is given (the adaptation stage's output)."""
    return ModelLayout(preset, language, model).adapted_model_dir(method, seed)

def check_parameters(cfg: Preset, language: str, model: str, method: str, seed: int = 0,
                     tasks: Iterable[str] = TASKS) -> tuple[str, ...]:
    """Validate notebook parameters against the preset; returns the tasks as a tuple."""
    if language not in cfg.grid.languages:
        raise ConfigError("language", language, f"preset {cfg.name!r} has languages {list(cfg.grid.languages)}")
    if model not in cfg.grid.models and not Path(model).expanduser().is_dir():
        raise ConfigError("model", model, f"preset {cfg.name!r} has models {list(cfg.grid.models)}")
    methods = ("base",) + cfg.grid.adapt_methods + fusion_labels(cfg.fusion) + franken_labels(cfg.franken)
    if method not in methods:
        raise ConfigError("method", method, f"use one of: {', '.join(methods)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError("seed", seed, "use an integer >= 0")
    tasks = tuple([tasks] if isinstance(tasks, str) else tasks)
    bad = [t for t in tasks if t not in TASKS]
    if bad or not tasks:
        raise ConfigError("tasks", list(tasks), f"use a non-empty subset of {list(TASKS)}")
    return tasks

def load_eval_model(cfg: Preset, model: str, method: str = "base", model_dir: str = "", seed: int = 0,
                    language: str = "") -> tuple[TextLM, str]:
    """``(text LM, source)`` to evaluate.

    ``model_dir`` (any ``save_pretrained`` folder with a tokenizer) wins; else ``base`` is the named model
    (smoke preset: :func:`~paper_utils.fixtures.evaluation_model`) and an adapted method is read from
    :func:`default_model_dir`. A folder without a tokenizer raises :class:`~paper_utils.errors.AssetError`.
    A fusion label (``fusion_<mode>``, the fusion recipe) is its run's ``fusion_state.pt`` on the preset's frozen
    encoder and LLM, as a :class:`~paper_utils.evaluate.fused.FusedTextLM`.
    """
    from ..assets import load_model

    if is_fusion_label(method):
        # the fusion recipe's run (notebook 08): its trained state on the frozen encoder and LLM
        fused, parts, state = load_trained_fusion(cfg, model, method, seed)
        return (FusedTextLM(fused, parts.encoder_tokenizer, parts.tokenizer, name=method,
                            max_prompt_tokens=cfg.fusion.max_prompt_tokens), state)
    if not model_dir and method in franken_labels(cfg.franken):
        # the Franken-Adapter recipe's compared models (notebook 10); the sibling: its own folder or Hub id
        source = franken_model_dir(cfg.name, cfg.franken, language, model, method, seed)
        m, tok = load_causal_lm(source)
        return CausalTextLM(m, tok), source
    if not model_dir and method != "base":
        # stops with "run 04_adaptation for <language>/<model> first" (or pass model_dir)
        layout = ModelLayout(cfg.name, language, model)
        folder = layout.require_adapted_model(method, seed)
        m, tok = load_model(str(folder))
        return CausalTextLM(m, tok), layout.relative(folder)
    if model_dir:
        m, tok = load_model(str(model_dir))
        return CausalTextLM(m, tok), shown(model_dir)
    if data_source(cfg).tiny_models:
        m, tok = fixtures.evaluation_model()
        return CausalTextLM(m, tok), "tiny random Llama (smoke preset)"
    m, tok = load_model(model)
    return CausalTextLM(m, tok), model

def translation_style(cfg: Preset, method: str) -> str:
    """How a run is asked to translate: the Franken-Adapter recipe's runs (an instruction-tuned sibling and what
    it is compared with) zero-shot with an instruction in the chat template (``"instruction"``), as the issue and
    the paper evaluate instruction models; every other run with the 5-shot template (``"few_shot"``)."""
    return "instruction" if method in franken_labels(cfg.franken) else "few_shot"


def base_tokenizer_of(cfg: Preset, language: str, model: str, method: str, lm: TextLM):
    """The tokenizer whose English ids the evaluated model must keep.

    ``method="base"``: the evaluated model's own tokenizer (identical by construction). An adapted method:
    the grid model's base tokenizer (:func:`paper_utils.study.base_tokenizer`; smoke preset: the tiny base
    tokenizer the adapted model was extended from, :func:`paper_utils.init.smoke_setup`).
    """
    if method == "base" or is_fusion_label(method):       # a fused run's LLM keeps the base tokenizer
        return getattr(lm, "tokenizer", None)
    if data_source(cfg).tiny_models:
        return smoke_setup(cfg, language, model).base_tokenizer
    return base_tokenizer(cfg, model)

def evaluate_bpb(lm: TextLM, texts: Sequence[str], ids: Sequence[str] | None = None) -> tuple[list[dict], dict]:
    """Bits per byte of each held-out document (records) and of the corpus (all bits / all bytes)."""
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise DataError("no held-out text for bits per byte (empty test set)")
    ids = list(ids) if ids is not None else [f"doc-{i}" for i in range(len(texts))]
    start = time.perf_counter()
    res = lm.bits_per_byte(texts)
    records = [{"id": i, "text": t, "bits": b, "bytes": n, "tokens": k, "bpb": b / n}
               for i, t, b, n, k in zip(ids, texts, res.bits, res.bytes, res.tokens)]
    return records, {"bpb": res.bpb, "n": len(texts), "bytes": sum(res.bytes), "tokens": sum(res.tokens),
                     "seconds": round(time.perf_counter() - start, 2), "english_identical_share": None,
                     "english_check": "no English text: held-out target-language documents"}

def _english_note(scores: dict) -> str:
    """A log suffix when some items' English was tokenized differently from the base tokenizer."""
    changed = scores.get("english_changed_items") or 0
    return (f" [English ids differ from the base tokenizer on {changed} of {scores['n']} items: "
            "see english_changed in the JSONL]") if changed else ""

def _reuse_base_mmlu(cfg: Preset, language: str, model: str, config: dict, out: Path,
                     task: str = "mmlu") -> dict | None:
    """The base model's ``task`` (``mmlu`` or ``mmlu_cloze``) scored by another language's identical run."""
    for other in cfg.grid.languages:
        folder = eval_dir(cfg.name, other, model, "base")
        if other == language or not (folder / "scores.json").exists() or not (folder / f"{task}.jsonl").exists():
            continue
        previous = read_json(folder / "scores.json").get("tasks", {}).get(task)
        if previous and previous.get("config") == config and "english_identical_share" in previous:
            shutil.copyfile(folder / f"{task}.jsonl", out / f"{task}.jsonl")
            return {**previous, "reused_from": str(folder.relative_to(study_root(cfg.name)))}
    return None

def run_evaluation(cfg: Preset, language: str, model: str, method: str = "base", *, seed: int = 0,
                   model_dir: str = "", tasks: Iterable[str] = TASKS, batch_size: int = 8, log=print) -> dict:
    """Evaluate one run and write its folder (:func:`eval_dir`); returns the content of ``scores.json``."""
    import torch

    tasks = check_parameters(cfg, language, model, method, seed, tasks)
    sized = evaluated_preset(cfg, method)         # a Franken comparison: [franken.evaluation]'s sizes
    resized, cfg = sized is not cfg, sized
    out = eval_dir(cfg.name, language, model, method, seed)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    lm, source = load_eval_model(cfg, model, method, model_dir, seed, language)
    base_tok = base_tokenizer_of(cfg, language, model, method, lm)
    ev = cfg.evaluation
    scores: dict = {"preset": cfg.name, "language": language, "model": model, "method": method, "seed": seed,
                    "model_source": source, "data_source": cfg.data_source, "tasks": {}}
    source_data = data_source(cfg)
    run = {"preset": cfg.name, "language": language, "model": model, "method": method, "seed": seed,
           "model_dir": str(model_dir), "model_source": str(source), "batch_size": batch_size}
    progress = EvaluationProgress(out, evaluation_fingerprint(run, lm, cfg), log=log)

    if resized:
        scores["evaluation_sizes"] = {"from": "[franken.evaluation]", **dict(cfg.franken.evaluation)}
    if source_data.weights_note and cfg.name != "smoke":
        scores["note"] = source_data.weights_note

    # each task scores the model and returns (its summary, the files it wrote), in TASKS order
    def translation() -> tuple[dict, list[str]]:
        test, demos = translation_data(cfg, language, ev.translation_sentences, seed=0)
        summary = {}
        for direction in (f"en-{language}", f"{language}-en"):
            records, s = evaluate_translation(lm, test, demos, language, direction, batch_size=batch_size,
                                              max_new_tokens=source_data.translation_max_new_tokens,
                                              base_tokenizer=base_tok, style=translation_style(cfg, method))
            write_jsonl(out / f"translation_{direction}.jsonl", records)
            summary[direction] = s
            log(f"translation {direction} ({s['style']}): chrF++ {s['chrf++']:.2f} BLEU {s['bleu']:.2f} "
                f"(n={s['n']}, {s['seconds']}s)" + _english_note(s))
        return summary, [f"translation_{d}.jsonl" for d in summary]

    def matching() -> tuple[dict, list[str]]:
        targets, english = heldout_parallel(cfg, language)
        items = matching_items(targets, english, language, ev.matching_items, seed=MATCHING_SEED)
        records, by_direction = score_matching(lm, items, language, batch_size=batch_size, base_tokenizer=base_tok)
        summary = {}
        for direction, s in by_direction.items():
            write_jsonl(out / f"matching_{direction}.jsonl", [r for r in records if r["direction"] == direction])
            summary[direction] = {**s, "config": {"n": ev.matching_items, "seed": MATCHING_SEED,
                                                  "held_out_pairs": len(targets)}}
            log(f"matching {direction}: acc {s['accuracy']:.3f} (per byte; sum {s['accuracy_sum']:.3f}, chance 0.25, "
                f"n={s['n']})" + _english_note(s))
        return summary, [f"matching_{d}.jsonl" for d in summary]

    def classification() -> tuple[dict, list[str]]:
        data = classification_data(cfg, language, ev.classification_items, seed=0)
        if data is None:
            log(f"classification: skipped (no offline labeled set for {language})")
            return {"skipped": f"no labeled classification set for {language!r} offline"}, []
        task, labels, test, demos = data
        records, s = classify(lm, test, demos, labels, task, batch_size=batch_size, base_tokenizer=base_tok)
        write_jsonl(out / "classification.jsonl", records)
        log(f"classification {task}: acc {s['accuracy']:.3f} acc_norm {s['accuracy_norm']:.3f} (n={s['n']})"
            + _english_note(s))
        return s, ["classification.jsonl"]

    def mmlu_config(shots: int) -> dict:
        return {"n": ev.mmlu_questions, "seed": 0, "data_source": cfg.data_source, "shots": shots,
                "subjects": ev.mmlu_subjects or "all"}

    def reused_base(task: str, config: dict) -> dict | None:
        return _reuse_base_mmlu(cfg, language, model, config, out, task) if method == "base" and not model_dir else None

    def mmlu() -> tuple[dict, list[str]]:
        config = mmlu_config(5)
        s = reused_base("mmlu", config)
        if s is None:
            items, pool = mmlu_split(ev.mmlu_questions, 0, cfg.data_source, subjects=ev.mmlu_subjects)
            res = score_mmlu(lm, items, pool, batch_size=batch_size, base_tokenizer=base_tok)
            write_jsonl(out / "mmlu.jsonl", res.records())
            s = {**res.summary(), "config": config}
        log(f"mmlu: acc {s['accuracy']:.3f} (n={s['n']})" + (" [reused]" if "reused_from" in s else "")
            + _english_note(s))
        return s, ["mmlu.jsonl"]

    def mmlu_cloze() -> tuple[dict, list[str]]:
        config = mmlu_config(0)
        s = reused_base("mmlu_cloze", config)
        if s is None:
            items, _ = mmlu_split(ev.mmlu_questions, 0, cfg.data_source, subjects=ev.mmlu_subjects)
            records, s = score_mmlu_cloze(lm, items, batch_size=batch_size, base_tokenizer=base_tok)
            write_jsonl(out / "mmlu_cloze.jsonl", records)
            s = {**s, "config": config}
        log(f"mmlu cloze: acc {s['accuracy']:.3f} (per byte; sum {s['accuracy_sum']:.3f}, n={s['n']})"
            + (" [reused]" if "reused_from" in s else "") + _english_note(s))
        return s, ["mmlu_cloze.jsonl"]

    def bpb() -> tuple[dict, list[str]]:
        records, s = evaluate_bpb(lm, evaluation_bpb_text(cfg, language))
        write_jsonl(out / "bpb.jsonl", records)
        log(f"bpb: {s['bpb']:.4f} (n={s['n']} documents)")
        return s, ["bpb.jsonl"]

    def english_bpb() -> tuple[dict, list[str]]:
        records, s = evaluate_english_bpb(lm, english_bpb_texts(cfg), base_tokenizer=base_tok)
        write_jsonl(out / "english_bpb.jsonl", records)
        log(f"English bpb: {s['bpb']:.4f} (n={s['n']} documents; "
            + ", ".join(f"{k} {v['bpb']:.3f}" for k, v in s["by_source"].items()) + ")")
        return s, ["english_bpb.jsonl"]

    scorers = {"translation": translation, "matching": matching, "classification": classification, "mmlu": mmlu,
               "mmlu_cloze": mmlu_cloze, "bpb": bpb, "english_bpb": english_bpb}
    for task in (t for t in TASKS if t in tasks):
        summary = progress.finished(task)     # an interrupted run of these weights, code and settings finished it
        if summary is not None:
            log(f"{task}: taken from the interrupted run ({PROGRESS_FILE}: same weights, code and settings)")
        else:
            summary, files = scorers[task]()
            progress.record(task, summary, files)
        scores["tasks"][task] = summary
    write_json(out / "scores.json", scores)
    progress.clear()                          # finished: a later run of this folder starts afresh
    return scores


__all__ = ["TASKS", "eval_dir", "default_model_dir", "check_parameters", "load_eval_model", "base_tokenizer_of", "translation_style",
           "evaluate_bpb",
           "run_evaluation", "run_label"]
