"""Data quality of a window, per column and per dataset, optionally against a reference.

Per column: row count, missing count and share (null or NaN), infinite count (``±inf``);
numerical columns add min, max, mean, std (sample, ``ddof=1``), p25/p50/p75 (linear
interpolation, numpy's default) over the *finite* values, and the share of finite values
outside the reference's ``[min, max]``; categorical columns add the unique count, the most
common value (ties broken by the smallest value, so the result ignores row order) and its share,
the number of distinct values absent from the reference and the number of reference categories
unused.
Per dataset: rows, columns, duplicated rows (rows equal to an earlier row over the analysed
columns, pandas' ``duplicated()``), constant columns (exactly one distinct non-missing value)
and empty columns (every value missing, in a non-empty window).

Everything is computed in one polars ``select`` over all columns. Degenerate cases are explicit:
a column absent from the window has ``"status": "absent"``, a window with no rows has
``"status": "no_rows"``, an all-missing column ``"status": "all_missing"``; their statistics are
``None`` (``null`` in the snapshot), never NaN. Floats are rounded to ``DIGITS`` (9)
significant digits to keep snapshots small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from evaluation.schema import ColumnKind, DatasetSchema

QUANTILES: tuple[tuple[str, float], ...] = (("p25", 0.25), ("p50", 0.5), ("p75", 0.75))
ColumnStatus = Literal["ok", "absent", "no_rows", "all_missing"]


def quality_columns(schema: DatasetSchema) -> tuple[str, ...]:
    """The columns data quality describes: features, then target and prediction."""
    extra = tuple(c for c in (schema.target, schema.prediction) if c and c not in schema.features)
    return schema.features + extra


def quality_kind(schema: DatasetSchema, column: str, dtype: pl.DataType | None) -> ColumnKind:
    """Features keep their schema kind; target/prediction are numerical when numeric."""
    if column in schema.numerical:
        return "num"
    if column in schema.categorical:
        return "cat"
    return "num" if dtype is not None and dtype.is_numeric() else "cat"


@dataclass(frozen=True, slots=True)
class ColumnQualityReference:
    """What a window's column is compared with: fitted once on the reference."""

    kind: ColumnKind
    missing_share: float | None
    min: float | None = None
    max: float | None = None
    quantiles: tuple[float | None, ...] = ()
    categories: tuple[str, ...] = ()
    constant: bool = False
    empty: bool = False


@dataclass(frozen=True, slots=True)
class QualityReference:
    """Per-column reference statistics for data quality (fit once per reference).

    ``result`` is the reference's own data-quality result, used by presets as the baseline
    (for example "missing share not above the reference's").
    """

    columns: Mapping[str, ColumnQualityReference]
    result: Mapping[str, Any]

    @classmethod
    def fit(
        cls,
        ref: pl.DataFrame,
        schema: DatasetSchema,
        *,
        kinds: Mapping[str, ColumnKind] | None = None,
    ) -> QualityReference:
        """Fit on the reference; ``kinds`` overrides column kinds (e.g. the drift profile's
        kind of the target/prediction, so both metrics agree)."""
        result = _data_quality(ref, schema, None, None, kinds)
        columns: dict[str, ColumnQualityReference] = {}
        cats = _category_sets(ref, schema, kinds or {})
        for name, col in result["columns"].items():
            if col["status"] == "absent":
                continue
            kind: ColumnKind = col["column_type"]
            common = {
                "missing_share": col["missing_share"],
                "constant": name in result["constant_columns"],
                "empty": name in result["empty_columns"],
            }
            if kind == "num":
                columns[name] = ColumnQualityReference(
                    kind="num",
                    min=col["min"],
                    max=col["max"],
                    quantiles=tuple(col[q] for q, _ in QUANTILES),
                    **common,
                )
            else:
                columns[name] = ColumnQualityReference(
                    kind="cat", categories=cats.get(name, ()), **common
                )
        return cls(columns=columns, result=_round_floats(result))


def _category_sets(
    ref: pl.DataFrame, schema: DatasetSchema, kinds: Mapping[str, ColumnKind]
) -> dict[str, tuple[str, ...]]:
    names = [
        c
        for c in quality_columns(schema)
        if c in ref.columns and kinds.get(c, quality_kind(schema, c, ref.schema[c])) == "cat"
    ]
    if not names:
        return {}
    row = ref.select(
        pl.col(c).cast(pl.String).drop_nulls().unique().sort().implode().alias(c) for c in names
    ).row(0)
    return {c: tuple(v) for c, v in zip(names, row, strict=True)}


