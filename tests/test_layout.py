"""One layout for every results path; stages stop instead of rebuilding upstream outputs; variants."""
import shutil

import pytest

from paper_utils.config import load_preset
from paper_utils.errors import ConfigError, DataError
from paper_utils.layout import MissingStageOutput, ModelLayout, model_key


def test_model_key_is_a_folder_name_never_a_path():
    assert model_key("smollm2-135m") == "smollm2-135m"
    assert model_key("/ckpt/llama") == "llama" and model_key("/ckpt/llama/") == "llama"
    assert model_key("~/models/Llama-3.2-1B") == "Llama-3.2-1B"
    with pytest.raises(DataError, match="model='/'"):
        model_key("/")


def test_an_absolute_model_path_stays_under_the_results_root(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    lay = ModelLayout("smoke", "uz", "/ckpt/llama")
    root = tmp_path / "smoke" / "uz" / "llama"
    paths = [lay.tokenizer_dir, lay.vocabulary_json, lay.init_record("bxod"), lay.patch_dir("bxod_sub75"),
             lay.adapted_model_dir("fvt", 0), lay.eval_dir("fvt", 0), lay.eval_dir("fvt", 2)]
    for path in paths:
        assert path.is_relative_to(root), path
    assert lay.adapt_dir("fvt", 0).name == "fvt__seed0"
    assert lay.eval_dir("fvt", 0).name == "fvt" and lay.eval_dir("fvt", 2).name == "fvt__seed2"


def test_two_models_with_the_same_folder_name_are_refused(tmp_path):
    (tmp_path / "a" / "llama").mkdir(parents=True)
    (tmp_path / "b" / "llama").mkdir(parents=True)
    with pytest.raises(ConfigError, match="grid.models.*rename one of the model folders"):
        load_preset("smoke", **{"grid.models": [str(tmp_path / "a" / "llama"), str(tmp_path / "b" / "llama")]})


def _preset_file(tmp_path, text: str, name: str = "custom"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_variants_are_checked_when_the_preset_loads(tmp_path):
    base = open(load_preset("smoke").source_file).read()
    bad_method = base.replace('method = "bxod", subtoken_weight', 'method = "fasttext", subtoken_weight')
    with pytest.raises(ConfigError) as err:
        load_preset(_preset_file(tmp_path, bad_method))
    assert err.value.parameter == "variants.bxod_sub75.method" and "random, mean, fvt" in err.value.fix
    bad_option = base.replace("subtoken_weight = 0.75", "sub_token_weight = 0.75")
    with pytest.raises(ConfigError, match="variants.bxod_sub75.*'bxod' takes: .*subtoken_weight"):
        load_preset(_preset_file(tmp_path, bad_option))
    unknown_label = base.replace('adapt_methods = ["fvt", "bxod", "bxod_sub75"]', 'adapt_methods = ["fvt", "bxod_sub50"]')
    with pytest.raises(ConfigError) as err:
        load_preset(_preset_file(tmp_path, unknown_label))
    assert err.value.parameter == "grid.adapt_methods" and "bxod_sub75" in err.value.fix and "salt" in err.value.fix
    shadowing = base.replace("bxod_sub75 = {", "fvt = {").replace('"bxod_sub75"', '"fvt"')
    with pytest.raises(ConfigError, match="its own label"):
        load_preset(_preset_file(tmp_path, shadowing))


def test_a_variant_resolves_to_its_method_and_options():
    cfg = load_preset("demo")
    assert cfg.method_of("bxod_sub75") == ("bxod", {"subtoken_weight": 0.75, "anchor_set": "alpha",
                                                    "continuation": "anchor"})
    assert cfg.method_of("fvt") == ("fvt", {})
    assert "bxod_sub75" in cfg.grid.adapt_methods


def test_stage_03_without_stage_02_names_stage_02_and_builds_nothing(tmp_path, monkeypatch):
    from paper_utils.init import load_setup

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    with pytest.raises(MissingStageOutput, match="run 02_vocabulary_expansion for uz/smollm2-135m first"):
        load_setup(load_preset("demo"), "uz", "smollm2-135m")
    assert not any(tmp_path.rglob("*.json"))


def test_stage_04_without_stage_03_names_stage_03(tmp_path, monkeypatch):
    from paper_utils.adapt_data import load_inputs

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    with pytest.raises(MissingStageOutput, match="run 03_anchored_initialization for uz/smollm2-135m first"):
        load_inputs(load_preset("demo"), "uz", "smollm2-135m", "bxod_sub75")


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.parametrize("job, stage", [("03_anchored_initialization", "02_vocabulary_expansion"),
                                        ("04_adaptation", "03_anchored_initialization")])
def test_a_notebook_without_its_upstream_output_fails_naming_the_stage(tmp_path, monkeypatch, job, stage):
    """Notebook 03 (04) of the demo preset on an empty results root: the error names stage 02 (03)."""
    from paper_utils import runner

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    cfg = load_preset("demo")
    found = [j for j in runner.plan(cfg) if j.notebook == job]
    assert found, job
    with pytest.raises(Exception) as err:
        runner.run_job(cfg, found[0])
    assert "MissingStageOutput" in str(err.value) and f"run {stage} for uz/smollm2-135m first" in str(err.value)


@pytest.mark.notebooks
@pytest.mark.slow
def test_a_local_folder_model_runs_stages_02_to_05_under_its_model_key(tmp_path, monkeypatch):
    """The smoke preset with the model given as an absolute folder: every output under <lang>/<model key>/."""
    from paper_utils import runner
    from paper_utils.assets import model_dir

    folder = tmp_path / "ckpt" / "llama-local"
    shutil.copytree(model_dir("smollm2-135m", tokenizer_only=True), folder)
    preset = open(load_preset("smoke").source_file).read().replace('models = ["smollm2-135m"]',
                                                                   f'models = ["{folder}"]')
    (tmp_path / "presets").mkdir()
    path = _preset_file(tmp_path / "presets", preset, name="smoke")
    results = tmp_path / "results"
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(results))
    cfg = load_preset(path)
    assert cfg.name == "smoke" and cfg.ref == str(path.resolve())
    wanted = ("02_vocabulary_expansion", "03_anchored_initialization", "04_adaptation", "05_evaluation")
    failed = runner.reproduce(str(path), only=list(wanted), log=lambda line: None)
    failures = {p.name: p.read_text()[-1500:] for p in (results / "smoke" / "failures").glob("*.txt")}
    assert failed == [], failures
    root = results / "smoke" / "uz" / "llama-local"
    jobs = [j for j in runner.plan(cfg) if j.notebook in wanted]
    assert {j.notebook for j in jobs} == set(wanted)
    for job in jobs:
        assert "__llama-local" in job.job_id and "/" not in job.job_id
        for out in job.outputs:
            assert (results / "smoke" / out).is_relative_to(root) or out.startswith("uz/llama-local/"), out
            assert (results / "smoke" / out).exists(), out
    assert (root / "tokenizer" / "tokenizer.json").exists() and (root / "init" / "patches" / "bxod_sub75").is_dir()
    assert (root / "adapt" / "bxod_sub75__seed0" / "model" / "config.json").exists()
    assert (root / "eval" / "bxod_sub75" / "scores.json").exists()
    assert not (folder / "vocabulary.json").exists() and not (folder / "init").exists()   # nothing written into the model
    written = {p.relative_to(results / "smoke").parts[:2] for p in (results / "smoke").rglob("*")
               if p.is_file() and p.relative_to(results / "smoke").parts[0] not in ("executed", "failures", "figures")
               and len(p.relative_to(results / "smoke").parts) > 2}
    assert written == {("uz", "llama-local")}, written
