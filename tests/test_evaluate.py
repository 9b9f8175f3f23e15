"""Evaluation: batched generation, one-pass MMLU, label log-likelihood, outputs, significance, bad inputs.

Tiny random Llama models only (seconds on a 2-core CPU).
"""
import csv
import json
import os

import pytest
import torch

from paper_utils import evaluate, fixtures, mmlu_format
from paper_utils.evaluate import CausalTextLM, decoding
from paper_utils.evaluate.mmlu import score_mmlu
from paper_utils.config import load_preset
from paper_utils.errors import AssetError, ConfigError, DataError
from paper_utils.layout import MissingStageOutput


@pytest.fixture(scope="module")
def tiny():
    return fixtures.evaluation_model()


def _naive_greedy(model, tok, prompt, steps):
    """Reference decoder: no cache, no padding, full recompute every step."""
    ids = tok(prompt)["input_ids"]
    out = []
    with torch.no_grad():
        for _ in range(steps):
            nxt = int(model(torch.tensor([ids + out])).logits[0, -1].argmax())
            out.append(nxt)
    return out


def test_left_padded_batched_generation_equals_unbatched_greedy(tiny):
    model, tok = tiny
    prompts = ["English: Save\nUzbek:", "Translate English to Uzbek.\n\nEnglish: Log out\nUzbek: Chiqish\n\nEnglish: "
               "Change password\nUzbek:", "Text: Kualitasnya buruk sekali.\nSentiment:", "A"]
    lengths = {len(tok(p)["input_ids"]) for p in prompts}
    assert len(lengths) == len(prompts)                       # really different lengths -> real left padding
    one = decoding.greedy_generate(model, tok, prompts, max_new_tokens=12, batch_size=1, stop_at_newline=False)
    many = decoding.greedy_generate(model, tok, prompts, max_new_tokens=12, batch_size=4, stop_at_newline=False)
    assert one == many
    # the KV-cache decoder equals a decoder that recomputes everything
    ref = tok.decode(_naive_greedy(model, tok, prompts[1], 12), skip_special_tokens=True).split("\n", 1)[0].strip()
    assert many[1] == ref
    # newline stop: the output never contains a newline
    stopped = decoding.greedy_generate(model, tok, prompts, max_new_tokens=30, batch_size=3)
    assert all("\n" not in s for s in stopped)


def test_mmlu_prompt_is_lm_eval_default_format():
    item = {"question": "  What is 2 + 2? ", "choices": ["3", "4", "5", "6"], "answer": 1, "subject": "elementary_mathematics"}
    shot = {"question": "What is 1 + 1?", "choices": ["2", "3", "4", "5"], "answer": 0, "subject": "elementary_mathematics"}
    assert mmlu_format.build_prompt(item, [shot]) == (
        "The following are multiple choice questions (with answers) about elementary mathematics.\n\n"
        "What is 1 + 1?\nA. 2\nB. 3\nC. 4\nD. 5\nAnswer: A\n\n"
        "What is 2 + 2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:")


def test_mmlu_shots_are_held_out_and_subset_stratified():
    rows = fixtures.mmlu_rows()
    items, pool = mmlu_format.held_out_split(rows, 10, seed=0)
    shot_ids = {r["id"] for v in pool.values() for r in v}
    assert all(len(v) == mmlu_format.N_SHOTS for v in pool.values())
    assert not shot_ids & {it["id"] for it in items}
    assert len(items) == 10 and {it["subject"] for it in items} == set(pool)
    assert [it["id"] for it in items] == [it["id"] for it in mmlu_format.held_out_split(rows, 10, seed=0)[0]]
    with pytest.raises(ConfigError, match="mmlu_questions"):
        mmlu_format.held_out_split(rows, 21)                # 30 questions - 10 shots


