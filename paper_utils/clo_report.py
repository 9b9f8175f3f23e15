"""The CLO comparison over seeds: every run's numbers, their spread over seeds, and paired tests per seed.

Example::

    >>> better("English bpb", -0.01), better("target chrF++", -2.0)
    (True, False)

A run is ``(variant, seed)`` of ``[clo]`` (:mod:`paper_utils.clo_grid`), scored by notebook 09
(``scores.json``, :func:`paper_utils.evaluate.clo.read_scores`); missing runs are skipped, so the tables grow as runs
finish. :data:`MEASURES` are the columns of the README table. Four tables:

* :func:`runs_table`: one row per run, the table's numbers;
* :func:`spread_table`: per variant and measure, mean, sd (ddof 1), min and max over the seeds that finished;
* :func:`paired_tests`: each variant against ``reference`` (``clo``) **at the same seed**, on the same held-out items
  and on the number the table reports (:func:`paper_utils.evaluate.clo.compare_clo_runs`: McNemar for 0/1 items,
  approximate randomization of corpus chrF++ and of corpus bits per byte), Holm-corrected over the whole table.
  ``base`` does not train, so its one run (greedy decoding, fixed items: the same at any seed) is paired with the
  reference of every seed; ``row_seed`` says which run was used;
* :func:`seed_summary`: per variant and measure, the per-seed deltas (row minus reference), their mean and sd, how
  many seeds are significant (Holm p < ``alpha``) in the row's favour and against it, and an exact sign-flip test
  over seeds of the mean delta (``p_over_seeds``; with n seeds its smallest value is 2 / 2^n, so 2 seeds can never
  reach 0.05: the per-seed tests carry the evidence, the spread says whether it repeats).

:func:`write_report` writes the four tables as CSV (:func:`paper_utils.layout.clo_report_csv`), all or none.
A number :func:`runs_table` shows that cannot be tested (no reference run at its seed, no per-item lists) gets a
``tests`` row saying so (``test`` = ``"not tested: ..."``), outside the Holm family.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

from .clo_grid import variant_of
from .config import Preset
from .errors import ConfigError
from .layout import CLO_REPORTS as REPORTS, clo_dir, clo_report_csv

# (column, compare_clo_runs measure, value in scores.json, lower is better)
MEASURES: tuple[tuple[str, str, Callable[[dict], Any], bool], ...] = (
    ("target rate", "target_language", lambda s: s["target"]["target_rate"], False),
    ("target chrF++", "target_chrf", lambda s: s["target"]["chrf++"], False),
    ("English chrF++", "english_chrf", lambda s: s["english"]["chrf++"], False),
    ("English exact", "english_exact", lambda s: s["english"]["exact_match"], False),
    ("MMLU letter", "mmlu_correct", lambda s: s["retention"]["mmlu"]["accuracy"], False),
    ("MMLU cloze", "mmlu_cloze_correct", lambda s: s["retention"]["mmlu_cloze"]["accuracy"], False),
    ("English bpb", "english_bpb", lambda s: s["retention"]["english_bpb"]["bpb"], True),
)
COLUMNS = tuple(m[0] for m in MEASURES)
LOWER_IS_BETTER = {m[0]: m[3] for m in MEASURES}


def better(column: str, delta: float) -> bool:
    """Whether ``delta`` (row minus reference) of ``column`` is in the row's favour."""
    if column not in LOWER_IS_BETTER:
        raise ConfigError("column", column, f"use one of: {', '.join(COLUMNS)}")
    return delta < 0 if LOWER_IS_BETTER[column] else delta > 0


def _value(scores: dict, getter: Callable[[dict], Any]) -> float:
    try:
        value = getter(scores)
    except (KeyError, TypeError):
        return math.nan
    return math.nan if value is None else float(value)


def find_runs(cfg: Preset, language: str, model: str) -> dict[tuple[str, int], dict]:
    """``{(variant, seed): scores}`` of every scored run of the preset's CLO runs (:meth:`Preset.clo_runs`) for
    ``language`` / ``model``."""
    from .evaluate.clo import read_scores

    grid = list(cfg.clo_runs())
    if language not in {r.language for r in grid}:
        raise ConfigError("language", language, f"use a language of the CLO runs: "
                          f"{', '.join(sorted({r.language for r in grid})) or 'none ([clo] variants is empty)'}")
    mine = [r for r in grid if r.language == language]
    if model not in {r.model for r in mine}:
        raise ConfigError("model", model, f"use a model of the CLO runs: {', '.join(sorted({r.model for r in mine}))}")
    return {(r.method, r.seed): read_scores(cfg, language, model, r.method, r.seed) for r in mine
            if r.model == model and (clo_dir(cfg.name, language, model, r.method, r.seed) / "scores.json").exists()}


