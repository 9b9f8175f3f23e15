"""``run_info.json``: how a set of results was produced.

Example::

    >>> from paper_utils.provenance import run_info
    >>> info = run_info("demo")
    >>> {"git", "packages", "device", "preset"} <= set(info)
    True

Records the git commit (and whether the tree had local changes), package versions, device, thread
count, the preset's seeds and the pinned packs, so every figure can be traced to its inputs.
"""
from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib import metadata

from .paths import REPO_ROOT

PACKAGES = ("torch", "transformers", "tokenizers", "sentence-transformers", "datasets", "accelerate", "peft",
            "sacrebleu", "numpy", "scipy", "statsmodels", "pandas", "seaborn", "papermill", "paper-utils")


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution in ``names`` (None when it is not installed)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


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
    status = _git("status", "--porcelain")
    return {
        "preset": cfg.name,
        "git": {"commit": _git("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None},
        "packages": package_versions(),
        "device": device_info(),
        "seeds": list(cfg.grid.seeds),
        "packs": {k: p.requirement for k, p in registry().items()},
        "timings_s": timings or {},
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
