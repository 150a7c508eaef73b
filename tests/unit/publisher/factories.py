"""Snapshot factories for publisher tests (also used by the snapshot-topic integration test)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from evaluation.snapshot import MetricResult, Snapshot, TestResult, WindowInfo

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def drift_metric(columns: Mapping[str, tuple[str, float | None, bool]]) -> MetricResult:
    """``columns``: name -> (stattest, drift_score, drift_detected)."""
    drifted = sum(1 for _, _, d in columns.values() if d)
    n = len(columns)
    return MetricResult(
        id="data_drift",
        type="data_drift",
        params={"drift_share": 0.5},
        result={
            "drift_share": 0.5,
            "number_of_columns": n,
            "number_of_drifted_columns": drifted,
            "share_of_drifted_columns": drifted / n if n else 0.0,
            "dataset_drift": n > 0 and drifted / n >= 0.5,
            "columns": {
                name: {
                    "column_type": "num" if test != "chisquare" else "cat",
                    "stattest": test,
                    "stattest_threshold": 0.05 if test in ("ks", "chisquare") else 0.1,
                    "drift_score": score,
                    "drift_detected": detected,
                    "status": "ok",
                }
                for name, (test, score, detected) in columns.items()
            },
        },
    )


def make_snapshot(
    snapshot_id: str = "snap-1",
    *,
    project_id: str | None = None,
    end: datetime = T0,
    minutes: int = 5,
    model: str = "fraud",
    variant: str = "champion",
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    columns: Mapping[str, tuple[str, float | None, bool]] | None = None,
    missing: dict[str, float] | None = None,
    quality: dict[str, Any] | None = None,
    tests: list[tuple[str, str]] | None = None,
    padding: int = 0,
) -> Snapshot:
    if columns is None:
        columns = {
            "amount": ("ks", 0.001, True),
            "age": ("wasserstein", 0.02, False),
            "country": ("chisquare", 0.3, False),
        }
    metrics = [drift_metric(columns)]
    if missing is not None:
        metrics.append(
            MetricResult(
                id="data_quality",
                type="data_quality",
                result={"columns": {c: {"missing_share": v} for c, v in missing.items()}},
            )
        )
    if quality is not None:
        metrics.append(MetricResult(id="model_quality", type="model_quality", result=quality))
    if padding:
        metrics.append(MetricResult(id="render", type="render", result={"blob": "x" * padding}))
    return Snapshot(
        id=snapshot_id,
        project_id=project_id,
        name=f"{model}/{variant}",
        timestamp=end,
        window=WindowInfo(
            start=end - timedelta(minutes=minutes),
            end=end,
            key={"model_id": model, "variant": variant},
        ),
        tags=tags if tags is not None else [variant],
        metadata={"model_id": model, "batch_size": 1000, **(metadata or {})},
        metrics=metrics,
        tests=[
            TestResult(name=name, status=status)  # type: ignore[arg-type]
            for name, status in (tests or [("drift_share", "SUCCESS")])
        ],
    )
