"""The papermill batch: parameter checks, skip-done, rerun on change, failure isolation."""
import ast
import json

import nbformat
import pytest

from paper_utils import runner
from paper_utils.config import load_preset
from paper_utils.errors import ConfigError
from paper_utils.paths import NOTEBOOKS_DIR


def _notebook(path, params_src, body_src):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params_src)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body_src)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def toy_study(tmp_path, monkeypatch):
    nbs, results = tmp_path / "notebooks", tmp_path / "results"
    nbs.mkdir()
    _notebook(nbs / "a_write.ipynb", 'preset = "x"\nvalue = 1',
              "import os, pathlib\n"
              "out = pathlib.Path(os.environ['TOY_RESULTS']) / preset / 'a.txt'\n"
              "out.parent.mkdir(parents=True, exist_ok=True)\n"
              "out.write_text(str(value) + os.environ['PAPER_UTILS_PRESET'])")
    _notebook(nbs / "b_fail.ipynb", 'preset = "x"', "raise RuntimeError('boom')")
    _notebook(nbs / "c_after_fail.ipynb", 'preset = "x"', "print('never')")
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", nbs)
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(results))
    monkeypatch.setenv("TOY_RESULTS", str(results))
    monkeypatch.setattr(runner, "STAGES", [
        lambda p: [runner.Job("a_write", (), {"preset": p.name, "value": 7}, ("a.txt",), timeout_s=120)],
        lambda p: [runner.Job("b_fail", (), {"preset": p.name}, timeout_s=120)],
        lambda p: [runner.Job("c_after_fail", (), {"preset": p.name}, depends=("b_fail",), timeout_s=120)],
    ])
    return results / "smoke"


@pytest.mark.slow
def test_batch_isolates_failures_skips_done_and_reruns_missing(toy_study):
    logs = []
    failed = runner.reproduce("smoke", log=logs.append)
    assert failed == ["b_fail", "c_after_fail"]
    assert (toy_study / "a.txt").read_text() == "7smoke"           # env set before the kernel started
    assert "boom" in (toy_study / "failures" / "b_fail.txt").read_text()
    assert (toy_study / "executed" / "a_write.ipynb").exists()
    assert json.loads((toy_study / "executed" / "a_write.done.json").read_text())["parameters"]["value"] == 7
    assert any("blocked" in line for line in logs)
    by_notebook = {row["notebook"]: row for row in runner.status("smoke")}           # the stamps alone
    stamped = json.loads((toy_study / "executed" / "a_write.done.json").read_text())["seconds"]
    assert {k: by_notebook["a_write"][k] for k in ("jobs", "done", "stale", "failed", "todo")} == \
        {"jobs": 1, "done": 1, "stale": 0, "failed": 0, "todo": 0}
    assert by_notebook["a_write"]["seconds"] == by_notebook["a_write"]["seconds_recorded"] == stamped
    assert by_notebook["b_fail"]["failed"] == 1 and by_notebook["c_after_fail"]["todo"] == 1
    assert by_notebook["a_write"]["seconds_left"] == 0.0 and by_notebook["c_after_fail"]["seconds_left"] is None

    logs.clear()
    runner.reproduce("smoke", only=["a_write"], log=logs.append)
    assert any("a_write" in line and "skipped" in line for line in logs)

    (toy_study / "a.txt").unlink()                                   # deleting an output reruns that job
    stale = {row["notebook"]: row for row in runner.status("smoke")}["a_write"]
    assert (stale["done"], stale["stale"], stale["seconds"], stale["seconds_recorded"]) == (0, 1, 0.0, stamped)
    assert stale["seconds_left"] == stamped                         # one job to redo at its recorded time
    logs.clear()
    runner.reproduce("smoke", only=["a_write"], log=logs.append)
    assert any("a_write" in line and " done " in line for line in logs)
    assert (toy_study / "a.txt").exists()


def test_unknown_parameter_is_rejected_before_running(toy_study):
    job = runner.Job("a_write", (), {"preset": "smoke", "valeu": 3})
    with pytest.raises(ConfigError, match="valeu"):
        runner.run_job(load_preset("smoke"), job)


