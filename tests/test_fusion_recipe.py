"""The fusion recipe (issue 16): English pairs, the [fusion] table, the recipe's jobs, resume, FusedTextLM in stage 05."""
from __future__ import annotations

import json

import pytest
import torch

from paper_utils.config import load_preset
from paper_utils.corpora.english_instructions import PACK, english_instructions, task_table
from paper_utils.errors import ConfigError
from paper_utils.evaluate.fused import FusedTextLM
from paper_utils.evaluate.matching import matching_items, score_matching
from paper_utils.fixtures import OPENAI_EVALS
from paper_utils.fusion_data import build_fused, load_fusion_parts
from paper_utils.registry import recipe
from paper_utils.runner import plan
from paper_utils.study import data_source, heldout_parallel

ROOTS = {PACK: OPENAI_EVALS}
MODEL = "smollm2-135m"


def _preset(**fusion):
    settings = {"modes": ["last", "global_softmax"], "steps": 4, "batch_size": 2, **fusion}
    return load_preset("smoke", **{"grid.recipes": ["staged", "fusion"], "fusion": settings})


# ------------------------------------------------------------------------------------------------ English pairs

def test_english_pairs_keep_english_tasks_and_split_by_task_file():
    table = {r["task"]: r for r in task_table(roots=ROOTS)}
    assert not table["uzbek-words/samples.jsonl"]["kept"]                      # names another language
    assert table["capitals/fewshot.jsonl"]["reason"] == "no prompt -> ideal pairs"
    train, held = english_instructions("train", roots=ROOTS), english_instructions("heldout", roots=ROOTS)
    assert {r["task"] for r in train}.isdisjoint({r["task"] for r in held})     # held out by source
    assert {r["task"] for r in held} == {"antonyms/samples.jsonl", "seasons/samples.jsonl"}
    assert len(train) + len(held) == len(english_instructions("all", roots=ROOTS)) == 54
    plural = next(r for r in train if r["task"].startswith("plurals"))
    assert plural["response"] == "cats"                                        # a list ideal: its first answer
    assert english_instructions("train", roots=ROOTS) == train                  # deterministic


def test_english_sources_give_only_pairs_that_read_as_language_split_by_source_group(monkeypatch):
    from paper_utils import clo_data
    from paper_utils.fusion_data import english_pairs

    prose = "The answer is that the cat sat on the mat and it is a good cat."
    pool = ([{"task": f"evals/story{i}/samples.jsonl", "prompt": f"Write a sentence about cat {i}.", "response": prose}
             for i in range(12)]
            + [{"task": "evals/raven/samples.jsonl", "prompt": "Solve the puzzle.", "response": "ANSWER: 9. [(D, H)]"},
               {"task": "evals/sql/samples.jsonl", "prompt": "Write the query.", "response": "SELECT * FROM pets;"}])
    seen = []
    monkeypatch.setattr(clo_data, "english_pool", lambda sources, roots=None: seen.append(tuple(sources)) or pool)
    words = frozenset("the answer is that cat sat on mat and it a good write sentence about solve puzzle query".split())
    cfg = _preset(english_sources=["evals", "bigbench"], heldout_share=0.5)
    train, held = english_pairs(cfg, "train", vocabulary=words), english_pairs(cfg, "heldout", vocabulary=words)
    assert seen[0] == ("evals", "bigbench")
    assert len(train) + len(held) == 12 and train and held                      # the codes and the SQL dropped
    assert {r["task"] for r in train}.isdisjoint({r["task"] for r in held})
    assert all(r["response"] == prose for r in train + held)
    assert english_pairs(_preset(), "train")[0].keys() == {"task", "prompt", "response"}   # unset: evals task files
    with pytest.raises(ConfigError) as err:
        _preset(english_sources=["dolly"])
    assert err.value.parameter == "fusion.english_sources"


