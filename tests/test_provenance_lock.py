"""The locked environment and code provenance: requirements.lock vs pyproject.toml, the lock check
that `make` runs, `code_changes` on a throwaway git repository, and the runner's dirty-code refusal."""
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement

from paper_utils import lockfile, provenance, runner
from paper_utils.cli import main as cli_main
from paper_utils.errors import ConfigError
from paper_utils.paths import REPO_ROOT

LOCK = REPO_ROOT / "requirements.lock"
PYPROJECT = REPO_ROOT / "pyproject.toml"


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args], cwd=repo,
                   check=True, capture_output=True)


@pytest.fixture
def code_repo(tmp_path):
    """A committed miniature of the repo layout: package, preset, data toml, cache, results."""
    for rel, text in {"paper_utils/a.py": "x = 1\n", "data/presets/demo.toml": "name = 'demo'\n",
                      "data/packs.toml": "[p]\n", "pyproject.toml": "[project]\n", "results/demo/m.json": "{}\n",
                      "README.md": "hi\n"}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "init")
    return tmp_path


# --- code_changes / run_info's git state -------------------------------------------------------------

def test_code_changes_is_empty_on_a_clean_tree(code_repo):
    assert provenance.code_changes(code_repo) == []
    assert provenance.git_state(code_repo)["code_dirty"] is False
    assert provenance.git_state(code_repo)["results_dirty"] is False


def test_code_changes_sees_modified_and_untracked_code(code_repo):
    (code_repo / "paper_utils/a.py").write_text("x = 2\n")
    (code_repo / "paper_utils/new.py").write_text("y = 1\n")
    (code_repo / "data/languages.toml").write_text("[uz]\n")
    assert provenance.code_changes(code_repo) == ["data/languages.toml", "paper_utils/a.py", "paper_utils/new.py"]
    assert provenance.git_state(code_repo)["code_dirty"] is True