def test_mmlu_subjects_restricts_items_and_shots_to_a_fixed_choice():
    rows = fixtures.mmlu_rows()
    items, pool = mmlu_format.held_out_split(rows, 6, seed=0, subjects=1)
    assert len(pool) == 1 and {it["subject"] for it in items} == set(pool) and len(items) == 6
    assert list(pool) == mmlu_format.choose_subjects({r["subject"] for r in rows}, 1, seed=0)
    with pytest.raises(ConfigError, match="mmlu_subjects"):
        mmlu_format.held_out_split(rows, 6, subjects=3)   # the fixture has 2 subjects
    with pytest.raises(ConfigError, match="mmlu_questions"):
        mmlu_format.held_out_split(rows, 11, subjects=1)  # 15 questions - 5 shots


def test_mmlu_one_pass_scoring_equals_per_choice_manual_computation(tiny):
    model, tok = tiny
    items, pool = mmlu_format.held_out_split(fixtures.mmlu_rows(), 8, seed=1)
    shared = score_mmlu(CausalTextLM(model, tok), items, pool, batch_size=3, share_prefix=True)
    full = score_mmlu(CausalTextLM(model, tok), items, pool, batch_size=3, share_prefix=False)
    for it, lp_shared, lp_full in zip(items, shared.logprobs, full.logprobs):
        prompt = mmlu_format.build_prompt(it, pool[it["subject"]])
        manual = []
        for letter in mmlu_format.LETTERS:            # log-likelihood of " X" after the prompt, one run per choice
            ctx = tok(prompt)["input_ids"]
            whole = tok(prompt + " " + letter)["input_ids"]
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([whole])).logits[0].float(), -1)
            manual.append(float(sum(logp[p - 1, whole[p]] for p in range(len(ctx), len(whole)))))
        assert lp_shared == pytest.approx(manual, abs=1e-4)
        assert lp_full == pytest.approx(manual, abs=1e-4)
    assert shared.predictions == full.predictions
    assert shared.predictions == [max(range(4), key=lambda k: lp[k]) for lp in shared.logprobs]
    recs = shared.records()
    assert {"id", "prediction", "answer", "correct", "logprobs"} <= set(recs[0])


def test_classification_normalized_and_unnormalized(tiny):
    model, tok = tiny
    labels = ("no", "strongly positive")                  # different byte lengths -> normalization matters
    items = [{"id": f"t{i}", "text": t, "label": lab} for i, (t, lab) in
             enumerate([("Kualitasnya buruk sekali.", "no"), ("Rasanya lezat.", "strongly positive"),
                        ("Uang saya tidak dikembalikan.", 0), ("Terima kasih!", 1)])]
    demos = [{"id": "d0", "text": "Barangnya rusak.", "label": "no"}, {"id": "d1", "text": "Enak.", "label": 1}]
    recs, scores = evaluate.classify(CausalTextLM(model, tok), items, demos, labels, "fixture-sentiment", batch_size=3)
    recs_full, _ = evaluate.classify(CausalTextLM(model, tok), items, demos, labels, "fixture-sentiment", share_prefix=False)
    field = evaluate.FIELDS["fixture-sentiment"]
    for it, rec, rec_full in zip(items, recs, recs_full):
        prompt = evaluate.classification_prompt(it["text"], [("Barangnya rusak.", "no"), ("Enak.", labels[1])], field, labels)
        for lab in labels:
            ctx = tok(prompt)["input_ids"]
            whole = tok(prompt + " " + lab)["input_ids"]
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([whole])).logits[0].float(), -1)
            manual = float(sum(logp[p - 1, whole[p]] for p in range(len(ctx), len(whole))))
            assert rec["loglik"][lab] == pytest.approx(manual, abs=1e-4)
            assert rec_full["loglik"][lab] == pytest.approx(manual, abs=1e-4)
            assert rec["loglik_per_byte"][lab] == pytest.approx(rec["loglik"][lab] / len((" " + lab).encode()), rel=1e-12)
        assert rec["prediction"] == max(labels, key=lambda lab: rec["loglik"][lab])
        assert rec["prediction_norm"] == max(labels, key=lambda lab: rec["loglik_per_byte"][lab])
    assert scores["accuracy"] == sum(r["correct"] for r in recs) / 4
    assert scores["accuracy_norm"] == sum(r["correct_norm"] for r in recs) / 4


