"""Model quality, pinned against scikit-learn (the oracle; never imported at run time)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from evaluation.model_quality import (
    ModelQualityError,
    ModelQualityOptions,
    compute_model_quality,
    labelled_rows,
)
from evaluation.schema import DatasetSchema

RNG = np.random.default_rng(7)


def _schema(df: pl.DataFrame, **kw) -> DatasetSchema:
    return DatasetSchema.infer(df, **kw)


def test_binary_labels_match_sklearn():
    y = RNG.integers(0, 2, 300)
    p = np.where(RNG.random(300) < 0.8, y, 1 - y)
    df = pl.DataFrame({"f": RNG.random(300), "target": y, "prediction": p})
    res = compute_model_quality(df, _schema(df, task="classification"))
    assert res is not None
    assert res["prediction_type"] == "labels"
    assert res["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
    assert res["precision"] == pytest.approx(skm.precision_score(y, p))
    assert res["recall"] == pytest.approx(skm.recall_score(y, p))
    assert res["f1"] == pytest.approx(skm.f1_score(y, p))
    assert res["labels"] == [0, 1]
    assert res["confusion_matrix"] == skm.confusion_matrix(y, p).tolist()
    assert res["pos_label"] == 1
    assert "roc_auc" not in res


def test_binary_string_labels_with_configured_pos_label():
    y = np.array(["spam", "ham", "spam", "ham", "ham", "spam"])
    p = np.array(["spam", "spam", "ham", "ham", "ham", "spam"])
    df = pl.DataFrame({"target": y, "prediction": p})
    opts = ModelQualityOptions(pos_label="ham")
    res = compute_model_quality(df, _schema(df, task="classification"), opts)
    assert res is not None
    assert res["precision"] == pytest.approx(skm.precision_score(y, p, pos_label="ham"))
    assert res["recall"] == pytest.approx(skm.recall_score(y, p, pos_label="ham"))
    assert res["f1"] == pytest.approx(skm.f1_score(y, p, pos_label="ham"))


def test_binary_probabilities_give_auc_and_log_loss_like_sklearn():
    y = RNG.integers(0, 2, 400)
    score = np.clip(0.3 * y + 0.7 * RNG.random(400), 0, 1)
    score[:20] = 0.5  # ties: AUC uses mid-ranks like sklearn's trapezoids
    df = pl.DataFrame({"target": y, "prediction": score})
    res = compute_model_quality(df, _schema(df, task="classification"))
    assert res is not None
    assert res["prediction_type"] == "probabilities"
    assert res["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score), rel=1e-12)
    assert res["log_loss"] == pytest.approx(skm.log_loss(y, score), rel=1e-9)
    labels = (score >= 0.5).astype(int)
    assert res["accuracy"] == pytest.approx(skm.accuracy_score(y, labels))
    assert res["f1"] == pytest.approx(skm.f1_score(y, labels))


def test_multiclass_labels_macro_average_like_sklearn():
    y = RNG.integers(0, 4, 500)
    p = np.where(RNG.random(500) < 0.6, y, RNG.integers(0, 4, 500))
    df = pl.DataFrame({"target": y, "prediction": p})
    res = compute_model_quality(df, _schema(df))
    assert res is not None
    assert res["average"] == "macro"
    assert res["precision"] == pytest.approx(skm.precision_score(y, p, average="macro"))
    assert res["recall"] == pytest.approx(skm.recall_score(y, p, average="macro"))
    assert res["f1"] == pytest.approx(skm.f1_score(y, p, average="macro"))
    assert res["confusion_matrix"] == skm.confusion_matrix(y, p).tolist()


def test_multiclass_probability_columns_like_sklearn():
    classes = ["a", "b", "c"]
    y = RNG.choice(classes, 300)
    raw = RNG.random((300, 3)) + np.eye(3)[[classes.index(v) for v in y]]
    probas = raw / raw.sum(axis=1, keepdims=True)
    df = pl.DataFrame({"target": y, **{c: probas[:, i] for i, c in enumerate(classes)}})
    schema = _schema(df, prediction=None, prediction_probas=classes)
    res = compute_model_quality(df, schema)
    assert res is not None
    pred = np.array(classes)[probas.argmax(axis=1)]
    assert res["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert res["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert res["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, probas, multi_class="ovr", average="macro", labels=classes)
    )
    assert res["log_loss"] == pytest.approx(skm.log_loss(y, probas, labels=classes), rel=1e-9)


def test_regression_matches_sklearn_and_handles_zero_targets():
    y = RNG.normal(10, 3, 200)
    y[:5] = 0.0
    p = y + RNG.normal(0, 1, 200)
    df = pl.DataFrame({"target": y, "prediction": p})
    res = compute_model_quality(df, _schema(df, task="regression"))
    assert res is not None
    assert res["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert res["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert res["r2"] == pytest.approx(skm.r2_score(y, p))
    assert res["mean_error"] == pytest.approx(np.mean(p - y))
    # MAPE leaves the 5 zero targets out (sklearn would divide by machine epsilon)
    nz = y != 0
    assert res["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y[nz], p[nz]))
    assert res["mape_zero_targets"] == 5


def test_regression_all_zero_targets_and_constant_target_are_explicit():
    df = pl.DataFrame({"target": [0.0, 0.0, 0.0], "prediction": [0.5, 0.1, 0.0]})
    res = compute_model_quality(df, _schema(df, task="regression"))
    assert res is not None
    assert res["mape"] is None
    assert res["r2"] is None
    assert res["r2_status"] == "constant_target"


def test_rows_missing_target_or_prediction_are_excluded_and_counted():
    df = pl.DataFrame(
        {
            "target": [1.0, None, 3.0, 4.0, float("nan"), 6.0],
            "prediction": [1.0, 2.0, None, 4.5, 5.0, 6.5],
        }
    )
    schema = _schema(df, task="regression")
    res = compute_model_quality(df, schema)
    assert res is not None
    assert res["number_of_rows"] == 6
    assert res["number_of_used_rows"] == 3
    assert res["number_of_excluded_rows"] == 3
    # used rows (1, 1), (4, 4.5), (6, 6.5): MAE = (0 + 0.5 + 0.5) / 3
    assert res["mae"] == pytest.approx(1 / 3)
    assert labelled_rows(df, schema) == 3


def test_nothing_to_score_returns_none():
    df = pl.DataFrame(
        {"target": [None, None], "prediction": [1, 0]}, schema_overrides={"target": pl.Int64}
    )
    schema = DatasetSchema.infer(df, task="classification")
    assert compute_model_quality(df, schema) is None
    assert compute_model_quality(df.drop("target"), schema) is None
    no_task = DatasetSchema.infer(pl.DataFrame({"f": [1.0]}))
    assert compute_model_quality(pl.DataFrame({"f": [1.0]}), no_task) is None


def test_known_reference_labels_keep_the_confusion_matrix_shape():
    df = pl.DataFrame({"target": [0, 0, 1], "prediction": [0, 1, 1]})
    res = compute_model_quality(df, _schema(df, task="classification"), labels=[0, 1, 2])
    assert res is not None
    assert res["labels"] == [0, 1, 2]
    assert res["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    # macro over labels present in target or prediction (0, 1), as sklearn does by default
    assert res["f1"] == pytest.approx(skm.f1_score([0, 0, 1], [0, 1, 1], average="macro"))


def test_single_class_window_has_no_auc_but_a_status():
    df = pl.DataFrame({"target": [1, 1, 1], "prediction": [0.9, 0.2, 0.7]})
    res = compute_model_quality(df, _schema(df, task="classification"))
    assert res is not None
    assert res["roc_auc"] is None
    assert res["roc_auc_status"] == "single_class"


def test_no_positive_predictions_gives_zero_precision_like_sklearn_zero_division_0():
    y, p = [1, 0, 1], [0, 0, 0]
    df = pl.DataFrame({"target": y, "prediction": p})
    res = compute_model_quality(df, _schema(df, task="classification"))
    assert res is not None
    assert res["precision"] == skm.precision_score(y, p, zero_division=0) == 0.0


def test_unknown_pos_label_is_a_clear_error():
    df = pl.DataFrame({"target": [0, 1], "prediction": [0, 1]})
    with pytest.raises(ModelQualityError, match="pos_label 'yes'"):
        compute_model_quality(
            df, _schema(df, task="classification"), ModelQualityOptions(pos_label="yes")
        )
