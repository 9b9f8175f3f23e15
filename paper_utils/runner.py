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
import os
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from .config import Preset, load_preset
from .errors import ConfigError
from .io import atomic_path, read_json, write_json
from .jobs import Job, stage_job_id
from .layout import (ModelLayout, executed_dir, failures_dir, fertility_csv, figures_dir, run_info_json,
                     relative, significance_csv, study_root)
from .paths import NOTEBOOKS_DIR, PACKAGE_DIR, REPO_ROOT, shown
from .registry import PROVIDERS, PROVIDERS_LOADED_BY, recipe


def _fertility_jobs(p: Preset) -> list[Job]:
    return [Job("01_fertility", (), {"preset": p.ref}, (_rel(p, fertility_csv(p.name)),), timeout_s=1200)]


def _rel(p: Preset, path: Path) -> str:
    return relative(p.name, path)


def _vocabulary_jobs(p: Preset) -> list[Job]:
    jobs = []
    for lang in p.grid.languages:
        for model in p.grid.models:
            lay = ModelLayout(p.name, lang, model)
            jobs.append(Job("02_vocabulary_expansion", (lang, lay.key),
                            {"preset": p.ref, "language": lang, "model": model},
                            (lay.relative(lay.vocabulary_json), lay.relative(lay.tokenizer_dir / "tokenizer.json")),
                            timeout_s=1800))
    return jobs


def _initialization_jobs(p: Preset) -> list[Job]:
    jobs = []
    for lang in p.grid.languages:
        for model in p.grid.models:
            lay = ModelLayout(p.name, lang, model)
            jobs.append(Job("03_anchored_initialization", (lang, lay.key),
                            {"preset": p.ref, "language": lang, "model": model,
                             "english_questions": min(300, p.evaluation.mmlu_questions or 300)},
                            tuple(lay.relative(lay.init_record(m)) for m in p.grid.methods)
                            + (lay.relative(lay.init_record("base")), lay.relative(lay.init_significance_csv))
                            + ((lay.relative(lay.sweep_csv),) if p.sweep else ()),
                            depends=(stage_job_id("02_vocabulary_expansion", lang, model),), timeout_s=3600))
    return jobs


def _recipe_jobs(p: Preset) -> list[Job]:
    """Every job the preset's recipes declare (training, then evaluation of their runs)."""
    return [job for name in p.grid.recipes for job in recipe(name).jobs(p)]


def _evaluation_jobs(p: Preset) -> list[Job]:
    """The base model's evaluation per language and model (recipes evaluate their own runs)."""
    jobs = []
    for lang in p.grid.languages:
        for model in p.grid.models:
            lay = ModelLayout(p.name, lang, model)
            jobs.append(Job("05_evaluation", (lang, lay.key, "base"),
                            {"preset": p.ref, "language": lang, "model": model, "method": "base"},
                            (lay.relative(lay.eval_dir("base") / "scores.json"),), timeout_s=7200))
    return jobs


def _significance_jobs(p: Preset) -> list[Job]:
    evals = tuple(j.job_id for j in _evaluation_jobs(p) + _recipe_jobs(p) if j.notebook == "05_evaluation")
    return [Job("06_significance", (), {"preset": p.ref}, (_rel(p, significance_csv(p.name)),), depends=evals,
                timeout_s=1200)]


def _figures_jobs(p: Preset) -> list[Job]:
    return [Job("07_figures", (), {"preset": p.ref}, (_rel(p, figures_dir(p.name) / "fertility_heatmap.png"),),
                timeout_s=600, always_run=True)]


# Stages in execution order; figures always come last.
STAGES: list[Callable[[Preset], list[Job]]] = [_fertility_jobs, _vocabulary_jobs, _initialization_jobs,
                                               _evaluation_jobs, _recipe_jobs, _significance_jobs, _figures_jobs]


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


