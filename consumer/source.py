"""The Kafka consumer of inference events: a group member that hands over raw batches and
commits exactly the offsets the service says are safe.

Rules this wrapper enforces or relies on:

- ``enable.auto.commit=false`` and ``enable.auto.offset.store=false`` always (any other value in
  the given config is overridden): the only commits are :meth:`KafkaSource.commit` calls with
  explicit offsets, i.e. the windowing frontier once its snapshots and dead-letter records are
  durable.
- Rebalance callbacks run on the calling thread *inside* :meth:`poll_batch` (and inside
  :meth:`close`), as librdkafka does it. In ``on_revoke`` the partitions are still assigned: the
  service must finish or drop their window state and :meth:`commit` what is safe there and then,
  because after the callback returns another member may own them and will resume from the last
  committed offset. ``on_assign`` needs no seek: the consumer starts at the committed offset
  (``auto.offset.reset`` when there is none).
- ``on_lost`` (partitions taken away without a clean revoke, e.g. after a session timeout)
  defaults to ``on_revoke``; commits for lost partitions fail, so drop their state only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import (
    OFFSET_INVALID,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from consumer.errors import BrokerError, CommitError

__all__ = ["KafkaSource", "Partitions", "RawBatch", "TopicPartitionKey"]

log = logging.getLogger(__name__)

TopicPartitionKey = tuple[str, int]
Partitions = list[TopicPartitionKey]


@dataclass(slots=True)
class RawBatch:
    """One poll's messages as parallel lists (no per-message objects kept)."""

    values: list[bytes | None] = field(default_factory=list)
    keys: list[bytes | None] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    partitions: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    timestamps_ms: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)

    def by_topic(self) -> Iterator[tuple[str, RawBatch]]:
        """Split into one batch per topic (``decode_batch`` takes a single topic)."""
        if len(set(self.topics)) <= 1:
            if self.topics:
                yield self.topics[0], self
            return
        parts: dict[str, RawBatch] = {}
        for i, topic in enumerate(self.topics):
            b = parts.setdefault(topic, RawBatch())
            b.values.append(self.values[i])
            b.keys.append(self.keys[i])
            b.topics.append(topic)
            b.partitions.append(self.partitions[i])
            b.offsets.append(self.offsets[i])
            b.timestamps_ms.append(self.timestamps_ms[i])
        yield from parts.items()


