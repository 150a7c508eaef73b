"""Pure numerics: reference profiles, drift statistics, data quality, model quality, test
conditions and presets, and the Snapshot document.

Must not import confluent_kafka, prometheus_client or any other driftsnap package, and does no
file or network I/O inside the core (``Snapshot.load``/``save`` are the one file edge).
"""

from evaluation.conditions import Condition, ConditionError, ReferenceBound, check
from evaluation.drift import (
    STATTESTS,
    DriftOptions,
    DriftResult,
    compute_data_drift,
    default_stattest,
    drift_result_for,
)
from evaluation.engine import EvaluationSpec, Evaluator, compute_snapshot, snapshot_id_for
from evaluation.errors import DriftInputError, EvaluationError
from evaluation.model_quality import (
    ModelQualityError,
    ModelQualityOptions,
    compute_model_quality,
)
from evaluation.presets import (
    PRESETS,
    Baseline,
    DataDriftParams,
    DataQualityParams,
    ModelQualityParams,
    PresetError,
    PresetParams,
    run_presets,
    validate_presets,
)
from evaluation.quality import QualityReference, compute_data_quality
from evaluation.reference import ColumnProfile, ReferenceProfile, content_hash
from evaluation.schema import DatasetSchema, SchemaError
from evaluation.snapshot import (
    SCHEMA_VERSION,
    MetricResult,
    Snapshot,
    SnapshotError,
    TestResult,
    WindowInfo,
)

__all__ = [
    "Baseline",
    "ColumnProfile",
    "Condition",
    "ConditionError",
    "DataDriftParams",
    "DataQualityParams",
    "DatasetSchema",
    "DriftInputError",
    "DriftOptions",
    "DriftResult",
    "EvaluationError",
    "EvaluationSpec",
    "Evaluator",
    "MetricResult",
    "ModelQualityError",
    "ModelQualityOptions",
    "ModelQualityParams",
    "PRESETS",
    "PresetError",
    "PresetParams",
    "QualityReference",
    "ReferenceBound",
    "ReferenceProfile",
    "SCHEMA_VERSION",
    "STATTESTS",
    "SchemaError",
    "Snapshot",
    "SnapshotError",
    "TestResult",
    "WindowInfo",
    "check",
    "compute_data_drift",
    "compute_data_quality",
    "compute_model_quality",
    "compute_snapshot",
    "content_hash",
    "default_stattest",
    "drift_result_for",
    "run_presets",
    "snapshot_id_for",
    "validate_presets",
]
