"""Tests of paper_utils.stats: agreement with sacrebleu, statsmodels and scipy; bad input."""
from __future__ import annotations

import csv
import logging
import math
import os
import random

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import PairedTest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from paper_utils import stats as S
from paper_utils.errors import ConfigError, DataError

logging.getLogger("sacrebleu").setLevel(logging.ERROR)


# ----------------------------------------------------------------------------------------------------------
# A synthetic but realistic test set: 200 Zipf-distributed sentences of 5-30 words; two systems corrupt the
# reference (substitutions, deletions, insertions) with noise 0.30 (A) and 0.29 (B), so B is slightly better
# (+1.6 BLEU, +1.1 chrF) and the p-values sit in the informative middle range (about 0.13 and 0.35).
# ----------------------------------------------------------------------------------------------------------
def make_corpus(n=200, seed=11, noise_a=0.30, noise_b=0.29):
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(400)] + ["the", "a", "of", "and", "to", "in", "is", "that", "for", "it"]
    weights = [1.0 / (i + 1) for i in range(len(vocab))]

    def corrupt(words, noise):
        out = []
        for w in words:
            r = rng.random()
            if r < noise * 0.5:
                out.append(rng.choices(vocab, weights)[0])
            elif r < noise * 0.7:
                continue
            elif r < noise * 0.8:
                out.extend([w, rng.choices(vocab, weights)[0]])
            else:
                out.append(w)
        return " ".join(out) + "."

    refs, hyps_a, hyps_b = [], [], []
    for _ in range(n):
        words = rng.choices(vocab, weights, k=rng.randint(5, 30))
        refs.append(" ".join(words) + ".")
        hyps_a.append(corrupt(words, noise_a))
        hyps_b.append(corrupt(words, noise_b))
    return refs, hyps_a, hyps_b


@pytest.fixture(scope="module")
def corpus():
    return make_corpus()


_SACRE = {"BLEU": BLEU, "chrF2": CHRF}
_OURS = {"bs": S.paired_bootstrap, "ar": S.approximate_randomization}
_N = {"bs": 1000, "ar": 10000}


@pytest.fixture(scope="module")
def sacrebleu_pvalues(corpus):
    """sacrebleu's PairedTest (default seed 12345, default n_samples) on the synthetic corpus."""
    refs, ha, hb = corpus
    old = os.environ.pop("SACREBLEU_SEED", None)
    try:
        out = {}
        for name, cls in _SACRE.items():
            for tt in ("bs", "ar"):
                _, scores = PairedTest([("A", ha), ("B", hb)], {name: cls()}, [refs], test_type=tt)()
                out[name, tt] = (scores[name][0].score, scores[name][1].score, scores[name][1].p_value)
        return out
    finally:
        if old is not None:
            os.environ["SACREBLEU_SEED"] = old


# ----------------------------------------------------------------------------------------------------------
# Corpus scores from sufficient statistics
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, cls, kwargs", [("bleu", BLEU, {}), ("chrf", CHRF, {}),
                                               ("chrf++", CHRF, {"word_order": 2})])
def test_summed_sentence_stats_reproduce_sacrebleu_corpus_score(corpus, name, cls, kwargs):
    refs, ha, hb = corpus
    m = S.CorpusMetric(name)
    for hyps in (ha, hb):
        st = m.sentence_stats(hyps, refs)
        assert st.shape == (len(hyps), m.n_stats)
        expected = cls(**kwargs).corpus_score(hyps, [refs])
        summed = [int(x) for x in st.sum(0)]
        # sacrebleu's own scorer on our summed statistics: exactly its corpus score
        assert cls(**kwargs)._compute_score_from_stats(summed).score == expected.score
        # our vectorized scorer: same number (to the last few ulps)
        assert m.corpus_score(st) == pytest.approx(expected.score, rel=1e-13, abs=1e-13)
        assert S.corpus_score(st, name) == pytest.approx(expected.score, rel=1e-13, abs=1e-13)
        assert m.name == expected.name


