"""The reference profile: everything a window needs about the reference, computed once.

``ReferenceProfile.fit(df, schema)`` cleans each drift column of the reference (nulls and
NaN dropped, ±inf counted in ``n_inf`` and treated as missing) and keeps, per column, what the
drift methods and the render histograms need: numerical values sorted (float64), their
distinct values, population std, frozen decile edges (``binning: reference``) and render
edges/counts; categorical value counts and the values in row order (for the permutation test).
Every window reuses the profile; nothing about the reference is recomputed per window.

``reference_id`` is a content hash of the reference data (see :func:`content_hash`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from evaluation.binning import (
    F64,
    I64,
    counts_in_edges,
    quantile_edges,
    render_edges,
    round_sig,
    sorted_unique,
)
from evaluation.errors import DriftInputError
from evaluation.schema import DatasetSchema, is_numeric_dtype
from evaluation.stattests import Kind

_HASH_VERSION = b"driftsnap-reference-v1\0"


def _is_integer(dtype: pl.DataType) -> bool:
    return bool(dtype.is_integer())


@dataclass(frozen=True, slots=True)
class CleanColumn:
    """One column with missing values and ±inf removed.

    ``values``: numerical values, sorted float64 (empty for categorical). ``counts``:
    categorical value → count (empty for numerical). ``ordered``: categorical values in row
    order. ``n_missing`` counts nulls, NaN and ±inf; ``n_inf`` the ±inf among them.
    """

    kind: Kind
    n_rows: int
    n_missing: int
    n_inf: int
    values: F64
    counts: dict[Any, int]
    ordered: pl.Series | None
    integer: bool

    @property
    def n_valid(self) -> int:
        return int(self.values.size) if self.kind == "num" else self.n_rows - self.n_missing


def clean_column(series: pl.Series, kind: Kind) -> CleanColumn:
    """Clean one column (reference or current) the way Evidently does before a drift test."""
    n_rows = series.len()
    dtype = series.dtype
    integer = _is_integer(dtype)
    if kind == "num":
        if not is_numeric_dtype(dtype) and dtype not in (pl.Boolean, pl.Null):
            msg = (
                f"column {series.name!r} is numerical in the schema but has dtype {dtype}; "
                "declare it categorical or cast it to a number"
            )
            raise DriftInputError(msg)
        arr = series.cast(pl.Float64).to_numpy()
        finite = np.isfinite(arr)
        n_inf = 0
        if not finite.all():
            n_inf = int(np.count_nonzero(np.isinf(arr)))
            arr = arr[finite]  # a fresh array: sort it in place
            arr.sort()
            values = arr
        else:
            values = np.sort(arr)
        return CleanColumn("num", n_rows, n_rows - values.size, n_inf, values, {}, None, integer)
    n_inf = 0
    s = series.drop_nulls()
    if dtype in (pl.Float32, pl.Float64):
        n_inf = int(s.is_infinite().sum())
        s = s.filter(s.is_finite())
    vc = s.value_counts(sort=True)
    counts = dict(zip(vc[vc.columns[0]].to_list(), vc["count"].to_list(), strict=True))
    return CleanColumn("cat", n_rows, n_rows - s.len(), n_inf, np.empty(0), counts, s, integer)


def sort_numeric(frame: pl.DataFrame, names: list[str]) -> dict[str, F64]:
    """Each named column as float64 (nulls as NaN), sorted: ``-inf``, finite values, ``+inf``,
    NaN. One polars ``select``, parallel over the columns. A window's numerical columns are
    sorted once and the array is shared by drift (:func:`clean_sorted`) and data quality."""
    if not names:
        return {}
    ordered = frame.select(
        pl.col(c).cast(pl.Float64, strict=False).fill_null(float("nan")).sort().alias(c)
        for c in names
    )
    return {c: ordered.get_column(c).to_numpy() for c in names}


def clean_sorted(a: F64, integer: bool) -> CleanColumn:
    """:func:`clean_column` of a numerical column from its :func:`sort_numeric` array (the
    finite values are a slice of it: no second sort)."""
    n_neg = int(np.searchsorted(a, -np.inf, "right"))
    end_fin = int(np.searchsorted(a, np.inf, "left"))
    end_inf = int(np.searchsorted(a, np.inf, "right"))
    values = a[n_neg:end_fin]
    n_rows = len(a)
    n_inf = n_neg + end_inf - end_fin
    return CleanColumn("num", n_rows, n_rows - values.size, n_inf, values, {}, None, integer)


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """A reference column, cleaned, with what the drift methods need precomputed.

    ``values`` (numerical, sorted float64) / ``counts`` (categorical, value → count) are the
    cleaned values; ``unique`` the distinct numerical values; ``std`` the population std
    (ddof = 0); ``quantile_edges`` the interior decile edges of ``binning: reference``;
    ``render_edges``/``render_counts`` the reference histogram shown beside the current one.
    """

    name: str
    kind: Kind
    n_rows: int
    n_missing: int
    n_inf: int
    values: F64
    counts: dict[Any, int]
    ordered: pl.Series | None
    integer: bool
    unique: F64
    std: float
    quantile_edges: F64
    render_edges: F64
    render_counts: I64
    render_bins: tuple[float | None, ...] = ()
    dtype: str = ""

    @property
    def n_valid(self) -> int:
        return int(self.values.size) if self.kind == "num" else self.n_rows - self.n_missing

    @property
    def n_unique(self) -> int:
        return int(self.unique.size) if self.kind == "num" else len(self.counts)

    @classmethod
    def fit(cls, series: pl.Series, kind: Kind) -> ColumnProfile:
        c = clean_column(series, kind)
        empty = np.empty(0)
        if kind == "num" and c.values.size:
            v = c.values
            edges = render_edges(float(v[0]), float(v[-1]))
            return cls(
                series.name,
                kind,
                c.n_rows,
                c.n_missing,
                c.n_inf,
                v,
                {},
                None,
                c.integer,
                unique=sorted_unique(v),
                std=float(np.std(v)),
                quantile_edges=quantile_edges(v),
                render_edges=edges,
                render_counts=counts_in_edges(v, edges),
                render_bins=tuple(round_sig(float(e)) for e in edges),
                dtype=str(series.dtype),
            )
        return cls(
            series.name,
            kind,
            c.n_rows,
            c.n_missing,
            c.n_inf,
            c.values,
            c.counts,
            c.ordered,
            c.integer,
            unique=empty,
            std=0.0,
            quantile_edges=empty,
            render_edges=empty,
            render_counts=np.empty(0, dtype=np.int64),
            dtype=str(series.dtype),
        )


def special_kind(df: pl.DataFrame, schema: DatasetSchema, name: str) -> Kind:
    """Kind of the target or prediction column, as Evidently decides it: categorical for a
    classification target, or a label prediction (non-numeric, or outside [0, 1]); numerical
    for regression and for class probabilities."""
    dtype = df.schema[name]
    numeric = is_numeric_dtype(dtype)
    if schema.task == "regression":
        return "num" if numeric else "cat"
    if name == schema.target:
        if schema.task == "classification" or not numeric:
            return "cat"
        return "num" if df[name].drop_nulls().n_unique() > 5 else "cat"
    # prediction of a classifier: probabilities in [0, 1] are numerical, labels categorical
    if not numeric or dtype == pl.Boolean:
        return "cat"
    col = df[name].drop_nulls()
    if col.len() == 0:
        return "num"
    lo, hi = col.min(), col.max()
    assert isinstance(lo, int | float)
    assert isinstance(hi, int | float)
    if lo < 0 or hi > 1:
        return "cat"
    return "num"


def drift_columns(df: pl.DataFrame, schema: DatasetSchema) -> dict[str, Kind]:
    """Columns of the drift metric in Evidently's order (target, prediction, numerical,
    categorical) with their kinds."""
    out: dict[str, Kind] = {}
    for special in (schema.target, schema.prediction):
        if special is not None and special in df.columns:
            out[special] = special_kind(df, schema, special)
    for name in schema.numerical:
        out[name] = "num"
    for name in schema.categorical:
        out[name] = "cat"
    return out


def content_hash(df: pl.DataFrame) -> str:
    """SHA-256 over the reference data's column names, dtypes and values, in column order.

    Per column: name, dtype string, row count and a validity mask, then the values: numeric
    columns as little-endian float64/int64 bytes (null slots zeroed, NaN canonical), other
    columns as length-prefixed UTF-8 text of each value. It depends on nothing but the data
    (not on the schema, the file format or the polars version's internal hashing), so the
    same reference always gets the same ``reference_id``.
    """
    h = hashlib.sha256(_HASH_VERSION)
    for name in df.columns:
        s = df[name]
        h.update(name.encode() + b"\0" + str(s.dtype).encode() + b"\0")
        h.update(s.len().to_bytes(8, "little"))
        valid = s.is_not_null().to_numpy()
        h.update(np.packbits(valid).tobytes())
        if _is_integer(s.dtype):
            arr = s.fill_null(0).cast(pl.Int64).to_numpy()
            h.update(np.ascontiguousarray(arr, dtype="<i8").tobytes())
        elif is_numeric_dtype(s.dtype):
            arr = s.cast(pl.Float64).fill_null(0.0).to_numpy().copy()
            arr[np.isnan(arr)] = np.nan
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        else:
            text = s.cast(pl.String, strict=False).fill_null("")
            lengths = text.str.len_bytes().to_numpy().astype("<i8")
            h.update(lengths.tobytes())
            h.update("".join(text.to_list()).encode())
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class ReferenceProfile:
    """A fitted reference: its schema, content hash, size and per-column profiles.

    ``frame`` is the reference restricted to the schema's columns (features, target,
    prediction, probability columns) for other reference statistics (data/model quality).
    """

    schema: DatasetSchema
    reference_id: str
    n_rows: int
    columns: dict[str, ColumnProfile]
    frame: pl.DataFrame = field(repr=False)

    @classmethod
    def fit(cls, df: pl.DataFrame, schema: DatasetSchema) -> ReferenceProfile:
        """Profile every drift column of ``df`` once (see the module docstring)."""
        kinds = drift_columns(df, schema)
        missing = [c for c in kinds if c not in df.columns]
        if missing:
            msg = (
                f"reference has no column(s) {missing} named in the schema (columns: {df.columns})"
            )
            raise DriftInputError(msg)
        keep = [c for c in (*kinds, *schema.prediction_probas) if c in df.columns]
        keep = list(dict.fromkeys(keep))
        return cls(
            schema=schema,
            reference_id=content_hash(df),
            n_rows=df.height,
            columns={name: ColumnProfile.fit(df[name], kind) for name, kind in kinds.items()},
            frame=df.select(keep),
        )
