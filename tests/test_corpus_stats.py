"""Paired tests on the reported statistic: corpus bits per byte (sum of bits / sum of bytes), resampled as a corpus.

The must-show test builds two systems whose per-document mean bpb and corpus bpb disagree in sign (long documents
better under B, short ones worse) and checks, in the stats package and in both stages that compare bpb (step-0
``init.paired_tests``, stage 06 ``evaluate.significance.compare_runs``), that the ``corpus_bpb`` row reports the
corpus delta and that its interval and p-value are computed on that same statistic. Testing per-document means
while reporting corpus values fails it: the interval would sit on the other side of zero, and the p-value would
differ from a brute-force randomization of corpus values.
"""
import math
import time

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from paper_utils import stats as S
from paper_utils.errors import ConfigError, DataError
from paper_utils.evaluate.significance import compare_runs
from paper_utils.init import paired_tests
from paper_utils.io import read_jsonl, write_jsonl


def disagreeing_systems(seed: int = 0, n_long: int = 40, n_short: int = 60):
    """Per-document (bits_a, bits_b, bytes): B is 10 % better on long documents, 50 % worse on short ones."""
    rng = np.random.default_rng(seed)
    n_bytes = np.concatenate([rng.integers(800, 1200, n_long), rng.integers(10, 30, n_short)]).astype(float)
    bpb_a = rng.uniform(0.9, 1.1, n_long + n_short)
    factor = np.concatenate([rng.normal(0.9, 0.02, n_long), rng.normal(1.5, 0.05, n_short)])
    return bpb_a * n_bytes, bpb_a * factor * n_bytes, n_bytes


def corpus(bits, n_bytes) -> float:
    return float(np.sum(bits) / np.sum(n_bytes))


def brute_force_corpus_ar(bits_a, bits_b, n_bytes, n_samples, ci_samples, seed, confidence=0.95):
    """Reference: a Python loop over trials, each recomputing both corpus values (no matrix tricks)."""
    rng = np.random.default_rng(seed)
    n = len(n_bytes)
    delta = corpus(bits_b, n_bytes) - corpus(bits_a, n_bytes)
    masks = rng.integers(2, size=(n_samples, n), dtype=bool)
    count = 0
    for swap in masks:                                                # swap A and B on the masked documents
        a_star, b_star = np.where(swap, bits_b, bits_a), np.where(swap, bits_a, bits_b)
        count += abs(corpus(b_star, n_bytes) - corpus(a_star, n_bytes)) >= abs(delta) * (1 - 1e-9)
    p = (count + 1) / (n_samples + 1)
    idx = rng.choice(n, size=(ci_samples, n), replace=True)
    deltas = [corpus(bits_b[i], n_bytes[i]) - corpus(bits_a[i], n_bytes[i]) for i in idx]
    lo, hi = np.quantile(deltas, [(1 - confidence) / 2, 1 - (1 - confidence) / 2])
    return delta, p, lo, hi


def check_rows(rows, bits_a, bits_b, n_bytes):
    """The corpus_bpb row reports and tests the corpus delta; the secondary row the per-document mean delta."""
    by_stat = {r.statistic: r for r in rows}
    assert set(by_stat) == {"corpus_bpb", "mean_document_bpb"}
    corpus_delta = corpus(bits_b, n_bytes) - corpus(bits_a, n_bytes)
    mean_delta = float(np.mean(bits_b / n_bytes - bits_a / n_bytes))
    assert corpus_delta < 0 < mean_delta                              # the fixture's premise: opposite signs
    primary, secondary = by_stat["corpus_bpb"], by_stat["mean_document_bpb"]
    assert primary.primary and not secondary.primary
    assert primary.delta == pytest.approx(corpus_delta, abs=1e-12)    # the number the table shows
    assert secondary.delta == pytest.approx(mean_delta, abs=1e-12)
    # the interval of the tested statistic lies on the side of the reported delta, and covers it
    assert primary.ci_low <= primary.delta <= primary.ci_high < 0
    assert 0 < secondary.ci_low <= secondary.delta <= secondary.ci_high
    assert primary.p_value < 0.01
    return primary