def test_multiple_reference_streams_match_sacrebleu(corpus):
    refs, ha, hb = corpus
    streams = [refs, hb]  # any second stream of the right length will do
    for cls, name in ((BLEU, "bleu"), (CHRF, "chrf")):
        st = S.sentence_stats(ha, streams, name)
        assert S.corpus_score(st, name) == pytest.approx(cls().corpus_score(ha, streams).score, rel=1e-13)
    m = S.CorpusMetric("bleu")
    m.sentence_stats(ha, streams)
    assert "nrefs:2" in m.signature()


@pytest.mark.parametrize("kwargs", [{}, {"smooth_method": "floor"}, {"smooth_method": "floor", "smooth_value": 0.3},
                                    {"smooth_method": "add-k"}, {"smooth_method": "none"},
                                    {"effective_order": True}, {"smooth_method": "none", "effective_order": True}])
def test_vectorized_bleu_equals_sacrebleu_on_edge_case_stats(kwargs):
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 6, size=(400, 10)).astype(np.float64)
    rows[::7, 2:6] = 0          # no matches at all
    rows[::5, 6 + 2:] = 0       # no 3- and 4-grams
    rows[::11, 0] = 0           # empty hypothesis
    rows[::13, 6:] = 0          # no n-grams at all
    metric = BLEU(**kwargs)
    ours = S.CorpusMetric(metric).score(rows)
    ref = np.array([BLEU(**kwargs)._compute_score_from_stats([int(v) for v in r]).score for r in rows])
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    assert S.CorpusMetric(metric).score(rows.reshape(20, 20, 10)).shape == (20, 20)


@pytest.mark.parametrize("kwargs", [{}, {"word_order": 2}, {"eps_smoothing": True},
                                    {"word_order": 2, "eps_smoothing": True}, {"beta": 3}])
def test_vectorized_chrf_equals_sacrebleu_on_edge_case_stats(kwargs):
    metric = CHRF(**kwargs)
    k = 3 * (metric.char_order + metric.word_order)
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 8, size=(400, k)).astype(np.float64)
    rows[::3, 2::3] = np.minimum(rows[::3, 2::3], rows[::3, 0::3])
    rows[::7, 0::3] = 0   # empty hypothesis
    rows[::9, 1::3] = 0   # empty reference
    rows[::10, 2::3] = 0  # no matches
    ours = S.CorpusMetric(metric).score(rows)
    ref = np.array([CHRF(**kwargs)._compute_score_from_stats([int(v) for v in r]).score for r in rows])
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------------------------
# The lead requirement: p-values agree with sacrebleu's PairedTest within Monte-Carlo error
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["BLEU", "chrF2"])
@pytest.mark.parametrize("tt", ["bs", "ar"])
def test_pvalues_match_sacrebleu_paired_test(corpus, sacrebleu_pvalues, name, tt):
    refs, ha, hb = corpus
    score_a, score_b, p_sacre = sacrebleu_pvalues[name, tt]
    n = _N[tt]
    m = S.CorpusMetric(_SACRE[name]())
    sa, sb = m.sentence_stats(ha, refs), m.sentence_stats(hb, refs)
    test = _OURS[tt]

    same = test(sa, sb, m)  # defaults: sacrebleu's n_samples and seed 12345
    assert same.delta == pytest.approx(score_b - score_a, rel=1e-12)
    assert same.delta > 0 and 0.05 < p_sacre < 0.6  # B slightly better, p in the informative range
    # same seed => same index draws / swap masks as sacrebleu; allow one flipped near-tie (float32 in sacrebleu)
    assert abs(same.p_value - p_sacre) <= 1.0 / (n + 1) + 1e-12

    # independent seeds: each p-value is a proportion over n Monte-Carlo draws, binomial SE sqrt(p(1-p)/n);
    # two independent estimates differ with SE sqrt(2 p(1-p)/n). 4 SE: a spurious failure has probability < 1e-4.
    tolerance = 4 * math.sqrt(2 * p_sacre * (1 - p_sacre) / n)
    for seed in (1, 2024):
        other = test(sa, sb, m, seed=seed)
        assert abs(other.p_value - p_sacre) <= tolerance, (seed, other.p_value, p_sacre, tolerance)
        assert other.ci_low < other.delta < other.ci_high


