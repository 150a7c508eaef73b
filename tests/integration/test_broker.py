"""Foundation proof (issue 2, item 4): the project's broker does what the service relies on.

Plain confluent-kafka, no driftsnap code: a 3-partition topic, 10,000 JSON events, group
consumption with explicit commits, exact resume, and a two-member split of the partitions.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from tests.integration.kafka_helpers import FAST_GROUP, create_topic, drain, wait_assigned

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

N = 10_000
PARTITIONS = 3


def produce_events(bootstrap: str, topic: str) -> None:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True}
    )
    for i in range(N):
        event = {"event_id": f"e{i}", "model_id": "fraud", "features": {"amount": i}}
        producer.produce(topic, value=orjson.dumps(event), partition=i % PARTITIONS)
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0


def consumer(bootstrap: str, group: str, **extra: Any) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            **FAST_GROUP,
            "enable.auto.commit": False,
            **extra,
        }
    )


def coords(messages: list[Message]) -> list[tuple[int, int]]:
    return sorted((m.partition(), m.offset()) for m in messages)


def test_group_commit_part_way_and_resume_exactly(kafka_bootstrap: str, unique: str) -> None:
    topic, group = f"broker-{unique}", f"g-{unique}"
    create_topic(kafka_bootstrap, topic, partitions=PARTITIONS)
    produce_events(kafka_bootstrap, topic)

    first = consumer(kafka_bootstrap, group)
    first.subscribe([topic])
    got = wait_assigned(first)
    got += drain(first, N - len(got))
    assert len(got) == N
    assert coords(got) == sorted((i % PARTITIONS, i // PARTITIONS) for i in range(N))
    ids = {orjson.loads(m.value())["event_id"] for m in got}
    assert ids == {f"e{i}" for i in range(N)}
    # commit part-way: a different frontier per partition
    frontier = {0: 1000, 1: 2500, 2: 3333}
    result = first.commit(
        offsets=[TopicPartition(topic, p, o) for p, o in frontier.items()], asynchronous=False
    )
    assert result is not None
    assert all(tp.error is None for tp in result)
    first.close()

    second = consumer(kafka_bootstrap, group)
    second.subscribe([topic])
    per_partition = N // PARTITIONS + 1  # 3334, 3333, 3333
    sizes = {p: (N - p + PARTITIONS - 1) // PARTITIONS for p in range(PARTITIONS)}
    assert sizes[0] == per_partition
    expected = sorted((p, o) for p, start in frontier.items() for o in range(start, sizes[p]))
    resumed = wait_assigned(second)
    resumed += drain(second, len(expected) - len(resumed))
    # nothing more arrives: no duplicates beyond the frontier
    resumed += drain(second, 1, timeout=1.5)
    second.close()
    assert coords(resumed) == expected  # no gap, no duplicate


def test_two_members_split_three_partitions(kafka_bootstrap: str, unique: str) -> None:
    topic, group = f"broker-{unique}", f"g-{unique}"
    create_topic(kafka_bootstrap, topic, partitions=PARTITIONS)
    a = consumer(kafka_bootstrap, group)
    a.subscribe([topic])
    wait_assigned(a)
    b = consumer(kafka_bootstrap, group)
    b.subscribe([topic])
    # both must poll while the group rebalances: a gives up partitions, b receives some
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        a.poll(0.05)
        b.poll(0.05)
        pa = {tp.partition for tp in a.assignment()}
        pb = {tp.partition for tp in b.assignment()}
        if pa and pb and pa | pb == set(range(PARTITIONS)) and not pa & pb:
            break
    assert pa, f"member a got nothing (b={pb})"
    assert pb, f"member b got nothing (a={pa})"
    assert pa | pb == set(range(PARTITIONS))
    assert not pa & pb
    # close one at a time, both in a stable group (never mid-rebalance)
    b.close()
    a.close()
