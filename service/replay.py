"""``driftsnap replay``: the identical pipeline over a JSONL file of events instead of Kafka.

Line ``n`` (0-based) plays the role of offset ``n`` on partition 0, so the windows, snapshots
and snapshot ids are the ones the Kafka path produces for the same events. The clock is the
event time itself (the highest seen so far), and every window is closed at the end of the file.
Rejected and late records are written to a JSON-lines dead-letter file with their reason.
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

from consumer import Rejected, decode_batch
from evaluation.snapshot import Snapshot
from publisher import PrometheusSink, SnapshotMetrics, SnapshotSink, Workspace, WorkspaceSink
from service.config import Settings
from service.models import build_models
from service.pipeline import Pipeline
from service.runner import decode_bounds, event_schema

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


def replay(
    settings: Settings,
    events: Path,
    *,
    dead_letter: Path,
    on_published: Callable[[Snapshot], None] | None = None,
) -> dict[str, int]:
    models = build_models(settings)
    ws = Workspace.create(
        settings.workspace.path, max_snapshot_bytes=settings.workspace.max_snapshot_bytes
    )
    ws.ensure_project(
        settings.project.id,
        name=settings.project.name or settings.project.id,
        description=settings.project.description,
    )
    sinks: list[SnapshotSink] = [
        WorkspaceSink(
            ws, project_id=settings.project.id, include_data=settings.workspace.include_data
        ),
        PrometheusSink(
            SnapshotMetrics(CollectorRegistry(), max_columns=settings.metrics.max_columns),
            project=settings.project.id,
        ),
    ]
    pipeline = Pipeline(settings, models, sinks, None, on_published)
    schema, bounds = event_schema(settings, models), decode_bounds(settings)
    topic = f"file:{events.name}"
    counts = {"events": 0, "rejected": 0, "late": 0, "snapshots": 0}
    pipeline.state.assign_partitions([0], 0)
    clock = 0
    offset = 0
    wall_ms = int(time.time() * 1000)
    with dead_letter.open("wb") as dlq:
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
            late = pipeline.add(decoded.frame, clock)
            for p, o, late_by in late.select("_partition", "_offset", "late_by_ms").iter_rows():
                _write_rejected(
                    dlq,
                    Rejected("late", f"late by {late_by} ms", chunk[o - offset], topic, p, o),
                )
            counts["late"] += late.height
            pipeline.state.note_consumed(0, offset + n - 1)
            counts["snapshots"] += pipeline.step(clock)
            offset += n
        counts["snapshots"] += pipeline.close_all()
    for sink in sinks:
        sink.close()
    return counts
