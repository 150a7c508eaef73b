"""The labels-topic decoder: good labels become records, bad ones rejections with reasons."""

from __future__ import annotations

import pytest

from consumer import decode_labels


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not_json"),  # unparsable
        (b"[1]", "not_object"),  # an array, not an object
        (b'{"target": 1}', "missing_field"),  # no event_id
        (b'{"event_id": "a"}', "missing_field"),  # no target
        (b'{"event_id": "a", "target": null}', "wrong_type"),  # a null target joins nothing
        (b'{"event_id": "a", "target": 1, "timestamp": "soon"}', "bad_timestamp"),
        (None, "not_json"),  # tombstone
    ],
)
def test_bad_label_is_rejected_with_reason(raw: bytes | None, reason: str) -> None:
    out = decode_labels([raw], [2], [7], [None], "labels")
    assert out.labels == []
    assert [(r.reason, r.coordinates) for r in out.rejected] == [(reason, "labels[2]@7")]


def test_good_labels_keep_coordinates_and_time() -> None:
    values = [
        b'{"event_id": 12, "target": 1}',
        b'{"event_id": "x", "target": "fraud", "timestamp": "2026-01-01T00:00:00Z"}',
        b'{"event_id": "y", "target": true, "timestamp": 5}',
    ]
    out = decode_labels(values, [0, 0, 1], [1, 2, 3], [99, None, None], "labels")
    assert not out.rejected
    got = [(lab.event_id, lab.target, lab.timestamp_ms, lab.offset) for lab in out.labels]
    assert got == [("12", 1.0, 99, 1), ("x", "fraud", 1_767_225_600_000, 2), ("y", True, 5, 3)]
