"""Test conditions: one table row per behaviour, each with its reason."""

from __future__ import annotations

import pytest

from evaluation.conditions import Condition, ConditionError, ReferenceBound, check

NAN = float("nan")

CASES = [
    # (value, condition, critical, status, reason)
    (0.1, Condition("lt", 0.3), True, "SUCCESS", "0.1 < 0.3 holds"),
    (0.3, Condition("lt", 0.3), True, "FAIL", "lt is strict at the bound"),
    (0.3, Condition("lte", 0.3), True, "SUCCESS", "lte includes the bound"),
    (0.31, Condition("lte", 0.3), False, "WARNING", "non-critical failure is a warning"),
    (5, Condition("gt", 5), True, "FAIL", "gt is strict"),
    (5, Condition("gte", 5), True, "SUCCESS", "gte includes the bound"),
    (False, Condition("eq", False), True, "SUCCESS", "booleans compare with eq"),
    (True, Condition("eq", False), True, "FAIL", "drift detected fails eq False"),
    ("a", Condition("not_eq", "b"), True, "SUCCESS", "not_eq on strings"),
    ("b", Condition("is_in", ["a", "b"]), True, "SUCCESS", "member of the list"),
    ("c", Condition("is_in", ["a", "b"]), True, "FAIL", "not a member"),
    ("c", Condition("not_in", ("a", "b")), True, "SUCCESS", "not_in accepts a tuple"),
    (1.05, Condition("approx", 1.0, rel_tol=0.1), True, "SUCCESS", "within 10 % of 1"),
    (1.2, Condition("approx", 1.0, rel_tol=0.1), True, "FAIL", "outside 10 % of 1"),
    (0.0, Condition("approx", 0.01, abs_tol=0.02), True, "SUCCESS", "absolute tolerance"),
    (1.0 + 1e-9, Condition("approx", 1.0), True, "SUCCESS", "default rel 1e-6 like pytest"),
    (1.01, Condition("approx", 1.0), True, "FAIL", "default tolerance is tight"),
    (None, Condition("lt", 0.3), True, "ERROR", "value could not be computed"),
    (NAN, Condition("lt", 0.3), False, "ERROR", "NaN is an error even when non-critical"),
    (float("inf"), Condition("gt", 0), True, "ERROR", "infinity is not a computed value"),
    ("x", Condition("lt", 0.3), True, "ERROR", "incomparable types are an error, not a crash"),
]


@pytest.mark.parametrize(
    ("value", "condition", "critical", "status"),
    [c[:4] for c in CASES],
    ids=[c[4] for c in CASES],
)
def test_condition_status(value, condition, critical, status):
    result = check("t", value, condition, is_critical=critical, metric_id="m")
    assert result.status == status
    assert result.metric_id == "m"
    assert result.condition["op"] == condition.op


REFERENCE_CASES = [
    # (value, bound, reference, status, reason)
    (0.85, ReferenceBound("gte", rel=0.1), 0.9, "SUCCESS", "0.85 >= 0.9 - 10 % (0.81)"),
    (0.80, ReferenceBound("gte", rel=0.1), 0.9, "FAIL", "0.80 < 0.81"),
    (1.09, ReferenceBound("lte", rel=0.1), 1.0, "SUCCESS", "mae within reference + 10 %"),
    (1.11, ReferenceBound("lte", rel=0.1), 1.0, "FAIL", "mae above reference + 10 %"),
    (0.0, ReferenceBound("lte"), 0.0, "SUCCESS", "no tolerance: not above the reference"),
    (0.01, ReferenceBound("lte"), 0.0, "FAIL", "strictly above a zero reference"),
    (-0.5, ReferenceBound("gte", rel=0.1), -0.5, "SUCCESS", "negative reference uses |r|"),
    (9.5, ReferenceBound("approx", rel=0.1), 10.0, "SUCCESS", "reference ± 10 %"),
    (11.5, ReferenceBound("approx", rel=0.1), 10.0, "FAIL", "outside reference ± 10 %"),
    (0.2, ReferenceBound("lte", abs=0.05), 0.2, "SUCCESS", "absolute slack"),
    (0.2, ReferenceBound("gte", rel=0.1), None, "ERROR", "reference value missing"),
    (None, ReferenceBound("gte", rel=0.1), 0.5, "ERROR", "current value missing"),
]


@pytest.mark.parametrize(
    ("value", "bound", "reference", "status"),
    [c[:4] for c in REFERENCE_CASES],
    ids=[c[4] for c in REFERENCE_CASES],
)
def test_reference_relative_condition_status(value, bound, reference, status):
    result = check("t", value, bound, reference=reference)
    assert result.status == status
    assert result.condition["reference"] == reference


def test_reference_bound_records_the_resolved_operand():
    result = check("acc", 0.85, ReferenceBound("gte", rel=0.1), reference=0.9)
    assert result.condition == {
        "op": "gte",
        "value": pytest.approx(0.81),
        "reference": 0.9,
        "rel": 0.1,
    }
    assert result.description == "0.85, expected >= 0.81"


def test_explicit_error_reason_wins():
    result = check("t", 0.1, Condition("lt", 0.3), error="column absent from the window")
    assert result.status == "ERROR"
    assert result.value is None
    assert "column absent" in result.description


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Condition("between", 1), "unknown condition operator"),  # type: ignore[arg-type]
        (lambda: Condition("approx", 1, abs_tol=-1), "tolerances must be >= 0"),  # negative
        (lambda: Condition("is_in", "abc"), "needs a list"),  # a string is not a list here
        (lambda: ReferenceBound("gte", rel=-0.1), "tolerances must be >= 0"),  # negative
    ],
)
def test_malformed_conditions_are_rejected(make, match):
    with pytest.raises(ConditionError, match=match):
        make()


def test_result_is_json_safe_and_named():
    result = check("data_drift.share", 0.25, Condition("lt", 0.3), metric_id="data_drift")
    assert result.model_dump(mode="json") == {
        "name": "data_drift.share",
        "status": "SUCCESS",
        "description": "0.25, expected < 0.3",
        "metric_id": "data_drift",
        "condition": {"op": "lt", "value": 0.3},
        "value": 0.25,
    }