def test_bad_inputs_give_clear_errors(tiny, tmp_path):
    model, tok = tiny
    with pytest.raises(DataError, match="2 hypotheses but 3 references"):
        evaluate.translation_scores(["a", "b"], ["a", "b", "c"])
    with pytest.raises(DataError, match="empty test set"):
        evaluate.translation_scores([], [])
    with pytest.raises(DataError, match="empty test set"):
        evaluate.classify(CausalTextLM(model, tok), [], [], ("negative", "positive"), "fixture-sentiment")
    with pytest.raises(DataError, match="empty test set"):
        score_mmlu(CausalTextLM(model, tok), [], {})
    with pytest.raises(DataError, match="empty test set"):
        evaluate.evaluate_bpb(CausalTextLM(model, tok), ["", "  "])
    with pytest.raises(DataError, match=r"label 'neutral' of item x is not in the label set \['negative', 'positive'\]"):
        evaluate.classify(CausalTextLM(model, tok), [{"id": "x", "text": "t", "label": "neutral"}], [], ("negative", "positive"),
                          "fixture-sentiment")
    with pytest.raises(DataError, match="label 2"):
        evaluate.classify(CausalTextLM(model, tok), [{"id": "x", "text": "t", "label": 2}], [], ("negative", "positive"), "x")
    bad_item = {"id": "q", "question": "?", "choices": ["a", "b", "c", "d"], "answer": 4, "subject": "s"}
    with pytest.raises(DataError, match="answer 4"):
        score_mmlu(CausalTextLM(model, tok), [bad_item], {"s": []})
    no_tok = tmp_path / "model_without_tokenizer"
    model.save_pretrained(no_tok)
    with pytest.raises(AssetError, match="tokenizer"):
        evaluate.load_eval_model(load_preset("smoke"), "smollm2-135m", "fvt", model_dir=str(no_tok))
    with pytest.raises(ConfigError, match="method"):
        evaluate.check_parameters(load_preset("smoke"), "uz", "smollm2-135m", "salt")
    with pytest.raises(MissingStageOutput, match="run 04_adaptation for zz/smollm2-135m first"):
        evaluate.load_eval_model(load_preset("smoke"), "smollm2-135m", "fvt", language="zz")


