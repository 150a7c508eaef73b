"""Presets: named groups of tests over the metric results of one snapshot.

============== ==============================================================================
preset         tests (parameters, default)
============== ==============================================================================
data_drift     ``share_of_drifted_columns < max_share_drifted`` (0.3, critical), and one
               ``drift_detected == False`` per column (``column_critical``, default False:
               a single drifted column is a WARNING, the dataset-level test is the alarm)
data_quality   per feature: ``missing_share <= reference + missing_share_rel·reference`` (0.1);
               categorical: ``new_categories <= max_new_categories`` (0); numerical:
               ``share_out_of_reference_range <= max_share_out_of_range`` (0.01); dataset:
               ``number_of_constant_columns <= the reference's`` (0 for a clean reference)
classification ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc`` not below the
               reference by more than ``tolerance`` (relative, 0.1); ``log_loss`` not above it
regression     ``mae``, ``rmse``, ``mape`` not above the reference by more than ``tolerance``
               (0.1); ``r2`` not below it
============== ==============================================================================

A test whose value is missing (column absent, empty window) is ERROR. The model-quality presets
need the reference's model quality: without it they give one ERROR test; when the *window* has
no labelled rows they are skipped (ground truth usually arrives later).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, get_args

from evaluation.conditions import Condition, ReferenceBound, check
from evaluation.errors import EvaluationError
from evaluation.schema import DatasetSchema
from evaluation.snapshot import TestResult

PresetName = Literal["data_drift", "data_quality", "classification", "regression"]
PRESETS: tuple[str, ...] = get_args(PresetName)


class PresetError(EvaluationError):
    """Unknown preset or preset parameter."""


@dataclass(frozen=True, slots=True)
class DataDriftParams:
    max_share_drifted: float = 0.3
    critical: bool = True
    column_tests: bool = True
    column_critical: bool = False


@dataclass(frozen=True, slots=True)
class DataQualityParams:
    missing_share_rel: float = 0.1
    missing_share_abs: float = 0.0
    max_new_categories: int = 0
    max_share_out_of_range: float = 0.01
    critical: bool = True


@dataclass(frozen=True, slots=True)
class ModelQualityParams:
    tolerance: float = 0.1
    critical: bool = True


@dataclass(frozen=True, slots=True)
class PresetParams:
    """Parameters of every preset; override with :meth:`with_overrides`."""

    data_drift: DataDriftParams = field(default_factory=DataDriftParams)
    data_quality: DataQualityParams = field(default_factory=DataQualityParams)
    classification: ModelQualityParams = field(default_factory=ModelQualityParams)
    regression: ModelQualityParams = field(default_factory=ModelQualityParams)

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> PresetParams:
        """``{"data_drift": {"max_share_drifted": 0.5}, ...}`` → new params (validated)."""
        out = self
        for preset, values in overrides.items():
            if preset not in PRESETS:
                msg = f"unknown preset {preset!r} in preset parameters; expected one of {PRESETS}"
                raise PresetError(msg)
            current = getattr(out, preset)
            known = {f.name: f for f in fields(current)}
            for key, value in values.items():
                if key not in known:
                    msg = f"unknown parameter {preset}.{key}; expected one of {sorted(known)}"
                    raise PresetError(msg)
                want = type(getattr(current, key))
                ok = isinstance(value, bool) if want is bool else isinstance(value, int | float)
                if not ok or (want is int and not isinstance(value, int)):
                    msg = f"{preset}.{key} must be of type {want.__name__}, got {value!r}"
                    raise PresetError(msg)
                if want is not bool and value < 0:
                    msg = f"{preset}.{key} must be >= 0, got {value!r}"
                    raise PresetError(msg)
            out = replace(out, **{preset: replace(current, **dict(values))})
        return out

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                f.name: getattr(getattr(self, name), f.name) for f in fields(getattr(self, name))
            }
            for name in PRESETS
        }


def validate_presets(names: Sequence[str]) -> tuple[PresetName, ...]:
    for name in names:
        if name not in PRESETS:
            msg = f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}"
            raise PresetError(msg)
    return tuple(names)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Baseline:
    """The reference's own metric results that reference-relative tests compare with."""

    data_quality: Mapping[str, Any] | None = None
    model_quality: Mapping[str, Any] | None = None


def run_presets(
    presets: Sequence[PresetName],
    metrics: Mapping[str, Mapping[str, Any] | None],
    schema: DatasetSchema,
    baseline: Baseline,
    params: PresetParams | None = None,
) -> list[TestResult]:
    """Tests of ``presets`` over ``metrics`` (keyed by metric type: ``data_drift``, ...)."""
    params = params or PresetParams()
    tests: list[TestResult] = []
    for name in presets:
        if name == "data_drift":
            tests += data_drift_tests(metrics.get("data_drift"), params.data_drift)
        elif name == "data_quality":
            tests += data_quality_tests(
                metrics.get("data_quality"), schema, baseline.data_quality, params.data_quality
            )
        else:
            tests += model_quality_tests(
                name,
                metrics.get("model_quality"),
                baseline.model_quality,
                getattr(params, name),
            )
    return tests


