"""The CLO recipe (issue 17): the [clo] table, its jobs, resume, evaluation with per-item scores, bad input."""
from __future__ import annotations

import json

import pytest
import torch

from paper_utils.config import load_preset
from paper_utils.errors import ConfigError, DataError
from paper_utils.layout import MissingStageOutput
from paper_utils.registry import recipe
from paper_utils.runner import plan

MODEL = "smollm2-135m"
VARIANTS = ["clo", "sft_target_1x", "sft_target_2x", "sft_english_target_1x", "base"]


def _preset(**clo):
    settings = {"variants": VARIANTS, "pairs": 6, "steps": 4, "batch_size": 2, "max_prompt_tokens": 24,
                "max_response_tokens": 8, "heldout_pairs": 4, "eval_prompts": 3, "max_new_tokens": 4,
                "retention": False, **clo}
    return load_preset("smoke", **{"grid.recipes": ["staged", "clo"], "clo": settings})


# ------------------------------------------------------------------------------------------------ the preset

@pytest.mark.parametrize("change, key", [
    ({"pairs": 4}, "clo.variants"),                                           # the recipe without variants
    ({"variants": ["clo", "dpo"], "pairs": 4}, "clo.variants"),
    ({"variants": ["clo", "clo"], "pairs": 4}, "clo.variants"),
    ({"variants": ["clo"]}, "clo.pairs"),                                     # a missing [clo] key
    ({"variants": ["clo"], "pairs": 0}, "clo.pairs"),
    ({"variants": ["clo"], "pairs": 4, "beta": 0}, "clo.beta"),
    ({"variants": ["clo"], "pairs": 4, "stage": "mlp"}, "clo.stage"),
    ({"variants": ["clo"], "pairs": 4, "languages": ["xx"]}, "clo.languages"),
    ({"variants": ["clo"], "pairs": 4, "nll_wieght": 1.0}, "clo.nll_wieght"),
    ({"variants": ["clo"], "pairs": 4, "english_sources": ["dolly"]}, "clo.english_sources"),
    ({"variants": ["clo"], "pairs": 4, "english_sources": "bigbench"}, "clo.english_sources"),
    ({"variants": ["clo"], "pairs": 4, "english_sources": ["evals", "evals"]}, "clo.english_sources"),
])
def test_clo_table_errors_name_the_key(change, key):
    with pytest.raises(ConfigError) as err:
        load_preset("smoke", **{"grid.recipes": ["staged", "clo"], "clo": change})
    assert err.value.parameter == key


def test_clo_table_without_the_recipe_is_refused():
    with pytest.raises(ConfigError) as err:
        load_preset("smoke", **{"clo": {"variants": ["clo"], "pairs": 4}})
    assert err.value.parameter == "clo"


def test_recipe_registers_one_notebook_09_job_per_run():
    cfg = _preset()
    assert recipe("clo").name == "clo"
    assert [r.method for r in cfg.clo_runs()] == VARIANTS
    jobs = {j.job_id: j for j in plan(cfg) if j.notebook == "09_cross_lingual_optimization"}
    assert sorted(jobs) == sorted(f"09_cross_lingual_optimization__uz__smollm2-135m__{v}__seed0" for v in VARIANTS)
    assert jobs["09_cross_lingual_optimization__uz__smollm2-135m__clo__seed0"].outputs == (
        "uz/smollm2-135m/clo/clo__seed0/summary.json", "uz/smollm2-135m/clo/clo__seed0/scores.json")


def test_unknown_variant_of_a_run_is_refused():
    from paper_utils.recipes.clo import run_clo

    with pytest.raises(ConfigError) as err:
        run_clo(_preset(variants=["clo"]), "uz", MODEL, "sft_target_2x", 0, log=lambda line: None)
    assert err.value.parameter == "method"


# ------------------------------------------------------------------------------------------------ data

def test_a_language_without_a_translator_is_refused_before_anything_is_written():
    from paper_utils.clo_inputs import heldout_records
    from paper_utils.layout import translations_jsonl

    cfg = load_preset("demo-full")
    if not cfg.clo.enabled:
        pytest.skip("demo-full has no [clo] table")
    with pytest.raises(ConfigError) as err:
        heldout_records(cfg, "ms")                      # no offline translator covers en->ms
    assert err.value.parameter == "language" and "Malay" in str(err.value)
    assert not translations_jsonl("demo-full", "ms", "qwen25_coder_05b_gguf", "heldout").exists()


