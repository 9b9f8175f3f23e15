"""The package's import layers (``[tool.importlinter]`` in pyproject.toml) hold: no module imports
one of a higher layer, adaptation and evaluation stay independent, no new import cycle."""
import re

from importlinter.cli import lint_imports

from paper_utils.paths import REPO_ROOT


def test_import_layers_contract_is_kept(capsys, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    status = lint_imports(config_filename=str(REPO_ROOT / "pyproject.toml"), no_cache=True, no_logo=True,
                          is_debug_mode=True)
    report = capsys.readouterr().out
    assert status == 0, report
    assert re.search(r"Contracts: [1-9]\d* kept, 0 broken", report), report   # contracts were found and checked