def test_english_pairs_cap_per_task_and_refuse_a_bad_split():
    capped = english_instructions("train", pairs_per_task=2, roots=ROOTS)
    assert len(capped) == 2 * len({r["task"] for r in capped})
    with pytest.raises(ConfigError) as err:
        english_instructions("dev", roots=ROOTS)
    assert err.value.parameter == "split"


# ------------------------------------------------------------------------------------------------ the preset

@pytest.mark.parametrize("change, key", [
    ({"fusion": {"steps": 2}}, "fusion.modes"),                                # the recipe without modes
    ({"fusion": {"modes": ["mean"]}}, "fusion.modes"),
    ({"fusion": {"modes": ["last", "last"]}}, "fusion.modes"),
    ({"fusion": {"modes": ["last"], "stepz": 2}}, "fusion.stepz"),
    ({"fusion": {"modes": ["last"], "steps": 0}}, "fusion.steps"),
    ({"fusion": {"modes": ["last"], "heldout_share": 1.5}}, "fusion.heldout_share"),
    ({"fusion": {"modes": ["last"], "encoder": "bert"}}, "fusion.encoder"),
    ({"fusion": {"modes": ["last"], "encoder": ["e5-small"]}}, "fusion.encoder"),       # not a name
    ({"fusion": {"modes": ["last"], "learning_rate": float("nan")}}, "fusion.learning_rate"),
    ({"fusion": {"modes": ["last"], "vector_learning_rate": 0.0}}, "fusion.vector_learning_rate"),
    ({"fusion": {"modes": ["last"], "micro_batch_sizes": {"gpt2": 2}}}, "fusion.micro_batch_sizes"),
    ({"fusion": {"modes": ["last"], "micro_batch_sizes": {"gemma3-270m": 3}}}, "fusion.micro_batch_sizes.gemma3-270m"),
    ({"fusion": {"modes": ["last"], "micro_batch_sizes": 2}}, "fusion.micro_batch_sizes"),
])
def test_fusion_table_errors_name_the_key(change, key):
    with pytest.raises(ConfigError) as err:
        load_preset("smoke", **{"grid.recipes": ["staged", "fusion"], **change})
    assert err.value.parameter == key


def test_fusion_table_without_the_recipe_is_refused():
    with pytest.raises(ConfigError, match="grid.recipes lacks"):
        load_preset("smoke", fusion={"modes": ["last"]})


def test_recipe_trains_once_per_model_mode_and_seed_and_evaluates_every_language():
    cfg = load_preset("smoke", **{"grid.recipes": ["staged", "fusion"], "grid.languages": ["uz", "ms"],
                                  "fusion": {"modes": ["last", "global_softmax"], "steps": 4, "batch_size": 2}})
    assert recipe("fusion").name == "fusion"
    assert [r.run_id for r in cfg.fusion_runs()] == ["uz__smollm2-135m__fusion_last__seed0",
                                                     "uz__smollm2-135m__fusion_global_softmax__seed0",
                                                     "ms__smollm2-135m__fusion_last__seed0",
                                                     "ms__smollm2-135m__fusion_global_softmax__seed0"]
    assert cfg.fusion_trainings() == [("smollm2-135m", "fusion_last", 0), ("smollm2-135m", "fusion_global_softmax", 0)]
    jobs = {j.job_id: j for j in plan(cfg)}
    trainings = sorted(i for i in jobs if i.startswith("08_"))
    assert trainings == ["08_encoder_fusion__smollm2-135m__fusion_global_softmax__seed0",
                         "08_encoder_fusion__smollm2-135m__fusion_last__seed0"]      # English: no language axis
    train = jobs["08_encoder_fusion__smollm2-135m__fusion_last__seed0"]
    assert "language" not in train.parameters
    assert train.outputs == ("fusion/smollm2-135m/fusion_last__seed0/summary.json",
                             "fusion/smollm2-135m/fusion_last__seed0/fusion_state.pt")
    for lang in ("uz", "ms"):
        evaluation = jobs[f"05_evaluation__{lang}__smollm2-135m__fusion_last__seed0"]
        assert evaluation.depends == (train.job_id,)
        assert evaluation.job_id in jobs["06_significance"].depends
    assert not any(j.notebook == "08_encoder_fusion" for j in plan(load_preset("smoke")))   # smoke grid unchanged


