"""The pipeline without Kafka: windows close, snapshots go to every sink, and a window is
marked published (letting the offset frontier move) only after every sink accepted it."""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl
import yaml

from consumer import decode_batch
from evaluation.snapshot import Snapshot
from service.config import load_settings
from service.generator import encode_events, generate_requests, reference_frame
from service.models import build_models
from service.pipeline import Pipeline
from service.runner import decode_bounds, event_schema

BASE_MS = 1_790_000_000_000 - 1_790_000_000_000 % 60_000


class RecordingSink:
    def __init__(self, name: str, failures: int = 0) -> None:
        self.name, self.failures = name, failures
        self.published: list[Snapshot] = []

    def publish(self, snapshot: Snapshot, data: pl.DataFrame | None = None) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full (simulated)")
        self.published.append(snapshot)

    def close(self) -> None:
        pass


class GatedSink(RecordingSink):
    """Blocks every publish until the gate opens (a slow disk, deterministically)."""

    def __init__(self, name: str, gate: threading.Event) -> None:
        super().__init__(name)
        self.gate = gate

    def publish(self, snapshot: Snapshot, data: pl.DataFrame | None = None) -> None:
        assert self.gate.wait(30)
        super().publish(snapshot, data)


def make_pipeline(tmp_path: Path, sinks: list[RecordingSink]) -> Pipeline:
    reference_frame("fraud", n=1000).write_parquet(tmp_path / "fraud.parquet")
    config = {
        "project": {"id": "unit"},
        "window": {"size": "1m", "allowed_lateness": "0s", "idle_timeout": "1s", "min_rows": 5},
        "events": {"max_past": "3650d", "max_future": "3650d"},
        "models": {"fraud": {"reference": "fraud.parquet"}},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    settings = load_settings(tmp_path / "c.yaml")
    return Pipeline(settings, build_models(settings), sinks)


def decoded(pipeline: Pipeline, frame: pl.DataFrame) -> pl.DataFrame:
    values: list[bytes | None] = [v for _, v in encode_events(frame)]
    n = len(values)
    schema = event_schema(pipeline.settings, pipeline.models)
    bounds = decode_bounds(pipeline.settings)
    out = decode_batch(values, [0] * n, list(range(n)), [None] * n, "t", schema, bounds, BASE_MS)
    assert not out.rejected
    return out.frame


def test_failed_sink_keeps_window_pending_and_frontier_held(tmp_path: Path) -> None:
    flaky, ok = RecordingSink("flaky", failures=1), RecordingSink("ok")
    p = make_pipeline(tmp_path, [flaky, ok])
    frame = generate_requests(40, seed=1, start_ms=BASE_MS, span_ms=60_000, model_id="fraud")
    p.state.assign_partitions([0], BASE_MS)
    p.add(decoded(p, frame), BASE_MS)
    p.state.note_consumed(0, frame.height - 1)
    later = BASE_MS + 10 * 60_000  # everything idle: the watermark follows the clock
    assert p.step(later) == 1  # champion published, shadow failed on the flaky sink
    assert len(p.pending) == 1
    assert p.state.frontier()[0] < frame.height  # the unpublished window holds its offsets
    assert p.step(later + 1) == 1  # retried
    assert not p.pending
    assert p.state.frontier()[0] == frame.height
    assert {s.name for s in flaky.published} == {"fraud/champion", "fraud/shadow"}


def test_snapshot_is_independent_of_arrival_order_and_deterministic(tmp_path: Path) -> None:
    frame = generate_requests(60, seed=2, start_ms=BASE_MS, span_ms=60_000, model_id="fraud")
    results = []
    for i, rows in enumerate((frame, frame.sample(fraction=1.0, shuffle=True, seed=3))):
        sink = RecordingSink("s")
        p = (
            make_pipeline(tmp_path / str(i), [sink])
            if (tmp_path / str(i)).mkdir() is None
            else None
        )
        assert p is not None
        p.state.assign_partitions([0], BASE_MS)
        p.add(decoded(p, rows), BASE_MS)
        p.step(BASE_MS + 600_000)
        results.append({s.id: s.to_json() for s in sink.published})
    assert results[0] == results[1]
    assert len(results[0]) == 2


def test_background_evaluation_marks_published_only_when_collected(tmp_path: Path) -> None:
    gate = threading.Event()
    sink = GatedSink("gated", gate)
    p = make_pipeline(tmp_path, [sink])
    p.background = True
    frame = generate_requests(40, seed=4, start_ms=BASE_MS, span_ms=60_000, model_id="fraud")
    p.state.assign_partitions([0], BASE_MS)
    p.add(decoded(p, frame), BASE_MS)
    p.state.note_consumed(0, frame.height - 1)
    p.step(BASE_MS + 10 * 60_000)  # both windows submitted to the worker thread
    # whatever the worker did meanwhile, the frontier only moves once the caller collected
    assert p.published == 0  # the worker is blocked in the sink
    assert p.state.frontier()[0] < frame.height  # so the offsets stay held
    gate.set()
    p.close()  # drains: collects both on this thread
    assert p.published == 2
    assert p.state.frontier()[0] == frame.height
    assert {s.name for s in sink.published} == {"fraud/champion", "fraud/shadow"}


def test_background_failure_goes_back_to_pending_and_is_retried(tmp_path: Path) -> None:
    flaky = RecordingSink("flaky", failures=1)
    p = make_pipeline(tmp_path, [flaky])
    p.background = True
    frame = generate_requests(30, seed=5, start_ms=BASE_MS, span_ms=60_000, model_id="fraud")
    p.state.assign_partitions([0], BASE_MS)
    p.add(decoded(p, frame), BASE_MS)
    p.state.note_consumed(0, frame.height - 1)
    p.step(BASE_MS + 10 * 60_000)
    p.drain()
    assert p.published == 1
    assert len(p.pending) == 1  # the failed one waits for the next step
    assert p.state.frontier()[0] < frame.height
    p.step(BASE_MS + 10 * 60_000 + 1)
    p.close()
    assert p.published == 2
    assert p.state.frontier()[0] == frame.height
