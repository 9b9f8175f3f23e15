"""The CLO tables over seeds (paper_utils.clo_report): the tested delta is the reported number's difference, base
pairs with every seed, the seed summary counts what the per-seed tests say, and the files are all-or-nothing."""
from __future__ import annotations

import math
import random

import pytest

from paper_utils.errors import ConfigError

WORDS = "el gato come pescado la casa es grande un perro corre rapido hoy llueve mucho".split()
N = 24


def _scores(variant: str, seed: int, quality: float, rng_seed: int) -> dict:
    """A scores.json as notebook 09 writes it; ``quality`` in [0, 1] sets how often an answer equals its reference."""
    from paper_utils.evaluate.clo import chrf_stats
    from paper_utils.stats import corpus_score

    rng = random.Random(rng_seed)
    refs = [" ".join(rng.sample(WORDS, 4)) for _ in range(N)]
    hyps = [r if rng.random() < quality else " ".join(rng.sample(WORDS, 3)) for r in refs]
    en_refs = [" ".join(rng.sample(WORDS, 3)) for _ in range(N)]
    en_hyps = [r if rng.random() < 0.5 else "no" for r in en_refs]
    flags = [int(rng.random() < quality) for _ in range(N)]
    mmlu = [int(rng.random() < 0.3) for _ in range(N)]
    cloze = [int(rng.random() < 0.3) for _ in range(N)]
    bits = [rng.uniform(100, 200) * (1.2 - 0.2 * quality) for _ in range(N)]
    nbytes = [80 + (7 * i) % 41 for i in range(N)]           # the same English documents for every run
    t_stats, e_stats = chrf_stats(hyps, refs), chrf_stats(en_hyps, en_refs)
    exact = [int(h == r) for h, r in zip(en_hyps, en_refs)]
    return {"method": variant, "seed": seed, "record_ids": [f"r{i}" for i in range(N)],
            "target": {"n": N, "target_rate": sum(flags) / N, "chrf++": corpus_score(t_stats, "chrf++")},
            "english": {"n": N, "chrf++": corpus_score(e_stats, "chrf++"), "exact_match": sum(exact) / N},
            "retention": {"mmlu": {"accuracy": sum(mmlu) / N}, "mmlu_cloze": {"accuracy": sum(cloze) / N},
                          "english_bpb": {"bpb": sum(bits) / sum(nbytes)}},
            "items": {"target_language": flags, "target_chrf_stats": t_stats, "english_chrf_stats": e_stats,
                      "english_exact": exact, "mmlu_correct": mmlu, "mmlu_cloze_correct": cloze,
                      "english_bpb_bits": bits, "english_bpb_bytes": nbytes}}


def _runs() -> dict:
    runs = {("base", 0): _scores("base", 0, 0.3, 1)}
    for seed in (0, 1):
        runs["clo", seed] = _scores("clo", seed, 0.2, 10 + seed)
        runs["sft_target_1x", seed] = _scores("sft_target_1x", seed, 0.9, 20 + seed)
    return runs


def test_the_tested_delta_is_the_reported_numbers_difference_and_base_pairs_with_every_seed():
    from paper_utils.clo_report import COLUMNS, paired_tests, runs_table

    runs = _runs()
    table = runs_table(runs).set_index(["variant", "seed"])
    tests = paired_tests(runs, "clo", n_samples=500, ci_samples=0)
    assert len(tests) == 2 * 2 * len(COLUMNS)          # (base, sft) x 2 reference seeds x every measure
    for row in tests.itertuples():
        reported = table.loc[(row.variant, row.row_seed), row.measure] - table.loc[("clo", row.seed), row.measure]
        assert row.delta == pytest.approx(reported, abs=1e-9), (row.variant, row.measure)
    base = tests[tests.variant == "base"]
    assert sorted(set(base.seed)) == [0, 1] and set(base.row_seed) == {0}     # base's one run, at both seeds
    assert (tests.p_holm >= tests.p - 1e-12).all()
    bpb = tests[tests.measure == "English bpb"]
    assert set(bpb.statistic) == {"corpus_bpb"}
    assert set(tests[tests.measure == "target chrF++"].statistic) == {"corpus_chrf2++"}


