"""Drawn cases for WindowState. Diagrams: ``|`` window bounds, ``*`` events, ``W`` watermark."""

from __future__ import annotations

import polars as pl
import pytest

from tests.unit.windowing.helpers import batch, state
from windowing import (
    MIN_WATERMARK_MS,
    BatchSchemaError,
    PartitionCheckpoint,
    Window,
    WindowState,
)


def offsets_of(frame: pl.DataFrame) -> list[int]:
    return frame.get_column("_offset").to_list()


def test_event_exactly_at_end_belongs_to_next_window() -> None:
    #  [0 ............ 100)[100 ........... 200)
    #   *(10)               *(100)
    st = state(size=100)
    st.add(batch([(0, 0, 10), (0, 1, 100)]), now_ms=0)
    closed = st.advance(now_ms=0)  # W = 100: [0,100) ends at W, so it closes; 100 is not in it
    assert [c.window for c in closed] == [Window(0, 100)]
    assert offsets_of(closed[0].frame) == [0]
    st.add(batch([(0, 2, 200)]), now_ms=0)
    (second,) = st.advance(now_ms=0)
    assert second.window == Window(100, 200)
    assert offsets_of(second.frame) == [1]


def test_out_of_order_within_lateness_lands_in_window() -> None:
    #  lateness 50
    #  [0 ............ 100)[100 ..
    #        *60    *90      *130        W = 130 - 50 = 80 < 100, so 60 is on time
    st = state(size=100, lateness=50)
    st.add(batch([(0, 0, 90), (0, 1, 130)]), now_ms=0)
    assert st.advance(now_ms=0) == []
    assert st.watermark_ms == 80
    result = st.add(batch([(0, 2, 60)]), now_ms=0)
    assert result.late.height == 0
    st.add(batch([(0, 3, 151)]), now_ms=0)
    (closed,) = st.advance(now_ms=0)  # W = 101
    assert closed.window == Window(0, 100)
    assert offsets_of(closed.frame) == [0, 2]


def test_event_beyond_lateness_is_returned_late_not_dropped() -> None:
    #  lateness 50
    #  [0 ............ 100)[100 ........... 200)[200 ..
    #     *50 (arrives last)       *199                 W = 199 - 50 = 149
    st = state(size=100, lateness=50)
    st.add(batch([(0, 0, 20), (0, 1, 199)]), now_ms=0)
    (closed,) = st.advance(now_ms=0)
    assert closed.window == Window(0, 100)
    result = st.add(batch([(0, 2, 50)]), now_ms=0)
    late = result.late
    assert late.height == 1
    row = late.row(0, named=True)
    assert row["_partition"] == 0
    assert row["_offset"] == 2
    assert row["model_id"] == "fraud"
    assert (row["window_start_ms"], row["window_end_ms"]) == (0, 100)
    assert row["late_by_ms"] == 149 - 50
    assert result.accepted == 0
    # the closed window never reappears
    assert all(c.window != Window(0, 100) for c in st.advance(now_ms=0))


def test_hopping_late_only_when_every_window_closed() -> None:
    #  size 200, step 100, W = 100 after the first batch
    #  [0 ................... 200)
    #             [100 .................. 300)
    #        *50                                      50 is still in the open [0,200)
    st = state(size=200, step=100)
    st.add(batch([(0, 0, 100)]), now_ms=0)
    st.advance(now_ms=0)  # W = 100 closes [-100,100)
    result = st.add(batch([(0, 1, 50)]), now_ms=0)
    assert result.late.height == 0
    assert result.assignments == 1  # only [0,200); [-100,100) is closed


@pytest.mark.parametrize(
    ("size", "step", "expected_per_event"),
    [
        (100, 100, 1),  # tumbling
        (300, 100, 3),  # hopping, 3 overlapping windows
        (400, 100, 4),  # hopping, 4 overlapping windows
    ],
)
def test_hopping_overlap_counts(size: int, step: int, expected_per_event: int) -> None:
    #  size 300, step 100: every event is in size/step windows
    #  [0 ........ 300)
    #     [100 ........ 400)
    #         [200 ........ 500)
    #              *250
    st = state(size=size, step=step)
    events = [(0, i, 1_000 + 7 * i) for i in range(50)]
    result = st.add(batch(events), now_ms=0)
    assert result.assignments == expected_per_event * len(events)
    closed = st.close_all()
    per_event: dict[int, int] = {}
    for c in closed:
        for off in offsets_of(c.frame):
            per_event[off] = per_event.get(off, 0) + 1
        assert all(c.window.start_ms <= t < c.window.end_ms for t in c.frame["_event_time_ms"])
    assert set(per_event.values()) == {expected_per_event}


