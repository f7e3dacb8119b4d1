"""core.stats against scipy, scikit-learn and hand-computed cases."""
import math

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import balanced_accuracy_score, f1_score

from core import stats as S
from core.metrics import confusion_matrix, summary


def test_mean_ci_by_hand_and_against_scipy():
    ci = S.mean_ci([1.0, 2.0, 3.0])
    # mean 2, s = 1, t(0.975, 2) = 4.302653: half width 4.302653 / sqrt(3) = 2.484138
    assert ci.mean == 2.0 and ci.n == 3
    assert ci.low == pytest.approx(2 - 2.484138, abs=1e-6) and ci.high == pytest.approx(2 + 2.484138, abs=1e-6)
    values = np.random.default_rng(0).normal(0.8, 0.05, size=7)
    low, high = sps.t.interval(0.95, 6, loc=values.mean(), scale=sps.sem(values))
    got = S.mean_ci(values)
    assert (got.low, got.high) == pytest.approx((low, high))
    one = S.mean_ci([0.7])
    assert one.mean == 0.7 and math.isnan(one.low) and math.isnan(one.high)


def test_welch_against_scipy():
    a, b = [0.70, 0.72, 0.69], [0.60, 0.66, 0.61, 0.64]
    assert S.welch_p(a, b) == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue)
    assert math.isnan(S.welch_p([0.7], b))
    assert S.welch_p([0.5, 0.5], [0.5, 0.5]) == 1.0


def _pairs(b: int, c: int, both_right: int = 50, both_wrong: int = 5):
    """Predictions with exactly b items only A got right and c only B got right."""
    y = np.zeros(b + c + both_right + both_wrong, dtype=int)
    a = np.concatenate([np.zeros(b), np.ones(c), np.zeros(both_right), np.ones(both_wrong)]).astype(int)
    bb = np.concatenate([np.ones(b), np.zeros(c), np.zeros(both_right), np.ones(both_wrong)]).astype(int)
    return y, a, bb


def test_mcnemar_exact_for_few_discordant_pairs():
    y, a, b = _pairs(2, 9)
    r = S.mcnemar(y, a, b)
    assert (r.a_only, r.b_only, r.method) == (2, 9, "exact binomial")
    # by hand: 2 * P(X <= 2), X ~ Bin(11, 1/2) = 2 * (1 + 11 + 55) / 2048 = 0.0654296875
    assert r.p_value == pytest.approx(134 / 2048)
    assert r.p_value == pytest.approx(sps.binomtest(2, 11, 0.5).pvalue)


def test_mcnemar_chi_square_with_continuity_correction():
    y, a, b = _pairs(10, 25)
    r = S.mcnemar(y, a, b)
    assert r.method == "chi-square, continuity-corrected"
    assert r.statistic == pytest.approx((15 - 1) ** 2 / 35)  # 5.6
    assert r.p_value == pytest.approx(sps.chi2.sf(5.6, 1))
    assert r.p_value == pytest.approx(0.017961, abs=1e-6)
    assert r.discordance == pytest.approx(35 / 90)


def test_mcnemar_identical_models():
    y, a, _ = _pairs(3, 3)
    r = S.mcnemar(y, a, a)
    assert r.p_value == 1.0 and r.a_only == r.b_only == 0


def test_sample_size_by_hand_and_detectable_difference_inverts_it():
    # psi 0.1, delta 0.05: (1.959964 sqrt(0.1) + 0.841621 sqrt(0.0975))^2 / 0.0025 = 311.59
    assert S.mcnemar_sample_size(0.05, 0.1) == pytest.approx(311.59, abs=0.01)
    for n, psi in ((21892, 0.03), (500, 0.2), (2000, 0.05)):
        delta = S.min_detectable_difference(n, psi)
        assert 0 < delta <= psi
        assert S.mcnemar_sample_size(delta, psi) == pytest.approx(n, rel=1e-9)
    assert S.min_detectable_difference(5, 0.01) == float("inf")  # 5 items cannot show anything
    # more items, smaller detectable difference
    assert S.min_detectable_difference(20000, 0.05) < S.min_detectable_difference(2000, 0.05)