def test_the_smoke_records_come_from_the_fixture_split_by_task():
    from paper_utils.clo_inputs import heldout_records, training_records

    cfg = _preset(pairs=8)
    train, held = training_records(cfg, "uz", 2), heldout_records(cfg, "uz")
    assert len(train) == 16 and training_records(cfg, "uz", 1) == train[:8]          # N within 2N
    assert not {r["task"] for r in train} & {r["task"] for r in held}


def test_too_few_records_for_2n_is_a_config_error():
    from paper_utils.recipes.clo import run_clo

    with pytest.raises(ConfigError) as err:
        run_clo(_preset(pairs=30), "uz", MODEL, "sft_target_2x", 0, log=lambda line: None)
    assert err.value.parameter == "clo.pairs"


# ------------------------------------------------------------------------------------------------ runs, resume

class _Stop(Exception):
    pass


def _stop_at(step):
    def callback(at, record):
        if at == step:
            raise _Stop
    return callback


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    from paper_utils.recipes.clo import run_clo

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("clo") / "run"
    return run_clo(_preset(), "uz", MODEL, "clo", 0, out_dir=out, checkpoint_every=1, learning_rate=1e-2,
                   log=lambda line: None)


def _weights(result):
    return {k: v.detach().clone() for k, v in result.model.state_dict().items()}


@pytest.mark.parametrize("stop", [1, 3])
def test_interrupted_clo_run_resumes_to_identical_weights(uninterrupted, tmp_path, stop):
    from paper_utils.recipes.clo import run_clo

    run = dict(out_dir=tmp_path / "run", checkpoint_every=1, learning_rate=1e-2, log=lambda line: None)
    with pytest.raises(_Stop):
        run_clo(_preset(), "uz", MODEL, "clo", 0, callback=_stop_at(stop), **run)
    assert not (tmp_path / "run" / "model").exists()                          # nothing final half-written
    resumed = run_clo(_preset(), "uz", MODEL, "clo", 0, **run)
    a, b = _weights(resumed), _weights(uninterrupted)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [(r["type"], r["step"]) for r in resumed.log] == [(r["type"], r["step"]) for r in uninterrupted.log]


def test_clo_run_trains_only_attention_and_logs_heldout_nll(uninterrupted):
    from paper_utils.clo_inputs import load_instruction_model

    start, _ = load_instruction_model(_preset(), MODEL)
    after = dict(uninterrupted.model.named_parameters())
    changed = {n for n, p in start.named_parameters() if not torch.equal(p, after[n])}
    assert changed and all(n.split(".")[-2] in ("q_proj", "k_proj", "v_proj", "o_proj") for n in changed)
    s = uninterrupted.summary
    assert s["stage"] == "attention" and s["train_pairs"] == 12 and s["train_records"] == 6
    assert s["final_heldout_target_nll"] > 0 and len(s["translators"]) == 1


def test_sft_variants_train_on_k_times_n_records(tmp_path):
    from paper_utils.recipes.clo import run_clo

    cfg = _preset(steps=1)
    twice = run_clo(cfg, "uz", MODEL, "sft_target_2x", 0, out_dir=tmp_path / "a", log=lambda line: None)
    both = run_clo(cfg, "uz", MODEL, "sft_english_target_1x", 0, out_dir=tmp_path / "b", log=lambda line: None)
    assert (twice.summary["train_records"], twice.summary["train_examples"]) == (12, 12)
    assert (both.summary["train_records"], both.summary["train_examples"]) == (6, 12)
    assert twice.summary["stage"] == "full"


