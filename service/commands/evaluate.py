"""`driftsnap evaluate`: one snapshot of a current file against a reference file, offline.

    driftsnap evaluate --reference REF --current CUR [--config FILE] [--columns a,b,...]
        [--stattest NAME] [--threshold X] [--drift-share X] [--tag T ...]
        [--metadata k=v ...] [--timestamp ISO] [--output FILE]

Reads CSV or Parquet, runs the default evaluation (drift + data quality + model quality when
target and prediction are present + the default presets) and writes the snapshot JSON to
``--output`` or stdout. Exit 0 on success, 2 with a one-line message on bad input (unknown
column, unreadable file, unknown method, bad config). Flags override the config file; the
config keys are documented in docs/evaluation.md.

The snapshot id is a uuid5 of (reference_id, content hash of the current data, spec hash), so
re-running on the same inputs and options gives the same id.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from evaluation import (
    DatasetSchema,
    DriftOptions,
    EvaluationSpec,
    Evaluator,
    ModelQualityOptions,
    PresetParams,
    ReferenceProfile,
    validate_presets,
)
from service.io import InputFileError, read_table

log = logging.getLogger(__name__)
EXIT_BAD_INPUT = 2


class ConfigError(ValueError):
    """The ``--config`` file or a flag is invalid."""


_SCHEMA_KEYS = {
    "target": (str, type(None)),
    "prediction": (str, type(None)),
    "prediction_probas": list,
    "task": (str, type(None)),
    "numerical": list,
    "categorical": list,
    "columns": (list, type(None)),
    "id_columns": list,
    "datetime_columns": list,
    "exclude": list,
}
_DRIFT_KEYS = {
    "stattest": (str, type(None)),
    "num_stattest": (str, type(None)),
    "cat_stattest": (str, type(None)),
    "per_column_stattest": dict,
    "threshold": (int, float, type(None)),
    "per_column_threshold": dict,
    "drift_share": (int, float),
    "binning": str,
    "with_histograms": bool,
}
_MQ_KEYS = {
    "pos_label": (str, int, bool, type(None)),
    "probability_threshold": (int, float),
    "prediction_type": (str, type(None)),
}
_TOP_KEYS = {
    **_SCHEMA_KEYS,
    "drift": dict,
    "quality": bool,
    "model_quality": dict,
    "presets": (list, type(None)),
    "preset_params": dict,
    "min_rows": int,
    "project_id": (str, type(None)),
    "name": str,
    "tags": list,
    "metadata": dict,
}


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "evaluate",
        help="compute one snapshot of a current file against a reference file",
        description=(
            "Compare CUR with REF (CSV or Parquet; CSV empty cells are missing): data drift, "
            "data quality, model quality when target and prediction are present, and the "
            "default tests. Writes the snapshot JSON to --output or stdout. Exit 0 on "
            "success, 2 on bad input."
        ),
    )
    parser.add_argument("--reference", required=True, metavar="REF", help="reference data file")
    parser.add_argument("--current", required=True, metavar="CUR", help="current data file")
    parser.add_argument("--config", metavar="FILE", help="YAML config (docs/evaluation.md)")
    parser.add_argument("--columns", metavar="A,B,...", help="feature columns to evaluate")
    parser.add_argument("--stattest", metavar="NAME", help="drift method for every column")
    parser.add_argument("--threshold", type=float, metavar="X", help="drift threshold")
    parser.add_argument(
        "--drift-share", type=float, metavar="X", help="dataset drift share (default 0.5)"
    )
    parser.add_argument(
        "--tag", action="append", default=[], metavar="T", help="snapshot tag (repeatable)"
    )
    parser.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="K=V",
        help="metadata entry (repeatable), e.g. model_id=fraud",
    )
    parser.add_argument("--timestamp", metavar="ISO", help="snapshot time (default: now, UTC)")
    parser.add_argument("--output", metavar="FILE", help="write the JSON here (default stdout)")
    parser.set_defaults(func=run)


@dataclass
class _Config:
    schema: dict[str, Any] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)
    model_quality: dict[str, Any] = field(default_factory=dict)
    quality: bool = True
    presets: list[str] | None = None
    preset_params: dict[str, Any] = field(default_factory=dict)
    min_rows: int = 0
    project_id: str | None = None
    name: str = ""
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def _check_keys(where: str, data: Mapping[str, Any], allowed: Mapping[str, Any]) -> None:
    for key, value in data.items():
        if key not in allowed:
            msg = f"{where}: unknown key {key!r}; expected one of {', '.join(sorted(allowed))}"
            raise ConfigError(msg)
        want = allowed[key]
        if not isinstance(value, want) or (isinstance(value, bool) and bool not in _tuple(want)):
            names = "/".join(t.__name__ for t in _tuple(want)).replace("NoneType", "null")
            msg = f"{where}: key {key!r} must be {names}, got {value!r}"
            raise ConfigError(msg)


def _tuple(want: Any) -> tuple[type, ...]:
    return want if isinstance(want, tuple) else (want,)


def load_config(path: str | None) -> _Config:
    """Parse and validate the YAML config (``ConfigError`` naming the key on problems)."""
    cfg = _Config()
    if path is None:
        return cfg
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"config {p}: cannot read ({exc.strerror or exc})"
        raise ConfigError(msg) from exc
    except yaml.YAMLError as exc:
        msg = f"config {p}: not valid YAML ({exc})"
        raise ConfigError(msg) from exc
    if raw is None:
        return cfg
    if not isinstance(raw, dict):
        msg = f"config {p}: must be a mapping of keys, got {type(raw).__name__}"
        raise ConfigError(msg)
    _check_keys(f"config {p}", raw, _TOP_KEYS)
    _check_keys(f"config {p}: drift", raw.get("drift", {}), _DRIFT_KEYS)
    _check_keys(f"config {p}: model_quality", raw.get("model_quality", {}), _MQ_KEYS)
    cfg.schema = {k: raw[k] for k in _SCHEMA_KEYS if k in raw}
    cfg.drift = dict(raw.get("drift", {}))
    cfg.model_quality = dict(raw.get("model_quality", {}))
    cfg.quality = raw.get("quality", True)
    cfg.presets = raw.get("presets")
    cfg.preset_params = dict(raw.get("preset_params", {}))
    cfg.min_rows = raw.get("min_rows", 0)
    cfg.project_id = raw.get("project_id")
    cfg.name = raw.get("name", "")
    cfg.tags = [str(t) for t in raw.get("tags", [])]
    cfg.metadata = dict(raw.get("metadata", {}))
    if cfg.schema.get("task") not in (None, "classification", "regression"):
        msg = f"config {p}: task must be classification or regression, got {cfg.schema['task']!r}"
        raise ConfigError(msg)
    return cfg


def _parse_metadata(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            msg = f"--metadata {item!r}: expected KEY=VALUE, e.g. model_id=fraud"
            raise ConfigError(msg)
        out[key] = value
    return out


def _parse_timestamp(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        msg = f"--timestamp {text!r}: not ISO-8601 (e.g. 2026-12-03T10:00:00Z)"
        raise ConfigError(msg) from exc
    if ts.tzinfo is None:
        msg = f"--timestamp {text!r}: has no timezone; add 'Z' for UTC"
        raise ConfigError(msg)
    return ts.astimezone(UTC)


def align_current(reference: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """Give the current file the reference's types where the file format lost them.

    An all-missing CSV column is read as text: cast it to the reference's type. A numeric
    reference column holding text in the current file is an error (its values would be lost).
    """
    casts: list[pl.Expr] = []
    for name in current.columns:
        if name not in reference.columns:
            continue
        rt, ct = reference.schema[name], current.schema[name]
        if rt == ct:
            continue
        if current[name].null_count() == current.height:
            casts.append(pl.col(name).cast(rt))
        elif rt.is_numeric() and not (ct.is_numeric() or ct == pl.Boolean):
            sample = current[name].drop_nulls().head(3).to_list()
            msg = (
                f"column {name!r} is numeric ({rt}) in the reference but {ct} in the current "
                f"data (values such as {sample}); fix the file or declare the column categorical"
            )
            raise ConfigError(msg)
        elif not rt.is_numeric() and ct.is_numeric():
            casts.append(pl.col(name).cast(rt, strict=False))
    return current.with_columns(casts) if casts else current


def build_spec(cfg: _Config, args: argparse.Namespace) -> EvaluationSpec:
    drift = dict(cfg.drift)
    if args.stattest is not None:
        drift["stattest"] = args.stattest
    if args.threshold is not None:
        drift["threshold"] = args.threshold
    if args.drift_share is not None:
        drift["drift_share"] = args.drift_share
    presets = None if cfg.presets is None else validate_presets([str(p) for p in cfg.presets])
    return EvaluationSpec(
        drift=DriftOptions(**drift),
        presets=presets,
        quality=cfg.quality,
        model_quality=ModelQualityOptions(**cfg.model_quality),
        preset_params=PresetParams().with_overrides(cfg.preset_params),
    )


def build_schema(cfg: _Config, args: argparse.Namespace, ref: pl.DataFrame) -> DatasetSchema:
    opts = dict(cfg.schema)
    if args.columns is not None:
        cols = [c.strip() for c in args.columns.split(",") if c.strip()]
        if not cols:
            msg = f"--columns {args.columns!r}: no column names"
            raise ConfigError(msg)
        opts["columns"] = cols
    probas = opts.pop("prediction_probas", [])
    for key in ("target", "prediction"):
        name = opts.get(key)
        if key in cfg.schema and name is not None and name not in ref.columns:
            msg = f"{key} column {name!r} is not in the reference (columns: {ref.columns})"
            raise ConfigError(msg)
    for name in probas:
        if name not in ref.columns:
            msg = f"probability column {name!r} is not in the reference (columns: {ref.columns})"
            raise ConfigError(msg)
    return DatasetSchema.infer(ref, prediction_probas=probas, **opts)


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
        metadata = cfg.metadata | _parse_metadata(args.metadata)
        timestamp = _parse_timestamp(args.timestamp)
        spec = build_spec(cfg, args)
        spec.validate()
        reference = read_table(args.reference)
        current = align_current(reference, read_table(args.current))
        schema = build_schema(cfg, args, reference)
        evaluator = Evaluator(ReferenceProfile.fit(reference, schema), spec)
        # no window: the id is a uuid5 of (reference_id, spec hash, content hash of CUR)
        snapshot = evaluator.evaluate(
            current,
            project_id=cfg.project_id,
            name=cfg.name,
            timestamp=timestamp,
            tags=[*cfg.tags, *args.tag],
            metadata=metadata,
            min_rows=cfg.min_rows,
        )
    except (InputFileError, ValueError) as exc:
        # every driftsnap input error is a ValueError whose message names the culprit
        log.debug("evaluate failed", exc_info=True)
        print(f"driftsnap evaluate: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    data = snapshot.to_json()
    if args.output:
        try:
            Path(args.output).write_bytes(data)
        except OSError as exc:
            print(f"driftsnap evaluate: error: cannot write {args.output}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    else:
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.flush()
    return 0