def test_smoke_run_writes_outputs_and_significance(tmp_path, monkeypatch):
    from paper_utils.evaluate import significance as evaluate_significance

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    cfg = load_preset("smoke")
    scores = evaluate.run_evaluation(cfg, "uz", "smollm2-135m", "base", log=lambda *_: None)
    out = tmp_path / "smoke" / "uz" / "smollm2-135m" / "eval" / "base"
    for name in ("scores.json", "translation_en-uz.jsonl", "translation_uz-en.jsonl", "matching_uz-en.jsonl",
                 "matching_en-uz.jsonl", "classification.jsonl", "mmlu.jsonl", "mmlu_cloze.jsonl", "bpb.jsonl"):
        assert (out / name).exists(), name
    tr = scores["tasks"]["translation"]["en-uz"]
    assert tr["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert "nw:2" in tr["chrf++_signature"] and tr["primary"] == "chrf++"
    for direction in ("uz-en", "en-uz"):                  # translation matching: every language, both directions
        assert scores["tasks"]["matching"][direction]["n"] == cfg.evaluation.matching_items
    assert scores["tasks"]["mmlu_cloze"]["n"] == cfg.evaluation.mmlu_questions
    assert json.loads((out / "scores.json").read_text())["tasks"]["mmlu"]["n"] == cfg.evaluation.mmlu_questions
    # the English check: the base model with its own tokenizer is identical on every item; bpb has no English
    saved = json.loads((out / "scores.json").read_text())["tasks"]
    for s in [*saved["translation"].values(), *saved["matching"].values(), saved["classification"], saved["mmlu"],
              saved["mmlu_cloze"]]:
        assert s["english_identical_share"] == 1.0 and s["english_changed_items"] == 0
    assert saved["bpb"]["english_identical_share"] is None
    for name in ("translation_en-uz.jsonl", "translation_uz-en.jsonl", "matching_uz-en.jsonl", "matching_en-uz.jsonl",
                 "classification.jsonl", "mmlu.jsonl", "mmlu_cloze.jsonl"):
        records = evaluate.read_jsonl(out / name)
        assert all(r["english_identical"] is True and r["english_changed"] == [] for r in records), name

    # a second "method": an adapted model folder (with its tokenizer) loads through model_dir ...
    model, tok = fixtures.evaluation_model(seed=1)
    folder = tmp_path / "fvt_model"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    loaded, source = evaluate.load_eval_model(cfg, "smollm2-135m", "fvt", model_dir=str(folder))
    assert source == "$PAPER_UTILS_RESULTS/fvt_model"       # recorded without the machine's absolute path
    assert loaded.model.config.vocab_size == model.config.vocab_size
    # ... and its outputs (here: the base outputs, perturbed) are compared with base by the significance stage
    fvt = out.parent / "fvt"
    fvt.mkdir()
    for f in out.iterdir():
        recs = evaluate.read_jsonl(f) if f.suffix == ".jsonl" else None
        if recs is None:
            (fvt / f.name).write_bytes(f.read_bytes())
            continue
        for k, r in enumerate(recs):
            if "hypothesis" in r and k % 2:
                r["hypothesis"] = r["reference"]
            if "correct" in r and k % 3 == 0:
                r["correct"] = not r["correct"]
            if "bpb" in r:
                r["bits"] *= 0.9
                r["bpb"] = r["bits"] / r["bytes"]
        evaluate.write_jsonl(fvt / f.name, recs)
    path = evaluate_significance.write_significance(cfg)
    rows = list(csv.DictReader(open(path)))
    assert list(rows[0]) == ["language", "model", "metric", "statistic", "method_a", "method_b", "delta", "ci_low",
                             "ci_high", "p_value", "p_adjusted", "test", "n"]
    by_metric = {r["metric"]: r for r in rows if r["statistic"] != "mean_document_bpb"}
    assert {"BLEU en-uz", "chrF2++ uz-en", "matching accuracy uz-en", "matching accuracy en-uz", "accuracy",
            "MMLU accuracy", "MMLU cloze accuracy", "bpb", "English bpb"} <= set(by_metric)
    assert by_metric["bpb"]["statistic"] == "corpus_bpb" and by_metric["BLEU en-uz"]["statistic"] == "corpus_bleu"
    assert by_metric["English bpb"]["statistic"] == "corpus_bpb"
    assert by_metric["chrF2++ en-uz"]["statistic"] == "corpus_chrf2++"
    assert by_metric["matching accuracy uz-en"]["test"] == by_metric["MMLU cloze accuracy"]["test"] == "mcnemar_exact"
    assert all(r["method_a"] == "base" and r["method_b"] == "fvt" for r in rows)
    secondary = [r for r in rows if r["statistic"] == "mean_document_bpb"]
    assert [r["metric"] for r in secondary] == ["bpb", "English bpb"]
    assert all(r["p_adjusted"] == "" for r in secondary)  # labelled secondary: outside the Holm family
    bleu = [r for r in rows if r["statistic"] == "corpus_bleu"]
    assert len(bleu) == 2 and all(r["p_adjusted"] == "" for r in bleu)   # BLEU beside chrF++ (primary): secondary
    primary = [r for r in rows if r["statistic"] not in ("mean_document_bpb", "corpus_bleu")]
    assert all(float(r["p_adjusted"]) >= float(r["p_value"]) for r in primary)
    # delta = fvt - base, with the sign the fabricated outputs dictate
    for direction in ("en-uz", "uz-en"):                  # half the hypotheses became the reference: better
        assert float(by_metric[f"BLEU {direction}"]["delta"]) > 0
        assert float(by_metric[f"chrF2++ {direction}"]["delta"]) > 0
    base_docs = evaluate.read_jsonl(out / "bpb.jsonl")
    base_bpb = [r["bpb"] for r in base_docs]
    corpus = sum(r["bits"] for r in base_docs) / sum(r["bytes"] for r in base_docs)
    assert float(by_metric["bpb"]["delta"]) == pytest.approx(-0.1 * corpus)                          # x0.9: lower
    assert float(secondary[0]["delta"]) == pytest.approx(-0.1 * sum(base_bpb) / len(base_bpb))
    english_docs = evaluate.read_jsonl(out / "english_bpb.jsonl")             # English retention, x0.9 too
    english_corpus = sum(r["bits"] for r in english_docs) / sum(r["bytes"] for r in english_docs)
    assert float(by_metric["English bpb"]["delta"]) == pytest.approx(-0.1 * english_corpus)
    for metric, name in (("accuracy", "classification.jsonl"), ("MMLU accuracy", "mmlu.jsonl"),
                         ("MMLU cloze accuracy", "mmlu_cloze.jsonl"), ("matching accuracy uz-en", "matching_uz-en.jsonl")):
        base_ok = [bool(r["correct"]) for r in evaluate.read_jsonl(out / name)]
        fvt_ok = [bool(r["correct"]) for r in evaluate.read_jsonl(fvt / name)]
        assert fvt_ok != base_ok                           # the fabrication changed something
        expected = (sum(fvt_ok) - sum(base_ok)) / len(base_ok)
        assert float(by_metric[metric]["delta"]) == pytest.approx(expected), metric


def test_mmlu_multi_token_letters_fall_back_to_per_choice_loglik():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator(["plain bytes only"], trainers.BpeTrainer(
        vocab_size=262, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<|endoftext|>"],
        show_progress=False))
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                  pad_token="<|endoftext|>")
    model, tok = fixtures.evaluation_model(tokenizer=tok)
    items, pool = mmlu_format.held_out_split(fixtures.mmlu_rows(), 3, seed=2)
    assert len(tok(" A", add_special_tokens=False)["input_ids"]) == 2
    res = score_mmlu(CausalTextLM(model, tok), items, pool)
    assert res.meta["one_pass"] is False
    it = items[0]
    prompt = mmlu_format.build_prompt(it, pool[it["subject"]])
    manual = []
    for letter in mmlu_format.LETTERS:
        ctx, whole = tok(prompt)["input_ids"], tok(prompt + " " + letter)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([whole])).logits[0].float(), -1)
        manual.append(float(sum(logp[p - 1, whole[p]] for p in range(len(ctx), len(whole)))))
    assert res.logprobs[0] == pytest.approx(manual, abs=1e-4)


