"""The label join: closed windows awaiting ground truth, and labels awaiting their events.

Pure state (no I/O, no clock: ``now_ms`` is always passed in), driven by
``service.quality.LabelTracker``, which adds durability and publishing. See docs/labels.md.

- A closed window of a model with targets becomes an :class:`AwaitingWindow` holding only what
  the join needs: event ids, request ids (for the comparison) and predictions.
- A label joins by event id every awaiting window holding that id (champion and shadow rows of
  one request share the id, and hopping windows share rows). A label whose window has not
  closed yet waits in the label buffer; the buffer keeps every label for ``unknown_after_ms``
  after it arrived, so windows that close later still find it. A label that matched nothing
  by then is *unknown* (the caller dead-letters it).
- Duplicates (a second label for an event id): **last wins** (a corrected label replaces the
  first); each is counted. A label replayed after a restart (same topic coordinates) is
  recognised and ignored, so recovery is idempotent.
- A window is *due* for its quality snapshot at ``closed_ms + label_wait`` or as soon as every
  event id has a label. After publication it keeps listening for ``late_horizon_ms``: labels
  arriving then are *late* (counted) and, with ``revise``, make it due again (a revision).
- ``max_rows_held`` caps the rows of all awaiting windows: past it, the oldest windows are
  evicted (published now if not yet, then dropped) and each eviction counts as a cap hit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Coord = tuple[int, int]  # (partition, offset) of a label in the labels topic


@dataclass(slots=True)
class Label:
    event_id: str
    target: Any
    partition: int
    offset: int
    received_ms: int
    timestamp_ms: int | None = None
    matched: bool = False
    duplicates: int = 0  # earlier labels for the same event this one replaced

    @property
    def coord(self) -> Coord:
        return (self.partition, self.offset)


@dataclass(slots=True, eq=False)
class AwaitingWindow:
    """A closed window's join rows. ``targets`` maps event id -> (target, label coordinates)."""

    qid: str
    model_id: str
    variant: str
    key: dict[str, str | None]
    start_ms: int
    end_ms: int
    event_ids: list[str]
    request_ids: list[str]
    predictions: list[Any]
    closed_ms: int
    deadline_ms: int
    targets: dict[str, tuple[Any, Coord]] = field(default_factory=dict)
    published_ms: int | None = None
    revision: int = 0
    labelled_at_publish: int = 0
    stale: bool = False
    evict: bool = False
    late_labels: int = 0
    duplicate_labels: int = 0
    ids: frozenset[str] = field(default=frozenset(), init=False)

    def __post_init__(self) -> None:
        self.ids = frozenset(self.event_ids)

    @property
    def rows(self) -> int:
        return len(self.event_ids)

    @property
    def labelled_rows(self) -> int:
        t = self.targets
        return sum(1 for e in self.event_ids if e in t)

    @property
    def complete(self) -> bool:
        return len(self.targets) >= len(self.ids)

    @property
    def slot(self) -> tuple[str, tuple[tuple[str, str | None], ...], int, int]:
        """(model, key without the variant, start, end): what pairs champion and candidate."""
        rest = tuple(sorted((k, v) for k, v in self.key.items() if k != "variant"))
        return (self.model_id, rest, self.start_ms, self.end_ms)


@dataclass(frozen=True, slots=True)
class Expired:
    unknown: list[Label]
    finalized: list[AwaitingWindow]


