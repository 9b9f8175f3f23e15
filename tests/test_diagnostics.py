"""Step-0 diagnostics: English KL shortcut vs full forward passes, result files, paired tests."""
from __future__ import annotations

import copy
import csv
import json
import math

import pytest
import torch

from paper_utils.bpb import bits_per_byte
from paper_utils.config import load_preset
from paper_utils.errors import ConfigError, DataError
from paper_utils.fixtures import tiny_model
from paper_utils.init import (apply_patch, english_kl_exact, english_reference, english_shift, initialize, load_setup,
                              paired_tests, read_results, step0)


@pytest.fixture(scope="module")
def smoke():
    return load_setup(load_preset("smoke"), "uz", "smollm2-135m")


@pytest.mark.parametrize("kind,tied", [("llama", True), ("llama", False), ("gemma", True)])
def test_english_kl_shortcut_equals_full_forward(smoke, kind, tied):
    base, ext = smoke.base_tokenizer, smoke.extended_tokenizer
    model = tiny_model(kind, len(base), tied=tied)
    patch = initialize(model, base, ext, "fvt")
    if not tied:                          # make the new tokens win somewhere: output rows along the mean state
        ref = english_reference(model, base, smoke.english_texts)
        patch.output_rows = ref.hidden.mean(0).expand_as(patch.output_rows) * 50
    ref = english_reference(model, base, smoke.english_texts, ext)
    fast = english_shift(ref, patch)
    patched_model = apply_patch(copy.deepcopy(model), patch)
    exact = english_kl_exact(model, patched_model, base, smoke.english_texts)
    assert fast["english_kl"] >= 0 and math.isclose(fast["english_kl"], exact, rel_tol=1e-3, abs_tol=1e-6)
    assert 0 <= fast["english_new_mass"] <= 1 and fast["english_documents_excluded"] == 0
    # argmax share from the full forward pass of the patched model
    with torch.no_grad():
        hits = total = 0
        for ids in base(smoke.english_texts, add_special_tokens=False)["input_ids"]:
            inp = torch.tensor([[base.bos_token_id] + ids[:127]])
            top = patched_model(input_ids=inp).logits[0, :-1].argmax(-1)
            hits += int((top >= len(base)).sum())
            total += top.numel()
    assert fast["english_positions"] == total
    assert math.isclose(fast["english_new_argmax_share"], hits / total, abs_tol=1e-9)
    if not tied:
        assert fast["english_new_argmax_share"] > 0.5


