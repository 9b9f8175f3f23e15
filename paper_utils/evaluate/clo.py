"""Evaluation of a CLO-recipe run: held-out translated prompts, target-response rate, chrF++, English retention.

Example::

    >>> import tempfile
    >>> from paper_utils.config import load_preset
    >>> from paper_utils.fixtures import evaluation_model
    >>> cfg = load_preset("smoke", **{"grid.recipes": ["staged", "clo"],
    ...                               "clo": {"variants": ["base"], "pairs": 8, "eval_prompts": 3, "max_new_tokens": 4,
    ...                                       "retention": False}})
    >>> scores = evaluate_clo_run(cfg, "uz", "smollm2-135m", "base", start=evaluation_model(),
    ...                           out_dir=tempfile.mkdtemp(), log=lambda line: None)        # seconds
    >>> scores["target"]["n"], scores["english"]["n"], sorted(scores["items"])[:3]
    (3, 3, ['english_chrf', 'english_chrf_stats', 'english_exact'])

**Target prompts**: the first ``[clo] eval_prompts`` held-out records (:func:`paper_utils.clo_inputs.heldout_records`:
task files no run trained on), each target prompt as one user turn of the model's chat template, answered greedily
(at most ``max_new_tokens`` tokens, cut at the first newline: :func:`paper_utils.evaluate.decoding.greedy_generate`).
Scores: the **target-response rate** (the share of responses that ``paper_utils.language_id.target_rate`` calls
``language``: 1/0 per item; ``None`` with a note when that module is not installed), **chrF++** against the
translated reference response (corpus, and per item: sacrebleu's sentence chrF++ and the sentence statistics that
sum to the corpus score). **English prompts** of the same
records: chrF++ against the English ideal response and **exact match** (case- and space-insensitive). **English
retention** (``[clo] retention``): stage 05's scorers on the same TextLM: MMLU letter (5-shot) and cloze (0-shot),
``[clo] mmlu_questions`` items (0: ``evaluation.mmlu_questions``), and English bits per byte
(``evaluation.english_bpb_texts`` per held-out source). Per-item values go to ``scores.json`` (``items``: lists in
record order, the same order for every run of a language) so :func:`compare_clo_runs` can run paired tests between
variants; the generations go to ``generations.jsonl``. A stopped evaluation resumes: the generations and the
retention scores are each kept in ``progress.json`` once done (:mod:`paper_utils.evaluate.progress`). A chrF++ test is on the number the table reports: the
corpus chrF++ of both runs, recomputed in every approximate-randomization trial from the sentence statistics
(``<side>_chrf_stats``), as sacrebleu's ``--paired-ar``; mean sentence chrF++ is the labelled secondary
(``<side>_chrf_mean``). English bpb is tested on corpus bits per byte (:func:`paper_utils.stats.compare_bpb`).
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from ..clo_inputs import heldout_records, load_clo_run
from ..config import Preset
from ..errors import ConfigError
from ..io import read_json, read_jsonl, write_json, write_jsonl
from ..layout import clo_dir
from ..study import english_bpb_texts, mmlu_split
from .cloze import score_mmlu_cloze
from .english_bpb import evaluate_english_bpb
from .mmlu import score_mmlu
from .progress import PROGRESS_FILE, EvaluationProgress, content_digest, evaluation_fingerprint
from .textlm import CausalTextLM, chat_text
from .translation import translation_scores


def target_flags(responses: Sequence[str], language: str) -> tuple[list[int] | None, str]:
    """``(1/0 per response: is it in language, note)`` through ``paper_utils.language_id.target_rate``."""
    try:
        module = importlib.import_module("paper_utils.language_id")     # the CLO data stage's identifier
    except ImportError:
        return None, "paper_utils.language_id is not installed: no target-response rate"
    return [int(round(float(module.target_rate([r], language)))) for r in responses], "paper_utils.language_id"


def sentence_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> list[float]:
    """Per-item chrF++ (sacrebleu ``sentence_score``, word order 2)."""
    from sacrebleu.metrics import CHRF

    chrf = CHRF(word_order=2)
    return [round(chrf.sentence_score(h, [r]).score, 4) for h, r in zip(hypotheses, references)]


def chrf_stats(hypotheses: Sequence[str], references: Sequence[str]) -> list[list[int]]:
    """Per-sentence chrF++ statistics (sacrebleu's), whose column sums give the corpus chrF++.

    Example::

        >>> from paper_utils.stats import corpus_score
        >>> stats = chrf_stats(["el gato", "un perro"], ["el gato negro", "un perro"])
        >>> round(corpus_score(stats, "chrf++"), 2) == round(translation_scores(["el gato", "un perro"],
        ...                                                    ["el gato negro", "un perro"])["chrf++"], 2)
        True
    """
    from ..stats.metrics import resolve_metric

    return [[int(v) for v in row] for row in resolve_metric("chrf++").sentence_stats(list(hypotheses),
                                                                                      list(references))]


def _normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def evaluate_clo_run(cfg: Preset, language: str, model: str, label: str, seed: int = 0, *,
                     start: tuple[Any, Any] | None = None, out_dir: str | Path | None = None, batch_size: int = 8,
                     log: Callable[[str], None] = print) -> dict:
    """Score one run (module doc) and write ``scores.json`` and ``generations.jsonl`` into its folder.

    ``start``: ``(model, tokenizer)`` to score instead of the run's exported model (:func:`load_clo_run`)."""
    c = cfg.clo
    out = Path(out_dir) if out_dir else clo_dir(cfg.name, language, model, label, seed)
    net, tok = start if start is not None else load_clo_run(cfg, language, model, label, seed)[:2]
    lm = CausalTextLM(net.eval(), tok, name=f"{model} {label}")
    records = heldout_records(cfg, language)[:c.eval_prompts]
    if not records:
        raise ConfigError("clo.heldout_share", c.heldout_share, f"{language} has no held-out records: raise it")
    out.mkdir(parents=True, exist_ok=True)
    run = {"preset": cfg.name, "language": language, "model": model, "method": label, "seed": seed,
           "batch_size": batch_size, "records": content_digest([[r["id"], r["prompt_tgt"], r["prompt_en"],
                                                                 r["response_tgt"], r["response_en"]] for r in records])}
    progress = EvaluationProgress(out, evaluation_fingerprint(run, lm, cfg), log=log)   # a stopped evaluation resumes
    done = progress.finished("generation")
    if done is None:
        t0 = time.perf_counter()
        target = lm.generate([chat_text(tok, r["prompt_tgt"]) for r in records], max_new_tokens=c.max_new_tokens,
                             batch_size=batch_size)
        english = lm.generate([chat_text(tok, r["prompt_en"]) for r in records], max_new_tokens=c.max_new_tokens,
                              batch_size=batch_size)
        write_jsonl(out / "generations.jsonl",
                    [{"id": r["id"], "prompt_tgt": r["prompt_tgt"], "response": t, "reference": r["response_tgt"],
                      "prompt_en": r["prompt_en"], "response_en_generated": e, "reference_en": r["response_en"]}
                     for r, t, e in zip(records, target, english)])
        done = {"target": target, "english": english, "seconds": round(time.perf_counter() - t0, 1)}
        progress.record("generation", done, ["generations.jsonl"])
    else:
        log(f"{label}: generations taken from the interrupted run ({PROGRESS_FILE})")
    target, english, seconds = done["target"], done["english"], done["seconds"]
    flags, identifier = target_flags(target, language)
    target_refs, english_refs = [r["response_tgt"] for r in records], [r["response_en"] for r in records]
    items = {"target_language": flags,
             "target_chrf": sentence_chrf(target, target_refs), "target_chrf_stats": chrf_stats(target, target_refs),
             "english_chrf": sentence_chrf(english, english_refs),
             "english_chrf_stats": chrf_stats(english, english_refs),
             "english_exact": [int(_normalized(h) == _normalized(r["response_en"])) for h, r in zip(english, records)]}
    target_corpus = translation_scores(target, target_refs)
    english_corpus = translation_scores(english, english_refs)
    scores = {"preset": cfg.name, "language": language, "model": model, "method": label, "seed": seed,
              "recipe": "clo", "record_ids": [r["id"] for r in records],
              "target": {"n": len(records), "target_rate": sum(flags) / len(flags) if flags else None,
                         "identifier": identifier, "chrf++": target_corpus["chrf++"],
                         "chrf++_signature": target_corpus["chrf++_signature"]},
              "english": {"n": len(records), "chrf++": english_corpus["chrf++"],
                          "exact_match": sum(items["english_exact"]) / len(records)},
              "generation": {"max_new_tokens": c.max_new_tokens, "greedy": True, "chat_template":
                             bool(getattr(tok, "chat_template", None))},
              "items": items, "retention": {}}
    log(f"{label}: target rate {scores['target']['target_rate']}, target chrF++ {target_corpus['chrf++']:.1f}, "
        f"English chrF++ {english_corpus['chrf++']:.1f}, exact {scores['english']['exact_match']:.3f}")
    if c.retention:
        kept = progress.finished("retention")
        if kept is None:
            t0 = time.perf_counter()
            summary, retention_items = english_retention(cfg, lm, batch_size)
            kept = {"summary": summary, "items": retention_items, "seconds": round(time.perf_counter() - t0, 1)}
            progress.record("retention", kept, [])
        else:
            log(f"{label}: English retention taken from the interrupted run ({PROGRESS_FILE})")
        scores["retention"] = kept["summary"]
        items.update(kept["items"])
        seconds += kept["seconds"]
    scores["seconds"] = round(seconds, 1)
    write_json(out / "scores.json", scores)
    progress.clear()
    return scores


def english_retention(cfg: Preset, lm, batch_size: int = 8) -> tuple[dict, dict]:
    """``(summary, per-item lists)``: MMLU letter and cloze accuracy and English bpb with stage 05's scorers."""
    ev = cfg.evaluation
    items, pool = mmlu_split(cfg.clo.mmlu_questions or ev.mmlu_questions, 0, cfg.data_source,
                             subjects=ev.mmlu_subjects)
    letter = score_mmlu(lm, items, pool, batch_size=batch_size)
    cloze_records, cloze = score_mmlu_cloze(lm, items, batch_size=batch_size)
    bpb_records, bpb = evaluate_english_bpb(lm, english_bpb_texts(cfg))
    summary = {"mmlu": letter.summary(), "mmlu_cloze": cloze, "english_bpb": bpb}
    per_item = {"mmlu_correct": list(letter.correct),
                "mmlu_cloze_correct": [int(r.get("correct", 0)) for r in cloze_records],
                "english_bpb_bits": [r.get("bits") for r in bpb_records],
                "english_bpb_bytes": [r.get("bytes") for r in bpb_records]}
    return summary, per_item


def read_scores(cfg: Preset, language: str, model: str, label: str, seed: int = 0) -> dict:
    """A finished run's ``scores.json`` (MissingStageOutput naming notebook 09 when absent).

    Runs scored before the chrF++ sentence statistics were saved get them from their ``generations.jsonl``."""
    from ..clo_inputs import NOTEBOOK
    from ..layout import require

    run = clo_dir(cfg.name, language, model, label, seed)
    return with_chrf_stats(read_json(require(run / "scores.json", NOTEBOOK, language, model)), run)


def with_chrf_stats(scores: dict, run_dir: str | Path) -> dict:
    """``scores`` with ``target_chrf_stats`` / ``english_chrf_stats`` filled from ``run_dir/generations.jsonl``
    where absent (files written before they were saved); the generations must be the scored records."""
    items = scores["items"]
    if "target_chrf_stats" in items and "english_chrf_stats" in items:
        return scores
    rows = read_jsonl(Path(run_dir) / "generations.jsonl")
    if [r["id"] for r in rows] != scores["record_ids"]:
        raise ConfigError("run_dir", str(run_dir), "its generations.jsonl does not hold the scored records in order: "
                          "rerun the evaluation of this run")
    items["target_chrf_stats"] = chrf_stats([r["response"] for r in rows], [r["reference"] for r in rows])
    items["english_chrf_stats"] = chrf_stats([r["response_en_generated"] for r in rows],
                                             [r["reference_en"] for r in rows])
    return scores


BINARY_MEASURES = ("target_language", "english_exact", "mmlu_correct", "mmlu_cloze_correct")
CORPUS_MEASURES = ("target_chrf", "english_chrf", "english_bpb")
SECONDARY_MEASURES = ("target_chrf_mean", "english_chrf_mean")


def measure_items(measure: str) -> tuple[str, ...]:
    """The per-item lists of ``scores["items"]`` that a test of ``measure`` reads (:func:`compare_clo_runs`)."""
    if measure == "english_bpb":
        return "english_bpb_bits", "english_bpb_bytes"
    return (f"{measure}_stats",) if measure.endswith("_chrf") else (measure.removesuffix("_mean"),)


def has_items(scores: dict, measure: str) -> bool:
    """Whether ``scores`` holds every per-item list a test of ``measure`` needs (retention and the target-language
    flags are optional: ``[clo] retention``, py3langid)."""
    return all(scores["items"].get(k) for k in measure_items(measure))


def compare_clo_runs(a: dict, b: dict, measure: str, *, n_samples: int = 10000, ci_samples: int = 1000):
    """A paired test between two runs' scores (:func:`read_scores`) on one measure, on the number the table reports.

    ``target_chrf`` / ``english_chrf``: corpus chrF++, approximate randomization over the sentence statistics
    (delta = the difference of the two corpus scores; swaps that reproduce it exactly count, as items both runs
    answered alike cannot change it); ``english_bpb``: corpus bits per byte (the ``corpus_bpb``
    row of :func:`paper_utils.stats.compare_bpb`); McNemar for the 0/1 measures (``target_language``,
    ``english_exact``, ``mmlu_correct``, ``mmlu_cloze_correct``); ``<side>_chrf_mean``: mean sentence chrF++, a
    paired permutation test (secondary). Delta is ``b - a``. ``n_samples``: resamples of the randomization tests;
    ``ci_samples``: bootstrap resamples of the 95 % interval (0: none)."""
    from ..stats import approximate_randomization, compare_bpb, mcnemar_exact, paired_permutation

    if a.get("record_ids") != b.get("record_ids"):
        raise ConfigError("runs", (a.get("method"), b.get("method")), "they scored different held-out records: "
                          "evaluate both with the same [clo] eval_prompts and data")
    names = {"method_a": a["method"], "method_b": b["method"]}
    known = BINARY_MEASURES + CORPUS_MEASURES + SECONDARY_MEASURES
    if measure not in known:
        raise ConfigError("measure", measure, f"use one of: {', '.join(known)}")
    ia, ib = a["items"], b["items"]
    need = measure_items(measure)
    missing = [k for k in need if not ia.get(k) or not ib.get(k)]
    if measure == "target_language" and missing:
        raise ConfigError("measure", measure, "no target-language flags: py3langid is not installed (pip install "
                          "py3langid, or `make`), so the runs could not be scored for it")
    if missing:
        raise ConfigError("measure", measure, f"the runs' items lack {', '.join(missing)}: read them with "
                          "read_scores (chrF++ statistics) and score English retention ([clo] retention = true)")
    if measure == "english_bpb":
        return compare_bpb(ia["english_bpb_bits"], ia["english_bpb_bytes"], ib["english_bpb_bits"],
                           ib["english_bpb_bytes"], secondary=None, label=measure, n_samples=n_samples,
                           ci_samples=ci_samples, **names)[0]
    if measure.endswith("_chrf"):
        return approximate_randomization(ia[need[0]], ib[need[0]], "chrf++", label=measure, count_ties=True,
                                         n_samples=n_samples, ci_samples=ci_samples, **names)
    if measure.endswith("_mean"):
        return paired_permutation(ia[need[0]], ib[need[0]], label=measure, statistic="mean_sentence_chrf2++",
                                  n_samples=n_samples, ci_samples=ci_samples, **names)
    return mcnemar_exact(ia[measure], ib[measure], label=measure, ci_samples=ci_samples, **names)


__all__ = ["chat_text", "target_flags", "sentence_chrf", "chrf_stats", "evaluate_clo_run", "english_retention",
           "read_scores", "with_chrf_stats", "measure_items", "has_items", "compare_clo_runs"]
