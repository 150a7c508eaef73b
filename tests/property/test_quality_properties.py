"""Data-quality invariants (Hypothesis), checked against brute-force polars/python oracles."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.quality import QualityReference, compute_data_quality
from evaluation.schema import DatasetSchema

SCHEMA = DatasetSchema(numerical=("x",), categorical=("c",))
FLOATS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=64, min_value=None, max_value=None),
    st.floats(min_value=-1e6, max_value=1e6),
)
CATS = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))
ROWS = st.lists(st.tuples(FLOATS, CATS), max_size=40)


def _frame(rows: list[tuple[float | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"x": [r[0] for r in rows], "c": [r[1] for r in rows]},
        schema={"x": pl.Float64, "c": pl.String},
    )


def same_except_float_rounding(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal, with floats compared to 1e-8 relative: summation order may change the last
    bits of mean and std (and so their 9-digit rounding)."""
    if a.keys() != b.keys():
        return False
    for k, va in a.items():
        vb = b[k]
        if isinstance(va, dict):
            if not same_except_float_rounding(va, vb):
                return False
        elif isinstance(va, float) and isinstance(vb, float):
            if va != pytest.approx(vb, rel=1e-8, abs=1e-12):
                return False
        elif va != vb:
            return False
    return True


@settings(max_examples=60, deadline=None)
@given(ref=ROWS, cur=ROWS, seed=st.randoms(use_true_random=False))
def test_row_order_does_not_matter(ref, cur, seed):
    qref = QualityReference.fit(_frame(ref), SCHEMA)
    shuffled = list(cur)
    seed.shuffle(shuffled)
    a = compute_data_quality(_frame(cur), SCHEMA, qref)
    b = compute_data_quality(_frame(shuffled), SCHEMA, qref)
    assert same_except_float_rounding(a, b)


@settings(max_examples=60, deadline=None)
@given(ref=ROWS, cur=ROWS)
def test_shares_are_in_unit_interval_and_counts_add_up(ref, cur):
    res = compute_data_quality(_frame(cur), SCHEMA, QualityReference.fit(_frame(ref), SCHEMA))
    n = len(cur)
    for col in res["columns"].values():
        for key in ("missing_share", "share_out_of_reference_range", "most_common_share"):
            share = col.get(key)
            assert share is None or 0.0 <= share <= 1.0
        assert col["number_of_missing"] + col["number_of_infinite"] <= n
    # brute-force oracle: missing = None or NaN; infinite counted apart
    xs = [r[0] for r in cur]
    missing = sum(v is None or math.isnan(v) for v in xs)
    assert res["columns"]["x"]["number_of_missing"] == missing
    assert res["columns"]["x"]["number_of_infinite"] == sum(
        v is not None and math.isinf(v) for v in xs
    )
    assert 0 <= res["number_of_duplicated_rows"] <= max(n - 1, 0)


@settings(max_examples=40, deadline=None)
@given(rows=ROWS)
def test_a_sample_against_itself_has_nothing_new_or_out_of_range(rows):
    df = _frame(rows)
    res = compute_data_quality(df, SCHEMA, QualityReference.fit(df, SCHEMA))
    x, c = res["columns"]["x"], res["columns"]["c"]
    assert x["share_out_of_reference_range"] in (None, 0.0)
    assert c["new_categories"] in (None, 0)
    assert c["unused_reference_categories"] == 0