def test_step0_writes_results_and_paired_tests(smoke, tmp_path, monkeypatch):
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    setup = copy.copy(smoke)
    result = step0(setup, ["mean", "fvt", "bxod"], variants={"bxod_k2": {"method": "bxod", "top_k": 2}},
                   log=lambda *a: None)
    table = result.table.round(4)                    # pandas copies attrs on round(): keep none that cannot be copied
    assert set(result.records) == {"mean", "fvt", "bxod", "bxod_k2"} and "_patch" in result.records["bxod"]
    out = tmp_path / "smoke" / "uz" / "smollm2-135m" / "init"
    assert sorted(p.name for p in out.glob("*.json")) == ["base.json", "bxod.json", "bxod_k2.json", "fvt.json",
                                                          "mean.json"]
    assert (out / "patches" / "bxod" / "rows.safetensors").exists()
    rec = json.loads((out / "bxod.json").read_text())
    for key in ("heldout_bpb", "base_bpb", "english_kl", "english_new_argmax_share", "seconds", "per_document_bpb",
                "per_document_bits", "per_document_bytes", "rules", "examples", "options"):
        assert key in rec, key
    # the table's number is recomputable from the stored per-document bits and bytes
    assert math.isclose(rec["heldout_bpb"], sum(rec["per_document_bits"]) / sum(rec["per_document_bytes"]))
    assert rec["options"]["top_k"] == 8 and rec["new_tokens"] == len(setup.extended_tokenizer) - len(setup.base_tokenizer)
    assert list(table["method"]) == ["base", "mean", "fvt", "bxod", "bxod_k2"]
    base_bpb = bits_per_byte(setup.model, setup.base_tokenizer, setup.heldout_texts).bpb
    assert math.isclose(result.table.loc[0, "heldout_bpb"], base_bpb) and setup.model.config.vocab_size == len(setup.base_tokenizer)

    records = read_results(out)
    assert list(records)[0] == "base"
    results = paired_tests(records, rivals=["mean", "fvt"], out_csv=out / "significance.csv", language="uz",
                           model="smollm2-135m")
    assert [(r.method_a, r.statistic) for r in results] == [("mean", "corpus_bpb"), ("mean", "mean_document_bpb"),
                                                            ("fvt", "corpus_bpb"), ("fvt", "mean_document_bpb")]
    assert all(r.method_b == "bxod" for r in results)
    # corpus_bpb: the delta of the table's numbers (heldout_bpb); mean_document_bpb: the mean per-document delta
    assert math.isclose(results[2].delta, records["bxod"]["heldout_bpb"] - records["fvt"]["heldout_bpb"],
                        abs_tol=1e-12)
    assert results[2].test == "approximate_randomization"
    d = [b - a for a, b in zip(records["fvt"]["per_document_bpb"], records["bxod"]["per_document_bpb"])]
    assert math.isclose(results[3].delta, sum(d) / len(d), abs_tol=1e-12)
    assert all(r.p_adjusted >= r.p_value for r in results if r.statistic == "corpus_bpb")   # Holm: primary family
    assert all(math.isnan(r.p_adjusted) for r in results if r.statistic == "mean_document_bpb")
    rows = list(csv.DictReader(open(out / "significance.csv")))
    assert [(r["method_a"], r["statistic"]) for r in rows] == [(r.method_a, r.statistic) for r in results]
    wil = paired_tests(records, rivals=["fvt"], test="wilcoxon")
    assert [r.test for r in wil] == ["approximate_randomization", "wilcoxon_signed_rank"]
    old = {k: {f: v for f, v in rec.items() if f not in ("per_document_bits", "per_document_bytes")}
           for k, rec in records.items()}                        # a record written before bits/bytes were stored
    with pytest.raises(DataError, match="rerun notebook 03"):
        paired_tests(old, rivals=["fvt"])
    with pytest.raises(ConfigError, match="paired_permutation"):
        paired_tests(records, test="t-test")
    with pytest.raises(ConfigError, match="reference"):
        paired_tests(records, reference="salt")
    with pytest.raises(DataError):
        read_results(tmp_path / "nothing")
    with pytest.raises(ConfigError, match="bxod"):
        step0(setup, ["magic"])
    with pytest.raises(ConfigError, match="variants"):
        step0(setup, ["fvt"], variants={"x": {"top_k": 3}})


def test_step0_resumes_finished_labels_and_checks_rebuilt_patches(smoke, tmp_path, monkeypatch):
    """A stopped stage 03 keeps the labels it finished: same code, inputs and request -> the record is reused
    (its patch loaded, or rebuilt when the uncommitted patches folder is gone and checked by digest); any other
    request, texts or a rebuilt patch with other rows -> scored again."""
    import shutil

    import importlib

    step0_module = importlib.import_module("paper_utils.init.step0")

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    setup = copy.copy(smoke)
    variants = {"bxod_k2": {"method": "bxod", "top_k": 2}}
    first = step0(setup, ["mean", "fvt"], variants=variants, log=lambda *a: None)
    out = tmp_path / "smoke" / "uz" / "smollm2-135m" / "init"
    rec = json.loads((out / "fvt.json").read_text())
    assert {"code_version", "inputs", "request", "patch_digest"} <= set(rec)
    assert rec["patch_digest"] == first.records["fvt"]["_patch"].digest()
    scored = []
    real = step0_module.evaluate_patch

    def counting(s, patch, ref=None):
        scored.append(patch.method)
        return real(s, patch, ref)

    monkeypatch.setattr(step0_module, "evaluate_patch", counting)
    again = step0(setup, ["mean", "fvt"], variants=variants, log=lambda *a: None)
    assert scored == [] and again.table["heldout_bpb"].tolist() == first.table["heldout_bpb"].tolist()
    assert all(again.records[k]["_resumed"] for k in ("mean", "fvt", "bxod_k2"))
    shutil.rmtree(out / "patches")                                    # patches are not committed
    rebuilt = step0(setup, ["mean", "fvt"], variants=variants, log=lambda *a: None)
    assert scored == [] and (out / "patches" / "bxod_k2" / "rows.safetensors").exists()
    assert torch.equal(rebuilt.records["bxod_k2"]["_patch"].input_rows, first.records["bxod_k2"]["_patch"].input_rows)
    # another request under the same label, a tampered digest, other held-out texts: scored again
    step0(setup, ["fvt"], variants={"bxod_k2": {"method": "bxod", "top_k": 3}}, log=lambda *a: None)
    assert scored == ["bxod"]
    tampered = json.loads((out / "fvt.json").read_text())
    tampered["patch_digest"] = "0" * 16
    (out / "fvt.json").write_text(json.dumps(tampered))
    shutil.rmtree(out / "patches" / "fvt")
    lines = []
    step0(setup, ["fvt"], log=lines.append)
    assert scored == ["bxod", "fvt"] and any("scoring it again" in str(line) for line in lines)
    # options the setup resolves (the preset's [initialization] options, lexicon, texts) count, not only the request
    setup.method_options = {**setup.method_options, "bxod": {**setup.method_options.get("bxod", {}), "max_anchors": 3}}
    step0(setup, ["fvt"], variants=variants, log=lambda *a: None)
    assert scored == ["bxod", "fvt", "bxod"]
    # a record scored without the English reference is not reused by a run that measures it
    scored.clear()
    run_method_module = step0_module.run_method
    run_method_module(setup, "mean", log=lambda *a: None)                       # ref=None: no English KL
    again = step0(setup, ["mean"], log=lambda *a: None)
    assert scored == ["mean", "mean"] and "english_kl" in again.records["mean"] and again.base["_resumed"]
    # a damaged saved patch is rebuilt (and checked), not a crash
    (out / "patches" / "mean" / "rows.safetensors").write_bytes(b"not a safetensors file")
    lines.clear()
    step0(setup, ["mean"], log=lines.append)
    assert scored == ["mean", "mean"] and any("could not be read" in str(line) for line in lines)
    setup.heldout_texts = setup.heldout_texts[:-1]
    scored.clear()
    step0(setup, ["fvt"], log=lambda *a: None)
    assert scored == ["fvt"]
    assert json.loads((out / "base.json").read_text())["heldout_documents"] == len(setup.heldout_texts)
    scored.clear()
    step0(setup, ["fvt"], resume=False, log=lambda *a: None)
    assert scored == ["fvt"]


