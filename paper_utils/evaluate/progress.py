"""Resume an interrupted evaluation task by task: what a finished task wrote is kept until the run is whole.

Example::

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> progress = EvaluationProgress(out, {"weights": "ab12", "data": "cd34"})
    >>> progress.finished("mmlu") is None                   # nothing done yet
    True
    >>> _ = (out / "mmlu.jsonl").write_text('{"id": 1}\\n')
    >>> progress.record("mmlu", {"accuracy": 0.5, "n": 1}, ["mmlu.jsonl"])
    >>> EvaluationProgress(out, {"weights": "ab12", "data": "cd34"}).finished("mmlu")    # the same run, restarted
    {'accuracy': 0.5, 'n': 1}
    >>> EvaluationProgress(out, {"weights": "ff00", "data": "cd34"}, log=lambda m: None).finished("mmlu") is None
    True

A stage-05 evaluation of one model runs several tasks one after another (45 minutes to hours on a CPU). Each
finished task's per-item file is written atomically; :meth:`EvaluationProgress.record` then adds the task's
summary and the sha256 of each file it wrote to ``progress.json`` (atomically) in the run's folder. A rerun with
the same fingerprint (:func:`evaluation_fingerprint`: the evaluated weights and tokenizer, the presets and data pins,
the run's parameters) takes those tasks back instead of scoring them again, as long as the package modules loaded
when each finished (its scorers among them) and the files it wrote are unchanged on disk; another fingerprint
discards the record (said in the log) and every task is scored anew. A commit that touches none of those modules
(a report, another recipe) leaves the record usable, so a run stopped at the end of one working session resumes in
the next.
:meth:`EvaluationProgress.clear` removes the record once ``scores.json`` is written, so a finished evaluation is
never half reused: only an interrupted one resumes.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..io import read_json, write_json
from ..paths import DATA_DIR

PROGRESS_FILE = "progress.json"


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_digest(module) -> str:
    """blake2b over a torch module's state dict (names, dtypes, shapes and bytes; a tied matrix counted once).

    >>> import torch
    >>> a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    >>> _ = b.load_state_dict(a.state_dict())
    >>> weights_digest(a) == weights_digest(b)
    True
    >>> with torch.no_grad():
    ...     _ = b.bias.add_(1e-6)
    >>> weights_digest(a) == weights_digest(b)
    False
    """
    import torch

    h, seen = hashlib.blake2b(digest_size=16), {}
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach()
        key = (t.data_ptr(), t.dtype, tuple(t.shape), t.stride()) if t.numel() else None
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        if key is not None and key in seen:
            h.update(f"same as {seen[key]}".encode())
            continue
        if key is not None:
            seen[key] = name
        h.update(t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def data_digest(data_dir: Path = DATA_DIR) -> str:
    """sha256 over the data folder's TOML files: the presets and the asset and corpus pins (not the cache)."""
    h = hashlib.sha256()
    for path in sorted([*data_dir.glob("*.toml"), *(data_dir / "presets").glob("*.toml")]):
        h.update(f"{path.relative_to(data_dir).as_posix()}\0".encode() + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def loaded_modules(package: str = "paper_utils") -> list[str]:
    """The modules of ``package`` this process has imported (a task's scorers among them, once it ran)."""
    return sorted(name for name, module in list(sys.modules.items())
                  if (name == package or name.startswith(package + ".")) and getattr(module, "__file__", None))


def modules_digest(names: Iterable[str]) -> str | None:
    """sha256 over the source files of the named modules as they are on disk now; None when one is gone.

    >>> modules_digest(["paper_utils.io"]) == modules_digest(["paper_utils.io"]) != modules_digest(["paper_utils.paths"])
    True
    >>> modules_digest(["paper_utils.no_such_module"]) is None
    True
    """
    h = hashlib.sha256()
    for name in sorted(names):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin or not Path(spec.origin).is_file():
            return None
        h.update(f"{name}\0".encode() + Path(spec.origin).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def evaluation_fingerprint(run: Mapping[str, Any], lm) -> dict[str, Any]:
    """What must be equal for a restarted evaluation to take back an interrupted one's finished tasks:
    ``run`` (language, model, method, seed, model folder, batch size, ...), the weights of ``lm.model``, the
    size and vocabulary of ``lm.tokenizer`` and :func:`data_digest` (each task adds the code it ran:
    :meth:`EvaluationProgress.record`)."""
    tokenizer = getattr(lm, "tokenizer", None)
    vocab = tokenizer.get_vocab() if tokenizer is not None else {}
    vocab_digest = hashlib.sha256(json.dumps(sorted(vocab.items()), ensure_ascii=False).encode()).hexdigest()[:16]
    return {**{k: run[k] for k in sorted(run)}, "weights": weights_digest(lm.model),
            "tokenizer": {"size": len(vocab), "vocab": vocab_digest}, "data": data_digest()}


class EvaluationProgress:
    """The finished tasks of an evaluation in ``out`` (``progress.json``), kept for a rerun of the same run."""

    def __init__(self, out: str | Path, fingerprint: Mapping[str, Any], log=print):
        self.path = Path(out) / PROGRESS_FILE
        self.fingerprint = json.loads(json.dumps(fingerprint))        # as it reads back from the file
        self.log = log
        self.tasks: dict[str, dict] = {}
        if self.path.exists():
            saved = read_json(self.path)
            if saved.get("fingerprint") == self.fingerprint:
                self.tasks = dict(saved.get("tasks") or {})
            else:
                changed = sorted(k for k in set(self.fingerprint) | set(saved.get("fingerprint") or {})
                                 if (saved.get("fingerprint") or {}).get(k) != self.fingerprint.get(k))
                log(f"{self.path.name}: an interrupted evaluation of another run (differs in {', '.join(changed)}); "
                    "its tasks are scored again")

    def finished(self, task: str) -> dict | None:
        """``task``'s summary when an interrupted run of this fingerprint finished it, the package modules loaded
        when it finished are unchanged on disk and so are the files it wrote; else None (scored again)."""
        entry = self.tasks.get(task)
        if entry is None:
            return None
        if modules_digest(entry["code"]["modules"]) != entry["code"]["digest"]:
            self.log(f"{task}: the code has changed since the interrupted run scored it; scored again")
            return None
        folder = self.path.parent
        for name, digest in entry["files"].items():
            if not (folder / name).exists() or _file_sha256(folder / name) != digest:
                self.log(f"{task}: {name} has changed since the interrupted run wrote it; scored again")
                return None
        return entry["summary"]

    def record(self, task: str, summary: Mapping[str, Any], files: Iterable[str]) -> None:
        """Add a finished ``task``: its summary, the files it wrote (relative to the run's folder) and the package
        modules loaded by then (:func:`loaded_modules`: the code it ran, with the rest of what the process imported)."""
        folder = self.path.parent
        modules = loaded_modules()
        self.tasks[task] = {"summary": json.loads(json.dumps(summary)),
                            "files": {name: _file_sha256(folder / name) for name in files},
                            "code": {"modules": modules, "digest": modules_digest(modules)}}
        write_json(self.path, {"fingerprint": self.fingerprint, "tasks": self.tasks})

    def clear(self) -> None:
        """Forget the record (after ``scores.json`` is written)."""
        self.path.unlink(missing_ok=True)
        self.tasks = {}


__all__ = ["EvaluationProgress", "evaluation_fingerprint", "weights_digest", "data_digest", "loaded_modules",
           "modules_digest", "PROGRESS_FILE"]