def _finite(name: str) -> pl.Expr:
    x = pl.col(name).cast(pl.Float64, strict=False)
    return x.filter(x.is_finite())


def _num_exprs(name: str, ref: ColumnQualityReference | None) -> list[pl.Expr]:
    x = pl.col(name).cast(pl.Float64, strict=False)
    fin = _finite(name)
    p = f"{name}\x00"
    exprs = [
        (x.is_null() | x.is_nan()).sum().alias(p + "missing"),
        x.is_infinite().sum().alias(p + "inf"),
        fin.len().alias(p + "n_finite"),
        fin.min().alias(p + "min"),
        fin.max().alias(p + "max"),
        fin.mean().alias(p + "mean"),
        fin.std(ddof=1).alias(p + "std"),
        fin.n_unique().alias(p + "unique"),
        # ±inf are values too for "constant": count non-missing distinct values
        x.filter(x.is_not_null() & x.is_not_nan()).n_unique().alias(p + "distinct"),
    ]
    exprs += [fin.quantile(q, "linear").alias(p + key) for key, q in QUANTILES]
    if ref is not None and ref.min is not None and ref.max is not None:
        exprs.append(((fin < ref.min) | (fin > ref.max)).sum().alias(p + "out"))
    return exprs


def _cat_exprs(name: str, ref: ColumnQualityReference | None) -> list[pl.Expr]:
    s = pl.col(name).cast(pl.String)
    nn = s.drop_nulls()
    p = f"{name}\x00"
    exprs = [
        s.is_null().sum().alias(p + "missing"),
        nn.n_unique().alias(p + "unique"),
        nn.mode().sort().first().alias(p + "top"),
        nn.unique_counts().max().alias(p + "top_count"),
    ]
    if ref is not None:
        known = pl.lit(pl.Series(list(ref.categories), dtype=pl.String))
        uniq = nn.unique()
        exprs += [
            uniq.is_in(known.implode()).not_().sum().alias(p + "new"),
            nn.is_in(known.implode()).not_().sum().alias(p + "new_rows"),
            uniq.is_in(known.implode()).sum().alias(p + "known_seen"),
        ]
    return exprs


#: Significant digits kept for the float statistics in a snapshot (a relative error of 5e-9
#: is far below what a dashboard shows, and keeps snapshots small).
DIGITS = 9


def _round(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, DIGITS - 1 - math.floor(math.log10(abs(x))))


def _round_floats(value: Any) -> Any:
    if isinstance(value, float):
        return _round(value)
    if isinstance(value, dict):
        return {k: _round_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round_floats(v) for v in value]
    return value


def _share(count: int, total: int) -> float | None:
    return count / total if total else None


def _fnum(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def compute_data_quality(
    current: pl.DataFrame,
    schema: DatasetSchema,
    reference: QualityReference | None = None,
    *,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, ColumnKind] | None = None,
) -> dict[str, Any]:
    """Data quality of ``current`` (the ``data_quality`` metric result).

    Parameters
    ----------
    current
        The window's rows.
    schema
        Which columns to describe and their kinds (features, target, prediction).
    reference
        Fitted reference statistics; without it the reference-relative fields
        (``share_out_of_reference_range``, ``new_categories``, ``unused_reference_categories``)
        are ``None``.
    columns
        Restrict the per-column part to these columns (default: all schema columns).
    kinds
        Column kinds overriding the schema's (without a reference).

    Returns
    -------
    dict
        ``{"number_of_rows", "number_of_columns", "number_of_duplicated_rows",
        "number_of_constant_columns", "constant_columns", "number_of_empty_columns",
        "empty_columns", "number_of_absent_columns", "columns": {name: {...}}}``.
        Missing share = (nulls + NaN) / rows; infinities are counted apart and excluded from the
        numerical statistics. ``share_out_of_reference_range`` = share of finite values with
        ``x < ref_min`` or ``x > ref_max``. Floats are rounded to ``DIGITS`` significant
        digits.
    """
    result: dict[str, Any] = _round_floats(
        _data_quality(current, schema, reference, columns, kinds)
    )
    return result