# ----------------------------------------------------------------------------------------------------------
# Must show: the reported delta and the tested delta are the same statistic
# ----------------------------------------------------------------------------------------------------------
def test_reported_and_tested_statistic_agree_when_mean_and_corpus_disagree_in_sign():
    bits_a, bits_b, n_bytes = disagreeing_systems()
    rows = S.compare_bpb(bits_a, n_bytes, bits_b, n_bytes, method_a="fvt", method_b="bxod", n_samples=2000,
                         ci_samples=500, seed=7)
    primary = check_rows(rows, bits_a, bits_b, n_bytes)
    assert primary.test == "approximate_randomization" and primary.n == len(n_bytes)
    # p-value and interval equal a brute-force randomization / bootstrap of corpus values (same draws)
    delta, p, lo, hi = brute_force_corpus_ar(bits_a, bits_b, n_bytes, 2000, 500, seed=7)
    assert primary.p_value == pytest.approx(p, abs=1e-15)
    assert (primary.ci_low, primary.ci_high) == pytest.approx((lo, hi), abs=1e-12)


def test_step0_paired_tests_report_and_test_corpus_bpb(tmp_path):
    bits_a, bits_b, n_bytes = disagreeing_systems(seed=1)
    records = {label: {"method": label, "heldout_bpb": corpus(bits, n_bytes), "per_document_bits": bits.tolist(),
                       "per_document_bytes": n_bytes.tolist(), "per_document_bpb": (bits / n_bytes).tolist()}
               for label, bits in (("fvt", bits_a), ("bxod", bits_b))}
    rows = paired_tests(records, reference="bxod", rivals=["fvt"], out_csv=tmp_path / "significance.csv",
                        language="uz", model="m")
    primary = check_rows(rows, bits_a, bits_b, n_bytes)
    # the table's delta (heldout_bpb, reference - rival) is the tested row's delta
    assert primary.delta == pytest.approx(records["bxod"]["heldout_bpb"] - records["fvt"]["heldout_bpb"], abs=1e-12)
    assert primary.p_adjusted == primary.p_value                     # Holm over a family of one primary row
    assert "corpus_bpb,fvt,bxod" in (tmp_path / "significance.csv").read_text()


def test_stage06_compare_runs_report_and_test_corpus_bpb(tmp_path):
    bits_a, bits_b, n_bytes = disagreeing_systems(seed=2)
    for label, bits in (("base", bits_a), ("fvt", bits_b)):
        (tmp_path / label).mkdir()
        write_jsonl(tmp_path / label / "bpb.jsonl", [{"id": f"doc-{i}", "bits": float(b), "bytes": int(n),
                                                      "bpb": float(b / n)} for i, (b, n) in enumerate(zip(bits, n_bytes))])
    rows = compare_runs(tmp_path / "base", tmp_path / "fvt", "base", "fvt", n_samples=500)
    check_rows(rows, bits_a, bits_b, n_bytes)
    # a bpb.jsonl written with bpb and bytes only (no bits) is read as bits = bpb * bytes: same rows
    for label in ("base", "fvt"):
        recs = [{k: v for k, v in r.items() if k != "bits"} for r in read_jsonl(tmp_path / label / "bpb.jsonl")]
        write_jsonl(tmp_path / label / "bpb.jsonl", recs)
    again = compare_runs(tmp_path / "base", tmp_path / "fvt", "base", "fvt", n_samples=500)
    assert [r.statistic for r in again] == [r.statistic for r in rows]
    assert all(math.isclose(a.delta, b.delta, abs_tol=1e-12) for a, b in zip(again, rows))
    write_jsonl(tmp_path / "fvt" / "bpb.jsonl", [{"id": f"doc-{i}", "bpb": 1.0} for i in range(len(n_bytes))])
    with pytest.raises(DataError, match="rerun stage 05"):
        compare_runs(tmp_path / "base", tmp_path / "fvt", "base", "fvt", n_samples=50)