def test_plan_covers_the_grid():
    jobs = runner.plan("demo-full")
    vocab = [j for j in jobs if j.notebook == "02_vocabulary_expansion"]
    assert len(vocab) == 4 * 2
    assert all((NOTEBOOKS_DIR / f"{j.notebook}.ipynb").is_file() for j in jobs)   # every job has its notebook
    assert jobs[0].job_id == "01_fertility"
    assert len({j.job_id for j in jobs}) == len(jobs)


NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_the_study_has_its_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_and_its_parameters_cell_holds_plain_literals(path):
    """The papermill contract: a first code cell tagged ``parameters`` of ``name = literal`` lines."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), path.name
    for node in ast.parse(code[0].source).body:
        assert isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets), \
            f"{path.name}: parameters cell holds plain assignments only"
        ast.literal_eval(node.value)                   # raises on anything but a literal
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), f"{path.name} has outputs"
    assert runner.notebook_parameters(path).get("preset") == "demo", path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runner_refuses_a_parameter_the_notebook_does_not_declare(path, tmp_path, monkeypatch):
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))       # were it to run, not into the repository
    job = runner.Job(path.stem, (), {"preset": "smoke", "no_such_parameter": 1})
    with pytest.raises(ConfigError, match="no_such_parameter"):
        runner.run_job(load_preset("smoke"), job)


def _run_cells(path, parameters):
    """Run a notebook's code cells in order in one namespace, ``parameters`` injected after the
    parameters cell as papermill does; stops at the first exception (which propagates)."""
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    namespace: dict = {"__name__": "__main__"}
    exec(compile(cells[0].source, f"{path.name}[parameters]", "exec"), namespace)
    namespace.update(parameters)
    for k, cell in enumerate(cells[1:], 1):
        exec(compile(cell.source, f"{path.name}[{k}]", "exec"), namespace)


BAD_PARAMETERS = [
    ("01_fertility", {"languages": ["uz"]}, "languages"),
    ("02_vocabulary_expansion", {"language": "xx"}, "language"),
    ("02_vocabulary_expansion", {"model": "llama-9b"}, "model"),
    ("03_anchored_initialization", {"language": "xx"}, "language"),
    ("03_anchored_initialization", {"methods": ["magic"]}, "methods"),
    ("04_adaptation", {"method": "magic"}, "method"),
    ("04_adaptation", {"seed": -1}, "seed"),
    ("05_evaluation", {"method": "magic"}, "method"),
    ("05_evaluation", {"tasks": ["poetry"]}, "tasks"),
    ("06_significance", {"correction": "bonferroni"}, "correction"),
    ("07_figures", {}, "preset"),                                  # no results yet for the preset
    ("09_cross_lingual_optimization", {}, "preset"),                # smoke's grid.recipes lacks "clo"
] + [(p.stem, {"preset": "no-such-preset"}, "preset") for p in NOTEBOOKS]


@pytest.mark.parametrize("notebook, bad, parameter", BAD_PARAMETERS,
                         ids=[f"{n}-{next(iter(b), 'empty')}" for n, b, _ in BAD_PARAMETERS])
def test_notebook_refuses_a_bad_parameter_with_a_config_error(notebook, bad, parameter, tmp_path, monkeypatch):
    """A notebook run with a bad parameter stops with the ConfigError naming it (whatever cell checks it),
    before it has written anything."""
    results = tmp_path / "results"
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(results))      # nothing lands in the repository's results
    monkeypatch.chdir(NOTEBOOKS_DIR)                               # where papermill runs them
    with pytest.raises(ConfigError) as err:
        _run_cells(NOTEBOOKS_DIR / f"{notebook}.ipynb", {"preset": "smoke", **bad})
    assert err.value.parameter == parameter
    assert not [p for p in results.rglob("*") if p.is_file()], "refused only after writing results"


def _fake_package(tmp_path, monkeypatch, files: dict[str, str]):
    """A stand-in for ``paper_utils`` with ``files`` (name -> source) that code_version reads instead."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    for name, text in files.items():
        (pkg / name).write_text(text)
    monkeypatch.setattr(runner, "PACKAGE_DIR", pkg)
    return pkg