def _data_quality(
    current: pl.DataFrame,
    schema: DatasetSchema,
    reference: QualityReference | None,
    columns: Sequence[str] | None,
    kinds: Mapping[str, ColumnKind] | None,
) -> dict[str, Any]:
    """The result with exact floats (the reference's bounds must not be rounded)."""
    names = list(columns) if columns is not None else list(quality_columns(schema))
    present = [c for c in names if c in current.columns]
    kind_of: dict[str, ColumnKind] = {}
    for c in names:
        ref_col = reference.columns.get(c) if reference is not None else None
        if ref_col is not None:
            kind_of[c] = ref_col.kind
        elif kinds is not None and c in kinds:
            kind_of[c] = kinds[c]
        else:
            kind_of[c] = quality_kind(schema, c, current.schema[c] if c in present else None)
    exprs: list[pl.Expr] = []
    for c in present:
        ref_col = reference.columns.get(c) if reference is not None else None
        exprs += _num_exprs(c, ref_col) if kind_of[c] == "num" else _cat_exprs(c, ref_col)
    stats: dict[str, Any] = current.select(exprs).row(0, named=True) if exprs else {}
    n = current.height
    out_cols: dict[str, dict[str, Any]] = {}
    constant: list[str] = []
    empty: list[str] = []
    for c in names:
        ref_col = reference.columns.get(c) if reference is not None else None
        if c not in present:
            out_cols[c] = {"column_type": kind_of[c], "status": "absent", "number_of_rows": 0}
            continue
        col = _column_result(c, kind_of[c], n, stats, ref_col, reference is not None)
        out_cols[c] = col
        if col["status"] == "all_missing":
            empty.append(c)
        elif col.pop("_distinct") == 1:
            constant.append(c)
        col.pop("_distinct", None)
    dup_cols = present
    duplicated = n - current.select(dup_cols).unique().height if dup_cols and n else 0
    return {
        "number_of_rows": n,
        "number_of_columns": len(present),
        "number_of_duplicated_rows": duplicated,
        "number_of_constant_columns": len(constant),
        "constant_columns": constant,
        "number_of_empty_columns": len(empty),
        "empty_columns": empty,
        "number_of_absent_columns": len(names) - len(present),
        "columns": out_cols,
    }


def _column_result(
    c: str,
    kind: ColumnKind,
    n: int,
    stats: Mapping[str, Any],
    ref_col: ColumnQualityReference | None,
    has_reference: bool,
) -> dict[str, Any]:
    p = f"{c}\x00"
    missing = int(stats[p + "missing"])
    status: ColumnStatus = "ok"
    if n == 0:
        status = "no_rows"
    elif missing == n:
        status = "all_missing"
    col: dict[str, Any] = {
        "column_type": kind,
        "status": status,
        "number_of_rows": n,
        "number_of_missing": missing,
        "missing_share": _share(missing, n),
    }
    if kind == "num":
        n_fin = int(stats[p + "n_finite"])
        col["number_of_infinite"] = int(stats[p + "inf"])
        col["number_of_unique"] = int(stats[p + "unique"])
        for key in ("min", "max", "mean", "std"):
            col[key] = _fnum(stats[p + key])
        for key, _ in QUANTILES:
            col[key] = _fnum(stats[p + key])
        if ref_col is not None and ref_col.min is not None and ref_col.max is not None:
            out = int(stats[p + "out"])
            col["number_out_of_reference_range"] = out
            col["share_out_of_reference_range"] = _share(out, n_fin)
        elif has_reference:
            col["number_out_of_reference_range"] = None
            col["share_out_of_reference_range"] = None
        col["_distinct"] = int(stats[p + "distinct"])
    else:
        uniq = int(stats[p + "unique"])
        top_count = stats[p + "top_count"]
        col["number_of_infinite"] = 0
        col["number_of_unique"] = uniq
        col["most_common"] = stats[p + "top"]
        col["most_common_share"] = (
            _share(int(top_count), n - missing) if top_count is not None else None
        )
        if ref_col is not None:
            col["new_categories"] = int(stats[p + "new"])
            col["new_category_share"] = _share(int(stats[p + "new_rows"]), n - missing)
            col["unused_reference_categories"] = len(ref_col.categories) - int(
                stats[p + "known_seen"]
            )
        elif has_reference:
            col["new_categories"] = None
            col["new_category_share"] = None
            col["unused_reference_categories"] = None
        col["_distinct"] = uniq
    return col
