"""The dev sweep (equal tuning budget) and the grid labels it resolves: ``<method>@dev`` and ``fvt+<label>``.

Example::

    >>> from paper_utils.config import load_preset
    >>> from paper_utils.init import smoke_setup
    >>> from paper_utils.init.sweep import dev_sweep, resolve_labels
    >>> cfg = load_preset("smoke")
    >>> setup = smoke_setup(cfg, "uz", "smollm2-135m")                 # tiny random model, seconds
    >>> frame = dev_sweep(setup, cfg.sweep, min_documents=2, log=None)  # out_csv=None: nothing written
    >>> frame.groupby("method").size().to_dict(), int(frame["chosen"].sum())
    ({'bxod': 2}, 1)
    >>> dev_sweep(setup, cfg.sweep, min_documents=300, log=None)
    Traceback (most recent call last):
    ...
    paper_utils.errors.ConfigError: invalid dev_texts='3 documents': the dev split of 'uz' has 3 documents, fewer than initialization.min_dev_documents = 300: add dev text or lower initialization.min_dev_documents

**The sweep.** Every method of the preset's ``[sweep]`` table runs the same number of configurations
(:func:`paper_utils.tuning.check_sweep`), each initialized on the same setup and scored on the **dev split**
(``setup.dev_texts``, never the test text): step-0 corpus bits per byte (sum of bits / sum of bytes,
:func:`paper_utils.init.step0.evaluate_patch`) and English KL to the base model
(:mod:`paper_utils.init.english_shift`). One rule chooses for every method: the lowest dev bpb, ties broken by
the lower English KL, then by grid order. ``init/sweep.csv`` holds every configuration (``COLUMNS``); it is
rewritten atomically after each configuration, and a rerun skips the rows already there with the same
options, the same code version (hash of ``paper_utils/init``, ``bpb.py``, ``tuning.py``) and the same inputs
(model, extended tokenizer, dev and English texts). A dev split with fewer than
``initialization.min_dev_documents`` documents, or a grid with an unknown option, is refused before anything
is written.

**Carried by name.** :func:`resolve_labels` turns a grid label into a variant spec for
:func:`paper_utils.init.step0`: ``bxod@dev`` is bxod at the options of its chosen row; ``fvt+salt@dev`` is the
registered ``blend`` of fvt with salt at its chosen options, the fvt share being
``initialization.blend_weight`` (``"bxod@dev"``: the ``subtoken_weight`` chosen for bxod). The patches and
records are then named by the label (``init/bxod@dev.json``, ``init/patches/bxod@dev/``), so adaptation,
evaluation and the tests read them as any other method.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import ConfigError, DataError
from ..io import write_csv
from ..paths import shown
from ..registry import initializer
from ..tuning import BLEND_METHOD, check_sweep, options_key, parse_label
from .english_shift import EnglishReference, english_reference
from .setup import InitSetup
from .step0 import code_version, inputs_version, run_method

COLUMNS = ("method", "config", "options", "dev_bpb", "english_kl", "chosen", "dev_documents", "seconds",
           "code_version", "inputs")


def check_dev_split(texts: Sequence[str], minimum: int, language: str) -> None:
    """ConfigError with both numbers when the dev split has fewer than ``minimum`` (at least 1) documents."""
    n = len(texts)
    if n < max(1, minimum):
        raise ConfigError("dev_texts", f"{n} documents",
                          f"the dev split of {language!r} has {n} documents, fewer than "
                          f"initialization.min_dev_documents = {minimum}: add dev text or lower "
                          "initialization.min_dev_documents")


def choose(frame, complete: Sequence[str] | None = None):
    """``frame`` with ``chosen`` set: per method (those in ``complete``, default all) the row with the lowest
    ``dev_bpb``, ties by the lower ``english_kl``, then the lower ``config`` (grid order).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"method": ["a", "a", "a"], "config": [0, 1, 2], "dev_bpb": [2.0, 1.5, 1.5],
    ...                   "english_kl": [0.1, 0.3, 0.2]})
    >>> choose(f)["chosen"].tolist()
    [False, False, True]
    """
    frame = frame.copy()
    frame["chosen"] = False
    for method, group in frame.groupby("method", sort=False):
        if complete is None or method in complete:
            best = group.sort_values(["dev_bpb", "english_kl", "config"], kind="mergesort", na_position="last").index[0]
            frame.loc[best, "chosen"] = True
    return frame


def read_sweep(path: str | Path):
    """``init/sweep.csv`` as a DataFrame (``DataError`` naming the stage when it is missing)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise DataError(f"no dev sweep at {shown(path)}: run 03_anchored_initialization (its dev sweep) first")
    return pd.read_csv(path, dtype={"options": str, "code_version": str, "inputs": str})