def test_code_version_follows_imports_transitively(tmp_path, monkeypatch):
    pkg = _fake_package(tmp_path, monkeypatch, {"a.py": "from .b import f\n", "b.py": "X = 1\n", "c.py": "Y = 1\n"})
    nb = tmp_path / "n.ipynb"
    _notebook(nb, 'preset = "demo"', "from paper_utils.a import f\nfrom paper_utils import io")
    before = runner.code_version(nb)
    (pkg / "c.py").write_text("Y = 2\n")           # not imported: same version
    assert runner.code_version(nb) == before
    (pkg / "b.py").write_text("X = 2\n")           # imported through a.py: new version
    assert runner.code_version(nb) != before


def test_code_version_follows_subpackages(tmp_path, monkeypatch):
    """``from .sub import g`` in a module, ``from .deep import h`` in the subpackage: both count."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("from .sub import g\n")
    (pkg / "sub" / "__init__.py").write_text("from .deep import h\n")
    (pkg / "sub" / "deep.py").write_text("from ..b import X\nh = 1\n")
    (pkg / "b.py").write_text("X = 1\n")
    (pkg / "sub" / "other.py").write_text("Z = 1\n")
    monkeypatch.setattr(runner, "PACKAGE_DIR", pkg)
    nb = tmp_path / "n.ipynb"
    _notebook(nb, 'preset = "demo"', "from paper_utils.a import g")
    versions = [runner.code_version(nb)]
    (pkg / "sub" / "other.py").write_text("Z = 2\n")            # never imported
    assert runner.code_version(nb) == versions[0]
    for path, text in ((pkg / "sub" / "deep.py", "from ..b import X\nh = 2\n"), (pkg / "b.py", "X = 2\n"),
                       (pkg / "sub" / "__init__.py", "from .deep import h  # edited\n")):
        path.write_text(text)
        versions.append(runner.code_version(nb))
        assert versions[-1] not in versions[:-1], path           # each edit changes the version


def test_thread_count_follows_the_machine_unless_overridden(monkeypatch):
    cfg = load_preset("smoke")
    monkeypatch.delenv("PAPER_UTILS_THREADS", raising=False)
    import os

    assert runner.job_environment(cfg)["OMP_NUM_THREADS"] == str(os.cpu_count() or 1)
    monkeypatch.setenv("PAPER_UTILS_THREADS", "1")
    env = runner.job_environment(cfg, seed=3)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1" and env["PYTHONHASHSEED"] == "3"
    assert env["HF_HUB_OFFLINE"] == "1"            # offline presets never reach the Hub


def test_a_kernel_imports_this_checkouts_package_whatever_the_venv_points_at(tmp_path, monkeypatch):
    """The job environment puts this checkout first, so a kernel started in the notebooks folder imports this
    ``paper_utils`` even where a shared venv's editable install names another clone (here: a decoy on PYTHONPATH)."""
    import os
    import subprocess
    import sys

    from paper_utils.paths import NOTEBOOKS_DIR, REPO_ROOT

    decoy = tmp_path / "other_clone"
    (decoy / "paper_utils").mkdir(parents=True)
    (decoy / "paper_utils" / "__init__.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(decoy))
    env = runner.job_environment(load_preset("smoke"))
    assert env["PYTHONPATH"].split(os.pathsep) == [str(REPO_ROOT), str(decoy)]
    out = subprocess.run([sys.executable, "-c", "import paper_utils; print(paper_utils.__file__)"],
                         cwd=NOTEBOOKS_DIR, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(REPO_ROOT / "paper_utils" / "__init__.py")


@pytest.mark.slow
def test_rerunning_a_job_reruns_its_dependents_only(toy_study, monkeypatch):
    writer = runner.Job("a_write", (), {"preset": "smoke", "value": 7}, ("a.txt",), timeout_s=120)
    reader = runner.Job("c_after_fail", (), {"preset": "smoke"}, depends=("a_write",), timeout_s=120)
    other = runner.Job("a_write", ("other",), {"preset": "smoke", "value": 8}, ("a.txt",), timeout_s=120)
    monkeypatch.setattr(runner, "STAGES", [lambda p: [writer, other], lambda p: [reader]])
    assert runner.reproduce("smoke", log=lambda line: None) == []
    logs = []
    runner.reproduce("smoke", log=logs.append)
    assert all("skipped" in line for line in logs if line.startswith(("a_write", "c_after_fail")))
    (toy_study / "a.txt").unlink()                     # the writer's output is gone: it reruns ...
    logs.clear()
    runner.reproduce("smoke", log=logs.append)
    status = {line.split()[0]: line.split()[1] for line in logs if line.startswith(("a_write", "c_after_fail"))}
    assert status["a_write"] == "done" and status["c_after_fail"] == "done"   # ... and so does its dependent
    assert status["a_write__other"] == "skipped"       # unrelated to the deleted output: not rerun


def test_the_runner_asks_each_recipe_for_its_jobs(monkeypatch):
    """The grid's recipe axis: jobs of the staged recipe come from it; an unknown recipe names the valid ones."""
    from paper_utils import registry

    cfg = load_preset("demo")
    assert cfg.grid.recipes == ("staged",)
    staged = registry.recipe("staged").jobs(cfg)
    ids = [j.job_id for j in runner.plan(cfg)]
    assert [j.job_id for j in staged] == [i for i in ids if i.startswith(("04_", "05_")) and not i.endswith("__base")]
    assert "04_adaptation__uz__smollm2-135m__bxod_sub75__seed0" in ids          # a variant runs through adaptation
    sig = next(j for j in runner.plan(cfg) if j.notebook == "06_significance")
    assert set(sig.depends) == {i for i in ids if i.startswith("05_")}
    with pytest.raises(ConfigError) as err:
        load_preset("demo", **{"grid.recipes": ["no_such_recipe"]})
    assert err.value.parameter == "grid.recipes" and "staged" in err.value.fix and "fusion" in err.value.fix
    with pytest.raises(ConfigError) as err:                         # the fusion recipe needs its [fusion] modes
        load_preset("demo", **{"grid.recipes": ["fusion"]})
    assert err.value.parameter == "fusion.modes"
    calls = []
    monkeypatch.setitem(registry._RECIPES, "echo", registry.Recipe("echo", lambda p: calls.append(p.name) or []))
    two = load_preset("demo", **{"grid.recipes": ["staged", "echo"]})
    runner.plan(two)
    assert calls and set(calls) == {"demo"}


def test_code_version_follows_the_registry_providers(tmp_path, monkeypatch):
    """The registry imports its providers by name: a notebook that reaches it depends on them."""
    pkg = _fake_package(tmp_path, monkeypatch, {"registry.py": "PROVIDERS = ('paper_utils.prov',)\n",
                                                "prov.py": "X = 1\n"})
    monkeypatch.setattr(runner, "PROVIDERS", ("paper_utils.prov",))
    nb = tmp_path / "n.ipynb"
    _notebook(nb, 'preset = "demo"', "from paper_utils import registry")
    before = runner.code_version(nb)
    (pkg / "prov.py").write_text("X = 2\n")
    assert runner.code_version(nb) != before


def test_code_version_follows_only_the_providers_a_registry_name_loads(tmp_path, monkeypatch):
    """A module that looks initializers up depends on the initializer providers, not on the recipes; one that only
    registers depends on none; the whole registry module on all."""
    pkg = _fake_package(tmp_path, monkeypatch, {"registry.py": "X = 1\n", "inits.py": "A = 1\n", "recs.py": "B = 1\n",
                                                "method.py": "from .registry import register\n"})
    monkeypatch.setattr(runner, "PROVIDERS", ("paper_utils.inits", "paper_utils.recs"))
    monkeypatch.setattr(runner, "PROVIDERS_LOADED_BY", {"lookup": ("paper_utils.inits",), "register": ()})
    cases = {"lookup": "from paper_utils.registry import lookup", "register": "from paper_utils.method import f",
             "whole": "from paper_utils import registry", "unknown": "from paper_utils.registry import other",
             "mixed": "from paper_utils.registry import lookup\nfrom paper_utils import registry",
             "mixed_import": "from paper_utils.registry import lookup\nimport paper_utils.registry"}
    every = {"paper_utils.registry", "paper_utils.inits", "paper_utils.recs"}
    expected = {"lookup": {"paper_utils.registry", "paper_utils.inits"},
                "register": {"paper_utils.method", "paper_utils.registry"},
                "whole": every, "unknown": every, "mixed": every, "mixed_import": every}
    for case, line in cases.items():
        nb = tmp_path / f"{case}.ipynb"
        _notebook(nb, 'preset = "demo"', line)
        assert set(runner.notebook_modules(nb)) - {"paper_utils"} == expected[case] - {"paper_utils"}, case
    nb = tmp_path / "lookup.ipynb"
    before = runner.code_version(nb)
    (pkg / "recs.py").write_text("B = 2\n")
    assert runner.code_version(nb) == before
    (pkg / "inits.py").write_text("A = 2\n")
    assert runner.code_version(nb) != before


def test_registry_lookups_load_only_the_providers_the_runner_assumes(tmp_path):
    """What notebook_modules assumes, checked in a fresh interpreter: initializer lookups never import a recipe
    module, recipe lookups do; every public registry name has an entry in PROVIDERS_LOADED_BY."""
    import subprocess
    import sys

    from paper_utils import registry
    from paper_utils.paths import REPO_ROOT

    assert set(registry.PROVIDERS_LOADED_BY) == set(registry.__all__)
    assert set(registry.PROVIDERS) == {p for v in registry.PROVIDERS_LOADED_BY.values() for p in v}
    code = ("import sys\n"
            "from paper_utils import registry as r\n"
            "r.initializers(); r.initializer_names(); r.initializer('fvt'); r.check_option_names('fvt', {})\n"
            "r.resolve_variant('fvt_cpu', {'method': 'fvt', 'device': 'cpu'})\n"
            "after_init = sorted(m for m in sys.modules if m.startswith('paper_utils.'))\n"
            "r.recipe('staged')\n"
            "print(repr((after_init, 'paper_utils.recipes' in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    after_init, recipes_loaded = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    assert "paper_utils.init.bxod" in after_init and recipes_loaded
    assert not [m for m in after_init if m.startswith(("paper_utils.recipes", "paper_utils.translate"))]
    notebook = runner.notebook_modules(NOTEBOOKS_DIR / "03_anchored_initialization.ipynb")
    assert set(after_init) <= set(notebook), sorted(set(after_init) - set(notebook))
    for name in ("initializers", "initializer_names", "initializer", "check_option_names", "resolve_variant"):
        nb = tmp_path / f"{name}.ipynb"                 # one lookup alone reaches every initializer module
        _notebook(nb, 'preset = "demo"', f"from paper_utils.registry import {name}")
        assert set(after_init) <= set(runner.notebook_modules(nb)), name


def test_code_version_does_not_follow_the_registry_through_config(tmp_path, monkeypatch):
    """config reads the registry for names only: a notebook that imports config alone does not depend on the
    providers, one that also imports the registry directly does."""
    pkg = _fake_package(tmp_path, monkeypatch, {"config.py": "from .registry import names\n", "prov.py": "X = 1\n",
                                                "registry.py": "PROVIDERS = ('paper_utils.prov',)\n"})
    monkeypatch.setattr(runner, "PROVIDERS", ("paper_utils.prov",))
    config_only, direct = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    _notebook(config_only, 'preset = "demo"', "from paper_utils.config import load")
    _notebook(direct, 'preset = "demo"', "from paper_utils.config import load\nfrom paper_utils import registry")
    assert set(runner.notebook_modules(config_only)) == {"paper_utils.config"}
    before = runner.code_version(config_only), runner.code_version(direct)
    (pkg / "prov.py").write_text("X = 2\n")
    assert runner.code_version(config_only) == before[0] and runner.code_version(direct) != before[1]
    (pkg / "config.py").write_text("from .registry import names  # edited\n")
    assert runner.code_version(config_only) != before[0]


def test_config_and_tuning_import_only_names_from_the_registry():
    """NAMES_ONLY_EDGES is a promise: config and tuning read names and option names from the registry. A new import
    from it must be checked against that promise (and added here) or the edge removed from NAMES_ONLY_EDGES."""
    import ast

    from paper_utils.paths import REPO_ROOT

    allowed = {"config": {"initializer_names", "recipes", "resolve_variant"},
               "tuning": {"DATA_OPTIONS", "check_option_names", "initializer", "initializer_names"}}
    for module, names in allowed.items():
        tree = ast.parse((REPO_ROOT / "paper_utils" / f"{module}.py").read_text(encoding="utf-8"))
        imported = {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    and node.module == "registry" for a in node.names}
        assert imported == names, module
    assert {edge[0] for edge in runner.NAMES_ONLY_EDGES} == {f"paper_utils.{m}" for m in allowed}


def test_early_stages_do_not_depend_on_methods_or_recipes():
    """Stages 01-02 never run a method: a commit to an initializer, a recipe or a translator leaves them done."""
    for notebook in ("01_fertility", "02_vocabulary_expansion"):
        modules = runner.notebook_modules(NOTEBOOKS_DIR / f"{notebook}.ipynb")
        assert "paper_utils.config" in modules
        methods = ("paper_utils.init", "paper_utils.recipes", "paper_utils.translate", "paper_utils.fusion")
        assert not {m for m in modules if m in methods or m.startswith(tuple(f"{p}." for p in methods))}, notebook
    stage03 = runner.notebook_modules(NOTEBOOKS_DIR / "03_anchored_initialization.ipynb")
    assert "paper_utils.init.bxod" in stage03               # 03 runs the methods, not the recipes or translators
    assert not [m for m in stage03 if m.startswith(("paper_utils.recipes", "paper_utils.translate", "paper_utils.train"))]


def test_executed_notebook_metadata_names_no_absolute_path(tmp_path, monkeypatch):
    """papermill records input_path/output_path; the runner rewrites them relative to the repo."""
    from paper_utils.paths import REPO_ROOT

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path / "results"))
    out = tmp_path / "results" / "smoke" / "executed" / "a.ipynb"
    out.parent.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"input_path": str(REPO_ROOT / "notebooks" / "a.ipynb"), "output_path": str(out)}
    nbformat.write(nb, out)
    runner.machine_independent(out)
    meta = nbformat.read(out, as_version=4).metadata["papermill"]
    assert meta == {"input_path": "notebooks/a.ipynb", "output_path": "$PAPER_UTILS_RESULTS/smoke/executed/a.ipynb"}


def test_a_comment_in_the_preset_leaves_its_jobs_done_and_a_value_does_not(tmp_path):
    """The preset part of a job's version is its parsed content: editing a comment (as the demo-full preset's were
    edited, 2026-12-02) no longer makes every finished job of the preset stale."""
    from paper_utils.paths import PRESETS_DIR

    text = (PRESETS_DIR / "smoke.toml").read_text(encoding="utf-8")
    original, commented, changed = tmp_path / "a.toml", tmp_path / "b.toml", tmp_path / "c.toml"
    original.write_text(text, encoding="utf-8")
    commented.write_text("# a new comment\n" + text.replace("\n", "   # and another\n", 1), encoding="utf-8")
    changed.write_text(text.replace("seeds = [0]", "seeds = [1]", 1), encoding="utf-8")
    assert "seeds = [1]" in changed.read_text(encoding="utf-8")
    job = runner.plan(load_preset(str(original)))[0]
    versions = [runner.job_version(load_preset(str(path)), job) for path in (original, commented, changed)]
    assert versions[0] == versions[1] != versions[2]