def data_drift_tests(result: Mapping[str, Any] | None, p: DataDriftParams) -> list[TestResult]:
    if result is None:
        return [
            check(
                "data_drift.share_of_drifted_columns",
                None,
                Condition("lt", p.max_share_drifted),
                metric_id="data_drift",
                error="data drift was not computed",
            )
        ]
    tests = [
        check(
            "data_drift.share_of_drifted_columns",
            result.get("share_of_drifted_columns"),
            Condition("lt", p.max_share_drifted),
            is_critical=p.critical,
            metric_id="data_drift",
            description="share of drifted columns",
        )
    ]
    if not p.column_tests:
        return tests
    for col, res in result.get("columns", {}).items():
        detected = res.get("drift_detected")
        status = res.get("status")
        # a degenerate column (absent, all missing, empty window...) has no verdict: ERROR
        err = None if detected is not None and status == "ok" else f"no drift score: {status}"
        score = res.get("drift_score")
        desc = f"{res.get('stattest')} {score:.4g}" if isinstance(score, float) else ""
        tests.append(
            check(
                f"data_drift.column_drift[{col}]",
                detected,
                Condition("eq", False),
                is_critical=p.column_critical,
                metric_id="data_drift",
                description=desc,
                error=err,
            )
        )
    return tests


def data_quality_tests(
    result: Mapping[str, Any] | None,
    schema: DatasetSchema,
    reference: Mapping[str, Any] | None,
    p: DataQualityParams,
) -> list[TestResult]:
    mid = "data_quality"
    crit = p.critical
    if result is None:
        return [
            check(
                "data_quality.constant_columns",
                None,
                Condition("eq", 0),
                metric_id=mid,
                error="data quality was not computed",
            )
        ]
    ref_cols: Mapping[str, Any] = (reference or {}).get("columns", {})
    tests: list[TestResult] = []
    for col in schema.features:
        cur = result["columns"].get(col, {"status": "absent"})
        ref = ref_cols.get(col, {})
        err = "column absent from the window" if cur.get("status") == "absent" else None
        tests.append(
            check(
                f"data_quality.missing_share[{col}]",
                cur.get("missing_share"),
                ReferenceBound("lte", rel=p.missing_share_rel, abs=p.missing_share_abs),
                reference=ref.get("missing_share"),
                is_critical=crit,
                metric_id=mid,
                error=err,
            )
        )
        if col in schema.categorical:
            tests.append(
                check(
                    f"data_quality.new_categories[{col}]",
                    cur.get("new_categories"),
                    Condition("lte", p.max_new_categories),
                    is_critical=crit,
                    metric_id=mid,
                    error=err,
                )
            )
        else:
            tests.append(
                check(
                    f"data_quality.out_of_reference_range[{col}]",
                    cur.get("share_out_of_reference_range"),
                    Condition("lte", p.max_share_out_of_range),
                    is_critical=crit,
                    metric_id=mid,
                    error=err,
                )
            )
    tests.append(
        check(
            "data_quality.constant_columns",
            result.get("number_of_constant_columns"),
            ReferenceBound("lte"),
            reference=(reference or {}).get("number_of_constant_columns", 0),
            is_critical=crit,
            metric_id=mid,
            description="constant columns",
        )
    )
    return tests


_HIGHER_BETTER = {
    "classification": ("accuracy", "precision", "recall", "f1", "roc_auc"),
    "regression": ("r2",),
}
_LOWER_BETTER = {
    "classification": ("log_loss",),
    "regression": ("mae", "rmse", "mape"),
}


def model_quality_tests(
    preset: PresetName,
    current: Mapping[str, Any] | None,
    reference: Mapping[str, Any] | None,
    p: ModelQualityParams,
) -> list[TestResult]:
    """Quality not worse than the reference's by more than ``p.tolerance`` (relative)."""
    mid = "model_quality"
    if current is None:
        return []  # no labelled rows in this window: skipped, not an error
    if reference is None or reference.get("task") != preset:
        why = f"the reference has no {preset} quality (no target/prediction, or another task)"
        return [check(f"{preset}.reference", None, Condition("eq", 0), metric_id=mid, error=why)]
    if current.get("task") != preset:
        why = f"the window was scored as {current.get('task')}, not {preset}"
        return [check(f"{preset}.task", None, Condition("eq", 0), metric_id=mid, error=why)]
    tests: list[TestResult] = []
    for key in _HIGHER_BETTER[preset] + _LOWER_BETTER[preset]:
        if key not in reference and key not in current:
            continue  # e.g. ROC AUC for label predictions
        op: Literal["gte", "lte"] = "gte" if key in _HIGHER_BETTER[preset] else "lte"
        tests.append(
            check(
                f"{preset}.{key}",
                current.get(key),
                ReferenceBound(op, rel=p.tolerance),
                reference=reference.get(key),
                is_critical=p.critical,
                metric_id=mid,
            )
        )
    return tests