def runs_table(runs: dict[tuple[str, int], dict]):
    """One row per run: variant, seed and :data:`COLUMNS`."""
    import pandas as pd

    rows = [{"variant": v, "seed": s, **{col: _value(sc, get) for col, _, get, _ in MEASURES}}
            for (v, s), sc in sorted(runs.items())]
    return pd.DataFrame(rows, columns=["variant", "seed", *COLUMNS])


def spread_table(runs: dict[tuple[str, int], dict]):
    """Per variant and measure: the seeds that scored it, n, mean, sd (ddof 1; NaN with one seed), min, max."""
    import pandas as pd

    from .stats.convergence import seed_spread

    rows = []
    for variant in dict.fromkeys(v for v, _ in sorted(runs)):
        seeds = sorted(s for v, s in runs if v == variant)
        for col, _, get, _ in MEASURES:
            values = {s: _value(runs[variant, s], get) for s in seeds}
            scored = [s for s in seeds if not math.isnan(values[s])]
            rows.append({"variant": variant, "measure": col, "seeds": " ".join(map(str, scored)),
                         **seed_spread([values[s] for s in scored])})
    return pd.DataFrame(rows, columns=["variant", "measure", "seeds", "n", "mean", "sd", "min", "max"])


def _partner(runs: dict[tuple[str, int], dict], variant: str, seed: int) -> tuple[dict, int] | None:
    """The run of ``variant`` to pair with the reference at ``seed``: the same seed, or (untrained ``base``) its
    lowest-seed run."""
    if (variant, seed) in runs:
        return runs[variant, seed], seed
    if variant_of(variant)[0] == "base":
        seeds = sorted(s for v, s in runs if v == variant)
        if seeds:
            return runs[variant, seeds[0]], seeds[0]
    return None


TEST_COLUMNS = ("measure", "reference", "variant", "seed", "row_seed", "delta", "ci_low", "ci_high", "p", "p_holm",
                "test", "statistic", "n")
NOT_TESTED = "not tested: "             # the start of ``test`` in a row that could not be tested (the reason follows)


def paired_tests(runs: dict[tuple[str, int], dict], reference: str = "clo", *, ci_samples: int = 1000,
                 n_samples: int = 10000):
    """Each variant against ``reference`` at every seed the reference has, every measure both runs scored per item;
    Holm over the tests.

    ``delta`` is row minus reference (the README's sign), on the number :func:`runs_table` shows. A run or a measure
    that cannot be tested gets a row all the same, with NaN numbers and ``test`` = ``"not tested: <why>"`` (no
    reference run at its seed; no per-item lists: retention off, no language identifier), outside the Holm family,
    so no number of :func:`runs_table` goes untested without a word."""
    import pandas as pd

    from .evaluate.clo import compare_clo_runs, has_items
    from .stats import correct

    ref_seeds = sorted(s for v, s in runs if v == reference)
    if not ref_seeds:
        raise ConfigError("reference", reference, f"no scored run of it: finish one, or use one of "
                          f"{', '.join(sorted({v for v, _ in runs})) or 'the scored variants (none yet)'}")
    results, where, untested = [], [], []
    for seed in ref_seeds:
        for variant in dict.fromkeys(v for v, _ in sorted(runs)):
            found = _partner(runs, variant, seed) if variant != reference else None
            if found is None:
                continue
            row, row_seed = found
            for col, measure, _, _ in MEASURES:
                if not (has_items(runs[reference, seed], measure) and has_items(row, measure)):
                    untested.append((col, variant, seed, row_seed, "no per-item lists in one of the two runs"))
                    continue
                result = compare_clo_runs(runs[reference, seed], row, measure, n_samples=n_samples,
                                          ci_samples=ci_samples)
                results.append(result)
                where.append((col, variant, seed, row_seed))
    for variant, seed in sorted(runs):
        if variant != reference and seed not in ref_seeds and variant_of(variant)[0] != "base":
            untested += [(col, variant, seed, seed, f"no {reference} run at seed {seed}") for col in COLUMNS]
    results = correct(results, "holm") if results else []
    rows = [{"measure": col, "reference": reference, "variant": variant, "seed": seed, "row_seed": row_seed,
             "delta": r.delta, "ci_low": r.ci_low, "ci_high": r.ci_high, "p": r.p_value, "p_holm": r.p_adjusted,
             "test": r.test, "statistic": r.statistic, "n": r.n}
            for (col, variant, seed, row_seed), r in zip(where, results)]
    rows += [{"measure": col, "reference": reference, "variant": variant, "seed": seed, "row_seed": row_seed,
              "delta": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p": math.nan, "p_holm": math.nan,
              "test": NOT_TESTED + why, "statistic": "", "n": 0} for col, variant, seed, row_seed, why in untested]
    return pd.DataFrame(rows, columns=list(TEST_COLUMNS))


