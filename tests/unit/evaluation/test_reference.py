"""The reference profile: cleaning, precomputed statistics and the content hash."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from evaluation.errors import DriftInputError
from evaluation.reference import ReferenceProfile, clean_column, content_hash
from evaluation.schema import DatasetSchema


@pytest.fixture
def ref() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": ["e1", "e2", "e3", "e4", "e5"],
            "x": [3.0, math.inf, None, 1.0, math.nan],
            "n": [5, 1, 3, 3, None],
            "c": ["b", "a", None, "b", "b"],
            "target": [0, 1, 0, 1, 1],
            "prediction": [0.1, 0.8, 0.3, 0.6, 0.9],
        }
    )


def test_profile_cleans_each_column(ref: pl.DataFrame) -> None:
    p = ReferenceProfile.fit(ref, DatasetSchema.infer(ref))
    x = p.columns["x"]
    assert x.values.tolist() == [1.0, 3.0]  # sorted float64, inf/null/NaN removed
    assert (x.n_rows, x.n_missing, x.n_inf, x.n_valid) == (5, 3, 1, 2)
    assert x.std == pytest.approx(1.0)  # population std (ddof = 0) of [1, 3]
    assert p.columns["n"].unique.tolist() == [1.0, 3.0, 5.0]
    c = p.columns["c"]
    assert (c.kind, c.counts, c.n_missing) == ("cat", {"b": 3, "a": 1}, 1)
    assert p.n_rows == 5


def test_profile_keeps_the_schema_frame_with_target_and_prediction(ref: pl.DataFrame) -> None:
    p = ReferenceProfile.fit(ref, DatasetSchema.infer(ref))
    assert p.frame.columns == ["target", "prediction", "x", "n", "c"]
    assert "event_id" not in p.columns


def test_render_histogram_is_precomputed_on_reference_range() -> None:
    df = pl.DataFrame({"x": np.arange(100.0)})
    col = ReferenceProfile.fit(df, DatasetSchema.infer(df)).columns["x"]
    assert col.render_edges[0] == 0.0
    assert col.render_edges[-1] == 99.0
    assert col.render_counts.sum() == 100
    assert col.quantile_edges.size == 9


def test_reference_id_is_a_stable_content_hash(ref: pl.DataFrame) -> None:
    schema = DatasetSchema.infer(ref)
    a = ReferenceProfile.fit(ref, schema).reference_id
    assert a == content_hash(ref.clone())
    assert len(a) == 64
    int(a, 16)
    # independent of the schema, sensitive to any value, name or dtype
    assert a == ReferenceProfile.fit(ref, DatasetSchema.infer(ref, target=None)).reference_id
    assert a != content_hash(ref.with_columns(pl.lit(4.0).alias("x")))
    assert a != content_hash(ref.rename({"x": "y"}))
    assert a != content_hash(ref.with_columns(pl.col("n").cast(pl.Float64)))


def test_reference_id_pins_a_known_value() -> None:
    # the hash format is part of the contract: snapshot ids derive from it
    df = pl.DataFrame({"a": [1.0, None], "b": ["x", None], "i": [1, 2]})
    # value computed once by driftsnap's content_hash (format driftsnap-reference-v1)
    assert content_hash(df) == "b49916f2f8c13a9821864380a8401abca78ab9868e6fa12fdd5815d9703fe46f"
    assert content_hash(df) == content_hash(pl.DataFrame(df.to_dict()))
    assert content_hash(df) != content_hash(df.select("b", "a", "i"))


def test_clean_column_rejects_text_in_a_numerical_column() -> None:
    with pytest.raises(DriftInputError, match="numerical in the schema"):
        clean_column(pl.Series("x", ["1", "2"]), "num")


def test_categorical_float_column_drops_nan_and_inf() -> None:
    c = clean_column(pl.Series("f", [1.0, math.nan, math.inf, 1.0, None]), "cat")
    assert (c.counts, c.n_missing, c.n_inf) == ({1.0: 2}, 3, 1)
