"""Data quality of a window, per column and per dataset, optionally against a reference.

Per column: row count, missing count and share (null or NaN), infinite count (``±inf``);
numerical columns add min, max, mean, std (sample, ``ddof=1``), p25/p50/p75 (linear
interpolation, numpy's default definition, computed bit for bit as polars'
``quantile(q, "linear")``) over the *finite* values, and the share of finite values outside the
reference's ``[min, max]``; categorical columns add the unique count, the most common value (ties
broken by the smallest value, so the result ignores row order) and its share, the number of
distinct values absent from the reference and the number of reference categories unused.
Per dataset: rows, columns, duplicated rows (rows equal to an earlier row over the analysed
columns, pandas' ``duplicated()``), constant columns (exactly one distinct non-missing value)
and empty columns (every value missing, in a non-empty window).

How (window close is latency-critical): one polars ``select`` casts and sorts every numerical
column (in parallel); counts, min, max, quantiles, unique counts and the out-of-range count are
read off each sorted array with numpy (index lookups, ``searchsorted``, non-zero diffs), while
mean and std stay polars aggregations in the original row order (their last bits depend on the
summation order). Categorical columns take one ``value_counts`` each. Duplicated rows skip the
row hashing when some column's values are all distinct (see ``_duplicated_rows``).

Degenerate cases are explicit: a column absent from the window has ``"status": "absent"``, a
window with no rows has ``"status": "no_rows"``, an all-missing column
``"status": "all_missing"``; their statistics are ``None`` (``null`` in the snapshot), never NaN.
Floats are rounded to ``DIGITS`` (9) significant digits to keep snapshots small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from evaluation.reference import sort_numeric
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


def _num_exprs(name: str) -> list[pl.Expr]:
    """The order-dependent numerical statistics, left to polars so they stay bit-identical
    (summation order decides the last bits of mean and std)."""
    fin = _finite(name)
    p = f"{name}\x00"
    return [fin.mean().alias(p + "mean"), fin.std(ddof=1).alias(p + "std")]


def _polars_quantile(f: np.ndarray, q: float) -> float:
    """``Series.quantile(q, "linear")`` of the sorted finite values ``f`` (non-empty), bit for
    bit: polars interpolates as ``(i - lo) * (hi_value - lo_value) + lo_value`` with
    ``i = (n - 1) * q``, which can differ from numpy's lerp in the last bit."""
    idx = (len(f) - 1) * q
    lo = min(int(idx), len(f) - 1)
    lower, upper = float(f[lo]), float(f[math.ceil(idx)])
    if lower == upper:
        return lower
    return (idx - lo) * (upper - lower) + lower


def _mixed_zeros(f: np.ndarray) -> bool:
    """Whether the sorted finite values hold both ``0.0`` and ``-0.0``: then which zero polars
    returns for min, max or a quantile depends on its own algorithm, so ask polars."""
    lo, hi = np.searchsorted(f, 0.0, "left"), np.searchsorted(f, 0.0, "right")
    if hi - lo < 2:
        return False
    signs = np.signbit(f[lo:hi])
    return bool(signs.any()) and not bool(signs.all())


def _sorted_stats(a: np.ndarray, ref: ColumnQualityReference | None) -> dict[str, Any]:
    """Counts, min, max, quantiles, unique counts and out-of-range count of one numerical
    column from its sorted float array (missing values as NaN at the end)."""
    n_neg = int(np.searchsorted(a, -np.inf, "right"))
    end_fin = int(np.searchsorted(a, np.inf, "left"))
    end_inf = int(np.searchsorted(a, np.inf, "right"))
    f = a[n_neg:end_fin]
    m = len(f)
    n_pos = end_inf - end_fin
    unique = 1 + int(np.count_nonzero(f[1:] != f[:-1])) if m else 0
    stats: dict[str, Any] = {
        "missing": len(a) - end_inf,
        "inf": n_neg + n_pos,
        "n_finite": m,
        "unique": unique,
        # ±inf are values too for "constant": count non-missing distinct values
        "distinct": unique + (n_pos > 0) + (n_neg > 0),
        "min": float(f[0]) if m else None,
        "max": float(f[-1]) if m else None,
        "mixed_zeros": m > 1 and _mixed_zeros(f),
    }
    for key, q in QUANTILES:
        stats[key] = _polars_quantile(f, q) if m else None
    if ref is not None and ref.min is not None and ref.max is not None:
        below = int(np.searchsorted(f, ref.min, "left"))
        above = m - int(np.searchsorted(f, ref.max, "right"))
        stats["out"] = below + above
    return stats