def test_idle_partition_stops_holding_the_watermark() -> None:
    #  p0: *10 ... *500  (keeps delivering)
    #  p1: *20           (then silent; idle after 1000 ms of clock)
    st = state(size=100, idle=1_000, partitions=(0, 1))
    st.add(batch([(0, 0, 10), (1, 0, 20)]), now_ms=0)
    st.add(batch([(0, 1, 500)]), now_ms=900)
    st.advance(now_ms=900)
    assert st.watermark_ms == 20  # p1 still active: min(500, 20)
    st.add(batch([(0, 2, 510)]), now_ms=1_000)
    st.advance(now_ms=1_000)  # p1 last seen at 0: idle now
    assert st.watermark_ms == 510
    assert st.idle_partitions(1_000) == {1}


def test_assigned_partition_without_records_holds_until_idle() -> None:
    #  p0: *10 *250 (delivered at clock 900)
    #  p1: assigned at clock 0, never delivers (it may hold a backlog) -> holds until idle
    #  [0 .. 100)[100 .. 200)[200 .. 300)
    st = state(size=100, idle=1_000, partitions=(0, 1))
    st.add(batch([(0, 0, 10), (0, 1, 250)]), now_ms=900)
    assert st.advance(now_ms=999) == []
    assert st.watermark_ms == MIN_WATERMARK_MS
    closed = st.advance(now_ms=1_000)  # p1 idle, p0 active -> W = 250
    assert st.watermark_ms == 250
    assert [c.window for c in closed] == [Window(0, 100)]


def test_all_idle_watermark_follows_clock() -> None:
    #  lateness 50. One event at 10 then silence.
    #  [0 .. 100)          clock 5_000: all idle -> W = max(W, 5_000 - 50)
    st = state(size=100, lateness=50, idle=1_000, partitions=(0, 1))
    st.add(batch([(0, 0, 10)]), now_ms=0)
    assert st.advance(now_ms=500) == []  # p1 not idle yet, has no records: hold
    (closed,) = st.advance(now_ms=5_000)
    assert closed.window == Window(0, 100)
    assert st.watermark_ms == 4_950
    # the watermark never regresses, even when a partition wakes up with old data
    late = st.add(batch([(1, 0, 3_000)]), now_ms=5_001).late
    assert late.height == 1
    st.advance(now_ms=5_002)
    assert st.watermark_ms == 4_950


def test_no_partitions_assigned_holds_the_watermark() -> None:
    st = WindowState(state().spec)
    st.advance(now_ms=10_000)
    assert st.watermark_ms == MIN_WATERMARK_MS


def test_each_window_closes_once_in_end_order() -> None:
    st = state(size=100, step=50)
    st.add(batch([(0, 0, 10, "a"), (0, 1, 60, "b"), (0, 2, 400, "a")]), now_ms=0)
    closed = st.advance(now_ms=0)
    ends = [c.window.end_ms for c in closed]
    assert ends == sorted(ends)
    assert len({(c.key, c.window) for c in closed}) == len(closed)
    assert st.advance(now_ms=0) == []


def test_revocation_drops_whole_windows_of_revoked_partitions() -> None:
    #  key (fraud, champion) gets rows from p0 and p1 in [0,100);
    #  key (fraud, shadow) only from p1 in [0,100); p0 only in [100,200)
    #  p0: *10(champion)  *150(champion)
    #  p1: *20(champion)  *30(shadow)
    st = state(size=100, partitions=(0, 1))
    st.add(
        batch([(0, 0, 10), (0, 1, 150), (1, 0, 20), (1, 1, 30, "shadow")]),
        now_ms=0,
    )
    dropped = st.revoke_partitions([0])
    assert dropped == [
        (("fraud", "champion"), Window(0, 100)),
        (("fraud", "champion"), Window(100, 200)),
    ]
    assert st.partitions == {1}
    # the shadow window (only p1) survives; p0 is forgotten by the frontier
    assert st.frontier() == {1: 1}
    closed = st.close_all()
    assert [(c.key, c.window) for c in closed] == [(("fraud", "shadow"), Window(0, 100))]