def _random_predictions(n=600, classes=5, accuracy=0.8, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(classes, size=n, p=[0.6, 0.1, 0.15, 0.05, 0.1][:classes])
    pred = np.where(rng.random(n) < accuracy, y, rng.integers(0, classes, n))
    return y, pred


def test_scores_from_counts_match_scikit_learn_and_core_metrics():
    y, pred = _random_predictions()
    pred[pred == 3] = 0  # a class never predicted
    scores = S.scores_from_counts(*S.class_counts(y, pred, 5))
    assert scores["macro_f1"][0] == pytest.approx(f1_score(y, pred, average="macro"))
    assert scores["balanced_accuracy"][0] == pytest.approx(balanced_accuracy_score(y, pred))
    idx = np.random.default_rng(3).integers(0, len(y), size=(4, len(y)))
    batched = S.scores_from_counts(*S.class_counts(y, pred, 5, idx))
    for row in range(4):
        expected = summary(confusion_matrix(y[idx[row]], pred[idx[row]], 5))
        for key in ("accuracy", "balanced_accuracy", "macro_f1"):
            assert batched[key][row] == pytest.approx(expected[key])


def test_paired_bootstrap_finds_a_real_difference():
    y, good = _random_predictions(accuracy=0.9, seed=1)
    _, bad = _random_predictions(accuracy=0.6, seed=2)
    bad = np.where(np.random.default_rng(5).random(len(y)) < 0.6, y, bad)
    out = S.paired_bootstrap(y, good, bad, 5, n_boot=500, seed=0)
    f1 = out["macro_f1"]
    assert f1.difference == pytest.approx(f1_score(y, good, average="macro") - f1_score(y, bad, average="macro"))
    assert f1.low > 0 and f1.p_value < 0.01
    assert out["balanced_accuracy"].difference == pytest.approx(
        balanced_accuracy_score(y, good) - balanced_accuracy_score(y, bad))
    again = S.paired_bootstrap(y, good, bad, 5, n_boot=500, seed=0)
    assert again == out  # seeded


def test_paired_bootstrap_of_equal_models_is_not_significant():
    y, a = _random_predictions(seed=4)
    out = S.paired_bootstrap(y, a, a.copy(), 5, n_boot=200)
    assert out["macro_f1"].difference == 0 and out["macro_f1"].p_value == 1.0
    assert out["macro_f1"].low == out["macro_f1"].high == 0
    # two models that differ on a few items only, in both directions: no evidence
    b = a.copy()
    flip = np.flatnonzero(a == y)[:3]
    b[flip] = (y[flip] + 1) % 5
    wrong = np.flatnonzero(a != y)[:3]
    b[wrong] = y[wrong]
    assert S.paired_bootstrap(y, a, b, 5, n_boot=500, metrics=["accuracy"])["accuracy"].p_value > 0.5


def test_paired_bootstrap_averages_runs():
    y, a1 = _random_predictions(seed=6)
    _, a2 = _random_predictions(seed=7)
    _, b = _random_predictions(accuracy=0.7, seed=8)
    out = S.paired_bootstrap(y, np.stack([a1, a2]), b, 5, n_boot=100)
    mean_a = (f1_score(y, a1, average="macro") + f1_score(y, a2, average="macro")) / 2
    assert out["macro_f1"].difference == pytest.approx(mean_a - f1_score(y, b, average="macro"))
    with pytest.raises(ValueError, match="N=600"):
        S.paired_bootstrap(y, a1[:10], b, 5)


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 -> 0.03, 0.06, max(0.06, 0.04) = 0.06
    assert S.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = S.holm([0.5, float("nan"), 0.01])
    assert out[0] == pytest.approx(0.5) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)
    assert S.holm([0.6, 0.9]) == [1.0, 1.0]


