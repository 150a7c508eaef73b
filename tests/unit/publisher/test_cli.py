"""`driftsnap workspace ...` as a user runs it.

The parser is built the way ``service.cli`` builds it (``register(sub)`` then ``args.func``),
with only this command registered, so these tests do not depend on the other commands.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl
import pytest

from service.commands import workspace as workspace_command
from tests.unit.publisher.factories import T0, make_snapshot


@pytest.fixture
def wsdir(tmp_path: Path) -> Path:
    return tmp_path / "ws"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="driftsnap")
    sub = parser.add_subparsers(dest="command")
    workspace_command.register(sub)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["workspace", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def filled(wsdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run(capsys, "create", "Fraud", "--id", "fraud", "--workspace", str(wsdir))[0] == 0
    for i, tag in enumerate(["champion", "shadow", "champion"]):
        path = tmp_path / f"s{i}.json"
        make_snapshot(f"s{i}", tags=[tag], end=T0.replace(hour=10 + i)).save(path)
        assert run(capsys, "add", "fraud", str(path), "--workspace", str(wsdir)) == (
            0, f"s{i}\n", "",
        )  # fmt: skip
    return wsdir


def test_create_prints_the_new_project_id(wsdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--workspace", str(wsdir), "create", "Fraud", "--description", "d")
    assert code == 0
    pid = out.strip()
    code, out, _ = run(capsys, "projects", "--workspace", str(wsdir), "--json")
    assert json.loads(out) == [
        {
            "id": pid,
            "name": "Fraud",
            "description": "d",
            "created_at": json.loads(out)[0]["created_at"],
        }
    ]


def test_create_json_and_the_default_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "create", "X", "--id", "x", "--json")
    assert code == 0
    assert json.loads(out)["id"] == "x"
    assert (tmp_path / "workspace" / "x" / "project.json").is_file()


def test_projects_table(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "projects", "--workspace", str(filled))
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["ID", "NAME", "CREATED", "DESCRIPTION"]
    assert row.split()[:2] == ["fraud", "Fraud"]


def test_snapshots_table_filters_and_json(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "snapshots", "fraud", "--workspace", str(filled))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "TIMESTAMP", "NAME", "TAGS"]
    assert [line.split()[0] for line in lines[1:]] == ["s2", "s1", "s0"]
    code, out, _ = run(capsys, "snapshots", "fraud", "--tag", "champion", "--json",
                       "--workspace", str(filled))  # fmt: skip
    assert [e["id"] for e in json.loads(out)] == ["s2", "s0"]
    window = ["--since", "2026-12-03T11:00:00Z", "--until", "2026-12-03T12:00:00"]
    code, out, _ = run(capsys, "snapshots", "fraud", *window, "--json", "--workspace", str(filled))
    assert [e["id"] for e in json.loads(out)] == ["s1"]


def test_show_human_and_json(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "fraud", "s1", "--workspace", str(filled))
    assert code == 0
    assert "drifted columns  amount" in out
    assert "tags             shadow" in out
    code, out, _ = run(capsys, "show", "fraud", "s1", "--json", "--workspace", str(filled))
    assert json.loads(out)["id"] == "s1"


def test_add_with_data_and_delete(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap, rows = tmp_path / "d.json", tmp_path / "d.parquet"
    make_snapshot("with-data").save(snap)
    pl.DataFrame({"a": [1]}).write_parquet(rows)
    code, out, _ = run(capsys, "add", "fraud", str(snap), "--data", str(rows), "--json",
                       "--workspace", str(filled))  # fmt: skip
    assert code == 0
    assert json.loads(out)["id"] == "with-data"
    assert (filled / "fraud" / "data" / "with-data.parquet").is_file()
    assert run(capsys, "delete", "fraud", "with-data", "--workspace", str(filled)) == (
        0, "deleted with-data\n", "",
    )  # fmt: skip
    code, out, _ = run(capsys, "snapshots", "fraud", "--json", "--workspace", str(filled))
    assert "with-data" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["snapshots", "ghost"], "no project 'ghost'"),
        (["show", "fraud", "nope"], "no snapshot 'nope'"),
        (["show", "fraud", "../etc/passwd"], "path separator"),
        (["show", "..", "s1"], "'..'"),
        (["delete", "fraud", "nope"], "no snapshot 'nope'"),
        (["add", "fraud", "/does/not/exist.json"], "cannot read snapshot file"),
        (["snapshots", "fraud", "--since", "yesterday"], "not an ISO-8601 time"),
        (["create", "dup", "--id", "fraud"], "already exists"),
        (["create", "bad", "--id", "a b"], "not allowed"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    filled: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv, "--workspace", str(filled))
    assert code == 2
    assert message in err
    assert err.startswith("driftsnap workspace: error:")
    assert out == ""


def test_corrupt_files_exit_2(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (filled / "fraud" / "snapshots" / "s1.json").write_text('{"id": "s1", "timest')
    code, _, err = run(capsys, "show", "fraud", "s1", "--workspace", str(filled))
    assert code == 2
    assert "corrupt snapshot file" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "x", "timestamp": "2026-01-01T00:00:00Z", "surprise": 1}')
    code, _, err = run(capsys, "add", "fraud", str(bad), "--workspace", str(filled))
    assert code == 2
    assert "surprise" in err


def test_missing_workspace_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "projects", "--workspace", str(tmp_path / "none"))
    assert code == 2
    assert "no workspace at" in err


def test_no_action_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2
    assert "snapshots" in err
