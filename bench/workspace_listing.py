"""Listing 10,000 snapshots with a tag filter: the SQLite index against parsing every file.

    .venv/bin/python bench/workspace_listing.py [--snapshots 10000] [--columns 20] [--repeat 20]

Fills a temporary workspace (fsync off to keep set-up short; listing never writes), then
times, newest first with ``tags=["incident"]`` (1 snapshot in 10 carries it):

- ``index``   ``Workspace.list_snapshots`` on a fresh index (median of --repeat runs)
- ``cold``    the same from a new Workspace object (opens the SQLite file)
- ``rebuild`` the first listing after the index file was deleted (re-reads every file)
- peers, in the same run: ``naive/orjson`` reads and ``orjson.loads`` every JSON file, and
  ``naive/validated`` also validates each with ``Snapshot.from_json``, then filter and sort.
Figures are printed with their ratio to the indexed listing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluation.snapshot import Snapshot  # noqa: E402
from publisher.index import INDEX_FILE  # noqa: E402
from publisher.workspace import Workspace  # noqa: E402
from tests.unit.publisher.factories import T0, make_snapshot  # noqa: E402

TAG = "incident"


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    runs, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), result


def naive(folder: Path, validate: bool) -> list[str]:
    found = []
    for entry in os.scandir(folder):
        if entry.name.startswith(".") or not entry.name.endswith(".json"):
            continue
        raw = Path(entry.path).read_bytes()
        if validate:
            snap = Snapshot.from_json(raw)
            if TAG in snap.tags:
                found.append((snap.timestamp.isoformat(), snap.id))
        else:
            doc = orjson.loads(raw)
            if TAG in doc["tags"]:
                found.append((doc["timestamp"], doc["id"]))
    return [sid for _, sid in sorted(found, reverse=True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snapshots", type=int, default=10_000)
    ap.add_argument("--columns", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=20)
    opts = ap.parse_args()
    columns = {f"f{i:02d}": ("ks", 0.2, i % 7 == 0) for i in range(opts.columns)}

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "ws", fsync=False)
        ws.create_project("bench", project_id="bench")
        start = time.perf_counter()
        size = 0
        for i in range(opts.snapshots):
            tags = ["shadow" if i % 2 else "champion", *([TAG] if i % 10 == 0 else [])]
            snap = make_snapshot(
                f"snap-{i:06d}", end=T0 - timedelta(minutes=5 * i), tags=tags,
                columns=columns, missing={c: 0.01 for c in columns},
            )  # fmt: skip
            size += ws.add_snapshot("bench", snap).size_bytes
        fill = time.perf_counter() - start
        print(f"filled {opts.snapshots} snapshots ({size / opts.snapshots / 1024:.1f} KiB each) "
              f"in {fill:.1f}s ({opts.snapshots / fill:.0f}/s, fsync off)")  # fmt: skip

        def indexed() -> list[str]:
            return [e.id for e in ws.list_snapshots("bench", tags=[TAG])]

        indexed()  # the first listing after the writes reconciles once (folder mtime moved)
        t_index, ids = timed(indexed, opts.repeat)
        expected = opts.snapshots // 10 + (1 if opts.snapshots % 10 else 0)
        assert isinstance(ids, list)
        assert len(ids) == expected, len(ids)

        def cold() -> list[str]:
            with Workspace(ws.path) as other:
                return [e.id for e in other.list_snapshots("bench", tags=[TAG])]

        t_cold, _ = timed(cold, 5)
        ws.close()
        for suffix in ("", "-wal", "-shm"):
            (ws.path / f"{INDEX_FILE}{suffix}").unlink(missing_ok=True)
        t_rebuild, rebuilt = timed(cold, 1)
        assert rebuilt == ids

        folder = ws.path / "bench" / "snapshots"
        t_naive, naive_ids = timed(lambda: naive(folder, validate=False), 3)
        assert naive_ids == ids
        t_valid, _ = timed(lambda: naive(folder, validate=True), 1)

    print(f"list {opts.snapshots} snapshots, tag filter -> {len(ids)} entries, newest first")
    rows = [
        ("index (warm, median)", t_index),
        ("index (new Workspace)", t_cold),
        ("index rebuild (sqlite deleted)", t_rebuild),
        ("naive/orjson (peer)", t_naive),
        ("naive/validated (peer)", t_valid),
    ]
    for name, secs in rows:
        print(f"  {name:32s} {secs * 1000:9.2f} ms   x{secs / t_index:8.1f} vs index")
    print(f"ratio naive/orjson : index = {t_naive / t_index:.0f}x")


if __name__ == "__main__":
    main()
