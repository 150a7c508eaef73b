"""Keyed window state: vectorised assignment, close decisions, revocation and the offset frontier.

``WindowState`` is pure: it never reads a clock (``now_ms`` is always passed in) and performs
no I/O. The service feeds it decoded micro-batches, calls ``advance(now_ms)`` to collect the
windows the watermark has passed, publishes them, calls ``mark_published`` and commits
``checkpoint()`` (or at least ``frontier()``). See docs/windowing.md for the reasoning.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import polars as pl

from windowing.checkpoint import KeyTuple, PartitionCheckpoint, PendingWindow
from windowing.errors import BatchSchemaError
from windowing.sampling import bottom_k, window_seed
from windowing.watermark import PartitionWatermarks
from windowing.window import Window, WindowSpec

PARTITION, OFFSET, EVENT_TIME = "_partition", "_offset", "_event_time_ms"
_LAST_START, _EFF_WM, _START, _ROW = "_w_last_start", "_w_eff_wm", "_w_start", "_w_row"
_INTERNAL = (_LAST_START, _EFF_WM, _START, _ROW)
LATE_EXTRA_COLUMNS = ("window_start_ms", "window_end_ms", "late_by_ms")

_WindowId = tuple[KeyTuple, int]  # (key, window start)
_CATEGORIES_SEQ = itertools.count()


@dataclass(frozen=True, slots=True)
class OffsetRange:
    """Offsets of one partition held by a window: ``first..last`` inclusive, ``count`` rows."""

    first: int
    last: int
    count: int


@dataclass(frozen=True, slots=True, eq=False)
class ClosedWindow:
    """A window the watermark has passed, with its rows concatenated once.

    ``frame`` holds the batch columns (payload untouched, plus ``_partition``, ``_offset``,
    ``_event_time_ms``) sorted by ``(_partition, _offset)``. ``row_count`` is the true number of
    rows even when ``sampled`` is true and ``frame`` holds only ``max_rows_per_window`` of them.
    """

    key: KeyTuple
    key_dict: Mapping[str, str | None]
    window: Window
    frame: pl.DataFrame
    row_count: int
    sampled: bool
    insufficient: bool
    offsets: Mapping[int, OffsetRange]

    @property
    def partitions(self) -> frozenset[int]:
        return frozenset(self.offsets)


@dataclass(frozen=True, slots=True, eq=False)
class AddResult:
    """Outcome of ``WindowState.add``.

    ``late`` holds the late rows (all batch columns plus ``window_start_ms``, ``window_end_ms``
    of the last window containing the row, and ``late_by_ms = watermark - event time``), to be
    dead-lettered. ``replayed`` counts rows skipped because a restored checkpoint says they
    were already handled before a restart.
    """

    accepted: int
    assignments: int
    late: pl.DataFrame
    replayed: int = 0


#: A window's chunk list is compacted (tiered, like a log-structured merge) whenever its last
#: ``COMPACT_FANIN`` chunks have the same level: they are concatenated into one contiguous chunk
#: one level up. Every row is copied about log_FANIN(chunks) times and a window holds fewer than
#: ``COMPACT_FANIN`` chunks per level, instead of one small chunk per micro-batch.
COMPACT_FANIN = 4
_SEALED = 1 << 30  # level of a sampled frame: never merged again

#: A String payload column is buffered as Categorical (a per-window category mapping, released
#: with the window) when the micro-batch that opens the window repeats its values at least this
#: many times on average: 4 B per row instead of a 16 B string view.
CATEGORICAL_MIN_REPEAT = 4


@dataclass(slots=True)
class _Buffer:
    """Rows of one (key, window).

    While every chunk has the same schema (``schema``, the usual case), the chunks are stored
    *compact*: without the key columns (constant in a window; ``keys`` holds them as a one-row
    frame), with the String columns in ``cats`` as Categorical, and tiered-compacted
    (``levels``). ``_restore`` turns stored rows back into exactly the batch columns. A chunk
    with another schema switches the buffer to plain chunks (``keys`` None), concatenated with
    ``diagonal_relaxed`` at close as before.
    """

    chunks: list[pl.DataFrame] = field(default_factory=list)
    held_rows: int = 0
    row_count: int = 0
    offsets: dict[int, list[int]] = field(default_factory=dict)  # p -> [first, last, count]
    sampled: bool = False
    schema: pl.Schema | None = None  # schema of the batch chunks (set by the first chunk)
    keys: pl.DataFrame | None = None  # one-row frame of the key columns, None = plain chunks
    cats: tuple[str, ...] = ()
    categories: pl.Categories | None = None
    levels: list[int] = field(default_factory=list)  # compaction level of each chunk


@dataclass(slots=True)
class _Guard:
    floor_ms: int
    consumed_through: int


class WindowState:
    """Open windows per key, watermarks, lateness and the offset frontier of one instance."""

    def __init__(self, spec: WindowSpec, *, seed: int = 0) -> None:
        self.spec = spec
        self.seed = seed
        self._keys = list(spec.key_columns)
        self._wm = PartitionWatermarks(
            allowed_lateness_ms=spec.allowed_lateness_ms, idle_timeout_ms=spec.idle_timeout_ms
        )
        self._open: dict[_WindowId, _Buffer] = {}
        self._unpublished: dict[tuple[KeyTuple, Window], dict[int, OffsetRange]] = {}
        self._pending: dict[_WindowId, tuple[_Buffer, dict[int, int]]] = {}  # restored
        self._consumed: dict[int, int] = {}
        self._guards: dict[int, _Guard] = {}

    # ------------------------------------------------------------------ partitions
    def assign_partitions(
        self,
        partitions: Iterable[int],
        now_ms: int,
        checkpoints: Mapping[int, PartitionCheckpoint] | None = None,
    ) -> None:
        """Start tracking ``partitions`` at ``now_ms``; optionally restore their checkpoints.

        A newly assigned partition holds the watermark until it delivers a record or has been
        idle for ``idle_timeout_ms``. With a checkpoint, the consumer must resume at
        ``checkpoint.offset``; already-handled rows are skipped and pending windows rebuilt.
        """
        parts = list(partitions)
        self._wm.assign(parts, now_ms)
        for p in parts:
            ckpt = (checkpoints or {}).get(p)
            if ckpt is None:
                continue
            self._consumed[p] = max(self._consumed.get(p, -1), ckpt.offset - 1)
            self._guards[p] = _Guard(ckpt.floor_ms, ckpt.consumed_through)
            for pw in ckpt.pending:
                wid = (pw.key, pw.window.start_ms)
                _buf, sealed = self._pending.setdefault(wid, (_Buffer(), {}))
                sealed[p] = pw.sealed_offset

    def revoke_partitions(self, partitions: Iterable[int]) -> list[tuple[KeyTuple, Window]]:
        """Forget ``partitions`` and drop every window that holds any of their rows.

        Returns the dropped windows (open, restored-pending and closed-unpublished), sorted.
        The whole window is dropped, not only the revoked rows: its new owner rebuilds it from
        the committed checkpoint, and a window is only ever complete on one instance when all
        its rows come from partitions that move together (see docs/windowing.md).
        """
        revoked = set(partitions)
        dropped: list[tuple[KeyTuple, Window]] = []
        for wid, buf in list(self._open.items()):
            if revoked.intersection(buf.offsets):
                del self._open[wid]
                dropped.append((wid[0], self._window(wid[1])))
        for wid, (buf, sealed) in list(self._pending.items()):
            if revoked.intersection(sealed) or revoked.intersection(buf.offsets):
                del self._pending[wid]
                dropped.append((wid[0], self._window(wid[1])))
        for kw, offsets in list(self._unpublished.items()):
            if revoked.intersection(offsets):
                del self._unpublished[kw]
                dropped.append(kw)
        self._wm.revoke(revoked)
        for p in revoked:
            self._consumed.pop(p, None)
            self._guards.pop(p, None)
        return sorted(dropped, key=lambda kw: (kw[1], _sort_key(kw[0])))

    @property
    def partitions(self) -> frozenset[int]:
        """Partitions currently tracked (assigned, or seen in a batch)."""
        return self._wm.partitions

    # ------------------------------------------------------------------ input
    def note_consumed(self, partition: int, offset: int) -> None:
        """Advance the frontier over a record that never reaches windowing (e.g. rejected).

        Call it only once the record's effect is durable (dead-letter delivery confirmed).
        It does not count as activity for idleness: the record carries no event time.
        """
        self._consumed[partition] = max(self._consumed.get(partition, -1), offset)

    def add(self, batch: pl.DataFrame, now_ms: int) -> AddResult:
        """Assign a decoded micro-batch to its windows (vectorised) and return the late rows."""
        self._check_schema(batch)
        if batch.height == 0:
            return AddResult(0, 0, self._empty_late(batch))
        size, step = self.spec.size_ms, self.spec.step_ms
        self._observe(batch, now_ms)
        wm = self._wm.watermark_ms

        if self._guards:
            eff = (
                pl.col(PARTITION)
                .replace_strict(
                    {p: max(g.floor_ms, wm) for p, g in self._guards.items()},
                    default=wm,
                    return_dtype=pl.Int64,
                )
                .alias(_EFF_WM)
            )
        else:
            eff = pl.lit(wm, dtype=pl.Int64).alias(_EFF_WM)
        df = batch.with_columns(
            ((pl.col(EVENT_TIME) // step) * step).alias(_LAST_START), eff
        ).with_row_index(_ROW)
        all_closed = pl.col(_LAST_START) + size <= pl.col(_EFF_WM)

        handled = pl.Series(_ROW, [], dtype=pl.UInt32)
        replayed = 0
        if self._guards:
            handled, replayed = self._replay(df, all_closed)

        late = df.filter(all_closed & ~pl.col(_ROW).is_in(handled.implode()))
        fresh = df.filter(~all_closed)
        exploded = self._explode(fresh).filter(pl.col(_START) + size > pl.col(_EFF_WM))
        assignments = self._store(exploded, self._open)
        late_frame = self._late_frame(late, wm)
        return AddResult(
            accepted=fresh.height,
            assignments=assignments,
            late=late_frame,
            replayed=replayed,
        )

    # ------------------------------------------------------------------ closing
    def advance(self, now_ms: int) -> list[ClosedWindow]:
        """Recompute the watermark at ``now_ms`` and close every window with ``end <= wm``.

        Each window is returned exactly once, oldest end first; it never reopens (the
        watermark never regresses, and rows for it are reported late from then on).
        """
        wm = self._wm.advance(now_ms)
        closing = [wid for wid in self._open if wid[1] + self.spec.size_ms <= wm]
        closed = [self._close(wid, self._open.pop(wid)) for wid in self._sorted(closing)]
        ready = [
            wid
            for wid, (_buf, sealed) in self._pending.items()
            if all(self._consumed.get(p, -1) >= off for p, off in sealed.items())
        ]
        closed += [self._close(wid, self._pending.pop(wid)[0]) for wid in self._sorted(ready)]
        return closed

    def close_all(self) -> list[ClosedWindow]:
        """Close every open (and restored-pending) window now, e.g. at the end of a file replay.

        The watermark jumps to the latest window end so none of them can reopen.
        """
        ends = [wid[1] + self.spec.size_ms for wid in (*self._open, *self._pending)]
        if ends:
            self._wm.raise_to(max(ends))
        closed = [self._close(wid, self._open.pop(wid)) for wid in self._sorted(list(self._open))]
        pend = self._sorted(list(self._pending))
        closed += [self._close(wid, self._pending.pop(wid)[0]) for wid in pend]
        return closed

    def mark_published(self, key: KeyTuple, window: Window) -> bool:
        """Release the offsets held by a closed window; False if it was not waiting."""
        return self._unpublished.pop((tuple(key), window), None) is not None

    # ------------------------------------------------------------------ frontier
    def frontier(self) -> dict[int, int]:
        """Per partition, the offset that is safe to commit (the next one to read on restart).

        The smallest offset still held by an open, restored-pending or closed-but-unpublished
        window on that partition; otherwise the last consumed offset + 1. Partitions with
        nothing consumed and nothing held are absent.
        """
        held: dict[int, int] = {}

        def hold(p: int, first: int) -> None:
            held[p] = min(held.get(p, first), first)

        for buf in self._open.values():
            for p, (first, _last, _n) in buf.offsets.items():
                hold(p, first)
        for buf, _sealed in self._pending.values():
            for p, (first, _last, _n) in buf.offsets.items():
                hold(p, first)
        for offsets in self._unpublished.values():
            for p, rng in offsets.items():
                hold(p, rng.first)
        out = {p: last + 1 for p, last in self._consumed.items()}
        for p, first in held.items():
            out[p] = min(first, out.get(p, first))
        return out

    def checkpoint(self) -> dict[int, PartitionCheckpoint]:
        """Per-partition restart state to commit with the frontier (see ``PartitionCheckpoint``)."""
        front = self.frontier()
        wm = self._wm.watermark_ms
        pending: dict[int, list[PendingWindow]] = {}
        for (key, window), offsets in self._unpublished.items():
            for p, rng in offsets.items():
                pending.setdefault(p, []).append(PendingWindow(key, window, rng.last))
        for (key, start), (buf, sealed) in self._pending.items():
            for p, off in sealed.items():
                last = buf.offsets[p][1] if p in buf.offsets else off
                pending.setdefault(p, []).append(
                    PendingWindow(key, self._window(start), max(off, last))
                )
        out: dict[int, PartitionCheckpoint] = {}
        for p, offset in front.items():
            guard = self._guards.get(p)
            floor = wm if guard is None else max(wm, guard.floor_ms)
            out[p] = PartitionCheckpoint(
                partition=p,
                offset=offset,
                consumed_through=self._consumed.get(p, offset - 1),
                floor_ms=floor,
                pending=tuple(
                    sorted(pending.get(p, []), key=lambda w: (w.window, _sort_key(w.key)))
                ),
            )
        return out

    # ------------------------------------------------------------------ metrics
    @property
    def watermark_ms(self) -> int:
        return self._wm.watermark_ms

    @property
    def open_window_count(self) -> int:
        return len(self._open) + len(self._pending)

    @property
    def unpublished_window_count(self) -> int:
        return len(self._unpublished)

    @property
    def rows_held(self) -> int:
        """Rows buffered in open windows (after sampling; a hopping row counts per window)."""
        return sum(b.held_rows for b in self._open.values()) + sum(
            b.held_rows for b, _s in self._pending.values()
        )

    @property
    def cross_partition_windows(self) -> int:
        """Open windows holding rows of more than one partition (see revocation in the docs)."""
        return sum(1 for b in self._open.values() if len(b.offsets) > 1)

    def idle_partitions(self, now_ms: int) -> frozenset[int]:
        return self._wm.idle_partitions(now_ms)

    # ------------------------------------------------------------------ internals
    def _window(self, start_ms: int) -> Window:
        return Window(start_ms, start_ms + self.spec.size_ms)

    def _sorted(self, wids: list[_WindowId]) -> list[_WindowId]:
        return sorted(wids, key=lambda w: (w[1], _sort_key(w[0])))

    def _check_schema(self, batch: pl.DataFrame) -> None:
        schema = batch.schema
        missing = [c for c in (PARTITION, OFFSET, EVENT_TIME, *self._keys) if c not in schema]
        if missing:
            raise BatchSchemaError(
                f"micro-batch lacks column(s) {missing!r}; it has {list(schema)!r}. The consumer "
                "must provide _partition, _offset, _event_time_ms and the key columns "
                f"{self._keys!r} (WindowSpec.key_columns)"
            )
        for col in (PARTITION, OFFSET, EVENT_TIME):
            if not schema[col].is_integer():
                raise BatchSchemaError(
                    f"column {col!r} has dtype {schema[col]}; expected an integer "
                    "(Int32 partition, Int64 offset and epoch-ms event time)"
                )
        clash = [c for c in schema if c in _INTERNAL]
        if clash:
            raise BatchSchemaError(f"micro-batch uses reserved column name(s) {clash!r}")

    def _observe(self, batch: pl.DataFrame, now_ms: int) -> None:
        per_part = batch.group_by(PARTITION).agg(
            pl.col(EVENT_TIME).max().alias("t"), pl.col(OFFSET).max().alias("o")
        )
        for p, t, o in per_part.iter_rows():
            self._wm.observe(int(p), int(t), now_ms)
            self._consumed[int(p)] = max(self._consumed.get(int(p), -1), int(o))

    def _explode(self, df: pl.DataFrame) -> pl.DataFrame:
        step = self.spec.step_ms
        if self.spec.windows_per_event == 1:
            return df.with_columns(pl.col(_LAST_START).alias(_START))
        first = pl.col(_LAST_START) - (self.spec.size_ms - step)
        return df.with_columns(
            pl.int_ranges(first, pl.col(_LAST_START) + 1, step, dtype=pl.Int64).alias(_START)
        ).explode(_START)

    def _replay(self, df: pl.DataFrame, all_closed: pl.Expr) -> tuple[pl.Series, int]:
        """Rows of restored partitions consumed before the checkpoint whose windows all closed.

        Those inside a pending window (up to its sealed offset) rebuild it; the rest were
        already published or dead-lettered and are skipped. Returns (handled row ids, skipped).
        """
        through = pl.col(PARTITION).replace_strict(
            {p: g.consumed_through for p, g in self._guards.items()},
            default=-1,
            return_dtype=pl.Int64,
        )
        cand = df.filter(pl.col(OFFSET) <= through)
        if cand.height == 0:
            return pl.Series(_ROW, [], dtype=pl.UInt32), 0
        matched = pl.Series(_ROW, [], dtype=pl.UInt32)
        if self._pending:
            rows = [
                (*key, start, p, off)
                for (key, start), (_b, sealed) in self._pending.items()
                for p, off in sealed.items()
            ]
            pend = pl.DataFrame(
                rows,
                schema={
                    **{k: pl.String for k in self._keys},
                    _START: pl.Int64,
                    PARTITION: pl.Int64,
                    "_w_sealed": pl.Int64,
                },
                orient="row",
            )
            ex = self._explode(cand).with_columns(
                pl.col(PARTITION).cast(pl.Int64).alias("_w_pjoin"),
                *[pl.col(k).cast(pl.String).alias(f"_w_k_{k}") for k in self._keys],
            )
            joined = ex.join(
                pend.rename({PARTITION: "_w_pjoin", **{k: f"_w_k_{k}" for k in self._keys}}),
                on=[*[f"_w_k_{k}" for k in self._keys], _START, "_w_pjoin"],
                how="inner",
                nulls_equal=True,
            ).filter(pl.col(OFFSET) <= pl.col("_w_sealed"))
            if joined.height:
                drop = [c for c in joined.columns if c.startswith("_w_") and c not in _INTERNAL]
                self._store(joined.drop(drop), {wid: b for wid, (b, _s) in self._pending.items()})
                matched = joined.get_column(_ROW).unique()
        skipped = cand.filter(all_closed & ~pl.col(_ROW).is_in(matched.implode()))
        handled = pl.concat([matched, skipped.get_column(_ROW)])
        return handled, skipped.height

    def _store(self, exploded: pl.DataFrame, target: dict[_WindowId, _Buffer]) -> int:
        """Append per-(key, window) chunks of ``exploded`` to ``target`` buffers, in one pass."""
        if exploded.height == 0:
            return 0
        group = [*self._keys, _START]
        stats = exploded.group_by([*group, PARTITION]).agg(
            pl.col(OFFSET).min().alias("first"),
            pl.col(OFFSET).max().alias("last"),
            pl.len().alias("n"),
        )
        payload = exploded.drop(_LAST_START, _EFF_WM, _ROW)
        chunks = payload.partition_by(group, as_dict=True, include_key=True)
        repeated: tuple[str, ...] | None = None
        for ident, chunk in chunks.items():
            key = tuple(None if v is None else str(v) for v in ident[:-1])
            start = int(ident[-1])
            buf = target.get((key, start))
            if buf is None:
                buf = target[(key, start)] = _Buffer()
            if buf.schema is None and repeated is None:
                repeated = self._repeated_strings(payload)
            self._append(buf, chunk.drop(_START), repeated or ())
            buf.held_rows += chunk.height
            buf.row_count += chunk.height
            self._maybe_sample(key, start, buf)
        for row in stats.iter_rows():
            *key_vals, start, p, first, last, n = row
            key = tuple(None if v is None else str(v) for v in key_vals)
            off = target[(key, int(start))].offsets
            cur = off.get(int(p))
            if cur is None:
                off[int(p)] = [int(first), int(last), int(n)]
            else:
                cur[0], cur[1], cur[2] = min(cur[0], first), max(cur[1], last), cur[2] + n
        return exploded.height

    def _repeated_strings(self, payload: pl.DataFrame) -> tuple[str, ...]:
        """String payload columns whose values repeat enough in ``payload`` to buffer them as
        Categorical (see ``CATEGORICAL_MIN_REPEAT``)."""
        skip = {*self._keys, PARTITION, OFFSET, EVENT_TIME, _START}
        names = [c for c, t in payload.schema.items() if t == pl.String and c not in skip]
        if not names or payload.height < CATEGORICAL_MIN_REPEAT:
            return ()
        uniq = payload.select(pl.col(names).n_unique()).row(0)
        return tuple(
            c
            for c, n in zip(names, uniq, strict=True)
            if n * CATEGORICAL_MIN_REPEAT <= payload.height
        )

    def _append(self, buf: _Buffer, chunk: pl.DataFrame, repeated: tuple[str, ...]) -> None:
        """Add one chunk (all batch columns) to ``buf``, compact if it has the window's schema."""
        if buf.schema is None:
            buf.schema = chunk.schema
            buf.keys = chunk.select(self._keys).head(1)
            buf.cats = tuple(c for c in repeated if c in buf.schema)
            if buf.cats:
                buf.categories = pl.Categories(f"driftsnap-window-{next(_CATEGORIES_SEQ)}")
        elif buf.keys is not None and chunk.schema != buf.schema:
            # another schema (a column missing or of another dtype in this batch): keep plain
            # chunks from now on, so the close concatenates exactly as it always has
            buf.chunks = [self._restore(buf, c) for c in buf.chunks]
            buf.keys, buf.cats, buf.categories = None, (), None
        if buf.keys is None:
            buf.chunks.append(chunk)
            buf.levels.append(0)
            return
        chunk = chunk.drop(self._keys)
        if buf.cats:
            cat = pl.Categorical(buf.categories)
            chunk = chunk.with_columns(pl.col(c).cast(cat) for c in buf.cats)
        buf.chunks.append(chunk)
        buf.levels.append(0)
        self._compact(buf)

    @staticmethod
    def _compact(buf: _Buffer) -> None:
        """Tiered compaction of a compact buffer's chunks (see ``COMPACT_FANIN``)."""
        n = COMPACT_FANIN
        while len(buf.levels) >= n and len(set(buf.levels[-n:])) == 1 and buf.levels[-1] < _SEALED:
            level = buf.levels[-1]
            merged = pl.concat(buf.chunks[-n:], how="vertical", rechunk=True)
            del buf.chunks[-n:], buf.levels[-n:]
            buf.chunks.append(merged)
            buf.levels.append(level + 1)

    def _restore(self, buf: _Buffer, frame: pl.DataFrame) -> pl.DataFrame:
        """Stored rows of a compact buffer back to the batch columns: Categorical columns cast
        back to String, key columns re-added as literals, the batch's column order."""
        if buf.keys is None or buf.schema is None:
            return frame
        keys = buf.keys
        return frame.with_columns(
            *[pl.col(c).cast(pl.String) for c in buf.cats],
            *[pl.lit(keys.get_column(k)).first() for k in self._keys],
        ).select(buf.schema.names())

    def _maybe_sample(self, key: KeyTuple, start: int, buf: _Buffer) -> None:
        cap = self.spec.max_rows_per_window
        # Trim only past twice the cap so the cost is amortised over many chunks.
        if cap is None or buf.held_rows <= 2 * cap:
            return
        frame = bottom_k(self._concat(buf.chunks), cap, self._seed64(key, start))
        buf.chunks, buf.held_rows, buf.sampled = [frame], frame.height, True
        buf.levels = [_SEALED]

    def _seed64(self, key: KeyTuple, start: int) -> int:
        return window_seed(self.seed, key, start, start + self.spec.size_ms)

    @staticmethod
    def _concat(chunks: list[pl.DataFrame]) -> pl.DataFrame:
        return chunks[0] if len(chunks) == 1 else pl.concat(chunks, how="diagonal_relaxed")

    def _close(self, wid: _WindowId, buf: _Buffer) -> ClosedWindow:
        key, start = wid
        window = self._window(start)
        frame = self._concat(buf.chunks) if buf.chunks else pl.DataFrame()
        cap = self.spec.max_rows_per_window
        sampled = buf.sampled or (cap is not None and buf.row_count > cap)
        if cap is not None and frame.height > cap:
            frame = bottom_k(frame, cap, self._seed64(key, start))
        if frame.height:
            frame = self._restore(buf, frame.sort(PARTITION, OFFSET))
        offsets = {p: OffsetRange(f, la, n) for p, (f, la, n) in sorted(buf.offsets.items())}
        self._unpublished[(key, window)] = offsets
        return ClosedWindow(
            key=key,
            key_dict=dict(zip(self._keys, key, strict=True)),
            window=window,
            frame=frame,
            row_count=buf.row_count,
            sampled=sampled,
            insufficient=buf.row_count < self.spec.min_rows,
            offsets=offsets,
        )

    def _late_frame(self, late: pl.DataFrame, wm: int) -> pl.DataFrame:
        size = self.spec.size_ms
        return late.with_columns(
            pl.col(_LAST_START).alias("window_start_ms"),
            (pl.col(_LAST_START) + size).alias("window_end_ms"),
            (pl.col(_EFF_WM) - pl.col(EVENT_TIME)).alias("late_by_ms"),
        ).drop(_LAST_START, _EFF_WM, _ROW)

    def _empty_late(self, batch: pl.DataFrame) -> pl.DataFrame:
        return batch.clear().with_columns(
            *[pl.lit(None, dtype=pl.Int64).alias(c) for c in LATE_EXTRA_COLUMNS]
        )


def _sort_key(key: KeyTuple) -> tuple[tuple[bool, str], ...]:
    return tuple((v is not None, v or "") for v in key)