def test_compare_translations_is_paired_test_on_sentence_stats(corpus, sacrebleu_pvalues):
    refs, ha, hb = corpus
    r = S.compare_translations(ha, hb, refs, "bleu", test="paired_bootstrap", method_a="base", method_b="adapted")
    assert (r.metric, r.method_a, r.method_b, r.test, r.n) == ("BLEU", "base", "adapted", "paired_bootstrap", 200)
    # B (less noise) is the better system: delta = B - A is positive and equals the corpus-score difference
    assert r.delta == pytest.approx(BLEU().corpus_score(hb, [refs]).score - BLEU().corpus_score(ha, [refs]).score)
    assert r.delta > 0 and r.ci_low < r.delta < r.ci_high
    assert abs(r.p_value - sacrebleu_pvalues["BLEU", "bs"][2]) <= 1 / 1001 + 1e-12
    r2 = S.compare_translations(ha, hb, [refs], "chrf", test="approximate_randomization", n_samples=500)
    assert (r2.test, r2.metric, r2.n) == ("approximate_randomization", "chrF2", 200)
    assert r2.delta == pytest.approx(CHRF().corpus_score(hb, [refs]).score - CHRF().corpus_score(ha, [refs]).score)


def test_chunked_resampling_gives_identical_results(corpus, monkeypatch):
    refs, ha, hb = corpus
    m = S.CorpusMetric("bleu")
    sa, sb = m.sentence_stats(ha, refs), m.sentence_stats(hb, refs)
    whole_bs = S.paired_bootstrap(sa, sb, m, n_samples=300)
    whole_ar = S.approximate_randomization(sa, sb, m, n_samples=300, ci_samples=100)
    monkeypatch.setattr(S.resampling, "CHUNK_ELEMENTS", 200 * 7 + 3)  # 7 resamples per chunk, a ragged last chunk
    assert S.paired_bootstrap(sa, sb, m, n_samples=300) == whole_bs
    assert S.approximate_randomization(sa, sb, m, n_samples=300, ci_samples=100) == whole_ar


def test_seeding_is_reproducible_and_accepts_generators():
    rng = np.random.default_rng(5)
    a, b = rng.random(60), rng.random(60) - 0.05
    r1 = S.paired_bootstrap(a, b, "bpb", seed=3)
    assert r1 == S.paired_bootstrap(a, b, "bpb", seed=3)
    assert r1 == S.paired_bootstrap(a, b, "bpb", seed=np.random.default_rng(3))
    assert r1 != S.paired_bootstrap(a, b, "bpb", seed=4)


# ----------------------------------------------------------------------------------------------------------
# Accuracy: exact McNemar and paired bootstrap
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", [[[50, 3], [9, 38]], [[10, 0], [0, 5]], [[0, 0], [0, 0]], [[0, 7], [0, 0]],
                                   [[5, 4], [4, 5]], [[0, 1], [0, 0]], [[100, 20], [35, 1]],
                                   [[1000, 123], [97, 2000]], [[3, 60], [1, 9]]])
def test_mcnemar_pvalue_equals_statsmodels_exactly(table):
    assert S.mcnemar_pvalue(table) == float(mcnemar(table, exact=True).pvalue)


def test_mcnemar_exact_from_item_correctness():
    rng = np.random.default_rng(2)
    a = rng.random(300) < 0.55
    b = np.where(rng.random(300) < 0.8, a, rng.random(300) < 0.7)
    r = S.mcnemar_exact(a, b, method_a="base", method_b="adapted")
    table = [[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]]
    assert r.p_value == float(mcnemar(table, exact=True).pvalue)
    assert r.delta == pytest.approx(b.mean() - a.mean())
    assert r.ci_low <= r.delta <= r.ci_high and (r.test, r.n, r.metric) == ("mcnemar_exact", 300, "accuracy")
    same = S.mcnemar_exact(a, a, ci_samples=0)  # zero discordant pairs
    assert same.p_value == 1.0 and same.delta == 0.0 and math.isnan(same.ci_low)