def test_seed_summary_counts_what_the_per_seed_tests_say():
    import pandas as pd

    from paper_utils.clo_report import better, seed_summary

    tests = pd.DataFrame([
        {"measure": "target chrF++", "variant": "sft", "seed": 0, "delta": 12.0, "p_holm": 0.001},
        {"measure": "target chrF++", "variant": "sft", "seed": 1, "delta": 3.0, "p_holm": 0.40},
        {"measure": "target chrF++", "variant": "sft", "seed": 2, "delta": -1.0, "p_holm": 0.01},
        {"measure": "English bpb", "variant": "sft", "seed": 0, "delta": -0.02, "p_holm": 0.001},
        {"measure": "English bpb", "variant": "sft", "seed": 1, "delta": -0.01, "p_holm": 0.01}])
    tests["row_seed"], tests["test"] = tests["seed"], "mcnemar_exact"
    summary = seed_summary(tests).set_index("measure")
    chrf, bpb = summary.loc["target chrF++"], summary.loc["English bpb"]
    assert chrf.mean_delta == pytest.approx(14.0 / 3) and not chrf.same_sign
    assert (chrf.seeds_significant_for_row, chrf.seeds_significant_against_row) == (1, 1)
    assert chrf.p_over_seeds == pytest.approx(0.5)         # exact sign flip over 3 seeds: |mean| reached by 4 of 8
    assert bpb.same_sign and bpb.seeds_significant_for_row == 2          # lower bpb is the row's favour
    assert bpb.p_over_seeds == pytest.approx(0.5)          # two seeds: 2 / 2^2 is the smallest p there is
    assert better("English bpb", -0.1) and not better("MMLU letter", -0.1)
    with pytest.raises(ConfigError, match="column"):
        better("BLEU", 1.0)


def test_spread_over_seeds():
    from paper_utils.clo_report import spread_table

    spread = spread_table(_runs()).set_index(["variant", "measure"])
    row = spread.loc[("sft_target_1x", "target rate")]
    values = [_runs()["sft_target_1x", s]["target"]["target_rate"] for s in (0, 1)]
    assert row.n == 2 and row.seeds == "0 1" and row["mean"] == pytest.approx(sum(values) / 2)
    assert row.sd == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
    assert spread.loc[("base", "English bpb")].n == 1 and math.isnan(spread.loc[("base", "English bpb")].sd)


def test_write_report_writes_four_tables_or_nothing(tmp_path, monkeypatch):
    from paper_utils.clo_report import REPORTS, write_report
    from paper_utils.config import load_preset
    from paper_utils.io import write_json
    from paper_utils.layout import clo_dir, clo_report_csv

    monkeypatch.setenv("PAPER_UTILS_RESULTS", str(tmp_path))
    cfg = load_preset("smoke", **{"grid.recipes": ["staged", "clo"],
                                  "clo": {"variants": ["clo", "sft_target_1x", "base"], "seeds": [0, 1],
                                          "pairs": 6}})
    language, model = next((r.language, r.model) for r in cfg.clo_runs())
    for (variant, seed), scores in _runs().items():
        if variant != "clo":
            write_json(clo_dir(cfg.name, language, model, variant, seed) / "scores.json", scores)
    with pytest.raises(ConfigError, match="reference"):      # no clo run scored yet: refused, nothing written
        write_report(cfg, language, model, n_samples=200)
    assert not any(clo_report_csv(cfg.name, language, model, name).exists() for name in REPORTS)
    for seed in (0, 1):
        write_json(clo_dir(cfg.name, language, model, "clo", seed) / "scores.json", _runs()["clo", seed])
    paths = write_report(cfg, language, model, n_samples=200)
    assert sorted(paths) == sorted(REPORTS) and all(p.exists() for p in paths.values())
    with pytest.raises(ConfigError, match="language"):
        write_report(cfg, "xx", model)


def test_untested_numbers_are_listed_and_the_spread_counts_only_scored_seeds():
    """A run without a reference at its seed, and a measure without per-item lists, get "not tested" rows outside
    Holm; the spread of a measure lists only the seeds that scored it; one seed has no sign agreement."""
    from paper_utils.clo_report import NOT_TESTED, paired_tests, seed_summary, spread_table

    runs = _runs()
    runs["sft_target_1x", 2] = _scores("sft_target_1x", 2, 0.9, 22)          # no clo run at seed 2
    del runs["sft_target_1x", 1]["items"]["mmlu_correct"]                    # MMLU letter not scored per item
    runs["sft_target_1x", 1]["retention"]["mmlu"]["accuracy"] = None
    tests = paired_tests(runs, "clo", n_samples=200, ci_samples=0)
    untested = tests[tests.test.str.startswith(NOT_TESTED)]
    seed2 = untested[untested.seed == 2]
    assert len(seed2) == 7 and set(seed2.test) == {NOT_TESTED + "no clo run at seed 2"}
    mmlu = untested[(untested.seed == 1) & (untested.measure == "MMLU letter")]
    assert list(mmlu.variant) == ["sft_target_1x"] and mmlu.p_holm.isna().all()
    tested = tests[~tests.test.str.startswith(NOT_TESTED)]
    assert tested.p_holm.notna().all() and len(tested) == 2 * 2 * 7 - 1
    spread = spread_table(runs).set_index(["variant", "measure"])
    assert spread.loc[("sft_target_1x", "MMLU letter")].seeds == "0 2"
    assert spread.loc[("sft_target_1x", "target rate")].seeds == "0 1 2"
    summary = seed_summary(tests).set_index(["variant", "measure"])
    assert summary.loc[("sft_target_1x", "MMLU letter")].seeds == "0"
    assert math.isnan(summary.loc[("sft_target_1x", "MMLU letter")].same_sign)
    assert summary.loc[("base", "target rate")].row_runs == 1 and summary.loc[("base", "target rate")].seeds == "0 1"
