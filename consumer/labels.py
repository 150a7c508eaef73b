"""Decoding of the labels topic: delayed ground truth ``{"event_id", "target", "timestamp"?}``.

Labels are not windowed, so they are decoded into small records rather than a frame (a label
batch is at most one poll). Bad records become :class:`Rejected` with the decoder's reasons
(``not_json``, ``not_object``, ``missing_field``, ``wrong_type``, ``non_finite``,
``bad_timestamp``, ``too_large``); they never stop the loop.

- ``event_id``: a string or an integer (kept as text, as in the event decoder); required.
- ``target``: a number, a string or a boolean; required and not null (a label without a
  target carries nothing to join).
- ``timestamp``: optional; epoch milliseconds (number or numeric text) or ISO-8601. Absent:
  the Kafka message timestamp, else ``None``. Used for ordering in ``driftsnap replay``.
- ``model_id``: optional, informative only (the join is by event id).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from consumer.rejected import Reason, Rejected, classify

__all__ = ["DecodedLabels", "LabelFields", "LabelRecord", "decode_labels"]

Target = float | str | bool


@dataclass(frozen=True, slots=True)
class LabelFields:
    """Names of the label fields (a column mapping for the labels topic)."""

    event_id: str = "event_id"
    target: str = "target"
    timestamp: str = "timestamp"
    model_id: str = "model_id"


@dataclass(frozen=True, slots=True)
class LabelRecord:
    """One decoded label and its coordinates in the labels topic."""

    event_id: str
    target: Target
    timestamp_ms: int | None
    model_id: str | None
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class DecodedLabels:
    labels: list[LabelRecord]
    rejected: list[Rejected]


_DECODERS: dict[LabelFields, msgspec.json.Decoder] = {}  # type: ignore[type-arg]


def _decoder(fields: LabelFields) -> msgspec.json.Decoder:  # type: ignore[type-arg]
    dec = _DECODERS.get(fields)
    if dec is None:
        struct = msgspec.defstruct(
            "Label",
            [
                ("l_event_id", str | int),
                ("l_target", Target),
                ("l_timestamp", str | int | float | None, None),
                ("l_model_id", str | None, None),
            ],
            rename={
                "l_event_id": fields.event_id,
                "l_target": fields.target,
                "l_timestamp": fields.timestamp,
                "l_model_id": fields.model_id,
            },
            kw_only=True,
            gc=False,
        )
        dec = msgspec.json.Decoder(struct)
        _DECODERS[fields] = dec
    return dec


def _event_time_ms(value: str | int | float) -> int | None:
    """Epoch ms from a number, numeric text or ISO-8601 text; ``None`` when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(math.floor(value)) if math.isfinite(value) else None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return int(math.floor(number)) if math.isfinite(number) else None
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return int(ts.timestamp() * 1000)


def decode_labels(
    values: Sequence[bytes | None],
    partitions: Sequence[int],
    offsets: Sequence[int],
    kafka_timestamps_ms: Sequence[int | None],
    topic: str,
    *,
    fields: LabelFields | None = None,
    keys: Sequence[bytes | None] | None = None,
    max_value_bytes: int = 900_000,
) -> DecodedLabels:
    """Decode one batch of label records; ``len(labels) + len(rejected) == len(values)``."""
    decode = _decoder(fields or LabelFields()).decode
    labels: list[LabelRecord] = []
    rejected: list[Rejected] = []

    def reject(i: int, reason: Reason, detail: str) -> None:
        key = keys[i] if keys is not None else None
        rejected.append(Rejected(reason, detail, values[i], topic, partitions[i], offsets[i], key))

    for i, raw in enumerate(values):
        if not raw:
            what = "a null value (tombstone)" if raw is None else "an empty value"
            reject(i, "not_json", f"label message has {what}, expected a JSON object")
            continue
        if len(raw) > max_value_bytes:
            reject(i, "too_large", f"value is {len(raw)} bytes, the limit is {max_value_bytes}")
            continue
        try:
            rec = decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            reject(i, *classify(exc, raw))
            continue
        target = rec.l_target
        if isinstance(target, float) and not math.isfinite(target):
            reject(i, "non_finite", f"field `target`: {target} is not a finite number")
            continue
        ts: int | None
        if rec.l_timestamp is None:
            kts = kafka_timestamps_ms[i]
            ts = kts if kts is not None and kts >= 0 else None
        else:
            ts = _event_time_ms(rec.l_timestamp)
            if ts is None:
                reject(
                    i,
                    "bad_timestamp",
                    f"field `timestamp`: {rec.l_timestamp!r} is neither epoch milliseconds nor "
                    "an ISO-8601 date-time",
                )
                continue
        labels.append(
            LabelRecord(
                event_id=str(rec.l_event_id),
                target=target,
                timestamp_ms=ts,
                model_id=rec.l_model_id,
                partition=partitions[i],
                offset=offsets[i],
            )
        )
    return DecodedLabels(labels, rejected)