def test_paired_bootstrap_accuracy_equals_explicit_resampling():
    rng = np.random.default_rng(3)
    a = (rng.random(120) < 0.5).astype(int)
    b = (rng.random(120) < 0.6).astype(int)
    r = S.paired_bootstrap(a, b, "accuracy", n_samples=400, seed=9, confidence=0.9)
    idx = np.random.default_rng(9).choice(120, size=(400, 120), replace=True)
    d = b[idx].mean(1) - a[idx].mean(1)  # explicit loop-free reference
    delta = b.mean() - a.mean()
    p = (np.sum(np.abs(d) - np.abs(d).mean() > abs(delta)) + 1) / 401
    assert r.delta == pytest.approx(delta) and r.p_value == pytest.approx(p)
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(np.quantile(d, [0.05, 0.95])))
    assert S.bootstrap_ci(a, b, "accuracy", n_samples=400, seed=9, confidence=0.9) == \
        pytest.approx((r.delta, r.ci_low, r.ci_high))


# ----------------------------------------------------------------------------------------------------------
# Per-document bits per byte: permutation and Wilcoxon
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [6, 10, 14])
def test_exact_permutation_equals_scipy(n):
    rng = np.random.default_rng(n)
    a = rng.normal(1.2, 0.1, n)
    b = a - 0.03 + rng.normal(0, 0.05, n)
    r = S.paired_permutation(a, b, ci_samples=0)
    ref = sps.permutation_test((b, a), lambda x, y, axis: np.mean(x - y, axis=axis), vectorized=True,
                               permutation_type="samples", n_resamples=np.inf).pvalue
    assert r.test == "paired_permutation_exact"
    assert r.p_value == pytest.approx(ref, rel=1e-12)
    assert r.delta == pytest.approx(np.mean(b - a), rel=1e-12)      # b - a (negative: b has the lower bpb)


def test_exact_permutation_handles_ties():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    b = a + np.array([0.5, 0.5, -0.5, 0.5, 0.5, 0.5, -0.5, 0.5])  # many equal |d|: ties in the null
    r = S.paired_permutation(a, b, ci_samples=0)
    # |mean| >= |observed| iff at most 2 (or at least 6) of the 8 signs are negative: 2 * (1 + 8 + 28) / 256
    assert r.p_value == 2 * (1 + 8 + 28) / 256
    assert S.paired_permutation(a, a, ci_samples=0).p_value == 1.0


def test_no_observed_difference_gives_p_one_for_every_test():
    """Two systems with identical output (e.g. both BLEU 0): no test may call that significant."""
    hyps = ["a b c", "d e f", "g h"]
    refs = ["x y z w", "u v", "q r s"]
    bleu_zero = S.sentence_stats(hyps, refs, "bleu")
    assert S.corpus_score(bleu_zero, "bleu") == 0.0
    other = S.sentence_stats(["k l m", "n o p", "s t"], refs, "bleu")   # a different output, also BLEU 0
    correct = [1, 0, 1, 1, 0, 1]
    for a, b, metric in [(bleu_zero, bleu_zero, "bleu"), (bleu_zero, other, "bleu"), (correct, correct, "accuracy")]:
        for test in (S.paired_bootstrap, S.approximate_randomization):
            r = test(a, b, metric, n_samples=500)
            assert r.delta == 0.0 and r.p_value == 1.0, (test.__name__, metric, r)
    assert S.paired_permutation([3.0, 2.0, 1.0], [3.0, 2.0, 1.0]).p_value == 1.0
    assert S.mcnemar_exact(correct, correct).p_value == 1.0
    # a real difference still gets sacrebleu's (count + 1) / (n + 1)
    r = S.paired_bootstrap([0] * 20, [1] * 20, "accuracy", n_samples=99)
    assert r.p_value == pytest.approx(1 / 100)


def test_monte_carlo_permutation_within_binomial_error_of_exact():
    rng = np.random.default_rng(4)
    a = rng.normal(1.0, 0.2, 18)
    b = a - 0.04 + rng.normal(0, 0.15, 18)
    exact = S.paired_permutation(a, b, exact_max_n=18, ci_samples=0)  # 2**18 patterns
    mc = S.paired_permutation(a, b, exact_max_n=0, n_samples=20000, seed=1)
    assert exact.test == "paired_permutation_exact" and mc.test == "paired_permutation"
    assert 0.02 < exact.p_value < 0.9
    assert abs(mc.p_value - exact.p_value) <= 4 * math.sqrt(exact.p_value * (1 - exact.p_value) / 20000)
    assert mc.ci_low <= mc.delta <= mc.ci_high
    assert exact.delta == mc.delta == pytest.approx(np.mean(b - a)) and exact.delta < 0   # b: 0.04 lower on average