def test_stage06_tests_translation_only_between_runs_prompted_the_same_way(tmp_path):
    from paper_utils.io import write_json

    for label, hyp in (("base", "Saqlash"), ("sibling", "Saqla")):
        (tmp_path / label).mkdir()
        write_jsonl(tmp_path / label / "translation_en-uz.jsonl",
                    [{"id": str(i), "reference": "Saqlash", "hypothesis": hyp} for i in range(6)])
    rows = compare_runs(tmp_path / "base", tmp_path / "sibling", "base", "sibling", n_samples=50)
    assert {r.metric for r in rows} == {"chrF2++ en-uz", "BLEU en-uz"}          # no scores.json: both 5-shot
    write_json(tmp_path / "sibling" / "scores.json", {"tasks": {"translation": {"en-uz": {"style": "instruction"}}}})
    assert compare_runs(tmp_path / "base", tmp_path / "sibling", "base", "sibling", n_samples=50) == []


# ----------------------------------------------------------------------------------------------------------
# Behaviour of the test: interval, null distribution, power, speed
# ----------------------------------------------------------------------------------------------------------
def test_bootstrap_interval_covers_the_point_estimate():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        n_bytes = rng.integers(5, 500, 150).astype(float)
        bits_a = rng.gamma(4.0, 0.3, 150) * n_bytes
        bits_b = bits_a * rng.normal(1.0 + 0.02 * (seed % 3 - 1), 0.1, 150)
        r = S.paired_corpus_ratio(bits_a, n_bytes, bits_b, n_bytes, n_samples=200, ci_samples=1000, seed=seed)
        assert r.ci_low <= r.delta <= r.ci_high, seed


def test_randomization_p_is_uniform_under_the_null():
    """A and B exchangeable document by document: P(p <= alpha) ~ alpha (seeded; tolerances ~3 s.e.)."""
    rng = np.random.default_rng(2024)
    ps = []
    for k in range(400):
        n_bytes = rng.integers(5, 800, 80).astype(float)
        bpb = rng.gamma(5.0, 0.2, 80)                                  # a document's difficulty, shared
        bits_a = bpb * n_bytes * rng.lognormal(0, 0.2, 80)
        bits_b = bpb * n_bytes * rng.lognormal(0, 0.2, 80)
        ps.append(S.paired_corpus_ratio(bits_a, n_bytes, bits_b, n_bytes, n_samples=400, ci_samples=0,
                                        seed=k).p_value)
    ps = np.array(ps)
    assert 0.02 <= np.mean(ps <= 0.05) <= 0.085
    assert 0.06 <= np.mean(ps <= 0.10) <= 0.145
    assert 0.43 <= np.mean(ps <= 0.50) <= 0.57
    assert sps.kstest(ps, "uniform").statistic < 0.08


def test_large_effect_gives_the_smallest_p_and_identical_systems_p_one():
    rng = np.random.default_rng(5)
    n_bytes = rng.integers(20, 400, 200).astype(float)
    bits_a = rng.uniform(0.8, 1.2, 200) * n_bytes
    r = S.paired_corpus_ratio(bits_a, n_bytes, 0.7 * bits_a, n_bytes, n_samples=1000, ci_samples=200)
    assert r.p_value == 1 / 1001 and r.ci_high < 0
    same = S.paired_corpus_ratio(bits_a, n_bytes, bits_a, n_bytes, n_samples=1000, ci_samples=0)
    assert same.delta == 0 and same.p_value == 1.0


def test_small_samples_count_ties_like_the_exact_test():
    """8 documents, B = 0.9 A everywhere: the only masks as extreme are none and all swapped, p ~ 2/256."""
    n_bytes = np.arange(1, 9) * 10.0
    r = S.paired_corpus_ratio(n_bytes, n_bytes, 0.9 * n_bytes, n_bytes, n_samples=20000, ci_samples=0)
    assert r.p_value == pytest.approx(2 / 256, abs=0.002)


