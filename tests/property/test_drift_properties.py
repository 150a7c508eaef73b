"""Invariants of the drift methods (Hypothesis): a sample against itself never drifts,
scores ignore row order, KS lies in [0, 1], PSI(ref, ref) == 0."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation.drift import DriftOptions, compute_data_drift, drift_result_for
from evaluation.reference import ReferenceProfile
from evaluation.schema import DatasetSchema

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
numbers = st.lists(finite, min_size=1, max_size=60)
few_values = st.lists(st.sampled_from([0.0, 1.0, 2.5, 7.0]), min_size=1, max_size=60)
categories = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=60)

# methods whose verdict on identical samples is deterministic (no permutation estimate)
SELF_NUM = [
    "ks", "wasserstein", "jensenshannon", "psi", "kl_div", "hellinger", "ed", "t_test",
    "mannw", "cramer_von_mises", "anderson", "chisquare", "z",
]  # fmt: skip
SELF_CAT = ["chisquare", "z", "jensenshannon", "psi", "kl_div", "hellinger", "TVD", "g_test"]


def never_drifts_against_itself(values: list, kind: str, method: str | None) -> bool:  # type: ignore[type-arg]
    res = drift_result_for("v", values, values, kind, method)  # type: ignore[arg-type]
    return res.drifted is False


@FAST
@given(values=st.one_of(numbers, few_values), method=st.sampled_from([None, *SELF_NUM]))
def test_numerical_sample_never_drifts_against_itself(values: list, method: str | None) -> None:  # type: ignore[type-arg]
    assert never_drifts_against_itself(values, "num", method)


@FAST
@given(values=categories, method=st.sampled_from([None, *SELF_CAT]))
def test_categorical_sample_never_drifts_against_itself(values: list, method: str | None) -> None:  # type: ignore[type-arg]
    assert never_drifts_against_itself(values, "cat", method)


@FAST
@given(ref=numbers, cur=numbers)
def test_ks_statistic_and_p_value_lie_in_unit_interval(ref: list, cur: list) -> None:  # type: ignore[type-arg]
    res = drift_result_for("v", ref, cur, "num", "ks")
    assert res.statistic is not None
    assert res.p_value is not None
    assert 0.0 <= res.statistic <= 1.0
    assert 0.0 <= res.p_value <= 1.0


@FAST
@given(values=st.one_of(numbers, few_values))
def test_psi_of_reference_against_itself_is_zero(values: list) -> None:  # type: ignore[type-arg]
    for binning in ("evidently", "reference"):
        res = drift_result_for("v", values, values, "num", "psi", binning=binning)  # type: ignore[arg-type,unused-ignore]
        assert res.score == pytest.approx(0.0, abs=1e-12)


@FAST
@given(
    ref=st.lists(finite, min_size=2, max_size=40),
    cur=st.lists(finite, min_size=2, max_size=40),
    cats=st.lists(st.sampled_from(["a", "b", "c"]), min_size=40, max_size=40),
    seed=st.integers(0, 2**32 - 1),
)
def test_scores_ignore_row_order(ref: list, cur: list, cats: list, seed: int) -> None:  # type: ignore[type-arg]
    n = min(len(ref), len(cur))
    ref_df = pl.DataFrame({"x": ref[:n], "c": cats[:n]})
    cur_df = pl.DataFrame({"x": cur[:n], "c": cats[-n:]})
    perm = np.random.default_rng(seed).permutation(n)
    profile = ReferenceProfile.fit(ref_df, DatasetSchema.infer(ref_df))
    shuffled_profile = ReferenceProfile.fit(ref_df[perm], DatasetSchema.infer(ref_df))
    for method in ("ks", "wasserstein", "psi", "ed", "anderson"):
        opts = DriftOptions(num_stattest=method, cat_stattest="chisquare")
        a = compute_data_drift(profile, cur_df, opts)["columns"]
        b = compute_data_drift(shuffled_profile, cur_df[perm[::-1]], opts)["columns"]
        for col in ("x", "c"):
            assert a[col]["drift_detected"] == b[col]["drift_detected"]
            if a[col]["drift_score"] is None:
                assert b[col]["drift_score"] is None
            else:
                assert b[col]["drift_score"] == pytest.approx(
                    a[col]["drift_score"], rel=1e-9, abs=1e-12
                )