def _module_file(dotted: str) -> Path | None:
    """The source file of a ``paper_utils`` module (``paper_utils.train.loop`` -> ``train/loop.py``)."""
    parts = dotted.split(".")[1:]
    if not parts:
        return PACKAGE_DIR / "__init__.py" if (PACKAGE_DIR / "__init__.py").exists() else None
    for path in (PACKAGE_DIR.joinpath(*parts).with_suffix(".py"), PACKAGE_DIR.joinpath(*parts, "__init__.py")):
        if path.exists():
            return path
    return None


REGISTRY = "paper_utils.registry"
WHOLE_REGISTRY = REGISTRY + ".*"          # the registry imported as a module (any lookup may follow): every provider


def _imported_modules(source: str, module: str = "") -> set[str]:
    """Dotted ``paper_utils`` modules imported by ``source`` (absolute, and relative when it is ``module``'s).

    ``from paper_utils.train import loop`` counts ``paper_utils.train`` and ``paper_utils.train.loop``
    (a name may be a submodule); names that are not modules are dropped by the caller.
    """
    package = module if _module_file(module) and _module_file(module).name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "paper_utils"}
            found |= {WHOLE_REGISTRY for a in node.names if a.name == REGISTRY}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if not module:
                    continue
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "paper_utils":
                continue
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}
            found |= {WHOLE_REGISTRY for a in node.names if f"{target}.{a.name}" == REGISTRY}
    return found


# import edges that do not make the importer depend on what the imported module loads by name (code_version)
NAMES_ONLY_EDGES = frozenset({("paper_utils.config", "paper_utils.registry"),
                              ("paper_utils.tuning", "paper_utils.registry")})


def code_version(notebook: Path) -> str:
    """Hash of the notebook and of the package modules it imports, transitively (:func:`notebook_modules`).

    A change to the notebook or to any module it depends on reruns the job; an unrelated module does not.
    """
    digest = hashlib.sha256(notebook.read_bytes())
    for name, path in sorted(notebook_modules(notebook).items()):
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def notebook_modules(notebook: Path) -> dict[str, Path]:
    """The ``paper_utils`` modules a notebook's code cells import, transitively, with their files.

    >>> from paper_utils.paths import REPO_ROOT
    >>> modules = notebook_modules(REPO_ROOT / "notebooks" / "02_vocabulary_expansion.ipynb")
    >>> "paper_utils.vocab" in modules, "paper_utils.init" in modules, "paper_utils.recipes" in modules
    (True, False, False)

    Subpackages count through their ``__init__`` and every submodule reached. The registry imports the modules
    that register into it by name, so a module that takes a lookup from it depends on them: on the initializer
    providers for ``initializer``/``initializers``/..., on the recipe providers for ``recipe``/``recipes``, on
    none for ``register_*`` (``registry.PROVIDERS_LOADED_BY``), on all for the whole module. ``config`` and
    ``tuning`` read the registry only to check a preset's method and option names (:data:`NAMES_ONLY_EDGES`;
    ``tests/test_runner.py`` pins the registry names they import). Without these two rules every notebook
    depended on every method and recipe (stage 03 on the translators), and any commit made every finished job of
    a long preset stale. A notebook that runs a method imports it (03 imports ``init``, the recipe notebooks
    their recipe modules).
    """
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code" and not c.source.lstrip().startswith(("%", "!")))
    first = _imported_modules(source)
    todo, seen = sorted(first) + list(_providers_reached(first)), {}
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if name in seen or path is None:
            continue
        seen[name] = path
        imports = {m for m in _imported_modules(path.read_text(encoding="utf-8"), name)
                   if (name, m) not in NAMES_ONLY_EDGES}
        todo.extend(m for m in sorted(imports) + list(_providers_reached(imports)) if m not in seen)
    return seen


def _providers_reached(imports: set[str]) -> tuple[str, ...]:
    """The modules the registry imports by name for what ``imports`` takes from it (``registry.PROVIDERS_LOADED_BY``):
    none for ``register_*``, the initializer providers for initializer lookups, every provider for the whole module
    or a name not in that table."""
    if REGISTRY not in imports:
        return ()
    names = {m.rpartition(".")[2] for m in imports if m.startswith(REGISTRY + ".")}   # "*": the whole module
    return tuple(dict.fromkeys(p for n in sorted(names) for p in PROVIDERS_LOADED_BY.get(n, PROVIDERS)))


