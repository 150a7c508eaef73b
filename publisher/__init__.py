"""Where snapshots go: the workspace store (projects of JSON snapshots), the Prometheus
exporter and the Kafka snapshot topic.

May import ``evaluation`` (the Snapshot model); must not import ``windowing`` internals,
``consumer`` or ``service``.
"""

from publisher.errors import (
    CorruptFileError,
    InvalidIdError,
    ProjectExistsError,
    ProjectNotFoundError,
    PublishError,
    SnapshotNotFoundError,
    SnapshotTooLargeError,
    WorkspaceError,
    WorkspaceNotFoundError,
)
from publisher.files import MAX_ID_LENGTH, validate_id
from publisher.kafka_sink import KafkaSnapshotSink, snapshot_summary
from publisher.metrics_server import MetricsServer
from publisher.prometheus import SeriesKey, ServiceMetrics, SnapshotMetrics
from publisher.records import Project, SnapshotEntry
from publisher.sinks import PrometheusSink, SnapshotSink, WorkspaceSink
from publisher.workspace import DEFAULT_MAX_SNAPSHOT_BYTES, Workspace

__all__ = [
    "DEFAULT_MAX_SNAPSHOT_BYTES",
    "MAX_ID_LENGTH",
    "CorruptFileError",
    "InvalidIdError",
    "KafkaSnapshotSink",
    "MetricsServer",
    "Project",
    "ProjectExistsError",
    "ProjectNotFoundError",
    "PrometheusSink",
    "PublishError",
    "SeriesKey",
    "ServiceMetrics",
    "SnapshotEntry",
    "SnapshotMetrics",
    "SnapshotNotFoundError",
    "SnapshotSink",
    "SnapshotTooLargeError",
    "Workspace",
    "WorkspaceError",
    "WorkspaceNotFoundError",
    "WorkspaceSink",
    "snapshot_summary",
    "validate_id",
]
