"""The fusion recipe against its base LLM on every language: translation matching, X->English translation, sentiment.

Run (after notebook 08 trained the preset's fusion modes; the trainings are English only, one per mode)::

    PYTHONPATH=. HF_HUB_OFFLINE=1 nohup .venv/bin/python benchmarks/fusion_eval.py --preset demo-full \\
        --model smollm2-135m --languages uz ms ko es --matching 100 --translation 30 --sentiment 100 &

**What it is.** Stage 05 (``05_evaluation``) scores a fused run with the preset's full ``[evaluation]`` sizes
(``demo-full``: 1,000 MMLU questions twice, 200 translations per direction, every held-out matching pair), about
half an hour per language and system on a 2-core CPU; this benchmark scores the tasks where a multilingual encoder
reading the prompt can matter, on fewer items, for the base LLM and every trained fusion mode on the **same items**:

* ``matching``: translation matching (:func:`paper_utils.evaluate.matching.matching_items`, the stage-05 task:
  a held-out sentence and four candidates, both directions, per-byte log-likelihood, chance 0.25) on ``--matching``
  pairs per direction, the same hashed selection as stage 05 with that ``n``;
* ``translation``: ``<lang>->en`` 5-shot greedy translation of ``--translation`` held-out sentences
  (:func:`paper_utils.evaluate.translation.evaluate_translation`; the encoder reads the prompt in the target
  language, the LLM writes English), corpus chrF++;
* ``sentiment``: the Indonesian sentiment set where the preset has one (Malay offline), ``--sentiment`` items;
* ``english`` (``--english`` pairs, language ``en``, once per system): how well the bridge carries an **English**
  prompt, the training's own task on held-out task files. The held-out English pairs in task-balanced order
  (:func:`paper_utils.fusion_data.heldout_english`; every held-out task file once before any twice), only those
  whose prompt the encoder reads whole within ``[fusion] max_prompt_tokens`` (no system reads a cut prompt);
  the response's log-likelihood given the prompt, as **response bits per byte** (``sum(bits) / sum(bytes)`` of the
  responses, the bytes the same for every system). A fused system reads the prompt through the encoder and
  scores the response after its end-of-input vector, as it was trained; the base LLM reads the prompt as text, a
  newline, then the response. The training log's held-out loss of the runs trained before commit efdb865 (2026-12-02)
  was one task file's four-token answers; this task scores every trained state on a balanced set without
  retraining.

``--adapted fvt bxod_sub75`` adds stage 04's adapted models (the study's vocabulary-extension route, per language:
``results/<preset>/<lang>/<model>/adapt/<method>/model``, where it exists) as systems on the same items, each
tested against the base LLM and against every fusion mode: the "best BXOD-adapted model in one table" of the fusion
issue. Their record files carry the first 12 hex digits of the sha256 of the model's weights file. With
``--english`` each adapted model also scores the English task (reading the prompt as text, like the base LLM): the
English cost of adapting to one language, beside the bridge's, as system ``<method>-<lang>`` in language ``en``
(:func:`english_label`), tested against the base LLM and every fusion mode.

Bits per byte and English bits per byte are not scored: a fused run's are its frozen LLM's by construction
(:mod:`paper_utils.evaluate.fused`). **Tests**: exact McNemar on per-item correctness (matching per direction,
sentiment), approximate randomization on corpus chrF++ (the number the table reports), each fusion mode against
the base LLM and the modes against ``fusion_last`` (LangBridge), paired approximate randomization on corpus
response bits per byte (English); Holm over every row of the run.

**Resumable.** Each (language, system, task) writes its per-item records to ``<out>/records/`` when done, named by
the preset, language, model key, system, seed, task, item count and (fusion systems) the first 12 hex digits of the
trained state's sha256; a rerun scores only what is missing, and a retrained state or other sizes score afresh.
The fused systems read few-shot prompts cut from the left to ``[fusion] max_prompt_tokens`` encoder tokens (the base
LLM reads them whole): each record file's ``.meta.json`` counts them (``truncated_contexts``) with its seconds.
Output (``<out>``: ``results/benchmarks/fusion_eval/<model key>/`` unless ``--out`` says otherwise):
``<out>/scores.csv`` (one row per language x system x task x direction), ``<out>/significance.csv`` and
``<out>/report.json`` (settings, commit, each record file's meta), all written atomically.
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import time
from pathlib import Path

import pandas as pd

from paper_utils.config import load_preset
from paper_utils.paths import RESULTS_DIR
from paper_utils.evaluate.classification import classify
from paper_utils.evaluate.items import classification_data, translation_data
from paper_utils.evaluate.matching import MATCHING_SEED, matching_items, score_matching
from paper_utils.evaluate.runs import load_eval_model
from paper_utils.evaluate.translation import evaluate_translation
from paper_utils.fusion_data import encoder_tokenizer, heldout_english
from paper_utils.fusion_grid import fusion_labels
from paper_utils.io import read_json, read_jsonl, write_csv, write_json, write_jsonl
from paper_utils.errors import DataError
from paper_utils.layout import fusion_state_file, model_key
from paper_utils.stats import correct, mcnemar_exact
from paper_utils.stats.corpus_ratio import paired_corpus_ratio
from paper_utils.stats.translation import compare_translations
from paper_utils.study import data_source, heldout_parallel

OUT = RESULTS_DIR / "benchmarks" / "fusion_eval"


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "paper_utils", "benchmarks"],
                               capture_output=True, text=True).stdout.strip()
        return head + ("+modified" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def state_digest(path: Path) -> str:
    """The first 12 hex digits of the sha256 of a trained fusion state (records of a retrained state differ)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def weights_file(cfg, language: str, model: str, method: str, seed: int) -> Path | None:
    """Stage 04's adapted weights of ``method`` on ``language`` (``model.safetensors``), else None."""
    from paper_utils.layout import ModelLayout

    folder = ModelLayout(cfg.name, language, model).adapted_model_dir(method, seed)
    files = sorted(folder.glob("*.safetensors")) if (folder / "config.json").exists() else []
    return files[0] if files else None


