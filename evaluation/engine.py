"""The engine: one reference, many windows → one :class:`Snapshot` per window.

:class:`Evaluator` is built once per reference. It keeps the :class:`ReferenceProfile` (drift),
fits the :class:`QualityReference` and scores the reference's own model quality (the baseline of
the model-quality presets), so nothing about the reference is recomputed per window.
:meth:`Evaluator.evaluate` then computes, for a window's rows:

- ``data_drift`` (always), ``data_quality`` (unless ``spec.quality`` is off) and
  ``model_quality`` (only when target and prediction are present with at least one labelled
  row), as :class:`MetricResult` s whose ``id`` equals their ``type``;
- the tests of the spec's presets (default: ``data_drift``, ``data_quality``, and
  ``classification``/``regression`` when the reference has targets and predictions);
- ``metadata`` with the built-ins ``model_id``, ``reference_id``, ``batch_size`` (rows in the
  window), ``dataset_id`` (caller-supplied or ``None``) and ``insufficient_data``, plus custom
  keys.

A window with fewer rows than ``min_rows`` is still a snapshot: its metrics are computed as far
as they can be, ``metadata["insufficient_data"]`` is true and the preset tests are replaced by a
single ERROR test ``insufficient_data`` (no alert fires on a statistic of a handful of rows).

Snapshot ids are deterministic (:func:`snapshot_id_for`): a replay rewrites the same snapshot.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import polars as pl

from evaluation.conditions import Condition, check
from evaluation.drift import DriftOptions, compute_data_drift
from evaluation.model_quality import (
    ModelQualityOptions,
    compute_model_quality,
    model_labels,
    resolve_task,
)
from evaluation.presets import Baseline, PresetName, PresetParams, run_presets, validate_presets
from evaluation.quality import QualityReference, compute_data_quality
from evaluation.reference import ReferenceProfile, sort_numeric
from evaluation.reference import content_hash as data_hash
from evaluation.schema import DatasetSchema
from evaluation.snapshot import MetricResult, Snapshot, TestResult, WindowInfo

SNAPSHOT_NAMESPACE = uuid.UUID("6f1c2a7e-3d0b-5c9a-9e61-2b8f4d7a1c05")
_BUILTIN_FROM_ENGINE = ("reference_id", "batch_size", "insufficient_data")


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


@dataclass(frozen=True, slots=True)
class EvaluationSpec:
    """What to compute for each window (frozen; hashed into snapshot ids).

    ``presets=None`` means the default set: ``data_drift``, ``data_quality`` (when ``quality``)
    and the model-quality preset of the reference's task when the reference has targets and
    predictions. ``presets=()`` runs no tests.
    """

    drift: DriftOptions = field(default_factory=DriftOptions)
    presets: tuple[PresetName, ...] | None = None
    quality: bool = True
    model_quality: ModelQualityOptions = field(default_factory=ModelQualityOptions)
    preset_params: PresetParams = field(default_factory=PresetParams)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the bad option (unknown method, preset, ...)."""
        self.drift.validate()
        if self.presets is not None:
            validate_presets(self.presets)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _jsonable(self)
        return out

    def spec_hash(self) -> str:
        """A stable hex digest of the spec (sorted-key JSON), for snapshot ids."""
        data = orjson.dumps(self.as_dict(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(data).hexdigest()[:32]


def snapshot_id_for(
    reference_id: str,
    spec_hash: str,
    *,
    content_hash: str | None = None,
    project_id: str | None = None,
    window: WindowInfo | None = None,
) -> str:
    """A deterministic uuid5 for a snapshot.

    In the service: (project, window start/end/key, reference, spec), so a replay after a
    crash rewrites the same snapshot. Offline: (reference, content hash of the current data
    — :func:`evaluation.reference.content_hash` — , spec).
    """
    parts: list[Any] = [reference_id, spec_hash]
    if window is not None:
        parts += [
            project_id,
            window.start.isoformat(),
            window.end.isoformat(),
            sorted(window.key.items()),
        ]
    else:
        parts.append(content_hash)
    return str(uuid.uuid5(SNAPSHOT_NAMESPACE, orjson.dumps(parts).decode()))


def _drift_params(options: DriftOptions) -> dict[str, Any]:
    raw = _jsonable(options)
    return {k: v for k, v in raw.items() if v not in (None, {}, [])}


class Evaluator:
    """Built once per reference; :meth:`evaluate` turns a window's rows into a Snapshot."""

    def __init__(self, profile: ReferenceProfile, spec: EvaluationSpec | None = None) -> None:
        self.spec = spec or EvaluationSpec()
        self.spec.validate()
        self.profile = profile
        self.schema: DatasetSchema = profile.schema
        self.spec_hash = self.spec.spec_hash()
        kinds = {name: col.kind for name, col in profile.columns.items()}
        self.quality_reference = QualityReference.fit(profile.frame, self.schema, kinds=kinds)
        self._numerical = [name for name, kind in kinds.items() if kind == "num"]
        self.reference_model_quality = (
            compute_model_quality(profile.frame, self.schema, self.spec.model_quality)
            if resolve_task(self.schema, self.spec.model_quality) is not None
            else None
        )
        self.presets: tuple[PresetName, ...] = self._resolve_presets()
        self.baseline = Baseline(
            data_quality=self.quality_reference.result,
            model_quality=self.reference_model_quality,
        )

    def _resolve_presets(self) -> tuple[PresetName, ...]:
        if self.spec.presets is not None:
            return self.spec.presets
        names: list[PresetName] = ["data_drift"]
        if self.spec.quality:
            names.append("data_quality")
        ref_mq = self.reference_model_quality
        if ref_mq is not None:
            names.append("classification" if ref_mq["task"] == "classification" else "regression")
        return tuple(names)

    @property
    def reference_id(self) -> str:
        return str(self.profile.reference_id)

    def evaluate(
        self,
        current: pl.DataFrame,
        *,
        snapshot_id: str | None = None,
        project_id: str | None = None,
        name: str = "",
        timestamp: datetime | None = None,
        window: WindowInfo | None = None,
        tags: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        min_rows: int = 0,
        batch_size: int | None = None,
    ) -> Snapshot:
        """One snapshot of ``current`` against the reference.

        ``batch_size`` is the true number of rows of the window when ``current`` is a sample
        of it (reservoir-sampled windows); it defaults to ``current.height``.

        ``timestamp`` defaults to the window end (one of the two is required).
        ``metadata`` may carry ``model_id`` and ``dataset_id`` and any custom key;
        ``reference_id``, ``batch_size`` and ``insufficient_data`` are set by the engine.
        ``snapshot_id`` defaults to :func:`snapshot_id_for` (window-based when ``window`` is
        given, else content-based).
        """
        if timestamp is None:
            if window is None:
                msg = "give a timestamp, or a window whose end becomes the timestamp"
                raise ValueError(msg)
            timestamp = window.end
        n = current.height if batch_size is None else batch_size
        insufficient = n < min_rows
        metrics = self._metrics(current)
        by_type = {m.type: m.result for m in metrics}
        tests: list[TestResult]
        if insufficient:
            tests = [
                check(
                    "insufficient_data",
                    n,
                    Condition("gte", min_rows),
                    metric_id=None,
                    description="window rows",
                    error=f"insufficient data: {n} row(s) < min_rows {min_rows}; tests skipped",
                )
            ]
        else:
            tests = run_presets(
                self.presets, by_type, self.schema, self.baseline, self.spec.preset_params
            )
        meta = dict(metadata or {})
        builtin = {
            "model_id": meta.pop("model_id", None) or _model_from_window(window),
            "reference_id": self.reference_id,
            "batch_size": n,
            "dataset_id": meta.pop("dataset_id", None),
            "insufficient_data": insufficient,
        }
        for key in _BUILTIN_FROM_ENGINE:
            meta.pop(key, None)
        if snapshot_id is None:
            snapshot_id = snapshot_id_for(
                self.reference_id,
                self.spec_hash,
                content_hash=None if window is not None else data_hash(current),
                project_id=project_id,
                window=window,
            )
        return Snapshot(
            id=snapshot_id,
            project_id=project_id,
            name=name,
            timestamp=timestamp,
            window=window,
            tags=list(tags),
            metadata=builtin | meta,
            metrics=metrics,
            tests=tests,
        )

    def _metrics(self, current: pl.DataFrame) -> list[MetricResult]:
        # one sort per numerical column, shared by drift and data quality
        presorted = sort_numeric(current, [c for c in self._numerical if c in current.columns])
        drift = compute_data_drift(self.profile, current, self.spec.drift, presorted=presorted)
        metrics = [
            MetricResult(
                id="data_drift",
                type="data_drift",
                params=_drift_params(self.spec.drift),
                result=drift,
            )
        ]
        if self.spec.quality:
            metrics.append(
                MetricResult(
                    id="data_quality",
                    type="data_quality",
                    result=compute_data_quality(
                        current, self.schema, self.quality_reference, presorted=presorted
                    ),
                )
            )
        if self.reference_model_quality is not None or resolve_task(
            self.schema, self.spec.model_quality
        ):
            mq = compute_model_quality(
                current,
                self.schema,
                self.spec.model_quality,
                labels=model_labels(self.reference_model_quality),
            )
            if mq is not None:
                metrics.append(
                    MetricResult(
                        id="model_quality",
                        type="model_quality",
                        params={
                            k: v
                            for k, v in self.spec.model_quality.as_params().items()
                            if v is not None
                        },
                        result=mq,
                    )
                )
        return metrics


def _model_from_window(window: WindowInfo | None) -> str | None:
    if window is None:
        return None
    return window.key.get("model_id") or window.key.get("model")


def compute_snapshot(
    reference: pl.DataFrame | ReferenceProfile,
    current: pl.DataFrame,
    *,
    schema: DatasetSchema | None = None,
    spec: EvaluationSpec | None = None,
    **kwargs: Any,
) -> Snapshot:
    """Convenience: fit (if needed) and evaluate once. ``kwargs`` go to
    :meth:`Evaluator.evaluate`. For many windows build one :class:`Evaluator` instead."""
    if isinstance(reference, pl.DataFrame):
        schema = schema or DatasetSchema.infer(reference)
        reference = ReferenceProfile.fit(reference, schema)
    return Evaluator(reference, spec).evaluate(current, **kwargs)