def test_a_missing_training_names_notebook_08():
    from paper_utils.fusion_data import load_trained_fusion
    from paper_utils.layout import MissingStageOutput

    with pytest.raises(MissingStageOutput, match="run 08_encoder_fusion for smollm2-135m first"):
        load_trained_fusion(_preset(), MODEL, "fusion_last", seed=7)


# ------------------------------------------------------------------------------------------------ resume

class _Stop(Exception):
    pass


def _stop_at(step):
    def callback(at, record):
        if at == step:
            raise _Stop
    return callback


def _state(result):
    return {k: v.clone() for k, v in result.model.fusion_state()["state"].items()}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    from paper_utils.recipes.fusion import run_fusion

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("fusion") / "run"
    return run_fusion(_preset(), MODEL, "fusion_global_softmax", 0, out_dir=out, checkpoint_every=1,
                      learning_rate=1e-2, log=lambda line: None)


@pytest.mark.parametrize("stop", [1, 3])
def test_interrupted_fusion_run_resumes_to_identical_weights(uninterrupted, tmp_path, stop):
    from paper_utils.recipes.fusion import run_fusion

    run = dict(out_dir=tmp_path / "run", checkpoint_every=1, learning_rate=1e-2, log=lambda line: None)
    with pytest.raises(_Stop):
        run_fusion(_preset(), MODEL, "fusion_global_softmax", 0, callback=_stop_at(stop), **run)
    assert not (tmp_path / "run" / "fusion_state.pt").exists()                 # nothing final half-written
    resumed = run_fusion(_preset(), MODEL, "fusion_global_softmax", 0, **run)
    a, b = _state(resumed), _state(uninterrupted)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    start = build_fused(_preset(), load_fusion_parts(_preset(), MODEL), "fusion_global_softmax", 0).fusion_state()
    assert not torch.equal(start["state"]["fusion.logits"], a["fusion.logits"])  # it did train
    assert [(r["type"], r["step"]) for r in resumed.log] == [(r["type"], r["step"]) for r in uninterrupted.log]
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_finished_run_is_loaded_and_its_summary_logs_heldout_english_loss(uninterrupted):
    from paper_utils.recipes.fusion import run_fusion

    s = uninterrupted.summary
    assert s["fusion_mode"] == "global_softmax" and s["step0_heldout_loss"] > 0
    assert len(s["layer_weights"]) == 3 and abs(sum(s["layer_weights"]) - 1) < 1e-5   # L + 1 = 3 states
    saved = json.loads((uninterrupted.out_dir / "summary.json").read_text())
    assert saved["final_heldout_loss"] == s["final_heldout_loss"]
    again = run_fusion(_preset(), MODEL, "fusion_global_softmax", 0, out_dir=uninterrupted.out_dir,
                       checkpoint_every=1, learning_rate=1e-2, log=lambda line: None)
    assert all(torch.equal(v, _state(uninterrupted)[k]) for k, v in _state(again).items())


def test_micro_batch_sizes_split_a_models_steps_and_leave_other_runs_keys_alone(tmp_path):
    from paper_utils.recipes.fusion import fusion_config, run_fusion

    split = _preset(steps=2, micro_batch_sizes={MODEL: 1})
    assert fusion_config(split, 0, "last", MODEL).micro_batch_size == 1
    assert fusion_config(split, 0, "last", "gemma3-270m").micro_batch_size == 0     # not named: one forward
    # a model without an entry trains exactly as before the table existed (same weights key: finished runs stay valid)
    assert (fusion_config(split, 0, "last", "gemma3-270m").weights_key()
            == fusion_config(_preset(steps=2), 0, "last", "gemma3-270m").weights_key()
            == fusion_config(_preset(steps=2), 0, "last").weights_key())
    result = run_fusion(split, MODEL, "fusion_last", 0, out_dir=tmp_path / "split", log=lambda line: None)
    assert [r["step"] for r in result.log if r["type"] == "train"] == [1, 2]
    assert result.summary["weights_key"] == fusion_config(split, 0, "last", MODEL).weights_key()


