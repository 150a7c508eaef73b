"""Snapshot gauges and service metrics, read back through the exposition format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from evaluation.snapshot import MetricResult, Snapshot, WindowInfo
from publisher.prometheus import SNAPSHOT_GAUGES, ServiceMetrics, SnapshotMetrics, series_key
from tests.unit.publisher.factories import T0, make_snapshot

KEY = {"project": "fraud", "model": "fraud", "variant": "champion"}


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def gauges(registry: CollectorRegistry) -> SnapshotMetrics:
    return SnapshotMetrics(registry, clock=lambda: 1_700_000_000.0)


def _families(registry: CollectorRegistry) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = generate_latest(registry).decode()
    return {
        f.name: [(dict(s.labels), s.value) for s in f.samples]
        for f in text_string_to_metric_families(text)
    }


def _full() -> Snapshot:
    return make_snapshot(
        "s1",
        project_id="fraud",
        missing={"amount": 0.0, "age": 0.25, "country": 0.1},
        quality={"accuracy": 0.91, "f1": 0.8, "roc_auc": 0.95, "confusion_matrix": [[1, 2]],
                 "label": "x", "flag": True, "nan_metric": None},
        tests=[("a", "SUCCESS"), ("b", "FAIL"), ("c", "FAIL"), ("d", "WARNING")],
    )  # fmt: skip


def test_snapshot_gauges_in_the_exposition(
    registry: CollectorRegistry, gauges: SnapshotMetrics
) -> None:
    gauges.update(_full())
    fam = _families(registry)
    assert fam["driftsnap_dataset_drift"] == [(KEY, 0.0)]
    assert fam["driftsnap_drifted_columns"] == [(KEY, 1.0)]
    [(labels, share)] = fam["driftsnap_drifted_columns_share"]
    assert labels == KEY
    assert share == pytest.approx(1 / 3)
    scores = {(s["column"], s["method"]): v for s, v in fam["driftsnap_column_drift_score"]}
    assert scores == {("amount", "ks"): 0.001, ("age", "wasserstein"): 0.02,
                      ("country", "chisquare"): 0.3}  # fmt: skip
    detected = {s["column"]: v for s, v in fam["driftsnap_column_drift_detected"]}
    assert detected == {"amount": 1.0, "age": 0.0, "country": 0.0}
    missing = {s["column"]: v for s, v in fam["driftsnap_column_missing_share"]}
    assert missing == {"amount": 0.0, "age": 0.25, "country": 0.1}
    quality = {s["metric"]: v for s, v in fam["driftsnap_model_quality"]}
    assert quality == {"accuracy": 0.91, "f1": 0.8, "roc_auc": 0.95}  # non-numeric ignored
    tests = {s["status"]: v for s, v in fam["driftsnap_tests"]}
    assert tests == {"SUCCESS": 1.0, "FAIL": 2.0, "WARNING": 1.0, "ERROR": 0.0}
    assert fam["driftsnap_window_end_timestamp_seconds"] == [(KEY, T0.timestamp())]
    assert fam["driftsnap_window_rows"] == [(KEY, 1000.0)]
    assert fam["driftsnap_last_snapshot_timestamp_seconds"] == [(KEY, 1_700_000_000.0)]
    assert fam["driftsnap_columns_not_exported"] == [(KEY, 0.0)]
    assert set(SNAPSHOT_GAUGES) <= set(fam)


def test_get_sample_value_reads_single_series(
    registry: CollectorRegistry, gauges: SnapshotMetrics
) -> None:
    gauges.update(_full())
    labels = {**KEY, "column": "amount", "method": "ks"}
    assert registry.get_sample_value("driftsnap_column_drift_detected", labels) == 1.0
    assert registry.get_sample_value("driftsnap_tests", {**KEY, "status": "ERROR"}) == 0.0


def test_all_four_test_statuses_are_present_even_without_tests(
    registry: CollectorRegistry, gauges: SnapshotMetrics
) -> None:
    snap = make_snapshot(project_id="fraud").model_copy(update={"tests": []})
    gauges.update(snap)
    for status in ("SUCCESS", "FAIL", "WARNING", "ERROR"):
        assert registry.get_sample_value("driftsnap_tests", {**KEY, "status": status}) == 0.0


def test_latest_window_replaces_previous_and_stale_columns_vanish(
    registry: CollectorRegistry, gauges: SnapshotMetrics
) -> None:
    gauges.update(_full())
    later = make_snapshot(
        "s2", project_id="fraud", end=T0 + timedelta(minutes=5),
        columns={"amount": ("psi", 0.4, True)}, missing={"amount": 0.5},
    )  # fmt: skip
    gauges.update(later)
    fam = _families(registry)
    assert [s["column"] for s, _ in fam["driftsnap_column_drift_score"]] == ["amount"]
    assert [s["method"] for s, _ in fam["driftsnap_column_drift_score"]] == ["psi"]
    assert [s["column"] for s, _ in fam["driftsnap_column_missing_share"]] == ["amount"]
    assert "driftsnap_model_quality" not in fam or fam["driftsnap_model_quality"] == []
    end = registry.get_sample_value("driftsnap_window_end_timestamp_seconds", KEY)
    assert end == (T0 + timedelta(minutes=5)).timestamp()
    assert registry.get_sample_value("driftsnap_dataset_drift", KEY) == 1.0


def test_keys_are_independent(registry: CollectorRegistry, gauges: SnapshotMetrics) -> None:
    gauges.update(make_snapshot("c", project_id="fraud", variant="champion"))
    gauges.update(make_snapshot("s", project_id="fraud", variant="shadow",
                                columns={"x": ("ks", 0.5, False)}))  # fmt: skip
    shadow = {**KEY, "variant": "shadow"}
    assert registry.get_sample_value("driftsnap_drifted_columns", KEY) == 1.0
    assert registry.get_sample_value("driftsnap_drifted_columns", shadow) == 0.0
    gauges.forget(series_key(make_snapshot(project_id="fraud", variant="shadow")))
    assert registry.get_sample_value("driftsnap_drifted_columns", shadow) is None
    assert registry.get_sample_value("driftsnap_drifted_columns", KEY) == 1.0


def test_column_cap_keeps_drifted_columns_first_and_counts_the_rest(
    registry: CollectorRegistry,
) -> None:
    gauges = SnapshotMetrics(registry, max_columns=3)
    columns = {f"c{i:02d}": ("ks", 0.5, False) for i in range(10)}
    columns["z_drifted"] = ("ks", 0.001, True)
    gauges.update(make_snapshot(project_id="fraud", columns=columns, missing={"c09": 0.1}))
    fam = _families(registry)
    exported = sorted(s["column"] for s, _ in fam["driftsnap_column_drift_score"])
    assert exported == ["c00", "c01", "z_drifted"]
    assert fam["driftsnap_column_missing_share"] == []
    assert registry.get_sample_value("driftsnap_columns_not_exported", KEY) == 8.0


def test_null_drift_score_exports_no_series(
    registry: CollectorRegistry, gauges: SnapshotMetrics
) -> None:
    gauges.update(make_snapshot(project_id="fraud", columns={"a": ("ks", None, False)}))
    labels = {**KEY, "column": "a", "method": "ks"}
    assert registry.get_sample_value("driftsnap_column_drift_score", labels) is None
    assert registry.get_sample_value("driftsnap_column_drift_detected", labels) == 0.0


def test_key_falls_back_to_metadata_and_defaults() -> None:
    snap = Snapshot(id="x", timestamp=T0, metadata={"model_id": "m1"})
    assert series_key(snap) == series_key(snap, None)
    key = series_key(snap, "proj")
    assert (key.project, key.model, key.variant) == ("proj", "m1", "default")
    windowed = snap.model_copy(
        update={"window": WindowInfo(start=T0, end=T0, key={"model_id": "m2", "variant": "v"})}
    )
    key = series_key(windowed)
    assert (key.project, key.model, key.variant) == ("default", "m2", "v")


def test_snapshot_without_drift_metric_exports_only_what_it_has(
    registry: CollectorRegistry, gauges: SnapshotMetrics
) -> None:
    snap = Snapshot(
        id="q", project_id="fraud", timestamp=T0, metadata={"model_id": "fraud"},
        metrics=[MetricResult(id="mq", type="model_quality", result={"mae": 1.5, "rmse": 2.0})],
    )  # fmt: skip
    gauges.update(snap)
    k = {**KEY, "variant": "default"}
    assert registry.get_sample_value("driftsnap_model_quality", {**k, "metric": "mae"}) == 1.5
    assert registry.get_sample_value("driftsnap_dataset_drift", k) is None
    assert registry.get_sample_value("driftsnap_columns_not_exported", k) is None


def test_negative_column_cap_is_rejected(registry: CollectorRegistry) -> None:
    with pytest.raises(ValueError, match="max_columns"):
        SnapshotMetrics(registry, max_columns=-1)


def test_service_metrics_names_and_labels(registry: CollectorRegistry) -> None:
    m = ServiceMetrics(registry, version="1.2.3")
    m.events_consumed.labels(topic="events").inc(10)
    m.events_rejected.labels(reason="not_json").inc()
    m.events_late.labels(model="fraud").inc(2)
    m.windows_open.set(4)
    m.windows_closed.inc()
    m.snapshots_published.labels(project="fraud", sink="workspace").inc()
    m.evaluation_seconds.observe(0.2)
    m.publish_failures.labels(sink="kafka").inc()
    m.set_lag({("events", 0): 5, ("events", 1): 7})
    m.watermark.set(1_700_000_000)
    m.rows_held.set(1234)
    get = registry.get_sample_value
    assert get("driftsnap_events_consumed_total", {"topic": "events"}) == 10
    assert get("driftsnap_events_rejected_total", {"reason": "not_json"}) == 1
    assert get("driftsnap_events_late_total", {"model": "fraud"}) == 2
    assert get("driftsnap_windows_open") == 4
    assert get("driftsnap_windows_closed_total") == 1
    assert get("driftsnap_snapshots_published_total", {"project": "fraud", "sink": "workspace"})
    assert get("driftsnap_evaluation_seconds_count") == 1
    assert get("driftsnap_evaluation_seconds_bucket", {"le": "0.25"}) == 1
    assert get("driftsnap_publish_failures_total", {"sink": "kafka"}) == 1
    assert get("driftsnap_consumer_lag_messages", {"topic": "events", "partition": "1"}) == 7
    assert get("driftsnap_watermark_timestamp_seconds") == 1_700_000_000
    assert get("driftsnap_rows_held") == 1234
    assert get("driftsnap_up") == 1
    info = _families(registry)["driftsnap_build_info"]
    assert info[0][0]["version"] == "1.2.3"
    assert info[0][1] == 1


def test_revoked_partitions_lose_their_lag_series(registry: CollectorRegistry) -> None:
    m = ServiceMetrics(registry)
    m.set_lag({("events", 0): 5, ("events", 1): 7})
    m.set_lag({("events", 1): 3})
    get = registry.get_sample_value
    assert get("driftsnap_consumer_lag_messages", {"topic": "events", "partition": "0"}) is None
    assert get("driftsnap_consumer_lag_messages", {"topic": "events", "partition": "1"}) == 3


def test_both_metric_sets_share_one_registry_without_clashes(registry: CollectorRegistry) -> None:
    ServiceMetrics(registry)
    SnapshotMetrics(registry).update(_full())
    names = set(_families(registry))
    assert "driftsnap_dataset_drift" in names
    assert "driftsnap_events_consumed" in names  # the parser strips _total from counter names


def test_an_older_window_finishing_late_does_not_replace_the_latest() -> None:
    """Windows may finish out of order (two evaluation workers, a retried sink)."""

    def snap(end_minute: int) -> Snapshot:
        end = datetime(2026, 12, 3, 10, end_minute, tzinfo=UTC)
        start = datetime(2026, 12, 3, 10, end_minute - 1, tzinfo=UTC)
        return Snapshot(
            id=f"s{end_minute}",
            project_id="p",
            timestamp=end,
            window=WindowInfo(start=start, end=end, key={"model_id": "m", "variant": "v"}),
            metadata={"model_id": "m", "batch_size": end_minute},
        )

    registry = CollectorRegistry()
    metrics = SnapshotMetrics(registry)
    labels = {"project": "p", "model": "m", "variant": "v"}
    metrics.update(snap(5))
    metrics.update(snap(3))  # older, finished later
    assert registry.get_sample_value("driftsnap_window_rows", labels) == 5
    metrics.update(snap(6))
    assert registry.get_sample_value("driftsnap_window_rows", labels) == 6