def test_code_changes_sees_staged_and_deleted_code(code_repo):
    (code_repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    _git(code_repo, "add", "pyproject.toml")
    (code_repo / "data/presets/demo.toml").unlink()
    assert provenance.code_changes(code_repo) == ["data/presets/demo.toml", "pyproject.toml"]


def test_results_and_other_files_are_not_code(code_repo):
    (code_repo / "results/demo/m.json").write_text('{"bleu": 1}\n')
    (code_repo / "results/demo/new.json").write_text("{}\n")
    (code_repo / "README.md").write_text("changed\n")
    (code_repo / "data/cache").mkdir()
    (code_repo / "data/cache/x.toml").write_text("")     # data/*.toml means the top level only
    state = provenance.git_state(code_repo)
    assert provenance.code_changes(code_repo) == []
    assert state["code_dirty"] is False and state["results_dirty"] is True
    assert len(state["commit"]) == 40


def test_code_changes_is_none_outside_git(tmp_path):
    assert provenance.code_changes(tmp_path) is None
    assert provenance.git_state(tmp_path) == {"commit": None, "code_dirty": None, "results_dirty": None}


def test_run_info_records_code_and_results_state_and_the_lock():
    info = provenance.run_info("smoke")
    assert set(info["git"]) == {"commit", "code_dirty", "results_dirty"}
    assert "dirty" not in info["git"]
    assert info["lock_sha256"] == provenance.lock_sha256() and len(info["lock_sha256"]) == 64


# --- the runner's refusal ---------------------------------------------------------------------------

def test_refusal_lists_changed_paths_and_names_the_flag(code_repo):
    (code_repo / "paper_utils/a.py").write_text("x = 2\n")
    with pytest.raises(ConfigError) as err:
        provenance.require_clean_code("demo", repo_root=code_repo)
    message = str(err.value)
    assert "paper_utils/a.py" in message
    assert "--allow-dirty-code" in message and "allow_dirty_code=True" in message


def test_refusal_shows_at_most_ten_paths(code_repo):
    for i in range(13):
        (code_repo / f"paper_utils/m{i:02d}.py").write_text("")
    with pytest.raises(ConfigError) as err:
        provenance.require_clean_code("demo", repo_root=code_repo)
    assert "m09.py" in str(err.value) and "m10.py" not in str(err.value) and "and 3 more" in str(err.value)


def test_smoke_is_exempt_and_the_flag_lets_a_dirty_tree_run(code_repo):
    (code_repo / "paper_utils/a.py").write_text("x = 2\n")
    provenance.require_clean_code("smoke", repo_root=code_repo)              # no error
    logs = []
    provenance.require_clean_code("demo", allow_dirty_code=True, log=logs.append, repo_root=code_repo)
    assert "code_dirty=true" in logs[0]


def test_reproduce_and_cli_refuse_before_running_any_job(monkeypatch, capsys):
    monkeypatch.setattr(provenance, "code_changes", lambda repo_root=None: ["paper_utils/changed.py"])
    monkeypatch.setattr(runner, "run_job", lambda *a, **k: pytest.fail("a job ran from a dirty tree"))
    with pytest.raises(ConfigError, match="allow-dirty-code"):
        runner.reproduce("demo", log=lambda line: None)
    assert cli_main(["reproduce", "--preset", "demo"]) == 2
    assert "--allow-dirty-code" in capsys.readouterr().err


# --- requirements.lock and its check ----------------------------------------------------------------

def _check(pyproject, lock):
    return subprocess.run([sys.executable, "-I", str(REPO_ROOT / "paper_utils" / "lockfile.py"), "check",
                           str(pyproject), str(lock)], capture_output=True, text=True)


def test_lock_matches_this_pyproject():
    result = _check(PYPROJECT, LOCK)
    assert result.returncode == 0, result.stderr


def test_lock_check_reports_a_stale_lock_with_the_command(tmp_path):
    edited = tmp_path / "pyproject.toml"
    edited.write_text(PYPROJECT.read_text().replace('"tqdm>=4.66"', '"tqdm>=4.66",\n    "rich>=13"'))
    result = _check(edited, LOCK)
    assert result.returncode == 1
    assert "older than pyproject.toml" in result.stderr and "make lock" in result.stderr


def test_lock_hash_ignores_formatting_of_pyproject(tmp_path):
    reformatted = tmp_path / "pyproject.toml"
    reformatted.write_text(PYPROJECT.read_text().replace('"tqdm>=4.66",', '"tqdm >= 4.66",  # progress bars'))
    assert _check(reformatted, LOCK).returncode == 0


def _pyproject_requirements():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    return [Requirement(r) for r in reqs]


def test_lock_pins_every_pyproject_requirement_within_its_range():
    pins = lockfile.pins(LOCK)
    for req in _pyproject_requirements():
        name = lockfile.canonical_name(req.name)
        if name in lockfile.SEPARATE:
            continue                                   # torch: installed first, by make
        assert name in pins, f"{req} is not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req} vs locked {pins[name]}"
    assert pins["import-linter"] == "2.16"


def test_lock_has_hashes_and_leaves_torch_and_cuda_out():
    _, blocks = lockfile._blocks(LOCK.read_text())
    for name, lines, _ in blocks:
        assert any("--hash=sha256:" in line for line in lines), f"{name} has no sha256 hash"
        assert name not in lockfile.SEPARATE and not lockfile.CUDA_ONLY.match(name), name
    assert {"sympy", "networkx", "setuptools"} <= set(lockfile.pins(LOCK))   # torch's CPU dependencies


def test_write_drops_torch_and_what_only_cuda_needs():
    compiled = ("numpy==2.4.6 \\\n    --hash=sha256:aa\n    # via paper-utils (pyproject.toml)\n"
                "cuda-pathfinder==1.9.1 \\\n    --hash=sha256:bb\n    # via cuda-bindings\n"
                "cuda-bindings==13.5.0 \\\n    --hash=sha256:cc\n    # via torch\n"
                "only-for-nccl==1.0 \\\n    --hash=sha256:dd\n    # via nvidia-nccl-cu13\n"
                "nvidia-nccl-cu13==2.29.7 \\\n    --hash=sha256:ee\n    # via torch\n"
                "sympy==1.14.0 \\\n    --hash=sha256:ff\n    # via\n    #   paper-utils (pyproject.toml)\n    #   torch\n"
                "torch==2.13.0 \\\n    --hash=sha256:00\n    # via paper-utils (pyproject.toml)\n")
    text = lockfile.write(compiled, PYPROJECT, command="uv pip compile ...", date="2026-01-01")
    assert set(lockfile.parse_pins(text)) == {"numpy", "sympy"}
    assert lockfile.parse_recorded_sha256(text) == lockfile.deps_sha256(PYPROJECT)
    assert "make lock" in text and "# generated: 2026-01-01" in text


def test_installed_environment_equals_the_lock():
    """The venv `make` built (or any venv used to test) holds exactly the locked versions."""
    wrong = {}
    for name, version in lockfile.pins(LOCK).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert not wrong, f"installed versions differ from requirements.lock (locked, installed): {wrong}"