def _frame(rows: list[dict], grid: Mapping[str, Sequence]) -> Any:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    complete = [m for m, configs in grid.items() if (frame["method"] == m).sum() == len(configs)]
    return choose(frame, complete)


def dev_sweep(setup: InitSetup, grid: Mapping[str, Sequence[Mapping[str, Any]]], *, min_documents: int = 1,
              ref: EnglishReference | None = None, out_csv: str | Path | None = None, log: Callable | None = print):
    """Run every configuration of ``grid`` (a preset's ``sweep``) on the dev split; see the module doc."""
    log = log or (lambda *_: None)
    grid = check_sweep(grid)                                          # ConfigError before anything is written
    check_dev_split(setup.dev_texts, min_documents, setup.language)
    version, inputs = code_version(), inputs_version(setup, setup.dev_texts)
    done = {}
    if out_csv is not None and Path(out_csv).exists():
        old = read_sweep(out_csv)
        for rec in old.to_dict(orient="records"):
            if rec["code_version"] == version and rec["inputs"] == inputs:
                done[(rec["method"], rec["options"])] = rec
    dev_setup = replace(setup, heldout_texts=list(setup.dev_texts))
    rows: list[dict] = []
    for method, configs in grid.items():
        for i, config in enumerate(configs):
            key = options_key(config)
            if (method, key) in done:
                rows.append({**done[(method, key)], "config": i})
                log(f"{method:<10} {key}: in {Path(out_csv).name} already, skipped")
                continue
            if ref is None:
                ref = english_reference(setup.model, setup.base_tokenizer, setup.english_texts, setup.extended_tokenizer)
            t0 = time.perf_counter()
            rec = run_method(dev_setup, method, ref, write=False, **config)
            rows.append({"method": method, "config": i, "options": key, "dev_bpb": rec["heldout_bpb"],
                         "english_kl": rec["english_kl"], "chosen": False, "dev_documents": rec["heldout_documents"],
                         "seconds": round(time.perf_counter() - t0, 2), "code_version": version, "inputs": inputs})
            log(f"{method:<10} {key}: dev bpb {rec['heldout_bpb']:.4f}  KL {rec['english_kl']:.4f}")
            if out_csv is not None:
                write_csv(out_csv, _frame(rows, grid))
    frame = _frame(rows, grid)
    if out_csv is not None:
        write_csv(out_csv, frame)
    return frame


def chosen_options(frame, method: str) -> dict[str, Any]:
    """The options of ``method``'s chosen row (DataError when the sweep has none)."""
    rows = frame[(frame["method"] == method) & frame["chosen"].astype(bool)]
    if rows.empty:
        raise DataError(f"the dev sweep has no chosen configuration of {method!r}: add {method} to the preset's "
                        "[sweep] and rerun 03_anchored_initialization")
    return json.loads(rows.iloc[0]["options"])


def resolve_labels(preset, labels: Sequence[str], sweep_csv: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """``{label: {"method": m, **options}}`` for every variant and derived label among ``labels`` (plain
    initializers are left out; step 0 runs them by name). ``sweep.csv`` is read only when a label needs it."""
    cache: dict[str, Any] = {}

    def sweep():
        if "frame" not in cache:
            if sweep_csv is None:
                raise ConfigError("sweep_csv", None, "pass the dev sweep's CSV (ModelLayout.sweep_csv) for @dev labels")
            cache["frame"] = read_sweep(sweep_csv)
        return cache["frame"]

    def weight() -> float:
        value = preset.initialization.blend_weight
        if isinstance(value, (int, float)):
            return float(value)
        base = parse_label(value).base
        return float(chosen_options(sweep(), base).get("subtoken_weight", initializer(base).options["subtoken_weight"]))

    def spec(text: str) -> dict[str, Any]:
        label = parse_label(text)
        if label.blend:
            inner = spec(label.inner)
            method = inner.pop("method")
            if "subtoken_weight" in initializer(method).options:
                inner["subtoken_weight"] = 0.0                       # the blend supplies the fvt share
            return {"method": BLEND_METHOD, "with_method": method, "with_options": inner, "weight": weight()}
        if label.dev:
            return {"method": label.base, **chosen_options(sweep(), label.base)}
        return dict(preset.variants.get(text, {"method": text}))

    return {text: spec(text) for text in labels
            if text in preset.variants or parse_label(text).blend or parse_label(text).dev}


__all__ = ["COLUMNS", "dev_sweep", "choose", "read_sweep", "chosen_options", "resolve_labels", "check_dev_split",
           "code_version", "inputs_version"]
