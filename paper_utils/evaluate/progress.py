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
the same fingerprint (:func:`evaluation_fingerprint`: the run's parameters and items, the preset's content, the
evaluated weights, model configs and tokenizers, the data pins, Python's and the scoring libraries' versions) takes
those tasks back instead of scoring them again, as long as the files each wrote and the package modules loaded when it
finished (its scorers among them) are unchanged on disk; another fingerprint discards the record (the log says what
differed) and every task is scored anew. The code check is coarse: a stage-05 process loads about 100 of the
package's modules, and a change to any of them (a commit, or a file changed while the evaluation ran: then the task is
recorded as not resumable) makes the task be scored again. A rerun on the same commit (a run killed at the end of a
working session, restarted in the next) takes everything finished back.
:meth:`EvaluationProgress.clear` removes the record once ``scores.json`` is written, so a finished evaluation is
never half reused: only an interrupted one resumes.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..io import read_json, write_json
from ..lockfile import installed_versions
from ..packs import sha256_file
from ..paths import DATA_DIR

PROGRESS_FILE = "progress.json"


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


def content_digest(value: Any) -> str:
    """sha256 (16 hex digits) of a JSON-able value, keys sorted."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr).encode()).hexdigest()[:16]


def data_digest(data_dir: Path = DATA_DIR) -> str:
    """sha256 over the data folder's pin files (``data/*.toml``: assets, packs, corpora; not the cache)."""
    h = hashlib.sha256()
    for path in sorted(data_dir.glob("*.toml")):
        h.update(f"{path.name}\0".encode() + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def preset_digest(cfg) -> str:
    """A digest of a validated preset's content (every table; overrides and preset files outside ``data/presets``
    included; not its file path)."""
    import dataclasses

    content = dataclasses.asdict(cfg)
    content.pop("source_file", None)
    return content_digest(content)


def tokenizer_digest(tokenizer) -> str:
    """A digest of what a tokenizer does: its full definition where it has one (a fast tokenizer's JSON: vocabulary,
    merges, normalizer, BOS/EOS post-processing, added tokens), else its vocabulary; its special tokens and chat
    template."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    definition = backend.to_str() if backend is not None else sorted(tokenizer.get_vocab().items())
    return content_digest([definition, str(getattr(tokenizer, "special_tokens_map", "")),
                    getattr(tokenizer, "chat_template", None)])


def model_config_digest(module) -> str:
    """A digest of the configs of a model and its sub-models (non-persistent buffers such as rotary frequencies and the
    attention implementation come from them); their folder path left out."""
    configs = []
    for part in module.modules():
        config = getattr(part, "config", None)
        if config is not None and hasattr(config, "to_dict") and id(config) not in {id(c) for c, _ in configs}:
            content = config.to_dict()
            content.pop("_name_or_path", None)
            configs.append((config, content))
    return content_digest([content for _, content in configs])


def environment() -> dict[str, str | None]:
    """Python's and the scoring libraries' versions."""
    return {"python": sys.version.split()[0],
            **installed_versions(("torch", "transformers", "tokenizers", "sacrebleu", "numpy"))}


def process_started() -> float:
    """When this process started (Linux: from ``/proc``; elsewhere: now, a later bound)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, StopIteration, IndexError):
        return time.time()


def loaded_modules(package: str = "paper_utils") -> list[str]:
    """The modules of ``package`` this process has imported (a task's scorers among them, once it ran)."""
    return sorted(name for name, module in list(sys.modules.items())
                  if (name == package or name.startswith(package + ".")) and getattr(module, "__file__", None))


def _module_file(name: str) -> Path | None:
    module = sys.modules.get(name)
    origin = getattr(module, "__file__", None) if module is not None else None
    if origin is None:
        try:
            spec = importlib.util.find_spec(name)
        except Exception:  # noqa: BLE001 - a changed or broken package: the module cannot be found
            spec = None
        origin = spec.origin if spec is not None else None
    return Path(origin) if origin and Path(origin).is_file() else None