def _moved(result, start):
    return {k: float((result.model.fusion_state()["state"][k] - start[k]).abs().max())
            for k in ("end_of_input", "fusion.logits", "projection.weight")}


def test_vector_learning_rate_moves_only_the_vectors_faster(tmp_path):
    from paper_utils.recipes.fusion import fusion_config, run_fusion

    cfg = _preset(steps=2, learning_rate=1e-4, vector_learning_rate=1e-2)
    assert fusion_config(cfg, 0, "global_softmax").lr_scales == (("end_of_input", 100.0), ("fusion.logits", 100.0))
    assert fusion_config(cfg, 0, "last").lr_scales == (("end_of_input", 100.0),)
    assert fusion_config(_preset(), 0, "global_softmax").lr_scales == ()
    torch.set_num_threads(1)
    start = build_fused(cfg, load_fusion_parts(cfg, MODEL), "fusion_global_softmax", 0).fusion_state()["state"]
    plain = _moved(run_fusion(_preset(steps=2, learning_rate=1e-4), MODEL, "fusion_global_softmax", 0,
                              out_dir=tmp_path / "plain", log=lambda line: None), start)
    fast = _moved(run_fusion(cfg, MODEL, "fusion_global_softmax", 0, out_dir=tmp_path / "fast",
                             log=lambda line: None), start)
    # AdamW's first steps move every coordinate by about its learning rate: 100 x for the two vectors only
    for key in ("end_of_input", "fusion.logits"):
        assert 50 < fast[key] / plain[key] < 200
    assert 0.2 < fast["projection.weight"] / plain["projection.weight"] < 5
    summaries = [json.loads((tmp_path / run / "summary.json").read_text()) for run in ("plain", "fast")]
    assert 0 < summaries[0]["end_of_input_shift"] < summaries[1]["end_of_input_shift"]


def test_target_language_loss_is_logged_during_training_without_changing_the_weights(uninterrupted, tmp_path):
    """[fusion] translation_eval_pairs: each evaluation also logs, per grid language, the X->English loss of
    dev-split pairs (the encoder reads the target sentence); the trained weights are the same as without it."""
    from paper_utils.fusion_data import translation_pairs
    from paper_utils.recipes.fusion import heldout_evaluator, run_fusion, tokenize_pairs

    cfg = _preset(translation_eval_pairs=3)
    run = run_fusion(cfg, MODEL, "fusion_global_softmax", 0, out_dir=tmp_path / "run", checkpoint_every=1,
                     learning_rate=1e-2, log=lambda line: None)
    langs = list(cfg.grid.languages)
    evals = [r for r in run.log if r["type"] == "eval"]
    assert [r["step"] for r in evals] == [r["step"] for r in uninterrupted.log if r["type"] == "eval"]
    assert all(r[f"translation_loss_{lang}"] > 0 for r in evals for lang in langs)
    assert [r["heldout_loss"] for r in evals] == [r["heldout_loss"] for r in uninterrupted.log if r["type"] == "eval"]
    a, b = _state(run), _state(uninterrupted)
    assert all(torch.equal(a[k], b[k]) for k in a)                   # evaluation only: the weights do not move
    s = run.summary
    assert set(s["final_translation_loss"]) == set(langs) == set(s["step0_translation_loss"])
    assert s["translation_eval_pairs"] == {lang: 3 for lang in langs}
    # the logged number is the mean nats per English token of those pairs under the trained model
    parts = run.parts
    pairs = tokenize_pairs(translation_pairs(cfg, langs[0], 3), parts, cfg.fusion.max_prompt_tokens,
                           cfg.fusion.max_response_tokens)[0]
    direct = heldout_evaluator(parts.encoder_tokenizer.pad_token_id or 0, 2)(run.model, pairs)["heldout_loss"]
    assert abs(direct - s["final_translation_loss"][langs[0]]) < 1e-5
    # fusion_data cannot import stage 05 (layers): its prompt must stay the evaluation's zero-shot wording
    from paper_utils.corpora import language
    from paper_utils.evaluate.translation import translation_prompt

    name = language(langs[0]).name
    targets = [r["target"] for r in data_source(cfg).parallel(langs[0], "dev") if r["target"].strip() and r["en"].strip()]
    assert [p["prompt"] for p in translation_pairs(cfg, langs[0], 3)] == [
        translation_prompt(t, [], name, "English") for t in targets[:3]]
    with pytest.raises(ConfigError) as err:
        _preset(translation_eval_pairs=-1)
    assert err.value.parameter == "fusion.translation_eval_pairs"


