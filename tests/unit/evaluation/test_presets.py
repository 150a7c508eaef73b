"""Presets: which tests each preset produces and how parameters override them."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from evaluation.model_quality import compute_model_quality
from evaluation.presets import (
    Baseline,
    DataDriftParams,
    ModelQualityParams,
    PresetError,
    PresetParams,
    data_drift_tests,
    model_quality_tests,
    run_presets,
    validate_presets,
)
from evaluation.quality import QualityReference, compute_data_quality
from evaluation.schema import DatasetSchema


def _drift_result(share: float, detected: dict[str, bool | None]) -> dict[str, Any]:
    """A data_drift result shaped like the drift developer's contract."""
    return {
        "drift_share": 0.5,
        "number_of_columns": len(detected),
        "number_of_drifted_columns": sum(bool(v) for v in detected.values()),
        "share_of_drifted_columns": share,
        "dataset_drift": share >= 0.5,
        "columns": {
            name: {
                "column_type": "num",
                "stattest": "ks",
                "stattest_threshold": 0.05,
                "drift_score": 0.01 if d else 0.6,
                "drift_detected": d,
                "status": "ok" if d is not None else "missing_column",
            }
            for name, d in detected.items()
        },
    }


def _by_name(tests):
    return {t.name: t for t in tests}


def test_data_drift_preset_has_share_test_and_one_test_per_column():
    tests = _by_name(
        data_drift_tests(
            _drift_result(1 / 3, {"a": True, "b": False, "c": None}), DataDriftParams()
        )
    )
    assert tests["data_drift.share_of_drifted_columns"].status == "FAIL"  # 1/3 >= 0.3
    assert tests["data_drift.column_drift[a]"].status == "WARNING"  # columns non-critical
    assert tests["data_drift.column_drift[b]"].status == "SUCCESS"
    assert tests["data_drift.column_drift[c]"].status == "ERROR"
    assert "missing_column" in tests["data_drift.column_drift[c]"].description


def test_degenerate_drift_column_without_verdict_is_an_error():
    result = _drift_result(0.0, {"a": False})
    result["columns"]["a"] |= {"status": "all_missing", "drift_score": None}
    (_, col) = data_drift_tests(result, DataDriftParams())
    assert col.status == "ERROR"


def test_data_drift_preset_parameters_are_overridable():
    params = PresetParams().with_overrides(
        {"data_drift": {"max_share_drifted": 0.5, "column_tests": False}}
    )
    tests = data_drift_tests(
        _drift_result(1 / 3, {"a": True, "b": False, "c": False}), params.data_drift
    )
    assert [t.name for t in tests] == ["data_drift.share_of_drifted_columns"]
    assert tests[0].status == "SUCCESS"


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"nope": {}}, "unknown preset"),  # preset name typo
        ({"data_drift": {"max_share": 0.1}}, "unknown parameter data_drift.max_share"),  # key typo
        ({"data_drift": {"max_share_drifted": "x"}}, "must be of type float"),  # wrong type
        ({"data_quality": {"max_new_categories": 0.5}}, "must be of type int"),  # int parameter
        ({"regression": {"tolerance": -1}}, "must be >= 0"),  # negative tolerance
    ],
)
def test_bad_preset_parameters_are_rejected(overrides, match):
    with pytest.raises(PresetError, match=match):
        PresetParams().with_overrides(overrides)


def test_unknown_preset_name_is_rejected():
    with pytest.raises(PresetError, match="unknown preset 'drift'"):
        validate_presets(["data_drift", "drift"])


@pytest.fixture
def quality_case():
    ref = pl.DataFrame({"x": [1.0, 2.0, 3.0, None], "c": ["a", "b", "a", "b"]})
    schema = DatasetSchema.infer(ref)
    qref = QualityReference.fit(ref, schema)
    return schema, qref


def test_data_quality_preset_checks_missing_new_categories_range_and_constants(quality_case):
    schema, qref = quality_case
    cur = pl.DataFrame({"x": [1.5, None, None, 9.0], "c": ["a", "z", "a", "a"]})
    res = compute_data_quality(cur, schema, qref)
    tests = _by_name(
        run_presets(["data_quality"], {"data_quality": res}, schema, Baseline(qref.result))
    )
    # reference missing share 0.25 → bound 0.275; current 0.5
    assert tests["data_quality.missing_share[x]"].status == "FAIL"
    assert tests["data_quality.missing_share[c]"].status == "SUCCESS"
    assert tests["data_quality.new_categories[c]"].status == "FAIL"  # "z" is new
    assert tests["data_quality.out_of_reference_range[x]"].status == "FAIL"  # 9 > 3
    assert tests["data_quality.constant_columns"].status == "SUCCESS"


def test_data_quality_preset_errors_for_absent_column(quality_case):
    schema, qref = quality_case
    res = compute_data_quality(pl.DataFrame({"c": ["a"]}), schema, qref)
    tests = _by_name(
        run_presets(["data_quality"], {"data_quality": res}, schema, Baseline(qref.result))
    )
    assert tests["data_quality.missing_share[x]"].status == "ERROR"
    assert tests["data_quality.out_of_reference_range[x]"].status == "ERROR"


def _clf(y, p):
    df = pl.DataFrame({"target": y, "prediction": p})
    return compute_model_quality(df, DatasetSchema.infer(df, task="classification"))


def test_classification_preset_compares_with_reference_within_tolerance():
    ref = _clf([0, 1, 0, 1, 0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1, 0, 1, 0, 0])  # acc 0.9
    cur = _clf([0, 1, 0, 1, 0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1, 0, 1, 1, 0])  # acc 0.8
    tests = _by_name(model_quality_tests("classification", cur, ref, ModelQualityParams()))
    assert set(tests) == {
        "classification.accuracy",
        "classification.precision",
        "classification.recall",
        "classification.f1",
    }
    assert tests["classification.accuracy"].status == "FAIL"  # 0.8 < 0.9 * 0.9 = 0.81
    loose = model_quality_tests("classification", cur, ref, ModelQualityParams(tolerance=0.2))
    assert _by_name(loose)["classification.accuracy"].status == "SUCCESS"


def test_regression_preset_lower_is_better_for_errors():
    def reg(y, p):
        df = pl.DataFrame({"target": y, "prediction": p})
        return compute_model_quality(df, DatasetSchema.infer(df, task="regression"))

    ref = reg([1.0, 2.0, 3.0, 4.0], [1.1, 2.1, 3.1, 4.1])
    cur = reg([1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 4.5])
    tests = _by_name(model_quality_tests("regression", cur, ref, ModelQualityParams()))
    assert tests["regression.mae"].status == "FAIL"
    assert tests["regression.r2"].status == "FAIL"
    assert tests["regression.mae"].condition["op"] == "lte"


def test_model_preset_is_skipped_without_labelled_window_and_errors_without_reference():
    cur = _clf([0, 1], [0, 1])
    assert model_quality_tests("classification", None, cur, ModelQualityParams()) == []
    (err,) = model_quality_tests("classification", cur, None, ModelQualityParams())
    assert err.status == "ERROR"
    assert "reference has no classification" in err.description