ENGLISH = "en"                                    # the English task's language column


def english_label(method: str, language: str) -> str:
    """The English task's system name of stage 04's ``method`` adapted to ``language``: one per adapted model.

    >>> english_label("bxod_sub75", "uz")
    'bxod_sub75-uz'
    """
    return f"{method}-{language}"


def english_items(cfg, n: int) -> list[dict]:
    """The English task's ``n`` held-out pairs (module doc): task-balanced, each prompt read whole by the encoder
    within ``[fusion] max_prompt_tokens``; ``{"id", "task", "prompt", "response"}``."""
    tokenizer, limit = encoder_tokenizer(cfg), cfg.fusion.max_prompt_tokens
    pairs = heldout_english(cfg, n, prompt_fits=lambda text: len(tokenizer(text, verbose=False)["input_ids"]) <= limit)
    return [{"id": hashlib.sha256(f"{p['task']}\x1f{p['prompt']}".encode()).hexdigest()[:12], **p} for p in pairs
            if p["response"].strip()]


def score_english(lm, items: list[dict], batch_size: int) -> list[dict]:
    """Per-pair response bits and bytes of ``lm`` (a fused system reads the prompt through its encoder; the base
    LLM reads it as text followed by a newline)."""
    import math

    fused = hasattr(lm, "truncated_contexts")
    requests = [(it["prompt"] if fused else it["prompt"] + "\n", it["response"]) for it in items]
    logliks = lm.loglik(requests, batch_size=batch_size, share_prefix=False)
    return [{"id": it["id"], "task": it["task"], "bits": -ll / math.log(2), "bytes": len(it["response"].encode())}
            for it, ll in zip(items, logliks)]


def score(cfg, lm, language: str, task: str, args) -> list[dict]:
    """Per-item records of one task (the system's ``lm`` on ``language``)."""
    if task == "english":
        return score_english(lm, english_items(cfg, args.english), args.batch_size)
    if task == "matching":
        targets, english = heldout_parallel(cfg, language)
        items = matching_items(targets, english, language, args.matching, seed=MATCHING_SEED)
        records, _ = score_matching(lm, items, language, batch_size=args.batch_size)
        return records
    if task == "translation":
        test, demos = translation_data(cfg, language, args.translation, seed=0)
        records, _ = evaluate_translation(lm, test, demos, language, f"{language}-en", batch_size=args.batch_size,
                                          max_new_tokens=data_source(cfg).translation_max_new_tokens)
        return records
    data = classification_data(cfg, language, args.sentiment, seed=0)
    task_name, labels, test, demos = data
    records, _ = classify(lm, test, demos, labels, task_name, batch_size=args.batch_size)
    return records


