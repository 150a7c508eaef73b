"""Drift engine benchmark: driftsnap ``compute_data_drift`` vs Evidently 0.6.7's
``Report([DataDriftPreset()])`` on the same generated data, in one run.

Data: 50 float columns (normal, some shifted in the current window) + 5 categorical columns
(7 levels), at (10k reference, 10k current) and (100k, 100k). driftsnap runs in this process;
Evidently runs in its own venv (``bench/.venvs/evidently``, see ``bench/evidently_cases.py``
for the install line) through ``bench/evidently_report.py``, reading the same Parquet files.

    .venv/bin/python bench/evaluation.py [--sizes 10000,100000] [--repeat 5]

Prints per size: profile fit time, drift time (best and median of ``--repeat``), Evidently's
time (best and median), the ratio Evidently / driftsnap on the best times, and the snapshot
sizes (driftsnap's Snapshot JSON with the data_drift metric vs Evidently's ``report.json()``
and its saved snapshot).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluation.drift import DriftOptions, compute_data_drift  # noqa: E402
from evaluation.reference import ReferenceProfile  # noqa: E402
from evaluation.schema import DatasetSchema  # noqa: E402
from evaluation.snapshot import MetricResult, Snapshot  # noqa: E402

EVIDENTLY_PY = ROOT / "bench" / ".venvs" / "evidently" / "bin" / "python"
CATS = ["a", "b", "c", "d", "e", "f", "g"]


def generate(n: int, seed: int, shift: float = 0.0) -> pl.DataFrame:
    """50 float + 5 categorical columns; every 5th float column moves by ``shift``."""
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {
        f"f{i}": rng.normal(loc=shift * (i % 5 == 0), scale=1 + i % 3, size=n) for i in range(50)
    }
    p = np.arange(1, len(CATS) + 1, dtype=float)
    p /= p.sum()
    for j in range(5):
        cols[f"c{j}"] = rng.choice(CATS, size=n, p=p)
    return pl.DataFrame(cols)


def time_driftsnap(ref: pl.DataFrame, cur: pl.DataFrame, repeat: int) -> dict[str, Any]:
    schema = DatasetSchema.infer(ref)
    t0 = time.perf_counter()
    profile = ReferenceProfile.fit(ref, schema)
    fit = time.perf_counter() - t0
    options = DriftOptions()
    result = compute_data_drift(profile, cur, options)  # warm-up
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = compute_data_drift(profile, cur, options)
        runs.append(time.perf_counter() - t0)
    snap = Snapshot(
        id="bench",
        timestamp=datetime(2026, 12, 3, tzinfo=UTC),
        metadata={"reference_id": profile.reference_id, "batch_size": cur.height},
        metrics=[MetricResult(id="data_drift", type="data_drift", result=result)],
    )
    return {
        "fit": fit,
        "runs": runs,
        "snapshot_bytes": len(snap.to_json()),
        "drifted": result["number_of_drifted_columns"],
    }


def time_evidently(ref_path: Path, cur_path: Path, repeat: int) -> dict[str, Any]:
    if not EVIDENTLY_PY.exists():
        msg = f"no Evidently venv at {EVIDENTLY_PY}; see bench/evidently_cases.py to create it"
        raise SystemExit(msg)
    out = subprocess.run(
        [str(EVIDENTLY_PY), str(ROOT / "bench" / "evidently_report.py"), str(ref_path),
         str(cur_path), str(repeat)],
        capture_output=True, text=True, check=True, env={**os.environ, "DO_NOT_TRACK": "1"},
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--evidently-repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            ref, cur = generate(n, 1), generate(n, 2, shift=0.2)
            ref_path, cur_path = Path(tmp) / f"ref{n}.parquet", Path(tmp) / f"cur{n}.parquet"
            ref.write_parquet(ref_path)
            cur.write_parquet(cur_path)
            ours = time_driftsnap(ref, cur, args.repeat)
            ev = time_evidently(ref_path, cur_path, args.evidently_repeat)
            rows.append((n, ours, ev))
            ours_best, ev_best = min(ours["runs"]), min(ev["seconds"])
            print(
                f"({n}, {n}): driftsnap fit {ours['fit']:.3f}s, drift best "
                f"{ours_best * 1e3:.1f} ms (median {statistics.median(ours['runs']) * 1e3:.1f})"
                f" | Evidently best {ev_best:.2f}s (median {statistics.median(ev['seconds']):.2f})"
                f" | ratio {ev_best / ours_best:.0f}x (drift only), "
                f"{ev_best / (ours_best + ours['fit']):.1f}x (fit + drift)",
                flush=True,
            )
            print(
                f"    snapshot: driftsnap {ours['snapshot_bytes'] / 1024:.1f} KB vs Evidently "
                f"report.json() {ev['json_bytes'] / 1024:.1f} KB, saved snapshot "
                f"{ev['snapshot_bytes'] / 1024:.1f} KB "
                f"({100 * ours['snapshot_bytes'] / ev['snapshot_bytes']:.1f} % of it)",
                flush=True,
            )


if __name__ == "__main__":
    main()