# ------------------------------------------------------------------------------------------------ FusedTextLM

def test_matching_scorer_runs_unchanged_on_a_fused_model():
    cfg = _preset()
    parts = load_fusion_parts(cfg, MODEL)
    lm = FusedTextLM(build_fused(cfg, parts, "fusion_last"), parts.encoder_tokenizer, parts.tokenizer)
    targets, english = heldout_parallel(cfg, "uz")
    items = matching_items(targets, english, "uz", 4)
    records, scores = score_matching(lm, items, "uz", base_tokenizer=parts.tokenizer)
    assert set(scores) == {"uz-en", "en-uz"} and all(0 <= s["accuracy"] <= 1 for s in scores.values())
    assert all(r["english_identical"] for r in records)                       # the LLM keeps its own tokenizer
    # loglik is log p(continuation | context) with the context read by the encoder
    ll = lm.loglik([(f"Uzbek: {targets[0]}\nEnglish:", " " + english[0])])
    ids = parts.tokenizer(" " + english[0], add_special_tokens=False)["input_ids"]
    prompt = parts.encoder_tokenizer([f"Uzbek: {targets[0]}\nEnglish:"], return_tensors="pt")
    with torch.no_grad():
        s, n = lm.model.target_loglik(prompt["input_ids"], prompt["attention_mask"], torch.tensor([ids]),
                                      torch.ones(1, len(ids), dtype=torch.long))
    assert ll[0] == pytest.approx(float(s[0]), abs=1e-5) and int(n[0]) == len(ids)


def test_a_context_longer_than_the_encoder_is_truncated_from_the_left_with_a_warning():
    cfg = _preset()
    parts = load_fusion_parts(cfg, MODEL)
    lm = FusedTextLM(build_fused(cfg, parts, "fusion_last"), parts.encoder_tokenizer, parts.tokenizer,
                     max_prompt_tokens=16)
    with pytest.warns(UserWarning, match="limit of 16"):
        scores, meta = lm.choice_logprobs(["Save the file " * 20 + "Answer:"], [" A", " B"])
    assert meta["truncated_contexts"] == 1 and meta["context_tokens"] == [16]


@pytest.mark.assets
def test_english_pairs_of_the_real_evals_pack():
    """The pinned evals wheel: how many task files the English rule keeps and how the split falls."""
    from paper_utils.packs import get_pack

    if not get_pack(PACK).is_cached():
        pytest.skip("pack openai-evals is not fetched (python -m paper_utils assets fetch for a fusion preset)")
    rows = task_table()
    kept = [r for r in rows if r["kept"]]
    assert (len(rows), len(kept)) == (660, 346)
    assert sum(r["used"] for r in kept if r["split"] == "train") == 33_965
    assert sum(r["used"] for r in kept if r["split"] == "heldout") == 2_697
    assert not any(r["kept"] for r in rows if r["task"].startswith(("ukraine_gec/", "italian-exams-qa/")))


