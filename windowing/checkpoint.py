"""What must be committed with a partition's offset so a replay rebuilds exactly what was lost.

The offset frontier alone is not enough: offsets interleave across windows, so replaying from
the frontier also re-reads rows of windows that were already published (they would reappear
as partial windows and overwrite a complete snapshot) and rows that were already dead-lettered
as late. A ``PartitionCheckpoint`` therefore carries, per partition:

* ``offset`` — the frontier, where the consumer resumes (the committed Kafka offset);
* ``consumed_through`` — the last offset consumed when the checkpoint was taken; replayed rows
  at or below it whose windows all ended at or before ``floor_ms`` were already handled
  (published in a window or dead-lettered as late) and are skipped, not reported again;
* ``floor_ms`` — the watermark at checkpoint time: windows ending at or before it were closed;
* ``pending`` — closed windows holding rows of this partition that were not yet published,
  with the highest offset of this partition they hold; the replay rebuilds exactly those rows
  and emits the window again once the partition has been re-read that far.

It serialises to compact JSON (``to_json``/``from_json``) small enough for Kafka's per-partition
commit metadata (``offset.metadata.max.bytes``, 4096 by default) while few windows are pending.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from windowing.errors import WindowingError
from windowing.window import Window

KeyTuple = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class PendingWindow:
    """A closed, unpublished window and the highest offset of the partition it holds."""

    key: KeyTuple
    window: Window
    sealed_offset: int


@dataclass(frozen=True, slots=True)
class PartitionCheckpoint:
    """Restart state of one partition; see the module docstring."""

    partition: int
    offset: int
    consumed_through: int
    floor_ms: int
    pending: tuple[PendingWindow, ...] = ()

    def to_json(self) -> str:
        doc: dict[str, Any] = {
            "v": 1,
            "p": self.partition,
            "o": self.offset,
            "t": self.consumed_through,
            "f": self.floor_ms,
            "w": [
                [list(w.key), w.window.start_ms, w.window.end_ms, w.sealed_offset]
                for w in self.pending
            ],
        }
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> PartitionCheckpoint:
        try:
            doc = json.loads(text)
            if doc.get("v") != 1:
                raise WindowingError(f"unsupported checkpoint version {doc.get('v')!r}")
            return cls(
                partition=int(doc["p"]),
                offset=int(doc["o"]),
                consumed_through=int(doc["t"]),
                floor_ms=int(doc["f"]),
                pending=tuple(
                    PendingWindow(tuple(k), Window(int(s), int(e)), int(o))
                    for k, s, e, o in doc["w"]
                ),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WindowingError(
                f"cannot read partition checkpoint {text[:200]!r}: {exc}; expected the text "
                "written by PartitionCheckpoint.to_json (or commit without metadata to start "
                "from the plain offset)"
            ) from exc
