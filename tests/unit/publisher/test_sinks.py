"""The SnapshotSink port and its three sinks (Kafka with an in-memory producer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import polars as pl
import pytest
from prometheus_client import CollectorRegistry

from publisher.errors import PublishError, WorkspaceError
from publisher.kafka_sink import KafkaSnapshotSink, snapshot_summary
from publisher.prometheus import SnapshotMetrics
from publisher.sinks import PrometheusSink, SnapshotSink, WorkspaceSink
from publisher.workspace import Workspace
from tests.unit.publisher.factories import make_snapshot


class FakeProducer:
    """Acknowledges on flush, or fails with ``error``; ``lose`` never calls back."""

    def __init__(self, error: Any = None, *, lose: bool = False, buffer_full: int = 0) -> None:
        self.error, self.lose, self.buffer_full = error, lose, buffer_full
        self.sent: list[dict[str, Any]] = []
        self._pending: list[Callable[[Any, Any], None]] = []

    def produce(self, topic: str, *args: Any, **kwargs: Any) -> None:
        if self.buffer_full:
            self.buffer_full -= 1
            raise BufferError("queue full")
        self.sent.append({"topic": topic, **kwargs})
        self._pending.append(kwargs["on_delivery"])

    def flush(self, timeout: float = 0) -> int:
        if self.lose:
            return len(self._pending)
        for cb in self._pending:
            cb(self.error, None)
        self._pending.clear()
        return 0

    def poll(self, timeout: float = 0) -> int:
        return 0


def test_all_sinks_satisfy_the_protocol(ws: Workspace) -> None:
    sinks: list[SnapshotSink] = [
        WorkspaceSink(ws),
        PrometheusSink(SnapshotMetrics(CollectorRegistry())),
        KafkaSnapshotSink("t", producer=FakeProducer()),
    ]
    assert [s.name for s in sinks] == ["workspace", "prometheus", "kafka"]
    assert all(isinstance(s, SnapshotSink) for s in sinks)


def test_workspace_sink_creates_the_project_and_stores_data(ws: Workspace) -> None:
    sink = WorkspaceSink(ws, include_data=True)
    rows = pl.DataFrame({"a": [1, 2]})
    sink.publish(make_snapshot("s1", project_id="auto"), rows)
    sink.publish(make_snapshot("s1", project_id="auto"), rows)  # a replay is harmless
    assert ws.get_project("auto").name == "auto"
    assert [e.id for e in ws.list_snapshots("auto")] == ["s1"]
    stored = ws.get_snapshot_data("auto", "s1")
    assert stored is not None
    assert stored.equals(rows)
    sink.close()


def test_workspace_sink_configured_project_wins(ws: Workspace, project_id: str) -> None:
    WorkspaceSink(ws, project_id=project_id).publish(make_snapshot("s1", project_id="x"), None)
    assert ws.get_snapshot(project_id, "s1").project_id == project_id


def test_workspace_sink_needs_a_project(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="no project_id"):
        WorkspaceSink(ws).publish(make_snapshot("s1"), None)


def test_prometheus_sink_updates_gauges() -> None:
    registry = CollectorRegistry()
    sink = PrometheusSink(SnapshotMetrics(registry), project="p")
    sink.publish(make_snapshot(), None)
    labels = {"project": "p", "model": "fraud", "variant": "champion"}
    assert registry.get_sample_value("driftsnap_drifted_columns", labels) == 1.0
    sink.close()


def test_summary_is_compact_and_names_what_failed() -> None:
    snap = make_snapshot(
        "s1", project_id="fraud", tags=["champion", "nightly"],
        tests=[("drift_share", "FAIL"), ("missing", "SUCCESS"), ("auc", "ERROR")],
    )  # fmt: skip
    s = snapshot_summary(snap)
    assert s["snapshot_id"] == "s1"
    assert s["project_id"] == "fraud"
    assert s["window"] == {"start": "2026-12-03T09:55:00.000Z", "end": "2026-12-03T10:00:00.000Z"}
    assert s["timestamp"] == "2026-12-03T10:00:00.000Z"
    assert s["key"] == {"model_id": "fraud", "variant": "champion"}
    assert s["dataset_drift"] is False
    assert s["drifted_columns"] == ["amount"]
    assert s["failed_tests"] == ["drift_share"]
    assert s["error_tests"] == ["auc"]
    assert s["test_counts"] == {"SUCCESS": 1, "FAIL": 1, "WARNING": 0, "ERROR": 1}
    assert s["tags"] == ["champion", "nightly"]
    assert len(orjson.dumps(s)) < len(snap.to_json())


def test_kafka_sink_keys_by_snapshot_id_and_waits_for_delivery() -> None:
    producer = FakeProducer()
    KafkaSnapshotSink("snapshots", producer=producer).publish(make_snapshot("s-42"), None)
    [msg] = producer.sent
    assert msg["topic"] == "snapshots"
    assert msg["key"] == b"s-42"
    assert orjson.loads(msg["value"])["snapshot_id"] == "s-42"


def test_kafka_sink_raises_on_delivery_error() -> None:
    sink = KafkaSnapshotSink("t", producer=FakeProducer(error="Broker: not enough replicas"))
    with pytest.raises(PublishError, match="not enough replicas"):
        sink.publish(make_snapshot(), None)


def test_kafka_sink_raises_when_delivery_is_not_confirmed() -> None:
    sink = KafkaSnapshotSink("t", producer=FakeProducer(lose=True), delivery_timeout_s=0.1)
    with pytest.raises(PublishError, match="not confirmed"):
        sink.publish(make_snapshot(), None)


def test_kafka_sink_retries_once_when_the_local_queue_is_full() -> None:
    producer = FakeProducer(buffer_full=1)
    KafkaSnapshotSink("t", producer=producer).publish(make_snapshot(), None)
    assert len(producer.sent) == 1
    with pytest.raises(PublishError, match="queue full"):
        KafkaSnapshotSink("t", producer=FakeProducer(buffer_full=2)).publish(make_snapshot())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"topic": ""}, "topic name is empty"), ({"topic": "t"}, "bootstrap_servers")],
)
def test_kafka_sink_configuration_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        KafkaSnapshotSink(**kwargs)
