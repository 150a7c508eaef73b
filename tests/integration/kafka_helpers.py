"""Small helpers for tests against a real broker."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, Message
from confluent_kafka.admin import AdminClient, NewTopic

# consumer settings that keep group joins short on a test broker
FAST_GROUP: dict[str, Any] = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 500,
    "auto.offset.reset": "earliest",
    "fetch.wait.max.ms": 50,
}


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        md = admin.list_topics(name, timeout=5)
        t = md.topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == partitions:
            return
        time.sleep(0.1)
    raise TimeoutError(f"topic {name} not visible with {partitions} partitions")


def wait_assigned(consumer: Consumer, timeout: float = 30) -> list[Message]:
    """Poll until the group gave this consumer partitions; return the messages that arrived
    meanwhile (the poll that delivers the assignment can already return records)."""
    deadline, early = time.monotonic() + timeout, []
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise TimeoutError("no partition assignment")
        m = consumer.poll(0.05)
        if m is not None and not m.error():
            early.append(m)
    return early


def drain(consumer: Consumer, expected: int, timeout: float = 60) -> list[Message]:
    """Consume until ``expected`` messages arrived or ``timeout`` passed."""
    out: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(out) < expected and time.monotonic() < deadline:
        for m in consumer.consume(1000, 0.2):
            if m.error() is None:
                out.append(m)
    return out
