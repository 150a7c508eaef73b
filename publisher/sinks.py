"""The ``SnapshotSink`` port and the workspace and Prometheus sinks (the Kafka one lives in
``publisher.kafka_sink``). The service publishes each closed window's snapshot to every sink
and commits offsets only when all of them returned without raising."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import polars as pl

from evaluation.snapshot import Snapshot
from publisher.errors import WorkspaceError
from publisher.prometheus import SnapshotMetrics
from publisher.workspace import Workspace


@runtime_checkable
class SnapshotSink(Protocol):
    """Somewhere a snapshot goes. ``publish`` returns only once the snapshot is durable there
    and raises otherwise; publishing the same snapshot id again must be harmless."""

    name: str

    def publish(self, snapshot: Snapshot, data: pl.DataFrame | None) -> None: ...

    def close(self) -> None: ...


class WorkspaceSink:
    """Write snapshots to a workspace project.

    The project is ``project_id`` if given, else the snapshot's own ``project_id``; with
    ``create_projects`` a missing project is created (named after its id). With
    ``include_data`` the window's rows are stored beside the snapshot when the service passes
    them.
    """

    name = "workspace"

    def __init__(
        self,
        workspace: Workspace,
        *,
        project_id: str | None = None,
        include_data: bool = False,
        create_projects: bool = True,
    ) -> None:
        self.workspace = workspace
        self.project_id = project_id
        self.include_data = include_data
        self.create_projects = create_projects
        self._known: set[str] = set()

    def publish(self, snapshot: Snapshot, data: pl.DataFrame | None = None) -> None:
        pid = self.project_id or snapshot.project_id
        if not pid:
            msg = f"snapshot {snapshot.id!r} has no project_id and the sink has none configured"
            raise WorkspaceError(msg)
        if self.create_projects and pid not in self._known:
            self.workspace.ensure_project(pid)
            self._known.add(pid)
        with_data = self.include_data and data is not None
        self.workspace.add_snapshot(pid, snapshot, include_data=with_data, data=data)

    def close(self) -> None:
        self.workspace.close()


class PrometheusSink:
    """Replace the snapshot gauges of the snapshot's (project, model, variant)."""

    name = "prometheus"

    def __init__(self, metrics: SnapshotMetrics, *, project: str | None = None) -> None:
        self.metrics = metrics
        self.project = project

    def publish(self, snapshot: Snapshot, data: pl.DataFrame | None = None) -> None:
        del data
        self.metrics.update(snapshot, project=self.project)

    def close(self) -> None:
        """Nothing to release: the gauges stay until the process ends."""
