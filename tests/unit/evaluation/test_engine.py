"""The engine: Evaluator built once per reference, Snapshot per window, deterministic ids."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import orjson
import polars as pl
import pytest

from evaluation import (
    DatasetSchema,
    DriftOptions,
    EvaluationSpec,
    Evaluator,
    ReferenceProfile,
    Snapshot,
    WindowInfo,
    compute_snapshot,
)

TS = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _frame(n: int, seed: int, shift: float = 0.0, labels: bool = True) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    data = {
        "event_id": [f"e{seed}-{i}" for i in range(n)],
        "amount": rng.normal(shift, 1.0, n),
        "age": rng.integers(18, 80, n).astype(float),
        "country": rng.choice(["DE", "FR", "US"], n),
        "prediction": rng.random(n),
    }
    if labels:
        data["target"] = rng.integers(0, 2, n)
    return pl.DataFrame(data)


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    ref = _frame(600, 1)
    return Evaluator(ReferenceProfile.fit(ref, DatasetSchema.infer(ref)))


def test_snapshot_has_the_three_metrics_and_default_presets(evaluator):
    snap = evaluator.evaluate(_frame(300, 2, shift=1.0), timestamp=TS, project_id="p")
    assert [m.type for m in snap.metrics] == ["data_drift", "data_quality", "model_quality"]
    assert [m.id for m in snap.metrics] == ["data_drift", "data_quality", "model_quality"]
    names = {t.name for t in snap.tests}
    assert "data_drift.share_of_drifted_columns" in names
    assert "data_drift.column_drift[amount]" in names
    assert "data_quality.new_categories[country]" in names
    assert "classification.roc_auc" in names
    drift = snap.metric("data_drift")
    assert drift is not None
    assert drift.result["columns"]["amount"]["drift_detected"] is True
    assert snap.metadata["batch_size"] == 300
    assert snap.metadata["reference_id"] == evaluator.reference_id
    assert snap.metadata["dataset_id"] is None
    assert snap.metadata["insufficient_data"] is False


def test_snapshot_round_trips_byte_identically_and_is_strict_json(evaluator):
    cur = _frame(200, 3).with_columns(
        pl.when(pl.col("age") > 70).then(float("nan")).otherwise(pl.col("age")).alias("age")
    )
    snap = evaluator.evaluate(cur, timestamp=TS, tags=["champion"], metadata={"team": "risk"})
    data = snap.to_json()
    assert Snapshot.from_json(data).to_json() == data
    assert b"NaN" not in data
    assert b"Infinity" not in data
    parsed = orjson.loads(data)  # orjson rejects NaN/Infinity tokens: strict JSON
    assert parsed["metadata"]["team"] == "risk"
    assert parsed["tags"] == ["champion"]


def test_model_quality_only_with_labelled_rows(evaluator):
    unlabelled = _frame(200, 4, labels=False)
    snap = evaluator.evaluate(unlabelled, timestamp=TS)
    assert snap.metric("model_quality") is None
    assert not any(t.name.startswith("classification.") for t in snap.tests)  # skipped
    nulls = _frame(50, 5).with_columns(pl.lit(None, dtype=pl.Int64).alias("target"))
    assert evaluator.evaluate(nulls, timestamp=TS).metric("model_quality") is None


def test_insufficient_data_is_a_snapshot_with_one_error_test(evaluator):
    snap = evaluator.evaluate(_frame(5, 6), timestamp=TS, min_rows=100)
    assert snap.metadata["insufficient_data"] is True
    assert snap.metadata["batch_size"] == 5
    assert [(t.name, t.status) for t in snap.tests] == [("insufficient_data", "ERROR")]
    assert snap.metric("data_drift") is not None


def test_empty_window_and_absent_column_do_not_crash(evaluator):
    empty = evaluator.evaluate(_frame(10, 7).head(0), timestamp=TS)
    assert empty.metadata["batch_size"] == 0
    assert Snapshot.from_json(empty.to_json()).to_json() == empty.to_json()
    absent = evaluator.evaluate(_frame(100, 7).drop("country"), timestamp=TS)
    quality = absent.metric("data_quality")
    assert quality is not None
    assert quality.result["columns"]["country"]["status"] == "absent"
    by_name = {t.name: t for t in absent.tests}
    assert by_name["data_quality.missing_share[country]"].status == "ERROR"
    assert by_name["data_drift.column_drift[country]"].status == "ERROR"


def test_ids_are_deterministic_and_depend_on_window_and_spec(evaluator):
    cur = _frame(100, 8)
    a = evaluator.evaluate(cur, timestamp=TS)
    b = evaluator.evaluate(cur, timestamp=TS)
    assert a.id == b.id
    assert a.to_json() == b.to_json()
    assert evaluator.evaluate(_frame(100, 9), timestamp=TS).id != a.id
    w1 = WindowInfo(start=TS, end=TS.replace(minute=5), key={"model": "fraud", "variant": "a"})
    w2 = WindowInfo(start=TS, end=TS.replace(minute=5), key={"model": "fraud", "variant": "b"})
    s1 = evaluator.evaluate(cur, window=w1, project_id="p")
    assert s1.timestamp == w1.end  # the window end by default
    assert s1.metadata["model_id"] == "fraud"  # from the window key
    assert s1.id == evaluator.evaluate(_frame(50, 10), window=w1, project_id="p").id
    assert s1.id != evaluator.evaluate(cur, window=w2, project_id="p").id
    other = Evaluator(evaluator.profile, EvaluationSpec(drift=DriftOptions(stattest="psi")))
    assert other.evaluate(cur, timestamp=TS).id != a.id


def test_spec_hash_is_stable_and_sensitive():
    assert EvaluationSpec().spec_hash() == EvaluationSpec().spec_hash()
    assert EvaluationSpec(quality=False).spec_hash() != EvaluationSpec().spec_hash()
    per_col = EvaluationSpec(drift=DriftOptions(per_column_threshold={"a": 0.1, "b": 0.2}))
    reordered = EvaluationSpec(drift=DriftOptions(per_column_threshold={"b": 0.2, "a": 0.1}))
    assert per_col.spec_hash() == reordered.spec_hash()


def test_custom_metadata_cannot_override_engine_builtins(evaluator):
    snap = evaluator.evaluate(
        _frame(20, 11),
        timestamp=TS,
        metadata={"batch_size": 999, "reference_id": "x", "model_id": "m", "dataset_id": "d"},
    )
    assert snap.metadata["batch_size"] == 20
    assert snap.metadata["reference_id"] == evaluator.reference_id
    assert (snap.metadata["model_id"], snap.metadata["dataset_id"]) == ("m", "d")


def test_quality_off_and_no_presets():
    ref = _frame(100, 12)
    snap = compute_snapshot(
        ref, _frame(100, 13), spec=EvaluationSpec(quality=False, presets=()), timestamp=TS
    )
    assert [m.type for m in snap.metrics] == ["data_drift", "model_quality"]
    assert snap.tests == []


def test_regression_reference_gets_the_regression_preset():
    rng = np.random.default_rng(3)
    x = rng.normal(size=400)
    ref = pl.DataFrame({"x": x, "target": 3 * x + rng.normal(size=400), "prediction": 3 * x})
    snap = compute_snapshot(ref, ref.sample(200, seed=1), timestamp=TS)
    mq = snap.metric("model_quality")
    assert mq is not None
    assert mq.result["task"] == "regression"
    assert {t.name for t in snap.tests} >= {"regression.mae", "regression.r2"}


def test_timestamp_or_window_is_required(evaluator):
    with pytest.raises(ValueError, match="give a timestamp"):
        evaluator.evaluate(_frame(5, 14))


def test_snapshot_for_fifty_columns_stays_small():
    rng = np.random.default_rng(0)
    ref = pl.DataFrame({f"f{i}": rng.normal(size=10_000) for i in range(50)})
    cur = pl.DataFrame({f"f{i}": rng.normal(0.1 * (i % 3), size=10_000) for i in range(50)})
    size = len(compute_snapshot(ref, cur, timestamp=TS).to_json())
    # Evidently 0.6.7 writes ~775 KB for 50 numerical columns (issue 4); stay under 10 %
    assert size < 77_500