def modules_digest(names: Iterable[str], changed_after: float | None = None) -> str | None:
    """sha256 over the source files of the named modules as they are on disk now; None when one is gone or (with
    ``changed_after``, a time) was modified after that time.

    >>> modules_digest(["paper_utils.io"]) == modules_digest(["paper_utils.io"]) != modules_digest(["paper_utils.paths"])
    True
    >>> modules_digest(["paper_utils.no_such_module"]) is None
    True
    """
    h = hashlib.sha256()
    for name in sorted(names):
        path = _module_file(name)
        if path is None or (changed_after is not None and path.stat().st_mtime > changed_after):
            return None
        h.update(f"{name}\0".encode() + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def evaluation_fingerprint(run: Mapping[str, Any], lm, cfg=None) -> dict[str, Any]:
    """What must be equal for a restarted evaluation to take back an interrupted one's finished tasks: ``run``
    (language, model, method, seed, model folder, batch size, the items' digest, ...), the preset's content
    (``cfg`` as evaluated), the weights and configs of ``lm.model``, its tokenizers (``tokenizer`` and, for a fused
    model, ``encoder_tokenizer``), the data pins and the library versions (each task adds the code it ran:
    :meth:`EvaluationProgress.record`)."""
    tokenizers = {name: tokenizer_digest(getattr(lm, name)) for name in ("tokenizer", "encoder_tokenizer")
                  if getattr(lm, name, None) is not None}
    return {**{k: run[k] for k in sorted(run)}, "preset": preset_digest(cfg) if cfg is not None else None,
            "weights": weights_digest(lm.model), "model_config": model_config_digest(lm.model),
            "tokenizers": tokenizers, "data": data_digest(), "environment": environment()}


class EvaluationProgress:
    """The finished tasks of an evaluation in ``out`` (``progress.json``), kept for a rerun of the same run."""

    def __init__(self, out: str | Path, fingerprint: Mapping[str, Any], log=print):
        self.path = Path(out) / PROGRESS_FILE
        self.fingerprint = json.loads(json.dumps(fingerprint))        # as it reads back from the file
        self.log = log
        self.tasks: dict[str, dict] = {}
        self.started = process_started()    # code changed on disk after this: the task is not resumable
        saved = None
        if self.path.exists():
            try:
                saved = read_json(self.path)
            except (ValueError, OSError) as exc:
                log(f"{self.path.name}: unreadable ({exc}); every task is scored again")
            if not isinstance(saved, dict) or not isinstance(saved.get("tasks"), dict):
                saved = None
        if saved is not None:
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
        recorded = entry["code"]["digest"]
        if recorded is None or modules_digest(entry["code"]["modules"]) != recorded:
            self.log(f"{task}: the code has changed since the interrupted run scored it; scored again")
            return None
        folder = self.path.parent
        for name, digest in entry["files"].items():
            if not (folder / name).exists() or sha256_file(folder / name) != digest:
                self.log(f"{task}: {name} has changed since the interrupted run wrote it; scored again")
                return None
        return entry["summary"]

    def record(self, task: str, summary: Mapping[str, Any], files: Iterable[str]) -> None:
        """Add a finished ``task``: its summary, the files it wrote (relative to the run's folder) and the package
        modules loaded by then (:func:`loaded_modules`: the code it ran, with the rest of what the process imported)."""
        folder = self.path.parent
        modules = loaded_modules()
        # a module file changed since this evaluation began: what ran may not be what is on disk (None: not resumable)
        digest = modules_digest(modules, changed_after=self.started)
        self.tasks[task] = {"summary": json.loads(json.dumps(summary, default=str)),
                            "files": {name: sha256_file(folder / name) for name in files},
                            "code": {"modules": modules, "digest": digest}}
        write_json(self.path, {"fingerprint": self.fingerprint, "tasks": self.tasks})

    def clear(self) -> None:
        """Forget the record (after ``scores.json`` is written)."""
        self.path.unlink(missing_ok=True)
        self.tasks = {}


__all__ = ["EvaluationProgress", "evaluation_fingerprint", "weights_digest", "content_digest", "data_digest", "preset_digest",
           "tokenizer_digest", "model_config_digest", "environment", "loaded_modules", "modules_digest", "PROGRESS_FILE"]