def test_evaluation_saves_per_item_scores_for_paired_tests(uninterrupted, tmp_path):
    from paper_utils.evaluate.clo import compare_clo_runs, evaluate_clo_run
    from paper_utils.fixtures import evaluation_model
    from paper_utils.recipes.clo import run_clo

    cfg = _preset()
    base = run_clo(cfg, "uz", MODEL, "base", 0, out_dir=tmp_path / "base", log=lambda line: None)
    assert base.summary["trained"] is False
    a = evaluate_clo_run(cfg, "uz", MODEL, "base", start=evaluation_model(), out_dir=tmp_path / "base",
                         log=lambda line: None)
    b = evaluate_clo_run(cfg, "uz", MODEL, "clo", start=(uninterrupted.model, uninterrupted.tokenizer),
                         out_dir=tmp_path / "clo", log=lambda line: None)
    assert len(a["items"]["target_chrf"]) == len(b["items"]["english_exact"]) == 3
    assert (tmp_path / "clo" / "scores.json").exists() and (tmp_path / "clo" / "generations.jsonl").exists()
    result = compare_clo_runs(a, b, "target_chrf")
    assert result.n == 3 and result.method_b == "clo"
    # the test's delta is the table's number: the difference of the two corpus chrF++ scores
    assert result.delta == pytest.approx(b["target"]["chrf++"] - a["target"]["chrf++"], abs=1e-9)
    secondary = compare_clo_runs(a, b, "target_chrf_mean")
    assert secondary.delta == pytest.approx(sum(b["items"]["target_chrf"]) / 3 - sum(a["items"]["target_chrf"]) / 3)
    # scores written before the statistics were saved get them back from generations.jsonl, the same values
    from paper_utils.evaluate.clo import with_chrf_stats
    from paper_utils.io import read_json
    saved = read_json(tmp_path / "clo" / "scores.json")
    del saved["items"]["target_chrf_stats"], saved["items"]["english_chrf_stats"]
    refilled = with_chrf_stats(saved, tmp_path / "clo")
    assert refilled["items"]["target_chrf_stats"] == b["items"]["target_chrf_stats"]
    with pytest.raises(ConfigError, match="measure"):
        compare_clo_runs(a, b, "target_bleu")


def test_a_stopped_clo_evaluation_resumes_after_its_generations(tmp_path, monkeypatch):
    from paper_utils.evaluate import clo as clo_eval
    from paper_utils.fixtures import evaluation_model

    cfg = _preset(retention=True, mmlu_questions=3)
    whole = clo_eval.evaluate_clo_run(cfg, "uz", MODEL, "base", start=evaluation_model(), out_dir=tmp_path / "whole",
                                      log=lambda line: None)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("stopped during English retention")

    monkeypatch.setattr(clo_eval, "english_retention", killed)
    with pytest.raises(KeyboardInterrupt):
        clo_eval.evaluate_clo_run(cfg, "uz", MODEL, "base", start=evaluation_model(), out_dir=tmp_path / "cut",
                                  log=lambda line: None)
    assert (tmp_path / "cut" / "generations.jsonl").exists() and not (tmp_path / "cut" / "scores.json").exists()
    # a rerun under other settings (here a preset override) does not take the generations back ...
    logged = []
    for settings in (_preset(retention=True, mmlu_questions=3, max_new_tokens=6), cfg):    # ... nor does the way back
        with pytest.raises(KeyboardInterrupt):
            clo_eval.evaluate_clo_run(settings, "uz", MODEL, "base", start=evaluation_model(), out_dir=tmp_path / "cut",
                                      log=logged.append)
    assert sum("differs in preset" in line for line in logged) == 2
    assert not any("generations taken" in line for line in logged)
    monkeypatch.undo()
    model, tok = evaluation_model()
    generated = []
    real_generate = clo_eval.CausalTextLM.generate
    monkeypatch.setattr(clo_eval.CausalTextLM, "generate",
                        lambda self, *a, **k: generated.append(1) or real_generate(self, *a, **k))
    logged = []
    resumed = clo_eval.evaluate_clo_run(cfg, "uz", MODEL, "base", start=(model, tok), out_dir=tmp_path / "cut",
                                        log=logged.append)
    assert generated == [] and any("generations taken from the interrupted run" in line for line in logged)
    assert not (tmp_path / "cut" / "progress.json").exists()
    strip = lambda d: {k: v for k, v in d.items() if k != "seconds"}                     # noqa: E731
    assert strip(resumed)["items"] == strip(whole)["items"] and resumed["target"] == whole["target"]
    assert {k: strip(v) for k, v in resumed["retention"].items()} == {k: strip(v) for k, v in whole["retention"].items()}
    assert (tmp_path / "cut" / "generations.jsonl").read_text() == (tmp_path / "whole" / "generations.jsonl").read_text()