def test_step0_scores_twin_labels_once(smoke, tmp_path, monkeypatch):
    """Labels whose method and complete options are equal (a variant spelling out a default, two names for one
    configuration) are computed once; the others get the record and patch with ``same_as``."""
    import importlib

    step0_module = importlib.import_module("paper_utils.init.step0")
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    scored = []
    real = step0_module.evaluate_patch
    monkeypatch.setattr(step0_module, "evaluate_patch",
                        lambda s, patch, ref=None: scored.append(patch.method) or real(s, patch, ref))
    setup = copy.copy(smoke)
    default_k = step0_module.initializer("bxod").options["top_k"]
    variants = {"bxod_k2": {"method": "bxod", "top_k": 2}, "bxod_k2_again": {"method": "bxod", "top_k": 2},
                "bxod_default": {"method": "bxod", "top_k": default_k}}
    result = step0(setup, ["fvt", "bxod"], variants=variants, log=lambda *a: None)
    assert scored == ["fvt", "bxod", "bxod"]                           # bxod, bxod_k2; the twins not again
    recs = result.records
    assert recs["bxod_k2_again"]["same_as"] == "bxod_k2" and recs["bxod_default"]["same_as"] == "bxod"
    assert recs["bxod_default"]["heldout_bpb"] == recs["bxod"]["heldout_bpb"] and "same_as" not in recs["bxod"]
    out = tmp_path / "smoke" / "uz" / "smollm2-135m" / "init"
    saved = json.loads((out / "bxod_k2_again.json").read_text())
    assert saved["method"] == "bxod_k2_again" and saved["per_document_bits"] == recs["bxod_k2"]["per_document_bits"]
    assert (out / "patches" / "bxod_k2_again" / "rows.safetensors").exists()
    assert list(result.table["method"]) == ["base", "fvt", "bxod", "bxod_k2", "bxod_k2_again", "bxod_default"]


def test_smoke_setup_gemma():
    setup = load_setup(load_preset("smoke"), "uz", "gemma3-270m")
    assert type(setup.model).__name__ == "Gemma3ForCausalLM"
    assert len(setup.extended_tokenizer) > len(setup.base_tokenizer)
    assert setup.options("focus_ppmi")["min_count"] == 1 and setup.options("focus")["epochs"] == 2 and "lexicon" in setup.options("bxod")


def test_english_reference_needs_text(smoke):
    with pytest.raises(DataError):
        english_reference(smoke.model, smoke.base_tokenizer, ["  "])
