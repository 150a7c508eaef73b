"""The snapshot topic: a compact JSON summary of each snapshot for alerting pipelines.

The message key is the snapshot id (so a replayed snapshot lands on the same partition and a
compacted topic keeps one summary per snapshot). ``publish`` returns only once the broker has
acknowledged the message (``acks=all``, idempotent producer); otherwise it raises
``PublishError`` and the service must not treat the window as published.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

import orjson
import polars as pl
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from evaluation.snapshot import Snapshot, clean_json
from publisher.errors import PublishError

log = logging.getLogger(__name__)

SUMMARY_TYPE = "driftsnap.snapshot_summary"
SUMMARY_VERSION = 1


class ProducerLike(Protocol):
    """The part of ``confluent_kafka.Producer`` the sink uses (a fake in unit tests)."""

    def produce(self, topic: str, *args: Any, **kwargs: Any) -> None: ...
    def flush(self, timeout: float = ...) -> int: ...
    def poll(self, timeout: float = ...) -> int: ...


def snapshot_summary(snapshot: Snapshot, project: str | None = None) -> dict[str, Any]:
    """The compact summary published on the snapshot topic."""
    window = snapshot.window
    key = dict(window.key) if window else {}
    drift = snapshot.metric("data_drift")
    result = drift.result if drift else {}
    columns = result.get("columns") or {}
    drifted = sorted(
        name
        for name, info in columns.items()
        if isinstance(info, Mapping) and info.get("drift_detected") is True
    )
    counts = {"SUCCESS": 0, "FAIL": 0, "WARNING": 0, "ERROR": 0}
    for test in snapshot.tests:
        counts[test.status] += 1
    summary = {
        "type": SUMMARY_TYPE,
        "version": SUMMARY_VERSION,
        "snapshot_id": snapshot.id,
        "project_id": project or snapshot.project_id,
        "name": snapshot.name,
        "timestamp": snapshot.model_dump(mode="json", include={"timestamp"})["timestamp"],
        "window": None
        if window is None
        else {k: v for k, v in window.model_dump(mode="json").items() if k != "key"},
        "key": key,
        "model_id": key.get("model_id") or snapshot.metadata.get("model_id"),
        "variant": key.get("variant") or snapshot.metadata.get("variant"),
        "dataset_drift": result.get("dataset_drift") if drift else None,
        "share_of_drifted_columns": result.get("share_of_drifted_columns") if drift else None,
        "number_of_drifted_columns": result.get("number_of_drifted_columns") if drift else None,
        "drifted_columns": drifted,
        "failed_tests": [t.name for t in snapshot.tests if t.status == "FAIL"],
        "error_tests": [t.name for t in snapshot.tests if t.status == "ERROR"],
        "test_counts": counts,
        "tags": list(snapshot.tags),
    }
    out: dict[str, Any] = clean_json(summary)
    return out


class KafkaSnapshotSink:
    """Produce each snapshot's summary to ``topic``, keyed by snapshot id.

    Give ``bootstrap_servers`` (plus any librdkafka ``config``), or an existing ``producer``.
    ``delivery_timeout_s`` bounds how long ``publish`` waits for the acknowledgement.
    """

    name = "kafka"

    def __init__(
        self,
        topic: str,
        *,
        bootstrap_servers: str | None = None,
        config: Mapping[str, Any] | None = None,
        producer: ProducerLike | None = None,
        delivery_timeout_s: float = 30.0,
        project: str | None = None,
    ) -> None:
        if not topic:
            msg = "the snapshot topic name is empty; set it or disable the Kafka sink"
            raise ValueError(msg)
        self.topic = topic
        self.project = project
        self.delivery_timeout_s = delivery_timeout_s
        if producer is None:
            conf: dict[str, Any] = {
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                # librdkafka gives up on its own a little before publish() stops waiting
                "message.timeout.ms": max(1000, int(delivery_timeout_s * 1000)),
            }
            if bootstrap_servers:
                conf["bootstrap.servers"] = bootstrap_servers
            conf.update(config or {})
            if "bootstrap.servers" not in conf:
                msg = "KafkaSnapshotSink needs bootstrap_servers (or a producer)"
                raise ValueError(msg)
            producer = Producer(conf)
        self._producer: ProducerLike = producer

    def publish(self, snapshot: Snapshot, data: pl.DataFrame | None = None) -> None:
        """Produce the summary and wait for the broker's acknowledgement."""
        del data  # the topic carries the summary only
        value = orjson.dumps(snapshot_summary(snapshot, self.project))
        outcome: list[KafkaError | None] = []

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            outcome.append(err)

        def produce() -> None:
            self._producer.produce(
                self.topic,
                value=value,
                key=snapshot.id.encode(),
                headers=[("content-type", b"application/json")],
                on_delivery=on_delivery,
            )

        try:
            try:
                produce()
            except BufferError:  # local queue full: drain it once, then retry
                self._producer.flush(self.delivery_timeout_s)
                produce()
        except (KafkaException, BufferError) as exc:
            msg = f"could not produce snapshot {snapshot.id!r} to topic {self.topic!r}: {exc}"
            raise PublishError(msg) from exc
        remaining = self._producer.flush(self.delivery_timeout_s)
        if not outcome:
            msg = (
                f"snapshot {snapshot.id!r} not confirmed by topic {self.topic!r} within "
                f"{self.delivery_timeout_s}s ({remaining} message(s) still queued); is the "
                "broker reachable?"
            )
            raise PublishError(msg)
        err = outcome[0]
        if err is not None:
            msg = f"delivery of snapshot {snapshot.id!r} to topic {self.topic!r} failed: {err}"
            raise PublishError(msg)
        log.debug("summary delivered topic=%s snapshot=%s", self.topic, snapshot.id)

    def close(self) -> None:
        """Deliver anything still queued (bounded by the delivery timeout)."""
        left = self._producer.flush(self.delivery_timeout_s)
        if left:
            log.warning("snapshot topic closed with messages undelivered count=%d", left)