class KafkaSource:
    """A confluent-kafka group consumer subscribed to ``topics``.

    ``config`` is librdkafka configuration (``bootstrap.servers``, ``group.id``, SASL/SSL,
    ``session.timeout.ms`` ...). ``on_assign``/``on_revoke`` receive ``[(topic, partition)]``.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        topics: list[str],
        on_assign: Callable[[Partitions], None],
        on_revoke: Callable[[Partitions], None],
        on_lost: Callable[[Partitions], None] | None = None,
    ) -> None:
        if not topics:
            raise ValueError("topics is empty; give at least one topic to consume")
        settings = {**config, "enable.auto.commit": False, "enable.auto.offset.store": False}
        self._consumer = Consumer(settings)
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._on_lost = on_lost or on_revoke
        self._assigned: set[TopicPartitionKey] = set()
        self._position: dict[TopicPartitionKey, int] = {}
        self._consumer.subscribe(
            topics, on_assign=self._assign_cb, on_revoke=self._revoke_cb, on_lost=self._lost_cb
        )

    # -- rebalance (called by librdkafka from inside consume()/close()) -------------------

    @staticmethod
    def _keys(partitions: list[TopicPartition]) -> Partitions:
        return [(tp.topic, tp.partition) for tp in partitions]

    def _assign_cb(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        keys = self._keys(partitions)
        log.info("partitions assigned partitions=%s", keys)
        self._assigned.update(keys)
        self._on_assign(keys)

    def _revoke_cb(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        keys = self._keys(partitions)
        log.info("partitions revoked partitions=%s", keys)
        try:
            self._on_revoke(keys)  # still assigned here: the service commits what is safe
        finally:
            self._forget(keys)

    def _lost_cb(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        keys = self._keys(partitions)
        log.warning("partitions lost partitions=%s", keys)
        try:
            self._on_lost(keys)
        finally:
            self._forget(keys)

    def _forget(self, keys: Partitions) -> None:
        for k in keys:
            self._assigned.discard(k)
            self._position.pop(k, None)

    # -- consuming ------------------------------------------------------------------------

    @property
    def assignment(self) -> frozenset[TopicPartitionKey]:
        return frozenset(self._assigned)

    def poll_batch(self, max_messages: int, timeout_s: float) -> RawBatch:
        """Up to ``max_messages`` messages, waiting at most ``timeout_s`` for the first.

        Partition EOF events are skipped; other broker errors are logged, and fatal ones raise
        :class:`BrokerError` (restart the process)."""
        try:
            messages = self._consumer.consume(max_messages, timeout_s)
        except KafkaException as exc:
            raise BrokerError(f"consume failed: {exc}") from exc
        if not messages:
            return RawBatch()
        # one C-level pass per field (list comprehensions over the Message getters) instead of
        # a Python loop appending seven lists; error events are rare and filtered first
        if any(m.error() is not None for m in messages):
            messages = self._without_errors(messages)
        stamps: list[Any] = [
            None if kind == TIMESTAMP_NOT_AVAILABLE else ts
            for kind, ts in (m.timestamp() for m in messages)
        ]
        batch = RawBatch(
            values=[m.value() for m in messages],
            keys=[m.key() for m in messages],
            topics=[m.topic() for m in messages],  # type: ignore[misc]
            partitions=[m.partition() for m in messages],  # type: ignore[misc]
            offsets=[m.offset() for m in messages],  # type: ignore[misc]
            timestamps_ms=stamps,
        )
        # offsets grow within a partition in a batch: the dict keeps the last (highest)
        pairs = zip(batch.topics, batch.partitions, strict=True)
        last = dict(zip(pairs, batch.offsets, strict=True))
        for key, offset in last.items():
            self._position[key] = offset + 1
        return batch

    @staticmethod
    def _without_errors(messages: list[Any]) -> list[Any]:
        """Drop error events (partition EOF silently; others logged; fatal ones raise)."""
        kept = []
        for m in messages:
            err = m.error()
            if err is None:
                kept.append(m)
                continue
            if err.code() == KafkaError._PARTITION_EOF:
                continue
            if err.fatal():
                log.error("fatal consumer error code=%s error=%s", err.name(), err.str())
                raise BrokerError(f"fatal consumer error {err.name()}: {err.str()}")
            log.warning("consumer error code=%s error=%s", err.name(), err.str())
        return kept

    # -- offsets --------------------------------------------------------------------------

    def commit(
        self,
        offsets: Mapping[TopicPartitionKey, int],
        metadata: Mapping[TopicPartitionKey, str] | None = None,
    ) -> dict[TopicPartitionKey, int]:
        """Synchronously commit ``{(topic, partition): next offset to read}``, each with its
        optional commit ``metadata`` (the windowing checkpoint, read back on assignment).

        Partitions no longer assigned to this member are skipped (their new owner commits).
        Returns what was committed; raises :class:`CommitError` when the broker refused."""
        todo = {k: v for k, v in offsets.items() if k in self._assigned}
        skipped = set(offsets) - set(todo)
        if skipped:
            log.info("commit skipped, partitions not assigned partitions=%s", sorted(skipped))
        if not todo:
            return {}
        meta = metadata or {}
        tps = []
        for (t, p), o in todo.items():
            text = meta.get((t, p))
            tps.append(TopicPartition(t, p, o) if text is None else TopicPartition(t, p, o, text))
        try:
            result = self._consumer.commit(offsets=tps, asynchronous=False)
        except KafkaException as exc:
            raise CommitError(f"commit of {todo} failed: {exc}") from exc
        failed = [f"{tp.topic}[{tp.partition}]: {tp.error}" for tp in result or [] if tp.error]
        if failed:
            raise CommitError(f"commit refused for {', '.join(failed)}")
        return todo

    def committed(self, timeout_s: float = 10.0) -> dict[TopicPartitionKey, int]:
        """The group's committed offsets for the current assignment (absent when none)."""
        tps = [TopicPartition(t, p) for t, p in sorted(self._assigned)]
        if not tps:
            return {}
        out = self._consumer.committed(tps, timeout=timeout_s)
        return {(tp.topic, tp.partition): tp.offset for tp in out if tp.offset >= 0}

    def committed_metadata(
        self, partitions: Partitions, timeout_s: float = 10.0
    ) -> dict[TopicPartitionKey, tuple[int, str | None]]:
        """``{(topic, partition): (committed offset, commit metadata)}`` for ``partitions``
        (absent when the group never committed there). Safe inside ``on_assign``."""
        if not partitions:
            return {}
        tps = [TopicPartition(t, p) for t, p in partitions]
        try:
            out = self._consumer.committed(tps, timeout=timeout_s)
        except KafkaException as exc:
            raise CommitError(f"reading committed offsets of {partitions} failed: {exc}") from exc
        return {
            (tp.topic, tp.partition): (tp.offset, tp.metadata or None)
            for tp in out
            if tp.offset >= 0
        }

    def lag(self) -> dict[TopicPartitionKey, int]:
        """Messages behind the high watermark per assigned partition, from the watermarks that
        the last fetch responses carried (no broker round trip; a partition whose watermark or
        position is not known yet is left out)."""
        out: dict[TopicPartitionKey, int] = {}
        for t, p in sorted(self._assigned):
            tp = TopicPartition(t, p)
            _, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if high is None or high < 0:
                continue
            pos = self._position.get((t, p))
            if pos is None:
                [current] = self._consumer.position([tp])
                if current.offset == OFFSET_INVALID or current.offset < 0:
                    continue
                pos = current.offset
            out[(t, p)] = max(0, high - pos)
        return out

    def close(self) -> None:
        """Leave the group (``on_revoke`` runs once more, inside this call) and close."""
        self._consumer.close()