def test_heldout_english_of_the_real_evals_pack_is_not_one_task_file():
    """The held-out rows come task file after task file: the first 64 were one file's four-token answers (the
    runs trained before commit efdb865 (2026-12-02) logged that); the task-balanced order spans all 25 held-out files."""
    from paper_utils.fusion_data import english_pairs, heldout_english
    from paper_utils.packs import get_pack

    if not get_pack(PACK).is_cached():
        pytest.skip("pack openai-evals is not fetched (python -m paper_utils assets fetch for a fusion preset)")
    cfg = load_preset("demo-full")
    assert len({p["task"] for p in english_pairs(cfg, "heldout")[:64]}) == 1
    balanced = heldout_english(cfg, 64)
    assert len({p["task"] for p in balanced}) == len({p["task"] for p in english_pairs(cfg, "heldout")}) == 25
    assert sorted(map(str, heldout_english(cfg))) == sorted(map(str, english_pairs(cfg, "heldout")))


def test_the_recipes_heldout_loss_reads_the_task_balanced_pairs(tmp_path, monkeypatch):
    from paper_utils.recipes import fusion as fusion_recipe

    seen = []
    real = fusion_recipe.heldout_english

    def spy(cfg, *args, **kwargs):
        pairs = real(cfg, *args, **kwargs)
        seen.append(pairs)
        return pairs
    monkeypatch.setattr(fusion_recipe, "heldout_english", spy)
    result = fusion_recipe.run_fusion(_preset(steps=1, heldout_pairs=3), MODEL, "fusion_last", 0,
                                      out_dir=tmp_path / "run", log=lambda line: None)
    assert len(seen) == 1 and [p["task"] for p in seen[0][:3]] == ["seasons/samples.jsonl", "antonyms/samples.jsonl",
                                                                   "seasons/samples.jsonl"]   # the fixture's 2 files
    assert [len(r["document_loss"]) for r in result.log if r["type"] == "eval"] == [3, 3]


# ------------------------------------------------------------------------------------------------ the weights shown

def test_token_layer_weights_per_mode():
    from paper_utils.recipes.fusion import token_layer_weights

    cfg = _preset(modes=["last", "global_softmax", "transformer_softmax"])
    parts = load_fusion_parts(cfg, MODEL)
    text = heldout_parallel(cfg, "uz")[0][0]
    for label in ("fusion_last", "fusion_global_softmax", "fusion_transformer_softmax"):
        fused = build_fused(cfg, parts, label, 0)
        out = token_layer_weights(fused, parts.encoder_tokenizer, text)
        n_tokens = len(parts.encoder_tokenizer(text)["input_ids"])
        assert len(out["tokens"]) == len(out["weights"]) == n_tokens
        assert all(len(r) == fused.encoder_layers + 1 and abs(sum(r) - 1) < 1e-4 for r in out["weights"])
        if label == "fusion_last":
            assert all(r[-1] == 1.0 for r in out["weights"])
        if label == "fusion_global_softmax":
            assert all(r == out["weights"][0] for r in out["weights"])       # one softmax for every token


