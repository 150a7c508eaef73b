"""KafkaSource: batches, explicit commits, resume from the committed frontier, lag."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Producer

from consumer.source import KafkaSource, Partitions, RawBatch
from tests.integration.kafka_helpers import FAST_GROUP, create_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def produce(bootstrap: str, topic: str, n: int, partitions: int) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(n):
        p.produce(
            topic, value=f'{{"i": {i}}}'.encode(), key=str(i).encode(), partition=i % partitions
        )
    assert p.flush(30) == 0


class Recorder:
    def __init__(self) -> None:
        self.assigned: list[Partitions] = []
        self.revoked: list[Partitions] = []

    def source(self, bootstrap: str, group: str, topic: str) -> KafkaSource:
        config = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            **FAST_GROUP,
            "enable.partition.eof": True,
        }
        return KafkaSource(config, [topic], self.assigned.append, self.revoked.append)


def read(source: KafkaSource, n: int, timeout: float = 60) -> RawBatch:
    out = RawBatch()
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        b = source.poll_batch(500, 0.2)
        for name in ("values", "keys", "topics", "partitions", "offsets", "timestamps_ms"):
            getattr(out, name).extend(getattr(b, name))
    return out


def test_commit_then_resume_at_the_committed_frontier(kafka_bootstrap: str, unique: str) -> None:
    topic, group = f"src-{unique}", f"g-{unique}"
    create_topic(kafka_bootstrap, topic, partitions=2)
    produce(kafka_bootstrap, topic, 40, 2)

    rec = Recorder()
    first = rec.source(kafka_bootstrap, group, topic)
    batch = read(first, 40)
    assert len(batch) == 40
    assert rec.assigned == [[(topic, 0), (topic, 1)]]
    assert all(t is not None and t > 0 for t in batch.timestamps_ms)
    assert sorted(zip(batch.partitions, batch.offsets, strict=True)) == [
        (p, o) for p in (0, 1) for o in range(20)
    ]
    assert first.lag() == {(topic, 0): 0, (topic, 1): 0}
    # commit a frontier part-way: partition 0 up to 12, partition 1 up to 5; a foreign one skipped
    done = first.commit({(topic, 0): 12, (topic, 1): 5, ("other", 0): 3})
    assert done == {(topic, 0): 12, (topic, 1): 5}
    assert first.committed() == {(topic, 0): 12, (topic, 1): 5}
    first.close()
    assert rec.revoked == [[(topic, 0), (topic, 1)]]

    rec2 = Recorder()
    second = rec2.source(kafka_bootstrap, group, topic)
    again = read(second, (20 - 12) + (20 - 5))
    second.close()
    assert sorted(zip(again.partitions, again.offsets, strict=True)) == [
        (0, o) for o in range(12, 20)
    ] + [(1, o) for o in range(5, 20)]
    # partition p holds event i = 2 * offset + p
    assert set(again.values) == {
        f'{{"i": {2 * o + p}}}'.encode() for p, start in ((0, 12), (1, 5)) for o in range(start, 20)
    }


def test_commit_of_unassigned_partitions_is_skipped(kafka_bootstrap: str, unique: str) -> None:
    topic = f"src-{unique}"
    create_topic(kafka_bootstrap, topic)
    produce(kafka_bootstrap, topic, 1, 1)
    rec = Recorder()
    source = rec.source(kafka_bootstrap, f"g-{unique}", topic)
    assert len(read(source, 1)) == 1
    assert source.commit({(topic, 7): 1}) == {}
    source.close()
