"""Convergence of held-out curves (issue 15): steps to the base model's bpb, area under the curve, seed spread,
the paired tests' ``statistic`` column, the seed-band figure, and the preset keys behind them (fast tier:
synthetic curves and synthetic stage-04 logs only)."""
import math

import pytest

from paper_utils import stats
from paper_utils.config import load_preset
from paper_utils.convergence import convergence_rows, curve_table, run_table, seed_table, write_synthetic_runs
from paper_utils.errors import ConfigError, DataError
from paper_utils.eval_steps import compared_step, logged_steps


@pytest.fixture
def results_root(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


# ---- one curve -----------------------------------------------------------------------------------------------

def test_steps_to_reach_is_the_first_logged_step_at_or_below_the_level():
    steps, bpb = [0, 25, 50, 75, 100], [4.0, 3.7, 3.5, 3.6, 3.4]
    assert stats.steps_to_reach(steps, bpb, 3.5) == 50           # "at or below": equality counts
    assert stats.steps_to_reach(steps, bpb, 3.55) == 50          # the later rise does not matter
    assert stats.steps_to_reach(steps, bpb, 4.0) == 0            # the patched model starts there
    assert stats.steps_to_reach(steps, bpb, 3.0) is None         # never reached
    assert stats.steps_to_reach(steps, bpb, None) is None
    m = stats.curve_metrics(steps, bpb, base_bpb=3.0)
    assert m["steps_to_base_bpb"] is None and m["reached_base"] is False and m["final_bpb"] == 3.4
    assert stats.curve_metrics(steps, bpb, base_bpb=3.65)["reached_base"] is True


def test_area_under_curve_by_hand():
    # trapezoids: (4+3)/2*10 + (3+2.5)/2*20 + (2.5+2.5)/2*10 = 35 + 55 + 25 = 115 over a span of 40
    assert stats.area_under_curve([0, 10, 30, 40], [4.0, 3.0, 2.5, 2.5]) == pytest.approx(115 / 40)
    assert stats.area_under_curve([5, 15], [3.0, 3.0]) == pytest.approx(3.0)          # flat: its level
    assert stats.area_under_curve([0], [3.3]) == 3.3                                   # one point: its bpb
    with pytest.raises(DataError, match="increase strictly"):
        stats.area_under_curve([0, 10, 10], [4.0, 3.0, 2.0])
    with pytest.raises(DataError, match="as many steps"):
        stats.area_under_curve([0, 10], [4.0])


def test_seed_spread_mean_sd_min_max():
    s = stats.seed_spread([3.1, 3.3, 3.2])
    assert (s["n"], s["min"], s["max"]) == (3, 3.1, 3.3)
    assert s["mean"] == pytest.approx(3.2) and s["sd"] == pytest.approx(0.1)
    one = stats.seed_spread([3.1, None])                              # a run that never reached: left out
    assert one["n"] == 1 and one["mean"] == 3.1 and math.isnan(one["sd"])
    assert stats.seed_spread([])["n"] == 0 and math.isnan(stats.seed_spread([])["mean"])


# ---- paired tests ---------------------------------------------------------------------------------------------

def test_paired_tests_name_their_statistic():
    auc = stats.compare_auc([3.5, 3.6, 3.4], [3.3, 3.5, 3.2], method_a="fvt", method_b="bxod", ci_samples=0)
    assert (auc.statistic, auc.test, auc.n) == ("auc_heldout_bpb", "paired_permutation_exact", 3)
    assert auc.delta == pytest.approx(-0.5 / 3) and auc.p_value == 0.25        # 3 seeds: 2/8 at best
    assert not auc.primary                                                      # outside the Holm family
    at = stats.compare_at_step([[30.0, 40.0, 50.0]], [[20.0, 30.0, 40.0]], [10, 10, 10], step=150,
                               n_samples=200, ci_samples=0, method_a="fvt", method_b="bxod")
    assert (at.statistic, at.metric, at.n) == ("corpus_bpb_at_step", "heldout bpb @ step 150", 3)
    assert at.delta == pytest.approx(-1.0) and at.primary
    with pytest.raises(DataError, match="at least 2"):
        stats.compare_auc([3.5], [3.4])
    with pytest.raises(DataError, match="same seeds"):
        stats.compare_at_step([[1.0, 2.0]], [[1.0, 2.0], [1.0, 2.0]], [10, 10], step=1)


def test_runs_tables_and_rows_from_synthetic_logs(results_root):
    cfg = load_preset("smoke", **{"grid.adapt_methods": ["fvt", "bxod"]})
    write_synthetic_runs(cfg.name, "uz", "smollm2-135m", {"fvt": [0, 1, 2], "bxod": [0, 1, 2]},
                         steps=logged_steps(2, 2))
    runs = run_table(cfg.name, "uz", "smollm2-135m", cfg.grid.adapt_methods)
    assert list(zip(runs["method"], runs["seed"])) == [("fvt", 0), ("fvt", 1), ("fvt", 2),
                                                       ("bxod", 0), ("bxod", 1), ("bxod", 2)]
    spread = seed_table(runs).set_index("method")
    assert spread.loc["fvt", "n_seeds"] == 3 and spread.loc["fvt", "seeds"] == "0 1 2"
    assert spread.loc["bxod", "auc_bpb_mean"] < spread.loc["fvt", "auc_bpb_mean"]
    assert spread.loc["fvt", "auc_bpb_sd"] == pytest.approx(0.02, abs=1e-6)        # seeds 0.02 apart
    rows = convergence_rows(cfg, "uz", "smollm2-135m", n_samples=200, ci_samples=0)
    assert [(r.method_a, r.method_b, r.statistic) for r in rows] == [("fvt", "bxod", "auc_heldout_bpb"),
                                                                    ("fvt", "bxod", "corpus_bpb_at_step")]
    assert rows[1].metric == f"heldout bpb @ step {compared_step(2, 2)}" and rows[1].delta < 0


def test_rows_skip_what_the_logs_cannot_support(results_root):
    cfg = load_preset("smoke", **{"grid.adapt_methods": ["fvt", "bxod"]})
    write_synthetic_runs(cfg.name, "uz", "smollm2-135m", {"fvt": [0], "bxod": [0]}, steps=(0, 1, 3, 4))
    notes = []
    assert convergence_rows(cfg, "uz", "smollm2-135m", n_samples=100, ci_samples=0, log=notes.append) == []
    assert "1 shared seed" in notes[0] and "no test at step 2" in notes[1]      # one seed; step 2 never logged


def test_stage06_adds_the_curve_rows_and_corrects_only_the_primary_one(results_root):
    from paper_utils.evaluate.significance import significance_rows

    cfg = load_preset("smoke", **{"grid.adapt_methods": ["fvt", "bxod"], "evaluation.bootstrap_samples": 50})
    write_synthetic_runs(cfg.name, "uz", "smollm2-135m", {"fvt": [0, 1], "bxod": [0, 1]}, steps=logged_steps(2, 2))
    rows = {r.statistic: r for _, _, r in significance_rows(cfg)}
    assert set(rows) == {"auc_heldout_bpb", "corpus_bpb_at_step"}
    assert math.isnan(rows["auc_heldout_bpb"].p_adjusted) and not math.isnan(rows["corpus_bpb_at_step"].p_adjusted)


# ---- the figure -----------------------------------------------------------------------------------------------

def test_convergence_figure_writes_a_png_and_notes_missing_runs(results_root):
    from paper_utils.figures import figure_convergence

    cfg = load_preset("smoke")                                   # adapts fvt, bxod and bxod_sub75
    write_synthetic_runs(cfg.name, "uz", "smollm2-135m", {"fvt": [0, 1, 2], "bxod": [0, 1, 2]})
    notes = []
    made = figure_convergence(cfg, log=notes.append)
    png = [p for p in made["convergence__uz__smollm2-135m"] if p.suffix == ".png"]
    assert png and png[0].stat().st_size > 1000 and png[0].read_bytes()[:4] == b"\x89PNG"
    assert notes == ["convergence figure uz x smollm2-135m: no finished run of bxod_sub75, drawn without"]
    assert set(curve_table(cfg.name, "uz", "smollm2-135m")["method"]) == {"fvt", "bxod"}
    sd = figure_convergence(cfg, band="sd", log=notes.append)
    assert sd.keys() == made.keys()
    with pytest.raises(ConfigError, match="minmax"):
        figure_convergence(cfg, band="iqr")


def test_convergence_figure_skips_a_model_without_runs(results_root):
    from paper_utils.figures import figure_convergence

    notes = []
    assert figure_convergence(load_preset("smoke"), log=notes.append) == {}
    assert notes == ["convergence figure uz x smollm2-135m: no finished stage-04 run yet, skipped"]


# ---- the preset keys ------------------------------------------------------------------------------------------

def test_seed_groups_give_some_pairs_more_seeds():
    cfg = load_preset("demo-full")
    assert cfg.grid.seeds_for("uz", "smollm2-135m") == (0, 1, 2) == cfg.grid.seeds_for("ms", "smollm2-135m")
    assert cfg.grid.seeds_for("ko", "smollm2-135m") == (0,) == cfg.grid.seeds_for("uz", "gemma3-270m")
    runs = list(cfg.runs())
    assert {r.seed for r in runs if (r.language, r.model) == ("ms", "smollm2-135m") and r.method == "bxod"} == {0, 1, 2}
    assert len(runs) == 2 * 3 * 3 + 6 * 3 and cfg.grid.all_seeds == (0, 1, 2)
    assert cfg.adaptation.stage1_steps + cfg.adaptation.stage2_steps >= 300


@pytest.mark.parametrize("groups, fragment", [
    ([{"languages": ["ko"], "models": ["smollm2-135m"], "seeds": [0, 1]}], "not in grid.languages"),
    ([{"languages": ["uz"], "models": ["gemma3-270m"], "seeds": [0, 1]}], "not in grid.models"),
    ([{"languages": ["uz"], "models": ["smollm2-135m"], "seeds": []}], "non-empty list of integers"),
    ([{"languages": ["uz"], "models": ["smollm2-135m"], "seeds": [0, 0]}], "duplicates"),
    ([{"languages": ["uz"], "models": ["smollm2-135m"], "seed": [0, 1]}], "unknown key"),
    ([{"languages": ["uz"], "models": ["smollm2-135m"]}], "missing"),
    ([{"languages": ["uz"], "models": ["smollm2-135m"], "seeds": [1]}] * 2, "one group"),
    ({"uz": [0, 1]}, "list of tables"),
])
def test_seed_groups_errors_name_the_key_and_the_fix(groups, fragment):
    with pytest.raises(ConfigError) as err:
        load_preset("smoke", **{"grid.seed_groups": groups})
    assert err.value.parameter.startswith("grid.seed_groups") and fragment in str(err.value)


def test_convergence_step_must_be_a_logged_step():
    assert load_preset("smoke", **{"adaptation.convergence_step": 4}).adaptation.convergence_step == 4
    with pytest.raises(ConfigError, match=r"one of \[0, 25, 50"):
        load_preset("demo-full", **{"adaptation.convergence_step": 140})
    with pytest.raises(ConfigError, match="adaptation.convergence_step"):
        load_preset("smoke", **{"adaptation.convergence_step": "2"})
    with pytest.raises(ConfigError, match="grid.seeds"):
        load_preset("smoke", **{"grid.seeds": [0, 0]})
