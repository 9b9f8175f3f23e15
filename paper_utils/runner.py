"""The papermill batch: the study's notebooks in order, over a preset's grid; skip done, isolate failures.

Example::

    >>> from paper_utils.runner import plan
    >>> [job.job_id for job in plan("demo")][:2]
    ['01_fertility', '02_vocabulary_expansion__uz__smollm2-135m']

``reproduce(preset)`` executes every job with the papermill Python API: parameters are built in
Python (never YAML) and checked against the notebook's tagged ``parameters`` cell, the kernel is
``python3``, paths are absolute, environment variables (seed, offline flags, thread counts, quiet
progress bars) are set before the kernel starts, and each notebook has a timeout. Executed copies
go to ``results/<preset>/executed/``. A job whose outputs exist, whose parameters and code
version match its stamp and whose dependencies did not finish after it is skipped; a failing job is recorded with its traceback in
``results/<preset>/failures/`` and the batch goes on with every job that does not depend on it.
"""
from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .config import Preset, load_preset
from .errors import ConfigError
from .io import read_json, write_json
from .paths import NOTEBOOKS_DIR, PACKAGE_DIR, results_dir


@dataclass(frozen=True)
class Job:
    notebook: str                       # stem in notebooks/
    key: tuple[str, ...]                # grid coordinates, () for study-wide notebooks
    parameters: dict[str, Any] = field(hash=False, compare=False)
    outputs: tuple[str, ...] = ()       # paths relative to results/<preset>/ that prove the job is done
    depends: tuple[str, ...] = ()       # job ids that must succeed first
    timeout_s: int = 1800
    always_run: bool = False            # cheap jobs whose inputs are other jobs' results (figures)

    @property
    def job_id(self) -> str:
        return "__".join((self.notebook,) + self.key)


def _fertility_jobs(p: Preset) -> list[Job]:
    return [Job("01_fertility", (), {"preset": p.name}, ("fertility.csv",), timeout_s=1200)]


def _vocabulary_jobs(p: Preset) -> list[Job]:
    return [Job("02_vocabulary_expansion", (lang, model), {"preset": p.name, "language": lang, "model": model},
                (f"{lang}/{model}/vocabulary.json", f"{lang}/{model}/tokenizer/tokenizer.json"), timeout_s=1800)
            for lang in p.grid.languages for model in p.grid.models]


def _initialization_jobs(p: Preset) -> list[Job]:
    jobs = []
    for lang in p.grid.languages:
        for model in p.grid.models:
            init = f"{lang}/{model}/init"
            jobs.append(Job("03_anchored_initialization", (lang, model),
                            {"preset": p.name, "language": lang, "model": model,
                             "english_questions": min(300, p.evaluation.mmlu_questions or 300)},
                            tuple(f"{init}/{m}.json" for m in p.grid.methods)
                            + (f"{init}/base.json", f"{init}/significance.csv"),
                            depends=(f"02_vocabulary_expansion__{lang}__{model}",), timeout_s=3600))
    return jobs


def _adaptation_jobs(p: Preset) -> list[Job]:
    jobs = []
    for r in p.runs():
        run = f"{r.language}/{r.model}/adapt/{r.method}__seed{r.seed}"
        jobs.append(Job("04_adaptation", (r.language, r.model, r.method, f"seed{r.seed}"),
                        {"preset": p.name, "language": r.language, "model": r.model, "method": r.method, "seed": r.seed},
                        (f"{run}/summary.json", f"{run}/model/config.json"),
                        depends=(f"02_vocabulary_expansion__{r.language}__{r.model}",
                                 f"03_anchored_initialization__{r.language}__{r.model}"), timeout_s=3600))
    return jobs


def _evaluation_jobs(p: Preset) -> list[Job]:
    jobs = []
    for lang in p.grid.languages:
        for model in p.grid.models:
            jobs.append(Job("05_evaluation", (lang, model, "base"),
                            {"preset": p.name, "language": lang, "model": model, "method": "base"},
                            (f"{lang}/{model}/eval/base/scores.json",), timeout_s=7200))
    for r in p.runs():
        folder = r.method if r.seed == 0 else f"{r.method}__seed{r.seed}"
        jobs.append(Job("05_evaluation", (r.language, r.model, r.method, f"seed{r.seed}"),
                        {"preset": p.name, "language": r.language, "model": r.model, "method": r.method, "seed": r.seed},
                        (f"{r.language}/{r.model}/eval/{folder}/scores.json",),
                        depends=(f"04_adaptation__{r.language}__{r.model}__{r.method}__seed{r.seed}",), timeout_s=7200))
    return jobs


