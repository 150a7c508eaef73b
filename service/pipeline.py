"""Decoded event frames in, published snapshots out — the part of the service that does not
know where events come from. ``driftsnap run`` (Kafka) and ``driftsnap replay`` (a file) drive
the same Pipeline, which is why both produce the same snapshots with the same ids.

Order matters here: a window is marked published (which lets the offset frontier move past
its rows) only after every sink accepted its snapshot. A sink failure leaves the window
pending; it is retried on the next step and its offsets stay uncommitted meanwhile.

With ``background=True`` (``driftsnap run``) evaluation and sink writes of closed windows run
on ``workers`` threads, so the consumer keeps reading and decoding meanwhile and windows that
close together are evaluated side by side (numpy, polars and file I/O release the GIL). A
window's work touches only that window's rows and the immutable reference profile. Windows
are still collected in close order (a finished window waits for older ones), and all
window state — ``mark_published``, hence the frontier — is only touched on the caller's
thread, when it collects finished work in ``step``/``drain``. ``drain`` waits for everything
in flight; the service calls it before every forced commit (rebalance, shutdown).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from evaluation.snapshot import Snapshot, WindowInfo, utc_from_ms
from publisher import ServiceMetrics, SnapshotSink
from service.config import Settings
from service.models import ModelRuntime
from service.sinks import publish_to_sinks
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


@dataclass(frozen=True, slots=True)
class _Work:
    """What evaluating and publishing one window produced."""

    ok: bool
    snapshot: Snapshot | None = None
    rows: pl.DataFrame | None = None


@dataclass
class Pipeline:
    settings: Settings
    models: dict[str, ModelRuntime]
    sinks: Sequence[SnapshotSink]
    metrics: ServiceMetrics | None = None
    on_published: Callable[[Snapshot], None] | None = None
    labels: LabelTracker | None = None
    background: bool = False
    workers: int = 2
    state: WindowState = field(init=False)
    pending: list[ClosedWindow] = field(default_factory=list, init=False)
    published: int = field(default=0, init=False)
    _now_ms: int = field(default=0, init=False)
    _inflight: deque[tuple[ClosedWindow, Future[_Work]]] = field(default_factory=deque, init=False)
    _executor: ThreadPoolExecutor | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.state = WindowState(window_spec(self.settings))

    def close(self) -> None:
        """Finish the work in flight and stop the worker thread."""
        self.drain()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def reset(self) -> None:
        """Forget all window state (after every partition was revoked). The next assignment
        then starts exactly like a restarted process: a fresh watermark, checkpoints restored
        from Kafka. Without this, a watermark advanced on the old partitions would make the
        backlog of newly assigned partitions look late."""
        self.drain()
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
        """Close what the watermark allows and publish it (plus anything pending); returns the
        number of windows whose publication completed in this call."""
        self._now_ms = now_ms
        self.pending.extend(self.state.advance(now_ms))
        if not self.background:
            return self._publish_pending()
        todo, self.pending = self.pending, []
        for closed in todo:
            self._submit(closed)
        return self._collect(block=False)

    def drain(self) -> int:
        """Wait for every window in flight and finish it (background mode)."""
        return self._collect(block=True)

    def close_all(self, now_ms: int | None = None) -> int:
        """End of input (replay): close and publish every open window."""
        if now_ms is not None:
            self._now_ms = now_ms
        self.pending.extend(self.state.close_all())
        if not self.background:
            return self._publish_pending()
        for closed in self.pending:
            self._submit(closed)
        self.pending = []
        return self.drain()

    def _submit(self, closed: ClosedWindow) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.workers, thread_name_prefix="evaluate"
            )
        self._inflight.append((closed, self._executor.submit(self._work, closed)))

    def _collect(self, *, block: bool) -> int:
        done = 0
        while self._inflight and (block or self._inflight[0][1].done()):
            closed, future = self._inflight.popleft()
            work = future.result()  # _work never raises: failures come back as ok=False
            if work.ok and self._finish_safely(closed, work):
                done += 1
            else:
                self.pending.append(closed)  # retried on the next step
        self._sync_metrics()
        return done

    def _publish_pending(self) -> int:
        done = 0
        still: list[ClosedWindow] = []
        for closed in self.pending:
            work = self._work(closed)
            if work.ok and self._finish_safely(closed, work):
                done += 1
            else:
                still.append(closed)
        self.pending = still
        self._sync_metrics()
        return done

    def _sync_metrics(self) -> None:
        if self.metrics is not None:
            self.metrics.windows_open.set(self.state.open_window_count)
            self.metrics.rows_held.set(self.state.rows_held)
            wm = self.state.watermark_ms
            if wm is not None:
                self.metrics.watermark.set(wm / 1000)

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

    def _work(self, closed: ClosedWindow) -> _Work:
        """Evaluate and write to every sink (thread-safe: touches no window state)."""
        t0 = time.perf_counter()
        try:
            rows = self.window_rows(closed)
            snapshot = self.snapshot_for(closed, rows)
        except Exception:
            # a bug, not bad input: keep the window pending (its offsets stay uncommitted)
            log.exception("evaluation failed window=%s %s", closed.key_dict, closed.window)
            return _Work(False)
        if self.metrics is not None:
            self.metrics.evaluation_seconds.observe(time.perf_counter() - t0)
        data = rows if self.settings.workspace.include_data else None
        ok = publish_to_sinks(
            list(self.sinks), snapshot, data, metrics=self.metrics, project=self.settings.project.id
        )
        if not ok:
            return _Work(False)
        return _Work(True, snapshot, rows)

    def _finish_safely(self, closed: ClosedWindow, work: _Work) -> bool:
        """``_finish``, with any failure keeping the window pending (never lost in between)."""
        try:
            return self._finish(closed, work)
        except Exception:
            log.exception("finishing window=%s %s failed", closed.key_dict, closed.window)
            return False

    def _finish(self, closed: ClosedWindow, work: _Work) -> bool:
        """On the caller's thread: hand the rows to the label join, mark the window published."""
        rows, snapshot = work.rows, work.snapshot
        if rows is None or snapshot is None:
            return False
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
