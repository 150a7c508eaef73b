"""Property tests of the windowing core against a brute-force oracle.

Invariants (named predicates below):
* ``lands_in_exactly_containing_windows`` — windows_for(t) == every aligned window holding t;
* ``matches_oracle`` — with every event within the allowed lateness, closed windows and their
  contents equal the brute-force grouping, whatever the batching and partition interleaving;
* ``nothing_lost`` — with arbitrary lateness, each event is either in every window containing
  it that was still open when it arrived, or reported late when all of them were closed;
* ``watermark_monotonic`` / ``closed_once`` — the watermark never regresses; a closed window
  never reappears;
* ``frontier_safe`` — the frontier never passes an offset held by an unpublished window;
* ``replay_rewrites_identically`` — committing the checkpoint, crashing and replaying from it
  rewrites only identical snapshots and, without late data, ends with the oracle's store.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from windowing import PartitionCheckpoint, Window, WindowSpec, WindowState, snapshot_id, windows_for

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SHAPES = [(100, 100), (200, 100), (300, 100), (100, 50)]
PARTS = (0, 1, 2)


@dataclass(frozen=True)
class Event:
    eid: str
    partition: int
    time: int
    variant: str


@dataclass
class Run:
    """What a driver observed: snapshots by id, late ids, and bookkeeping for invariants."""

    store: dict[str, frozenset[str]] = field(default_factory=dict)
    late: set[str] = field(default_factory=set)
    rewrites_differ: list[str] = field(default_factory=list)
    watermarks: list[int] = field(default_factory=list)
    closed: list[tuple[tuple[str | None, ...], Window]] = field(default_factory=list)
    unsafe_frontier: list[str] = field(default_factory=list)


def offsets_for(order: Sequence[Event]) -> dict[str, int]:
    seen: dict[int, int] = {}
    out: dict[str, int] = {}
    for e in order:
        out[e.eid] = seen.get(e.partition, 0)
        seen[e.partition] = out[e.eid] + 1
    return out


def frame(events: Sequence[Event], offsets: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "_partition": [e.partition for e in events],
            "_offset": [offsets[e.eid] for e in events],
            "_event_time_ms": [e.time for e in events],
            "model_id": ["m"] * len(events),
            "variant": [e.variant for e in events],
            "event_id": [e.eid for e in events],
        },
        schema={
            "_partition": pl.Int32,
            "_offset": pl.Int64,
            "_event_time_ms": pl.Int64,
            "model_id": pl.String,
            "variant": pl.String,
            "event_id": pl.String,
        },
    )


def sid(key: tuple[str | None, ...], window: Window) -> str:
    return snapshot_id("p", {"model_id": key[0], "variant": key[1]}, window, "ref", "spec")


def oracle(spec: WindowSpec, events: Sequence[Event]) -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for e in events:
        for w in windows_for(e.time, size_ms=spec.size_ms, step_ms=spec.step_ms):
            groups.setdefault(sid(("m", e.variant), w), set()).add(e.eid)
    return {k: frozenset(v) for k, v in groups.items()}


def drive(
    state: WindowState,
    order: Sequence[Event],
    cuts: Sequence[int],
    publish: Callable[[int], bool],
    run: Run,
    offsets: dict[str, int],
    stop_after: int | None = None,
) -> int:
    """Feed ``order`` in batches (sizes cycling through ``cuts``), advancing after each."""
    held: dict[tuple[tuple[str | None, ...], Window], dict[int, int]] = {}
    i, step = 0, 0
    while i < len(order):
        if stop_after is not None and step >= stop_after:
            return i
        n = max(1, cuts[step % len(cuts)])
        chunk = order[i : i + n]
        i += len(chunk)
        step += 1
        result = state.add(frame(chunk, offsets), now_ms=0)
        run.late.update(result.late.get_column("event_id").to_list())
        for cw in state.advance(now_ms=0):
            record(run, cw.key, cw.window, cw.frame, cw.row_count)
            held[(cw.key, cw.window)] = {p: r.first for p, r in cw.offsets.items()}
        run.watermarks.append(state.watermark_ms)
        for j, kw in enumerate(list(held)):
            if publish(step * 31 + j):
                state.mark_published(*kw)
                del held[kw]
        front = state.frontier()
        for kw, firsts in held.items():
            for p, first in firsts.items():
                if front.get(p, 0) > first:
                    run.unsafe_frontier.append(f"{kw} p{p}: {front[p]} > {first}")
    return i


def record(
    run: Run, key: tuple[str | None, ...], w: Window, f: pl.DataFrame, row_count: int
) -> None:
    ids = frozenset(f.get_column("event_id").to_list())
    assert len(ids) == f.height == row_count
    s = sid(key, w)
    if s in run.store and run.store[s] != ids:
        run.rewrites_differ.append(s)
    run.store[s] = ids
    run.closed.append((key, w))


def finish(state: WindowState, run: Run) -> None:
    for cw in state.close_all():
        record(run, cw.key, cw.window, cw.frame, cw.row_count)


# ---------------------------------------------------------------- strategies
shape = st.sampled_from(SHAPES)
lateness = st.sampled_from([0, 30, 120])
cuts = st.lists(st.integers(1, 12), min_size=1, max_size=6)


@st.composite
def within_lateness(draw: st.DrawFn, allowed: int) -> list[Event]:
    """Events whose per-partition arrival order keeps them within ``allowed`` of the max."""
    n = draw(st.integers(1, 40))
    clock, events = 0, []
    for i in range(n):
        clock += draw(st.integers(0, 60))
        back = draw(st.integers(0, allowed))
        events.append(
            Event(f"e{i}", draw(st.sampled_from(PARTS)), clock - back, draw(st.sampled_from("ab")))
        )
    return events


def interleave(events: Sequence[Event], seed: int) -> list[Event]:
    """A random merge of the per-partition sequences (per-partition order preserved)."""
    queues = {p: [e for e in events if e.partition == p] for p in PARTS}
    rng, out = random.Random(seed), []
    while any(queues.values()):
        p = rng.choice([p for p, q in queues.items() if q])
        out.append(queues[p].pop(0))
    return out


def new_state(size: int, step: int, late: int) -> WindowState:
    spec = WindowSpec(size, step, allowed_lateness_ms=late, idle_timeout_ms=10**9)
    state = WindowState(spec, seed=1)
    state.assign_partitions(PARTS, now_ms=0)
    return state


def publisher(seed: int) -> Callable[[int], bool]:
    return lambda i: random.Random(seed * 7919 + i).random() < 0.6


# ---------------------------------------------------------------- properties
@SETTINGS
@given(t=st.integers(-10_000, 10_000), sh=shape)
def test_lands_in_exactly_containing_windows(t: int, sh: tuple[int, int]) -> None:
    size, step = sh
    brute = [
        Window(s, s + size)
        for s in range(((t - size) // step) * step, t + step, step)
        if s <= t < s + size
    ]
    assert windows_for(t, size_ms=size, step_ms=step) == brute
    assert len(brute) == size // step


@SETTINGS
@given(data=st.data(), sh=shape, late=lateness, c1=cuts, c2=cuts, seed=st.integers(0, 99))
def test_matches_oracle_whatever_the_arrival_order(
    data: st.DataObject, sh: tuple[int, int], late: int, c1: list[int], c2: list[int], seed: int
) -> None:
    events = data.draw(within_lateness(late))
    expected = oracle(WindowSpec(*sh), events)
    for order, cut in ((events, c1), (interleave(events, seed), c2)):
        run, state = Run(), new_state(*sh, late)
        drive(state, order, cut, publisher(seed), run, offsets_for(order))
        finish(state, run)
        assert run.late == set()
        assert run.store == expected
        assert_watermark_monotonic(run)
        assert_closed_once(run)
        assert run.unsafe_frontier == []


@st.composite
def anything(draw: st.DrawFn) -> list[Event]:
    n = draw(st.integers(1, 40))
    return [
        Event(
            f"e{i}",
            draw(st.sampled_from(PARTS)),
            draw(st.integers(0, 1_000)),
            draw(st.sampled_from("ab")),
        )
        for i in range(n)
    ]


@SETTINGS
@given(events=anything(), sh=shape, late=lateness, cut=cuts, seed=st.integers(0, 99))
def test_nothing_lost_with_arbitrary_lateness(
    events: list[Event], sh: tuple[int, int], late: int, cut: list[int], seed: int
) -> None:
    run, state = Run(), new_state(*sh, late)
    drive(state, events, cut, publisher(seed), run, offsets_for(events))
    finish(state, run)
    assert_watermark_monotonic(run)
    assert_closed_once(run)
    assert run.unsafe_frontier == []
    members: dict[str, set[str]] = {}
    for s, ids in run.store.items():
        for eid in ids:
            members.setdefault(eid, set()).add(s)
    for e in events:
        windows = {
            sid(("m", e.variant), w) for w in windows_for(e.time, size_ms=sh[0], step_ms=sh[1])
        }
        got = members.get(e.eid, set())
        assert got <= windows  # never in a window that does not contain it
        if e.eid in run.late:
            assert got == set()  # late means none of its windows took it
        else:
            assert got  # on time: in at least one window (the still-open ones)


@settings(SETTINGS, max_examples=150)
@given(
    data=st.data(),
    sh=shape,
    late=lateness,
    cut=cuts,
    replay_cut=cuts,
    seed=st.integers(0, 99),
    crash_at=st.integers(0, 8),
    late_data=st.booleans(),
)
def test_replay_from_checkpoint_rewrites_identically(
    data: st.DataObject,
    sh: tuple[int, int],
    late: int,
    cut: list[int],
    replay_cut: list[int],
    seed: int,
    crash_at: int,
    late_data: bool,
) -> None:
    events = data.draw(anything() if late_data else within_lateness(late))
    offsets = offsets_for(events)
    run, state = Run(), new_state(*sh, late)
    drive(state, events, cut, publisher(seed), run, offsets, stop_after=crash_at)
    # commit = checkpoint JSON per partition; then the process dies with all its state
    committed = {
        p: PartitionCheckpoint.from_json(c.to_json()) for p, c in state.checkpoint().items()
    }
    replay = new_state(*sh, late)
    replay.assign_partitions(PARTS, now_ms=0, checkpoints=committed)
    start = {p: c.offset for p, c in committed.items()}
    rest = [e for e in events if offsets[e.eid] >= start.get(e.partition, 0)]
    drive(replay, rest, replay_cut, publisher(seed + 1), run, offsets)
    finish(replay, run)
    assert run.rewrites_differ == []
    assert run.unsafe_frontier == []
    if not late_data:
        assert run.late == set()
        assert run.store == oracle(WindowSpec(*sh), events)
    else:
        placed = set().union(*run.store.values()) if run.store else set()
        assert placed | run.late == {e.eid for e in events}  # nothing lost across the crash


def assert_watermark_monotonic(run: Run) -> None:
    assert run.watermarks == sorted(run.watermarks)


def assert_closed_once(run: Run) -> None:
    assert len(run.closed) == len(set(run.closed))
