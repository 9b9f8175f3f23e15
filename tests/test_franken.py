"""The Franken-Adapter recipe (issue 18): the [franken] table, the SFT sibling, the recipe's runs on the smoke fixtures."""
from __future__ import annotations

import pytest
import torch

from paper_utils.config import load_preset
from paper_utils.errors import AssetError, ConfigError
from paper_utils.io import read_json

SMOKE = {"grid.recipes": ["staged", "franken"],
         "franken": {"initializers": ["fvt"], "sft_steps": 2, "sft_batch_size": 2, "embedding_steps": 2,
                     "heldout_pairs": 4, "max_new_tokens": 3}}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_franken_table_is_checked():
    with pytest.raises(ConfigError, match="franken.sft_mode"):
        load_preset("smoke", **{"grid.recipes": ["staged", "franken"], "franken": {"initializers": ["fvt"],
                                                                                   "sft_mode": "adapters"}})
    with pytest.raises(ConfigError, match="franken.initializers"):
        load_preset("smoke", **{"grid.recipes": ["staged", "franken"], "franken": {"sft_steps": 3}})
    with pytest.raises(ConfigError, match="franken.sft_step"):
        load_preset("smoke", **{"grid.recipes": ["staged", "franken"], "franken": {"initializers": ["fvt"],
                                                                                   "sft_step": 3}})
    assert load_preset("smoke").franken.enabled is False
    for table, match in (({"mmlu_question": 3}, "franken.evaluation.mmlu_question"),
                         ({"mmlu_questions": -1}, "franken.evaluation.mmlu_questions"),
                         ({"english_bpb_texts": 0}, "franken.evaluation.english_bpb_texts"),
                         ({"matching_items": -1}, "franken.evaluation.matching_items"),
                         ({"english_bpb_texts": True}, "franken.evaluation.english_bpb_texts"),
                         (5, "franken.evaluation")):
        with pytest.raises(ConfigError, match=match):
            load_preset("smoke", **{"grid.recipes": ["staged", "franken"],
                                    "franken": {"initializers": ["fvt"], "evaluation": table}})


def test_comparison_labels_get_their_own_evaluation_sizes_and_are_paired_only_among_themselves():
    from paper_utils.evaluate.significance import same_items
    from paper_utils.franken_grid import evaluated_preset

    cfg = load_preset("smoke", **{**SMOKE, "franken": {**SMOKE["franken"],
                                                       "evaluation": {"mmlu_questions": 3, "matching_items": 0}}})
    for label in ("sibling", "franken_fvt", "base_tuned_fvt"):
        ev = evaluated_preset(cfg, label).evaluation
        assert (ev.mmlu_questions, ev.matching_items, ev.translation_sentences) == (3, 0, 5)
    assert evaluated_preset(cfg, "fvt") is cfg and cfg.evaluation.mmlu_questions == 20
    assert same_items(cfg, "sibling", "franken_fvt") and same_items(cfg, "base", "fvt")
    assert not same_items(cfg, "base", "franken_fvt") and not same_items(cfg, "fvt__seed1", "sibling")
    plain = load_preset("smoke", **SMOKE)                       # no [franken.evaluation]: every pair is compared
    assert evaluated_preset(plain, "franken_fvt") is plain and same_items(plain, "base", "franken_fvt")


def test_presets_name_the_pairs():
    demo, paper = load_preset("demo-full").franken, load_preset("paper").franken
    assert demo.models == ("gemma3-270m",) and demo.languages == ("uz", "ms") and demo.sibling == ""
    assert demo.initializers == ("fvt", "bxod_sub75")
    assert paper.models == ("gemma-2-2b",) and paper.sibling == "gemma-2-2b-it"


def test_hub_sibling_is_refused_offline(monkeypatch):
    from paper_utils.surgery import load_causal_lm

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AssetError, match="Hub"):
        load_causal_lm("gemma-2-2b-it")