def table_rows(language: str, system: str, task: str, records: list[dict]) -> list[dict]:
    from paper_utils.evaluate.translation import translation_scores

    if task == "english":
        return [{"language": language, "system": system, "task": task, "direction": "", "metric": "response_bpb",
                 "score": sum(r["bits"] for r in records) / sum(r["bytes"] for r in records), "n": len(records)}]
    if task == "translation":
        s = translation_scores([r["hypothesis"] for r in records], [r["reference"] for r in records])
        return [{"language": language, "system": system, "task": task, "direction": f"{language}-en",
                 "metric": "chrF++", "score": s["chrf++"], "n": len(records)}]
    rows = []
    for direction in dict.fromkeys(r.get("direction", "") for r in records):
        rs = [r for r in records if r.get("direction", "") == direction]
        rows.append({"language": language, "system": system, "task": task, "direction": direction,
                     "metric": "accuracy", "score": sum(bool(r["correct"]) for r in rs) / len(rs), "n": len(rs)})
    return rows


def compare(language: str, task: str, a: str, b: str, ra: list[dict], rb: list[dict], seed: int) -> list:
    out = []
    if task == "english":
        if [x["id"] for x in ra] != [x["id"] for x in rb]:
            raise DataError(f"English: {a} and {b} were scored on different pairs; delete <out>/records and rerun")
        out.append(("", paired_corpus_ratio([x["bits"] for x in ra], [x["bytes"] for x in ra],
                                            [x["bits"] for x in rb], [x["bytes"] for x in rb], seed=seed,
                                            method_a=a, method_b=b, label="response_bpb")))
        return out
    if task == "translation":
        if [r["reference"] for r in ra] != [r["reference"] for r in rb]:
            raise DataError(f"{language} translation: {a} and {b} were scored on different sentences; delete "
                            "<out>/records and rerun")
        r = compare_translations([x["hypothesis"] for x in ra], [x["hypothesis"] for x in rb],
                                 [x["reference"] for x in ra], "chrf++", test="approximate_randomization",
                                 n_samples=10000, ci_samples=1000, seed=seed, method_a=a, method_b=b)
        out.append((f"{language}-en", r))
        return out
    for direction in dict.fromkeys(x.get("direction", "") for x in ra):
        xa = [x for x in ra if x.get("direction", "") == direction]
        xb = [x for x in rb if x.get("direction", "") == direction]
        if [x["id"] for x in xa] != [x["id"] for x in xb]:
            raise DataError(f"{language} {task} {direction}: {a} and {b} were scored on different items; delete "
                            "<out>/records and rerun")
        out.append((direction, mcnemar_exact([x["correct"] for x in xa], [x["correct"] for x in xb],
                                             method_a=a, method_b=b, label=f"{task} accuracy", seed=seed)))
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="demo-full")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--languages", nargs="+", default=None, help="default: the preset's grid languages")
    ap.add_argument("--seed", type=int, default=0, help="the fusion trainings' seed")
    ap.add_argument("--matching", type=int, default=100, help="matching pairs per direction (0 = all)")
    ap.add_argument("--translation", type=int, default=30, help="<lang>->en sentences (0: skip the task)")
    ap.add_argument("--sentiment", type=int, default=100, help="sentiment items where a set exists (0: skip)")
    ap.add_argument("--english", type=int, default=128, help="held-out English pairs (0: skip the task)")
    ap.add_argument("--adapted", nargs="*", default=[], help="stage-04 adapted methods to add (where trained)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--out", type=Path, default=None, help="default: results/benchmarks/fusion_eval/<model key>/")
    args = ap.parse_args(argv)
    args.out = args.out or OUT / model_key(args.model)
    cfg = load_preset(args.preset)
    languages = args.languages or list(cfg.grid.languages)
    labels = [lab for lab in fusion_labels(cfg.fusion) if fusion_state_file(cfg.name, args.model, lab, args.seed).exists()]
    missing = [lab for lab in fusion_labels(cfg.fusion) if lab not in labels]
    if missing:
        print(f"not trained yet (notebook 08), left out: {', '.join(missing)}")
    adapted = {(language, m): weights_file(cfg, language, args.model, m, args.seed)
               for language in languages for m in args.adapted}
    for (language, m), path in list(adapted.items()):
        if path is None:
            print(f"{language}: stage 04 has not adapted {m} (seed {args.seed}): left out")
            del adapted[(language, m)]
    adapted_labels = list(dict.fromkeys(m for _, m in adapted))
    systems = ["base"] + labels + adapted_labels
    records_dir = args.out / "records"
    sizes = {"matching": args.matching, "translation": args.translation, "sentiment": args.sentiment,
             "english": args.english}
    digests = {lab: state_digest(fusion_state_file(cfg.name, args.model, lab, args.seed)) for lab in labels}
    digests.update({key: state_digest(path) for key, path in adapted.items()})
    metas: dict[str, dict] = {}
    scored_now: list[str] = []
    results: dict[tuple[str, str, str], list[dict]] = {}
    tasks_of = {language: ["matching"] + (["translation"] if args.translation else [])
                + (["sentiment"] if args.sentiment and classification_data(cfg, language, args.sentiment, seed=0)
                   is not None else []) for language in languages}
    if args.english:
        tasks_of[ENGLISH] = ["english"]                   # once per system: the bridge on English prompts
    # (system as tabled, language, the model to load, the language it was adapted to ("": none), weights digest)
    runs = [(system, language, system, "", digests.get(system)) for system in ["base"] + labels for language in tasks_of]
    english_adapted = [english_label(m, lang) for lang, m in adapted] if args.english else []
    for (lang, m), digest in ((key, digests[key]) for key in adapted):
        runs.append((m, lang, m, lang, digest))
        if args.english:                                  # the adapted model's English cost, on the same pairs
            runs.append((english_label(m, lang), ENGLISH, m, lang, digest))
    lm, loaded = None, None
    for system, language, load_system, load_language, digest in runs:
        if loaded != (load_system, load_language):
            lm, loaded = None, (load_system, load_language)      # loaded on first need, once per model
        for task in tasks_of[language]:
            stem = "__".join([cfg.name, language, model_key(args.model), system, f"seed{args.seed}", task,
                              f"n{sizes[task]}"] + ([digest] if digest else []))
            path = records_dir / f"{stem}.jsonl"
            meta_path = path.with_suffix(".meta.json")
            if not (path.exists() and meta_path.exists()):
                if lm is None:
                    lm, _ = load_eval_model(cfg, args.model, load_system, seed=args.seed, language=load_language)
                start = time.perf_counter()
                records = score(cfg, lm, language, task, args)
                meta = {"seconds": round(time.perf_counter() - start, 1),
                        "truncated_contexts": getattr(lm, "truncated_contexts", 0), "items": len(records)}
                if hasattr(lm, "truncated_contexts"):        # a fused system: prompts cut to the encoder limit
                    lm.truncated_contexts = 0
                write_jsonl(path, records)
                write_json(meta_path, meta)
                scored_now.append(path.stem)
                print(f"{language} {system} {task}: {meta['seconds']} s", flush=True)
            metas[path.stem] = read_json(meta_path)
            results[(language, system, task)] = read_jsonl(path)
    rows = [row for (lang, system, task), recs in results.items() for row in table_rows(lang, system, task, recs)]
    comparisons = []
    pairs = [("base", lab) for lab in labels] + [("fusion_last", lab) for lab in labels if lab != "fusion_last"
                                                 and "fusion_last" in labels]
    pairs += [("base", m) for m in adapted_labels + english_adapted]
    pairs += [(lab, m) for m in adapted_labels + english_adapted for lab in labels]
    for language in tasks_of:
        for task in ("matching", "translation", "sentiment", "english"):
            for a, b in pairs:
                if (language, a, task) in results and (language, b, task) in results:
                    for direction, r in compare(language, task, a, b, results[(language, a, task)],
                                                results[(language, b, task)], args.seed):
                        comparisons.append((language, task, direction, r))
    corrected = correct([r for _, _, _, r in comparisons])
    sig = [{"language": lang, "task": task, "direction": direction, "metric": r.metric, "method_a": r.method_a,
            "method_b": r.method_b, "delta": r.delta, "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value,
            "p_holm": r.p_adjusted, "test": r.test, "statistic": r.statistic, "n": r.n}
           for (lang, task, direction, _), r in zip(comparisons, corrected)]
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "scores.csv", pd.DataFrame(rows))
    write_csv(args.out / "significance.csv", pd.DataFrame(sig))
    report = {"preset": cfg.name, "model": args.model, "seed": args.seed, "languages": languages, "systems": systems,
              "not_trained": missing, "matching_pairs_per_direction": args.matching,
              "translation_sentences": args.translation, "sentiment_items": args.sentiment,
              "english_pairs": args.english,
              "adapted": [f"{lang}:{m}" for lang, m in adapted], "english_of_adapted": english_adapted,
              "fusion": {k: v for k, v in vars(cfg.fusion).items()},
              "state_sha256_12": {k if isinstance(k, str) else ":".join(k): v for k, v in digests.items()},
              "commit": commit(),
              "records": metas, "scored_now": scored_now,
              "holm_family": len(sig)}
    write_json(args.out / "report.json", report)
    print(pd.DataFrame(rows).pivot_table(index=["language", "task", "direction"], columns="system",
                                         values="score").round(3).to_string())
    return report


if __name__ == "__main__":
    main()
