"""Dead-letter output: every rejected record, raw bytes and all, with why and where from.

Headers on each record (values are UTF-8 text):

- ``driftsnap.reason``: one of :data:`consumer.decode.REASONS`
- ``driftsnap.error``: the human-readable detail
- ``driftsnap.source.topic`` / ``driftsnap.source.partition`` / ``driftsnap.source.offset``

The record's value is the original value (empty for a tombstone) and its key the original key.
``flush`` returns only when every record sent so far is acknowledged by the broker; only then
may the caller commit offsets past those records (nothing lost, at-least-once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from confluent_kafka import KafkaError, Message, Producer

from consumer.decode import Rejected
from consumer.errors import DeadLetterError

__all__ = ["DeadLetterSink", "KafkaDeadLetterProducer", "dead_letter_headers"]

log = logging.getLogger(__name__)


class DeadLetterSink(Protocol):
    """Where rejected records go. ``flush`` raises :class:`DeadLetterError` unless every record
    sent before it is durably stored."""

    def send(self, rejected: Rejected) -> None: ...

    def flush(self, timeout: float) -> None: ...


def dead_letter_headers(rejected: Rejected) -> list[tuple[str, bytes]]:
    return [
        ("driftsnap.reason", rejected.reason.encode()),
        ("driftsnap.error", rejected.detail.encode("utf-8", "replace")),
        ("driftsnap.source.topic", rejected.topic.encode()),
        ("driftsnap.source.partition", str(rejected.partition).encode()),
        ("driftsnap.source.offset", str(rejected.offset).encode()),
    ]


class KafkaDeadLetterProducer:
    """A :class:`DeadLetterSink` writing to one Kafka topic with an idempotent producer
    (``acks=all``, ``enable.idempotence=true`` unless ``producer_config`` says otherwise)."""

    def __init__(self, producer_config: Mapping[str, Any], topic: str) -> None:
        config = {"enable.idempotence": True, "acks": "all", "linger.ms": 5, **producer_config}
        self.topic = topic
        self._producer = Producer(config)
        self._pending = 0
        self._failures: list[str] = []

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        self._pending -= 1
        if err is not None:
            # called from inside poll()/flush() on this thread; flush() raises the summary
            self._failures.append(f"{msg.topic()}: {err.str()}")

    def send(self, rejected: Rejected) -> None:
        """Queue one record (non-blocking unless the local queue is full)."""
        kwargs: dict[str, Any] = {
            "value": rejected.raw,
            "key": rejected.key,
            "headers": dead_letter_headers(rejected),
            "on_delivery": self._delivered,
        }
        while True:
            try:
                self._producer.produce(self.topic, **kwargs)
                break
            except BufferError:
                self._producer.poll(0.1)  # local queue full: let deliveries drain
        self._pending += 1
        self._producer.poll(0)

    def send_all(self, rejected: Iterable[Rejected]) -> None:
        for r in rejected:
            self.send(r)

    def flush(self, timeout: float) -> None:
        """Wait until every record sent so far is acknowledged; raise if any failed or if
        ``timeout`` seconds passed first."""
        remaining = self._producer.flush(timeout)
        # failures stay recorded: every later flush raises too, so no caller (a shutdown
        # path, a rebalance callback) can commit past a record that never reached the topic
        failures = self._failures
        if failures:
            log.error("dead-letter delivery failed topic=%s failures=%d", self.topic, len(failures))
            raise DeadLetterError(
                f"{len(failures)} dead-letter record(s) to {self.topic!r} failed, first: "
                f"{failures[0]}; do not commit past their source offsets"
            )
        if remaining:
            raise DeadLetterError(
                f"{remaining} dead-letter record(s) to {self.topic!r} still unconfirmed after "
                f"{timeout} s; do not commit past their source offsets, flush again"
            )

    @property
    def pending(self) -> int:
        """Records sent but not yet acknowledged (or failed)."""
        return self._pending

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
