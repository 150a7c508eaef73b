"""Rejected records reach the dead-letter topic with their raw bytes, key and headers."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer

from consumer.deadletter import KafkaDeadLetterProducer
from consumer.decode import DecodeBounds, decode_batch
from consumer.errors import DeadLetterError
from consumer.mapping import ColumnMapping, EventSchema, ModelSchema
from tests.integration.kafka_helpers import FAST_GROUP, create_topic, drain, wait_assigned

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

NOW_MS = 1_796_292_902_120
SCHEMA = EventSchema(ColumnMapping(), {"fraud": ModelSchema({"amount": "num"})})


def test_poison_messages_reach_dead_letter_topic_with_headers(
    kafka_bootstrap: str, unique: str
) -> None:
    dlq = f"dlq-{unique}"
    create_topic(kafka_bootstrap, dlq)
    values: list[bytes | None] = [
        b'{"model_id": "fraud", "features": {"amount": 1}}',
        b"{oops",
        b'{"model_id": "nobody", "features": {}}',
        None,
    ]
    decoded = decode_batch(
        values,
        [2] * 4,
        [40, 41, 42, 43],
        [NOW_MS] * 4,
        "events",
        SCHEMA,
        DecodeBounds(),
        NOW_MS,
        keys=[b"k0", b"k1", b"k2", None],
    )
    assert decoded.frame.height == 1
    sink = KafkaDeadLetterProducer({"bootstrap.servers": kafka_bootstrap}, dlq)
    for r in decoded.rejected:
        sink.send(r)
    sink.flush(30)
    assert sink.pending == 0

    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": f"g-{unique}", **FAST_GROUP}
    )
    consumer.subscribe([dlq])
    early = wait_assigned(consumer)
    got = early + drain(consumer, 3 - len(early), timeout=30)
    consumer.close()
    assert len(got) == 3
    records = [(m.key(), m.value(), dict(m.headers() or [])) for m in got]
    assert [(k, v) for k, v, _ in records] == [(b"k1", b"{oops"), (b"k2", values[2]), (None, None)]
    reasons = [h["driftsnap.reason"] for _, _, h in records]
    assert reasons == [b"not_json", b"unknown_model", b"not_json"]
    for (_, _, h), offset in zip(records, [41, 42, 43], strict=True):
        assert h["driftsnap.source.topic"] == b"events"
        assert h["driftsnap.source.partition"] == b"2"
        assert h["driftsnap.source.offset"] == str(offset).encode()
        assert h["driftsnap.error"]
    assert b"nobody" in records[1][2]["driftsnap.error"]


def test_flush_raises_when_delivery_cannot_be_confirmed(unique: str) -> None:
    # nothing listens on port 1: the record can never be acknowledged
    sink = KafkaDeadLetterProducer(
        {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 500, "log_level": 0},
        f"dlq-{unique}",
    )
    decoded = decode_batch([b"x"], [0], [0], [NOW_MS], "events", SCHEMA, DecodeBounds(), NOW_MS)
    sink.send(decoded.rejected[0])
    with pytest.raises(DeadLetterError, match="failed|unconfirmed"):
        sink.flush(5)