def test_frontier_held_by_open_and_unpublished_windows() -> None:
    #  [0 .. 100)[100 .. 200)
    #    *5(o0)    *150(o1)  *120(o2)  rejected record o3 (note_consumed)
    st = state(size=100)
    st.add(batch([(0, 0, 5), (0, 1, 150), (0, 2, 120)]), now_ms=0)
    st.note_consumed(0, 3)
    assert st.frontier() == {0: 0}
    (closed,) = st.advance(now_ms=0)  # W = 150: [0,100) closed but not yet published
    assert st.frontier() == {0: 0}
    assert st.mark_published(closed.key, closed.window)
    assert not st.mark_published(closed.key, closed.window)
    assert st.frontier() == {0: 1}
    st.close_all()
    assert st.frontier() == {0: 1}
    st.mark_published(("fraud", "champion"), Window(100, 200))
    assert st.frontier() == {0: 4}  # last consumed (the rejected record) + 1


def test_sampling_caps_rows_keeps_true_count_and_is_order_independent() -> None:
    events = [(p, i, 1_000 + i) for p in (0, 1) for i in range(60)]

    def run(order: list[tuple[int, int, int]], chunk: int) -> pl.DataFrame:
        st = state(size=10_000, partitions=(0, 1), max_rows_per_window=10)
        for i in range(0, len(order), chunk):
            st.add(batch(order[i : i + chunk]), now_ms=0)
        (closed,) = st.close_all()
        assert closed.sampled
        assert closed.row_count == 120
        assert closed.frame.height == 10
        assert st.rows_held == 0
        return closed.frame

    a = run(events, 7)
    b = run(list(reversed(events)), 50)
    assert a.equals(b)
    # a different seed gives a different (but equally sized) sample
    st = WindowState(state(size=10_000, max_rows_per_window=10).spec, seed=8)
    st.add(batch(events), now_ms=0)
    assert not st.close_all()[0].frame.equals(a)


def test_min_rows_flags_insufficient_window() -> None:
    st = state(size=100, min_rows=3)
    st.add(batch([(0, 0, 1), (0, 1, 2)]), now_ms=0)
    (closed,) = st.close_all()
    assert closed.insufficient
    assert closed.row_count == 2
    assert closed.key_dict == {"model_id": "fraud", "variant": "champion"}
    assert closed.offsets[0].first == 0
    assert closed.offsets[0].last == 1


def test_batch_without_required_columns_is_rejected_with_names() -> None:
    st = state()
    with pytest.raises(BatchSchemaError, match="variant"):
        st.add(batch([(0, 0, 1)]).drop("variant"), now_ms=0)
    with pytest.raises(BatchSchemaError, match="_event_time_ms"):
        st.add(batch([(0, 0, 1)]).with_columns(pl.col("_event_time_ms").cast(pl.String)), 0)


def test_empty_batch_returns_empty_late_with_schema() -> None:
    result = state().add(batch([]), now_ms=0)
    assert result.accepted == 0
    assert "late_by_ms" in result.late.columns


def test_checkpoint_roundtrip_and_restart_rebuilds_only_unpublished() -> None:
    #  [0 ........ 100)[100 ....... 200)[200 ..
    #   *10(o0)  *90(o2)  *150(o1)        *210(o3)
    #  [0,100) and [100,200) close at W=210; [0,100) is published, [100,200) is not.
    #  frontier = 1 (held by [100,200)); replay re-reads o1..o3, where o2 belongs to the
    #  published [0,100): it must be skipped, not rebuild a partial [0,100).
    rows = [(0, 0, 10), (0, 1, 150), (0, 2, 90), (0, 3, 210)]
    st = state(size=100)
    st.add(batch(rows), now_ms=0)
    first, second = st.advance(now_ms=0)
    st.mark_published(first.key, first.window)
    ckpt = st.checkpoint()[0]
    assert ckpt.offset == 1
    assert PartitionCheckpoint.from_json(ckpt.to_json()) == ckpt

    fresh = WindowState(st.spec, seed=7)
    fresh.assign_partitions([0], now_ms=0, checkpoints={0: ckpt})
    result = fresh.add(batch(rows[ckpt.offset :]), now_ms=0)
    assert result.replayed == 1
    assert result.late.height == 0
    rebuilt = fresh.advance(now_ms=0)
    assert [(c.key, c.window) for c in rebuilt] == [(second.key, second.window)]
    assert rebuilt[0].frame.equals(second.frame)
    # new late data for the published window is still reported late
    assert fresh.add(batch([(0, 4, 50)]), now_ms=0).late.height == 1
