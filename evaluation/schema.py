"""Which columns a dataset has and what they are: the evaluation side of a column mapping.

A numeric dtype is numerical, everything else (strings, booleans, categoricals) is
categorical, unless the caller names the type explicitly. ``target``, ``prediction``, id and
datetime columns are special: they are not features and are never drift-tested as features.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

ColumnKind = Literal["num", "cat"]
Task = Literal["classification", "regression"]

_NUMERIC = (
    pl.Float32,
    pl.Float64,
    pl.Int8,
    pl.Int16,
    pl.Int32,
    pl.Int64,
    pl.UInt8,
    pl.UInt16,
    pl.UInt32,
    pl.UInt64,
)


class SchemaError(ValueError):
    """A column named in the schema is missing or typed inconsistently."""


def is_numeric_dtype(dtype: pl.DataType) -> bool:
    return any(dtype == t for t in _NUMERIC)


@dataclass(frozen=True, slots=True)
class DatasetSchema:
    """Feature columns by kind, plus the special columns.

    ``task`` is ``None`` when there is no target/prediction pair to score.
    ``prediction_probas`` names per-class probability columns (multiclass), when given.
    """

    numerical: tuple[str, ...]
    categorical: tuple[str, ...]
    target: str | None = None
    prediction: str | None = None
    task: Task | None = None
    prediction_probas: tuple[str, ...] = ()
    excluded: tuple[str, ...] = field(default=())

    @property
    def features(self) -> tuple[str, ...]:
        return self.numerical + self.categorical

    def kind(self, column: str) -> ColumnKind:
        if column in self.numerical:
            return "num"
        if column in self.categorical:
            return "cat"
        msg = f"column {column!r} is not a feature of this schema (features: {self.features})"
        raise SchemaError(msg)

    @classmethod
    def infer(
        cls,
        df: pl.DataFrame,
        *,
        target: str | None = "target",
        prediction: str | None = "prediction",
        id_columns: Iterable[str] = ("event_id", "id"),
        datetime_columns: Iterable[str] = ("timestamp",),
        numerical: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
        task: Task | None = None,
        prediction_probas: Sequence[str] = (),
        exclude: Iterable[str] = (),
    ) -> DatasetSchema:
        """Infer the schema of ``df`` the way Evidently's column mapping does.

        Explicit ``numerical``/``categorical`` lists win over the dtype; ``columns`` restricts
        the features to that list. Special columns that are absent are dropped (``None``).
        """
        present = set(df.columns)
        tgt = target if target in present else None
        pred = prediction if prediction in present else None
        special = {c for c in (tgt, pred) if c} | set(id_columns) | set(datetime_columns)
        special |= set(prediction_probas) | set(exclude)
        special |= {c for c in df.columns if c.startswith("_")}  # transport columns
        explicit_num = list(numerical or ())
        explicit_cat = list(categorical or ())
        for name in explicit_num + explicit_cat + list(columns or ()):
            if name not in present:
                msg = f"column {name!r} is not in the data (columns: {sorted(present)})"
                raise SchemaError(msg)
        candidates = (
            list(columns) if columns is not None else [c for c in df.columns if c not in special]
        )
        num: list[str] = []
        cat: list[str] = []
        for name in candidates:
            if name in explicit_num:
                num.append(name)
            elif name in explicit_cat:
                cat.append(name)
            elif is_numeric_dtype(df.schema[name]):
                num.append(name)
            else:
                cat.append(name)
        if task is None and tgt is not None and pred is not None:
            task = _infer_task(df, tgt, pred, prediction_probas)
        return cls(
            numerical=tuple(num),
            categorical=tuple(cat),
            target=tgt,
            prediction=pred,
            task=task if (tgt is not None and (pred is not None or prediction_probas)) else None,
            prediction_probas=tuple(prediction_probas),
            excluded=tuple(sorted(special & present)),
        )


def _infer_task(df: pl.DataFrame, target: str, prediction: str, probas: Sequence[str]) -> Task:
    """Classification when the target is not numeric or has few distinct values, or when the
    prediction is a probability/label; regression otherwise (Evidently's heuristic)."""
    if probas:
        return "classification"
    t = df[target]
    if not is_numeric_dtype(t.dtype) or t.dtype == pl.Boolean:
        return "classification"
    if t.drop_nulls().n_unique() <= 5:
        return "classification"
    return "regression"
