"""The workspace's SQLite index: what listing and filtering read instead of the JSON files.

The files are the truth; the index is a cache that can always be rebuilt from them. It lives in
``<workspace>/.driftsnap-index.sqlite`` and holds, per snapshot, the fields a listing needs
(id, name, timestamp, window bounds, tags, metadata) plus the file's ``mtime_ns`` and size, and,
per project, the ``mtime_ns`` of the ``snapshots/`` folder when the index last matched it.

Staleness is detected with one ``stat`` of the folder: creating, replacing (``os.replace``) or
deleting a snapshot file changes the folder's mtime. When it differs from the recorded value the
workspace reconciles: it lists the folder, compares each file's (mtime_ns, size) with the index
and re-reads only new or changed files. A missing, corrupt or old-schema index file is rebuilt
the same way. Several processes may share the index: WAL journal, a busy timeout, and every
change made inside ``BEGIN IMMEDIATE`` (one writer at a time, readers never blocked).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

INDEX_FILE = ".driftsnap-index.sqlite"
INDEX_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    project_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    window_start_ms INTEGER,
    window_end_ms INTEGER,
    tags TEXT NOT NULL,
    metadata TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS snapshots_by_time ON snapshots (project_id, timestamp_ms);
CREATE TABLE IF NOT EXISTS snapshot_tags (
    project_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    PRIMARY KEY (project_id, snapshot_id, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS snapshot_tags_by_tag ON snapshot_tags (project_id, tag, snapshot_id);
CREATE TABLE IF NOT EXISTS project_state (
    project_id TEXT PRIMARY KEY,
    dir_mtime_ns INTEGER NOT NULL
);
"""

_COLUMNS = "id, name, timestamp_ms, window_start_ms, window_end_ms, tags, metadata, size"


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One snapshot as stored in the index (JSON-encoded tags and metadata)."""

    id: str
    name: str
    timestamp_ms: int
    window_start_ms: int | None
    window_end_ms: int | None
    tags: tuple[str, ...]
    tags_json: str
    metadata_json: str
    mtime_ns: int
    size: int


class SnapshotIndex:
    """A thread-safe handle on the index file; reopens it if the file is deleted or replaced."""

    def __init__(
        self, root: Path, *, journal_mode: str = "WAL", busy_timeout_s: float = 30.0
    ) -> None:
        self.path = root / INDEX_FILE
        self._journal_mode = journal_mode
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None

    # -- connection -----------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
            check_same_thread=False,
        )
        try:
            db.execute(f"PRAGMA journal_mode={self._journal_mode}")
            db.execute("PRAGMA synchronous=NORMAL")  # the index can always be rebuilt
            db.execute("BEGIN IMMEDIATE")
            try:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, INDEX_SCHEMA_VERSION):
                    log.info("index schema %s is not %s; rebuilding", version, INDEX_SCHEMA_VERSION)
                    for table in ("snapshots", "snapshot_tags", "project_state"):
                        db.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={INDEX_SCHEMA_VERSION}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except BaseException:
            db.close()
            raise
        return db

    def _open(self) -> sqlite3.Connection:
        try:
            db = self._connect()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            log.warning("index %s is unreadable (%s); rebuilding it from the files", self.path, exc)
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")
            db = self._connect()
        st = os.stat(self.path)
        self._identity = (st.st_dev, st.st_ino)
        return db

    def _conn(self) -> sqlite3.Connection:
        """The open connection, reopened when the index file was deleted or replaced."""
        try:
            st = os.stat(self.path)
            identity: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            identity = None
        if self._db is None or identity != self._identity:
            if self._db is not None:
                log.info("index %s was removed or replaced; reopening", self.path)
                self._db.close()
                self._db = None
            self._db = self._open()
        return self._db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: one writer at a time across threads and processes."""
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn()

    # -- statements (called inside ``transaction``/``reading``) ------------------------------
    @staticmethod
    def dir_state(db: sqlite3.Connection, project_id: str) -> int | None:
        row = db.execute(
            "SELECT dir_mtime_ns FROM project_state WHERE project_id = ?", (project_id,)
        ).fetchone()
        return None if row is None else int(row[0])

    @staticmethod
    def set_dir_state(db: sqlite3.Connection, project_id: str, mtime_ns: int) -> None:
        db.execute(
            "INSERT INTO project_state (project_id, dir_mtime_ns) VALUES (?, ?) "
            "ON CONFLICT (project_id) DO UPDATE SET dir_mtime_ns = excluded.dir_mtime_ns",
            (project_id, mtime_ns),
        )

    @staticmethod
    def file_stats(db: sqlite3.Connection, project_id: str) -> dict[str, tuple[int, int]]:
        rows = db.execute(
            "SELECT id, mtime_ns, size FROM snapshots WHERE project_id = ?", (project_id,)
        )
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}

    @staticmethod
    def upsert(db: sqlite3.Connection, project_id: str, row: IndexRow) -> None:
        db.execute(
            "INSERT OR REPLACE INTO snapshots (project_id, id, name, timestamp_ms, "
            "window_start_ms, window_end_ms, tags, metadata, mtime_ns, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                project_id, row.id, row.name, row.timestamp_ms, row.window_start_ms,
                row.window_end_ms, row.tags_json, row.metadata_json, row.mtime_ns, row.size,
            ),
        )  # fmt: skip
        db.execute(
            "DELETE FROM snapshot_tags WHERE project_id = ? AND snapshot_id = ?",
            (project_id, row.id),
        )
        db.executemany(
            "INSERT OR IGNORE INTO snapshot_tags (project_id, tag, snapshot_id) VALUES (?, ?, ?)",
            [(project_id, tag, row.id) for tag in row.tags],
        )

    @staticmethod
    def delete(db: sqlite3.Connection, project_id: str, snapshot_id: str) -> None:
        db.execute(
            "DELETE FROM snapshots WHERE project_id = ? AND id = ?", (project_id, snapshot_id)
        )
        db.execute(
            "DELETE FROM snapshot_tags WHERE project_id = ? AND snapshot_id = ?",
            (project_id, snapshot_id),
        )

    @staticmethod
    def query(
        db: sqlite3.Connection,
        project_id: str,
        *,
        tags: Sequence[str] = (),
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, str, int, int | None, int | None, str, str, int]]:
        """Rows newest first; a snapshot must carry every tag in ``tags``."""
        sql = [f"SELECT {_COLUMNS} FROM snapshots WHERE project_id = ?"]
        args: list[object] = [project_id]
        if since_ms is not None:
            sql.append("AND timestamp_ms >= ?")
            args.append(since_ms)
        if until_ms is not None:
            sql.append("AND timestamp_ms < ?")
            args.append(until_ms)
        wanted = sorted(set(tags))
        if wanted:
            marks = ", ".join("?" * len(wanted))
            sql.append(
                "AND id IN (SELECT snapshot_id FROM snapshot_tags WHERE project_id = ? "
                f"AND tag IN ({marks}) GROUP BY snapshot_id HAVING COUNT(*) = ?)"
            )
            args.extend([project_id, *wanted, len(wanted)])
        sql.append("ORDER BY timestamp_ms DESC, id DESC")
        if limit is not None:
            sql.append("LIMIT ?")
            args.append(limit)
        return db.execute(" ".join(sql), args).fetchall()
