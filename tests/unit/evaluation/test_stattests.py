"""Every drift method pinned against scipy or a hand computation (source in each comment)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from evaluation.binning import (
    counts_in_edges,
    fill_zeroes,
    quantile_edges,
    sorted_unique,
    sturges_edges,
)
from evaluation.drift import drift_result_for
from evaluation.stattests import (
    STATTESTS,
    Samples,
    default_stattest,
    merged_cdfs,
    wasserstein_distance,
)

RNG = np.random.default_rng(20261203)
X = RNG.normal(0.0, 1.0, 400)
Y = RNG.normal(0.3, 1.2, 300)
AB_REF = ["a", "a", "b", "b"]
AB_CUR = ["a", "a", "a", "b"]


def num(method: str, ref: object = X, cur: object = Y, **kw: object):  # noqa: ANN201
    return drift_result_for("x", ref, cur, "num", method, **kw)  # type: ignore[arg-type]


def cat(method: str, ref: object = AB_REF, cur: object = AB_CUR):  # noqa: ANN201
    return drift_result_for("c", ref, cur, "cat", method)


# -- p-value tests against scipy -------------------------------------------------------------
def test_ks_matches_scipy_ks_2samp() -> None:
    res = num("ks")
    expected = stats.ks_2samp(X, Y)  # scipy: two-sided, method="auto"
    assert res.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert res.drifted is bool(expected.pvalue <= 0.05)


def test_ks_drifts_at_p_equal_threshold() -> None:
    # KS and Cramér-von Mises flag drift when p <= threshold (Evidently): p == threshold drifts
    p = stats.ks_2samp(X, Y).pvalue
    assert num("ks", threshold=p).drifted


def test_chisquare_hand_computed() -> None:
    # expected = ref counts [2, 2] scaled to n_cur=4 -> [2, 2]; observed [3, 1]
    # X² = (3-2)²/2 + (1-2)²/2 = 1; p = P(chi2_1 > 1) = erfc(1/sqrt(2)) = 0.31731050786291404
    res = cat("chisquare")
    assert res.statistic == pytest.approx(1.0)
    assert res.p_value == pytest.approx(math.erfc(1 / math.sqrt(2)), rel=1e-12)
    assert res.p_value == pytest.approx(0.31731050786291404, rel=1e-12)
    assert not res.drifted


def test_chisquare_scales_reference_to_current_size_like_scipy() -> None:
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    cur = ["a"] * 20 + ["b"] * 25 + ["c"] * 15
    # scipy.stats.chisquare(f_obs, f_exp) with f_exp = ref counts * 60/100
    expected = stats.chisquare([20, 25, 15], [30.0, 18.0, 12.0])
    assert cat("chisquare", ref, cur).p_value == pytest.approx(expected.pvalue, rel=1e-12)


def test_chisquare_new_category_has_p_zero_without_warning() -> None:
    # a category absent from the reference: expected 0, X² = inf, p = 0 (Evidently: 0.0)
    res = cat("chisquare", ["a", "b"] * 5, ["a", "b", "c"] * 4)
    assert res.p_value == 0.0
    assert res.drifted


def test_z_test_hand_computed() -> None:
    # p_ref = 2/4 ("b" share), p_cur = 1/4; pooled P = 3/8
    # z = (0.5 - 0.25) / sqrt(3/8 * 5/8 * (1/4 + 1/4)) = 0.7302967433402214
    # p = erfc(|z| / sqrt(2)) (two-sided normal tail)
    res = cat("z")
    assert res.statistic == pytest.approx(0.7302967433402214, rel=1e-12)
    assert res.p_value == pytest.approx(math.erfc(0.7302967433402214 / math.sqrt(2)), rel=1e-12)


def test_z_test_identical_constant_samples_is_p_one() -> None:
    # Evidently: both samples constant and equal -> p = 1
    assert cat("z", ["a"] * 5, ["a"] * 7).p_value == 1.0


def test_g_test_matches_scipy_power_divergence_with_scaled_expectation() -> None:
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    cur = ["a"] * 20 + ["b"] * 25 + ["c"] * 15
    # scipy log-likelihood ratio with expected = ref counts scaled to the current size
    expected = stats.power_divergence([20, 25, 15], [30.0, 18.0, 12.0], lambda_="log-likelihood")
    res = cat("g_test", ref, cur)
    assert res.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(expected.pvalue, rel=1e-12)


def test_fisher_exact_matches_scipy_with_unequal_sizes() -> None:
    ref = ["x"] * 30 + ["y"] * 10
    cur = ["x"] * 10 + ["y"] * 15
    # table (current, reference) x (x, y), scipy.stats.fisher_exact two-sided
    expected = stats.fisher_exact([[10, 15], [30, 10]])
    assert cat("fisher_exact", ref, cur).p_value == pytest.approx(expected.pvalue, rel=1e-12)


def test_fisher_exact_needs_a_binary_column() -> None:
    res = cat("fisher_exact", ["a", "b", "c"], ["a", "b"])
    assert (res.status, res.score, res.drifted) == ("not_applicable", None, False)


def _anderson_oracle() -> Any:
    with warnings.catch_warnings():  # scipy warns that the p-value is capped/floored
        warnings.simplefilter("ignore", UserWarning)
        return stats.anderson_ksamp([X, Y], variant="midrank")


@pytest.mark.parametrize(
    ("method", "oracle"),
    [
        # scipy.stats.cramervonmises_2samp (Evidently ships a copy)
        ("cramer_von_mises", lambda: stats.cramervonmises_2samp(X, Y)),
        # scipy.stats.ttest_ind, pooled variance
        ("t_test", lambda: stats.ttest_ind(X, Y)),
        # scipy.stats.mannwhitneyu, two-sided (Evidently: "less")
        ("mannw", lambda: stats.mannwhitneyu(X, Y, alternative="two-sided")),
        # scipy.stats.epps_singleton_2samp
        ("es", lambda: stats.epps_singleton_2samp(X, Y)),
        # scipy.stats.anderson_ksamp, midrank
        ("anderson", lambda: _anderson_oracle()),
    ],
)
def test_p_value_tests_match_scipy(method: str, oracle) -> None:  # noqa: ANN001
    res = num(method)
    expected = oracle()
    assert res.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert res.statistic == pytest.approx(expected.statistic, rel=1e-9)


def test_mannw_is_two_sided() -> None:
    # a current sample shifted *down* must drift too (Evidently's one-sided test misses it)
    assert num("mannw", X, X - 1.0).drifted
    assert num("mannw", X, X + 1.0).drifted


def test_tvd_statistic_and_permutation_p_value() -> None:
    # TVD = ½ (|0.5 - 0.75| + |0.5 - 0.25|) = 0.25
    res = cat("TVD")
    assert res.statistic == pytest.approx(0.25)
    assert 0.0 <= res.p_value <= 1.0
    assert cat("TVD").p_value == res.p_value  # seeded: reproducible


def test_tvd_identical_samples_have_p_one() -> None:
    # every permuted TVD is >= 0 = the observed one
    assert cat("TVD", AB_REF * 5, AB_REF * 5).p_value == 1.0


def test_empirical_mmd_is_seeded_and_separates_shifted_samples() -> None:
    a = num("empirical_mmd", X[:150], Y[:120] + 1.0)
    b = num("empirical_mmd", X[:150], Y[:120] + 1.0)
    assert a == b  # Evidently leaves the permutations unseeded; driftsnap seeds them
    assert a.p_value == 0.0
    assert a.drifted


# -- distances -------------------------------------------------------------------------------
def test_wasserstein_normed_by_population_std() -> None:
    # scipy.stats.wasserstein_distance / np.std(ref) (ddof=0), floor 0.001
    expected = stats.wasserstein_distance(X, Y) / np.std(X)
    res = num("wasserstein")
    assert res.score == pytest.approx(expected, rel=1e-12)
    assert res.p_value is None


def test_wasserstein_constant_reference_uses_the_floor() -> None:
    # W1([5,5,5], [5,6]) = 0.5; std = 0 -> norm 0.001 -> 500
    assert num("wasserstein", [5.0, 5.0, 5.0], [5.0, 6.0]).score == pytest.approx(500.0)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (3, 1), (5, 3), (100, 37), (250, 1000)])
def test_wasserstein_distance_equals_scipy_for_any_sizes(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 1000 + m)
    r = np.sort(rng.integers(0, 6, n).astype(float))  # ties on purpose
    c = np.sort(rng.normal(2, 2, m))
    assert wasserstein_distance(r, c) == pytest.approx(stats.wasserstein_distance(r, c), rel=1e-12)


def test_energy_distance_matches_scipy() -> None:
    # scipy.stats.energy_distance
    assert num("ed").score == pytest.approx(stats.energy_distance(X, Y), rel=1e-12)


def test_energy_distance_drifts_only_above_threshold() -> None:
    # ed flags drift when d > threshold (strict), unlike the other distances (>=)
    d = num("ed").score
    assert not num("ed", threshold=d).drifted
    assert num("wasserstein", threshold=num("wasserstein").score).drifted


def test_psi_kl_js_hellinger_hand_computed_on_categories() -> None:
    # shares ref [0.5, 0.5], cur [0.75, 0.25]
    # PSI = (0.5-0.75) ln(0.5/0.75) + (0.5-0.25) ln(0.5/0.25) = 0.25 ln 3
    assert cat("psi").score == pytest.approx(0.25 * math.log(3), rel=1e-12)
    # KL(ref || cur) = 0.5 ln(0.5/0.75) + 0.5 ln(0.5/0.25) = 0.5 ln(4/3)
    assert cat("kl_div").score == pytest.approx(0.5 * math.log(4 / 3), rel=1e-12)
    # scipy.spatial.distance.jensenshannon (natural log)
    js = distance.jensenshannon([0.5, 0.5], [0.75, 0.25])
    assert cat("jensenshannon").score == pytest.approx(js, rel=1e-12)
    # Hellinger = sqrt(1 - (sqrt(0.5*0.75) + sqrt(0.5*0.25)))
    h = math.sqrt(1 - (math.sqrt(0.375) + math.sqrt(0.125)))
    assert cat("hellinger").score == pytest.approx(h, rel=1e-12)


def test_psi_fills_empty_bins_like_evidently() -> None:
    # ref shares [0.5, 0.5, 0], cur [0.25, 0.25, 0.5]: the empty reference bin becomes 1e-4
    # PSI = 2·(0.25 ln 2) + (1e-4 - 0.5)·ln(1e-4 / 0.5)
    expected = 2 * 0.25 * math.log(2) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    res = cat("psi", ["a", "b"] * 4, ["a", "b", "c", "c"] * 2)
    assert res.score == pytest.approx(expected, rel=1e-12)


def test_numerical_psi_uses_sturges_bins_over_reference_and_current() -> None:
    # Evidently: > 20 distinct reference values -> np.histogram_bin_edges(ref ∪ cur, "sturges")
    edges = np.histogram_bin_edges(np.concatenate([X, Y]), bins="sturges")
    rp = fill_zeroes(np.histogram(X, edges)[0] / X.size)
    cp = fill_zeroes(np.histogram(Y, edges)[0] / Y.size)
    expected = float(np.sum((rp - cp) * np.log(rp / cp)))
    assert num("psi").score == pytest.approx(expected, rel=1e-12)
    js = distance.jensenshannon(
        np.histogram(X, edges)[0] / X.size, np.histogram(Y, edges)[0] / Y.size
    )
    assert num("jensenshannon").score == pytest.approx(js, rel=1e-12)


def test_reference_binning_uses_frozen_deciles() -> None:
    # binning="reference": open-ended bins at the reference deciles; PSI(ref, ref) is 0
    res = num("psi", X, X, binning="reference")
    assert res.score == pytest.approx(0.0, abs=1e-15)
    edges = np.quantile(np.sort(X), np.arange(1, 10) / 10)
    rc = np.diff(np.concatenate([[0], np.searchsorted(np.sort(X), edges), [X.size]]))
    cc = np.diff(np.concatenate([[0], np.searchsorted(np.sort(Y), edges), [Y.size]]))
    rp, cp = fill_zeroes(rc / X.size), fill_zeroes(cc / Y.size)
    expected = float(np.sum((rp - cp) * np.log(rp / cp)))
    assert num("psi", binning="reference").score == pytest.approx(expected, rel=1e-12)


# -- binning helpers -------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 7, 100, 5000])
def test_sturges_edges_and_counts_equal_numpy(n: int) -> None:
    a = np.sort(np.random.default_rng(n).normal(size=n))
    edges = sturges_edges(float(a[0]), float(a[-1]), a.size)
    np.testing.assert_array_equal(edges, np.histogram_bin_edges(a, bins="sturges"))
    np.testing.assert_array_equal(counts_in_edges(a, edges), np.histogram(a, edges)[0])


def test_sturges_edges_integer_data_widens_narrow_bins_like_numpy() -> None:
    a = np.arange(0, 30).repeat(100)  # integer data: numpy keeps bins at least 1 wide
    edges = sturges_edges(0.0, 29.0, a.size, integer=True)
    np.testing.assert_array_equal(edges, np.histogram_bin_edges(a, bins="sturges"))


def test_fill_zeroes_rule() -> None:
    # smallest non-zero share > 1e-4 -> empty bins get 1e-4; otherwise smallest / 1e6
    np.testing.assert_array_equal(fill_zeroes(np.array([0.5, 0.5, 0.0])), [0.5, 0.5, 1e-4])
    np.testing.assert_allclose(fill_zeroes(np.array([0.99995, 0.00005, 0.0]))[2], 5e-11)


def test_sorted_unique_and_quantile_edges() -> None:
    np.testing.assert_array_equal(sorted_unique(np.array([1.0, 1.0, 2.0, 5.0, 5.0])), [1, 2, 5])
    assert quantile_edges(np.arange(101.0)).tolist() == [10, 20, 30, 40, 50, 60, 70, 80, 90]


def test_merged_cdfs_match_scipy_layout() -> None:
    r, c = np.array([0.0, 1.0, 1.0, 3.0]), np.array([1.0, 2.0])
    deltas, fr, fc = merged_cdfs(r, c)
    # pooled sorted: 0 1 1 1 2 3 -> gaps 1 0 0 1 1; CDFs at the left end of each gap
    np.testing.assert_array_equal(deltas, [1, 0, 0, 1, 1])
    assert fr[[0, 3, 4]].tolist() == [0.25, 0.75, 0.75]
    assert fc[[0, 3, 4]].tolist() == [0.0, 0.5, 1.0]


# -- defaults and registry -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "n_ref", "n_unique", "expected"),
    [
        ("num", 1000, 2, ("z", 0.05)),  # small reference, binary
        ("num", 1000, 3, ("chisquare", 0.05)),  # 3-5 distinct values
        ("num", 1000, 5, ("chisquare", 0.05)),
        ("num", 1000, 6, ("ks", 0.05)),  # many distinct values
        ("cat", 500, 2, ("z", 0.05)),
        ("cat", 500, 9, ("chisquare", 0.05)),
        ("num", 1001, 5, ("jensenshannon", 0.1)),  # large reference, few values
        ("num", 1001, 6, ("wasserstein", 0.1)),
        ("cat", 1001, 2, ("jensenshannon", 0.1)),
    ],
)
def test_default_stattest_follows_evidently(
    kind: str, n_ref: int, n_unique: int, expected: tuple[str, float]
) -> None:
    assert default_stattest(kind, n_ref, n_unique) == expected  # type: ignore[arg-type]


def test_registry_has_exactly_the_issue_methods() -> None:
    assert set(STATTESTS) == {
        "ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi", "kl_div", "hellinger",
        "TVD", "fisher_exact", "g_test", "anderson", "cramer_von_mises", "ed", "es", "mannw",
        "t_test", "empirical_mmd",
    }  # fmt: skip


@pytest.mark.parametrize("method", ["t_test", "anderson", "es"])
def test_constant_samples_give_a_status_not_a_warning(method: str) -> None:
    res = num(method, [3.0] * 10, [3.0] * 10)
    assert (res.status, res.score, res.drifted) == ("constant_reference", None, False)


@pytest.mark.parametrize("method", ["cramer_von_mises", "es", "t_test", "empirical_mmd"])
def test_too_few_values_give_insufficient_data(method: str) -> None:
    res = num(method, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0])
    assert (res.status, res.score, res.drifted) == ("insufficient_data", None, False)


def test_samples_union_unique_count() -> None:
    s = Samples(
        "num",
        ref=np.array([1.0, 1.0, 2.0]),
        cur=np.array([2.0, 3.0, 4.0]),
        ref_unique=np.array([1.0, 2.0]),
    )
    assert s.n_unique_union() == 4