# ------------------------------------------------------------------------------------------------ notebook 09

SMOKE_CLO = """
[clo]
variants = ["clo", "sft_target_1x", "base"]
pairs = 6
steps = 4
batch_size = 2
max_prompt_tokens = 24
max_response_tokens = 8
heldout_pairs = 4
eval_prompts = 4
max_new_tokens = 6
"""


@pytest.mark.notebooks
@pytest.mark.slow
def test_notebook_09_runs_every_variant_on_the_smoke_models(tmp_path, monkeypatch):
    """The smoke preset with the recipe added (a preset file; smoke's own grid stays without it): notebook 09 runs
    each variant through the runner, writes its summary and scores, and the last one tabulates all three."""
    from paper_utils import runner
    from paper_utils.paths import PRESETS_DIR

    text = (PRESETS_DIR / "smoke.toml").read_text(encoding="utf-8")
    text = text.replace("seeds = [0]\n", 'seeds = [0]\nrecipes = ["staged", "clo"]\n', 1) + SMOKE_CLO
    preset = tmp_path / "smoke_clo.toml"
    preset.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path / "results"))
    cfg = load_preset(str(preset))
    jobs = [j for j in recipe("clo").jobs(cfg)]
    assert [j.parameters["method"] for j in jobs] == ["clo", "sft_target_1x", "base"]
    for job in jobs:
        runner.run_job(cfg, job)
        for out in job.outputs:
            assert (tmp_path / "results" / cfg.name / out).exists(), out
    scores = json.loads((tmp_path / "results" / cfg.name / jobs[-1].outputs[1]).read_text())
    assert scores["method"] == "base" and len(scores["items"]["target_chrf"]) == 4
    from paper_utils.paths import REPO_ROOT

    executed = sorted((tmp_path / "results" / cfg.name / "executed").glob("09_*.ipynb"))
    assert len(executed) == 3
    for path in executed:            # outputs name no absolute path (the preset parameter is one: a file in tmp)
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = json.dumps([c.get("outputs", []) for c in cells if c["cell_type"] == "code"], ensure_ascii=False)
        assert str(REPO_ROOT) not in text and str(tmp_path) not in text and "by hand:" in text, path.name


def test_clo_with_lora_on_the_attention_projections_exports_a_merged_model(tmp_path):
    from paper_utils.clo_inputs import load_instruction_model
    from paper_utils.recipes.clo import run_clo

    result = run_clo(_preset(stage="attention_lora", steps=3), "uz", MODEL, "clo", 0, out_dir=tmp_path / "run",
                     learning_rate=1e-2, log=lambda line: None)
    assert result.summary["stage"] == "attention_lora" and (tmp_path / "run" / "model" / "config.json").exists()
    start, _ = load_instruction_model(_preset(), MODEL)
    after = dict(result.model.named_parameters())
    changed = {n for n, p in start.named_parameters() if not torch.equal(p, after[n])}
    assert changed and all(n.split(".")[-2] in ("q_proj", "k_proj", "v_proj", "o_proj") for n in changed)


def test_translated_records_whose_prompts_are_not_in_the_target_language_are_refused():
    from paper_utils.clo_inputs import check_translated

    spanish = [{"prompt_tgt": "Escribe una consulta que devuelva el país de la aerolínea indicada.", "translator": "t"},
               {"prompt_tgt": "Encuentra el patrón que completa la secuencia y escríbelo igual.", "translator": "t"}]
    assert check_translated(spanish, "es", "train") == spanish
    answered = [{"prompt_tgt": "SELECT Country FROM airlines WHERE Airline = 'JetBlue'", "translator": "qwen"},
                {"prompt_tgt": "Find the pattern number 9 that completes the sequence.", "translator": "qwen"}]
    with pytest.raises(DataError, match="0% of the translated prompts.*'qwen'.*answers or copies"):
        check_translated(answered, "ko", "heldout")
    assert check_translated([], "ko", "train") == []