def test_wilcoxon_equals_scipy():
    rng = np.random.default_rng(6)
    a = rng.normal(1.1, 0.1, 80)
    b = a - 0.01 + rng.normal(0, 0.03, 80)
    r = S.wilcoxon_signed_rank(a, b, method_a="base", method_b="adapted")
    assert r.p_value == float(sps.wilcoxon(b - a).pvalue)
    assert r.delta == pytest.approx(np.mean(b - a)) and r.test == "wilcoxon_signed_rank" and r.metric == "bpb"
    assert r.delta < 0 and r.p_value < 0.05                         # the adapted system is built 0.01 lower
    assert S.wilcoxon_signed_rank(a, a, ci_samples=0).p_value == 1.0


# ----------------------------------------------------------------------------------------------------------
# Multiple comparisons, records, CSV
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pvals", [[0.01], [0.01, 0.04, 0.03, 0.2, 0.5], [0.0, 1.0, 0.5, 0.5, 0.5, 0.001],
                                   list(np.random.default_rng(7).random(40)),
                                   list(np.random.default_rng(8).random(25) ** 4), [0.05] * 6])
@pytest.mark.parametrize("ours, theirs", [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjust_pvalues_equals_statsmodels_exactly(pvals, ours, theirs):
    assert np.array_equal(S.adjust_pvalues(pvals, ours), multipletests(pvals, method=theirs)[1])


def test_correct_fills_p_adjusted_for_all_results():
    ps = [0.003, 0.04, 0.02, 0.5]
    rs = [S.ComparisonResult("BLEU", "base", f"m{i}", 1.0, 0.1, 2.0, p, "paired_bootstrap", 200)
          for i, p in enumerate(ps)]
    assert all(math.isnan(r.p_adjusted) for r in rs)
    for method, sm in (("holm", "holm"), ("bh", "fdr_bh")):
        out = S.correct(rs, method=method)
        assert [r.p_adjusted for r in out] == list(multipletests(ps, method=sm)[1])
        assert [r.p_value for r in out] == ps


def test_write_significance_csv_columns_and_atomic_replace(tmp_path, monkeypatch):
    rs = S.correct([S.ComparisonResult("BLEU", "base", "adapted", 1.5, 0.2, 2.7, 0.012, "paired_bootstrap", 200,
                                       statistic="corpus_bleu"),
                    S.ComparisonResult("bpb", "base", "adapted", -0.03, -0.05, -0.01, 0.001,
                                       "approximate_randomization", 50, statistic="corpus_bpb")], "holm")
    rs.append(S.ComparisonResult("accuracy", "base", "adapted", 0.01, math.nan, math.nan, 0.6, "mcnemar_exact", 1000,
                                 statistic="accuracy"))
    path = tmp_path / "results" / "demo" / "significance.csv"
    assert S.write_significance_csv(path, rs, language="uz", model="smollm2-135m") == path
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == S.CSV_COLUMNS == ("language", "model", "metric", "statistic", "method_a", "method_b",
                                               "delta", "ci_low", "ci_high", "p_value", "p_adjusted", "test", "n")
    assert rows[1] == ["uz", "smollm2-135m", "BLEU", "corpus_bleu", "base", "adapted", "1.5", "0.2", "2.7", "0.012",
                       repr(rs[0].p_adjusted), "paired_bootstrap", "200"]
    assert rows[2][3] == "corpus_bpb" and rows[3][3] == "accuracy"
    assert rows[3][7:9] == ["", ""] and rows[3][10] == ""  # NaN -> empty cell
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)  # looked up as os.replace by paper_utils.io.atomic_path
    with pytest.raises(OSError):
        S.write_significance_csv(path, rs[:1], language="ms", model="x")
    assert path.read_bytes() == before  # the old file survives a failed write
    assert sorted(p.name for p in path.parent.iterdir()) == ["significance.csv"]  # no temp file left


# ----------------------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------------------
def test_references_and_hypotheses_of_different_lengths(corpus):
    refs, ha, hb = corpus
    with pytest.raises(DataError, match="different lengths"):
        S.sentence_stats(ha[:-1], refs, "bleu")
    with pytest.raises(DataError, match="different lengths"):
        S.compare_translations(ha, hb[:-3], refs, "chrf")
    with pytest.raises(DataError, match="reference stream 1"):
        S.sentence_stats(ha, [refs, refs[:10]], "bleu")
    m = S.CorpusMetric("bleu")
    with pytest.raises(DataError, match="same test set"):
        S.paired_bootstrap(m.sentence_stats(ha, refs), m.sentence_stats(ha[:50], refs[:50]), m)


def test_empty_input():
    with pytest.raises(DataError, match="empty"):
        S.sentence_stats([], [], "bleu")
    with pytest.raises(DataError, match="empty"):
        S.compare_translations([], [], [], "bleu")
    with pytest.raises(DataError, match="empty"):
        S.paired_bootstrap([], [], "accuracy")
    with pytest.raises(DataError, match="empty"):
        S.mcnemar_exact([], [])
    with pytest.raises(DataError, match="empty"):
        S.paired_permutation([], [])
    with pytest.raises(DataError, match="no sentences"):
        S.approximate_randomization(np.zeros((0, 10)), np.zeros((0, 10)), "bleu")
    with pytest.raises(DataError, match="no comparisons"):
        S.write_significance_csv("unused.csv", [], language="uz", model="m")


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "1000", None])
def test_non_positive_n_samples(bad):
    a, b = [1.0, 1.1, 0.9], [0.9, 1.0, 0.95]
    for fn in (S.paired_bootstrap, S.approximate_randomization, S.paired_permutation):
        with pytest.raises(ConfigError) as err:
            fn(a, b, n_samples=bad) if fn is S.paired_permutation else fn(a, b, "bpb", n_samples=bad)
        assert err.value.parameter == "n_samples" and "positive integer" in str(err.value)
    with pytest.raises(ConfigError, match="n_samples"):
        S.bootstrap_ci(a, b, n_samples=bad)


