"""The data_drift metric result: its shape, options, dataset drift and degenerate columns."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

from evaluation.drift import (
    STATTESTS,
    DriftOptions,
    DriftResult,
    compute_data_drift,
    drift_result_for,
)
from evaluation.errors import DriftInputError
from evaluation.reference import ReferenceProfile
from evaluation.schema import DatasetSchema

RESULT_KEYS = {
    "drift_share",
    "number_of_columns",
    "number_of_drifted_columns",
    "share_of_drifted_columns",
    "dataset_drift",
    "columns",
}
COLUMN_KEYS = {
    "column_type",
    "stattest",
    "stattest_threshold",
    "drift_score",
    "drift_detected",
    "status",
    "current_rows",
    "reference_rows",
    "histogram",
}


@pytest.fixture
def make_frame():  # noqa: ANN201
    def make(n: int, seed: int, shift: float = 0.0) -> pl.DataFrame:
        rng = np.random.default_rng(seed)
        return pl.DataFrame(
            {
                "amount": rng.normal(shift, 1.0, n),
                "age": rng.integers(18, 80, n).astype(np.float64) + shift * 10,
                "country": rng.choice(["DE", "FR", "US"], n, p=[0.5, 0.3, 0.2]).tolist(),
                "is_new": (rng.random(n) < 0.3 + shift / 2).tolist(),
            }
        )

    return make


def _profile(df: pl.DataFrame) -> ReferenceProfile:
    return ReferenceProfile.fit(df, DatasetSchema.infer(df))


def test_result_has_the_snapshot_contract_shape(make_frame) -> None:  # noqa: ANN001
    ref = make_frame(2000, 1)
    result = compute_data_drift(_profile(ref), make_frame(500, 2), DriftOptions())
    assert set(result) == RESULT_KEYS
    assert result["number_of_columns"] == 4
    for entry in result["columns"].values():
        assert set(entry) == COLUMN_KEYS
        assert entry["status"] == "ok"
        assert entry["column_type"] in ("num", "cat")
        assert entry["stattest"] in STATTESTS
    json.dumps(result, allow_nan=False)  # strict JSON: no NaN/inf tokens


def test_defaults_pick_evidently_methods_by_reference_size(make_frame) -> None:  # noqa: ANN001
    big = compute_data_drift(_profile(make_frame(2000, 1)), make_frame(300, 2), DriftOptions())
    cols = big["columns"]
    assert (cols["amount"]["stattest"], cols["amount"]["stattest_threshold"]) == (
        "wasserstein",
        0.1,
    )
    assert cols["country"]["stattest"] == "jensenshannon"
    assert cols["is_new"]["stattest"] == "jensenshannon"
    small = compute_data_drift(_profile(make_frame(800, 1)), make_frame(300, 2), DriftOptions())
    cols = small["columns"]
    assert (cols["amount"]["stattest"], cols["amount"]["stattest_threshold"]) == ("ks", 0.05)
    assert cols["country"]["stattest"] == "chisquare"
    assert cols["is_new"]["stattest"] == "z"


def test_shifted_window_drifts_and_sets_dataset_drift(make_frame) -> None:  # noqa: ANN001
    profile = _profile(make_frame(3000, 1))
    same = compute_data_drift(profile, make_frame(3000, 2), DriftOptions())
    assert same["number_of_drifted_columns"] == 0
    assert same["dataset_drift"] is False
    moved = compute_data_drift(profile, make_frame(3000, 3, shift=0.8), DriftOptions())
    assert moved["number_of_drifted_columns"] >= 2
    assert moved["share_of_drifted_columns"] == moved["number_of_drifted_columns"] / 4
    assert moved["dataset_drift"] is True


def test_dataset_drift_is_share_at_least_drift_share(make_frame) -> None:  # noqa: ANN001
    profile = _profile(make_frame(3000, 1))
    cur = make_frame(3000, 2).with_columns(pl.col("amount") + 5)  # exactly 1 of 4 drifts
    at = compute_data_drift(profile, cur, DriftOptions(drift_share=0.25))
    assert at["number_of_drifted_columns"] == 1
    assert at["dataset_drift"] is True  # 0.25 >= 0.25
    assert (
        compute_data_drift(profile, cur, DriftOptions(drift_share=0.26))["dataset_drift"] is False
    )


def test_method_precedence_column_over_kind_over_global(make_frame) -> None:  # noqa: ANN001
    options = DriftOptions(
        stattest="psi",
        num_stattest="ks",
        per_column_stattest={"age": "ed"},
        threshold=0.2,
        per_column_threshold={"amount": 0.01},
    )
    cols = compute_data_drift(_profile(make_frame(500, 1)), make_frame(400, 2), options)["columns"]
    assert (cols["amount"]["stattest"], cols["amount"]["stattest_threshold"]) == ("ks", 0.01)
    assert (cols["age"]["stattest"], cols["age"]["stattest_threshold"]) == ("ed", 0.2)
    assert (cols["country"]["stattest"], cols["country"]["stattest_threshold"]) == ("psi", 0.2)


def test_unknown_method_is_rejected_with_the_valid_names() -> None:
    with pytest.raises(DriftInputError, match=r"'kolmogorov'.*valid methods: ks, chisquare"):
        DriftOptions(per_column_stattest={"a": "kolmogorov"}).validate()


def test_method_not_applicable_to_a_kind_is_rejected(make_frame) -> None:  # noqa: ANN001
    with pytest.raises(DriftInputError, match="does not apply to cat"):
        DriftOptions(cat_stattest="ks").validate()
    with pytest.raises(DriftInputError, match="'ks' does not apply to cat column 'country'"):
        compute_data_drift(_profile(make_frame(50, 1)), make_frame(50, 2), DriftOptions("ks"))


@pytest.mark.parametrize(
    "options",
    [DriftOptions(threshold=-1.0), DriftOptions(drift_share=1.5), DriftOptions(threshold=math.nan)],
)
def test_bad_thresholds_are_rejected(options: DriftOptions) -> None:
    with pytest.raises(DriftInputError):
        options.validate()


def test_unknown_column_restriction_is_rejected(make_frame) -> None:  # noqa: ANN001
    with pytest.raises(DriftInputError, match="unknown drift column"):
        compute_data_drift(
            _profile(make_frame(50, 1)), make_frame(50, 2), DriftOptions(columns=("nope",))
        )


def test_columns_option_restricts_the_metric(make_frame) -> None:  # noqa: ANN001
    res = compute_data_drift(
        _profile(make_frame(50, 1)), make_frame(50, 2), DriftOptions(columns=("amount",))
    )
    assert list(res["columns"]) == ["amount"]
    assert res["number_of_columns"] == 1


# -- degenerate columns: explicit status, null score, no drift, never NaN -------------------------
def _entry(ref: pl.DataFrame, cur: pl.DataFrame, name: str, **kw: object) -> dict:  # type: ignore[type-arg]
    schema = DatasetSchema.infer(ref)
    res = compute_data_drift(ReferenceProfile.fit(ref, schema), cur, DriftOptions(**kw))  # type: ignore[arg-type]
    json.dumps(res, allow_nan=False)
    return res["columns"][name]  # type: ignore[no-any-return]


def test_empty_current_window(make_frame) -> None:  # noqa: ANN001
    e = _entry(make_frame(100, 1), make_frame(100, 2).head(0), "amount")
    assert (e["status"], e["drift_score"], e["drift_detected"]) == ("empty_current", None, False)
    assert e["stattest"] == "ks"


def test_all_missing_current_column_counts_inf_as_missing() -> None:
    ref = pl.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    cur = pl.DataFrame({"x": [None, math.inf, -math.inf, math.nan]})
    e = _entry(ref, cur, "x")
    assert (e["status"], e["drift_score"], e["drift_detected"]) == ("all_missing", None, False)
    assert e["current_rows"] == 0


def test_window_column_of_only_nulls_has_null_dtype_and_is_all_missing() -> None:
    # a window whose events never carried the feature decodes to a polars Null column
    ref = pl.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    cur = pl.DataFrame({"x": [None, None], "c": [None, None]})
    assert cur.schema["x"] == pl.Null
    assert _entry(ref, cur, "x")["status"] == "all_missing"
    assert _entry(ref, cur, "c")["status"] == "all_missing"


def test_all_missing_reference_column() -> None:
    ref = pl.DataFrame({"x": [None, None]}, schema={"x": pl.Float64})
    e = _entry(ref, pl.DataFrame({"x": [1.0, 2.0]}), "x")
    assert (e["status"], e["drift_score"], e["drift_detected"]) == ("all_missing", None, False)


def test_column_absent_from_the_window(make_frame) -> None:  # noqa: ANN001
    e = _entry(make_frame(100, 1), make_frame(100, 2).drop("country"), "country")
    assert (e["status"], e["drift_score"], e["drift_detected"]) == ("missing_column", None, False)
    assert e["histogram"]["current"] == [0, 0, 0]


def test_constant_reference_with_an_undefined_test() -> None:
    ref = pl.DataFrame({"x": [2.0] * 20})
    e = _entry(ref, pl.DataFrame({"x": [2.0] * 10}), "x", stattest="t_test")
    assert (e["status"], e["drift_score"], e["drift_detected"]) == (
        "constant_reference",
        None,
        False,
    )


def test_constant_reference_with_the_default_test_is_scored_like_evidently() -> None:
    # Evidently normalises Wasserstein by max(std, 0.001): a constant reference still scores
    ref = pl.DataFrame({"x": [2.0] * 2000})
    same = _entry(ref, pl.DataFrame({"x": [2.0] * 10}), "x")
    assert (same["stattest"], same["status"], same["drift_detected"]) == (
        "jensenshannon",
        "ok",
        False,
    )


def test_too_few_current_values_give_insufficient_data() -> None:
    ref = pl.DataFrame({"x": np.arange(50.0)})
    e = _entry(ref, pl.DataFrame({"x": [1.0, 2.0]}), "x", stattest="es")
    assert (e["status"], e["drift_score"], e["drift_detected"]) == (
        "insufficient_data",
        None,
        False,
    )


def test_histograms_share_bins_and_categories(make_frame) -> None:  # noqa: ANN001
    ref, cur = make_frame(1000, 1), make_frame(300, 2, shift=3.0)
    res = compute_data_drift(_profile(ref), cur, DriftOptions())["columns"]
    h = res["amount"]["histogram"]
    assert len(h["bins"]) == len(h["reference"]) + 1 == len(h["current"]) + 1
    assert sum(h["reference"]) == 1000
    assert sum(h["current"]) + sum(h["current_outside"]) == 300
    c = res["country"]["histogram"]
    assert c["categories"] == ["DE", "FR", "US"]
    assert sum(c["reference"]) == 1000
    assert sum(c["current"]) == 300
    lean = compute_data_drift(_profile(ref), cur, DriftOptions(with_histograms=False))
    assert "histogram" not in lean["columns"]["amount"]


def test_categorical_histogram_is_capped_with_an_other_bucket() -> None:
    ref = pl.DataFrame({"c": [f"v{i % 30}" for i in range(300)]})
    h = _entry(ref, ref, "c")["histogram"]
    assert len(h["categories"]) == 20
    assert h["other"] == [100, 100]


def test_target_and_prediction_are_drift_columns_like_evidently() -> None:
    rng = np.random.default_rng(3)
    df = pl.DataFrame(
        {
            "x": rng.normal(size=300),
            "target": rng.integers(0, 2, 300),
            "prediction": rng.random(300),
        }
    )
    res = compute_data_drift(_profile(df), df, DriftOptions())["columns"]
    assert list(res) == ["target", "prediction", "x"]
    assert res["target"]["column_type"] == "cat"  # classification target
    assert res["prediction"]["column_type"] == "num"  # probabilities


def test_drift_result_for_is_a_named_result() -> None:
    rng = np.random.default_rng(5)
    res = drift_result_for("pred", rng.normal(size=500), rng.normal(1, 1, 500), "num")
    assert isinstance(res, DriftResult)
    assert (res.metric, res.threshold, res.drifted, res.status) == ("ks", 0.05, True, "ok")
    assert res.p_value == res.score
    assert res.statistic is not None
    assert 0 <= res.statistic <= 1


def test_window_is_parallel_cleaned_with_the_same_result(make_frame) -> None:  # noqa: ANN001
    import evaluation.drift as drift

    profile = _profile(make_frame(3000, 1))
    cur = make_frame(60_000, 2)
    parallel = compute_data_drift(profile, cur, DriftOptions())  # 240k values: two threads
    old = drift.PARALLEL_WORKERS
    drift.PARALLEL_WORKERS = 1
    try:
        serial = compute_data_drift(profile, cur, DriftOptions())
    finally:
        drift.PARALLEL_WORKERS = old
    assert parallel == serial
