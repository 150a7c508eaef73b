"""The SQLite listing index: rebuilt when missing, corrupt or stale; shared by writers."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from publisher.index import INDEX_FILE
from publisher.workspace import Workspace
from tests.unit.publisher.factories import make_snapshot

ROOT = Path(__file__).resolve().parents[3]


def _ids(ws: Workspace, project: str) -> set[str]:
    return {e.id for e in ws.list_snapshots(project)}


def _fill(ws: Workspace, project: str, n: int = 5) -> None:
    for i in range(n):
        ws.add_snapshot(project, make_snapshot(f"s{i}", tags=["t", f"n{i}"]))


def _remove_index(root: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (root / f"{INDEX_FILE}{suffix}").unlink(missing_ok=True)


def test_index_lives_in_the_workspace_folder_in_wal_mode(ws: Workspace, project_id: str) -> None:
    _fill(ws, project_id, 1)
    db = sqlite3.connect(ws.path / INDEX_FILE)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def test_rebuilt_when_the_sqlite_file_is_deleted(ws: Workspace, project_id: str) -> None:
    _fill(ws, project_id)
    ws.close()
    _remove_index(ws.path)
    with Workspace(ws.path) as fresh:
        assert _ids(fresh, project_id) == {f"s{i}" for i in range(5)}
        assert [e.id for e in fresh.list_snapshots(project_id, tags=["n3"])] == ["s3"]


def test_rebuilt_when_deleted_under_an_open_workspace(ws: Workspace, project_id: str) -> None:
    _fill(ws, project_id)
    assert len(_ids(ws, project_id)) == 5
    _remove_index(ws.path)
    assert _ids(ws, project_id) == {f"s{i}" for i in range(5)}
    assert (ws.path / INDEX_FILE).exists()


def test_rebuilt_when_the_sqlite_file_is_garbage(ws: Workspace, project_id: str) -> None:
    _fill(ws, project_id)
    ws.close()
    _remove_index(ws.path)
    (ws.path / INDEX_FILE).write_bytes(b"this is not a database" * 100)
    with Workspace(ws.path) as fresh:
        assert _ids(fresh, project_id) == {f"s{i}" for i in range(5)}


def test_rebuilt_when_the_schema_version_is_unknown(ws: Workspace, project_id: str) -> None:
    _fill(ws, project_id)
    ws.close()
    db = sqlite3.connect(ws.path / INDEX_FILE)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with Workspace(ws.path) as fresh:
        assert _ids(fresh, project_id) == {f"s{i}" for i in range(5)}


def test_stale_when_a_file_is_added_behind_its_back(ws: Workspace, project_id: str) -> None:
    _fill(ws, project_id, 2)
    assert _ids(ws, project_id) == {"s0", "s1"}
    folder = ws.path / project_id / "snapshots"
    make_snapshot("copied", tags=["ext"]).save(folder / "copied.json")
    assert _ids(ws, project_id) == {"s0", "s1", "copied"}
    assert [e.id for e in ws.list_snapshots(project_id, tags=["ext"])] == ["copied"]


def test_stale_when_a_file_is_removed_behind_its_back(ws: Workspace, project_id: str) -> None:
    _fill(ws, project_id, 3)
    assert len(_ids(ws, project_id)) == 3
    (ws.path / project_id / "snapshots" / "s1.json").unlink()
    assert _ids(ws, project_id) == {"s0", "s2"}


def test_stale_when_a_file_is_replaced_by_rename(ws: Workspace, project_id: str) -> None:
    _fill(ws, project_id, 2)
    assert ws.list_snapshots(project_id, tags=["retagged"]) == []
    folder = ws.path / project_id / "snapshots"
    make_snapshot("s1", tags=["retagged"]).save(folder / ".tmp-s1")
    os.replace(folder / ".tmp-s1", folder / "s1.json")
    assert [e.id for e in ws.list_snapshots(project_id, tags=["retagged"])] == ["s1"]


def test_reindex_catches_an_in_place_edit(ws: Workspace, project_id: str) -> None:
    # an in-place rewrite does not touch the folder's mtime: documented, hence reindex()
    _fill(ws, project_id, 2)
    ws.list_snapshots(project_id)
    make_snapshot("s0", tags=["edited", "and-longer"]).save(
        ws.path / project_id / "snapshots" / "s0.json"
    )
    ws.reindex(project_id)
    assert [e.id for e in ws.list_snapshots(project_id, tags=["edited"])] == ["s0"]


def test_a_second_workspace_sees_the_first_ones_writes(ws: Workspace, project_id: str) -> None:
    with Workspace(ws.path) as other:
        assert _ids(other, project_id) == set()
        _fill(ws, project_id, 3)
        assert _ids(other, project_id) == {"s0", "s1", "s2"}
        other.delete_snapshot(project_id, "s0")
        assert _ids(ws, project_id) == {"s1", "s2"}


def test_threads_sharing_one_workspace(ws: Workspace, project_id: str) -> None:
    errors: list[BaseException] = []

    def write(prefix: str) -> None:
        try:
            for i in range(20):
                ws.add_snapshot(project_id, make_snapshot(f"{prefix}-{i}"))
                ws.list_snapshots(project_id, limit=5)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(_ids(ws, project_id)) == 80


def _writer(root: Path, project: str, prefix: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.unit.publisher.writer_proc", str(root), project, prefix,
         str(count)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.timeout(120)
def test_two_writer_processes_share_the_workspace(ws: Workspace, project_id: str) -> None:
    procs = [_writer(ws.path, project_id, p, 60) for p in ("a", "b")]
    procs.append(_writer(ws.path, project_id, "shared", 30))
    procs.append(_writer(ws.path, project_id, "shared", 30))
    seen_max = 0
    while any(p.poll() is None for p in procs):  # read while they write: never an error
        seen_max = max(seen_max, len(ws.list_snapshots(project_id)))
    for p in procs:
        out, err = p.communicate()
        assert p.returncode == 0, err
    files = {f[:-5] for f in os.listdir(ws.path / project_id / "snapshots") if f.endswith(".json")}
    expected = {f"a-{i}" for i in range(60)} | {f"b-{i}" for i in range(60)}
    expected |= {f"shared-{i}" for i in range(30)}
    assert files == expected
    assert _ids(ws, project_id) == expected
    with Workspace(ws.path) as other:
        assert _ids(other, project_id) == expected
        assert len(other.list_snapshots(project_id, tags=["shared"])) == 30
    for sid in expected:
        assert ws.get_snapshot(project_id, sid).id == sid
    assert seen_max <= len(expected)