def test_nan_and_mismatched_paired_values():
    a, b = [1.0, float("nan"), 0.9], [0.9, 1.0, 0.95]
    for fn in (S.paired_permutation, S.wilcoxon_signed_rank):
        with pytest.raises(DataError, match="NaN"):
            fn(a, b)
        with pytest.raises(DataError, match="different lengths"):
            fn([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="NaN"):
        S.paired_bootstrap(b, a, "bpb")
    with pytest.raises(DataError, match="NaN"):
        S.bootstrap_ci([1.0, 2.0], [np.inf, 1.0])


def test_other_bad_arguments():
    with pytest.raises(DataError, match="0/1"):
        S.mcnemar_exact([1, 0, 2], [1, 1, 0])
    with pytest.raises(DataError, match="0/1"):
        S.paired_bootstrap([0.5, 1], [1, 1], "accuracy")
    with pytest.raises(DataError, match="2x2"):
        S.mcnemar_pvalue([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(DataError, match="integer"):
        S.mcnemar_pvalue([[1, -2], [3, 4]])
    with pytest.raises(ConfigError) as err:
        S.paired_bootstrap([1.0], [1.0], "blue")
    assert err.value.parameter == "metric"
    with pytest.raises(ConfigError, match="holm"):
        S.adjust_pvalues([0.1, 0.2], "bonferroni")
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        S.adjust_pvalues([0.1, float("nan")], "bh")
    with pytest.raises(ConfigError, match="confidence"):
        S.bootstrap_ci([1.0, 2.0], [1.0, 1.5], confidence=95)
    with pytest.raises(ConfigError, match="ci_samples"):
        S.mcnemar_exact([1, 0], [1, 1], ci_samples=-1)
    with pytest.raises(ConfigError, match="test"):
        S.compare_translations(["a"], ["a"], ["a"], test="t-test")
    with pytest.raises(DataError, match=r"\(n_sentences, 10\)"):
        S.paired_bootstrap(np.ones((5, 3)), np.ones((5, 3)), "bleu")
    with pytest.raises(ConfigError, match="language"):
        S.write_significance_csv("x.csv", [S.ComparisonResult("m", "a", "b", 0, 0, 0, 1, "t", 1)],
                                 language="", model="m")