def test_rank_models_marks_ties_with_the_best():
    scores = {"a": [0.90, 0.91, 0.89], "b": [0.895, 0.905, 0.90], "c": [0.50, 0.52, 0.51], "d": [0.70]}
    rows = S.rank_models(scores)
    assert [r.name for r in rows] == ["a", "b", "d", "c"]
    by = {r.name: r for r in rows}
    assert by["a"].rank == 1 and by["a"].tied_with_best
    assert by["b"].tied_with_best  # within noise of the best
    assert not by["c"].tied_with_best and by["c"].p_adjusted < 0.05
    assert math.isnan(by["d"].p_value) and by["d"].tied_with_best  # one seed: untestable
    # Holm over the two testable comparisons
    raw = [S.welch_p(scores["a"], scores[k]) for k in ("b", "c")]
    assert [by["b"].p_adjusted, by["c"].p_adjusted] == pytest.approx(S.holm(raw))
    # given p-values are used as they are, then adjusted
    rows = S.rank_models(scores, p_values={"b": 0.02, "c": 0.01, "d": 0.04})
    by = {r.name: r for r in rows}
    assert by["c"].p_adjusted == pytest.approx(0.03) and not by["c"].tied_with_best
    assert by["b"].p_adjusted == pytest.approx(0.04) and not by["b"].tied_with_best
    assert by["d"].p_adjusted == pytest.approx(0.04)
    lower = S.rank_models({"x": [0.2, 0.3], "y": [0.5, 0.6]}, higher_is_better=False)
    assert lower[0].name == "x"


def test_bootstrap_scores_of_many_models_pair_up_like_paired_bootstrap():
    y, a = _random_predictions(seed=9)
    _, b = _random_predictions(accuracy=0.7, seed=10)
    _, c = _random_predictions(accuracy=0.6, seed=11)
    observed, reps = S.bootstrap_scores(y, {"a": a, "b": b, "c": c}, 5, metrics=["macro_f1"], n_boot=300, seed=2)
    assert set(reps) == {"a", "b", "c"} and reps["a"]["macro_f1"].shape == (300,)
    diff = S.bootstrap_difference("macro_f1", observed["a"]["macro_f1"], observed["b"]["macro_f1"],
                                  reps["a"]["macro_f1"], reps["b"]["macro_f1"])
    # the same items resampled for every model: a pair of the three is the two-model bootstrap
    assert diff == S.paired_bootstrap(y, a, b, 5, metrics=["macro_f1"], n_boot=300, seed=2)["macro_f1"]


# -- honest intervals, seeds to settle, the finding --------------------------------------
def test_score_interval_never_leaves_the_range_and_says_when_seeds_are_too_few():
    two = S.score_interval([0.05, 0.13])  # the t-interval would be [-0.42, 0.60]
    raw = S.mean_ci([0.05, 0.13])
    assert raw.low < 0 and two.low == 0.0 and two.high == pytest.approx(raw.high)
    assert two.clipped and not two.informative and two.method == "seeds (t)"
    reps = np.random.default_rng(0).beta(2, 20, size=2000)
    boot = S.score_interval([0.05, 0.13], replicates=reps)
    assert boot.method == "test-set bootstrap" and boot.informative and not boot.clipped
    assert (boot.low, boot.high) == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])))
    three = S.score_interval([0.97, 0.99, 0.999])
    t = S.mean_ci([0.97, 0.99, 0.999])
    assert three.method == "seeds (t)" and three.informative and three.clipped and three.high == 1.0
    assert three.low == pytest.approx(t.low)
    inside = S.score_interval([0.5, 0.52, 0.51])
    assert not inside.clipped and (inside.low, inside.high) == pytest.approx((S.mean_ci([0.5, 0.52, 0.51]).low,
                                                                              S.mean_ci([0.5, 0.52, 0.51]).high))
    one = S.score_interval([0.4])
    assert math.isnan(one.low) and one.method == "none" and not one.informative


