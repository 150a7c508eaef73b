"""The workspace's value types (``Project``, ``SnapshotEntry``) and their (de)serialisation."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from evaluation.snapshot import Snapshot, clean_json
from publisher.errors import CorruptFileError
from publisher.files import validate_id
from publisher.index import IndexRow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    description: str | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "created_at": iso(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class SnapshotEntry:
    """What a listing returns: read from the index, without opening the snapshot file."""

    id: str
    project_id: str
    name: str
    timestamp: datetime
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    window_start: datetime | None
    window_end: datetime | None
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project_id": self.project_id,
            "name": self.name,
            "timestamp": iso(self.timestamp),
            "tags": list(self.tags),
            "metadata": self.metadata,
            "window_start": None if self.window_start is None else iso(self.window_start),
            "window_end": None if self.window_end is None else iso(self.window_end),
            "size_bytes": self.size_bytes,
        }


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_ms(ts: datetime) -> int:
    return (ts.astimezone(UTC) - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        msg = f"{what}={value.isoformat()} has no timezone; pass an aware datetime (UTC)"
        raise ValueError(msg)
    return value


def index_row(snapshot: Snapshot, st: os.stat_result) -> IndexRow:
    tags = tuple(dict.fromkeys(snapshot.tags))
    window = snapshot.window
    return IndexRow(
        id=snapshot.id,
        name=snapshot.name,
        timestamp_ms=to_ms(snapshot.timestamp),
        window_start_ms=None if window is None else to_ms(window.start),
        window_end_ms=None if window is None else to_ms(window.end),
        tags=tags,
        tags_json=orjson.dumps(list(snapshot.tags)).decode(),
        metadata_json=orjson.dumps(clean_json(snapshot.metadata)).decode(),
        mtime_ns=st.st_mtime_ns,
        size=st.st_size,
    )


def entry_from_row(pid: str, row: IndexRow) -> SnapshotEntry:
    return SnapshotEntry(
        row.id, pid, row.name, from_ms(row.timestamp_ms), tuple(orjson.loads(row.tags_json)),
        orjson.loads(row.metadata_json),
        None if row.window_start_ms is None else from_ms(row.window_start_ms),
        None if row.window_end_ms is None else from_ms(row.window_end_ms),
        row.size,
    )  # fmt: skip


def parse_project(raw: bytes, path: Path) -> Project:
    try:
        doc = orjson.loads(raw)
        if not isinstance(doc, dict):
            raise TypeError("not a JSON object")  # noqa: TRY301
        created = datetime.fromisoformat(str(doc["created_at"]).replace("Z", "+00:00"))
        description = doc.get("description")
        project = Project(
            validate_id(doc["id"], kind="project id"),
            str(doc["name"]),
            None if description is None else str(description),
            created if created.tzinfo else created.replace(tzinfo=UTC),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        msg = f"{path}: not a valid project file ({type(exc).__name__}: {exc})"
        raise CorruptFileError(msg) from exc
    if project.id != path.parent.name:
        msg = f"{path}: holds project id {project.id!r} but lives in folder {path.parent.name!r}"
        raise CorruptFileError(msg)
    return project
