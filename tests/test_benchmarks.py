"""The arithmetic behind the benchmark reports (``benchmarks/``): FLOPs per token, GPU peak lookup."""
from __future__ import annotations

import importlib.util

import pytest

from paper_utils.fixtures import tiny_model
from paper_utils.paths import REPO_ROOT


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def throughput():
    return _load("train_throughput")


@pytest.mark.parametrize("tied", [True, False])
def test_flops_per_token_counts_every_matmul_once_plus_attention(throughput, tied):
    # tiny Llama: hidden 64, MLP 128, 2 layers, 4 heads of 16, 2 KV heads, vocabulary 100
    model = tiny_model("llama", 100, tied=tied)
    h, m, layers, kv = 64, 128, 2, 2 * 16
    per_layer = h * h + h * kv + h * kv + h * h + 3 * h * m      # q, k, v, o, gate/up/down
    head = 100 * h                                              # the output projection runs tied or not
    expected = 6 * (layers * per_layer + head) + 12 * layers * h * 256
    assert throughput.flops_per_token(model, 256) == expected


@pytest.mark.parametrize("name, peak", [("NVIDIA H100 80GB HBM3", 989.4e12), ("NVIDIA H100 PCIe", 756.0e12),
                                        ("NVIDIA H100 NVL", 835.0e12), ("NVIDIA H200", 989.4e12),
                                        ("NVIDIA A100-SXM4-80GB", 312.0e12), ("NVIDIA L4", 121.0e12),
                                        ("NVIDIA L40", None), ("Tesla T4", None)])
def test_peak_flops_matches_the_most_specific_gpu_name(throughput, name, peak):
    assert throughput.peak_flops(name) == peak


def test_fusion_eval_scores_base_and_fusion_on_the_same_items_and_resumes(tmp_path, smoke_fusion_preset):
    """benchmarks/fusion_eval.py on the smoke preset with the recipe added: base and one trained mode, uz and ms,
    every task, McNemar / chrF++ randomization rows with Holm; a rerun scores nothing again."""
    import json

    from paper_utils.config import load_preset
    from paper_utils.recipes.fusion import run_fusion

    preset = smoke_fusion_preset('modes = ["last", "global_softmax"]\nsteps = 1\nbatch_size = 2\nheldout_pairs = 2\n')
    run_fusion(load_preset(str(preset)), "smollm2-135m", "fusion_last", 0, log=lambda line: None)
    bench, out = _load("fusion_eval"), tmp_path / "bench"
    argv = ["--preset", str(preset), "--matching", "4", "--translation", "2", "--sentiment", "4", "--english", "5",
            "--out", str(out)]
    report = bench.main(argv)
    assert report["systems"] == ["base", "fusion_last"] and report["not_trained"] == ["fusion_global_softmax"]
    scores = __import__("pandas").read_csv(out / "scores.csv")
    assert set(scores["language"]) == {"uz", "ms", "en"} and set(scores["system"]) == {"base", "fusion_last"}
    assert {"matching", "translation", "english"} <= set(scores["task"])
    english = scores[scores["task"] == "english"]
    assert list(english["metric"]) == ["response_bpb"] * 2 and (english["score"] > 0).all() and set(english["n"]) == {5}
    records = {s: bench.read_jsonl(next((out / "records").glob(f"*__en__*__{s}__*english*.jsonl")))
               for s in ("base", "fusion_last")}
    assert [r["id"] for r in records["base"]] == [r["id"] for r in records["fusion_last"]]     # the same pairs
    assert [r["bytes"] for r in records["base"]] == [r["bytes"] for r in records["fusion_last"]]
    assert len({r["task"] for r in records["base"]}) > 1                                     # task-balanced
    sig = __import__("pandas").read_csv(out / "significance.csv")
    assert len(sig) == report["holm_family"] > 0 and (sig["p_holm"] >= sig["p_value"] - 1e-12).all()
    assert set(sig["test"]) >= {"mcnemar_exact", "approximate_randomization"}
    assert list(sig[sig["task"] == "english"]["statistic"]) == ["corpus_response_bpb"]
    assert all(0 <= v <= 1 for v in sig["p_holm"])
    again = bench.main(argv)
    assert again["scored_now"] == [] and again["records"] == report["records"]   # read back, nothing rescored
    assert all(m["truncated_contexts"] >= 0 and m["items"] > 0 for m in report["records"].values())
    assert json.loads((out / "report.json").read_text())["holm_family"] == report["holm_family"]
    # --adapted: a stage-04 model where it exists (here uz only), tested against the base and every fusion mode
    from paper_utils.fixtures import evaluation_model
    from paper_utils.layout import ModelLayout

    cfg = load_preset(str(preset))
    model, tok = evaluation_model()
    folder = ModelLayout(cfg.name, "uz", "smollm2-135m").adapted_model_dir("fvt", 0)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    with_adapted = bench.main(argv + ["--adapted", "fvt", "bxod"])
    assert with_adapted["systems"] == ["base", "fusion_last", "fvt"] and with_adapted["adapted"] == ["uz:fvt"]
    assert sorted(with_adapted["scored_now"]) == sorted(n for n in with_adapted["records"] if "__fvt" in n)
    scores = __import__("pandas").read_csv(out / "scores.csv")
    assert set(scores[scores["system"] == "fvt"]["language"]) == {"uz"}
    # its English cost: the uz model on the English pairs, as system "fvt-uz", the same pairs as the base LLM
    assert with_adapted["english_of_adapted"] == ["fvt-uz"]
    assert list(scores[scores["system"] == "fvt-uz"]["language"]) == ["en"]
    adapted_english = bench.read_jsonl(next((out / "records").glob("*__en__*__fvt-uz__*english*.jsonl")))
    assert [(r["id"], r["bytes"]) for r in adapted_english] == [(r["id"], r["bytes"]) for r in records["base"]]
    sig = __import__("pandas").read_csv(out / "significance.csv")
    pairs = set(zip(sig["method_a"], sig["method_b"], sig["language"]))
    assert {("base", "fvt", "uz"), ("fusion_last", "fvt", "uz")} <= pairs and not any(
        b == "fvt" and lang == "ms" for _, b, lang in pairs)
    assert {("base", "fvt-uz", "en"), ("fusion_last", "fvt-uz", "en")} <= pairs
    assert len(sig) == with_adapted["holm_family"] > report["holm_family"]