def _num_stats(
    current: pl.DataFrame,
    names: Sequence[str],
    refs: Mapping[str, ColumnQualityReference],
    presorted: Mapping[str, np.ndarray] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per numerical column statistics: two ``select``s over all the columns at once."""
    if not names:
        return {}
    arrays = dict(presorted or {})
    arrays.update(sort_numeric(current, [c for c in names if c not in arrays]))
    agg = current.select(e for c in names for e in _num_exprs(c)).row(0, named=True)
    out: dict[str, dict[str, Any]] = {}
    zeros: list[str] = []
    for c in names:
        st = _sorted_stats(arrays[c], refs.get(c))
        p = f"{c}\x00"
        st["mean"], st["std"] = agg[p + "mean"], agg[p + "std"]
        if st.pop("mixed_zeros"):
            zeros.append(c)
        out[c] = st
    if zeros:  # rare: both signed zeros present; let polars pick the zero as before
        exprs = [
            e
            for c in zeros
            for e in [
                _finite(c).min().alias(f"{c}\x00min"),
                _finite(c).max().alias(f"{c}\x00max"),
                *(_finite(c).quantile(q, "linear").alias(f"{c}\x00{k}") for k, q in QUANTILES),
            ]
        ]
        row = current.select(exprs).row(0, named=True)
        for c in zeros:
            for key in ("min", "max", *(k for k, _ in QUANTILES)):
                out[c][key] = row[f"{c}\x00{key}"]
    return out


def _cat_exprs(name: str) -> pl.Expr:
    """The distinct non-null values of a categorical column (as strings) with their counts:
    one hash per column, from which every categorical statistic follows."""
    counts = pl.col(name).cast(pl.String).drop_nulls().value_counts(name=f"{name}\x00n")
    return counts.implode().alias(name)


def _cat_stats(
    current: pl.DataFrame, names: Sequence[str], refs: Mapping[str, ColumnQualityReference]
) -> dict[str, dict[str, Any]]:
    if not names:
        return {}
    counts = current.select(_cat_exprs(c) for c in names)
    out: dict[str, dict[str, Any]] = {}
    for c in names:
        # an empty list explodes to one null row: drop it (the values themselves are non-null)
        vc = counts.get_column(c).explode().struct.unnest().drop_nulls()
        v, n = pl.col(c), pl.col(f"{c}\x00n")
        exprs = [
            n.sum().alias("non_missing"),
            pl.len().alias("unique"),
            # the mode; ties broken by the smallest value (was mode().sort().first())
            v.filter(n == n.max()).min().alias("top"),
            n.max().alias("top_count"),
        ]
        ref = refs.get(c)
        if ref is not None:
            known = v.is_in(pl.lit(pl.Series(list(ref.categories), dtype=pl.String)).implode())
            exprs += [
                known.not_().sum().alias("new"),
                n.filter(known.not_()).sum().alias("new_rows"),
                known.sum().alias("known_seen"),
            ]
        st = vc.select(exprs).row(0, named=True)
        st["missing"] = current.height - int(st.pop("non_missing"))
        out[c] = st
    return out


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
    presorted: Mapping[str, np.ndarray] | None = None,
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
    presorted
        :func:`evaluation.reference.sort_numeric` arrays of ``current`` already computed
        (the engine sorts a window's numerical columns once for drift and quality).

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
        _data_quality(current, schema, reference, columns, kinds, presorted)
    )
    return result


def _data_quality(
    current: pl.DataFrame,
    schema: DatasetSchema,
    reference: QualityReference | None,
    columns: Sequence[str] | None,
    kinds: Mapping[str, ColumnKind] | None,
    presorted: Mapping[str, np.ndarray] | None = None,
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
    refs: dict[str, ColumnQualityReference] = (
        {c: r for c in present if (r := reference.columns.get(c)) is not None}
        if reference is not None
        else {}
    )
    nums = [c for c in present if kind_of[c] == "num"]
    stats = _num_stats(current, nums, refs, presorted)
    stats.update(_cat_stats(current, [c for c in present if kind_of[c] != "num"], refs))
    n = current.height
    out_cols: dict[str, dict[str, Any]] = {}
    constant: list[str] = []
    empty: list[str] = []
    for c in names:
        ref_col = reference.columns.get(c) if reference is not None else None
        if c not in present:
            out_cols[c] = {"column_type": kind_of[c], "status": "absent", "number_of_rows": 0}
            continue
        col = _column_result(kind_of[c], n, stats[c], ref_col, reference is not None)
        out_cols[c] = col
        if col["status"] == "all_missing":
            empty.append(c)
        elif col.pop("_distinct") == 1:
            constant.append(c)
        col.pop("_distinct", None)
    duplicated = _duplicated_rows(current, present, kind_of, stats) if present and n else 0
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


def _duplicated_rows(
    current: pl.DataFrame,
    present: Sequence[str],
    kinds: Mapping[str, ColumnKind],
    stats: Mapping[str, Mapping[str, Any]],
) -> int:
    """Rows equal to an earlier row over ``present``: ``n - current.unique().height``, exact
    (polars ``unique`` compares the rows, not just their hashes).

    Shortcut: if a column's finite (numerical) or non-null (categorical) values are all
    distinct, a row holding one of them equals no other row, so only the other rows (usually
    a handful) can repeat each other and only they are compared. The statistics see values
    converted to floats or strings, a function of the raw value, so raw-equal values stay equal
    and "all distinct" holds for the raw values too.
    """
    n = current.height
    best, best_rest = None, n + 1
    for c in present:
        st = stats[c]
        if kinds[c] == "num":
            distinct, keyed = st["unique"], st["n_finite"]
        else:
            distinct, keyed = st["unique"], n - st["missing"]
        if distinct == keyed and n - keyed < best_rest:
            best, best_rest = c, n - keyed
    if best is None:
        return n - current.select(present).unique().height
    if best_rest <= 1:
        return 0
    if kinds[best] == "num":
        other = pl.col(best).cast(pl.Float64, strict=False).is_finite().fill_null(False).not_()
    else:
        other = pl.col(best).cast(pl.String).is_null()
    rest = current.select(present).filter(other)
    return rest.height - rest.unique().height


def _column_result(
    kind: ColumnKind,
    n: int,
    stats: Mapping[str, Any],
    ref_col: ColumnQualityReference | None,
    has_reference: bool,
) -> dict[str, Any]:
    missing = int(stats["missing"])
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
        n_fin = int(stats["n_finite"])
        col["number_of_infinite"] = int(stats["inf"])
        col["number_of_unique"] = int(stats["unique"])
        for key in ("min", "max", "mean", "std"):
            col[key] = _fnum(stats[key])
        for key, _ in QUANTILES:
            col[key] = _fnum(stats[key])
        if ref_col is not None and ref_col.min is not None and ref_col.max is not None:
            out = int(stats["out"])
            col["number_out_of_reference_range"] = out
            col["share_out_of_reference_range"] = _share(out, n_fin)
        elif has_reference:
            col["number_out_of_reference_range"] = None
            col["share_out_of_reference_range"] = None
        col["_distinct"] = int(stats["distinct"])
    else:
        uniq = int(stats["unique"])
        top_count = stats["top_count"]
        col["number_of_infinite"] = 0
        col["number_of_unique"] = uniq
        col["most_common"] = stats["top"]
        col["most_common_share"] = (
            _share(int(top_count), n - missing) if top_count is not None else None
        )
        if ref_col is not None:
            col["new_categories"] = int(stats["new"])
            col["new_category_share"] = _share(int(stats["new_rows"]), n - missing)
            col["unused_reference_categories"] = len(ref_col.categories) - int(stats["known_seen"])
        elif has_reference:
            col["new_categories"] = None
            col["new_category_share"] = None
            col["unused_reference_categories"] = None
        col["_distinct"] = uniq
    return col
