"""The fast data-quality path against the straightforward one it replaced.

``old_data_quality`` below is the previous implementation (one polars ``select`` of separate
aggregations per column, ``unique()`` over all rows for duplicates), kept as the oracle: the
new one must give the same keys and the same unrounded values, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
import pytest

from evaluation.quality import (
    QUANTILES,
    ColumnQualityReference,
    ColumnStatus,
    QualityReference,
    _data_quality,
    _fnum,
    _share,
    compute_data_quality,
    quality_columns,
    quality_kind,
)
from evaluation.schema import ColumnKind, DatasetSchema

# --- the previous implementation (the oracle) ------------------------------------------------


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


def old_data_quality(
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


# --- comparison -------------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")
SPECIALS = np.array([NAN, INF, -INF, 0.0, -0.0, 1e308, -1e308, 5e-324])


def _same(a: Any, b: Any) -> bool:
    """Equal keys and values; floats bit for bit (``-0.0`` vs ``0.0`` counts as different)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float):
        return isinstance(b, float) and a == b and math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b


def _num_column(rng: np.random.Generator, rows: int) -> pl.Series:
    style = rng.integers(0, 6)
    if style == 0:
        x = rng.normal(0, 10, rows)
    elif style == 1:  # few distinct values: ties in quantiles, duplicated rows
        x = rng.integers(-2, 3, rows).astype(float) * 0.5
    elif style == 2:  # constant
        x = np.full(rows, 3.25)
    elif style == 3:  # specials everywhere, signed zeros included
        x = rng.choice(np.concatenate([SPECIALS, [1.5, -2.0]]), rows)
    elif style == 4:  # huge magnitudes (interpolation overflows)
        x = rng.normal(0, 1, rows) * 10.0 ** rng.integers(-300, 300)
    else:
        x = rng.normal(5, 1, rows)
        if rows:
            x[rng.integers(0, rows, max(rows // 5, 1))] = rng.choice(SPECIALS)
    values: list[float | None] = list(x)
    for i in np.flatnonzero(rng.random(rows) < rng.choice([0.0, 0.1, 0.5])):
        values[i] = None
    return pl.Series(values, dtype=pl.Float64)


def _cat_column(rng: np.random.Generator, rows: int) -> pl.Series:
    levels = rng.choice(["a", "b", "zz", "é", "B", "", "10", "9"], int(rng.integers(1, 6)))
    values: list[str | None] = list(rng.choice(levels, rows))
    for i in np.flatnonzero(rng.random(rows) < rng.choice([0.0, 0.2, 0.9])):
        values[i] = None
    return pl.Series(values, dtype=pl.String)


def _frame(rng: np.random.Generator, rows: int, n_num: int = 3, n_cat: int = 2) -> pl.DataFrame:
    cols: dict[str, pl.Series] = {}
    for i in range(n_num):
        cols[f"x{i}"] = _num_column(rng, rows)
    for j in range(n_cat):
        cols[f"c{j}"] = _cat_column(rng, rows)
    cols["empty"] = pl.Series([None] * rows, dtype=pl.Float64)
    cols["ints"] = pl.Series(rng.integers(0, 3, rows), dtype=pl.Int64)
    cols["flag"] = pl.Series(rng.random(rows) < 0.5, dtype=pl.Boolean)
    cols["level"] = _cat_column(rng, rows).cast(pl.Categorical)
    df = pl.DataFrame(cols)
    if rows and rng.random() < 0.4:  # repeat whole rows
        df = df[rng.integers(0, rows, rows).tolist()]
    return df


def _schema(df: pl.DataFrame) -> DatasetSchema:
    num = tuple(c for c in df.columns if c.startswith("x") or c in ("empty", "ints"))
    return DatasetSchema(numerical=num, categorical=tuple(c for c in df.columns if c not in num))


def _pairs(
    ref_df: pl.DataFrame, cur: pl.DataFrame, schema: DatasetSchema
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(new, old) results: the reference on its own, then the window without and with the
    fitted reference."""
    qref = QualityReference.fit(ref_df, schema)
    pairs = [
        (
            _data_quality(ref_df, schema, None, None, None),
            old_data_quality(ref_df, schema, None, None, None),
        )
    ]
    for reference in (None, qref):
        pairs.append(
            (
                _data_quality(cur, schema, reference, None, None),
                old_data_quality(cur, schema, reference, None, None),
            )
        )
    return pairs


def _mismatches(ref_df: pl.DataFrame, cur: pl.DataFrame, schema: DatasetSchema) -> list[Any]:
    """The (new, old) pairs that differ; an empty list means bit-identical results."""
    return [(new, old) for new, old in _pairs(ref_df, cur, schema) if not _same(new, old)]


@pytest.mark.parametrize("seed", range(150))
def test_matches_the_previous_implementation_on_random_frames(seed):
    rng = np.random.default_rng(seed)
    n_num, n_cat = int(rng.integers(1, 6)), int(rng.integers(0, 3))
    ref = _frame(rng, int(rng.choice([0, 1, 2, 7, 60, 400])), n_num, n_cat)
    cur = _frame(rng, int(rng.choice([0, 1, 2, 7, 60, 400])), n_num, n_cat)
    assert _mismatches(ref, cur, _schema(ref)) == []


def test_matches_on_a_window_missing_a_column_and_with_text_in_a_numerical_column():
    rng = np.random.default_rng(7)
    ref = _frame(rng, 50)
    cur = _frame(rng, 50)
    cur = cur.drop("empty").with_columns(pl.col("ints").cast(pl.String).replace("2", "oops"))
    assert _mismatches(ref, cur, _schema(ref)) == []
    new_window = _pairs(ref, cur, _schema(ref))[1][0]
    assert new_window["columns"]["empty"]["status"] == "absent"


def test_signed_zeros_are_reported_as_polars_reports_them():
    for values in ([0.0, -0.0, 1.0], [-0.0, 0.0, -1.0, 0.0], [-0.0, -0.0, 0.0], [0.0, -0.0]):
        df = pl.DataFrame({"x": values})
        schema = DatasetSchema(numerical=("x",), categorical=())
        assert _mismatches(df, df.reverse(), schema) == [], values


def test_duplicated_rows_with_all_distinct_column_and_repeated_missing_rows():
    df = pl.DataFrame(
        {
            "x": [1.0, 2.0, None, None, NAN, NAN, INF, INF, 3.0],
            "c": ["a", "a", "b", "b", "b", "b", "c", "d", "a"],
        }
    )
    schema = DatasetSchema(numerical=("x",), categorical=("c",))
    # rows 3 (null, b), 5 (NaN, b) repeat rows 2 and 4; the two inf rows differ in c
    assert compute_data_quality(df, schema)["number_of_duplicated_rows"] == 2
    assert _mismatches(df, df, schema) == []


def test_empty_frames_and_schema_columns_absent_everywhere():
    schema = DatasetSchema(numerical=("x", "gone"), categorical=("c",))
    df = pl.DataFrame({"x": [], "c": []}, schema={"x": pl.Float64, "c": pl.String})
    assert _mismatches(df, df, schema) == []
    one = pl.DataFrame({"x": [None], "c": [None]}, schema={"x": pl.Float64, "c": pl.String})
    assert _mismatches(one, df, schema) == []
    assert _mismatches(df, one, schema) == []
    empty_result = _pairs(df, df, schema)[0][0]
    assert empty_result["number_of_rows"] == 0
    assert empty_result["columns"]["gone"]["status"] == "absent"


def test_uses_quality_columns_and_kinds_like_before():
    df = pl.DataFrame({"f": [1.0, 2.0, 2.0], "target": [0, 1, 1], "prediction": ["a", "b", "b"]})
    schema = DatasetSchema.infer(df)
    assert quality_columns(schema) == ("f", "target", "prediction")
    assert quality_kind(schema, "prediction", pl.String) == "cat"
    kinds: Mapping[str, ColumnKind] = {"target": "cat"}
    assert _same(
        _data_quality(df, schema, None, None, kinds),
        old_data_quality(df, schema, None, None, kinds),
    )
    cols: Sequence[str] = ("f",)
    assert _same(
        _data_quality(df, schema, None, cols, None), old_data_quality(df, schema, None, cols, None)
    )
