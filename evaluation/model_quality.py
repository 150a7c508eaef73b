"""Model quality of a window when target and prediction are present.

Classification (binary or multiclass; predictions as labels or as probabilities):
accuracy, precision, recall and F1 (binary: for ``pos_label``; multiclass: macro average over the
labels present in target or prediction, scikit-learn's default), ROC AUC and log loss when
probabilities are given, and the confusion matrix (rows = true label, columns = predicted label,
in the order of ``labels``). A division by zero in precision/recall/F1 gives ``0.0``
(scikit-learn's ``zero_division=0``).

Regression: MAE, RMSE, MAPE (a fraction, as scikit-learn; rows whose target is 0 are left out of
MAPE and counted in ``mape_zero_targets``, since their percentage error is undefined), R²
(``None`` with ``r2_status="constant_target"`` when the target does not vary) and mean error
``mean(prediction - target)``.

Rows whose target or prediction is missing (null, NaN or ±inf) are excluded and counted in
``number_of_excluded_rows``. Pure numpy/polars: scikit-learn is only the tests' oracle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from evaluation.errors import EvaluationError
from evaluation.schema import DatasetSchema, Task

PredictionType = Literal["labels", "probabilities"]
_EPS = float(np.finfo(np.float64).eps)


class ModelQualityError(EvaluationError):
    """Target/prediction columns cannot be scored as configured."""


@dataclass(frozen=True, slots=True)
class ModelQualityOptions:
    """How to score predictions.

    ``task`` overrides the schema's; ``pos_label`` is the positive class of a binary task
    (default: ``1``/``True`` when it is a label, else the largest label); a binary
    probability is turned into a label with ``probability >= probability_threshold``.
    ``prediction_type`` forces labels or probabilities (default: probabilities when the
    prediction column is a float column within ``[0, 1]`` that is not made of the labels).
    """

    task: Task | None = None
    pos_label: str | int | bool | None = None
    probability_threshold: float = 0.5
    prediction_type: PredictionType | None = None

    def as_params(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "pos_label": self.pos_label,
            "probability_threshold": self.probability_threshold,
            "prediction_type": self.prediction_type,
        }


def _missing(name: str, dtype: pl.DataType) -> pl.Expr:
    e = pl.col(name).is_null()
    if dtype.is_float():
        e = e | ~pl.col(name).is_finite()
    return e


def labelled_rows(df: pl.DataFrame, schema: DatasetSchema) -> int:
    """Rows with both a target and a prediction (0 when either column is absent)."""
    cols = _score_columns(schema)
    if not cols or any(c not in df.columns for c in cols):
        return 0
    mask = pl.lit(False)
    for c in cols:
        mask = mask | _missing(c, df.schema[c])
    return int(df.select((~mask).sum()).item())


def resolve_task(schema: DatasetSchema, options: ModelQualityOptions) -> Task | None:
    """The task to score: the option, else the schema's; per-class probability columns with a
    target mean classification."""
    if schema.target is None:
        return None
    if options.task is not None:
        return options.task
    if schema.task is None and schema.prediction_probas:
        return "classification"
    return schema.task


def _score_columns(schema: DatasetSchema) -> list[str]:
    if schema.target is None:
        return []
    preds = list(schema.prediction_probas) or ([schema.prediction] if schema.prediction else [])
    return [schema.target, *preds] if preds else []


def compute_model_quality(
    current: pl.DataFrame,
    schema: DatasetSchema,
    options: ModelQualityOptions | None = None,
    *,
    labels: Sequence[Any] = (),
) -> dict[str, Any] | None:
    """The ``model_quality`` metric result, or ``None`` when nothing can be scored.

    ``labels`` are class labels known beforehand (the reference's): they join the confusion
    matrix even when this window does not contain them, keeping its shape stable.
    Returns ``None`` when the task is unknown, a target/prediction column is absent, or no row
    has both a target and a prediction.
    """
    options = options or ModelQualityOptions()
    task = resolve_task(schema, options)
    cols = _score_columns(schema)
    if task is None or not cols or any(c not in current.columns for c in cols):
        return None
    mask = pl.lit(False)
    for c in cols:
        mask = mask | _missing(c, current.schema[c])
    used = current.filter(~mask).select(cols)
    base = {
        "task": task,
        "number_of_rows": current.height,
        "number_of_used_rows": used.height,
        "number_of_excluded_rows": current.height - used.height,
    }
    if used.height == 0:
        return None
    if task == "regression":
        return base | regression_quality(
            _floats(used[cols[0]], cols[0]), _floats(used[cols[1]], cols[1])
        )
    return base | _classification(used, schema, options, labels)


def _floats(s: pl.Series, name: str) -> NDArray[np.float64]:
    if not (s.dtype.is_numeric() or s.dtype == pl.Boolean):
        msg = f"column {name!r} has dtype {s.dtype}; regression needs numeric target/prediction"
        raise ModelQualityError(msg)
    return s.cast(pl.Float64).to_numpy()


def _fin(x: float) -> float | None:
    return x if math.isfinite(x) else None


def regression_quality(y_true: NDArray[np.float64], y_pred: NDArray[np.float64]) -> dict[str, Any]:
    """MAE, RMSE, MAPE, R² and mean error of non-empty, finite arrays.

    ``mape = mean(|y - ŷ| / |y|)`` over rows with ``y != 0``; ``r2 = 1 - SS_res / SS_tot``.
    """
    err = y_pred - y_true
    nz = y_true != 0
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    ss_res = float(np.sum(err**2))
    r2 = None if ss_tot == 0 else _fin(1.0 - ss_res / ss_tot)
    mape = float(np.mean(np.abs(err[nz]) / np.abs(y_true[nz]))) if nz.any() else None
    out: dict[str, Any] = {
        "mae": _fin(float(np.mean(np.abs(err)))),
        "rmse": _fin(float(np.sqrt(np.mean(err**2)))),
        "mape": None if mape is None else _fin(mape),
        "mape_zero_targets": int((~nz).sum()),
        "r2": r2,
        "mean_error": _fin(float(err.mean())),
    }
    if r2 is None:
        out["r2_status"] = "constant_target"
    return out


# -- classification -------------------------------------------------------------------------


def _label_values(s: pl.Series) -> list[Any]:
    if s.dtype.is_float():
        vals = s.to_numpy()
        if np.all(vals == np.round(vals)):
            return [int(v) for v in vals]
        return [float(v) for v in vals]
    if s.dtype.is_integer() or s.dtype == pl.Boolean:
        return s.to_list()
    return s.cast(pl.String).to_list()


def _is_probability(s: pl.Series, target_labels: set[Any]) -> bool:
    if not s.dtype.is_float() or s.len() == 0:
        return False
    lo, hi = s.min(), s.max()
    if lo is None or hi is None or lo < 0 or hi > 1:  # type: ignore[operator]
        return False
    vals = set(s.unique().to_list())
    return not vals <= {float(v) for v in target_labels if isinstance(v, int | float)}


def _sort_labels(values: set[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:  # mixed types: compare as text
        return sorted(values, key=str)


def _default_pos_label(labels: list[Any]) -> Any:
    for cand in (1, True, "1"):
        if any(lab == cand and type(lab) is type(cand) for lab in labels):
            return cand
    return labels[-1]


def _classification(
    used: pl.DataFrame,
    schema: DatasetSchema,
    options: ModelQualityOptions,
    known: Sequence[Any],
) -> dict[str, Any]:
    assert schema.target is not None
    y_true = _label_values(used[schema.target])
    probas: NDArray[np.float64] | None = None
    prob_labels: list[Any] = []
    if schema.prediction_probas:
        prob_labels = list(schema.prediction_probas)
        if all(isinstance(v, int) for v in y_true) and all(p.isdigit() for p in prob_labels):
            prob_labels = [int(p) for p in prob_labels]
        else:
            y_true = [str(v) for v in y_true]
        probas = used.select(schema.prediction_probas).cast(pl.Float64).to_numpy()
        idx = np.argmax(probas, axis=1)
        y_pred = [prob_labels[i] for i in idx]
        ptype: PredictionType = "probabilities"
    else:
        assert schema.prediction is not None
        pred = used[schema.prediction]
        as_proba = (
            options.prediction_type == "probabilities"
            if options.prediction_type is not None
            else _is_probability(pred, set(y_true))
        )
        if as_proba:
            ptype = "probabilities"
            probas = pred.cast(pl.Float64).to_numpy()
            y_pred = []
        else:
            ptype = "labels"
            y_pred = _label_values(pred)
            if any(isinstance(v, str) for v in y_true + y_pred):
                y_true, y_pred = [str(v) for v in y_true], [str(v) for v in y_pred]
    labels = _sort_labels(set(y_true) | set(y_pred) | set(prob_labels) | set(known))
    binary_proba = probas is not None and probas.ndim == 1
    if binary_proba:
        if len(labels) > 2:
            msg = (
                f"a single probability column {schema.prediction!r} can only score a binary "
                f"target, but the labels are {labels[:10]}; name per-class probability columns"
            )
            raise ModelQualityError(msg)
        if len(labels) < 2:
            labels = _sort_labels(set(labels) | {0, 1})
    binary = len(labels) <= 2
    pos = options.pos_label if options.pos_label is not None else _default_pos_label(labels)
    if binary and pos not in labels:
        msg = f"pos_label {pos!r} is not one of the labels {labels}; set model_quality.pos_label"
        raise ModelQualityError(msg)
    if binary_proba:
        assert probas is not None
        neg = next((lab for lab in labels if lab != pos), pos)
        y_pred = [pos if p >= options.probability_threshold else neg for p in probas]
    result: dict[str, Any] = {"prediction_type": ptype}
    result |= _label_metrics(y_true, y_pred, labels, pos if binary else None)
    if probas is not None:
        result |= _proba_metrics(y_true, probas, labels if probas.ndim == 1 else prob_labels, pos)
    return result


def _label_metrics(
    y_true: list[Any], y_pred: list[Any], labels: list[Any], pos: Any | None
) -> dict[str, Any]:
    k = len(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    t = np.fromiter((index[v] for v in y_true), dtype=np.int64, count=len(y_true))
    p = np.fromiter((index[v] for v in y_pred), dtype=np.int64, count=len(y_pred))
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(np.float64)
    pred_n = cm.sum(axis=0).astype(np.float64)
    true_n = cm.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(pred_n > 0, tp / pred_n, 0.0)
        rec = np.where(true_n > 0, tp / true_n, 0.0)
        f1 = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
    out: dict[str, Any] = {
        "accuracy": float(tp.sum() / len(y_true)),
        "labels": labels,
        "confusion_matrix": cm.tolist(),
    }
    if pos is not None:
        i = index[pos]
        out |= {
            "average": "binary",
            "pos_label": pos,
            "precision": float(prec[i]),
            "recall": float(rec[i]),
            "f1": float(f1[i]),
        }
    else:
        seen = (pred_n + true_n) > 0  # scikit-learn averages over labels present in y ∪ ŷ
        out |= {
            "average": "macro",
            "precision": float(prec[seen].mean()),
            "recall": float(rec[seen].mean()),
            "f1": float(f1[seen].mean()),
        }
    return out


def _auc(positive: NDArray[np.bool_], score: NDArray[np.float64]) -> float | None:
    """ROC AUC as the Mann–Whitney U statistic with mid-ranks for ties (equals the
    trapezoidal area under the ROC curve)."""
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    # mid-ranks (ties share their average rank), as scipy.stats.rankdata; polars keeps scipy
    # (60 MB of resident memory) out of the service's start-up
    ranks = pl.Series(score).rank(method="average").to_numpy()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _proba_metrics(
    y_true: list[Any], probas: NDArray[np.float64], labels: list[Any], pos: Any
) -> dict[str, Any]:
    clipped = np.clip(probas, _EPS, 1 - _EPS)
    if probas.ndim == 1:
        positive = np.fromiter((v == pos for v in y_true), dtype=bool, count=len(y_true))
        auc = _auc(positive, probas)
        ll = -np.mean(np.where(positive, np.log(clipped), np.log(1 - clipped)))
    else:
        index = {lab: i for i, lab in enumerate(labels)}
        t = np.fromiter((index.get(v, -1) for v in y_true), dtype=np.int64, count=len(y_true))
        if (t < 0).any():
            unknown = sorted({str(v) for v in y_true if v not in index})[:5]
            msg = f"target labels {unknown} have no probability column (columns: {labels})"
            raise ModelQualityError(msg)
        aucs = [_auc(t == i, probas[:, i]) for i in range(len(labels))]
        valid = [a for a in aucs if a is not None]
        auc = float(np.mean(valid)) if len(valid) == len(aucs) else None
        rows = clipped / clipped.sum(axis=1, keepdims=True)
        ll = -np.mean(np.log(rows[np.arange(len(t)), t]))
    out: dict[str, Any] = {"roc_auc": auc, "log_loss": _fin(float(ll))}
    if auc is None:
        out["roc_auc_status"] = "single_class"
    return out


def model_labels(result: dict[str, Any] | None) -> tuple[Any, ...]:
    """The class labels of a classification result (to pass on as known ``labels``)."""
    if not result or result.get("task") != "classification":
        return ()
    return tuple(result.get("labels", ()))
