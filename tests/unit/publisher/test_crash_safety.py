"""Kill a writer with SIGKILL at random moments while it rewrites large snapshots: every file
visible under a snapshot name must be complete and valid, and the index must agree."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from evaluation.snapshot import Snapshot
from publisher.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]
KILLS = 50
IDS = 3
PADDING = 1_500_000  # 1.5-2.25 MB snapshots: writing one takes a while


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_write_never_leaves_a_partial_snapshot(tmp_path: Path) -> None:
    rng = random.Random(20261203)
    with Workspace.create(tmp_path / "ws") as ws:
        ws.create_project("crash", project_id="crash")
    folder = tmp_path / "ws" / "crash" / "snapshots"
    killed_with_temp_file = 0
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.unit.publisher.writer_proc", str(tmp_path / "ws"),
             "crash", "big", str(IDS), str(PADDING), "--loop"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the first write is done
        assert line.strip() == "ready", proc.communicate()[1]
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        if any(name.startswith(".") for name in os.listdir(folder)):
            killed_with_temp_file += 1
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()

    names = os.listdir(folder)
    visible = sorted(n for n in names if not n.startswith("."))
    assert visible
    assert all(n.endswith(".json") for n in visible)
    for name in visible:  # each one parses and validates completely
        snap = Snapshot.load(folder / name)
        assert snap.id == name[: -len(".json")]
    for name in os.listdir(folder.parent / "data"):
        if not name.startswith("."):
            assert pl.read_parquet(folder.parent / "data" / name).height == 20_000
    with Workspace(tmp_path / "ws") as ws:
        entries = ws.list_snapshots("crash")
        assert sorted(f"{e.id}.json" for e in entries) == visible
        for entry in entries:
            snap = ws.get_snapshot("crash", entry.id)
            assert snap.metadata["generation"] == entry.metadata["generation"]
            assert snap.tags == list(entry.tags)
    # the kills did land mid-write: temporary files were left behind (and are not listed)
    assert killed_with_temp_file > 0
