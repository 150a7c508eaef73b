"""Data quality: per-column and per-dataset statistics, pinned on tiny hand-computed frames."""

from __future__ import annotations

import math

import polars as pl
import pytest

from evaluation.quality import QualityReference, compute_data_quality
from evaluation.schema import DatasetSchema

INF = float("inf")
NAN = float("nan")


@pytest.fixture
def reference() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, None, NAN],
            "city": ["a", "b", "a", None, "c"],
            "k": [7, 7, 7, 7, 7],
        }
    )


@pytest.fixture
def schema(reference: pl.DataFrame) -> DatasetSchema:
    return DatasetSchema.infer(reference)


def test_reference_fit_keeps_range_categories_and_flags(reference, schema):
    ref = QualityReference.fit(reference, schema)
    # finite x values are 1, 2, 3; null and NaN are both missing: 2/5
    assert ref.columns["x"].min == 1.0
    assert ref.columns["x"].max == 3.0
    assert ref.columns["x"].missing_share == pytest.approx(0.4)
    # numpy.quantile([1, 2, 3], [.25, .5, .75]) == [1.5, 2.0, 2.5]
    assert ref.columns["x"].quantiles == (1.5, 2.0, 2.5)
    assert ref.columns["city"].categories == ("a", "b", "c")
    assert ref.columns["k"].constant
    assert not ref.columns["x"].constant


def test_numerical_column_statistics_are_hand_computed(reference, schema):
    cur = pl.DataFrame({"x": [0.5, 2.0, INF, 4.0, None], "city": ["a"] * 5, "k": [7, 8, 7, 7, 7]})
    res = compute_data_quality(cur, schema, QualityReference.fit(reference, schema))
    x = res["columns"]["x"]
    assert x["status"] == "ok"
    assert x["number_of_rows"] == 5
    assert x["number_of_missing"] == 1  # the null; inf is counted apart
    assert x["missing_share"] == pytest.approx(0.2)
    assert x["number_of_infinite"] == 1
    # finite values 0.5, 2, 4: mean 6.5/3; sample std sqrt(((0.5-m)^2+(2-m)^2+(4-m)^2)/2)
    m = 6.5 / 3
    assert x["mean"] == pytest.approx(m)
    assert x["std"] == pytest.approx(math.sqrt(((0.5 - m) ** 2 + (2 - m) ** 2 + (4 - m) ** 2) / 2))
    assert (x["min"], x["max"]) == (0.5, 4.0)
    # numpy.quantile([0.5, 2, 4], [.25, .5, .75]) == [1.25, 2.0, 3.0]
    assert (x["p25"], x["p50"], x["p75"]) == (1.25, 2.0, 3.0)
    # 0.5 < 1 and 4 > 3 are outside the reference range [1, 3]: 2 of 3 finite values
    assert x["number_out_of_reference_range"] == 2
    assert x["share_out_of_reference_range"] == pytest.approx(2 / 3)


def test_categorical_column_counts_new_and_unused_categories(reference, schema):
    cur = pl.DataFrame({"x": [1.0] * 5, "city": ["a", "w", "w", None, None], "k": [7] * 5})
    res = compute_data_quality(cur, schema, QualityReference.fit(reference, schema))
    city = res["columns"]["city"]
    assert city["number_of_missing"] == 2
    assert city["number_of_unique"] == 2  # a, w
    assert city["most_common"] == "w"
    assert city["most_common_share"] == pytest.approx(2 / 3)  # of the 3 non-missing values
    assert city["new_categories"] == 1  # w
    assert city["new_category_share"] == pytest.approx(2 / 3)  # two rows hold "w"
    assert city["unused_reference_categories"] == 2  # b and c


def test_most_common_tie_is_broken_by_smallest_value(schema):
    cur = pl.DataFrame({"x": [1.0] * 4, "city": ["z", "b", "b", "z"], "k": [1] * 4})
    res = compute_data_quality(cur, schema)
    assert res["columns"]["city"]["most_common"] == "b"


def test_dataset_counts_duplicates_constant_and_empty_columns(schema):
    cur = pl.DataFrame(
        {
            "x": [None, None, None, None],
            "city": ["a", "a", "b", "a"],
            "k": [1, 1, 1, 1],
        },
        schema={"x": pl.Float64, "city": pl.String, "k": pl.Int64},
    )
    res = compute_data_quality(cur, schema)
    assert res["number_of_rows"] == 4
    assert res["number_of_columns"] == 3
    # rows 0, 1, 3 are equal: two of them repeat an earlier row (pandas duplicated().sum())
    assert res["number_of_duplicated_rows"] == 2
    assert res["constant_columns"] == ["k"]
    assert res["empty_columns"] == ["x"]
    assert res["columns"]["x"]["status"] == "all_missing"
    assert res["columns"]["x"]["mean"] is None


def test_column_absent_from_window_has_explicit_status(reference, schema):
    cur = pl.DataFrame({"city": ["a"], "k": [7]})
    res = compute_data_quality(cur, schema, QualityReference.fit(reference, schema))
    assert res["columns"]["x"] == {"column_type": "num", "status": "absent", "number_of_rows": 0}
    assert res["number_of_absent_columns"] == 1
    assert res["number_of_columns"] == 2


def test_empty_window_gives_no_rows_status_and_null_statistics(reference, schema):
    res = compute_data_quality(reference.head(0), schema, QualityReference.fit(reference, schema))
    assert res["number_of_rows"] == 0
    assert res["number_of_duplicated_rows"] == 0
    for col in res["columns"].values():
        assert col["status"] == "no_rows"
        assert col["missing_share"] is None
    assert res["constant_columns"] == []
    assert res["empty_columns"] == []


def test_reference_relative_fields_are_absent_without_reference(schema):
    cur = pl.DataFrame({"x": [1.0], "city": ["a"], "k": [1]})
    res = compute_data_quality(cur, schema)
    assert "share_out_of_reference_range" not in res["columns"]["x"]
    assert "new_categories" not in res["columns"]["city"]


def test_target_and_prediction_are_described_too():
    df = pl.DataFrame({"f": [1.0, 2.0], "target": [0, 1], "prediction": [1, 1]})
    res = compute_data_quality(df, DatasetSchema.infer(df))
    assert set(res["columns"]) == {"f", "target", "prediction"}
    assert res["columns"]["prediction"]["min"] == 1.0


def test_numerical_reference_column_with_text_in_window_counts_unparseable_as_missing(
    reference, schema
):
    cur = pl.DataFrame({"x": ["1.5", "oops", None], "city": ["a"] * 3, "k": [7] * 3})
    res = compute_data_quality(cur, schema, QualityReference.fit(reference, schema))
    assert res["columns"]["x"]["number_of_missing"] == 2
    assert res["columns"]["x"]["mean"] == 1.5


def test_boolean_feature_is_categorical():
    df = pl.DataFrame({"flag": [True, False, True]})
    res = compute_data_quality(df, DatasetSchema.infer(df))
    assert res["columns"]["flag"]["column_type"] == "cat"
    assert res["columns"]["flag"]["most_common"] == "true"
