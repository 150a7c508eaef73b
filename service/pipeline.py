"""Decoded event frames in, published snapshots out — the part of the service that does not
know where events come from. ``driftsnap run`` (Kafka) and ``driftsnap replay`` (a file) drive
the same Pipeline, which is why both produce the same snapshots with the same ids.

Order matters here: a window is marked published (which lets the offset frontier move past
its rows) only after every sink accepted its snapshot. A sink failure leaves the window
pending; it is retried on the next step and its offsets stay uncommitted meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from evaluation.snapshot import Snapshot, WindowInfo, utc_from_ms
from publisher import ServiceMetrics, SnapshotSink
from service.config import Settings
from service.models import ModelRuntime
from windowing import ClosedWindow, WindowSpec, WindowState, parse_duration_ms, snapshot_id

if TYPE_CHECKING:
    from service.quality import LabelTracker

log = logging.getLogger(__name__)


def window_spec(settings: Settings) -> WindowSpec:
    w = settings.window
    size = parse_duration_ms(w.size)
    return WindowSpec(
        size_ms=size,
        step_ms=parse_duration_ms(w.slide) if w.slide is not None else size,
        allowed_lateness_ms=parse_duration_ms(w.allowed_lateness),
        idle_timeout_ms=parse_duration_ms(w.idle_timeout),
        min_rows=w.min_rows,
        max_rows_per_window=w.max_rows_per_window,
        key_columns=("model_id", "variant", *w.segments),
    )


@dataclass
class Pipeline:
    settings: Settings
    models: dict[str, ModelRuntime]
    sinks: Sequence[SnapshotSink]
    metrics: ServiceMetrics | None = None
    on_published: Callable[[Snapshot], None] | None = None
    labels: LabelTracker | None = None
    state: WindowState = field(init=False)
    pending: list[ClosedWindow] = field(default_factory=list, init=False)
    published: int = field(default=0, init=False)
    _now_ms: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.state = WindowState(window_spec(self.settings))

    def reset(self) -> None:
        """Forget all window state (after every partition was revoked). The next assignment
        then starts exactly like a restarted process: a fresh watermark, checkpoints restored
        from Kafka. Without this, a watermark advanced on the old partitions would make the
        backlog of newly assigned partitions look late."""
        self.state = WindowState(window_spec(self.settings))
        self.pending = []

    # -- input ----------------------------------------------------------------------------
    def add(self, frame: pl.DataFrame, now_ms: int) -> pl.DataFrame:
        """Assign a decoded frame to windows; returns the late rows (for the dead-letter topic)."""
        result = self.state.add(frame, now_ms)
        late = result.late
        if self.metrics is not None and late.height:
            for model, n in late.group_by("model_id").len().iter_rows():
                self.metrics.events_late.labels(model=str(model)).inc(n)
        return late

    # -- output ---------------------------------------------------------------------------
    def step(self, now_ms: int) -> int:
        """Close what the watermark allows and publish it (plus anything pending)."""
        self._now_ms = now_ms
        self.pending.extend(self.state.advance(now_ms))
        return self._publish_pending()

    def close_all(self, now_ms: int | None = None) -> int:
        """End of input (replay): close and publish every open window."""
        if now_ms is not None:
            self._now_ms = now_ms
        self.pending.extend(self.state.close_all())
        return self._publish_pending()

    def _publish_pending(self) -> int:
        done = 0
        still: list[ClosedWindow] = []
        for closed in self.pending:
            if self._publish(closed):
                done += 1
            else:
                still.append(closed)
        self.pending = still
        if self.metrics is not None:
            self.metrics.windows_open.set(self.state.open_window_count)
            self.metrics.rows_held.set(self.state.rows_held)
            wm = self.state.watermark_ms
            if wm is not None:
                self.metrics.watermark.set(wm / 1000)
        return done

    @staticmethod
    def window_rows(closed: ClosedWindow) -> pl.DataFrame:
        """The window's rows in a canonical order (event time, then event id), so the snapshot
        does not depend on arrival order: Kafka partitions interleave differently on every run,
        and float sums (means, std) would otherwise differ in their last bits."""
        frame = closed.frame
        by = [c for c in ("_event_time_ms", "event_id") if c in frame.columns]
        return frame.sort(by, nulls_last=True) if by else frame

    def snapshot_for(self, closed: ClosedWindow, rows: pl.DataFrame) -> Snapshot:
        key = {k: "" if v is None else str(v) for k, v in closed.key_dict.items()}
        model = self.models[key["model_id"]]
        project = self.settings.project.id
        window = closed.window
        sid = snapshot_id(project, key, window, model.reference_id, model.spec_hash)
        variant = key.get("variant", "")
        tags = [model.model_id, variant, *model.settings.tags]
        tags += [f"{k}={v}" for k, v in key.items() if k not in ("model_id", "variant")]
        metadata: dict[str, Any] = {
            "dataset_id": f"{project}/{model.model_id}/{variant}/{window.start_ms}",
            "variant": variant,
            "window_rows": closed.row_count,
            "sampled": closed.sampled,
            **model.settings.metadata,
        }
        return model.evaluator.evaluate(
            rows,
            snapshot_id=sid,
            project_id=project,
            name=f"{model.model_id}/{variant}",
            timestamp=utc_from_ms(window.end_ms),
            window=WindowInfo(
                start=utc_from_ms(window.start_ms), end=utc_from_ms(window.end_ms), key=key
            ),
            tags=list(dict.fromkeys(t for t in tags if t)),
            metadata=metadata,
            min_rows=self.settings.window.min_rows,
            batch_size=closed.row_count,
        )

    def _publish(self, closed: ClosedWindow) -> bool:
        t0 = time.perf_counter()
        rows = self.window_rows(closed)
        snapshot = self.snapshot_for(closed, rows)
        if self.metrics is not None:
            self.metrics.evaluation_seconds.observe(time.perf_counter() - t0)
        data = rows if self.settings.workspace.include_data else None
        for sink in self.sinks:
            try:
                sink.publish(snapshot, data)
            except Exception as exc:  # noqa: BLE001 - any sink failure keeps the window pending
                log.warning(
                    "publish failed sink=%s snapshot=%s error=%s (will retry)",
                    sink.name,
                    snapshot.id,
                    exc,
                )
                if self.metrics is not None:
                    self.metrics.publish_failures.labels(sink=sink.name).inc()
                return False
            if self.metrics is not None:
                self.metrics.snapshots_published.labels(
                    project=self.settings.project.id, sink=sink.name
                ).inc()
        if self.labels is not None:
            # the join rows must be durable before the window is marked published: from
            # then on the frontier may move past its events and a restart would not replay them
            try:
                self.labels.window_closed(closed, rows, self._now_ms)
            except OSError as exc:
                log.warning("cannot keep window for labels: %s (will retry)", exc)
                if self.metrics is not None:
                    self.metrics.publish_failures.labels(sink="pending").inc()
                return False
        self.state.mark_published(closed.key, closed.window)
        self.published += 1
        if self.metrics is not None:
            self.metrics.windows_closed.inc()
        if self.on_published is not None:
            self.on_published(snapshot)
        return True