def test_prompt_format_and_response_only_labels():
    from paper_utils.fixtures import tiny_tokenizer
    from paper_utils.sibling import GEMMA_TURNS, collate, prompt_ids, sft_examples

    tok = tiny_tokenizer(["What is two plus two? Four."] * 20)
    assert tok.decode(prompt_ids(tok, "Hi?")) == tok.bos_token + GEMMA_TURNS.format(prompt="Hi?")
    examples, counts = sft_examples(tok, [{"prompt": "What is two plus two?", "response": "Four."}], 256, 64)
    batch = collate(examples + [(examples[0][0][:3], 1)], pad_id=0)
    (ids, n_prompt), = examples
    assert batch["labels"][0, :n_prompt].eq(-100).all() and batch["labels"][0, n_prompt:].eq(batch["input_ids"][0, n_prompt:]).all()
    assert batch["labels"][1, 3:].eq(-100).all() and batch["attention_mask"][1].sum() == 3
    tok.chat_template = "{% for m in messages %}<{{ m['content'] }}>{% endfor %}"
    assert tok.decode(prompt_ids(tok, "Hi?")) == "<Hi?>"                # a tokenizer's own template wins


def test_sibling_sft_freezes_embeddings_and_moves_the_body(tmp_path):
    from paper_utils.sibling import follow_instructions, load_base, train_sibling, weight_shift

    cfg = load_preset("smoke", **SMOKE)
    result = train_sibling(cfg, "smollm2-135m", out_dir=tmp_path / "sib", log=lambda line: None)
    base = load_base(cfg, "smollm2-135m")[0]
    assert torch.equal(result.model.get_input_embeddings().weight, base.get_input_embeddings().weight)
    shift = {r["layer"]: r["relative_change"] for r in weight_shift(base, result.model)}
    assert shift["embeddings"] == 0.0 and shift["layer 0"] > 0 and shift["layer 1"] > 0
    assert (tmp_path / "sib" / "model" / "config.json").exists() and result.summary["embeddings_frozen"]
    again = train_sibling(cfg, "smollm2-135m", out_dir=tmp_path / "sib", log=lambda line: None)   # loaded, not retrained
    assert torch.equal(next(again.model.parameters()), next(result.model.parameters()))
    records, scores = follow_instructions(result.model, result.tokenizer,
                                          [{"prompt": "Say yes.", "response": "yes"}] * 2, max_new_tokens=3)
    assert scores["n"] == 2 and {"answer", "exact", "chrf++"} <= records[0].keys()
    from paper_utils.sibling import instruction_following

    report = instruction_following(cfg, "smollm2-135m", base, result.model, result.tokenizer,
                                   out_dir=tmp_path / "sib", log=lambda line: None)
    n = report["scores"]["base"]["n"]
    assert n == report["scores"]["sibling"]["n"] == len(report["records"]["sibling"]) > 0
    tests = {t["metric"]: t for t in report["tests"]}
    assert tests["exact_match"]["test"] == "mcnemar_exact" and tests["exact_match"]["n"] == n
    assert tests["chrf++"]["statistic"] == "mean_sentence_chrf2++"
    assert tests["chrf++"]["delta"] == pytest.approx(report["scores"]["sibling"]["chrf++"]
                                                     - report["scores"]["base"]["chrf++"])
    assert 0.0 <= tests["exact_match"]["p_value"] <= 1.0 and tests["exact_match"]["p_adjusted"] is None
    again = instruction_following(cfg, "smollm2-135m", None, None, result.tokenizer, out_dir=tmp_path / "sib",
                                  log=lambda line: None)          # read back: no model is touched
    assert again == report
    longer = load_preset("smoke", **{**SMOKE, "franken": {**SMOKE["franken"], "max_new_tokens": 2}})
    with pytest.raises(AttributeError):                           # another key: answers again (and needs the models)
        instruction_following(longer, "smollm2-135m", None, None, result.tokenizer, out_dir=tmp_path / "sib",
                              log=lambda line: None)
    redone = instruction_following(longer, "smollm2-135m", base, result.model, result.tokenizer,
                                   out_dir=tmp_path / "sib", log=lambda line: None)
    assert redone["key"]["max_new_tokens"] == 2 and redone["key"]["pairs"] == report["key"]["pairs"]
    assert redone["key"]["sibling_weights_key"] == result.summary["weights_key"]


