"""Windows (half-open, epoch-aligned), the window specification and ``windows_for``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from windowing.duration import parse_duration_ms
from windowing.errors import WindowSpecError

DEFAULT_KEY_COLUMNS: tuple[str, ...] = ("model_id", "variant")


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """An event-time window ``[start_ms, end_ms)`` in epoch milliseconds (UTC)."""

    start_ms: int
    end_ms: int  # exclusive

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise WindowSpecError(
                f"window end_ms={self.end_ms} must be greater than start_ms={self.start_ms}"
            )

    def contains(self, event_time_ms: int) -> bool:
        """Whether ``event_time_ms`` falls inside the half-open window."""
        return self.start_ms <= event_time_ms < self.end_ms


def windows_for(event_time_ms: int, *, size_ms: int, step_ms: int) -> list[Window]:
    """Every window containing ``event_time_ms``, oldest first (tumbling: ``step_ms == size_ms``).

    Windows start at multiples of ``step_ms`` since the epoch and last ``size_ms``; there are
    exactly ``size_ms // step_ms`` of them for any timestamp.
    """
    _check_size_step(size_ms, step_ms)
    last_start = (event_time_ms // step_ms) * step_ms
    count = size_ms // step_ms
    return [
        Window(last_start - i * step_ms, last_start - i * step_ms + size_ms)
        for i in range(count - 1, -1, -1)
    ]


def _check_size_step(size_ms: int, step_ms: int) -> None:
    if size_ms <= 0 or step_ms <= 0:
        raise WindowSpecError(
            f"window size_ms={size_ms} and step_ms={step_ms} must both be positive"
        )
    if step_ms > size_ms or size_ms % step_ms:
        raise WindowSpecError(
            f"window size_ms={size_ms} must be a multiple of step_ms={step_ms} "
            "(use step == size for tumbling windows, or a slide that divides the size)"
        )


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """How events are grouped and when windows close.

    ``step_ms == size_ms`` gives tumbling windows; a smaller ``step_ms`` (which must divide
    ``size_ms``) gives hopping windows. ``allowed_lateness_ms`` is subtracted from the maximum
    event time of a partition to form its watermark; ``idle_timeout_ms`` is how long (by the
    injected clock) a partition may go without records before it stops holding the watermark
    back. ``min_rows`` only flags a closed window as insufficient; ``max_rows_per_window``
    switches a window to a uniform sample of that many rows.
    """

    size_ms: int
    step_ms: int
    allowed_lateness_ms: int = 0
    idle_timeout_ms: int = 60_000
    min_rows: int = 1
    max_rows_per_window: int | None = None
    key_columns: tuple[str, ...] = DEFAULT_KEY_COLUMNS

    def __post_init__(self) -> None:
        _check_size_step(self.size_ms, self.step_ms)
        if self.allowed_lateness_ms < 0:
            raise WindowSpecError(
                f"allowed_lateness_ms={self.allowed_lateness_ms} must be >= 0 (0 = no lateness)"
            )
        if self.idle_timeout_ms <= 0:
            raise WindowSpecError(f"idle_timeout_ms={self.idle_timeout_ms} must be positive")
        if self.min_rows < 0:
            raise WindowSpecError(f"min_rows={self.min_rows} must be >= 0")
        if self.max_rows_per_window is not None and self.max_rows_per_window <= 0:
            raise WindowSpecError(
                f"max_rows_per_window={self.max_rows_per_window} must be positive, "
                "or None for no cap"
            )
        if not self.key_columns:
            raise WindowSpecError("key_columns must name at least one column, e.g. ('model_id',)")
        if len(set(self.key_columns)) != len(self.key_columns):
            raise WindowSpecError(f"key_columns={self.key_columns!r} contains duplicates")
        bad = [c for c in self.key_columns if c.startswith("_")]
        if bad:
            raise WindowSpecError(
                f"key column(s) {bad!r} start with '_', which is reserved for internal columns"
            )

    @classmethod
    def from_durations(
        cls,
        size: str | int,
        slide: str | int | None = None,
        *,
        allowed_lateness: str | int = 0,
        idle_timeout: str | int = "60s",
        min_rows: int = 1,
        max_rows_per_window: int | None = None,
        key_columns: tuple[str, ...] = DEFAULT_KEY_COLUMNS,
    ) -> WindowSpec:
        """Build a spec from configured durations; ``slide=None`` means tumbling."""
        size_ms = parse_duration_ms(size)
        return cls(
            size_ms=size_ms,
            step_ms=size_ms if slide is None else parse_duration_ms(slide),
            allowed_lateness_ms=parse_duration_ms(allowed_lateness),
            idle_timeout_ms=parse_duration_ms(idle_timeout),
            min_rows=min_rows,
            max_rows_per_window=max_rows_per_window,
            key_columns=tuple(key_columns),
        )

    @property
    def windows_per_event(self) -> int:
        """How many windows contain each event (1 for tumbling)."""
        return self.size_ms // self.step_ms

    def windows_for(self, event_time_ms: int) -> list[Window]:
        """Every window of this spec containing ``event_time_ms``."""
        return windows_for(event_time_ms, size_ms=self.size_ms, step_ms=self.step_ms)

    def fingerprint(self) -> str:
        """A stable hex digest of the fields that decide window contents (for spec hashes)."""
        canonical = json.dumps(
            {
                "v": 1,
                "size_ms": self.size_ms,
                "step_ms": self.step_ms,
                "allowed_lateness_ms": self.allowed_lateness_ms,
                "max_rows_per_window": self.max_rows_per_window,
                "key_columns": list(self.key_columns),
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
