"""Time Evidently 0.6.7's ``Report([DataDriftPreset()])`` on two Parquet files.

Runs inside the Evidently venv (``bench/.venvs/evidently``), never in the project venv::

    DO_NOT_TRACK=1 bench/.venvs/evidently/bin/python bench/evidently_report.py REF CUR [REPEAT]

Prints one JSON line: ``{"seconds": [...], "json_bytes": N, "snapshot_bytes": N}``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("DO_NOT_TRACK", "1")
warnings.filterwarnings("ignore")

import pandas as pd  # noqa: E402
from evidently.metric_preset import DataDriftPreset  # noqa: E402
from evidently.report import Report  # noqa: E402


def main() -> None:
    ref = pd.read_parquet(sys.argv[1])
    cur = pd.read_parquet(sys.argv[2])
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    seconds = []
    report = None
    for _ in range(repeat):
        report = Report(metrics=[DataDriftPreset()])
        t0 = time.perf_counter()
        report.run(reference_data=ref, current_data=cur)
        report.as_dict()  # force the metric results to be materialised
        seconds.append(time.perf_counter() - t0)
    assert report is not None
    json_bytes = len(report.json().encode())
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "snapshot.json")
        report.save(path)
        snapshot_bytes = os.path.getsize(path)
    print(
        json.dumps({"seconds": seconds, "json_bytes": json_bytes, "snapshot_bytes": snapshot_bytes})
    )


if __name__ == "__main__":
    main()
