"""``driftsnap replay``: the identical pipeline over a JSONL file of events instead of Kafka.

Line ``n`` (0-based) plays the role of offset ``n`` on partition 0, so the windows, snapshots
and snapshot ids are the ones the Kafka path produces for the same events. The clock is the
event time itself (the highest seen so far), and every window is closed at the end of the file.
Rejected and late records are written to a JSON-lines dead-letter file with their reason.

With ``labels`` (a JSONL file of label records), quality and comparison snapshots are produced
with the ids of the Kafka path. The clock being event time, ``label_wait`` is measured on event
time too: a label *arrives* when the replay clock reaches its ``timestamp`` (labels without one
arrive at the start), and a window's quality snapshot is due once the clock passed the
window's close time plus ``label_wait``. At the end of the file every remaining label arrives
(in timestamp order, advancing the clock), every quality snapshot is published and labels that
matched no event are dead-lettered as ``unknown_event``.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import orjson
from prometheus_client import CollectorRegistry

from consumer import LabelRecord, Rejected, decode_batch, decode_labels
from evaluation.snapshot import Snapshot
from publisher import SnapshotMetrics
from service.config import Settings
from service.models import build_models
from service.pipeline import Pipeline
from service.quality import LabelTracker
from service.runner import decode_bounds, event_schema, label_fields, unknown_label
from service.sinks import local_sinks, open_workspace

log = logging.getLogger(__name__)
CHUNK = 10_000


def _chunks(path: Path) -> Iterator[list[bytes]]:
    with path.open("rb") as fh:
        chunk: list[bytes] = []
        for line in fh:
            chunk.append(line.rstrip(b"\r\n"))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _write_rejected(out: IO[bytes], rej: Rejected) -> None:
    raw = rej.raw or b""
    try:
        text: str | None = raw.decode()
    except UnicodeDecodeError:
        text = None
    record = {
        "reason": rej.reason,
        "error": rej.detail,
        "line": rej.offset,
        "raw": text,
        "raw_base64": None if text is not None else base64.b64encode(raw).decode(),
    }
    out.write(orjson.dumps(record) + b"\n")


def _read_labels(
    settings: Settings, path: Path, dlq: IO[bytes], counts: dict[str, int]
) -> list[LabelRecord]:
    """Every label of ``path`` (line n = offset n), as a stack: the next to arrive is last."""
    records: list[LabelRecord] = []
    offset = 0
    for chunk in _chunks(path):
        n = len(chunk)
        decoded = decode_labels(
            chunk,
            [0] * n,
            list(range(offset, offset + n)),
            [None] * n,
            f"file:{path.name}",
            fields=label_fields(settings),
        )
        for rej in decoded.rejected:
            _write_rejected(dlq, rej)
        counts["rejected"] += len(decoded.rejected)
        counts["labels"] += len(decoded.labels)
        records.extend(decoded.labels)
        offset += n
    records.sort(key=lambda r: (r.timestamp_ms or 0, r.offset), reverse=True)
    return records


def replay(
    settings: Settings,
    events: Path,
    *,
    dead_letter: Path,
    on_published: Callable[[Snapshot], None] | None = None,
    labels: Path | None = None,
) -> dict[str, int]:
    models = build_models(settings)
    sinks = local_sinks(
        settings,
        open_workspace(settings),
        SnapshotMetrics(CollectorRegistry(), max_columns=settings.metrics.max_columns),
    )
    tracker = LabelTracker(
        settings, models, sinks, labels_enabled=labels is not None, on_published=on_published
    )
    pipeline = Pipeline(
        settings, models, sinks, None, on_published, labels=tracker if tracker.enabled else None
    )
    schema, bounds = event_schema(settings, models), decode_bounds(settings)
    topic = f"file:{events.name}"
    counts = {"events": 0, "rejected": 0, "late": 0, "snapshots": 0, "labels": 0}
    pipeline.state.assign_partitions([0], 0)
    clock = 0
    offset = 0
    wall_ms = int(time.time() * 1000)
    with dead_letter.open("wb") as dlq:
        queue = _read_labels(settings, labels, dlq, counts) if labels is not None else []
        ltopic = f"file:{labels.name}" if labels is not None else "labels"
        unknown_after = str(settings.labels.unknown_after)

        def arrive(until_ms: int | None) -> None:
            """Labels whose timestamp the clock reached arrive (all when ``until_ms`` is None),
            each at its own time, so label_wait decisions happen in event-time order."""
            nonlocal clock
            while queue and (until_ms is None or (queue[-1].timestamp_ms or 0) <= until_ms):
                rec = queue.pop()
                at = max(clock, rec.timestamp_ms or 0)
                if at > clock:
                    clock = at
                    step_labels()
                tracker.add_labels([rec], clock)

        def step_labels(final: bool = False) -> None:
            for lab in tracker.step(clock, final=final):
                _write_rejected(dlq, unknown_label(lab, ltopic, unknown_after))
                counts["rejected"] += 1

        for chunk in _chunks(events):
            n = len(chunk)
            offsets = list(range(offset, offset + n))
            decoded = decode_batch(
                chunk, [0] * n, offsets, [None] * n, topic, schema, bounds, wall_ms
            )
            for rej in decoded.rejected:
                _write_rejected(dlq, rej)
            counts["events"] += n
            counts["rejected"] += len(decoded.rejected)
            if decoded.frame.height:
                clock = max(clock, int(decoded.frame["_event_time_ms"].max()))  # type: ignore[arg-type]
            arrive(clock)
            late = pipeline.add(decoded.frame, clock)
            for p, o, late_by in late.select("_partition", "_offset", "late_by_ms").iter_rows():
                _write_rejected(
                    dlq,
                    Rejected("late", f"late by {late_by} ms", chunk[o - offset], topic, p, o),
                )
            counts["late"] += late.height
            pipeline.state.note_consumed(0, offset + n - 1)
            counts["snapshots"] += pipeline.step(clock)
            if tracker.enabled:
                step_labels()
            offset += n
        counts["snapshots"] += pipeline.close_all(clock)
        for _ in range(3):  # a sink that failed once (e.g. a busy disk) gets a few more tries
            if not pipeline.pending:
                break
            counts["snapshots"] += pipeline.close_all(clock)
        if tracker.enabled:
            step_labels()
            arrive(None)
            step_labels(final=True)
            counts["snapshots"] += tracker.published
    for sink in sinks:
        sink.close()
    counts["unpublished"] = len(pipeline.pending)
    return counts