def _significance_jobs(p: Preset) -> list[Job]:
    evals = tuple(j.job_id for j in _evaluation_jobs(p))
    return [Job("06_significance", (), {"preset": p.name}, ("significance.csv",), depends=evals, timeout_s=1200)]


def _figures_jobs(p: Preset) -> list[Job]:
    return [Job("07_figures", (), {"preset": p.name}, ("figures/fertility_heatmap.png",), timeout_s=600,
                always_run=True)]


# Stages in execution order; figures always come last.
STAGES: list[Callable[[Preset], list[Job]]] = [_fertility_jobs, _vocabulary_jobs, _initialization_jobs,
                                               _adaptation_jobs, _evaluation_jobs, _significance_jobs, _figures_jobs]


def plan(preset: str | Preset) -> list[Job]:
    """Every job of a preset, in execution order (only notebooks that exist)."""
    p = load_preset(preset) if isinstance(preset, str) else preset
    return [job for stage in STAGES for job in stage(p) if (NOTEBOOKS_DIR / f"{job.notebook}.ipynb").exists()]


def notebook_parameters(path: Path) -> dict[str, Any]:
    """Names and literal values of the notebook's cell tagged ``parameters``."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse(cell.source)
            return {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
    raise ConfigError("notebook", str(path), "add a first code cell tagged `parameters` with plain literals")


def _imported_modules(source: str, package_relative: bool) -> set[str]:
    """``paper_utils`` modules imported by ``source`` (absolute, and relative when inside the package)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("paper_utils.")}
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if mod == "paper_utils" or (package_relative and node.level == 1 and not mod):
                found |= {a.name for a in node.names}
            elif mod.startswith("paper_utils."):
                found.add(mod.split(".")[1])
            elif package_relative and node.level == 1:
                found.add(mod.split(".")[0])
    return found


def code_version(notebook: Path) -> str:
    """Hash of the notebook and of the package modules it imports, transitively.

    A change to the notebook or to any module it depends on reruns the job; an unrelated module
    does not.
    """
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code" and not c.source.lstrip().startswith(("%", "!")))
    todo, seen = sorted(_imported_modules(source, False)), set()
    while todo:
        name = todo.pop()
        path = PACKAGE_DIR / f"{name}.py"
        if name in seen or not path.exists():
            continue
        seen.add(name)
        todo.extend(_imported_modules(path.read_text(encoding="utf-8"), True) - seen)
    digest = hashlib.sha256(notebook.read_bytes())
    for name in sorted(seen):
        digest.update(name.encode() + b"\0" + (PACKAGE_DIR / f"{name}.py").read_bytes())
    return digest.hexdigest()[:16]


def job_environment(preset: Preset, seed: int = 0) -> dict[str, str]:
    """Variables set before each kernel starts (inherited by the kernel process).

    Thread counts default to the machine's cores; ``PAPER_UTILS_THREADS`` overrides them (e.g. 1 when
    another job shares the machine: oversubscribed OpenMP threads slow torch down many times over).
    Inside a kernel ``tqdm.auto`` (imported by transformers and datasets) wants the ipywidgets bar and,
    without ipywidgets, prints a ``TqdmWarning: IProgress not found`` box, with the path of tqdm's own
    file, into every notebook; it then draws plain-text bars anyway, so the warning is filtered out.
    """
    threads = os.environ.get("PAPER_UTILS_THREADS") or str(os.cpu_count() or 1)
    warning_filters = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore:IProgress not found"]))
    env = {"PYTHONHASHSEED": str(seed), "TOKENIZERS_PARALLELISM": "false", "TQDM_MININTERVAL": "30",
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
           "MPLBACKEND": "Agg", "PAPER_UTILS_PRESET": preset.name, "PYTHONWARNINGS": warning_filters}
    if preset.data_source != "hub":
        env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    return env


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _stamp_path(preset: str, job: Job | str) -> Path:
    """``results/<preset>/executed/<job id>.done.json`` of a job (or of a job id)."""
    job_id = job if isinstance(job, str) else job.job_id
    return results_dir(preset) / "executed" / f"{job_id}.done.json"


def is_done(preset: str, job: Job, version: str) -> bool:
    stamp = _stamp_path(preset, job)
    if not stamp.exists():
        return False
    info = read_json(stamp)
    outputs_exist = all((results_dir(preset) / out).exists() for out in job.outputs)
    return outputs_exist and info.get("parameters") == job.parameters and info.get("code_version") == version


