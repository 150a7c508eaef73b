"""Per-partition watermarks, idle partitions and the service watermark.

Why the rules are shaped this way:

* a partition's watermark is its highest event time minus the allowed lateness, so records
  up to ``allowed_lateness_ms`` out of order still land in their window;
* the service watermark is the minimum over *active* partitions, because the slowest
  partition decides which windows can be complete;
* an assigned partition with no record yet holds the watermark (it may carry a backlog) until
  it has been quiet for ``idle_timeout_ms`` by the injected clock; then it stops counting;
* when every assigned partition is idle the watermark follows the clock
  (``now_ms - allowed_lateness_ms``) so quiet windows still close;
* with no partition assigned at all, the watermark holds (a fresh start before assignment must
  not race ahead of the backlog);
* the watermark never regresses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: The watermark before anything is known: below every representable event time.
MIN_WATERMARK_MS = -(2**63)


@dataclass(slots=True)
class _PartitionClock:
    last_seen_now_ms: int  # injected-clock time of the last windowed record (or assignment)
    max_event_time_ms: int | None = None


class PartitionWatermarks:
    """Tracks event-time progress and idleness of assigned partitions."""

    def __init__(self, *, allowed_lateness_ms: int, idle_timeout_ms: int) -> None:
        self._lateness = allowed_lateness_ms
        self._idle_timeout = idle_timeout_ms
        self._parts: dict[int, _PartitionClock] = {}
        self.watermark_ms = MIN_WATERMARK_MS

    @property
    def partitions(self) -> frozenset[int]:
        return frozenset(self._parts)

    def assign(self, partitions: Iterable[int], now_ms: int) -> None:
        for p in partitions:
            self._parts.setdefault(p, _PartitionClock(last_seen_now_ms=now_ms))

    def revoke(self, partitions: Iterable[int]) -> None:
        for p in partitions:
            self._parts.pop(p, None)

    def observe(self, partition: int, max_event_time_ms: int, now_ms: int) -> None:
        """Record that ``partition`` delivered records up to ``max_event_time_ms`` at ``now_ms``."""
        clock = self._parts.get(partition)
        if clock is None:
            clock = self._parts[partition] = _PartitionClock(last_seen_now_ms=now_ms)
        clock.last_seen_now_ms = max(clock.last_seen_now_ms, now_ms)
        if clock.max_event_time_ms is None or max_event_time_ms > clock.max_event_time_ms:
            clock.max_event_time_ms = max_event_time_ms

    def is_idle(self, partition: int, now_ms: int) -> bool:
        clock = self._parts[partition]
        return now_ms - clock.last_seen_now_ms >= self._idle_timeout

    def idle_partitions(self, now_ms: int) -> frozenset[int]:
        return frozenset(p for p in self._parts if self.is_idle(p, now_ms))

    def advance(self, now_ms: int) -> int:
        """Recompute the service watermark at ``now_ms``; returns it (never lower than before)."""
        if not self._parts:
            return self.watermark_ms
        active = [c for p, c in self._parts.items() if not self.is_idle(p, now_ms)]
        if not active:
            candidate = now_ms - self._lateness
        elif any(c.max_event_time_ms is None for c in active):
            # An active partition that has not delivered yet may hold a backlog: hold.
            candidate = MIN_WATERMARK_MS
        else:
            candidate = min(c.max_event_time_ms for c in active if c.max_event_time_ms is not None)
            candidate -= self._lateness
        self.watermark_ms = max(self.watermark_ms, candidate)
        return self.watermark_ms

    def raise_to(self, watermark_ms: int) -> None:
        """Move the watermark forward to at least ``watermark_ms`` (used by ``close_all``)."""
        self.watermark_ms = max(self.watermark_ms, watermark_ms)
