"""decode_batch: every reason, both layouts, both event-time forms, and hostile bytes."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer.decode import REASONS, DecodeBounds, DecodedBatch, decode_batch, frame_schema
from consumer.errors import SchemaError
from consumer.mapping import ColumnMapping, EventSchema, ModelSchema

NOW_MS = 1_796_292_902_120  # 2026-12-03T10:15:02.120Z
KAFKA_TS = NOW_MS - 1_000

FRAUD = ModelSchema({"amount": "num", "country": "cat"})
CHURN = ModelSchema({"tenure": "num", "country": "cat"}, prediction="cat")
NESTED = EventSchema(ColumnMapping(segments=("region",)), {"fraud": FRAUD})
MIXED = EventSchema(ColumnMapping(), {"fraud": FRAUD, "churn": CHURN})
FLAT = EventSchema(ColumnMapping(features=None), {"fraud": FRAUD})


def event(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "a1",
        "timestamp": "2026-12-03T10:15:02.120Z",
        "model_id": "fraud",
        "variant": "champion",
        "features": {"amount": 12.5, "country": "DE"},
        "prediction": 0.83,
        "target": None,
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def run(
    values: list[bytes | None],
    schema: EventSchema = NESTED,
    bounds: DecodeBounds | None = None,
    kafka_ts: list[int | None] | None = None,
) -> DecodedBatch:
    n = len(values)
    return decode_batch(
        values,
        [0] * n,
        list(range(100, 100 + n)),
        kafka_ts if kafka_ts is not None else [KAFKA_TS] * n,
        "events",
        schema,
        bounds or DecodeBounds(),
        NOW_MS,
    )


def enc(*events: dict[str, Any]) -> list[bytes | None]:
    return [orjson.dumps(e) for e in events]


def test_valid_event_becomes_one_row_with_the_contract_columns() -> None:
    out = run(enc(event(region="eu")))
    assert out.rejected == []
    assert out.frame.schema == frame_schema(NESTED)
    assert out.frame.to_dicts() == [
        {
            "_partition": 0,
            "_offset": 100,
            "_event_time_ms": NOW_MS,
            "event_id": "a1",
            "model_id": "fraud",
            "variant": "champion",
            "region": "eu",
            "prediction": 0.83,
            "target": None,
            "amount": 12.5,
            "country": "DE",
        }
    ]


@pytest.mark.parametrize(
    ("timestamp", "expected_ms"),
    [
        ("2026-12-03T10:15:02.120Z", NOW_MS),  # Z suffix, milliseconds
        ("2026-12-03T10:15:02Z", NOW_MS - 120),  # no fraction
        ("2026-12-03T12:15:02.120+02:00", NOW_MS),  # offset with colon
        ("2026-12-03T12:15:02.120+0200", NOW_MS),  # offset without colon
        ("2026-12-03T10:15:02.120999Z", NOW_MS),  # microseconds are floored
        ("2026-12-03 10:15:02.120Z", NOW_MS),  # RFC 3339 space separator
        ("2026-12-03T10:15:02.120", NOW_MS),  # naive: read as UTC
        (NOW_MS - 7, NOW_MS - 7),  # epoch ms integer
        (NOW_MS - 7.9, NOW_MS - 8),  # epoch ms float: floored
        (str(NOW_MS - 3), NOW_MS - 3),  # epoch ms as a decimal string
        (None, KAFKA_TS),  # null: the Kafka timestamp
        (..., KAFKA_TS),  # absent: the Kafka timestamp
    ],
)
def test_event_time_from_iso_epoch_ms_or_kafka(timestamp: Any, expected_ms: int) -> None:
    out = run(enc(event(timestamp=timestamp)))
    assert out.rejected == []
    assert out.frame["_event_time_ms"].to_list() == [expected_ms]


def test_flat_layout_reads_features_at_top_level() -> None:
    flat = {k: v for k, v in event().items() if k != "features"} | {"amount": 3, "country": "FR"}
    out = run(enc(flat), schema=FLAT)
    assert out.rejected == []
    assert out.frame.select("amount", "country").row(0) == (3.0, "FR")


def test_renamed_fields_follow_the_mapping() -> None:
    mapping = ColumnMapping(
        event_id="id", timestamp="ts", model_id="model", variant="arm", features="x"
    )
    schema = EventSchema(mapping, {"fraud": ModelSchema({"class": "cat", "a-b": "num"})})
    value = {
        "id": "z",
        "ts": NOW_MS,
        "model": "fraud",
        "arm": "shadow",
        "x": {"class": 1, "a-b": 2},
    }
    out = run(enc({**value, "prediction": 1}), schema=schema)
    assert out.rejected == []
    assert out.frame.select("event_id", "variant", "class", "a-b").row(0) == (
        "z",
        "shadow",
        "1",
        2.0,
    )


def test_defaults_missing_feature_variant_and_outputs() -> None:
    out = run(enc(event(variant=..., prediction=..., target=..., features={"amount": 1})))
    assert out.rejected == []
    row = out.frame.row(0, named=True)
    assert (row["variant"], row["prediction"], row["target"], row["country"]) == (
        "default",
        None,
        None,
        None,
    )


def test_cat_values_accept_strings_integers_and_booleans() -> None:
    out = run(enc(*(event(features={"country": c}) for c in ("DE", 49, True))))
    assert out.frame["country"].to_list() == ["DE", "49", "true"]


def test_mixed_output_kinds_share_one_utf8_column() -> None:
    out = run(
        enc(event(prediction=0.25), event(model_id="churn", prediction=1, target="no")),
        schema=MIXED,
    )
    assert out.rejected == []
    assert out.frame.schema["prediction"] == pl.Utf8
    assert out.frame["prediction"].to_list() == ["0.25", "1"]
    assert out.frame["target"].to_list() == [None, "no"]


def test_features_of_another_model_are_nulled() -> None:
    both = {"amount": 1.0, "tenure": 2.0, "country": "DE"}
    out = run(
        enc(event(features=both), event(model_id="churn", features=both, prediction="yes")),
        schema=MIXED,
    )
    assert out.frame.select("model_id", "amount", "tenure", "country").rows() == [
        ("fraud", 1.0, None, "DE"),
        ("churn", None, 2.0, "DE"),
    ]


HOUR = 3_600_000
BAD: list[tuple[str, bytes | None]] = [
    ("not_json", b"{not json"),
    ("not_json", b""),
    ("not_json", None),  # tombstone
    ("not_json", b"\xff\xfe\x00"),
    ("not_json", b'{"model_id": "fraud", "features": {}} trailing'),
    ("not_object", b"[1, 2]"),
    ("not_object", b'"fraud"'),
    ("not_object", b"42"),
    ("missing_field", orjson.dumps({k: v for k, v in event().items() if k != "model_id"})),
    ("missing_field", orjson.dumps({k: v for k, v in event().items() if k != "features"})),
    ("wrong_type", orjson.dumps(event(model_id=7))),
    ("wrong_type", orjson.dumps(event(features={"amount": "12.5"}))),
    ("wrong_type", orjson.dumps(event(features={"amount": True}))),
    ("wrong_type", orjson.dumps(event(features={"country": 1.5}))),
    ("wrong_type", orjson.dumps(event(features=[1, 2]))),
    ("wrong_type", orjson.dumps(event(prediction="yes"))),
    ("wrong_type", orjson.dumps(event(variant=3))),
    ("non_finite", b'{"model_id": "fraud", "features": {"amount": 1e999}}'),
    ("non_finite", b'{"model_id": "fraud", "features": {}, "prediction": -1e400}'),
    ("bad_timestamp", orjson.dumps(event(timestamp="yesterday"))),
    ("bad_timestamp", orjson.dumps(event(timestamp="2026-13-03T10:15:02Z"))),
    ("bad_timestamp", orjson.dumps(event(timestamp="nan"))),
    ("bad_timestamp", orjson.dumps(event(timestamp=1e300))),
    ("timestamp_out_of_bounds", orjson.dumps(event(timestamp=NOW_MS + 2 * HOUR))),
    ("timestamp_out_of_bounds", orjson.dumps(event(timestamp=NOW_MS // 1000))),  # seconds
    ("timestamp_out_of_bounds", orjson.dumps(event(timestamp="1999-01-01T00:00:00Z"))),
    ("unknown_model", orjson.dumps(event(model_id="nobody"))),
    ("too_large", orjson.dumps(event(event_id="x" * 2_000))),
]


@pytest.mark.parametrize(("reason", "value"), BAD)
def test_each_bad_record_is_rejected_with_its_reason(reason: str, value: bytes | None) -> None:
    out = run([value], bounds=DecodeBounds(max_future_ms=HOUR, max_value_bytes=1_000))
    assert out.frame.height == 0
    assert out.frame.schema == frame_schema(NESTED)
    [rej] = out.rejected
    assert (rej.reason, rej.raw, rej.topic, rej.partition, rej.offset) == (
        reason,
        value,
        "events",
        0,
        100,
    )
    assert rej.detail


def test_every_decoder_reason_is_covered_by_the_table() -> None:
    assert {r for r, _ in BAD} == set(REASONS) - {"late", "unknown_event"}


def test_mixed_batch_keeps_good_rows_and_counts_each_reason_exactly() -> None:
    good = [orjson.dumps(event(event_id=f"g{i}")) for i in range(50)]
    values: list[bytes | None] = []
    for i, g in enumerate(good):
        values.append(g)
        values.append(BAD[i % len(BAD)][1])
    out = run(values, bounds=DecodeBounds(max_future_ms=HOUR, max_value_bytes=1_000))
    assert out.frame["event_id"].to_list() == [f"g{i}" for i in range(50)]
    assert out.frame["_offset"].to_list() == list(range(100, 200, 2))
    expected = Counter(BAD[i % len(BAD)][0] for i in range(50))
    assert Counter(r.reason for r in out.rejected) == expected
    assert [r.offset for r in out.rejected] == list(range(101, 200, 2))


def test_detail_names_the_field_and_the_value() -> None:
    out = run(enc(event(features={"amount": "12,5"}), event(timestamp="soon")))
    details = [r.detail for r in out.rejected]
    assert "features.amount" in details[0]
    assert '"12,5"' in details[0]
    assert "timestamp" in details[1]
    assert "soon" in details[1]


def test_no_kafka_timestamp_and_no_event_time_is_missing_field() -> None:
    out = run(enc(event(timestamp=...), event(timestamp=...)), kafka_ts=[None, -1])
    assert [r.reason for r in out.rejected] == ["missing_field", "missing_field"]


def test_time_bounds_can_be_disabled_for_backfills() -> None:
    old = enc(event(timestamp="1999-01-01T00:00:00Z"))
    out = run(old, bounds=DecodeBounds(max_future_ms=None, max_past_ms=None))
    assert out.frame.height == 1


def test_keys_are_carried_to_rejections() -> None:
    out = decode_batch(
        [b"nope"], [2], [9], [KAFKA_TS], "t", NESTED, DecodeBounds(), NOW_MS, keys=[b"k"]
    )
    assert out.rejected[0].key == b"k"
    assert out.rejected[0].coordinates == "t[2]@9"


def test_empty_batch_has_the_frame_schema() -> None:
    out = run([])
    assert out.frame.height == 0
    assert out.frame.schema == frame_schema(NESTED)


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError, match="same length"):
        decode_batch([b"{}"], [], [], [], "t", NESTED, DecodeBounds(), NOW_MS)


@pytest.mark.parametrize(
    ("models", "mapping", "match"),
    [
        ({}, ColumnMapping(), "no models"),
        ({"a": ModelSchema({"x": "num"}), "b": ModelSchema({"x": "cat"})}, ColumnMapping(), "x"),
        ({"a": ModelSchema({"model_id": "num"})}, ColumnMapping(), "collides"),
        ({"a": ModelSchema({"timestamp": "num"})}, ColumnMapping(features=None), "flat"),
        ({"a": ModelSchema({"region": "cat"})}, ColumnMapping(segments=("region",)), "collides"),
    ],
)
def test_inconsistent_schemas_fail_at_start(
    models: dict[str, ModelSchema], mapping: ColumnMapping, match: str
) -> None:
    with pytest.raises(SchemaError, match=match):
        EventSchema(mapping, models)


# -------------------------------------------------------------------------- hostile bytes

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
shaped = st.fixed_dictionaries(
    {},
    optional={
        "model_id": st.sampled_from(["fraud", "churn", "other"]) | json_values,
        "timestamp": st.integers() | st.floats() | st.text(max_size=30) | json_values,
        "features": st.dictionaries(
            st.sampled_from(["amount", "country", "tenure", "zz"]), json_values
        )
        | json_values,
        "prediction": json_values,
        "target": json_values,
        "variant": json_values,
        "event_id": json_values,
    },
)
hostile = st.one_of(
    st.binary(max_size=64),
    st.none(),
    json_values.map(lambda v: json.dumps(v).encode()),
    shaped.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=40).map(str.encode),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile, max_size=25))
def test_hostile_bytes_never_crash_and_every_input_is_accounted_for(
    values: list[bytes | None],
) -> None:
    out = run(values, schema=MIXED)
    assert out.frame.height + len(out.rejected) == len(values)
    assert out.frame.schema == frame_schema(MIXED)
    seen = sorted(out.frame["_offset"].to_list() + [r.offset for r in out.rejected])
    assert seen == list(range(100, 100 + len(values)))
    assert {r.reason for r in out.rejected} <= set(REASONS)
    assert out.frame["model_id"].is_in(["fraud", "churn"]).all()