def test_clip_interval():
    assert S.clip_interval(-1.04, 1.224) == (0.0, 1.0, True)
    assert S.clip_interval(0.2, 0.3) == (0.2, 0.3, False)
    assert S.clip_interval(-1.5, -0.2, -1, 1) == (-1.0, -0.2, True)
    low, high, cut = S.clip_interval(float("nan"), float("nan"))
    assert math.isnan(low) and not cut


def test_welch_power_matches_the_noncentral_t_and_a_simulation():
    # equal spreads and n: Welch's df is Student's 2(n-1), the textbook power
    n, d = 10, 1.0
    crit = sps.t.ppf(0.975, 2 * n - 2)
    ncp = d / math.sqrt(2 / n)
    expected = sps.nct.sf(crit, 2 * n - 2, ncp) + sps.nct.cdf(-crit, 2 * n - 2, ncp)
    assert S.welch_power(d, 1.0, 1.0, n) == pytest.approx(expected)
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.03, 0.02, size=(4000, 6)), rng.normal(0.0, 0.04, size=(4000, 6))
    simulated = np.mean(sps.ttest_ind(a, b, axis=1, equal_var=False).pvalue < 0.05)
    assert S.welch_power(0.03, 0.02, 0.04, 6) == pytest.approx(simulated, abs=0.03)


def test_seeds_to_settle_against_textbook_sample_sizes():
    # Cohen's d 1.0 and 0.5 at alpha 0.05, power 0.8: 16.71 and 63.77 per group (two-sample t-test)
    assert S.seeds_to_settle(1.0, 1.0, 1.0) == 17
    assert S.seeds_to_settle(0.05, 0.1, 0.1) == 64
    n = S.seeds_to_settle(0.02, 0.015, 0.03)
    assert S.welch_power(0.02, 0.015, 0.03, n) >= 0.8 > S.welch_power(0.02, 0.015, 0.03, n - 1)
    assert S.seeds_to_settle(0.0, 0.1, 0.1) is None  # nothing to settle
    assert S.seeds_to_settle(0.1, float("nan"), 0.1) is None  # one seed: no spread
    assert S.seeds_to_settle(0.1, 0.0, 0.0) is None
    assert S.seeds_to_settle(1e-4, 0.2, 0.2) is None  # beyond MAX_SEEDS


def test_finding_sentences():
    won = S.finding(S.Contest("bi-GRU", "GRU", "macro-F1", 0.12, 0.08, 0.16, 3, 0.004, configs=2))
    assert won == "bi-GRU beats GRU by 0.12 macro-F1 [0.08, 0.16] over 3 seeds, Holm p 0.004."
    open_ = S.finding(S.Contest("bi-GRU", "GRU", "macro-F1", 0.03, -0.01, 0.07, 2, 0.31, tied=2, configs=5,
                                seeds_needed=9))
    assert open_.startswith("These runs cannot tell bi-GRU from GRU (nor 2 more configs from bi-GRU): bi-GRU leads by "
                            "0.03 macro-F1 [-0.01, 0.07] over 2 seeds, Holm p 0.310")
    assert open_.endswith("about 9 seeds per config would settle it.")
    unknown = S.finding(S.Contest("A", "B", "accuracy", 0.01, float("nan"), float("nan"), 1, float("nan"),
                                  why_not_computed="one seed per config gives no seed spread"))
    assert "no p-value" in unknown and "cannot be computed (one seed per config gives no seed spread)" in unknown
    assert unknown.count(".") <= 3  # one sentence (decimals aside)


def test_welch_ci_against_scipy():
    a, b = [0.53, 0.50, 0.56], [0.27, 0.12, 0.41, 0.30]
    want = sps.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert S.welch_ci(a, b) == pytest.approx((want.low, want.high))
    assert all(math.isnan(v) for v in S.welch_ci([0.5], b))
    assert S.welch_ci([0.5, 0.5], [0.2, 0.2]) == pytest.approx((0.3, 0.3))
