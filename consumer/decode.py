"""Batch decoding of Kafka values into one columnar frame, with every bad record kept as data.

The hot path, per batch:

1. One typed ``msgspec`` decoder, compiled once per :class:`EventSchema` from ``defstruct``
   (the only per-event Python work): it parses and type-checks in C. Structs are built with
   ``gc=False`` so a batch of events does not wake the cyclic garbage collector.
2. Columns are pulled out with ``map(attrgetter(...))`` and handed to polars.
3. Everything else is vectorised: unknown models, ISO-8601 / epoch-ms event times, the Kafka
   timestamp fallback, timestamp bounds, finite checks, features of other models nulled.

Records are decoded one message at a time (``map(decoder.decode, values)``), not by joining the
batch into one JSON array: joining is ambiguous (a value ``{"a":"`` followed by ``"}`` forms one
valid object from two messages, so offsets could be attached to the wrong events) and measured no
faster once that ambiguity is checked for (see ``bench/decode.py``).

Decisions (documented in ``docs/consumer.md``):

- ``variant`` absent or null -> ``"default"``; ``event_id`` and segments may be strings or
  integers (Utf8 in the frame); ``target`` and ``prediction`` absent -> null.
- ``prediction``/``target`` are Float64 when every model's kind is ``num``; otherwise Utf8 for
  all rows (numbers as their shortest round-trip decimal text, cast back per model).
- Event time: an integer/float number is epoch milliseconds; a string is an ISO-8601 date-time
  (``Z``, ``+hh:mm``, ``+hhmm``; a naive one is read as UTC) or a plain decimal number (epoch ms).
  Absent or null: the Kafka message timestamp. Fractional milliseconds are floored.
- A feature missing from an event is null (a data-quality fact, not a rejection); features that
  belong to another model are nulled; unknown JSON fields are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any
from weakref import WeakKeyDictionary

import msgspec
import numpy as np
import polars as pl

from consumer.mapping import EventSchema, Kind
from consumer.rejected import REASONS, Reason, Rejected, classify

__all__ = [
    "REASONS",
    "DecodeBounds",
    "DecodedBatch",
    "Reason",
    "Rejected",
    "decode_batch",
    "frame_schema",
]

_MAX_ABS_MS = 8_640_000_000_000_000  # +-275,760 years: the ECMAScript Date range


@dataclass(frozen=True, slots=True)
class DecodeBounds:
    """Limits relative to ``now_ms``; ``None`` disables a time bound (e.g. for backfills).

    ``max_value_bytes`` stays below Kafka's default 1 MB message size so that a ``too_large``
    record still fits in the dead-letter topic together with its headers."""

    max_future_ms: int | None = 3_600_000
    max_past_ms: int | None = 30 * 86_400_000
    max_value_bytes: int = 900_000


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    frame: pl.DataFrame
    rejected: list[Rejected]


# --------------------------------------------------------------------------- compiled plan


@dataclass(frozen=True, slots=True)
class _Plan:
    decode: Any  # msgspec.json.Decoder.decode bound method
    envelope: dict[str, Any]  # frame column -> getter on the event struct
    features: list[tuple[str, Kind, Any]]  # (column, kind, getter)
    features_getter: Any | None  # nested layout: event -> features struct
    output_kinds: dict[str, Kind]  # "prediction"/"target" -> frame kind
    model_output_kinds: dict[str, dict[str, Kind]]  # column -> model -> kind (mixed only)
    feature_owners: dict[str, list[str]]  # only features not shared by every model
    schema: pl.Schema


_PLANS: WeakKeyDictionary[EventSchema, _Plan] = WeakKeyDictionary()

_NUM = float | None
_CAT = str | int | bool | None


def _output_type(kinds: set[Kind]) -> Any:
    if kinds == {"num"}:
        return _NUM
    if kinds == {"cat"}:
        return _CAT
    return str | int | float | bool | None


def frame_schema(schema: EventSchema) -> pl.Schema:
    """Column names and dtypes of every frame :func:`decode_batch` returns for ``schema``."""
    return _plan(schema).schema


def _plan(schema: EventSchema) -> _Plan:
    plan = _PLANS.get(schema)
    if plan is None:
        plan = _compile(schema)
        _PLANS[schema] = plan
    return plan


def _compile(schema: EventSchema) -> _Plan:
    mapping = schema.mapping
    # Struct attributes get safe generated names; ``rename`` maps them to the JSON names, so any
    # field name (``"class"``, ``"feature-1"``) works.
    feature_fields: list[tuple[str, Any, None]] = []
    feature_rename: dict[str, str] = {}
    features: list[tuple[str, Kind, Any]] = []
    for i, (name, kind) in enumerate(schema.feature_kinds.items()):
        attr = f"f{i}"
        feature_fields.append((attr, _NUM if kind == "num" else _CAT, None))
        feature_rename[attr] = name
        features.append((name, kind, attr))

    out_kinds: dict[str, Kind] = {
        "prediction": schema.output_kind("prediction"),
        "target": schema.output_kind("target"),
    }
    per_model = {
        "prediction": {m: s.prediction for m, s in schema.models.items()},
        "target": {m: s.target_kind for m, s in schema.models.items()},
    }
    env_types: dict[str, Any] = {
        "event_id": str | int | None,
        "timestamp": str | int | float | None,
        "variant": str | None,
        "prediction": _output_type(set(per_model["prediction"].values())),
        "target": _output_type(set(per_model["target"].values())),
    }
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [("e_model_id", str)]
    rename: dict[str, str] = {"e_model_id": mapping.model_id}
    envelope: dict[str, Any] = {"model_id": attrgetter("e_model_id")}
    for col, name in mapping.envelope_fields().items():
        if col == "model_id":
            continue
        attr = f"e_{col}" if col in env_types else f"s{len(rename)}"
        fields.append((attr, env_types.get(col, _CAT), None))
        rename[attr] = name
        envelope[col] = attrgetter(attr)

    features_getter = None
    if mapping.features is None:
        fields.extend(feature_fields)
        rename.update(feature_rename)
        features = [(n, k, attrgetter(a)) for n, k, a in features]
    else:
        feat_struct = msgspec.defstruct(
            "Features", feature_fields, rename=feature_rename, kw_only=True, gc=False
        )
        fields.append(("e_features", feat_struct))
        rename["e_features"] = mapping.features
        features_getter = attrgetter("e_features")
        features = [(n, k, attrgetter(a)) for n, k, a in features]
    event = msgspec.defstruct("Event", fields, rename=rename, kw_only=True, gc=False)

    every = set(schema.models)
    owners: dict[str, set[str]] = {}
    for model_id, model in schema.models.items():
        for name in model.features:
            owners.setdefault(name, set()).add(model_id)
    feature_owners = {n: sorted(o) for n, o in owners.items() if o != every}

    cols: dict[str, pl.DataType] = {
        "_partition": pl.Int32(),
        "_offset": pl.Int64(),
        "_event_time_ms": pl.Int64(),
        "event_id": pl.Utf8(),
        "model_id": pl.Utf8(),
        "variant": pl.Utf8(),
    }
    cols.update({s: pl.Utf8() for s in mapping.segments})
    for col in ("prediction", "target"):
        cols[col] = pl.Float64() if out_kinds[col] == "num" else pl.Utf8()
    for name, kind in schema.feature_kinds.items():
        cols[name] = pl.Float64() if kind == "num" else pl.Utf8()

    mixed = {col: per_model[col] for col in per_model if len(set(per_model[col].values())) > 1}
    return _Plan(
        decode=msgspec.json.Decoder(event).decode,
        envelope=envelope,
        features=features,
        features_getter=features_getter,
        output_kinds=out_kinds,
        model_output_kinds=mixed,
        feature_owners=feature_owners,
        schema=pl.Schema(cols),
    )


# --------------------------------------------------------------------------- decode


def _utf8(values: list[Any]) -> pl.Series:
    # strict=False renders ints and bools as text ("1", "true"); strings pass unchanged.
    return pl.Series(values, dtype=pl.Utf8, strict=False)


_ISO_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
)


def _parse_event_time(text: pl.Series) -> pl.Series:
    """Utf8 event times -> Float64 epoch ms; null where neither a number nor ISO-8601."""
    result = text.cast(pl.Float64, strict=False)
    for fmt in _ISO_FORMATS:
        if result.null_count() == text.null_count():
            break
        parsed = text.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="ms")
        result = result.fill_null(parsed.dt.epoch("ms").cast(pl.Float64))
    return result


def decode_batch(
    values: Sequence[bytes | None],
    partitions: Sequence[int],
    offsets: Sequence[int],
    kafka_timestamps_ms: Sequence[int | None],
    topic: str,
    schema: EventSchema,
    bounds: DecodeBounds,
    now_ms: int,
    *,
    keys: Sequence[bytes | None] | None = None,
) -> DecodedBatch:
    """Decode one batch of Kafka values (all from ``topic``) into a frame and the rejects.

    Every input is accounted for exactly once: ``frame.height + len(rejected) == len(values)``.
    Rows keep input order, and so does ``rejected``. A ``kafka_timestamps_ms`` entry that is
    ``None`` or negative means "no broker timestamp". Never raises for bad input.
    """
    plan = _plan(schema)
    n = len(values)
    if not (len(partitions) == len(offsets) == len(kafka_timestamps_ms) == n):
        raise ValueError(
            f"values ({n}), partitions ({len(partitions)}), offsets ({len(offsets)}) and "
            f"kafka_timestamps_ms ({len(kafka_timestamps_ms)}) must have the same length"
        )
    if keys is not None and len(keys) != n:
        raise ValueError(f"keys ({len(keys)}) and values ({n}) must have the same length")
    rejects: list[tuple[int, Reason, str]] = []

    # 1. size and emptiness: cheap, before any parsing
    limit = bounds.max_value_bytes
    idx: list[int] = []
    todo: list[bytes] = []
    for i, v in enumerate(values):
        if not v:
            what = "a null value (tombstone)" if v is None else "an empty value"
            rejects.append((i, "not_json", f"message has {what}, expected a JSON object"))
        elif len(v) > limit:
            rejects.append((i, "too_large", f"value is {len(v)} bytes, the limit is {limit}"))
        else:
            idx.append(i)
            todo.append(v)

    # 2. typed decode: the whole list in C; one by one only when some record fails
    decode = plan.decode
    try:
        events: list[Any] = list(map(decode, todo))
    except (msgspec.DecodeError, msgspec.ValidationError):
        events, kept = [], []
        for i, raw in zip(idx, todo, strict=True):
            try:
                events.append(decode(raw))
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                rejects.append((i, *classify(exc, raw)))
            else:
                kept.append(i)
        idx = kept

    if events:
        frame, more = _frame(
            events, idx, plan, schema, bounds, now_ms, partitions, offsets, kafka_timestamps_ms
        )
        rejects.extend(more)
        rejects.sort(key=lambda r: r[0])
    else:
        frame = pl.DataFrame(schema=plan.schema)
    rejected = [
        Rejected(
            reason,
            detail,
            values[i],
            topic,
            partitions[i],
            offsets[i],
            keys[i] if keys is not None else None,
        )
        for i, reason, detail in rejects
    ]
    return DecodedBatch(frame, rejected)


def _frame(
    events: list[Any],
    idx: list[int],
    plan: _Plan,
    schema: EventSchema,
    bounds: DecodeBounds,
    now_ms: int,
    partitions: Sequence[int],
    offsets: Sequence[int],
    kafka_timestamps_ms: Sequence[int | None],
) -> tuple[pl.DataFrame, list[tuple[int, Reason, str]]]:
    """Columns from decoded structs, then every remaining check as one vectorised pass."""
    sel = np.asarray(idx, dtype=np.int64)
    kafka_ts = np.asarray([-1 if t is None else t for t in kafka_timestamps_ms], dtype=np.int64)
    cols: dict[str, pl.Series] = {
        "_partition": pl.Series(np.asarray(partitions, dtype=np.int64)[sel], dtype=pl.Int32),
        "_offset": pl.Series(np.asarray(offsets, dtype=np.int64)[sel], dtype=pl.Int64),
        "__kafka_ts": pl.Series(kafka_ts[sel], dtype=pl.Int64),
    }
    raw_outputs: dict[str, list[Any]] = {}
    for col, get in plan.envelope.items():
        data = list(map(get, events))
        if col in ("prediction", "target") and plan.output_kinds[col] == "num":
            cols[col] = pl.Series(data, dtype=pl.Float64)
        else:
            cols[col] = _utf8(data)
        if col in plan.model_output_kinds:
            raw_outputs[col] = data
    holders = list(map(plan.features_getter, events)) if plan.features_getter else events
    for name, kind, get in plan.features:
        data = list(map(get, holders))
        cols[name] = pl.Series(data, dtype=pl.Float64) if kind == "num" else _utf8(data)
    frame = pl.DataFrame([s.alias(k) for k, s in cols.items()])
    height = frame.height
    models = list(schema.models)

    # (condition, reason, detail): the first matching condition of a row wins
    checks: list[tuple[pl.Expr, Reason, pl.Expr]] = [
        (
            ~pl.col("model_id").is_in(models),
            "unknown_model",
            pl.format(
                "field `model_id`: {} is not a configured model (known: {})",
                pl.col("model_id"),
                pl.lit(", ".join(models)),
            ),
        )
    ]
    for col, kinds in plan.model_output_kinds.items():
        model_ids = frame["model_id"].to_list()
        bad = [
            v is not None
            and (
                (kinds.get(m) == "num" and type(v) in (str, bool))
                or (kinds.get(m) == "cat" and type(v) is float)
            )
            for m, v in zip(model_ids, raw_outputs[col], strict=True)
        ]
        frame = frame.with_columns(pl.Series(f"__bad_{col}", bad, dtype=pl.Boolean))
        want = (
            pl.when(pl.col("model_id").replace_strict(kinds, default=None) == "num")
            .then(pl.lit("a number"))
            .otherwise(pl.lit("a string, integer or boolean"))
        )
        checks.append(
            (
                pl.col(f"__bad_{col}"),
                "wrong_type",
                pl.format(
                    "field `{}`: model {} expects {}, got {}",
                    pl.lit(col),
                    pl.col("model_id"),
                    want,
                    pl.col(col),
                ),
            )
        )

    # event time: from the event when present, else the Kafka timestamp
    if "timestamp" in frame.columns:
        text = frame["timestamp"]
        frame = frame.with_columns(__parsed=_parse_event_time(text))
        checks.append(
            (
                pl.col("timestamp").is_not_null()
                & (
                    pl.col("__parsed").is_null()
                    | ~pl.col("__parsed").is_finite()
                    | (pl.col("__parsed").abs() >= _MAX_ABS_MS)
                ),
                "bad_timestamp",
                pl.format(
                    "field `timestamp`: {} is neither ISO-8601 nor epoch milliseconds",
                    pl.col("timestamp"),
                ),
            )
        )
        from_kafka = pl.col("timestamp").is_null()
    else:
        frame = frame.with_columns(__parsed=pl.lit(None, dtype=pl.Float64))
        from_kafka = pl.lit(True)
    checks.append(
        (
            from_kafka & (pl.col("__kafka_ts") < 0),
            "missing_field",
            pl.lit("field `timestamp` is absent and the message has no Kafka timestamp"),
        )
    )
    frame = frame.with_columns(
        __ms=pl.when(from_kafka)
        .then(pl.col("__kafka_ts").cast(pl.Float64))
        .otherwise(pl.col("__parsed"))
        .floor()
    )
    ms = pl.col("__ms")
    if bounds.max_future_ms is not None:
        hi = now_ms + bounds.max_future_ms
        checks.append(
            (
                ms > hi,
                "timestamp_out_of_bounds",
                pl.format(
                    "event time {} ms is more than {} ms ahead of now ({} ms)",
                    ms.cast(pl.Int64, strict=False),
                    pl.lit(bounds.max_future_ms),
                    pl.lit(now_ms),
                ),
            )
        )
    if bounds.max_past_ms is not None:
        lo = now_ms - bounds.max_past_ms
        hint = (
            pl.when((ms > 1e8) & (ms < 1e11))
            .then(pl.lit(" (it looks like epoch seconds; send epoch milliseconds)"))
            .otherwise(pl.lit(""))
        )
        checks.append(
            (
                ms < lo,
                "timestamp_out_of_bounds",
                pl.format(
                    "event time {} ms is more than {} ms behind now ({} ms){}",
                    ms.cast(pl.Int64, strict=False),
                    pl.lit(bounds.max_past_ms),
                    pl.lit(now_ms),
                    hint,
                ),
            )
        )
    # msgspec already refuses out-of-range literals; this keeps NaN/inf out of the frame anyway
    num_cols = [c for c, t in plan.schema.items() if t == pl.Float64() and c in frame.columns]
    if num_cols:
        checks.append(
            (
                pl.any_horizontal([~pl.col(c).is_finite().fill_null(True) for c in num_cols]),
                "non_finite",
                pl.lit("a numeric field is NaN or infinite"),
            )
        )

    # The reason alone is computed for every row; the detail text only for the rejected ones.
    reason_expr: Any = pl
    detail_expr: Any = pl
    for cond, why, text_expr in checks:
        reason_expr = reason_expr.when(cond.fill_null(False)).then(pl.lit(why))
        detail_expr = detail_expr.when(cond.fill_null(False)).then(text_expr)
    frame = frame.with_columns(
        pl.int_range(height).alias("__pos"),
        reason_expr.otherwise(pl.lit(None, dtype=pl.Utf8)).alias("__reason"),
    )
    extra: list[tuple[int, Reason, str]] = []
    if frame["__reason"].null_count() != height:
        rows = frame.filter(pl.col("__reason").is_not_null())
        rows = rows.select("__pos", "__reason", detail_expr.otherwise(pl.lit("")).alias("detail"))
        extra = [(idx[pos], why, text_value) for pos, why, text_value in rows.iter_rows()]
        frame = frame.filter(pl.col("__reason").is_null())

    # features of other models are not this event's features
    owned = [
        pl.when(pl.col("model_id").is_in(owners)).then(pl.col(name)).alias(name)
        for name, owners in plan.feature_owners.items()
    ]
    variant = pl.col("variant") if "variant" in frame.columns else pl.lit(None, dtype=pl.Utf8)
    frame = frame.with_columns(
        *owned,
        variant.fill_null("default").alias("variant"),
        pl.col("__ms").cast(pl.Int64).alias("_event_time_ms"),
    )
    missing = [
        pl.lit(None, dtype=plan.schema[c]).alias(c)
        for c in ("event_id", "prediction", "target")
        if c not in frame.columns
    ]
    if missing:
        frame = frame.with_columns(missing)
    return frame.select(plan.schema.names()), extra
