"""Repository-anchored paths.

Example::

    >>> from paper_utils.paths import REPO_ROOT, results_dir
    >>> (REPO_ROOT / "pyproject.toml").exists()
    True
    >>> results_dir("demo").name
    'demo'

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
