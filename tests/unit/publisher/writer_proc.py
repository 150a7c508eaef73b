"""A workspace writer run as a separate process by the concurrency and crash tests.

    python -m tests.unit.publisher.writer_proc WORKSPACE PROJECT PREFIX COUNT [PADDING] [--loop]

Writes COUNT snapshots ``PREFIX-<i>`` (with ``--loop``: rewrites them forever, alternating
sizes and including data every other time), printing "ready" once the first write is done.
"""

from __future__ import annotations

import itertools
import sys
from datetime import timedelta

import polars as pl

from publisher.workspace import Workspace
from tests.unit.publisher.factories import T0, make_snapshot


def main(argv: list[str]) -> None:
    loop = "--loop" in argv
    args = [a for a in argv if a != "--loop"]
    root, project, prefix, count = args[0], args[1], args[2], int(args[3])
    padding = int(args[4]) if len(args) > 4 else 0
    rows = pl.DataFrame({"x": list(range(20_000)), "y": [float(i) for i in range(20_000)]})
    ws = Workspace(root)
    numbers = itertools.count() if loop else iter(range(count))
    for n in numbers:
        i = n % count
        snap = make_snapshot(
            f"{prefix}-{i}",
            end=T0 + timedelta(minutes=n),
            tags=[prefix, f"gen-{n % 3}"],
            metadata={"generation": n},
            padding=padding + (n % 2) * padding // 2,
        )
        ws.add_snapshot(project, snap, include_data=n % 2 == 0, data=rows)
        if n == 0:
            print("ready", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