def seed_summary(tests, alpha: float = 0.05):
    """Per variant and measure over the seeds of :func:`paired_tests` (tested rows only): deltas, their mean / sd,
    significant seeds each way, the sign agreement (NaN with one seed) and an exact sign-flip test of the mean delta
    over seeds. ``row_runs`` counts the row's distinct runs: ``base`` has one, paired with every reference seed, so
    its spread over seeds is the reference's alone."""
    import numpy as np
    import pandas as pd

    from .stats import paired_permutation

    rows = []
    tested = tests[~tests["test"].astype(str).str.startswith(NOT_TESTED)]
    for (variant, col), group in tested.groupby(["variant", "measure"], sort=False):
        deltas = group["delta"].to_numpy(dtype=float)
        wins = int(sum(better(col, d) and p < alpha for d, p in zip(deltas, group["p_holm"])))
        losses = int(sum(not better(col, d) and d != 0 and p < alpha for d, p in zip(deltas, group["p_holm"])))
        p_seeds = (paired_permutation(np.zeros_like(deltas), deltas, ci_samples=0, label=col).p_value
                   if len(deltas) >= 2 else math.nan)
        rows.append({"variant": variant, "measure": col, "seeds": " ".join(map(str, group["seed"])),
                     "deltas": " ".join(f"{d:+.4g}" for d in deltas), "mean_delta": float(deltas.mean()),
                     "sd_delta": float(deltas.std(ddof=1)) if len(deltas) > 1 else math.nan,
                     "same_sign": bool(np.all(deltas > 0) or np.all(deltas < 0)) if len(deltas) > 1 else math.nan,
                     "row_runs": int(group["row_seed"].nunique()),
                     "seeds_significant_for_row": wins, "seeds_significant_against_row": losses,
                     "p_over_seeds": p_seeds})
    return pd.DataFrame(rows, columns=["variant", "measure", "seeds", "deltas", "mean_delta", "sd_delta", "same_sign",
                                       "row_runs", "seeds_significant_for_row", "seeds_significant_against_row",
                                       "p_over_seeds"])


def write_report(cfg: Preset, language: str, model: str, reference: str = "clo", *, n_samples: int = 10000,
                 ci_samples: int = 1000) -> dict[str, Path]:
    """Compute the four tables from the scored runs and write them (``clo/<name>.csv``); ``{name: path}``.

    Every table is computed before any file is written, so a refusal leaves the previous files as they were; the
    four are written to temporary files and renamed into place together at the end."""
    from contextlib import ExitStack

    from .io import atomic_path

    runs = find_runs(cfg, language, model)
    tests = paired_tests(runs, reference, n_samples=n_samples, ci_samples=ci_samples)
    frames = {"runs": runs_table(runs), "seed_spread": spread_table(runs), "tests": tests,
              "seed_summary": seed_summary(tests)}
    paths = {name: clo_report_csv(cfg.name, language, model, name) for name in frames}
    with ExitStack() as stack:
        for name, frame in frames.items():
            frame.to_csv(stack.enter_context(atomic_path(paths[name])), index=False)
    return paths


__all__ = ["MEASURES", "COLUMNS", "LOWER_IS_BETTER", "REPORTS", "TEST_COLUMNS", "NOT_TESTED", "better", "find_runs",
           "runs_table", "spread_table", "paired_tests", "seed_summary", "write_report"]
