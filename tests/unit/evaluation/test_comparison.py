"""Paired tests of shadow vs champion, pinned against scipy.stats (the oracle) and tiny
hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evaluation.comparison import (
    MCNEMAR_EXACT_MAX,
    PairedTest,
    compare_predictions,
    correctness,
    mcnemar,
    paired_verdict,
    verdict_value,
    wilcoxon_signed_rank,
)


@pytest.mark.parametrize(
    ("b", "c"),
    [
        (0, 0),  # no discordant pair: p = 1
        (5, 0),  # one-sided extreme, small n
        (3, 7),
        (12, 30),
        (100, 140),
        (MCNEMAR_EXACT_MAX // 2, MCNEMAR_EXACT_MAX // 2),  # the exact range's edge, equal
    ],
)
def test_mcnemar_exact_matches_binomtest(b: int, c: int) -> None:
    t = mcnemar(b, c)
    expected = 1.0 if b + c == 0 else stats.binomtest(min(b, c), b + c, 0.5).pvalue
    assert t.test == "mcnemar_exact"
    assert t.p_value == pytest.approx(expected, rel=1e-9)
    assert t.direction == (c > b) - (c < b)


def test_mcnemar_hand_case() -> None:
    # b=0, c=5: P = 2 * (1/2)^5 = 0.0625
    assert mcnemar(0, 5).p_value == pytest.approx(0.0625)
    assert mcnemar(0, 5).direction == 1


def test_mcnemar_chi_square_for_large_counts() -> None:
    b, c = 600, 700
    t = mcnemar(b, c)
    stat = (abs(b - c) - 1) ** 2 / (b + c)
    assert t.test == "mcnemar_chi2"
    assert t.statistic == pytest.approx(stat)
    assert t.p_value == pytest.approx(stats.chi2.sf(stat, 1))
    # and close to the exact binomial at this size
    assert t.p_value == pytest.approx(stats.binomtest(b, b + c).pvalue, rel=0.05)


def test_mcnemar_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="b=-1"):
        mcnemar(-1, 2)


@pytest.mark.parametrize(
    ("seed", "n", "shift", "rounding"),
    [
        (1, 10, 0.0, None),  # exact, no ties
        (2, 30, 0.5, None),  # exact, shifted
        (3, 50, 0.2, None),  # exact range edge
        (4, 51, 0.2, None),  # normal approximation
        (5, 400, 0.1, None),
        (6, 200, 0.3, 1),  # ties -> normal approximation with tie correction
        (7, 40, 0.0, 0),  # ties and zeros in a small sample
    ],
)
def test_wilcoxon_matches_scipy(seed: int, n: int, shift: float, rounding: int | None) -> None:
    rng = np.random.default_rng(seed)
    d = rng.normal(shift, 1.0, n)
    if rounding is not None:
        d = np.round(d, rounding)
    ours = wilcoxon_signed_rank(d)
    nz = d[d != 0]
    ref = stats.wilcoxon(nz)  # scipy's defaults: zero_method="wilcox", method="auto"
    assert ours.statistic == pytest.approx(ref.statistic)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-6)


def test_wilcoxon_hand_case() -> None:
    # d = 1, 2, 3 all positive: W- = 0; exact P[W+ <= 0] = 1/8, two-sided 1/4
    t = wilcoxon_signed_rank([1.0, 2.0, 3.0])
    assert t.test == "wilcoxon_exact"
    assert t.statistic == 0.0
    assert t.p_value == pytest.approx(0.25)
    assert t.direction == 1


def test_wilcoxon_all_zero_is_no_difference() -> None:
    t = wilcoxon_signed_rank(np.zeros(10))
    assert (t.p_value, t.n, t.direction) == (1.0, 0, 0)
    assert paired_verdict(t, 0.05) == "no significant difference"


@pytest.mark.parametrize(
    ("test", "verdict"),
    [
        (PairedTest("x", 0, 0.001, 10, 1), "shadow better"),
        (PairedTest("x", 0, 0.001, 10, -1), "shadow worse"),
        (PairedTest("x", 0, 0.2, 10, -1), "no significant difference"),  # not significant
        (PairedTest("x", 0, 0.05, 10, -1), "no significant difference"),  # p == alpha
    ],
)
def test_verdict(test: PairedTest, verdict: str) -> None:
    assert paired_verdict(test, 0.05) == verdict


def test_verdict_values_are_the_dashboard_contract() -> None:
    assert verdict_value("shadow worse") == -1
    assert verdict_value("no significant difference") == 0
    assert verdict_value("shadow better") == 1


def test_compare_probabilities() -> None:
    b = np.array([0.1, 0.6, 0.7, 0.2])
    c = np.array([0.2, 0.4, 0.9, 0.1])
    out = compare_predictions(b, c, task="classification", probability_threshold=0.5)
    assert out["matched_pairs"] == 4
    assert out["agreement_rate"] == pytest.approx(0.75)  # 0.6 vs 0.4 disagree
    assert out["mean_abs_diff"] == pytest.approx((0.1 + 0.2 + 0.2 + 0.1) / 4)
    assert out["correlation"] == pytest.approx(np.corrcoef(b, c)[0, 1])


def test_compare_identical_regression() -> None:
    b = np.array([1.0, 2.0, 3.5])
    out = compare_predictions(b, b.copy(), task="regression")
    assert out["agreement_rate"] is None
    assert out["mean_abs_diff"] == 0.0
    assert out["correlation"] == pytest.approx(1.0)


def test_compare_labels_and_empty() -> None:
    out = compare_predictions(np.array(["a", "b"]), np.array(["a", "a"]), task="classification")
    assert out["agreement_rate"] == 0.5
    assert out["mean_abs_diff"] is None
    empty = compare_predictions(np.array([]), np.array([]), task="regression")
    assert empty["matched_pairs"] == 0


def test_correctness_thresholds_probabilities() -> None:
    ok = correctness(np.array([0.7, 0.2, 0.5]), np.array([1.0, 1.0, 1.0]), 0.5)
    assert ok.tolist() == [True, False, True]
    assert correctness(np.array(["x", "y"]), np.array(["x", "x"]), 0.5).tolist() == [True, False]
