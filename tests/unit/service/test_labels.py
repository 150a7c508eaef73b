"""The pure label join: windows awaiting labels, buffered labels, due/late/unknown decisions.

Time line used below (ms)::

    window [0, 10)   closed at 100   deadline 100 + wait(50) = 150   late horizon 1000
"""

from __future__ import annotations

from service.labels import AwaitingWindow, Label, LabelJoin


def window(variant: str = "champion", ids: tuple[str, ...] = ("a", "b", "c")) -> AwaitingWindow:
    return AwaitingWindow(
        qid=f"q-{variant}",
        model_id="m",
        variant=variant,
        key={"model_id": "m", "variant": variant},
        start_ms=0,
        end_ms=10,
        event_ids=list(ids),
        request_ids=list(ids),
        predictions=[0.1] * len(ids),
        closed_ms=100,
        deadline_ms=150,
    )


def label(eid: str, offset: int, target: float = 1.0, at: int = 100) -> Label:
    return Label(eid, target, 0, offset, at)


def join(**kw: int | bool) -> LabelJoin:
    args = {"unknown_after_ms": 500, "late_horizon_ms": 1000, "max_rows_held": 100}
    return LabelJoin(**{**args, **kw})  # type: ignore[arg-type]


def test_label_before_window_closes_is_buffered_then_joined() -> None:
    j = join()
    j.add_labels([label("a", 0)])
    w = window()
    j.add_window(w)
    assert w.targets == {"a": (1.0, (0, 0))}
    assert j.due(120) == []  # 1 of 3 labelled, before the deadline


def test_label_joins_every_variant_of_the_request() -> None:
    j = join()
    c, s = window("champion"), window("shadow")
    j.add_window(c)
    j.add_window(s)
    j.add_labels([label("b", 0)])
    assert "b" in c.targets
    assert "b" in s.targets
    assert j.partner(c, "shadow") is s


def test_complete_window_is_due_before_the_deadline() -> None:
    j = join()
    w = window()
    j.add_window(w)
    j.add_labels([label(e, i) for i, e in enumerate("abc")])
    assert j.due(101) == [w]


def test_deadline_publishes_with_partial_coverage() -> None:
    j = join()
    w = window()
    j.add_window(w)
    j.add_labels([label("a", 0)])
    assert j.due(149) == []
    assert j.due(150) == [w]
    assert w.labelled_rows == 1


def test_late_label_counted_and_revises_only_when_enabled() -> None:
    for revise in (False, True):
        j = join(revise=revise)
        w = window()
        j.add_window(w)
        j.due(150)
        j.mark_published(w.qid, 150)
        j.add_labels([label("c", 5, at=200)])
        assert j.late_total == 1
        assert (j.due(200) == [w]) is revise
        if revise:
            assert j.next_revision(w) == 1
            j.mark_published(w.qid, 200)
            assert w.revision == 1


def test_duplicate_last_wins_and_replay_is_idempotent() -> None:
    j = join()
    w = window()
    j.add_window(w)
    j.add_labels([label("a", 0, target=0.0), label("a", 1, target=1.0)])
    assert j.duplicate_total == 1
    assert w.targets["a"] == (1.0, (0, 1))
    j.add_labels([label("a", 1, target=1.0)], restoring=True)  # the same record again
    assert j.duplicate_total == 1


def test_unmatched_label_becomes_unknown_after_the_wait() -> None:
    j = join()
    j.add_window(window())
    j.add_labels([label("zzz", 0, at=100), label("a", 1, at=100)])
    assert j.expire(599).unknown == []
    out = j.expire(600)
    assert [lab.event_id for lab in out.unknown] == ["zzz"]
    assert j.unknown_total == 1


def test_published_window_is_finalized_after_the_late_horizon() -> None:
    j = join()
    w = window()
    j.add_window(w)
    j.mark_published(w.qid, 150)
    assert j.expire(1149).finalized == []
    assert j.expire(1150).finalized == [w]
    assert j.rows_held == 0
    assert j.live_coords() == set()


def test_cap_evicts_the_oldest_window() -> None:
    j = join(max_rows_held=4)
    old = window("champion")
    new = window("shadow")
    new.closed_ms = 200
    j.add_window(old)
    j.add_window(new)
    assert j.due(101) == [old]  # evicted: published now, before its deadline
    assert j.cap_hits_total == 1
    j.mark_published(old.qid, 101)
    assert j.expire(102).finalized == [old]
    assert j.rows_held == 3


def test_restore_marks_changed_published_window_for_revision() -> None:
    j = join(revise=True)
    w = window()
    j.add_window(w)
    j.restore_published(w, {"published_ms": 150, "revision": 0, "labelled_at_publish": 1})
    j.add_labels([label("a", 0), label("b", 1)], restoring=True)
    assert j.late_total == 0
    j.check_restored()
    assert j.due(200) == [w]


def test_duplicate_label_before_the_window_closes_still_counts_for_it() -> None:
    # labels can overtake the window (the window is still being evaluated): a second label
    # for "a" arrives before the close and must count as a duplicate in that window
    j = join()
    j.add_labels([label("a", 0, target=0.0), label("a", 1, target=1.0)])
    w = window()
    j.add_window(w)
    assert w.targets["a"] == (1.0, (0, 1))  # last wins
    assert w.duplicate_labels == 1
    assert j.duplicate_total == 1