@pytest.mark.notebooks
def test_notebook_08_trains_once_and_notebook_05_evaluates_every_language(tmp_path, smoke_fusion_preset):
    """The smoke preset with the recipe added (a preset file): the runner runs notebook 08 once per mode (English
    training, no language), then notebook 05 for uz and ms on the same trained state; the figures read the runs."""
    from paper_utils import runner
    from paper_utils.figures import figure_fusion

    preset = smoke_fusion_preset('modes = ["global_softmax", "transformer_softmax"]\nsteps = 2\nbatch_size = 2\n'
                                 'heldout_pairs = 4\ntranslation_eval_pairs = 2\n')
    cfg = load_preset(str(preset))
    assert cfg.grid.languages == ("uz", "ms")
    jobs = recipe("fusion").jobs(cfg)
    assert [j.notebook for j in jobs].count("08_encoder_fusion") == 2 and len(jobs) == 6
    for job in jobs:
        runner.run_job(cfg, job)
        for out in job.outputs:
            assert (tmp_path / "results" / cfg.name / out).exists(), out
    root = tmp_path / "results" / cfg.name
    uz = json.loads((root / "uz/smollm2-135m/eval/fusion_transformer_softmax/scores.json").read_text())
    ms = json.loads((root / "ms/smollm2-135m/eval/fusion_transformer_softmax/scores.json").read_text())
    assert uz["language"] == "uz" and ms["language"] == "ms"
    weights = json.loads((root / "fusion/smollm2-135m/fusion_transformer_softmax__seed0/token_weights.json").read_text())
    assert set(weights["examples"]) == {"uz", "ms"}
    made = figure_fusion(cfg)
    assert set(made) == {"fusion_layer_weights__smollm2-135m", "fusion_loss_curves__smollm2-135m",
                         "fusion_token_weights__smollm2-135m__fusion_transformer_softmax__seed0"}
    executed = (root / "executed" / "08_encoder_fusion__smollm2-135m__fusion_transformer_softmax__seed0.ipynb").read_text()
    assert "\"ename\"" not in executed and "encoder tokens" in executed and "uz->English loss on 2 dev pairs" in executed


# ------------------------------------------------------------------------------------------------ other encoders

def _mt5_folder(path):
    """A tiny random MT5 checkpoint (encoder + decoder, safetensors) with the fixtures' tokenizer, as a Hub
    folder of google/mt5-* looks: the recipe must load only its encoder stack."""
    from transformers import MT5Config, MT5ForConditionalGeneration

    from paper_utils.fixtures import evaluation_tokenizer

    tok = evaluation_tokenizer()
    torch.manual_seed(0)
    model = MT5ForConditionalGeneration(MT5Config(vocab_size=len(tok), d_model=32, d_kv=16, d_ff=64, num_layers=2,
                                                  num_heads=2, pad_token_id=tok.pad_token_id,
                                                  decoder_start_token_id=tok.pad_token_id))
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_a_local_mt5_folder_serves_as_the_encoder_through_training_and_scoring(tmp_path):
    from paper_utils.recipes.fusion import run_fusion

    folder = _mt5_folder(tmp_path / "mt5")
    cfg = _preset(encoder=str(folder), modes=["transformer_softmax"], steps=2)
    parts = load_fusion_parts(cfg, MODEL)
    assert type(parts.encoder).__name__ == "MT5EncoderModel" and "MT5EncoderModel" in parts.encoder_name
    fused = build_fused(cfg, parts, "fusion_transformer_softmax")
    assert (fused.encoder_layers, fused.encoder_hidden, fused.encoder_limit) == (2, 32, None)   # relative positions
    result = run_fusion(cfg, MODEL, "fusion_transformer_softmax", 0, out_dir=tmp_path / "run", log=lambda line: None)
    assert result.summary["encoder"] == parts.encoder_name and result.summary["final_heldout_loss"] > 0
    lm = FusedTextLM(result.model, parts.encoder_tokenizer, parts.tokenizer, max_prompt_tokens=8)
    with pytest.warns(UserWarning, match="limit of 8"):
        ll = lm.loglik([("Uzbek: Faylni saqlash va yopish kerak\nEnglish:", " Save")])
    assert ll[0] < 0 and lm.truncated_contexts == 1


def test_encoder_names_a_hub_encoder_a_local_folder_or_fails_naming_the_key(tmp_path, monkeypatch):
    from paper_utils.errors import AssetError

    assert _preset(encoder="mt5-xl").fusion.encoder == "mt5-xl"
    with pytest.raises(ConfigError) as err:
        _preset(encoder=str(tmp_path / "nothing"))
    assert err.value.parameter == "fusion.encoder" and "local encoder folder" in err.value.fix
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AssetError, match="google/mt5-xl"):
        load_fusion_parts(_preset(encoder="mt5-xl"), MODEL)
