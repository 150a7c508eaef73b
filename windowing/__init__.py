"""Pure event-time core: window specs (tumbling, hopping), vectorised assignment of event
batches to keyed windows, per-partition watermarks, allowed lateness, idle partitions, close
decisions, the offset frontier and deterministic snapshot identity.

Performs no I/O and never reads a clock (time is passed in). Must not import Kafka,
prometheus_client, files or network, nor any other driftsnap package.
"""

from __future__ import annotations

from windowing.checkpoint import KeyTuple, PartitionCheckpoint, PendingWindow
from windowing.duration import parse_duration_ms
from windowing.errors import BatchSchemaError, WindowingError, WindowSpecError
from windowing.identity import SNAPSHOT_NAMESPACE, snapshot_canonical, snapshot_id
from windowing.state import AddResult, ClosedWindow, OffsetRange, WindowState
from windowing.watermark import MIN_WATERMARK_MS
from windowing.window import DEFAULT_KEY_COLUMNS, Window, WindowSpec, windows_for

__all__ = [
    "DEFAULT_KEY_COLUMNS",
    "MIN_WATERMARK_MS",
    "SNAPSHOT_NAMESPACE",
    "AddResult",
    "BatchSchemaError",
    "ClosedWindow",
    "KeyTuple",
    "OffsetRange",
    "PartitionCheckpoint",
    "PendingWindow",
    "Window",
    "WindowSpec",
    "WindowSpecError",
    "WindowState",
    "WindowingError",
    "parse_duration_ms",
    "snapshot_canonical",
    "snapshot_id",
    "windows_for",
]
