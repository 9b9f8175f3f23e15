"""``run_info.json``: how a set of results was produced.

Example::

    >>> from paper_utils.provenance import run_info
    >>> info = run_info("demo")
    >>> sorted(info)[:4]
    ['device', 'git', 'lock_sha256', 'packages']
    >>> sorted(info["git"])
    ['code_dirty', 'commit', 'results_dirty']

Records the git commit, whether the *code* differed from it (``code_dirty``: the package, notebooks,
presets, data/*.toml, pyproject.toml or requirements.lock, untracked files there included) apart
from whether *results* did (``results_dirty``), the sha256 of requirements.lock, package versions,
device, thread count, the preset's seeds and the pinned packs, so every figure can be traced to its
inputs. ``require_clean_code`` is the runner's guard: it refuses to stamp results from a changed
code tree unless told to (``--allow-dirty-code`` / ``allow_dirty_code=True``).
"""
from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import time
from pathlib import Path

from .errors import ConfigError
from .lockfile import installed_versions
from .paths import REPO_ROOT

PACKAGES = ("torch", "transformers", "tokenizers", "sentence-transformers", "datasets", "accelerate", "peft",
            "sacrebleu", "numpy", "scipy", "statsmodels", "pandas", "seaborn", "papermill", "paper-utils")


# What makes the numbers (pathspecs relative to the repo root); results/ is tracked separately.
CODE_PATHS = ("paper_utils", "notebooks", "data/presets", ":(glob)data/*.toml", "pyproject.toml",
              "requirements.lock")
RESULTS_PATHS = ("results",)
EXEMPT_PRESETS = ("smoke",)        # tests' preset: its results are git-ignored, never committed
SHOWN_CHANGES = 10


def _git(*args: str, repo_root: Path = REPO_ROOT) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=repo_root, capture_output=True, text=True, timeout=10,
                              check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def changed_paths(pathspecs: tuple[str, ...], repo_root: Path = REPO_ROOT) -> list[str] | None:
    """Paths under ``pathspecs`` that differ from HEAD (staged, unstaged or untracked, not ignored).

    None when ``repo_root`` is not a git checkout (or git is missing): the state is unknown.
    """
    out = _git("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *pathspecs, repo_root=repo_root)
    if out is None:
        return None
    entries, paths = out.split("\0"), []
    while entries:
        entry = entries.pop(0)
        if not entry:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":           # a rename or copy is followed by its source path
            entries.pop(0)
    return sorted(set(paths))


def code_changes(repo_root: Path = REPO_ROOT) -> list[str] | None:
    """Code paths (package, notebooks, presets, data/*.toml, pyproject.toml, lock) changed since HEAD.

    Example::

        >>> from paper_utils.provenance import code_changes
        >>> changes = code_changes()        # [] on a clean checkout, None outside a git checkout
        >>> changes is None or all(isinstance(path, str) for path in changes)
        True
    """
    return changed_paths(CODE_PATHS, repo_root)


def lock_sha256(repo_root: Path = REPO_ROOT) -> str | None:
    """sha256 of ``requirements.lock`` (None when there is none)."""
    lock = Path(repo_root) / "requirements.lock"
    return hashlib.sha256(lock.read_bytes()).hexdigest() if lock.exists() else None


def git_state(repo_root: Path = REPO_ROOT) -> dict:
    """``{"commit", "code_dirty", "results_dirty"}``; None values where git cannot tell."""
    commit = _git("rev-parse", "HEAD", repo_root=repo_root)
    code, results = code_changes(repo_root), changed_paths(RESULTS_PATHS, repo_root)
    return {"commit": commit.strip() if commit else None,
            "code_dirty": bool(code) if code is not None else None,
            "results_dirty": bool(results) if results is not None else None}


def require_clean_code(preset: str, allow_dirty_code: bool = False, log=print, repo_root: Path = REPO_ROOT) -> None:
    """Raise ConfigError when the code differs from HEAD, so results stay traceable to a commit.

    The ``smoke`` preset is exempt; ``allow_dirty_code=True`` runs anyway (``run_info.json`` then
    records ``code_dirty: true``); outside a git checkout the state is unknown and a note is logged.
    """
    if preset in EXEMPT_PRESETS:
        return
    changes = code_changes(repo_root)
    if changes is None:
        log("note: not a git checkout (or no git): cannot tell whether the code differs from a commit")
        return
    if not changes:
        return
    if allow_dirty_code:
        log(f"warning: running with {len(changes)} changed code path(s); run_info.json records code_dirty=true")
        return
    shown = ", ".join(changes[:SHOWN_CHANGES])
    more = f" and {len(changes) - SHOWN_CHANGES} more" if len(changes) > SHOWN_CHANGES else ""
    raise ConfigError("allow_dirty_code", allow_dirty_code,
                      f"the code differs from the last commit in {len(changes)} path(s): {shown}{more}. "
                      "Results stamped now could not be traced to a commit: commit (or stash) the changes, "
                      "or pass --allow-dirty-code (CLI) / allow_dirty_code=True (API) to run anyway "
                      "(run_info.json then records code_dirty=true)")


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution in ``names`` (None when it is not installed)."""
    return installed_versions(names)


def device_info() -> dict:
    import torch

    info = {"python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available()}
    if info["cuda"]:
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def run_info(preset: str, timings: dict[str, float] | None = None) -> dict:
    from .config import load_preset
    from .packs import registry

    cfg = load_preset(preset)
    return {
        "preset": cfg.name,
        "git": git_state(),
        "lock_sha256": lock_sha256(),
        "packages": package_versions(),
        "device": device_info(),
        "seeds": list(cfg.grid.seeds),
        "packs": {k: p.requirement for k, p in registry().items()},
        "timings_s": timings or {},
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
