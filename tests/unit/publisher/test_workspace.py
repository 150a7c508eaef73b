"""The Workspace API: projects, snapshots, ids, size guard, retention, corrupt files."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from evaluation.snapshot import Snapshot
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
from publisher.files import MAX_ID_LENGTH, validate_id
from publisher.workspace import Workspace
from tests.unit.publisher.factories import T0, make_snapshot

# -- workspace and projects ----------------------------------------------------------------


def test_opening_a_missing_folder_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFoundError, match=r"Workspace\.create"):
        Workspace(tmp_path / "nope")


def test_create_is_idempotent_and_keeps_projects(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "ws") as ws:
        ws.create_project("A", project_id="a")
    with Workspace.create(tmp_path / "ws") as ws:
        assert [p.id for p in ws.list_projects()] == ["a"]


def test_create_project_defaults_to_a_uuid_and_round_trips(ws: Workspace) -> None:
    project = ws.create_project("Fraud model", description="prod traffic")
    assert uuid.UUID(project.id).version == 4
    assert project.created_at.tzinfo is not None
    assert ws.get_project(project.id) == project
    assert (ws.path / project.id / "project.json").is_file()
    assert (ws.path / project.id / "snapshots").is_dir()


def test_create_project_with_an_explicit_slug(ws: Workspace) -> None:
    project = ws.create_project("Fraud", project_id="fraud-prod")
    assert project.id == "fraud-prod"
    with pytest.raises(ProjectExistsError, match="fraud-prod"):
        ws.create_project("Other", project_id="fraud-prod")


def test_ensure_project_creates_once_then_returns_it(ws: Workspace) -> None:
    first = ws.ensure_project("churn", name="Churn", description="d")
    again = ws.ensure_project("churn", name="ignored")
    assert first == again
    assert again.name == "Churn"


@pytest.mark.parametrize("name", ["", "   "], ids=["empty", "blank"])
def test_project_name_must_not_be_empty(ws: Workspace, name: str) -> None:
    with pytest.raises(WorkspaceError, match="non-empty"):
        ws.create_project(name)


def test_get_unknown_project_raises_not_found(ws: Workspace) -> None:
    with pytest.raises(ProjectNotFoundError, match="no project 'ghost'"):
        ws.get_project("ghost")


def test_list_and_search_projects(ws: Workspace) -> None:
    a = ws.create_project("Fraud", project_id="a")
    b = ws.create_project("Churn", project_id="b")
    c = ws.create_project("Fraud", project_id="c")
    assert ws.list_projects() == [a, b, c]  # oldest first
    assert ws.search_project("Fraud") == [a, c]
    assert ws.search_project("nothing") == []


def test_list_projects_skips_corrupt_and_foreign_folders(ws: Workspace) -> None:
    ws.create_project("Good", project_id="good")
    (ws.path / "bad").mkdir()
    (ws.path / "bad" / "project.json").write_text("{not json")
    (ws.path / "not-a-project").mkdir()
    assert [p.id for p in ws.list_projects()] == ["good"]
    with pytest.raises(CorruptFileError, match="bad"):
        ws.get_project("bad")


# -- ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("../etc", "separator"),
        ("a/b", "separator"),
        ("a\\b", "separator"),
        ("a..b", "'..'"),
        ("..", "'..'"),
        (".hidden", "not allowed"),  # would hide among temporary files
        ("-rf", "not allowed"),  # would read as a CLI option
        ("sp ace", "not allowed"),
        ("caf\u00e9", "not allowed"),
        ("nul\x00", "not allowed"),
        ("x" * (MAX_ID_LENGTH + 1), "characters long"),
    ],
)
def test_bad_ids_are_rejected_with_the_reason(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdError, match=reason):
        validate_id(value)


@pytest.mark.parametrize("value", ["a", "fraud-prod", "v1.2_x", "A" * MAX_ID_LENGTH, "0abc"])
def test_good_ids_pass(value: str) -> None:
    assert validate_id(value) == value


def test_bad_ids_are_rejected_by_every_call(ws: Workspace, project_id: str) -> None:
    with pytest.raises(InvalidIdError):
        ws.create_project("x", project_id="../up")
    with pytest.raises(InvalidIdError):
        ws.get_project("a/b")
    with pytest.raises(InvalidIdError):
        ws.add_snapshot(project_id, make_snapshot("../../escape"))
    with pytest.raises(InvalidIdError):
        ws.get_snapshot(project_id, "a/b")
    with pytest.raises(InvalidIdError):
        ws.delete_snapshot(project_id, "..")
    with pytest.raises(InvalidIdError):
        ws.list_snapshots("../x")
    assert not (ws.path.parent / "escape.json").exists()


def test_invalid_id_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="separator"):
        validate_id("a/b")


# -- snapshots -----------------------------------------------------------------------------


def test_add_then_get_round_trips_and_sets_project_id(ws: Workspace, project_id: str) -> None:
    snap = make_snapshot("s1")
    entry = ws.add_snapshot(project_id, snap)
    assert entry.id == "s1"
    assert entry.tags == ("champion",)
    got = ws.get_snapshot(project_id, "s1")
    assert got.project_id == project_id
    assert got.model_dump() == snap.model_copy(update={"project_id": project_id}).model_dump()


def test_add_a_snapshot_loaded_from_a_file(ws: Workspace, project_id: str, tmp_path: Path) -> None:
    make_snapshot("from-file").save(tmp_path / "s.json")
    ws.add_snapshot(project_id, Snapshot.load(tmp_path / "s.json"))
    assert [e.id for e in ws.list_snapshots(project_id)] == ["from-file"]


def test_add_to_unknown_project_fails(ws: Workspace) -> None:
    with pytest.raises(ProjectNotFoundError):
        ws.add_snapshot("ghost", make_snapshot())


def test_same_id_rewrite_replaces(ws: Workspace, project_id: str) -> None:
    ws.add_snapshot(project_id, make_snapshot("s1", tags=["a"]))
    ws.add_snapshot(project_id, make_snapshot("s1", tags=["b"]))
    entries = ws.list_snapshots(project_id)
    assert [(e.id, e.tags) for e in entries] == [("s1", ("b",))]
    assert ws.get_snapshot(project_id, "s1").tags == ["b"]
    files = os.listdir(ws.path / project_id / "snapshots")
    assert files == ["s1.json"]  # no temporary file left behind


def test_include_data_writes_parquet_beside_the_snapshot(ws: Workspace, project_id: str) -> None:
    rows = pl.DataFrame({"amount": [1.0, 2.5], "country": ["DE", "FR"]})
    ws.add_snapshot(project_id, make_snapshot("s1"), include_data=True, data=rows)
    assert (ws.path / project_id / "data" / "s1.parquet").is_file()
    got = ws.get_snapshot_data(project_id, "s1")
    assert got is not None
    assert got.equals(rows)
    ws.add_snapshot(project_id, make_snapshot("s2"))
    assert ws.get_snapshot_data(project_id, "s2") is None


def test_include_data_without_rows_is_an_error(ws: Workspace, project_id: str) -> None:
    with pytest.raises(WorkspaceError, match="data="):
        ws.add_snapshot(project_id, make_snapshot(), include_data=True)


def test_size_guard_rejects_large_snapshots_without_writing(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "ws", max_snapshot_bytes=20_000) as ws:
        ws.create_project("p", project_id="p")
        ws.add_snapshot("p", make_snapshot("small"))
        with pytest.raises(SnapshotTooLargeError, match=r"over the workspace limit of 20000"):
            ws.add_snapshot("p", make_snapshot("big", padding=30_000))
        assert not (ws.path / "p" / "snapshots" / "big.json").exists()
        assert [e.id for e in ws.list_snapshots("p")] == ["small"]


def test_default_size_guard_is_5_mb(ws: Workspace) -> None:
    assert ws.max_snapshot_bytes == 5 * 1024 * 1024


def test_get_missing_snapshot(ws: Workspace, project_id: str) -> None:
    with pytest.raises(SnapshotNotFoundError, match="no snapshot 'nope'"):
        ws.get_snapshot(project_id, "nope")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{truncated", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"id": "s1"}', "field 'timestamp'"),
        (b"", "not valid JSON"),
    ],
    ids=["truncated", "array", "missing-field", "empty"],
)
def test_corrupt_snapshot_file_is_reported_and_not_listed(
    ws: Workspace, project_id: str, content: bytes, match: str
) -> None:
    ws.add_snapshot(project_id, make_snapshot("good"))
    (ws.path / project_id / "snapshots" / "s1.json").write_bytes(content)
    with pytest.raises(CorruptFileError, match=match):
        ws.get_snapshot(project_id, "s1")
    assert [e.id for e in ws.list_snapshots(project_id)] == ["good"]


def test_snapshot_file_under_another_id_is_corrupt(ws: Workspace, project_id: str) -> None:
    make_snapshot("other").save(ws.path / project_id / "snapshots" / "s1.json")
    with pytest.raises(CorruptFileError, match="expected 's1'"):
        ws.get_snapshot(project_id, "s1")


def test_delete_snapshot_removes_file_data_and_entry(ws: Workspace, project_id: str) -> None:
    rows = pl.DataFrame({"x": [1]})
    ws.add_snapshot(project_id, make_snapshot("s1"), include_data=True, data=rows)
    ws.add_snapshot(project_id, make_snapshot("s2"))
    ws.delete_snapshot(project_id, "s1")
    assert [e.id for e in ws.list_snapshots(project_id)] == ["s2"]
    assert not (ws.path / project_id / "data" / "s1.parquet").exists()
    with pytest.raises(SnapshotNotFoundError):
        ws.delete_snapshot(project_id, "s1")


def test_add_tags_merges_without_duplicates(ws: Workspace, project_id: str) -> None:
    ws.add_snapshot(project_id, make_snapshot("s1", tags=["shadow"]))
    updated = ws.add_tags(project_id, "s1", ["reviewed", "shadow", "incident-42"])
    assert updated.tags == ["shadow", "reviewed", "incident-42"]
    assert ws.get_snapshot(project_id, "s1").tags == updated.tags
    assert [e.id for e in ws.list_snapshots(project_id, tags=["reviewed"])] == ["s1"]
    assert ws.add_tags(project_id, "s1", "reviewed").tags == updated.tags  # a lone string
    with pytest.raises(SnapshotNotFoundError):
        ws.add_tags(project_id, "nope", ["x"])
    with pytest.raises(WorkspaceError, match="non-empty"):
        ws.add_tags(project_id, "s1", [""])


# -- listing -------------------------------------------------------------------------------


@pytest.fixture
def listed(ws: Workspace, project_id: str) -> Workspace:
    """Six snapshots an hour apart: s0 newest. Even ones are champion, odd ones shadow."""
    for i in range(6):
        variant = "champion" if i % 2 == 0 else "shadow"
        ws.add_snapshot(
            project_id,
            make_snapshot(
                f"s{i}",
                end=T0 - timedelta(hours=i),
                variant=variant,
                tags=[variant, "nightly"] if i < 3 else [variant],
                metadata={"region": "eu" if i < 4 else "us"},
            ),
        )
    return ws


def test_list_is_newest_first_with_light_entries(listed: Workspace, project_id: str) -> None:
    entries = listed.list_snapshots(project_id)
    assert [e.id for e in entries] == ["s0", "s1", "s2", "s3", "s4", "s5"]
    e = entries[1]
    assert e.timestamp == T0 - timedelta(hours=1)
    assert e.window_end == e.timestamp
    assert e.window_start == e.timestamp - timedelta(minutes=5)
    assert e.metadata == {"model_id": "fraud", "batch_size": 1000, "region": "eu"}
    assert e.name == "fraud/shadow"
    assert e.size_bytes > 0


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"tags": ["shadow"]}, ["s1", "s3", "s5"]),
        ({"tags": ["shadow", "nightly"]}, ["s1"]),  # every tag must be present
        ({"tags": "champion"}, ["s0", "s2", "s4"]),  # a lone string is one tag
        ({"tags": ["missing"]}, []),
        ({"since": T0 - timedelta(hours=2)}, ["s0", "s1", "s2"]),  # since is inclusive
        ({"until": T0 - timedelta(hours=4)}, ["s5"]),  # until is exclusive
        ({"metadata": {"region": "us"}}, ["s4", "s5"]),
        ({"metadata": {"region": "eu"}, "tags": ["champion"]}, ["s0", "s2"]),
        ({"metadata": {"absent": None}}, []),  # a missing key never matches
        ({"limit": 2}, ["s0", "s1"]),
        ({"limit": 1, "metadata": {"region": "us"}}, ["s4"]),
    ],
)
def test_list_filters(
    listed: Workspace, project_id: str, kwargs: dict[str, object], expected: list[str]
) -> None:
    assert [e.id for e in listed.list_snapshots(project_id, **kwargs)] == expected  # type: ignore[arg-type]


def test_list_rejects_naive_times(listed: Workspace, project_id: str) -> None:
    with pytest.raises(ValueError, match="no timezone"):
        listed.list_snapshots(project_id, since=datetime(2026, 1, 1))  # noqa: DTZ001


def test_list_does_not_open_snapshot_files(
    listed: Workspace, project_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed.list_snapshots(project_id)  # index now fresh

    def boom(*args: object, **kwargs: object) -> Snapshot:
        raise AssertionError("listing parsed a snapshot file")

    monkeypatch.setattr(Snapshot, "from_json", boom)
    assert len(listed.list_snapshots(project_id, tags=["shadow"])) == 3


# -- retention -----------------------------------------------------------------------------


def test_retention_by_count_keeps_the_newest(listed: Workspace, project_id: str) -> None:
    deleted = listed.apply_retention(project_id, max_snapshots=2)
    assert sorted(deleted) == ["s2", "s3", "s4", "s5"]
    assert [e.id for e in listed.list_snapshots(project_id)] == ["s0", "s1"]
    assert sorted(os.listdir(listed.path / project_id / "snapshots")) == ["s0.json", "s1.json"]


def test_retention_by_age(listed: Workspace, project_id: str) -> None:
    deleted = listed.apply_retention(project_id, max_age=timedelta(hours=2, minutes=30), now=T0)
    assert sorted(deleted) == ["s3", "s4", "s5"]
    assert listed.apply_retention(project_id, max_age=timedelta(days=1), now=T0) == []


def test_retention_by_age_and_count(listed: Workspace, project_id: str) -> None:
    deleted = listed.apply_retention(
        project_id, max_age=timedelta(hours=4, minutes=30), max_snapshots=3, now=T0
    )
    assert sorted(deleted) == ["s3", "s4", "s5"]


@pytest.mark.parametrize(
    "kwargs", [{"max_age": timedelta(0)}, {"max_snapshots": -1}], ids=["zero-age", "negative"]
)
def test_retention_rejects_nonsense(
    ws: Workspace, project_id: str, kwargs: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match="must be"):
        ws.apply_retention(project_id, **kwargs)  # type: ignore[arg-type]


def test_retention_removes_old_temporary_files_only(ws: Workspace, project_id: str) -> None:
    folder = ws.path / project_id / "snapshots"
    old, new = folder / ".s1.json.abc.tmp", folder / ".s2.json.def.tmp"
    old.write_bytes(b"partial")
    new.write_bytes(b"partial")
    two_hours_ago = datetime.now(UTC).timestamp() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    ws.apply_retention(project_id, max_snapshots=10)
    assert not old.exists()
    assert new.exists()  # may belong to a writer that is still running