def test_translation_language_share_counts_identified_prompts_on_shared_records(tmp_path, monkeypatch):
    from paper_utils.io import write_jsonl
    from paper_utils.layout import translations_jsonl

    bench = _load("translation_language_share")
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    korean, english = "오늘 날씨가 정말 좋네요. 산책하러 갈까요?", "The weather is really nice today. Shall we go for a walk?"
    good = [{"id": f"r{i}", "prompt_en": english, "prompt_tgt": korean, "response_tgt": korean} for i in range(6)]
    bad = [dict(r, prompt_tgt=english) if i % 2 else dict(r) for i, r in enumerate(good)]
    write_jsonl(translations_jsonl("demo-full", "ko", "new", "train"), good)
    write_jsonl(translations_jsonl("demo-full", "ko", "old", "train"), bad[:5])      # r5: only the new one has it
    (row,) = bench.shares("ko", "new", "old")
    assert (row["split"], row["records"], row["prompt_share_translator"], row["prompt_share_against"]) == \
        ("train", 5, 1.0, 0.6)
    assert row["delta"] == 1.0 - 0.6 and row["response_share_translator"] == 1.0
    (row,) = bench.shares("ko", "new", "old", exclude_first=2)                       # the records a prompt was tuned on
    assert (row["records"], row["excluded"], row["prompt_share_against"]) == (3, 2, 2 / 3)
    import pandas as pd

    bench.write_rows(tmp_path / "out", bench.shares("ko", "new", "old"))             # a rerun replaces its own rows
    bench.write_rows(tmp_path / "out", [row])
    path = bench.write_rows(tmp_path / "out", bench.shares("ko", "new", "old", exclude_first=2))
    table = pd.read_csv(path)
    assert list(table["excluded"]) == [0, 2] and list(table["records"]) == [5, 3]
    assert set(table["translator"]) == {"new"} and set(table["language"]) == {"ko"}


def test_clo_data_report_counts_the_selection_and_finds_overlap():
    """The report's counts on a tiny pool: a held-out item that copies a training response is found by both checks."""
    bench = _load("clo_data_report")
    from paper_utils.clo_data import clo_split
    from paper_utils.config import load_preset

    share = load_preset("demo-full").clo.heldout_share
    tasks = [f"evals/group{g}/task" for g in range(40)]
    held = [t for t in tasks if clo_split(t, share) == "heldout"]
    train = [t for t in tasks if clo_split(t, share) == "train"]
    assert held and train
    words = frozenset("the answer is a good one for this question and that house cat dog".split())
    pool = [{"task": t, "prompt": f"Is this question {i} a good one?", "response": f"The answer is that the cat {i} is good."}
            for t in train for i in range(2)]
    pool += [{"task": held[0], "prompt": "And that dog?", "response": "The answer is that the dog is good for this house."},
             {"task": held[0], "prompt": "And this one?", "response": "The answer is that the cat 0 is good."}]
    pool.append({"task": train[0], "prompt": "SELECT x", "response": "x"})          # fails the language rule
    out = bench.report("demo-full", pool=pool, vocabulary=words, span=6)
    assert out["pooled"] == {"pairs": len(pool), "tasks": len(train) + 1, "groups": len(train) + 1}
    assert out["passing"]["train"] == {"pairs": 2 * len(train), "tasks": len(train), "groups": len(train)}
    assert out["passing"]["heldout"]["pairs"] == 2
    assert out["groups_keeping_items"] == {"groups": len(train) + 1, "heldout": 1}
    assert out["heldout_records"] == {"items": 2, "tasks": 1, "most_from_one_task": 2}
    assert out["overlap"]["heldout_equal_to_a_training_pair"] == 1                   # "the cat 0" response
    assert out["overlap"]["heldout_sharing_a_span_with_the_2n_records"] == 1           # the dog item shares none