def test_recipe_runs_on_the_smoke_fixtures(tmp_path, monkeypatch):
    from paper_utils.evaluate.runs import load_eval_model, run_evaluation
    from paper_utils.franken_grid import franken_labels
    from paper_utils.init import run_method, smoke_setup
    from paper_utils.layout import MissingStageOutput, franken_dir
    from paper_utils.recipes.franken import franken_jobs, run_franken, surgery_row

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    cfg = load_preset("smoke", **SMOKE)
    assert franken_labels(cfg.franken) == ("sibling", "sibling_ext_fvt", "franken_fvt", "base_tuned_fvt")
    ids = [j.job_id for j in franken_jobs(cfg)]
    assert ids[0] == "10_franken_adapter__uz__smollm2-135m__seed0" and len(ids) == 5
    with pytest.raises(MissingStageOutput, match="03_anchored_initialization"):
        run_franken(cfg, "uz", "smollm2-135m", log=lambda line: None)
    run_method(smoke_setup(cfg, "uz", "smollm2-135m"), "fvt")                         # stage 03's patch
    summary = run_franken(cfg, "uz", "smollm2-135m", log=lambda line: None)
    for label in ("sibling_ext_fvt", "franken_fvt"):
        check = summary["runs"][label]["surgery_check"]
        assert check["rows_equal"] and check["max_abs_logit_diff"] == 0.0
        assert 0.0 <= check["english_identical_share"] <= 1.0     # the smoke extension does change some English
    assert summary["weight_shift"][0] == {"layer": "embeddings", "relative_change": 0.0}
    assert summary["runs"]["base_tuned_fvt"]["median_step_seconds"] > 0
    assert (franken_dir("smoke", "uz", "smollm2-135m", "franken_fvt") / "embeddings" / "embeddings.json").exists()
    row = surgery_row("smoke", "uz", "smollm2-135m", "fvt")                           # the notebook's one-row view
    assert row["new"] and row["equal"] and row["moved"] > 0
    for label in franken_labels(cfg.franken):                                         # stage 05 loads every one
        lm, source = load_eval_model(cfg, "smollm2-135m", label, language="uz")
        assert lm.tokenizer is not None and source
    # English instruction following of a compared model: the sibling report's prompts, written once, read back
    from paper_utils import sibling as sibling_module
    from paper_utils.recipes.franken import label_instruction_following
    report = label_instruction_following(cfg, "uz", "smollm2-135m", "franken_fvt", log=lambda line: None)
    pairs = sibling_module.heldout_pairs(cfg, 0)
    assert [r["prompt"] for r in report["records"]] == [p["prompt"] for p in pairs] and report["scores"]["n"] == 4
    monkeypatch.setattr(sibling_module, "follow_instructions", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    assert label_instruction_following(cfg, "uz", "smollm2-135m", "franken_fvt")["records"] == report["records"]
    with pytest.raises(MissingStageOutput):                    # the sibling's own: notebook 10 writes its report first
        label_instruction_following(cfg, "uz", "smollm2-135m", "sibling")
    monkeypatch.undo()
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    sized = load_preset("smoke", **{**SMOKE, "franken": {**SMOKE["franken"], "evaluation": {"mmlu_questions": 3}}})
    scores = run_evaluation(sized, "uz", "smollm2-135m", "franken_fvt", tasks=["mmlu"], log=lambda line: None)
    assert scores["tasks"]["mmlu"]["n"] == 3 and scores["evaluation_sizes"]["mmlu_questions"] == 3


def test_staged_sibling_adapts_the_extended_sibling_with_stage_04s_schedule(tmp_path, monkeypatch):
    """[franken] staged_sibling: the BXOD route on the instruction model, a fifth comparison per initializer."""
    from paper_utils.evaluate.runs import load_eval_model
    from paper_utils.franken_grid import franken_labels
    from paper_utils.init import run_method, smoke_setup
    from paper_utils.layout import franken_dir
    from paper_utils.recipes.franken import franken_jobs, run_franken
    from paper_utils.train import AdaptConfig, read_log

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    cfg = load_preset("smoke", **{**SMOKE, "franken": {**SMOKE["franken"], "staged_sibling": True,
                                                       "rows_only_head": True}})
    assert franken_labels(cfg.franken)[-1] == "sibling_staged_fvt"
    assert "05_evaluation__uz__smollm2-135m__sibling_staged_fvt" in [j.job_id for j in franken_jobs(cfg)]
    run_method(smoke_setup(cfg, "uz", "smollm2-135m"), "fvt")
    summary = run_franken(cfg, "uz", "smollm2-135m", log=lambda line: None)
    staged = summary["runs"]["sibling_staged_fvt"]
    assert staged["stages"] == [s.kind for s in AdaptConfig.from_preset(cfg).stages if s.steps]
    folder = franken_dir("smoke", "uz", "smollm2-135m", "sibling_staged_fvt")
    log = read_log(folder / "train_log.jsonl")
    assert {r["stage"] for r in log if r["type"] == "train"} == set(staged["stages"])
    lm, source = load_eval_model(cfg, "smollm2-135m", "sibling_staged_fvt", language="uz")
    ext = load_eval_model(cfg, "smollm2-135m", "sibling_ext_fvt", language="uz")[0]
    assert len(lm.tokenizer) == len(ext.tokenizer) and lm.tokenizer.chat_template == ext.tokenizer.chat_template
    moved = [name for name, p in lm.model.named_parameters()
             if not torch.equal(p, dict(ext.model.named_parameters())[name])]
    assert moved                                                   # it trained, from the extended sibling
    for label in ("sibling_staged_fvt", "base_tuned_fvt"):         # [franken] rows_only_head reaches both tunings
        trained = read_json(franken_dir("smoke", "uz", "smollm2-135m", label) / "summary.json")
        assert trained["config"]["rows_only_head"] is True, label


def test_rows_only_head_is_a_checked_switch_of_the_embedding_tuning():
    from paper_utils.recipes.franken import embedding_config

    assert embedding_config(load_preset("smoke", **SMOKE)).rows_only_head is False
    on = load_preset("smoke", **{**SMOKE, "franken": {**SMOKE["franken"], "rows_only_head": True}})
    assert embedding_config(on).rows_only_head is True
    assert embedding_config(on).weights_key() == embedding_config(load_preset("smoke", **SMOKE)).weights_key()
    with pytest.raises(ConfigError, match="franken.rows_only_head"):
        load_preset("smoke", **{**SMOKE, "franken": {**SMOKE["franken"], "rows_only_head": "yes"}})
    with pytest.raises(ConfigError, match="franken.rows_only_head.*new_rows_only = false"):
        load_preset("smoke", **{**SMOKE, "franken": {**SMOKE["franken"], "rows_only_head": True,
                                                     "new_rows_only": False}})


def test_report_reads_evaluations_and_tests_pairs(tmp_path, monkeypatch):
    from paper_utils.franken_report import comparison_table, paired_tests
    from paper_utils.io import write_json, write_jsonl
    from paper_utils.layout import ModelLayout

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    lay = ModelLayout("smoke", "uz", "m")
    for label, acc, bits in (("sibling", [1, 1, 0, 1], 10.0), ("franken_fvt", [1, 0, 0, 1], 11.0)):
        out = lay.eval_dir(label)
        write_json(out / "scores.json", {"tasks": {"mmlu": {"accuracy": sum(acc) / 4},
                                                   "english_bpb": {"bpb": bits / 10}}})
        write_jsonl(out / "mmlu.jsonl", [{"id": i, "correct": bool(c)} for i, c in enumerate(acc)])
        write_jsonl(out / "english_bpb.jsonl", [{"id": i, "bits": bits + i, "bytes": 10} for i in range(4)])
    table = comparison_table("smoke", "uz", "m", ["sibling", "franken_fvt", "base_tuned_fvt"])
    assert list(table["label"]) == ["sibling", "franken_fvt"]
    assert table.set_index("label").loc["franken_fvt", "english_regression_percent"] == 33.3333   # MMLU 0.75 -> 0.5
    tests = paired_tests("smoke", "uz", "m", ["sibling", "franken_fvt"], ci_samples=0, n_samples=200)
    assert set(tests["metric"]) == {"MMLU letter", "English bpb"} and (tests["p_holm"] >= tests["p"]).all()

    # translation (tested on corpus chrF++, the table's number) and English instruction following join the table
    from paper_utils.layout import franken_dir, sibling_dir
    from paper_utils.stats import corpus_score
    from paper_utils.stats.metrics import resolve_metric

    refs = ["bu uy katta", "men kitob o'qiyman", "bugun havo issiq", "u maktabga bordi"]
    hyps = {"sibling": ["bu uy", "men kitob", "havo issiq", "u bordi"],
            "franken_fvt": ["bu uy katta", "men kitob o'qiyman", "bugun havo", "u maktabga"]}
    for label, hyp in hyps.items():
        write_jsonl(lay.eval_dir(label) / "translation_en-uz.jsonl",
                    [{"id": f"s{i}", "reference": r, "hypothesis": h} for i, (r, h) in enumerate(zip(refs, hyp))])
    answers = {"sibling": [(True, 80.0), (False, 10.0), (False, 20.0)],
               "franken_fvt": [(True, 90.0), (True, 100.0), (False, 30.0)]}
    for label, folder in (("sibling", sibling_dir("smoke", "m")), ("franken_fvt", franken_dir("smoke", "uz", "m", "franken_fvt"))):
        records = [{"id": i, "prompt": f"p{i}", "exact": e, "chrf++": c} for i, (e, c) in enumerate(answers[label])]
        scores = {"exact_match": sum(e for e, _ in answers[label]) / 3, "chrf++": sum(c for _, c in answers[label]) / 3}
        write_json(folder / "instruction_following.json",
                   {"scores": {"sibling": scores}, "records": {"sibling": records}} if label == "sibling"
                   else {"scores": scores, "records": records})
    table = comparison_table("smoke", "uz", "m", ["sibling", "franken_fvt"]).set_index("label")
    assert table.loc["franken_fvt", "English IF exact"] == pytest.approx(2 / 3)
    assert table.loc["sibling", "English IF chrF++"] == pytest.approx(110 / 3)
    tests = paired_tests("smoke", "uz", "m", ["sibling", "franken_fvt"], ci_samples=0, n_samples=200).set_index("metric")
    assert set(tests.index) == {"MMLU letter", "English bpb", "chrF++ en-uz", "English IF exact", "English IF chrF++"}
    chrf = resolve_metric("chrf++")
    expected = (corpus_score(chrf.sentence_stats(hyps["franken_fvt"], refs), "chrf++")
                - corpus_score(chrf.sentence_stats(hyps["sibling"], refs), "chrf++"))
    assert tests.loc["chrF++ en-uz", "delta"] == pytest.approx(expected) and expected > 0
    assert tests.loc["chrF++ en-uz", "test"] == "paired_bootstrap"
    assert tests.loc["English IF exact", "delta"] == pytest.approx(1 / 3)
    assert tests.loc["English IF chrF++", "delta"] == pytest.approx(220 / 3 - 110 / 3)
    assert (tests["p_holm"] >= tests["p"]).all()
    # answers to other prompts, or other items, are refused: the table's numbers would not be the tested ones
    from paper_utils.errors import DataError
    other = franken_dir("smoke", "uz", "m", "franken_fvt") / "instruction_following.json"
    report = __import__("json").loads(other.read_text())
    report["records"][0]["prompt"] = "another prompt"
    write_json(other, report)
    with pytest.raises(DataError, match="other prompts"):
        paired_tests("smoke", "uz", "m", ["sibling", "franken_fvt"], ci_samples=0, n_samples=200)
    write_jsonl(lay.eval_dir("franken_fvt") / "mmlu.jsonl", [{"id": i, "correct": True} for i in range(3)])
    with pytest.raises(DataError, match="different items"):
        paired_tests("smoke", "uz", "m", ["sibling", "franken_fvt"], ci_samples=0, n_samples=200)



def test_route_tests_compare_the_transplant_with_its_untuned_and_staged_twins(tmp_path, monkeypatch):
    """route_tests: franken_<init> against sibling_ext_<init> and sibling_staged_<init>, a Holm family of its own;
    a pair with a missing evaluation is left out."""
    from paper_utils.franken_report import paired_tests, route_tests
    from paper_utils.io import write_json, write_jsonl
    from paper_utils.layout import ModelLayout

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    lay = ModelLayout("smoke", "uz", "m")
    correct = {"sibling": [1, 1, 0, 1, 0, 1], "sibling_ext_fvt": [1, 0, 0, 1, 0, 0], "franken_fvt": [1, 1, 1, 1, 1, 0],
               "sibling_staged_fvt": [0, 0, 0, 1, 0, 0]}
    for label, acc in correct.items():
        write_json(lay.eval_dir(label) / "scores.json", {"tasks": {"mmlu": {"accuracy": sum(acc) / 6}}})
        write_jsonl(lay.eval_dir(label) / "mmlu.jsonl", [{"id": i, "correct": bool(c)} for i, c in enumerate(acc)])
    tests = route_tests("smoke", "uz", "m", ["fvt"], ci_samples=0)
    assert list(zip(tests["a"], tests["b"])) == [("sibling_ext_fvt", "franken_fvt"), ("sibling_staged_fvt", "franken_fvt")]
    assert list(tests["delta"].round(4)) == [round(3 / 6, 4), round(4 / 6, 4)]
    assert (tests["p_holm"] >= tests["p"]).all()
    # its own Holm family: the same test against the sibling table gives another adjustment
    against_sibling = paired_tests("smoke", "uz", "m", ["sibling_ext_fvt", "franken_fvt"], ci_samples=0)
    assert list(against_sibling["b"]) == ["sibling_ext_fvt", "franken_fvt"]
    (lay.eval_dir("sibling_staged_fvt") / "scores.json").unlink()        # not evaluated yet: that pair is left out
    assert list(route_tests("smoke", "uz", "m", ["fvt"], ci_samples=0)["a"]) == ["sibling_ext_fvt"]

@pytest.mark.notebooks
def test_notebook_10_runs_on_the_smoke_fixtures(tmp_path, monkeypatch):
    """Notebook 10 through papermill on the smoke preset with the recipe added (a copy of smoke.toml; the smoke
    grid itself is unchanged), after stage 03's fvt patch."""
    from paper_utils.config import PRESETS_DIR
    from paper_utils.init import run_method, smoke_setup
    from paper_utils.jobs import Job
    from paper_utils.runner import run_job

    text = (PRESETS_DIR / "smoke.toml").read_text().replace("[grid]\n", '[grid]\nrecipes = ["staged", "franken"]\n', 1)
    text += ('\n[franken]\ninitializers = ["fvt"]\nsft_steps = 2\nsft_batch_size = 2\nembedding_steps = 2\n'
             'heldout_pairs = 2\nmax_new_tokens = 3\n')
    path = tmp_path / "smoke-franken.toml"
    path.write_text(text)
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path / "results"))
    cfg = load_preset(str(path))
    run_method(smoke_setup(cfg, "uz", "smollm2-135m"), "fvt")
    job = Job("10_franken_adapter", ("uz", "smollm2-135m", "seed0"),
              {"preset": str(path), "language": "uz", "model": "smollm2-135m", "seed": 0})
    run_job(cfg, job)
    executed = tmp_path / "results" / "smoke-franken" / "executed" / f"{job.job_id}.ipynb"
    text = executed.read_text()
    assert "bit for bit: True" in text and "\"ename\"" not in text
    assert "mcnemar_exact" in text and "paired_permutation" in text          # base vs sibling, paired
    for label in ("sibling_ext_fvt", "franken_fvt", "base_tuned_fvt"):       # every compared model answered English
        assert (tmp_path / "results" / "smoke-franken" / "uz" / "smollm2-135m" / "franken" / f"{label}__seed0"
                / "instruction_following.json").exists()


def test_heldout_english_pairs_are_task_balanced():
    """The held-out rows come task after task; the sibling's loss curve and instruction check take one pair from
    every task before a second from any, in a seeded order that does not depend on the rows' order."""
    from paper_utils.corpora.english_instructions import task_balanced

    pairs = [{"task": f"t{t}", "prompt": f"p{t}-{i}", "response": "r"} for t in range(5) for i in range(20)]
    first = task_balanced(pairs, 12)
    counts = {t: sum(p["task"] == t for p in first) for t in {p["task"] for p in pairs}}
    assert sorted(counts.values()) == [2, 2, 2, 3, 3]
    assert [p["task"] for p in first[:5]] != ["t0"] * 5 and len({p["task"] for p in first[:5]}) == 5
    assert task_balanced(list(reversed(pairs)), 12) == first
    assert task_balanced(pairs, 12, seed=1) != first