def _without_timings(value):
    """``value`` with every ``seconds`` entry dropped (wall times differ between two runs of the same scoring)."""
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_an_interrupted_evaluation_resumes_task_by_task_and_equals_an_uninterrupted_one(tmp_path, monkeypatch):
    from paper_utils.evaluate import runs

    cfg = load_preset("smoke")
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path / "whole"))
    whole = runs.run_evaluation(cfg, "uz", "smollm2-135m", "base", log=lambda *_: None)

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path / "cut"))
    out = tmp_path / "cut" / "smoke" / "uz" / "smollm2-135m" / "eval" / "base"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed during the cloze task")

    monkeypatch.setattr(runs, "score_mmlu_cloze", killed)
    with pytest.raises(KeyboardInterrupt):
        runs.run_evaluation(cfg, "uz", "smollm2-135m", "base", log=lambda *_: None)
    assert not (out / "scores.json").exists()
    saved = json.loads((out / "progress.json").read_text())
    assert list(saved["tasks"]) == ["translation", "matching", "classification", "mmlu"]
    monkeypatch.undo()
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path / "cut"))

    calls = {}
    for name in ("evaluate_translation", "score_matching", "classify", "score_mmlu", "score_mmlu_cloze"):
        def counted(*args, _name=name, _real=getattr(runs, name), **kwargs):
            calls[_name] = calls.get(_name, 0) + 1
            return _real(*args, **kwargs)
        monkeypatch.setattr(runs, name, counted)
    (out / "mmlu.jsonl").write_text((out / "mmlu.jsonl").read_text() + "\n")     # a finished task's file changed
    logged = []
    resumed = runs.run_evaluation(cfg, "uz", "smollm2-135m", "base", log=logged.append)
    # translation, matching and classification are taken back; mmlu (its file changed) and the rest are scored
    assert calls == {"score_mmlu": 1, "score_mmlu_cloze": 1}
    assert sum("taken from the interrupted run" in line for line in logged) == 3
    assert not (out / "progress.json").exists()                        # finished: nothing left to resume
    on_disk = json.loads((out / "scores.json").read_text())
    assert _without_timings(on_disk) == _without_timings(json.loads(json.dumps(whole)))
    assert _without_timings(json.loads(json.dumps(resumed))) == _without_timings(on_disk)
    for name in ("translation_en-uz.jsonl", "matching_uz-en.jsonl", "classification.jsonl", "mmlu.jsonl",
                 "mmlu_cloze.jsonl", "bpb.jsonl", "english_bpb.jsonl"):
        first = tmp_path / "whole" / "smoke" / "uz" / "smollm2-135m" / "eval" / "base" / name
        assert _without_timings(evaluate.read_jsonl(out / name)) == _without_timings(evaluate.read_jsonl(first)), name

    # an interrupted run of other settings (here the batch size) is not taken back: every task is scored again
    monkeypatch.setattr(runs, "score_mmlu_cloze", killed)
    with pytest.raises(KeyboardInterrupt):
        runs.run_evaluation(cfg, "uz", "smollm2-135m", "base", batch_size=4, log=lambda *_: None)
    monkeypatch.setattr(runs, "score_mmlu_cloze", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    calls.clear()
    logged.clear()
    with pytest.raises(KeyboardInterrupt):
        runs.run_evaluation(cfg, "uz", "smollm2-135m", "base", batch_size=8, log=logged.append)
    assert calls == {"evaluate_translation": 2, "score_matching": 1, "classify": 1, "score_mmlu": 1}
    assert any("another run (differs in batch_size)" in line for line in logged)


def test_a_finished_task_is_taken_back_only_while_the_code_it_ran_is_unchanged(tmp_path, monkeypatch):
    from paper_utils.evaluate import progress

    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "scorer_under_test.py").write_text("WEIGHT = 1\n")
    os.utime(lib / "scorer_under_test.py", (1e9, 1e9))          # there before this process started
    monkeypatch.syspath_prepend(str(lib))
    monkeypatch.setattr(progress, "loaded_modules", lambda: ["scorer_under_test"])
    out = tmp_path / "run"
    out.mkdir()
    (out / "task.jsonl").write_text('{"id": 1}\n')
    progress.EvaluationProgress(out, {"weights": "w"}).record("task", {"accuracy": 0.5}, ["task.jsonl"])
    assert progress.EvaluationProgress(out, {"weights": "w"}).finished("task") == {"accuracy": 0.5}
    (lib / "scorer_under_test.py").write_text("WEIGHT = 2\n")              # a commit changed the scorer
    logged = []
    assert progress.EvaluationProgress(out, {"weights": "w"}, log=logged.append).finished("task") is None
    assert logged == ["task: the code has changed since the interrupted run scored it; scored again"]
    (lib / "scorer_under_test.py").unlink()                                  # or removed it
    assert progress.EvaluationProgress(out, {"weights": "w"}, log=logged.append).finished("task") is None
    # a scorer changed on disk while the evaluation ran: what ran is unknown, so the task is recorded as not resumable
    (lib / "scorer_under_test.py").write_text("WEIGHT = 1\n")
    running = progress.EvaluationProgress(out, {"weights": "v"}, log=logged.append)
    running.record("task", {"accuracy": 0.5}, ["task.jsonl"])
    assert running.tasks["task"]["code"]["digest"] is None
    os.utime(lib / "scorer_under_test.py", (1e9, 1e9))
    assert progress.EvaluationProgress(out, {"weights": "v"}, log=logged.append).finished("task") is None
    # an unreadable record is discarded, not fatal
    (out / "progress.json").write_text("{not json")
    assert progress.EvaluationProgress(out, {"weights": "v"}, log=logged.append).finished("task") is None
    assert "unreadable" in logged[-1]
