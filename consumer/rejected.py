"""A record that will not reach a window: the closed set of reasons, and how a msgspec
error becomes a reason plus a detail naming the field and the offending value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

import msgspec
import orjson

__all__ = ["REASONS", "Reason", "Rejected", "classify"]

Reason = Literal[
    "not_json",
    "not_object",
    "missing_field",
    "wrong_type",
    "non_finite",
    "bad_timestamp",
    "timestamp_out_of_bounds",
    "unknown_model",
    "too_large",
    "late",
    "unknown_event",
]
REASONS: tuple[Reason, ...] = get_args(Reason)
"""The closed set of rejection reasons (``late`` is windowing's verdict and ``unknown_event``
the label join's — a label whose event never showed up — not the decoder's)."""

_DETAIL_VALUE_CHARS = 80


@dataclass(frozen=True, slots=True)
class Rejected:
    """One record that will not reach a window, with why and where it came from."""

    reason: Reason
    detail: str
    raw: bytes | None
    topic: str
    partition: int
    offset: int
    key: bytes | None = None

    @property
    def coordinates(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]*)`")
_EXPECTED = re.compile(r"^Expected `(?P<want>[^`]*)`, got `(?P<got>[^`]*)`")


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode() if value is not None else "null"
    return text if len(text) <= _DETAIL_VALUE_CHARS else text[: _DETAIL_VALUE_CHARS - 3] + "..."


def _lookup(raw: bytes, path: str) -> tuple[bool, Any]:
    """Best effort: the value at a msgspec error path such as ``.features.amount``."""
    try:
        node: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False, None
    for part in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path):
        key, index = part
        try:
            node = node[key] if key else node[int(index)]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


def classify(exc: msgspec.MsgspecError, raw: bytes) -> tuple[Reason, str]:
    """Reason and detail for a record the typed decoder refused (slow path, bad records only)."""
    message = str(exc)
    if not isinstance(exc, msgspec.ValidationError):  # ValidationError subclasses DecodeError
        return "not_json", message
    at = _AT.search(message)
    path = at.group("path") if at else ""
    body = message[: at.start()] if at else message
    field = path.lstrip(".") or "$"
    if m := _MISSING.match(body):
        name = f"{field}.{m.group('field')}" if path else m.group("field")
        return "missing_field", f"field `{name}` is required but absent"
    if body.startswith("Number out of range"):
        return "non_finite", f"field `{field}`: number out of float64 range (not finite)"
    if (m := _EXPECTED.match(body)) and not path and m.group("want") == "object":
        return "not_object", f"top-level JSON value is {m.group('got')}, expected an object"
    found, value = _lookup(raw, path)
    shown = f" {_short(value)}" if found else ""
    if m := _EXPECTED.match(body):
        return "wrong_type", (
            f"field `{field}`: expected {m.group('want')}, got {m.group('got')}{shown}"
        )
    return "wrong_type", f"field `{field}`: {body}{shown}"
