"""The sinks a snapshot goes to, and the one loop that writes a snapshot to all of them.

Shared by ``driftsnap run`` and ``driftsnap replay`` (so both write the same workspace the same
way) and by the window and quality publication paths (so both count failures the same way).
"""

from __future__ import annotations

import logging

import polars as pl

from evaluation.snapshot import Snapshot
from publisher import (
    PrometheusSink,
    ServiceMetrics,
    SnapshotMetrics,
    SnapshotSink,
    Workspace,
    WorkspaceSink,
)
from service.config import Settings

log = logging.getLogger(__name__)


def open_workspace(settings: Settings) -> Workspace:
    """The configured workspace, with the configured project created if missing."""
    ws = Workspace.create(
        settings.workspace.path, max_snapshot_bytes=settings.workspace.max_snapshot_bytes
    )
    ws.ensure_project(
        settings.project.id,
        name=settings.project.name or settings.project.id,
        description=settings.project.description,
    )
    return ws


def local_sinks(
    settings: Settings, workspace: Workspace, snapshot_metrics: SnapshotMetrics
) -> list[SnapshotSink]:
    """The workspace and the Prometheus gauges (the Kafka snapshot topic is added by ``run``)."""
    return [
        WorkspaceSink(
            workspace,
            project_id=settings.project.id,
            include_data=settings.workspace.include_data,
        ),
        PrometheusSink(snapshot_metrics, project=settings.project.id),
    ]


def publish_to_sinks(
    sinks: list[SnapshotSink] | tuple[SnapshotSink, ...],
    snapshot: Snapshot,
    data: pl.DataFrame | None,
    *,
    metrics: ServiceMetrics | None,
    project: str,
) -> bool:
    """Write ``snapshot`` to every sink in order; False at the first failure (logged and
    counted in ``driftsnap_publish_failures_total{sink}``): the caller keeps it pending and
    retries, so its offsets stay uncommitted meanwhile."""
    for sink in sinks:
        try:
            sink.publish(snapshot, data)
        except Exception as exc:  # noqa: BLE001 - any sink failure keeps the snapshot pending
            log.warning(
                "publish failed sink=%s snapshot=%s error=%s (will retry)",
                sink.name,
                snapshot.id,
                exc,
            )
            if metrics is not None:
                metrics.publish_failures.labels(sink=sink.name).inc()
            return False
        if metrics is not None:
            metrics.snapshots_published.labels(project=project, sink=sink.name).inc()
    return True
