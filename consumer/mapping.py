"""Where the fields of an inference event live, and what each model's features look like.

:class:`ColumnMapping` names the JSON fields (in the spirit of Evidently's ``ColumnMapping``);
:class:`ModelSchema` gives each model's expected features and output kinds (the service derives
them from the model's reference file); :class:`EventSchema` ties both together and is what
:func:`consumer.decode.decode_batch` compiles its typed decoder from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from consumer.errors import SchemaError

__all__ = ["RESERVED_COLUMNS", "ColumnMapping", "EventSchema", "Kind", "ModelSchema"]

Kind = Literal["num", "cat"]
"""``num``: a JSON number, decoded to Float64. ``cat``: a string, integer or boolean, decoded to
Utf8 (``1`` becomes ``"1"``, ``true`` becomes ``"true"``)."""

RESERVED_COLUMNS = frozenset(
    {
        "_partition",
        "_offset",
        "_event_time_ms",
        "event_id",
        "model_id",
        "variant",
        "prediction",
        "target",
    }
)
"""Frame column names that features and segments may not use."""


class ColumnMapping(BaseModel):
    """JSON field names of an event. ``features=None`` selects the flat layout, where the
    feature columns are top-level fields beside the envelope fields.

    ``event_id``, ``timestamp``, ``variant``, ``prediction`` and ``target`` may be set to
    ``None`` when the events do not carry them (the frame column is then all null, or
    ``"default"`` for the variant, or the Kafka timestamp for the event time).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str | None = "event_id"
    timestamp: str | None = "timestamp"
    model_id: str = "model_id"
    variant: str | None = "variant"
    prediction: str | None = "prediction"
    target: str | None = "target"
    features: str | None = "features"
    segments: tuple[str, ...] = ()

    @field_validator("segments")
    @classmethod
    def _segments_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"segments {list(value)} repeat a name; list each segment once")
        return value

    def envelope_fields(self) -> dict[str, str]:
        """Frame column -> JSON field, for every envelope field the events carry."""
        pairs = {
            "event_id": self.event_id,
            "timestamp": self.timestamp,
            "model_id": self.model_id,
            "variant": self.variant,
            "prediction": self.prediction,
            "target": self.target,
        }
        out = {col: name for col, name in pairs.items() if name is not None}
        out.update({s: s for s in self.segments})
        return out


@dataclass(frozen=True, slots=True)
class ModelSchema:
    """Expected features of one model, in column order, and the kinds of its outputs.
    ``target=None`` means "same kind as the prediction"."""

    features: Mapping[str, Kind]
    prediction: Kind = "num"
    target: Kind | None = None

    @property
    def target_kind(self) -> Kind:
        return self.prediction if self.target is None else self.target


@dataclass(frozen=True, eq=False)
class EventSchema:
    """The column mapping plus the schema of every known model (keyed by ``model_id``).

    Feature columns are the union over models, in first-seen order. A feature name used by two
    models must have the same kind in both, and may not collide with an envelope or segment
    column: both are checked here, at start-up, and raise :class:`SchemaError`.
    """

    mapping: ColumnMapping
    models: Mapping[str, ModelSchema]
    feature_kinds: dict[str, Kind] = field(init=False)

    def __post_init__(self) -> None:
        if not self.models:
            raise SchemaError("no models configured; give at least one model schema")
        kinds: dict[str, Kind] = {}
        owner: dict[str, str] = {}
        reserved = RESERVED_COLUMNS | set(self.mapping.segments)
        for seg in self.mapping.segments:
            if seg in RESERVED_COLUMNS:
                raise SchemaError(f"segment column {seg!r} collides with a frame column; rename it")
        flat_taken = set(self.mapping.envelope_fields().values())
        for model_id, model in self.models.items():
            for name, kind in model.features.items():
                if kind not in ("num", "cat"):
                    raise SchemaError(
                        f"model {model_id!r} feature {name!r} has kind {kind!r}; use 'num' or 'cat'"
                    )
                if name in reserved:
                    raise SchemaError(
                        f"model {model_id!r} feature {name!r} collides with the frame column of "
                        "the same name; rename the feature in the reference"
                    )
                if self.mapping.features is None and name in flat_taken:
                    raise SchemaError(
                        f"model {model_id!r} feature {name!r} is also an envelope field of the "
                        "flat layout; rename it or use a nested features object"
                    )
                if name in kinds and kinds[name] != kind:
                    raise SchemaError(
                        f"feature {name!r} is {kinds[name]!r} for model {owner[name]!r} but "
                        f"{kind!r} for model {model_id!r}; one frame column cannot hold both, "
                        "rename one of them"
                    )
                kinds.setdefault(name, kind)
                owner.setdefault(name, model_id)
        object.__setattr__(self, "feature_kinds", kinds)

    def output_kind(self, column: Literal["prediction", "target"]) -> Kind:
        """Frame kind of ``prediction``/``target``: ``num`` (Float64) when every model's is
        numeric, otherwise ``cat`` (Utf8, numbers kept as their shortest decimal text)."""
        kinds = {
            m.prediction if column == "prediction" else m.target_kind for m in self.models.values()
        }
        return "num" if kinds == {"num"} else "cat"