def test_thousands_of_resamples_over_hundreds_of_documents_well_under_a_second():
    rng = np.random.default_rng(0)
    n_bytes = rng.integers(20, 2000, 500).astype(float)
    bits_a = rng.gamma(5, 0.2, 500) * n_bytes
    bits_b = bits_a * rng.normal(0.99, 0.05, 500)
    S.paired_corpus_ratio(bits_a[:10], n_bytes[:10], bits_b[:10], n_bytes[:10], n_samples=10)   # warm up
    t0 = time.perf_counter()
    S.paired_corpus_ratio(bits_a, n_bytes, bits_b, n_bytes, n_samples=10000, ci_samples=1000)
    assert time.perf_counter() - t0 < 1.0


def test_same_seed_same_result():
    bits_a, bits_b, n_bytes = disagreeing_systems(seed=3)
    r1 = S.compare_bpb(bits_a, n_bytes, bits_b, n_bytes, n_samples=300, ci_samples=300, seed=11)
    r2 = S.compare_bpb(bits_a, n_bytes, bits_b, n_bytes, n_samples=300, ci_samples=300, seed=11)
    assert r1 == r2


# ----------------------------------------------------------------------------------------------------------
# Correction over the primary family only; bad input
# ----------------------------------------------------------------------------------------------------------
def test_holm_over_the_primary_rows_only():
    rows = []
    for p, statistic in ((0.01, "corpus_bpb"), (0.001, "mean_document_bpb"), (0.02, "corpus_bleu"),
                         (0.04, "accuracy"), (0.03, "mean_document_bpb")):
        rows.append(S.ComparisonResult("m", "a", "b", 0.1, 0.0, 0.2, p, "t", 10, statistic=statistic))
    out = S.correct_primary(rows, "holm")
    expected = multipletests([0.01, 0.04], method="holm")[1]      # corpus BLEU is secondary beside chrF++ (issue 15)
    assert [r.p_adjusted for r in out if r.primary] == list(expected)
    assert all(math.isnan(r.p_adjusted) for r in out if not r.primary)
    assert [r.statistic for r in out] == [r.statistic for r in rows]
    with pytest.raises(ConfigError, match="holm"):
        S.correct_primary(rows[1:2], "bonferroni")


def test_bad_input_is_refused_with_the_parameter_named():
    n_bytes = [10.0, 20.0, 30.0]
    with pytest.raises(DataError, match="different documents"):
        S.compare_bpb([10, 20, 30], n_bytes, [9, 19, 29], [10.0, 20.0, 31.0])
    with pytest.raises(DataError, match="positive"):
        S.paired_corpus_ratio([1, 2, 3], [10, 0, 30], [1, 2, 3], [10, 0, 30])
    with pytest.raises(DataError, match="same items"):
        S.paired_corpus_ratio([1, 2, 3], n_bytes, [1, 2], n_bytes[:2])
    with pytest.raises(DataError, match="equal length"):
        S.paired_corpus_ratio([1, 2], n_bytes, [1, 2, 3], n_bytes)
    with pytest.raises(DataError, match="NaN"):
        S.paired_corpus_ratio([1, np.nan, 3], n_bytes, [1, 2, 3], n_bytes)
    with pytest.raises(DataError, match="no items"):
        S.paired_corpus_ratio([], [], [], [])
    with pytest.raises(ConfigError) as err:
        S.compare_bpb([1, 2, 3], n_bytes, [1, 2, 3], n_bytes, secondary="t-test")
    assert err.value.parameter == "secondary"
    with pytest.raises(ConfigError) as err:
        S.paired_corpus_ratio([1, 2, 3], n_bytes, [1, 2, 4], n_bytes, n_samples=0)
    assert err.value.parameter == "n_samples"