def newer_dependency(preset: str, job: Job) -> str | None:
    """A dependency that finished after ``job`` did (its outputs may have changed), else None."""
    stamp = _stamp_path(preset, job)
    if not stamp.exists():
        return None
    finished = stamp.stat().st_mtime_ns
    for dep in job.depends:
        dep_stamp = _stamp_path(preset, dep)
        if dep_stamp.exists() and dep_stamp.stat().st_mtime_ns > finished:
            return dep
    return None


def run_job(preset: Preset, job: Job) -> float:
    """Execute one notebook with papermill; returns seconds. Raises on failure."""
    import papermill as pm

    src = NOTEBOOKS_DIR / f"{job.notebook}.ipynb"
    declared = notebook_parameters(src)
    unknown = set(job.parameters) - set(declared)
    if unknown:
        raise ConfigError("parameters", sorted(unknown), f"{src.name} declares only {sorted(declared)}")
    out = results_dir(preset.name) / "executed" / f"{job.job_id}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with _environment(job_environment(preset, seed=int(job.parameters.get("seed", 0)))):
        pm.execute_notebook(str(src.resolve()), str(out.resolve()), parameters=dict(job.parameters),
                            kernel_name="python3", cwd=str(NOTEBOOKS_DIR.resolve()), progress_bar=False,
                            execution_timeout=job.timeout_s, log_output=False)
    return time.time() - start


def failure_reason(exc: BaseException, limit: int = 160) -> str:
    """One line saying why a job failed: the notebook's own exception when papermill ran it.

    Example::

        >>> failure_reason(ValueError("bad\\nmore"))
        'ValueError: bad'
    """
    name, value = getattr(exc, "ename", None), getattr(exc, "evalue", None)   # PapermillExecutionError
    if name is None:
        name, value = type(exc).__name__, str(exc)
    line = f"{name}: {(value or '').strip().splitlines()[0] if (value or '').strip() else ''}"
    return line if len(line) <= limit else line[:limit - 3] + "..."


def reproduce(preset: str, only: list[str] | None = None, force: bool = False, log=print) -> list[str]:
    """Run (or skip) every job of ``preset``; returns the ids of failed jobs."""
    p = load_preset(preset)
    jobs = [j for j in plan(p) if not only or j.notebook in only or j.job_id in only]
    failed: list[str] = []
    summary = []
    preset_hash = hashlib.sha256(Path(p.source_file).read_bytes()).hexdigest()[:8] if p.source_file else "none"
    for job in jobs:
        src = NOTEBOOKS_DIR / f"{job.notebook}.ipynb"
        version = f"{code_version(src)}-{preset_hash}"      # a preset edit reruns its jobs too
        blocked = [d for d in job.depends if d in failed]
        if blocked:
            failed.append(job.job_id)
            summary.append((job.job_id, "blocked", 0.0, f"depends on failed {blocked}"))
            continue
        if not force and not job.always_run and is_done(p.name, job, version):
            stale = newer_dependency(p.name, job)          # an input was remade after this job ran
            if stale is None:
                summary.append((job.job_id, "skipped", 0.0, "up to date"))
                continue
            log(f"{job.job_id}: {stale} was rerun after it; rerunning")
        log(f"running {job.job_id} ...")
        failure = results_dir(p.name) / "failures" / f"{job.job_id}.txt"
        try:
            seconds = run_job(p, job)
        except Exception as exc:  # noqa: BLE001 - isolate any notebook failure
            failed.append(job.job_id)
            failure.parent.mkdir(parents=True, exist_ok=True)
            failure.write_text("".join(traceback.format_exception(exc)))
            where = failure.relative_to(results_dir(p.name).parent.parent)
            summary.append((job.job_id, "FAILED", 0.0, f"{failure_reason(exc)} (traceback: {where})"))
            continue
        failure.unlink(missing_ok=True)
        write_json(_stamp_path(p.name, job), {"parameters": job.parameters, "code_version": version,
                                              "seconds": round(seconds, 1), "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})
        summary.append((job.job_id, "done", seconds, ""))
    from .provenance import run_info

    timings = {}
    for job in plan(p):
        stamp = _stamp_path(p.name, job)
        if stamp.exists():
            timings[job.job_id] = read_json(stamp).get("seconds")
    write_json(results_dir(p.name) / "run_info.json", run_info(p.name, timings))
    log(f"\n{'job':<55} {'status':<8} {'seconds':>8}  note")
    for job_id, status, seconds, note in summary:
        log(f"{job_id:<55} {status:<8} {seconds:>8.1f}  {note}")
    return failed
