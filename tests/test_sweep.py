"""Equal tuning (the dev sweep, init/sweep.csv) and the fvt blend ablation, on the smoke preset's tiny models."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
import torch

from paper_utils.config import load_preset
from paper_utils.errors import ConfigError
from paper_utils.fixtures import tiny_model
from paper_utils.init import NgramHashEncoder, initialize, smoke_setup
from paper_utils.init import sweep as sweep_module
from paper_utils.init.sweep import choose, dev_sweep, read_sweep, resolve_labels
from paper_utils.tuning import check_sweep, parse_label

GRID = {"bxod": [{"subtoken_weight": 0.0}, {"subtoken_weight": 0.75, "anchor_set": "alpha", "continuation": "anchor"}],
        "random": [{"seed": 1}, {"seed": 2}]}


@pytest.fixture(scope="module")
def cfg():
    return load_preset("smoke")


@pytest.fixture(scope="module")
def setup(cfg):
    return smoke_setup(cfg, "uz", "smollm2-135m")


# ------------------------------------------------------------------------------------------------ the grid

def test_every_method_gets_the_same_number_of_configurations(cfg):
    sizes = {m: len(c) for m, c in cfg.sweep.items()}
    assert sizes and len(set(sizes.values())) == 1
    with pytest.raises(ConfigError) as err:
        load_preset("smoke", **{"sweep.random": [{"seed": 1}, {"seed": 2}, {"seed": 3}]})
    assert err.value.parameter == "sweep" and "same number" in err.value.fix and err.value.value == {"bxod": 2, "random": 3}


def test_unknown_option_in_the_grid_names_the_parameter(cfg, setup, tmp_path):
    with pytest.raises(ConfigError) as err:
        load_preset("smoke", **{"sweep.bxod": [{"subtoken_weight": 0.0}, {"top_kk": 4}]})
    assert err.value.parameter == "sweep.bxod[1]" and "top_k" in err.value.fix
    with pytest.raises(ConfigError, match=r"sweep\.bxod\[0\].*study setup supplies"):
        check_sweep({"bxod": [{"encoder": "labse"}]})
    with pytest.raises(ConfigError, match="listed twice"):
        check_sweep({"bxod": [{"top_k": 4}, {"top_k": 4}]})
    with pytest.raises(ConfigError, match="invalid sweep='fasttext'"):
        check_sweep({"fasttext": [{}]})
    out = tmp_path / "init" / "sweep.csv"
    with pytest.raises(ConfigError) as err:                      # dev_sweep checks a grid given directly too
        dev_sweep(setup, {"bxod": [{"top_kk": 4}]}, out_csv=out, log=None)
    assert err.value.parameter == "sweep.bxod[0]" and not out.exists()


def test_an_empty_or_small_dev_split_is_refused_with_the_numbers_and_nothing_written(setup, tmp_path):
    out = tmp_path / "init" / "sweep.csv"
    with pytest.raises(ConfigError) as err:
        dev_sweep(replace(setup, dev_texts=[]), GRID, min_documents=1, out_csv=out, log=None)
    assert err.value.parameter == "dev_texts" and "has 0 documents" in err.value.fix
    assert "initialization.min_dev_documents = 1" in err.value.fix and not out.exists()
    with pytest.raises(ConfigError, match="has 3 documents, fewer than initialization.min_dev_documents = 300"):
        dev_sweep(setup, GRID, min_documents=300, out_csv=out, log=None)
    assert not out.exists() and not out.parent.exists()
    with pytest.raises(ConfigError, match="initialization.min_dev_documents"):
        load_preset("smoke", **{"initialization.min_dev_documents": 0})


# ------------------------------------------------------------------------------------------------ the sweep

def test_sweep_scores_every_configuration_on_dev_and_chooses_by_the_rule(setup, tmp_path):
    out = tmp_path / "sweep.csv"
    frame = dev_sweep(setup, GRID, min_documents=2, out_csv=out, log=None)
    written = read_sweep(out)
    assert {"method", "options", "dev_bpb", "english_kl", "chosen"} <= set(written.columns)
    assert written.groupby("method").size().to_dict() == {"bxod": 2, "random": 2}
    assert (written["dev_documents"] == len(setup.dev_texts)).all()
    for method, group in written.groupby("method"):
        assert group["chosen"].sum() == 1
        best = group.sort_values(["dev_bpb", "english_kl"]).iloc[0]
        assert bool(best["chosen"]) and best["dev_bpb"] == group["dev_bpb"].min()
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), written, check_dtype=False)
    # the dev number is the dev split's: the same patch on the test split gives another value
    test_rows = dev_sweep(replace(setup, dev_texts=setup.heldout_texts), {"bxod": GRID["bxod"]}, log=None)
    assert not test_rows["dev_bpb"].tolist() == written[written.method == "bxod"]["dev_bpb"].tolist()


def test_choose_breaks_bpb_ties_by_english_kl_then_grid_order():
    f = pd.DataFrame({"method": ["a"] * 4 + ["b"] * 2, "config": [0, 1, 2, 3, 0, 1],
                      "dev_bpb": [2.0, 1.5, 1.5, 1.5, 3.0, 3.0], "english_kl": [0.0, 0.3, 0.2, 0.2, 0.1, 0.1]})
    assert choose(f)["chosen"].tolist() == [False, False, True, False, True, False]
    assert choose(f, complete=["b"])["chosen"].tolist() == [False] * 4 + [True, False]


def test_resume_skips_the_rows_already_in_the_csv(setup, tmp_path, monkeypatch):
    out = tmp_path / "sweep.csv"
    first = dev_sweep(setup, GRID, min_documents=2, out_csv=out, log=None)
    calls = []
    real = sweep_module.run_method

    def counting(s, method, *args, write=True, **options):
        calls.append((method, options))
        return real(s, method, *args, write=write, **options)

    monkeypatch.setattr(sweep_module, "run_method", counting)
    again = dev_sweep(setup, GRID, min_documents=2, out_csv=out, log=None)
    assert calls == [] and again["dev_bpb"].tolist() == first["dev_bpb"].tolist()
    partial = read_sweep(out)
    partial[~((partial.method == "random") & (partial.config == 1))].to_csv(out, index=False)   # one row lost
    resumed = dev_sweep(setup, GRID, min_documents=2, out_csv=out, log=None)
    assert calls == [("random", {"seed": 2})]
    assert resumed["dev_bpb"].tolist() == first["dev_bpb"].tolist()
    assert resumed["chosen"].tolist() == first["chosen"].tolist()
    stale = read_sweep(out)
    stale["code_version"] = "0" * 12                          # rows of other code are run again
    stale.to_csv(out, index=False)
    calls.clear()
    dev_sweep(setup, GRID, min_documents=2, out_csv=out, log=None)
    assert len(calls) == 4 and (read_sweep(out)["code_version"] != "0" * 12).all()


# ------------------------------------------------------------------------------------------------ the blend

def _opts(method):
    return {"encoder": NgramHashEncoder()} if method == "bxod" else {}


@pytest.mark.parametrize("with_method, tied", [("mean", True), ("random", False), ("bxod", False)])
def test_blend_rows_are_the_weighted_sum_exactly(setup, with_method, tied):
    base, ext = setup.base_tokenizer, setup.extended_tokenizer
    model = tiny_model("llama", len(base), tied=tied)
    w = 0.3
    blend = initialize(model, base, ext, "blend", with_method=with_method, weight=w, with_options=_opts(with_method))
    fvt = initialize(model, base, ext, "fvt")
    other = initialize(model, base, ext, with_method, **_opts(with_method))
    assert torch.equal(blend.input_rows, w * fvt.input_rows + (1 - w) * other.input_rows)
    if not tied:
        assert torch.equal(blend.output_rows, w * fvt.output_rows + (1 - w) * other.output_rows)
    rec = blend.provenance[0]
    assert rec["fvt_weight"] == w and with_method in rec["rule"] and rec["id"] == blend.token_ids[0]
    assert len(blend.provenance) == len(blend.token_ids)
    assert blend.options["with_method"] == with_method and isinstance(blend.options["with_options"], dict)


def test_fvt_plus_bxod_is_bxod_with_that_subtoken_weight(setup):
    base, ext, model = setup.base_tokenizer, setup.extended_tokenizer, setup.model
    enc = NgramHashEncoder()
    blended = initialize(model, base, ext, "blend", with_method="bxod", weight=0.75,
                         with_options={"encoder": enc, "subtoken_weight": 0.0})
    sub75 = initialize(model, base, ext, "bxod", encoder=enc, subtoken_weight=0.75)
    torch.testing.assert_close(blended.input_rows, sub75.input_rows, rtol=0, atol=1e-6)


def test_blend_options_are_checked():
    with pytest.raises(ConfigError, match="invalid with_method='blend'"):
        from paper_utils.init.initialize import _check_options
        _check_options("blend", {"with_method": "blend"})
    with pytest.raises(ConfigError, match="invalid options=\\['top_kk'\\]: method 'bxod'"):
        _check_options("blend", {"with_method": "bxod", "with_options": {"top_kk": 3}})
    with pytest.raises(ConfigError, match="invalid weight=1.5"):
        _check_options("blend", {"weight": 1.5})


# ------------------------------------------------------------------------------------------------ labels

def test_derived_labels_are_checked_when_the_preset_loads(cfg):
    assert cfg.method_of("bxod@dev") == ("bxod", {})
    assert cfg.method_of("fvt+bxod@dev") == ("blend", {"with_method": "bxod"})
    assert cfg.method_of("fvt+bxod_sub75") == ("blend", {"with_method": "bxod"})
    assert parse_label("fvt+salt@dev").inner == "salt@dev" and parse_label("fvt").base == "fvt"
    with pytest.raises(ConfigError, match=r"grid.methods.*'salt@dev' needs 'salt' in the preset's \[sweep\]"):
        load_preset("smoke", **{"grid.methods": list(cfg.grid.methods) + ["salt@dev"]})
    with pytest.raises(ConfigError, match="invalid grid.methods='fvt\\+blend'"):
        load_preset("smoke", **{"grid.methods": list(cfg.grid.methods) + ["fvt+blend"]})
    with pytest.raises(ConfigError, match="invalid initialization.blend_weight"):
        load_preset("smoke", **{"initialization.blend_weight": 1.5})
    with pytest.raises(ConfigError, match="'random' must be in \\[sweep\\] and take subtoken_weight"):
        load_preset("smoke", **{"initialization.blend_weight": "random@dev"})
    runs = [r.run_id for r in cfg.runs(("bxod@dev", "fvt+bxod@dev"))]
    assert runs == ["uz__smollm2-135m__bxod@dev__seed0", "uz__smollm2-135m__fvt+bxod@dev__seed0"]


def test_labels_resolve_to_the_chosen_configuration_and_one_blend_weight(cfg, setup, tmp_path):
    out = tmp_path / "sweep.csv"
    frame = dev_sweep(setup, cfg.sweep, min_documents=2, out_csv=out, log=None)
    frame.loc[:, "chosen"] = [False, True]                    # pretend the 0.75 configuration won
    frame.to_csv(out, index=False)
    specs = resolve_labels(cfg, ["fvt", "bxod_sub75", "bxod@dev", "fvt+mean", "fvt+bxod@dev"], out)
    assert "fvt" not in specs and specs["bxod_sub75"] == cfg.variants["bxod_sub75"]
    assert specs["bxod@dev"] == {"method": "bxod", "subtoken_weight": 0.75, "anchor_set": "alpha", "continuation": "anchor"}
    assert specs["fvt+mean"] == {"method": "blend", "with_method": "mean", "with_options": {}, "weight": 0.75}
    assert specs["fvt+bxod@dev"] == {"method": "blend", "with_method": "bxod", "weight": 0.75,
                                     "with_options": {"subtoken_weight": 0.0, "anchor_set": "alpha", "continuation": "anchor"}}
    fixed = load_preset("smoke", **{"initialization.blend_weight": 0.5})
    assert resolve_labels(fixed, ["fvt+mean"])["fvt+mean"]["weight"] == 0.5      # no sweep needed
