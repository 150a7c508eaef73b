"""The workspace: a folder of projects, each holding JSON snapshots (Evidently's model).

Layout::

    <workspace>/
        driftsnap-workspace.json          marker written by Workspace.create
        .driftsnap-index.sqlite           listing index (a cache, rebuilt from the files)
        <project_id>/project.json         {"id", "name", "description", "created_at"}
        <project_id>/snapshots/<id>.json  one Snapshot document per file
        <project_id>/data/<id>.parquet    the window's rows, only with include_data

Every file is written atomically (temporary file in the same folder, fsync, ``os.replace``,
fsync of the folder), so a reader sees the old or the new file, never a part. Writing a snapshot
id again replaces the file: a replay after a crash rewrites the same snapshot. Project ids are a
random UUID4 (``create_project(name)``) or an explicit slug chosen by the service config
(``create_project(name, project_id="fraud-prod")`` / ``ensure_project("fraud-prod")``); both go
through the id rules of ``publisher.files.validate_id``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

import orjson
import polars as pl

from evaluation.snapshot import Snapshot, SnapshotError
from publisher.errors import (
    CorruptFileError,
    InvalidIdError,
    ProjectExistsError,
    ProjectNotFoundError,
    SnapshotNotFoundError,
    SnapshotTooLargeError,
    WorkspaceError,
    WorkspaceNotFoundError,
)
from publisher.files import (
    TEMP_SUFFIX,
    atomic_write,
    atomic_write_bytes,
    create_exclusive,
    fsync_dir,
    validate_id,
)
from publisher.index import SnapshotIndex
from publisher.records import (
    Project,
    SnapshotEntry,
    aware,
    entry_from_row,
    from_ms,
    index_row,
    iso,
    parse_project,
    to_ms,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_SNAPSHOT_BYTES = 5 * 1024 * 1024
MARKER_FILE = "driftsnap-workspace.json"
PROJECT_FILE = "project.json"


class Workspace:
    """A local (or shared-storage) folder of projects and snapshots.

    ``max_snapshot_bytes`` rejects larger snapshots with ``SnapshotTooLargeError``. ``fsync``
    may be turned off for tests and benchmarks only. ``journal_mode`` is the index's SQLite
    journal: WAL (default) lets several processes on one host share the workspace; on a network
    filesystem, where WAL cannot work, use "DELETE".
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_snapshot_bytes: int = DEFAULT_MAX_SNAPSHOT_BYTES,
        fsync: bool = True,
        journal_mode: str = "WAL",
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            msg = (
                f"no workspace at {self.path}: the folder does not exist; create it with "
                "Workspace.create(path) or `driftsnap workspace create NAME`"
            )
            raise WorkspaceNotFoundError(msg)
        if max_snapshot_bytes <= 0:
            msg = f"max_snapshot_bytes must be positive, got {max_snapshot_bytes}"
            raise ValueError(msg)
        self.max_snapshot_bytes = max_snapshot_bytes
        self.fsync = fsync
        self._index = SnapshotIndex(
            self.path, journal_mode=journal_mode, busy_timeout_s=busy_timeout_s
        )

    @classmethod
    def create(cls, path: str | os.PathLike[str], **kwargs: Any) -> Self:
        """Create the workspace folder if needed (idempotent) and open it."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        marker = orjson.dumps({"format": 1, "created_at": iso(datetime.now(UTC))})
        create_exclusive(root / MARKER_FILE, marker, fsync=kwargs.get("fsync", True))
        return cls(root, **kwargs)

    def close(self) -> None:
        self._index.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # -- paths ----------------------------------------------------------------------------
    def _project_dir(self, project_id: str) -> Path:
        return self.path / validate_id(project_id, kind="project id")

    def snapshot_path(self, project_id: str, snapshot_id: str) -> Path:
        sid = validate_id(snapshot_id, kind="snapshot id")
        return self._project_dir(project_id) / "snapshots" / f"{sid}.json"

    def data_path(self, project_id: str, snapshot_id: str) -> Path:
        sid = validate_id(snapshot_id, kind="snapshot id")
        return self._project_dir(project_id) / "data" / f"{sid}.parquet"

    # -- projects -------------------------------------------------------------------------
    def create_project(
        self, name: str, description: str | None = None, *, project_id: str | None = None
    ) -> Project:
        """Create a project; its id is ``project_id`` if given (a slug), else a UUID4."""
        if not isinstance(name, str) or not name.strip():
            msg = f"project name must be a non-empty string, got {name!r}"
            raise WorkspaceError(msg)
        pid = validate_id(project_id if project_id is not None else str(uuid.uuid4()),
                          kind="project id")  # fmt: skip
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored (ms)
        project = Project(pid, name, description, now)
        folder = self.path / pid
        for sub in (folder / "snapshots", folder / "data"):
            sub.mkdir(parents=True, exist_ok=True)
        payload = orjson.dumps(project.to_dict(), option=orjson.OPT_INDENT_2)
        if not create_exclusive(folder / PROJECT_FILE, payload, fsync=self.fsync):
            msg = f"project id {pid!r} already exists in {self.path}; pick another id"
            raise ProjectExistsError(msg)
        if self.fsync:
            fsync_dir(self.path)
        return project

    def ensure_project(
        self, project_id: str, name: str | None = None, description: str | None = None
    ) -> Project:
        """Return the project ``project_id``, creating it (named ``name`` or its id) if absent.

        Safe when several service instances call it at once: exactly one creates it.
        """
        try:
            return self.get_project(project_id)
        except ProjectNotFoundError:
            pass
        try:
            return self.create_project(name or project_id, description, project_id=project_id)
        except ProjectExistsError:
            return self.get_project(project_id)

    def get_project(self, project_id: str) -> Project:
        path = self._project_dir(project_id) / PROJECT_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            msg = f"no project {project_id!r} in workspace {self.path}"
            raise ProjectNotFoundError(msg) from None
        return parse_project(raw, path)

    def list_projects(self) -> list[Project]:
        """All projects, oldest first. A corrupt project.json is logged and skipped."""
        projects = []
        with os.scandir(self.path) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_dir():
                    continue
                try:
                    projects.append(self.get_project(entry.name))
                except (InvalidIdError, ProjectNotFoundError):
                    continue
                except CorruptFileError as exc:
                    log.warning("skipping project folder=%s: %s", entry.path, exc)
        return sorted(projects, key=lambda p: (p.created_at, p.name, p.id))

    def search_project(self, name: str) -> list[Project]:
        """Projects whose name equals ``name`` (names need not be unique)."""
        return [p for p in self.list_projects() if p.name == name]

    def _require_project(self, project_id: str) -> str:
        self.get_project(project_id)
        return project_id

    # -- snapshots: write -----------------------------------------------------------------
    def add_snapshot(
        self,
        project_id: str,
        snapshot: Snapshot,
        include_data: bool = False,
        data: pl.DataFrame | None = None,
    ) -> SnapshotEntry:
        """Store ``snapshot`` in the project (replacing one with the same id).

        With ``include_data`` the window's rows (``data``) are written first, as
        ``data/<id>.parquet``, so a visible snapshot always has its data beside it.
        """
        pid = self._require_project(project_id)
        sid = validate_id(snapshot.id, kind="snapshot id")
        if include_data and data is None:
            msg = "include_data=True needs the window's rows: pass data=<polars DataFrame>"
            raise WorkspaceError(msg)
        if snapshot.project_id != pid:
            snapshot = snapshot.model_copy(update={"project_id": pid})
        payload = snapshot.to_json()
        self._check_size(sid, len(payload))
        path = self.snapshot_path(pid, sid)
        with self._index.transaction() as db:
            fresh = self._is_fresh(db, pid)
            if include_data and data is not None:
                path.parent.parent.joinpath("data").mkdir(exist_ok=True)
                frame = data

                def write_parquet(fh: BinaryIO) -> None:
                    frame.write_parquet(fh)

                atomic_write(self.data_path(pid, sid), write_parquet, fsync=self.fsync)
            path.parent.mkdir(exist_ok=True)
            atomic_write_bytes(path, payload, fsync=self.fsync)
            row = index_row(snapshot, os.stat(path))
            SnapshotIndex.upsert(db, pid, row)
            if fresh:
                SnapshotIndex.set_dir_state(db, pid, _mtime(path.parent))
        return entry_from_row(pid, row)

    def add_tags(self, project_id: str, snapshot_id: str, tags: Iterable[str]) -> Snapshot:
        """Add ``tags`` (kept in order, without duplicates) to a stored snapshot."""
        new = [tags] if isinstance(tags, str) else list(tags)
        if not all(isinstance(t, str) and t for t in new):
            msg = f"tags must be non-empty strings, got {new!r}"
            raise WorkspaceError(msg)
        pid = self._require_project(project_id)
        path = self.snapshot_path(pid, snapshot_id)
        with self._index.transaction() as db:
            fresh = self._is_fresh(db, pid)
            snapshot = self._read(path, snapshot_id, pid)
            merged = list(dict.fromkeys([*snapshot.tags, *new]))
            if merged != snapshot.tags:
                snapshot = snapshot.model_copy(update={"tags": merged})
                payload = snapshot.to_json()
                self._check_size(snapshot_id, len(payload))
                atomic_write_bytes(path, payload, fsync=self.fsync)
                SnapshotIndex.upsert(db, pid, index_row(snapshot, os.stat(path)))
                if fresh:
                    SnapshotIndex.set_dir_state(db, pid, _mtime(path.parent))
        return snapshot

    def delete_snapshot(self, project_id: str, snapshot_id: str) -> None:
        """Delete a snapshot and its data file; ``SnapshotNotFoundError`` if there is none."""
        pid = self._require_project(project_id)
        path = self.snapshot_path(pid, snapshot_id)
        with self._index.transaction() as db:
            existed = self._delete_files(db, pid, snapshot_id)
        if not existed:
            msg = f"no snapshot {snapshot_id!r} in project {pid!r}"
            raise SnapshotNotFoundError(msg)
        log.debug("deleted snapshot project=%s snapshot=%s path=%s", pid, snapshot_id, path)

    def _delete_files(self, db: Any, pid: str, snapshot_id: str) -> bool:
        path = self.snapshot_path(pid, snapshot_id)
        fresh = self._is_fresh(db, pid)
        existed = True
        try:
            os.unlink(path)
        except FileNotFoundError:
            existed = False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.data_path(pid, snapshot_id))
        SnapshotIndex.delete(db, pid, snapshot_id)
        if self.fsync:
            fsync_dir(path.parent)
        if fresh:
            SnapshotIndex.set_dir_state(db, pid, _mtime(path.parent))
        return existed

    def apply_retention(
        self,
        project_id: str,
        *,
        max_age: timedelta | None = None,
        max_snapshots: int | None = None,
        now: datetime | None = None,
    ) -> list[str]:
        """Delete snapshots older than ``max_age`` (by snapshot timestamp) and all but the
        ``max_snapshots`` newest; return the deleted ids. Also removes temporary files left by
        writers that were killed mid-write (older than an hour)."""
        if max_age is not None and max_age <= timedelta(0):
            msg = f"max_age must be positive, got {max_age}"
            raise ValueError(msg)
        if max_snapshots is not None and max_snapshots < 0:
            msg = f"max_snapshots must be >= 0, got {max_snapshots}"
            raise ValueError(msg)
        entries = self.list_snapshots(project_id)
        doomed: list[str] = []
        if max_snapshots is not None:
            doomed.extend(e.id for e in entries[max_snapshots:])
        if max_age is not None:
            cutoff = aware(now, "now") if now is not None else datetime.now(UTC)
            cutoff -= max_age
            doomed.extend(e.id for e in entries if e.timestamp < cutoff and e.id not in doomed)
        if doomed:
            with self._index.transaction() as db:
                for sid in doomed:
                    self._delete_files(db, project_id, sid)
            log.info("retention deleted project=%s count=%d", project_id, len(doomed))
        self.remove_temp_files(project_id)
        return doomed

    def remove_temp_files(
        self, project_id: str, *, older_than: timedelta = timedelta(hours=1)
    ) -> int:
        """Remove temporary files of writers killed mid-write; return how many were removed."""
        limit = time.time() - older_than.total_seconds()
        removed = 0
        for sub in ("snapshots", "data"):
            folder = self._project_dir(project_id) / sub
            for tmp in folder.glob(f".*{TEMP_SUFFIX}"):
                with contextlib.suppress(FileNotFoundError):
                    if tmp.stat().st_mtime < limit:
                        tmp.unlink()
                        removed += 1
        return removed

    def _check_size(self, sid: str, size: int) -> None:
        if size > self.max_snapshot_bytes:
            msg = (
                f"snapshot {sid!r} is {size} bytes, over the workspace limit of "
                f"{self.max_snapshot_bytes} bytes; drop render data or columns, or raise "
                "max_snapshot_bytes"
            )
            raise SnapshotTooLargeError(msg)

    # -- snapshots: read ------------------------------------------------------------------
    def get_snapshot(self, project_id: str, snapshot_id: str) -> Snapshot:
        """Read and validate one snapshot file."""
        pid = self._require_project(project_id)
        return self._read(self.snapshot_path(pid, snapshot_id), snapshot_id, pid)

    def get_snapshot_data(self, project_id: str, snapshot_id: str) -> pl.DataFrame | None:
        """The rows stored with ``include_data``, or None."""
        path = self.data_path(self._require_project(project_id), snapshot_id)
        try:
            return pl.read_parquet(path)
        except FileNotFoundError:
            return None

    def _read(self, path: Path, snapshot_id: str, pid: str) -> Snapshot:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            msg = f"no snapshot {snapshot_id!r} in project {pid!r}"
            raise SnapshotNotFoundError(msg) from None
        try:
            snapshot = Snapshot.from_json(raw, source=str(path))
        except SnapshotError as exc:
            msg = f"corrupt snapshot file: {exc}"
            raise CorruptFileError(msg) from exc
        if snapshot.id != snapshot_id:
            msg = f"{path}: holds snapshot id {snapshot.id!r}, expected {snapshot_id!r}"
            raise CorruptFileError(msg)
        return snapshot

    def list_snapshots(
        self,
        project_id: str,
        tags: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
    ) -> list[SnapshotEntry]:
        """Snapshots newest first, from the index (no snapshot file is parsed).

        A snapshot is kept when it carries every tag in ``tags``, ``since <= timestamp <
        until``, and each ``metadata`` key has exactly the given value.
        """
        pid = self._require_project(project_id)
        wanted = [tags] if isinstance(tags, str) else list(tags or ())
        since_ms = None if since is None else to_ms(aware(since, "since"))
        until_ms = None if until is None else to_ms(aware(until, "until"))
        if limit is not None and limit < 0:
            msg = f"limit must be >= 0, got {limit}"
            raise ValueError(msg)
        self._refresh(pid)
        with self._index.reading() as db:
            rows = SnapshotIndex.query(
                db, pid, tags=wanted, since_ms=since_ms, until_ms=until_ms,
                limit=None if metadata else limit,
            )  # fmt: skip
        out = []
        for sid, name, ts, ws, we, tags_json, meta_json, size in rows:
            meta = orjson.loads(meta_json)
            if metadata and any(meta.get(k, _MISSING) != v for k, v in metadata.items()):
                continue
            out.append(
                SnapshotEntry(
                    sid, pid, name, from_ms(ts), tuple(orjson.loads(tags_json)), meta,
                    None if ws is None else from_ms(ws), None if we is None else from_ms(we),
                    size,
                )
            )  # fmt: skip
            if limit is not None and len(out) >= limit:
                break
        return out

    # -- index ----------------------------------------------------------------------------
    def _is_fresh(self, db: Any, pid: str) -> bool:
        recorded = SnapshotIndex.dir_state(db, pid)
        return recorded is not None and recorded == _mtime(self.path / pid / "snapshots")

    def _refresh(self, pid: str, *, force: bool = False) -> None:
        """Bring the project's index rows in line with its files if the folder changed."""
        with self._index.reading() as db:
            if not force and self._is_fresh(db, pid):
                return
        folder = self.path / pid / "snapshots"
        with self._index.transaction() as db:
            if not force and self._is_fresh(db, pid):
                return  # another process reconciled meanwhile
            before = _mtime(folder)  # taken first: a change during the scan shows next time
            known = {} if force else SnapshotIndex.file_stats(db, pid)
            seen: set[str] = set()
            reread = 0
            with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
                for entry in entries:
                    sid = _snapshot_file_id(entry.name)
                    if sid is None:
                        continue
                    try:
                        st = entry.stat()
                    except FileNotFoundError:
                        continue
                    if known.get(sid) == (st.st_mtime_ns, st.st_size):
                        seen.add(sid)
                        continue
                    reread += 1
                    try:
                        snapshot = self._read(Path(entry.path), sid, pid)
                    except (CorruptFileError, SnapshotNotFoundError) as exc:
                        log.warning("not indexing snapshot file=%s: %s", entry.path, exc)
                        continue
                    seen.add(sid)
                    SnapshotIndex.upsert(db, pid, index_row(snapshot, st))
            gone = (set(SnapshotIndex.file_stats(db, pid)) if force else set(known)) - seen
            for sid in gone:
                SnapshotIndex.delete(db, pid, sid)
            SnapshotIndex.set_dir_state(db, pid, before)
        log.debug("reindexed project=%s reread=%d removed=%d", pid, reread, len(gone))

    def reindex(self, project_id: str | None = None) -> None:
        """Re-read every snapshot file of one project (or all) into the index."""
        pids = [project_id] if project_id is not None else [p.id for p in self.list_projects()]
        for pid in pids:
            self._refresh(self._require_project(pid), force=True)


_MISSING = object()


def _snapshot_file_id(name: str) -> str | None:
    if name.startswith(".") or not name.endswith(".json"):
        return None
    try:
        return validate_id(name[: -len(".json")], kind="snapshot file name")
    except InvalidIdError:
        log.warning("ignoring file with an invalid snapshot id: %s", name)
        return None


def _mtime(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return -1
