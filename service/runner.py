"""The always-on run loop: Kafka → decode → windows → snapshots → sinks → commit.

One iteration::

    consume(batch_size) → decode into one polars frame (+ rejected records)
        → rejected and late records to the dead-letter topic
        → windows: add rows, advance the watermark, close what it passed
        → evaluate and publish closed windows (every sink), mark them published
        → every commit_interval: confirm dead-letter deliveries, commit the frontier

The frontier (windowing) never passes an offset held by an open or unpublished window, and
dead-letter deliveries are confirmed before any commit, so a crash at any point loses nothing:
the restarted service replays from the committed offsets and rewrites the same snapshot ids.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from prometheus_client import CollectorRegistry

from consumer import (
    ColumnMapping,
    CommitError,
    DecodeBounds,
    EventSchema,
    KafkaDeadLetterProducer,
    KafkaSource,
    LabelFields,
    ModelSchema,
    RawBatch,
    Rejected,
    decode_batch,
    decode_labels,
)
from evaluation.snapshot import Snapshot
from publisher import (
    KafkaSnapshotSink,
    MetricsServer,
    ServiceMetrics,
    SnapshotMetrics,
)
from service.cli import package_version
from service.config import Settings
from service.label_store import PendingStore
from service.labels import Label
from service.models import ModelRuntime, build_models
from service.pipeline import Pipeline
from service.quality import LabelTracker
from service.sinks import local_sinks, open_workspace
from windowing import PartitionCheckpoint, parse_duration_ms

log = logging.getLogger(__name__)

# Several event topics share one windowing state: partition ``p`` of the ``i``-th topic is
# tracked as source partition ``i * PARTITION_STRIDE + p``.
PARTITION_STRIDE = 100_000


def event_schema(settings: Settings, models: dict[str, ModelRuntime]) -> EventSchema:
    ev = settings.events
    mapping = ColumnMapping(
        event_id=ev.event_id,
        timestamp=ev.timestamp,
        model_id=ev.model_id,
        variant=ev.variant,
        prediction=ev.prediction,
        target=ev.target,
        features=ev.features,
        segments=tuple(settings.window.segments),
    )
    return EventSchema(
        mapping,
        {
            mid: ModelSchema(
                features=m.features,
                prediction=m.prediction_kind or "num",
                target=m.target_kind,
            )
            for mid, m in models.items()
        },
    )


def label_fields(settings: Settings) -> LabelFields:
    ls = settings.labels
    return LabelFields(
        event_id=ls.event_id, target=ls.target, timestamp=ls.timestamp, model_id=ls.model_id
    )


def unknown_label(label: Label, topic: str, unknown_after: str) -> Rejected:
    """The dead letter of a label that matched no event. Its raw value is rebuilt from the
    decoded label (the original bytes are not kept); the headers carry its coordinates."""
    raw = orjson.dumps(
        {"event_id": label.event_id, "target": label.target, "timestamp": label.timestamp_ms}
    )
    return Rejected(
        reason="unknown_event",
        detail=(
            f"no inference event with event_id {label.event_id!r} was seen within "
            f"labels.unknown_after ({unknown_after}) of the label's arrival, or its window "
            "had already been finalized"
        ),
        raw=raw,
        topic=topic,
        partition=label.partition,
        offset=label.offset,
        key=label.event_id.encode(),
    )


def decode_bounds(settings: Settings) -> DecodeBounds:
    return DecodeBounds(
        max_future_ms=parse_duration_ms(settings.events.max_future),
        max_past_ms=parse_duration_ms(settings.events.max_past),
    )


class Service:
    """``driftsnap run``: owns the consumer, the dead-letter producer, the sinks and metrics."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        on_published: Callable[[Snapshot], None] | None = None,
        install_signals: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.stop_event = threading.Event()
        self.models = build_models(settings)
        self.schema = event_schema(settings, self.models)
        self.bounds = decode_bounds(settings)
        self.registry = CollectorRegistry()
        self.metrics = ServiceMetrics(self.registry, version=package_version())
        self.snapshot_metrics = SnapshotMetrics(
            self.registry, max_columns=settings.metrics.max_columns
        )
        ws = open_workspace(settings)
        self.workspace = ws
        sinks = local_sinks(settings, ws, self.snapshot_metrics)
        kconf = settings.kafka.client_config()
        if settings.kafka.snapshot_topic:
            sinks.append(
                KafkaSnapshotSink(
                    settings.kafka.snapshot_topic, config=kconf, project=settings.project.id
                )
            )
        self.sinks = sinks
        self.labels_topic = settings.kafka.labels_topic
        self.label_fields = label_fields(settings)
        self.tracker = LabelTracker(
            settings,
            self.models,
            sinks,
            labels_enabled=self.labels_topic is not None,
            store=PendingStore(Path(settings.workspace.path) / settings.project.id / "pending"),
            metrics=self.metrics,
            on_published=on_published,
        )
        self.pipeline = Pipeline(
            settings,
            self.models,
            sinks,
            self.metrics,
            on_published,
            labels=self.tracker if self.tracker.enabled else None,
            background=True,
        )
        if self.tracker.enabled:
            self.tracker.restore()
        self._label_consumed: dict[tuple[str, int], int] = {}
        self._last_label_gc = 0.0
        self.dead_letters = KafkaDeadLetterProducer(kconf, settings.kafka.dead_letter_topic)
        self.late_letters = (
            KafkaDeadLetterProducer(kconf, settings.kafka.late_topic)
            if settings.kafka.late_topic
            else self.dead_letters
        )
        self.source = KafkaSource(
            settings.kafka.consumer_config(),
            [*settings.kafka.topics, *([self.labels_topic] if self.labels_topic else [])],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
        )
        self.server: MetricsServer | None = None
        if settings.metrics.enabled:
            self.server = MetricsServer(
                self.registry,
                host=settings.metrics.host,
                port=settings.metrics.port,
                ready=self._ready,
            )
        self._assigned = False
        self._failed = False
        self._last_commit = 0.0
        self._last_housekeeping = 0.0
        self._last_retention = 0.0
        self._warned_crossing = False
        self._committed: dict[tuple[str, int], str] = {}
        self._topic_index = {t: i for i, t in enumerate(settings.kafka.topics)}
        self._previous_handlers: list[tuple[int, Any]] = []
        if install_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous_handlers.append((signum, signal.signal(signum, self._signal)))
        if self.server is not None:
            self.server.start()
            log.info("metrics on %s/metrics", self.server.url)

    # -- lifecycle ------------------------------------------------------------------------
    def _signal(self, signum: int, _frame: Any) -> None:
        log.info("signal=%s stopping after the current batch", signum)
        self.stop_event.set()

    def _ready(self) -> bool:
        return self._assigned and not self.stop_event.is_set()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @property
    def metrics_port(self) -> int | None:
        return self.server.port if self.server is not None else None

    def run(self) -> int:
        self.metrics.up.set(1)
        try:
            while not self.stop_event.is_set():
                self.step()
            # graceful: nothing half-done is published; commit what is safe and leave
            self.commit(force=True)
        except BaseException:
            # a failure escaped the loop (a dead-letter delivery failed, the disk is full...):
            # commit nothing more on the way out, not even in the revoke callback that
            # close() runs — the restarted process replays from the last good commit
            self._failed = True
            raise
        finally:
            self.source.close()
            self.pipeline.close()
            for sink in self.sinks:
                sink.close()
            self.dead_letters.close()
            if self.late_letters is not self.dead_letters:
                self.late_letters.close()
            if self.server is not None:
                self.server.stop()
            for signum, handler in self._previous_handlers:
                signal.signal(signum, handler)  # and let go of this instance
        log.info("stopped cleanly; published=%d", self.pipeline.published)
        return 0

    # -- source partitions ------------------------------------------------------------
    def _sid(self, topic: str, partition: int) -> int:
        return self._topic_index[topic] * PARTITION_STRIDE + partition

    def _tp(self, sid: int) -> tuple[str, int]:
        return self.settings.kafka.topics[sid // PARTITION_STRIDE], sid % PARTITION_STRIDE

    # -- one iteration --------------------------------------------------------------------
    def step(self) -> None:
        kafka = self.settings.kafka
        raw = self.source.poll_batch(kafka.batch_size, kafka.poll_timeout_ms / 1000)
        now = self.now_ms()
        for topic, part in raw.by_topic():
            if topic == self.labels_topic:
                self._ingest_labels(topic, part, now)
            else:
                self._ingest(topic, part, now)
        self.pipeline.step(now)
        if self.tracker.enabled:
            self._label_step(now)
        try:
            self.commit()
        except CommitError as exc:
            # e.g. a rebalance in progress: nothing is lost by committing later (the offsets
            # stay held); a failed dead-letter delivery, by contrast, stops the process
            log.warning("commit failed, retried at the next interval: %s", exc)
        self._housekeeping()

    def _ingest(self, topic: str, raw: RawBatch, now: int) -> None:
        self.metrics.events_consumed.labels(topic=topic).inc(len(raw))
        decoded = decode_batch(
            raw.values,
            raw.partitions,
            raw.offsets,
            raw.timestamps_ms,
            topic,
            self.schema,
            self.bounds,
            now,
            keys=raw.keys,
        )
        for rej in decoded.rejected:
            self.metrics.events_rejected.labels(reason=rej.reason).inc()
            self.dead_letters.send(rej)
        base = self._topic_index[topic] * PARTITION_STRIDE
        frame = decoded.frame
        if base:
            frame = frame.with_columns(pl.col("_partition") + base)
        late = self.pipeline.add(frame, now)
        if late.height:
            self._late(topic, late, raw, base)
        # offsets grow within a partition in one consume() batch, so the last value the dict
        # keeps per partition is the highest (built in C, no per-message Python)
        highest = dict(zip(raw.partitions, raw.offsets, strict=True))
        for partition, offset in highest.items():
            self.pipeline.state.note_consumed(base + partition, offset)

    def _ingest_labels(self, topic: str, raw: RawBatch, now: int) -> None:
        decoded = decode_labels(
            raw.values,
            raw.partitions,
            raw.offsets,
            raw.timestamps_ms,
            topic,
            fields=self.label_fields,
            keys=raw.keys,
            max_value_bytes=self.bounds.max_value_bytes,
        )
        for rej in decoded.rejected:
            self.metrics.events_rejected.labels(reason=rej.reason).inc()
            self.dead_letters.send(rej)
        self.tracker.add_labels(decoded.labels, now)
        for partition, offset in zip(raw.partitions, raw.offsets, strict=True):
            tp = (topic, partition)
            if offset > self._label_consumed.get(tp, -1):
                self._label_consumed[tp] = offset

    def _label_step(self, now: int) -> None:
        unknown = self.tracker.step(now)
        topic = self.labels_topic or "labels"
        for label in unknown:
            self.metrics.events_rejected.labels(reason="unknown_event").inc()
            wait = str(self.settings.labels.unknown_after)
            self.dead_letters.send(unknown_label(label, topic, wait))

    def _commit_labels(self, only: set[tuple[str, int]] | None = None) -> None:
        """Labels-topic offsets: committed once every label below them is durable — written
        to a label file (restored at start) or dead-lettered (confirmed by the caller)."""
        if not self.labels_topic:
            return
        self.tracker.persist_labels(self.now_ms())
        offsets = {
            tp: o + 1
            for tp, o in self._label_consumed.items()
            if (only is None or tp in only)
            and tp in self.source.assignment
            and self._committed.get(tp) != str(o + 1)
        }
        if offsets:
            self.source.commit(offsets)
            self._committed.update({tp: str(o) for tp, o in offsets.items()})
        mono = time.monotonic()
        if mono - self._last_label_gc >= 5.0:  # scanning the live labels is not free
            self._last_label_gc = mono
            self.tracker.gc()

    def _late(self, topic: str, late: pl.DataFrame, raw: RawBatch, base: int) -> None:
        lookup = {
            (p, o): (k, v)
            for p, o, k, v in zip(raw.partitions, raw.offsets, raw.keys, raw.values, strict=True)
        }
        rows = late.select("_partition", "_offset", "late_by_ms", "window_end_ms").iter_rows()
        for sid, offset, late_by, window_end in rows:
            partition = sid - base
            key, value = lookup.get((partition, offset), (None, None))
            rej = Rejected(
                reason="late",
                detail=(
                    f"late by {late_by} ms: its last window ended at {window_end} "
                    f"(epoch ms) and is closed; allowed lateness is "
                    f"{self.settings.window.allowed_lateness}"
                ),
                raw=value,
                topic=topic,
                partition=partition,
                offset=offset,
                key=key,
            )
            self.metrics.events_rejected.labels(reason="late").inc()
            self.late_letters.send(rej)

    def commit(self, *, force: bool = False, only: set[int] | None = None) -> None:
        """Commit each partition's checkpoint (frontier + restart state) once everything it
        covers is durable: snapshots are already written (the pipeline marks a window
        published only after every sink accepted it); dead letters are confirmed here."""
        if self._failed:
            return
        interval = self.settings.kafka.commit_interval_ms / 1000
        if not force and time.monotonic() - self._last_commit < interval:
            return
        if force:
            # rebalance or shutdown: finish the windows being evaluated, so what was closed
            # is published and committed now instead of replayed by the next owner
            self.pipeline.drain()
        self.dead_letters.flush(30.0)
        if self.late_letters is not self.dead_letters:
            self.late_letters.flush(30.0)
        offsets: dict[tuple[str, int], int] = {}
        metadata: dict[tuple[str, int], str] = {}
        for sid, ckpt in self.pipeline.state.checkpoint().items():
            if only is not None and sid not in only:
                continue
            tp = self._tp(sid)
            text = ckpt.to_json()
            if self._committed.get(tp) == text or tp not in self.source.assignment:
                continue
            offsets[tp], metadata[tp] = ckpt.offset, text
        if offsets:
            self.source.commit(offsets, metadata)
            self._committed.update(metadata)
        if only is None or self._label_tps(only):
            self._commit_labels(self._label_tps(only) if only is not None else None)
        self._last_commit = time.monotonic()

    def _label_tps(self, only: set[int]) -> set[tuple[str, int]]:
        return {(t, p) for t, p in self._label_consumed if -1 - p in only}

    def _housekeeping(self) -> None:
        mono = time.monotonic()
        if mono - self._last_housekeeping < 5.0:
            return
        self._last_housekeeping = mono
        try:
            self.metrics.set_lag(self.source.lag())
        except Exception as exc:  # noqa: BLE001 - lag is best effort, never stops the loop
            log.debug("lag unavailable: %s", exc)
        crossing = self.pipeline.state.cross_partition_windows
        if crossing and not self._warned_crossing:
            self._warned_crossing = True
            log.warning(
                "windows=%d hold rows of several partitions: key your Kafka messages by "
                "model_id/variant, or a rebalance can lose rows of such windows",
                crossing,
            )
        ws = self.settings.workspace
        if (ws.max_age or ws.max_snapshots) and mono - self._last_retention > 60.0:
            self._last_retention = mono
            deleted = self.workspace.apply_retention(
                self.settings.project.id,
                max_age=(
                    timedelta(milliseconds=parse_duration_ms(ws.max_age)) if ws.max_age else None
                ),
                max_snapshots=ws.max_snapshots,
            )
            if deleted:
                log.info("retention deleted=%d project=%s", len(deleted), self.settings.project.id)

    # -- rebalance (called from inside poll) ----------------------------------------------
    def _on_assign(self, partitions: list[tuple[str, int]]) -> None:
        partitions = [tp for tp in partitions if tp[0] != self.labels_topic]
        committed = self.source.committed_metadata(partitions)
        checkpoints: dict[int, PartitionCheckpoint] = {}
        for (topic, partition), (offset, meta) in committed.items():
            if not meta:
                continue
            try:
                ckpt = PartitionCheckpoint.from_json(meta)
            except ValueError as exc:
                log.warning("ignoring unreadable checkpoint %s[%s]: %s", topic, partition, exc)
                continue
            if ckpt.offset == offset:
                sid = self._sid(topic, partition)
                checkpoints[sid] = replace(ckpt, partition=sid)
        sids = [self._sid(t, p) for t, p in partitions]
        self.pipeline.state.assign_partitions(sids, self.now_ms(), checkpoints)
        self._assigned = True
        log.info(
            "assigned partitions=%s restored_checkpoints=%d", sorted(partitions), len(checkpoints)
        )

    def _on_revoke(self, partitions: list[tuple[str, int]]) -> None:
        # publish what is closed, confirm dead letters, commit what is safe, then forget the
        # revoked partitions' windows: their new owner replays them from the checkpoint
        labels = {(t, p) for t, p in partitions if t == self.labels_topic}
        partitions = [tp for tp in partitions if tp[0] != self.labels_topic]
        sids = {self._sid(t, p) for t, p in partitions}
        sids |= {-1 - p for _, p in labels}  # labels partitions ride along as negative ids
        try:
            self.pipeline.step(self.now_ms())
            self.commit(force=True, only=sids)
        except Exception:
            log.exception("could not commit on revoke; the new owner replays from the last commit")
        for tp in labels:
            self._label_consumed.pop(tp, None)
            self._committed.pop(tp, None)
        sids = {sid for sid in sids if sid >= 0}
        dropped = self.pipeline.state.revoke_partitions(sorted(sids))
        for sid in sids:
            self._committed.pop(self._tp(sid), None)
        if not self.pipeline.state.partitions:
            # eager rebalance (the default assignors): everything was revoked, so the next
            # assignment starts like a restart — fresh watermark, checkpoints from Kafka
            self.pipeline.reset()
            self._assigned = False
        log.info("revoked partitions=%s dropped_windows=%d", sorted(partitions), len(dropped))
