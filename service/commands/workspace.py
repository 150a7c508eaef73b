"""`driftsnap workspace ...`: manage the local workspace (projects and snapshots).

    driftsnap workspace create NAME [--description TEXT] [--id SLUG]   prints the project id
    driftsnap workspace projects
    driftsnap workspace snapshots PROJECT [--tag T]... [--since ISO] [--until ISO] [--limit N]
    driftsnap workspace show PROJECT SNAPSHOT
    driftsnap workspace add PROJECT FILE [--data PARQUET]
    driftsnap workspace delete PROJECT SNAPSHOT

Every sub-command takes ``--workspace DIR`` (default ./workspace) and ``--json``. Bad input
(unknown project or snapshot, bad id, corrupt file, bad timestamp) exits with code 2 and one
line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl

from evaluation.snapshot import Snapshot, SnapshotError
from publisher import Workspace, WorkspaceError
from publisher.kafka_sink import snapshot_summary

DEFAULT_WORKSPACE = "./workspace"
EXIT_BAD_INPUT = 2


def register(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--workspace", metavar="DIR", default=argparse.SUPPRESS,
        help=f"workspace folder (default {DEFAULT_WORKSPACE})",
    )  # fmt: skip
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    parser = sub.add_parser(
        "workspace", parents=[common], help="manage projects and snapshots in a workspace",
        description="Manage projects and snapshots in a local workspace folder.",
    )  # fmt: skip
    parser.set_defaults(func=lambda args: _usage(parser))
    cmds = parser.add_subparsers(dest="workspace_command", metavar="ACTION")

    p = cmds.add_parser("create", parents=[common], help="create a project; prints its id")
    p.add_argument("name")
    p.add_argument("--description", default=None)
    p.add_argument("--id", dest="project_id", default=None, help="explicit project id (a slug)")
    p.set_defaults(func=_run(_create))

    p = cmds.add_parser("projects", parents=[common], help="list projects")
    p.set_defaults(func=_run(_projects))

    p = cmds.add_parser("snapshots", parents=[common], help="list a project's snapshots")
    p.add_argument("project")
    p.add_argument("--tag", action="append", default=[], help="keep snapshots with this tag")
    p.add_argument("--since", default=None, help="ISO-8601 time (inclusive, UTC if no zone)")
    p.add_argument("--until", default=None, help="ISO-8601 time (exclusive, UTC if no zone)")
    p.add_argument("--limit", type=int, default=None, help="at most N snapshots, newest first")
    p.set_defaults(func=_run(_snapshots))

    p = cmds.add_parser("show", parents=[common], help="show one snapshot")
    p.add_argument("project")
    p.add_argument("snapshot")
    p.set_defaults(func=_run(_show))

    p = cmds.add_parser("add", parents=[common], help="add a snapshot JSON file to a project")
    p.add_argument("project")
    p.add_argument("file")
    p.add_argument("--data", default=None, metavar="PARQUET", help="rows to store beside it")
    p.set_defaults(func=_run(_add))

    p = cmds.add_parser("delete", parents=[common], help="delete a snapshot")
    p.add_argument("project")
    p.add_argument("snapshot")
    p.set_defaults(func=_run(_delete))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_BAD_INPUT


def _run(action: Callable[[argparse.Namespace], Any]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        try:
            action(args)
        except (WorkspaceError, SnapshotError, ValueError) as exc:
            print(f"driftsnap workspace: error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        return 0

    return handler


def _json_mode(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def _open(args: argparse.Namespace) -> Workspace:
    return Workspace(getattr(args, "workspace", DEFAULT_WORKSPACE))


def _emit_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    for line in [headers, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        msg = f"{option} {value!r} is not an ISO-8601 time; e.g. 2026-12-03T10:00:00Z"
        raise ValueError(msg) from None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _short(ts: datetime | None) -> str:
    if ts is None:
        return "-"
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# -- actions --------------------------------------------------------------------------------
def _create(args: argparse.Namespace) -> None:
    ws = Workspace.create(getattr(args, "workspace", DEFAULT_WORKSPACE))
    project = ws.create_project(args.name, args.description, project_id=args.project_id)
    if _json_mode(args):
        _emit_json(project.to_dict())
    else:
        print(project.id)


def _projects(args: argparse.Namespace) -> None:
    projects = _open(args).list_projects()
    if _json_mode(args):
        _emit_json([p.to_dict() for p in projects])
        return
    rows = [[p.id, p.name, _short(p.created_at), p.description or ""] for p in projects]
    _table(["ID", "NAME", "CREATED", "DESCRIPTION"], rows)


def _snapshots(args: argparse.Namespace) -> None:
    entries = _open(args).list_snapshots(
        args.project,
        tags=args.tag,
        since=_parse_time(args.since, "--since"),
        until=_parse_time(args.until, "--until"),
        limit=args.limit,
    )
    if _json_mode(args):
        _emit_json([e.to_dict() for e in entries])
        return
    rows = [[e.id, _short(e.timestamp), e.name, ",".join(e.tags)] for e in entries]
    _table(["ID", "TIMESTAMP", "NAME", "TAGS"], rows)


def _show(args: argparse.Namespace) -> None:
    snapshot = _open(args).get_snapshot(args.project, args.snapshot)
    if _json_mode(args):
        sys.stdout.write(snapshot.to_json(indent=True).decode() + "\n")
        return
    s = snapshot_summary(snapshot)
    window = snapshot.window
    lines = [
        ("id", snapshot.id),
        ("project", snapshot.project_id or "-"),
        ("name", snapshot.name or "-"),
        ("timestamp", _short(snapshot.timestamp)),
        ("window", "-" if window is None else f"{_short(window.start)} .. {_short(window.end)}"),
        ("key", ", ".join(f"{k}={v}" for k, v in s["key"].items()) or "-"),
        ("tags", ", ".join(snapshot.tags) or "-"),
        ("metadata", ", ".join(f"{k}={v}" for k, v in snapshot.metadata.items()) or "-"),
        ("metrics", ", ".join(f"{m.id} ({m.type})" for m in snapshot.metrics) or "-"),
    ]
    if s["dataset_drift"] is not None:
        share = s["share_of_drifted_columns"]
        lines.append(("dataset drift", f"{s['dataset_drift']} (share of drifted: {share})"))
        lines.append(("drifted columns", ", ".join(s["drifted_columns"]) or "-"))
    counts = s["test_counts"]
    lines.append(("tests", ", ".join(f"{k}={v}" for k, v in counts.items())))
    if s["failed_tests"]:
        lines.append(("failed tests", ", ".join(s["failed_tests"])))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {value}")


def _add(args: argparse.Namespace) -> None:
    ws = _open(args)
    snapshot = Snapshot.load(args.file)
    data = None
    if args.data is not None:
        try:
            data = pl.read_parquet(args.data)
        except (OSError, pl.exceptions.PolarsError) as exc:
            msg = f"cannot read --data {args.data}: {exc}"
            raise ValueError(msg) from exc
    entry = ws.add_snapshot(args.project, snapshot, include_data=data is not None, data=data)
    if _json_mode(args):
        _emit_json(entry.to_dict())
    else:
        print(entry.id)


def _delete(args: argparse.Namespace) -> None:
    _open(args).delete_snapshot(args.project, args.snapshot)
    if _json_mode(args):
        _emit_json({"deleted": args.snapshot, "project_id": args.project})
    else:
        print(f"deleted {args.snapshot}")
