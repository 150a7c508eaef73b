from __future__ import annotations

import uuid

import pytest

from windowing import (
    SNAPSHOT_NAMESPACE,
    Window,
    WindowSpec,
    WindowSpecError,
    parse_duration_ms,
    snapshot_canonical,
    snapshot_id,
    windows_for,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250ms", 250),  # explicit milliseconds
        ("30s", 30_000),  # seconds
        ("5m", 300_000),  # minutes
        ("1h", 3_600_000),  # hours
        ("1d", 86_400_000),  # days
        (" 2 m ", 120_000),  # surrounding blanks tolerated
        (1500, 1500),  # an int is already milliseconds
        (0, 0),  # zero lateness is legitimate
    ],
)
def test_parse_duration_accepts_documented_forms(text: str | int, expected: int) -> None:
    assert parse_duration_ms(text) == expected


@pytest.mark.parametrize("bad", ["5", "5 minutes", "-5m", "1.5s", "", "5M", -1, True, 2.0])
def test_parse_duration_rejects_with_value_and_forms(bad: object) -> None:
    with pytest.raises(ValueError, match="expected an int of milliseconds") as info:
        parse_duration_ms(bad)  # type: ignore[arg-type]
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size_ms": 0, "step_ms": 0}, "positive"),
        ({"size_ms": 300, "step_ms": 200}, "multiple"),
        ({"size_ms": 100, "step_ms": 200}, "multiple"),
        ({"size_ms": 100, "step_ms": 100, "allowed_lateness_ms": -1}, "allowed_lateness"),
        ({"size_ms": 100, "step_ms": 100, "idle_timeout_ms": 0}, "idle_timeout"),
        ({"size_ms": 100, "step_ms": 100, "max_rows_per_window": 0}, "max_rows"),
        ({"size_ms": 100, "step_ms": 100, "key_columns": ()}, "key_columns"),
        ({"size_ms": 100, "step_ms": 100, "key_columns": ("a", "a")}, "duplicates"),
        ({"size_ms": 100, "step_ms": 100, "key_columns": ("_p",)}, "reserved"),
    ],
)
def test_window_spec_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(WindowSpecError, match=match):
        WindowSpec(**kwargs)  # type: ignore[arg-type]


def test_spec_from_durations_tumbling_and_hopping() -> None:
    tumbling = WindowSpec.from_durations("5m", allowed_lateness="30s")
    assert (tumbling.size_ms, tumbling.step_ms, tumbling.allowed_lateness_ms) == (
        300_000,
        300_000,
        30_000,
    )
    hopping = WindowSpec.from_durations("1h", "15m")
    assert hopping.windows_per_event == 4
    assert hopping.fingerprint() != tumbling.fingerprint()
    assert hopping.fingerprint() == WindowSpec.from_durations("60m", "900s").fingerprint()


def test_window_is_half_open() -> None:
    w = Window(0, 100)
    assert w.contains(0)
    assert w.contains(99)
    assert not w.contains(100)
    with pytest.raises(WindowSpecError):
        Window(5, 5)


def test_windows_for_hopping_overlap() -> None:
    #  size 300, step 100, t = 250
    #  [0 ......... 300)        contains 250
    #      [100 ......... 400)  contains 250
    #          [200 ......... 500)
    assert windows_for(250, size_ms=300, step_ms=100) == [
        Window(0, 300),
        Window(100, 400),
        Window(200, 500),
    ]
    # exactly on a boundary belongs to the window starting there, not the one ending there
    assert windows_for(300, size_ms=300, step_ms=300) == [Window(300, 600)]
    # negative event times floor towards minus infinity
    assert windows_for(-1, size_ms=100, step_ms=100) == [Window(-100, 0)]


def test_snapshot_id_is_uuid5_of_canonical_text() -> None:
    key = {"variant": "shadow", "model_id": "fraud"}
    w = Window(0, 300_000)
    sid = snapshot_id("p1", key, w, "ref-abc", "spec-1")
    assert uuid.UUID(sid).version == 5
    canonical = snapshot_canonical("p1", key, w, "ref-abc", "spec-1")
    assert canonical == (
        '{"key":{"model_id":"fraud","variant":"shadow"},"project":"p1",'
        '"reference_id":"ref-abc","spec_hash":"spec-1","v":1,"window":[0,300000]}'
    )
    assert sid == str(uuid.uuid5(SNAPSHOT_NAMESPACE, canonical))
    # key order does not matter, every component does
    assert sid == snapshot_id("p1", dict(reversed(key.items())), w, "ref-abc", "spec-1")
    assert sid != snapshot_id("p1", key, Window(0, 300_001), "ref-abc", "spec-1")
    assert sid != snapshot_id("p1", key, w, "ref-abd", "spec-1")
    assert sid != snapshot_id("p2", key, w, "ref-abc", "spec-1")
    assert sid != snapshot_id("p1", key, w, "ref-abc", "spec-2")


def test_snapshot_namespace_is_frozen() -> None:
    derived = uuid.uuid5(uuid.NAMESPACE_URL, "https://driftsnap.dev/ns/snapshot")
    assert derived == SNAPSHOT_NAMESPACE
