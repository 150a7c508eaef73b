"""Per-model runtime: the reference read once, its profile fitted once, the evaluator built
once, and the feature schema the consumer decodes events with."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import polars as pl

from evaluation import (
    DatasetSchema,
    DriftOptions,
    EvaluationSpec,
    Evaluator,
    ModelQualityOptions,
    ReferenceProfile,
)
from service.config import ConfigError, ModelSettings, Settings
from service.io import read_table

log = logging.getLogger(__name__)
Kind = Literal["num", "cat"]


@dataclass(frozen=True)
class ModelRuntime:
    model_id: str
    settings: ModelSettings
    profile: ReferenceProfile
    evaluator: Evaluator
    spec_hash: str
    features: dict[str, Kind]
    prediction_kind: Kind | None
    target_kind: Kind | None

    @property
    def reference_id(self) -> str:
        return self.profile.reference_id


def _kind(df: pl.DataFrame, column: str | None) -> Kind | None:
    if column is None or column not in df.columns:
        return None
    return "num" if df.schema[column].is_numeric() else "cat"


def build_model(model_id: str, ms: ModelSettings) -> ModelRuntime:
    """Read the reference of ``model_id``, rename its target/prediction to the canonical
    ``target``/``prediction`` (the names decoded events use) and fit everything once."""
    try:
        ref = read_table(ms.reference)
    except Exception as exc:
        msg = f"models.{model_id}.reference: {exc}"
        raise ConfigError(msg) from exc
    cm = ms.column_mapping
    renames = {}
    for src, dst in ((cm.target, "target"), (cm.prediction, "prediction")):
        if src and src in ref.columns and src != dst:
            renames[src] = dst
    ref = ref.rename(renames)
    if cm.exclude:
        ref = ref.drop([c for c in cm.exclude if c in ref.columns])
    try:
        schema = DatasetSchema.infer(
            ref,
            target="target",
            prediction="prediction",
            numerical=cm.numerical,
            categorical=cm.categorical,
            task=cm.task,
        )
    except ValueError as exc:
        msg = f"models.{model_id}.column_mapping: {exc}"
        raise ConfigError(msg) from exc
    if not schema.features:
        msg = f"models.{model_id}.reference {ms.reference} has no feature columns"
        raise ConfigError(msg)
    # target drift is left out of the per-window drift: in a stream the targets arrive later
    # (labels topic), so the window's target column is empty by design, not drifted
    drift_columns = tuple(c for c in (schema.prediction, *schema.features) if c)
    drift = DriftOptions(
        columns=drift_columns,
        stattest=ms.stattest,
        num_stattest=ms.num_stattest,
        cat_stattest=ms.cat_stattest,
        per_column_stattest=dict(ms.per_column_stattest),
        threshold=ms.threshold,
        per_column_threshold=dict(ms.per_column_threshold),
        drift_share=ms.drift_share,
        binning=ms.binning,
    )
    spec = EvaluationSpec(
        drift=drift,
        presets=tuple(ms.presets) if ms.presets is not None else None,
        model_quality=ModelQualityOptions(
            task=cm.task, pos_label=ms.pos_label, probability_threshold=ms.probability_threshold
        ),
    )
    try:
        spec.validate()
    except ValueError as exc:
        msg = f"models.{model_id}: {exc}"
        raise ConfigError(msg) from exc
    profile = ReferenceProfile.fit(ref, schema)
    evaluator = Evaluator(profile, spec)
    features: dict[str, Kind] = {c: "num" for c in schema.numerical}
    features.update({c: "cat" for c in schema.categorical})
    log.info(
        "model=%s reference=%s rows=%d features=%d reference_id=%s",
        model_id,
        ms.reference,
        ref.height,
        len(features),
        profile.reference_id[:12],
    )
    return ModelRuntime(
        model_id=model_id,
        settings=ms,
        profile=profile,
        evaluator=evaluator,
        spec_hash=spec.spec_hash(),
        features=features,
        prediction_kind=_kind(ref, "prediction"),
        target_kind=_kind(ref, "target"),
    )


def build_models(settings: Settings) -> dict[str, ModelRuntime]:
    return {mid: build_model(mid, ms) for mid, ms in settings.models.items()}