def job_environment(preset: Preset, seed: int = 0) -> dict[str, str]:
    """Variables set before each kernel starts (inherited by the kernel process).

    Thread counts default to the machine's cores; ``PAPER_UTILS_THREADS`` overrides them (e.g. 1 when
    another job shares the machine: oversubscribed OpenMP threads slow torch down many times over).
    Inside a kernel ``tqdm.auto`` (imported by transformers and datasets) wants the ipywidgets bar and,
    without ipywidgets, prints a ``TqdmWarning: IProgress not found`` box, with the path of tqdm's own
    file, into every notebook; it then draws plain-text bars anyway, so the warning is filtered out.
    ``PYTHONPATH`` starts with this checkout's root, so the kernel imports the ``paper_utils`` whose commit
    ``run_info.json`` records: with a virtual environment shared by two clones, the editable install points at one of
    them, and a kernel started from the other would otherwise run the first clone's code (it did, 2026-12-02).
    """
    threads = os.environ.get("PAPER_UTILS_THREADS") or str(os.cpu_count() or 1)
    warning_filters = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore:IProgress not found"]))
    env = {"PYTHONHASHSEED": str(seed), "TOKENIZERS_PARALLELISM": "false", "TQDM_MININTERVAL": "30",
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
           "MPLBACKEND": "Agg", "PAPER_UTILS_PRESET": preset.name, "PYTHONWARNINGS": warning_filters,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
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
    return executed_dir(preset) / f"{job_id}.done.json"


def is_done(preset: str, job: Job, version: str) -> bool:
    stamp = _stamp_path(preset, job)
    if not stamp.exists():
        return False
    info = read_json(stamp)
    outputs_exist = all((study_root(preset) / out).exists() for out in job.outputs)
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
    out = executed_dir(preset.name) / f"{job.job_id}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with _environment(job_environment(preset, seed=int(job.parameters.get("seed", 0)))):
        pm.execute_notebook(str(src.resolve()), str(out.resolve()), parameters=dict(job.parameters),
                            kernel_name="python3", cwd=str(NOTEBOOKS_DIR.resolve()), progress_bar=False,
                            execution_timeout=round(job.timeout_s * preset.timeout_factor), log_output=False)
    seconds = time.time() - start
    machine_independent(out)
    return seconds


def machine_independent(executed: Path) -> None:
    """Rewrite papermill's ``input_path``/``output_path`` metadata of an executed notebook with
    :func:`paper_utils.paths.shown`, so two checkouts in different folders write the same file."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = shown(meta[key])
    with atomic_path(executed) as tmp:
        nbformat.write(nb, str(tmp))


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


def preset_digest(p: Preset) -> str:
    """The first 8 hex digits of the sha256 of the preset file's parsed content (canonical JSON, keys sorted):
    a comment or a layout change leaves it, and every finished job of the preset, as it was; a value changes it.
    ``"none"`` for a preset built in memory.

    >>> preset_digest(load_preset("smoke")) == preset_digest(load_preset("smoke")), len(preset_digest(load_preset("smoke")))
    (True, 8)
    """
    import json
    import tomllib

    if not p.source_file:
        return "none"
    with open(p.source_file, "rb") as fh:
        parsed = tomllib.load(fh)
    return hashlib.sha256(json.dumps(parsed, sort_keys=True, default=str).encode()).hexdigest()[:8]


def job_version(p: Preset, job: Job, known: dict[str, str] | None = None) -> str:
    """The version a job's stamp must carry to count as done: its notebook's code and the preset's content
    (:func:`preset_digest`; ``known``: a cache of code versions by notebook for callers that ask for many jobs)."""
    preset_hash = preset_digest(p)
    known = {} if known is None else known
    if job.notebook not in known:
        known[job.notebook] = code_version(NOTEBOOKS_DIR / f"{job.notebook}.ipynb")
    return f"{known[job.notebook]}-{preset_hash}"


def status(preset: str) -> list[dict]:
    """Where a preset's batch stands, per notebook (what ``reproduce`` would skip or run), from the stamps alone:
    ``jobs``, ``done`` (up to date), ``stale`` (stamped by other code, parameters or preset, or an output missing),
    ``failed`` (a traceback in ``failures/``), ``todo`` (never run), ``seconds``: the recorded wall time of the
    done jobs, ``seconds_recorded``: of every stamped job, stale ones included (the measured time per stage of a
    long preset; what else shared the machine is not recorded), and ``seconds_left``: an estimate of what the jobs
    not done would take, the mean recorded time of the notebook's stamped jobs times their number (``None`` when
    no job of the notebook was ever stamped; jobs of one notebook differ in size, so this is a rough guide).

    >>> rows = status("smoke")
    >>> rows[0]["notebook"], rows[0]["jobs"] == rows[0]["done"] + rows[0]["stale"] + rows[0]["failed"] + rows[0]["todo"]
    ('01_fertility', True)
    """
    p = load_preset(preset)
    rows: dict[str, dict] = {}
    versions: dict[str, str] = {}
    timed: dict[str, int] = {}
    for job in plan(p):
        row = rows.setdefault(job.notebook, {"notebook": job.notebook, "jobs": 0, "done": 0, "stale": 0, "failed": 0,
                                             "todo": 0, "seconds": 0.0, "seconds_recorded": 0.0})
        row["jobs"] += 1
        stamp = _stamp_path(p.name, job)
        recorded = float(read_json(stamp).get("seconds") or 0.0) if stamp.exists() else 0.0
        row["seconds_recorded"] += recorded
        timed[job.notebook] = timed.get(job.notebook, 0) + (recorded > 0)   # stamps with a time (old ones may lack it)
        if is_done(p.name, job, job_version(p, job, versions)) and newer_dependency(p.name, job) is None:
            row["done"] += 1
            row["seconds"] += recorded
        elif (failures_dir(p.name) / f"{job.job_id}.txt").exists():
            row["failed"] += 1
        elif stamp.exists():
            row["stale"] += 1
        else:
            row["todo"] += 1
    for name, row in rows.items():
        row["seconds_left"] = (row["seconds_recorded"] / timed[name] * (row["jobs"] - row["done"])
                               if timed[name] else None)
    return list(rows.values())


def reproduce(preset: str, only: list[str] | None = None, force: bool = False, log=print,
              allow_dirty_code: bool = False) -> list[str]:
    """Run (or skip) every job of ``preset``; returns the ids of failed jobs.

    Refuses (ConfigError, before any job) while the code differs from its commit, unless
    ``allow_dirty_code``; the ``smoke`` preset is exempt (see ``provenance.require_clean_code``).
    """
    from .provenance import require_clean_code

    p = load_preset(preset)
    require_clean_code(p.name, allow_dirty_code, log)
    jobs = [j for j in plan(p) if not only or j.notebook in only or j.job_id in only]
    failed: list[str] = []
    summary = []
    for job in jobs:
        version = job_version(p, job)                        # a preset edit reruns its jobs too
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
        failure = failures_dir(p.name) / f"{job.job_id}.txt"
        try:
            seconds = run_job(p, job)
        except Exception as exc:  # noqa: BLE001 - isolate any notebook failure
            failed.append(job.job_id)
            failure.parent.mkdir(parents=True, exist_ok=True)
            failure.write_text("".join(traceback.format_exception(exc)))
            where = failure.relative_to(study_root(p.name).parent.parent)
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
    write_json(run_info_json(p.name), run_info(p.name, timings))
    log(f"\n{'job':<55} {'status':<8} {'seconds':>8}  note")
    for job_id, status, seconds, note in summary:
        log(f"{job_id:<55} {status:<8} {seconds:>8.1f}  {note}")
    return failed