@dataclass
class LabelJoin:
    unknown_after_ms: int
    late_horizon_ms: int
    max_rows_held: int
    revise: bool = False
    windows: dict[str, AwaitingWindow] = field(default_factory=dict)
    late_total: int = 0
    duplicate_total: int = 0
    unknown_total: int = 0
    cap_hits_total: int = 0
    joined_total: int = 0
    _index: dict[str, list[str]] = field(default_factory=dict)
    _labels: dict[str, Label] = field(default_factory=dict)
    _slots: dict[tuple[Any, ...], dict[str, str]] = field(default_factory=dict)
    _rows: int = 0

    # ------------------------------------------------------------------ windows
    def add_window(self, w: AwaitingWindow) -> bool:
        """Start awaiting labels for ``w``; labels already buffered join at once. Returns
        False when the window is already known (a replay re-closing it keeps the first)."""
        if w.qid in self.windows:
            return False
        self.windows[w.qid] = w
        self._rows += w.rows
        self._slots.setdefault(w.slot, {})[w.variant] = w.qid
        for eid in w.ids:
            self._index.setdefault(eid, []).append(w.qid)
            lab = self._labels.get(eid)
            if lab is not None:
                w.targets[eid] = (lab.target, lab.coord)
                w.duplicate_labels += lab.duplicates  # duplicates that arrived before the close
                lab.matched = True
        return True

    def partner(self, w: AwaitingWindow, variant: str) -> AwaitingWindow | None:
        qid = self._slots.get(w.slot, {}).get(variant)
        return self.windows.get(qid) if qid is not None else None

    def _drop(self, w: AwaitingWindow) -> None:
        del self.windows[w.qid]
        self._rows -= w.rows
        slot = self._slots.get(w.slot)
        if slot is not None:
            slot.pop(w.variant, None)
            if not slot:
                del self._slots[w.slot]
        for eid in w.ids:
            qids = self._index.get(eid)
            if qids is None:
                continue
            qids.remove(w.qid)
            if not qids:
                del self._index[eid]

    # ------------------------------------------------------------------ labels
    def add_labels(self, labels: Iterable[Label], *, restoring: bool = False) -> int:
        """Join labels in arrival order; returns how many joined at least one window.

        ``restoring`` (labels reloaded after a restart) neither counts late or duplicate
        labels nor marks published windows for revision: that happened before the crash."""
        joined = 0
        for lab in labels:
            eid = lab.event_id
            prev = self._labels.get(eid)
            if prev is not None and prev.coord == lab.coord:
                continue  # the same record again (replay after a restart)
            qids = self._index.get(eid, ())
            wins = [self.windows[q] for q in qids]
            if any(w.targets.get(eid, (None, None))[1] == lab.coord for w in wins):
                continue
            duplicate = prev is not None or any(eid in w.targets for w in wins)
            if duplicate and not restoring:
                self.duplicate_total += 1
                for w in wins:
                    w.duplicate_labels += 1
                if prev is not None:
                    # still counted for a window that closes later and joins this label
                    lab.duplicates = prev.duplicates + (0 if wins else 1)
            if prev is not None:
                del self._labels[eid]  # re-insert at the end: the dict stays in arrival order
            self._labels[eid] = lab  # last wins
            if not wins:
                continue
            lab.matched = True
            joined += 1
            late = False
            for w in wins:
                w.targets[eid] = (lab.target, lab.coord)
                if w.published_ms is not None and not restoring:
                    late = True
                    w.late_labels += 1
                    if self.revise:
                        w.stale = True
            if late:
                self.late_total += 1
        self.joined_total += joined
        return joined

    @property
    def rows_held(self) -> int:
        return self._rows

    @property
    def labels_buffered(self) -> int:
        return len(self._labels)

    def live_coords(self) -> set[Coord]:
        """Coordinates of every label still needed (buffered or joined to a held window)."""
        live = {lab.coord for lab in self._labels.values()}
        for w in self.windows.values():
            live.update(c for _, c in w.targets.values())
        return live

    # ------------------------------------------------------------------ decisions
    def due(self, now_ms: int, *, force: bool = False) -> list[AwaitingWindow]:
        """Windows whose quality snapshot should be (re)published now, oldest first."""
        self._apply_cap()
        out = []
        for w in self.windows.values():
            if w.published_ms is None:
                if force or w.evict or w.complete or w.deadline_ms <= now_ms:
                    out.append(w)
            elif w.stale:
                out.append(w)
        return sorted(out, key=lambda w: (w.end_ms, w.qid))

    def _apply_cap(self) -> None:
        excess = self._rows - self.max_rows_held
        if excess <= 0:
            return
        for w in sorted(self.windows.values(), key=lambda w: (w.closed_ms, w.end_ms, w.qid)):
            if excess <= 0:
                break
            if w.evict:
                excess -= w.rows
                continue
            w.evict = True
            self.cap_hits_total += 1
            excess -= w.rows

    def mark_published(self, qid: str, now_ms: int) -> None:
        w = self.windows[qid]
        if w.published_ms is not None:
            w.revision += 1
        else:
            w.published_ms = now_ms
        w.stale = False
        w.labelled_at_publish = w.labelled_rows

    def next_revision(self, w: AwaitingWindow) -> int:
        return w.revision + (1 if w.published_ms is not None else 0)

    def expire(self, now_ms: int, *, everything: bool = False) -> Expired:
        """Labels past ``unknown_after_ms`` leave the buffer (unmatched ones are returned as
        unknown); published windows past their late horizon (or evicted) are finalized."""
        unknown: list[Label] = []
        # the buffer is in arrival order, so expiry stops at the first label still waiting
        for eid, lab in list(self._labels.items()):
            if not everything and lab.received_ms + self.unknown_after_ms > now_ms:
                break
            del self._labels[eid]
            if not lab.matched:
                unknown.append(lab)
        self.unknown_total += len(unknown)
        finalized = []
        for w in list(self.windows.values()):
            if w.published_ms is None or w.stale:
                continue
            if everything or w.evict or w.published_ms + self.late_horizon_ms <= now_ms:
                self._drop(w)
                finalized.append(w)
        return Expired(unknown, finalized)

    def restore_published(self, w: AwaitingWindow, meta: Mapping[str, Any]) -> None:
        """Re-apply the publication state of a window reloaded after a restart (before its
        labels are restored; then call :meth:`check_restored`)."""
        published = meta.get("published_ms")
        if published is None:
            return
        w.published_ms = int(published)
        w.revision = int(meta.get("revision", 0))
        w.labelled_at_publish = int(meta.get("labelled_at_publish", 0))

    def check_restored(self) -> None:
        """After restoring labels: a published window whose labels differ from what its
        snapshot covered (labels that arrived between publication and the crash) is revised."""
        if not self.revise:
            return
        for w in self.windows.values():
            if w.published_ms is not None and w.labelled_rows != w.labelled_at_publish:
                w.stale = True
