"""Latency from window close to snapshot file written, over many windows of 50 numerical
columns x 10,000 rows.

    .venv/bin/python bench/latency.py                    # 200 windows (+5 warm-up)
    .venv/bin/python bench/latency.py --windows 50       # quick check
    .venv/bin/python bench/latency.py --keys 4           # 4 keys closing at once (queueing)

In-process, the service's own parts: a synthetic 10k-row reference of 50 normal columns
(``service.models.build_models``: profile fitted once), events encoded as JSON and decoded by
``consumer.decode.decode_batch``, fed to ``service.pipeline.Pipeline`` in batches of
``--batch`` rows, with the service's sinks (``WorkspaceSink`` on a local workspace with fsync,
and ``PrometheusSink``). Windows close the natural way: rows of window i+1 move the watermark
past window i, and ``Pipeline.step`` closes and publishes it.

Measured per window, from the call of ``WindowState.advance`` that closes it (so the close's own
concat and sort are included) to (a) the ``os.replace`` that makes its snapshot file visible,
(b) ``on_published`` (every sink done). With ``--keys`` > 1 the windows closing together are
published one after the other, so later ones include the earlier ones' time.

Target: p99 (a) <= 250 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

N_COLS = 50
WINDOW_MS = 60_000


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--windows", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--ref-rows", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=2_000, help="rows per decoded batch")
    ap.add_argument("--keys", type=int, default=1, help="variants closing together")
    ap.add_argument(
        "--workers",
        type=int,
        default=2,
        help="evaluation worker threads as in `driftsnap run` (0 = evaluate on the loop thread)",
    )
    ap.add_argument("--profile", help="write a pyinstrument HTML profile of the publish path here")
    args = ap.parse_args()

    from prometheus_client import CollectorRegistry

    from consumer import DecodeBounds, decode_batch
    from publisher import PrometheusSink, SnapshotMetrics, Workspace, WorkspaceSink
    from service.config import Settings
    from service.models import build_models
    from service.pipeline import Pipeline
    from service.runner import event_schema

    cols = [f"c{i:02d}" for i in range(N_COLS)]
    rng = np.random.default_rng(7)
    tmp = Path(tempfile.mkdtemp(prefix="driftsnap-bench-lat-"))
    ref_path = tmp / "ref.parquet"
    pl.DataFrame({c: rng.normal(0, 1, args.ref_rows) for c in cols}).write_parquet(ref_path)
    settings = Settings(
        project={"id": "bench"},
        models={"m": {"reference": str(ref_path)}},
        window={"size": "1m", "allowed_lateness": "0s", "idle_timeout": "1d", "min_rows": 10},
        workspace={"path": str(tmp / "workspace")},
        events={"max_past": "30d"},
    )
    models = build_models(settings)
    schema = event_schema(settings, models)
    ws = Workspace.create(settings.workspace.path)
    ws.ensure_project("bench", name="bench")
    sinks = [
        WorkspaceSink(ws, project_id="bench"),
        PrometheusSink(SnapshotMetrics(CollectorRegistry(), max_columns=100), project="bench"),
    ]

    t_advance: list[float] = []  # call time of the advance that closed the pending windows
    renamed: dict[str, float] = {}
    published: dict[str, float] = {}
    closed_at: dict[str, float] = {}

    pipe = Pipeline(
        settings,
        models,
        sinks,
        on_published=lambda s: published.__setitem__(s.id, time.perf_counter()),
        background=args.workers > 0,
        workers=max(args.workers, 1),
    )
    orig_advance = pipe.state.advance

    def advance(now_ms: int):  # noqa: ANN202
        t_advance.append(time.perf_counter())
        return orig_advance(now_ms)

    pipe.state.advance = advance  # type: ignore[method-assign]
    real_replace = os.replace

    def replace(src, dst, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        real_replace(src, dst, *a, **kw)
        p = Path(dst)
        if p.suffix == ".json" and p.parent.name == "snapshots":
            renamed[p.stem] = time.perf_counter()

    os.replace = replace  # type: ignore[assignment]

    now = int(time.time() * 1000)
    base = now - (args.windows + args.warmup + 5) * WINDOW_MS
    base -= base % WINDOW_MS
    bounds = DecodeBounds(max_past_ms=30 * 86_400_000)
    variants = [f"v{k}" for k in range(args.keys)]
    offset = 0

    def encoded(w: int, variant: str) -> list[bytes]:
        r = np.random.default_rng(1000 + w)
        shift = 0.3 if w % 3 == 2 else 0.0
        n = args.rows
        df = pl.DataFrame(
            {
                "event_id": [f"w{w}-{variant}-{i}" for i in range(n)],
                "timestamp": base + w * WINDOW_MS + np.sort(r.integers(0, WINDOW_MS, n)),
                "model_id": ["m"] * n,
                "variant": [variant] * n,
                **{
                    c: np.round(r.normal(shift if j % 5 == 0 else 0.0, 1, n), 4)
                    for j, c in enumerate(cols)
                },
            }
        )
        out = df.select(
            pl.struct(
                "event_id", "timestamp", "model_id", "variant", pl.struct(*cols).alias("features")
            ).struct.json_encode()
        ).to_series()
        return [s.encode() for s in out.to_list()]

    profiler = None
    total = args.windows + args.warmup
    for w in range(total + 1):
        for variant in variants:
            values = encoded(w, variant)
            for i in range(0, len(values), args.batch):
                part = values[i : i + args.batch]
                n = len(part)
                d = decode_batch(
                    part,
                    [0] * n,
                    list(range(offset, offset + n)),
                    [now] * n,
                    "bench",
                    schema,
                    bounds,
                    now,
                )
                offset += n
                pipe.add(d.frame, now)
        if w == args.warmup + 1 and args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001)
        before = set(published)
        if profiler is not None:
            profiler.start()
        pipe.step(now)  # closes window w-1 of every key (the rows of w moved the watermark)
        pipe.drain()  # background mode: wait for the worker threads (no-op otherwise)
        if profiler is not None:
            profiler.stop()
        for sid in set(published) - before:
            closed_at[sid] = t_advance[-1]
    if profiler is not None:
        Path(args.profile).write_text(profiler.output_text(unicode=True, show_all=False))
    os.replace = real_replace  # type: ignore[assignment]

    ids = sorted(closed_at, key=lambda s: closed_at[s])[args.warmup * args.keys :]
    to_file = [1000 * (renamed[s] - closed_at[s]) for s in ids if s in renamed]
    to_pub = [1000 * (published[s] - closed_at[s]) for s in ids]
    la = os.getloadavg()
    snap_bytes = [p.stat().st_size for p in (tmp / "workspace").rglob("snapshots/*.json")]
    print(
        f"{len(ids)} windows measured ({args.warmup * args.keys} warm-up dropped), "
        f"{N_COLS} numerical columns x {args.rows:,} rows, reference {args.ref_rows:,} rows, "
        f"{args.keys} key(s) closing together, batches of {args.batch}"
    )
    print(
        f"close -> snapshot file renamed : p50 {pct(to_file, 0.5):7.1f} ms   "
        f"p90 {pct(to_file, 0.9):7.1f} ms   p99 {pct(to_file, 0.99):7.1f} ms   "
        f"max {max(to_file):7.1f} ms"
    )
    print(
        f"close -> published (all sinks) : p50 {pct(to_pub, 0.5):7.1f} ms   "
        f"p90 {pct(to_pub, 0.9):7.1f} ms   p99 {pct(to_pub, 0.99):7.1f} ms   "
        f"max {max(to_pub):7.1f} ms"
    )
    p99 = pct(to_file, 0.99)
    print(f"target p99 <= 250 ms: {'MET' if p99 <= 250 else 'MISSED'} ({p99:.1f} ms)")
    print(
        f"snapshot size: median {statistics.median(snap_bytes) / 1024:.1f} KB; "
        f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"
    )
    if args.profile:
        print(f"profile written to {args.profile}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
