"""The engine sorts a window's numerical columns once and shares the arrays between drift and
data quality: both must give exactly what they give when they sort for themselves."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from evaluation.drift import DriftOptions, compute_data_drift
from evaluation.quality import QualityReference, compute_data_quality
from evaluation.reference import ReferenceProfile, clean_column, clean_sorted, sort_numeric
from evaluation.schema import DatasetSchema


def frame(seed: int, rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, rows)
    x[rng.random(rows) < 0.1] = np.nan
    x[rng.random(rows) < 0.05] = np.inf
    x[rng.random(rows) < 0.05] = -np.inf
    zeros = rng.choice([0.0, -0.0, 1.0], rows)
    ints = pl.Series(rng.integers(0, 4, rows), dtype=pl.Int64)
    with_nulls = pl.Series(np.round(rng.normal(5, 2, rows), 2)).scatter(
        list(range(0, rows, 7)), None
    )
    cat = rng.choice(["a", "b", "c"], rows)
    return pl.DataFrame(
        {"x": x, "zeros": zeros, "ints": ints, "n": with_nulls, "flag": x > 0, "cat": cat}
    )


SCHEMA = DatasetSchema(numerical=("x", "zeros", "ints", "n", "flag"), categorical=("cat",))
NUMERICAL = ["x", "zeros", "ints", "n", "flag"]


@pytest.mark.parametrize("seed", range(20))
def test_drift_and_quality_are_identical_with_the_shared_sort(seed: int) -> None:
    ref, cur = (
        frame(seed, 300),
        frame(seed + 1000, int(np.random.default_rng(seed).integers(0, 400))),
    )
    profile = ReferenceProfile.fit(ref, SCHEMA)
    presorted = sort_numeric(cur, NUMERICAL)
    methods = (None, "psi", "ks", "wasserstein", "anderson")
    for options in (DriftOptions(num_stattest=m) for m in methods):
        alone = compute_data_drift(profile, cur, options)
        shared = compute_data_drift(profile, cur, options, presorted=presorted)
        assert shared == alone
    qref = QualityReference.fit(ref, SCHEMA)
    alone_q = compute_data_quality(cur, SCHEMA, qref)
    shared_q = compute_data_quality(cur, SCHEMA, qref, presorted=presorted)
    assert repr(shared_q) == repr(alone_q)  # repr: NaN-safe and tells -0.0 from 0.0


def test_clean_sorted_is_clean_column_without_a_second_sort() -> None:
    cur = frame(3, 500)
    for name in NUMERICAL:
        a, b = (
            clean_sorted(sort_numeric(cur, [name])[name], cur[name].dtype.is_integer()),
            (clean_column(cur[name], "num")),
        )
        assert (a.n_rows, a.n_missing, a.n_inf, a.integer) == (
            b.n_rows,
            b.n_missing,
            b.n_inf,
            b.integer,
        )
        assert np.array_equal(a.values, b.values)
        assert all(math.isfinite(v) for v in a.values)
