"""The Kafka snapshot sink against a real broker: the summary arrives keyed by snapshot id."""

from __future__ import annotations

import orjson
import pytest
from confluent_kafka import Consumer

from publisher.errors import PublishError
from publisher.kafka_sink import KafkaSnapshotSink
from tests.integration.kafka_helpers import FAST_GROUP, create_topic, drain, wait_assigned
from tests.unit.publisher.factories import make_snapshot

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_summary_arrives_on_the_topic_keyed_by_snapshot_id(
    kafka_bootstrap: str, unique: str
) -> None:
    topic = f"snapshots-{unique}"
    create_topic(kafka_bootstrap, topic)
    sink = KafkaSnapshotSink(topic, bootstrap_servers=kafka_bootstrap, delivery_timeout_s=20)
    snaps = [
        make_snapshot(f"snap-{unique}-{i}", project_id="fraud", tests=[("drift", "FAIL")])
        for i in range(3)
    ]
    for snap in snaps:
        sink.publish(snap, None)  # returns only once the broker acknowledged it
    sink.close()

    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": f"g-{unique}", **FAST_GROUP}
    )
    try:
        consumer.subscribe([topic])
        messages = wait_assigned(consumer) + drain(consumer, 3)
    finally:
        consumer.close()
    got = {m.key(): orjson.loads(m.value() or b"") for m in messages[:3]}
    assert set(got) == {s.id.encode() for s in snaps}
    first = got[snaps[0].id.encode()]
    assert first["snapshot_id"] == snaps[0].id
    assert first["project_id"] == "fraud"
    assert first["drifted_columns"] == ["amount"]
    assert first["failed_tests"] == ["drift"]
    assert first["key"] == {"model_id": "fraud", "variant": "champion"}
    headers = dict(messages[0].headers() or [])
    assert headers["content-type"] == b"application/json"


def test_publish_raises_when_the_broker_is_unreachable(unique: str) -> None:
    sink = KafkaSnapshotSink(
        f"nowhere-{unique}", bootstrap_servers="127.0.0.1:1", delivery_timeout_s=2,
        config={"socket.connection.setup.timeout.ms": 1000, "log_level": 0},
    )  # fmt: skip
    with pytest.raises(PublishError, match=r"snapshot 'x'"):
        sink.publish(make_snapshot("x"), None)
