"""Repository-anchored paths.

Example::

    >>> from paper_utils.paths import REPO_ROOT, results_dir
    >>> (REPO_ROOT / "pyproject.toml").exists()
    True
    >>> results_dir("demo").name
    'demo'
    >>> shown(REPO_ROOT / "notebooks" / "01_fertility.ipynb")
    'notebooks/01_fertility.ipynb'

Every path is derived from this file's location, never from the working directory, so notebooks
run by papermill from any folder read and write the same files. ``PAPER_UTILS_CACHE`` overrides the
cache folder (for example a shared disk in a workshop); ``PAPER_UTILS_RESULTS`` the results root.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
DATA_DIR = REPO_ROOT / "data"
PRESETS_DIR = DATA_DIR / "presets"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
RESULTS_DIR = REPO_ROOT / "results"


def cache_dir() -> Path:
    """Folder for downloaded packs, converted models and encoder vectors (git-ignored)."""
    return Path(os.environ.get("PAPER_UTILS_CACHE", DATA_DIR / "cache")).resolve()


def results_dir(preset: str) -> Path:
    """``results/<preset>/`` (not created here); ``PAPER_UTILS_RESULTS`` moves the root (tests)."""
    return Path(os.environ.get("PAPER_UTILS_RESULTS", RESULTS_DIR)).resolve() / preset


def shown(path: str | os.PathLike) -> str:
    """``path`` as a notebook prints it: relative to the repository, so outputs do not depend on where it lives.

    Example::

        >>> shown(REPO_ROOT / "results" / "demo" / "fertility.csv")
        'results/demo/fertility.csv'
        >>> shown("/elsewhere/model")
        '/elsewhere/model'

    A path under a results root moved by ``PAPER_UTILS_RESULTS`` (tests, a shared disk) is shown as
    ``$PAPER_UTILS_RESULTS/<preset>/...``; any other path outside the repository is shown as given.
    """
    full = Path(path).resolve()
    moved = Path(os.environ.get("PAPER_UTILS_RESULTS", RESULTS_DIR)).resolve()
    if full.is_relative_to(REPO_ROOT):
        return full.relative_to(REPO_ROOT).as_posix()
    if full.is_relative_to(moved):
        return (Path("$PAPER_UTILS_RESULTS") / full.relative_to(moved)).as_posix()
    return str(path)
