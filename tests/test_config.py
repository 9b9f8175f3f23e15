import pytest

from paper_utils.config import load_preset, preset_names
from paper_utils.errors import ConfigError


def test_every_preset_validates():
    names = preset_names()
    assert {"smoke", "demo", "demo-full", "paper"} <= set(names)
    for name in names:
        cfg = load_preset(name)
        assert cfg.name == name
        assert set(cfg.grid.adapt_methods) <= set(cfg.grid.methods)


def test_demo_grid_and_run_ids():
    cfg = load_preset("demo")
    assert cfg.data_source == "offline" and cfg.encoder == "e5-small"
    runs = list(cfg.runs())
    assert [r.run_id for r in runs] == ["uz__smollm2-135m__fvt__seed0", "uz__smollm2-135m__bxod__seed0",
                                      "uz__smollm2-135m__bxod_sub75__seed0"]
    assert len(set(r.run_id for r in cfg.runs(cfg.grid.methods))) == len(cfg.grid.methods)


@pytest.mark.parametrize("key, value, fragment", [
    ("grid.languages", ["uz", "xx"], "use one of"),
    ("grid.models", ["llama-9b"], "smollm2-135m"),
    ("grid.methods", ["magic"], "bxod"),
    ("grid.adapt_methods", ["salt"], "also be in grid.methods"),
    ("grid.seeds", [-1], ">= 0"),
    ("vocabulary.budget", 0, "> 0"),
    ("vocabulary.budget", "8000", "expected int"),
    ("vocabulary.in_domain_weight", 0, ">= 1"),
    ("vocabulary.word_frequency_scale", -5, ">= 0"),
    ("adaptation.learning_rate", -1e-3, "> 0"),
    ("adaptation.english_share", 1.5, "[0, 1)"),
    ("adaptation.eval_every", -2, ">= 0"),
    ("evaluation.matching_items", -1, "0 = every held-out pair"),
    ("evaluation.matching_items", "all", "expected int"),
    ("encoder", "laser", "e5-small"),
    ("data_source", "internet", "offline"),
])
def test_invalid_values_name_the_key_and_fix(key, value, fragment):
    with pytest.raises(ConfigError) as err:
        load_preset("smoke", **{key: value})     # smoke has no `salt` in grid.methods
    assert err.value.parameter.startswith(key.split(".")[0])
    assert fragment in str(err.value)


def test_unknown_preset_lists_valid_names(tmp_path):
    with pytest.raises(ConfigError, match="demo"):
        load_preset("demoo")
    bad = tmp_path / "bad.toml"
    bad.write_text("data_source = [\n")
    with pytest.raises(ConfigError, match="TOML syntax"):
        load_preset(bad)
    extra = tmp_path / "extra.toml"
    demo_text = open(load_preset("demo").source_file).read()
    extra.write_text("foo = 1\n" + demo_text)
    with pytest.raises(ConfigError, match="unknown preset key"):
        load_preset(extra)
    extra.write_text(demo_text + "\nbudgett = 1\n")          # a typo inside [evaluation]
    with pytest.raises(ConfigError, match="evaluation.budgett"):
        load_preset(extra)


def test_initialization_table_is_optional_and_checked():
    assert load_preset("smoke").initialization.max_anchors == 0          # no table: every anchor
    assert load_preset("demo").initialization.max_anchors == 12000
    with pytest.raises(ConfigError, match=r"initialization.max_anchors.*>= 0"):
        load_preset("demo", **{"initialization.max_anchors": -1})
    with pytest.raises(ConfigError, match="unknown key"):
        load_preset("demo", **{"initialization.anchors": 5})


def test_timeout_factor_scales_cell_timeouts_and_is_validated():
    assert load_preset("demo").timeout_factor == 1.0
    assert load_preset("demo-full").timeout_factor == 8.0          # step 0 on hundreds of documents, 2-core CPU
    assert load_preset("demo", **{"timeout_factor": 3}).timeout_factor == 3.0
    for bad in (0.5, "long", True):
        with pytest.raises(ConfigError, match="timeout_factor"):
            load_preset("demo", **{"timeout_factor": bad})
