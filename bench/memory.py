"""Peak memory with 1M events x 20 numerical features held in open windows, against the raw
float64 columnar size of those features (1M x 20 x 8 B = 160 MB).

    .venv/bin/python bench/memory.py                 # 1M events
    .venv/bin/python bench/memory.py --events 200000 # quick check

A child process (so nothing else inflates its high-water mark) builds the service's models from
two 5000-row references (``service.models.build_models``), then feeds events through the real
hot path, 10,000 at a time: ``service.generator`` -> ``encode_events`` (JSON, ~460 B/event) ->
``consumer.decode.decode_batch`` -> ``Pipeline.add`` (``windowing.WindowState``). Event times
span 10 minutes of 1-minute windows (2 models x 2 variants = 40 windows of 25k rows each) and
the watermark never advances, so every row stays held. The encoded batch is dropped after each
decode. Peak RSS is ``VmHWM`` from /proc/self/status.

Target: peak RSS <= 1.5 x raw + 150 MB (the 150 MB covers the interpreter, numpy, polars and
the fitted references).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N_FEATURES = 20
MB = 1024 * 1024


def status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(events: int, batch: int, diagnose: bool = False) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    import polars as pl

    from consumer import DecodeBounds, decode_batch
    from service.config import Settings
    from service.generator import (
        MODELS,
        VARIANTS,
        encode_events,
        generate_requests,
        reference_frame,
    )
    from service.models import build_models
    from service.pipeline import Pipeline
    from service.runner import event_schema

    tmp = Path(tempfile.mkdtemp(prefix="driftsnap-bench-mem-"))
    models_cfg = {}
    for m in MODELS:
        path = tmp / f"{m}.parquet"
        reference_frame(m).write_parquet(path)
        models_cfg[m] = {"reference": str(path)}
    settings = Settings(
        models=models_cfg,
        window={"size": "1m", "allowed_lateness": "5s", "idle_timeout": "1h", "min_rows": 10},
        workspace={"path": str(tmp / "workspace")},
    )
    models = build_models(settings)
    schema = event_schema(settings, models)
    bounds = DecodeBounds(max_past_ms=86_400_000)
    pipe = Pipeline(settings, models, sinks=[])
    now = int(time.time() * 1000)
    base = now - 20 * 60_000
    base -= base % 60_000
    span = 10 * 60_000
    per_req = len(MODELS) * len(VARIANTS)
    req = max(1, batch // per_req)
    n_batches = max(1, events // (req * per_req))

    def make(i: int) -> list[bytes]:
        frames = [
            generate_requests(
                req,
                seed=i * 10 + k,
                start_ms=base + i * span // n_batches,
                span_ms=max(1, span // n_batches),
                model_id=m,
                id_prefix=f"b{i}-",
            )
            for k, m in enumerate(MODELS)
        ]
        return [v for _k, v in encode_events(pl.concat(frames))]

    def decode(values: list[bytes], offset0: int) -> pl.DataFrame:
        n = len(values)
        d = decode_batch(
            values,
            [0] * n,
            list(range(offset0, offset0 + n)),
            [now] * n,
            "bench",
            schema,
            bounds,
            now,
        )
        assert not d.rejected, d.rejected[:2]
        return d.frame

    decode(make(0), 0)  # warm-up: plan compiled, polars pools touched (not kept)
    pipe.state.assign_partitions([0], now)
    gc.collect()
    baseline_kb = status_kb("VmRSS")
    offset = 0
    t0 = time.perf_counter()
    for i in range(n_batches):
        values = make(i)
        frame = decode(values, offset)
        offset += len(values)
        del values
        late = pipe.add(frame, now)
        assert late.height == 0
        del frame
    feed_s = time.perf_counter() - t0
    gc.collect()
    held = pipe.state.rows_held
    bufs = list(pipe.state._open.values())  # noqa: SLF001 - a benchmark may look inside
    est = sum(c.estimated_size() for b in bufs for c in b.chunks)
    sample = pl.concat(bufs[0].chunks) if bufs else pl.DataFrame()
    per_col = {
        c: round(sample[c].estimated_size() / max(sample.height, 1), 1) for c in sample.columns
    }
    peak_kb, final_kb, n_chunks = (
        status_kb("VmHWM"),
        status_kb("VmRSS"),
        sum(len(b.chunks) for b in bufs),
    )
    diag: dict[str, float] = {}
    if diagnose:
        # where the RSS above the live frames goes: return freed glibc memory, then rebuild
        # every window as one contiguous frame (drops per-chunk buffers and shared slices)
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
        diag["rss_after_malloc_trim_mb"] = status_kb("VmRSS") / 1024
        for b in bufs:
            b.chunks = [pl.concat(b.chunks, rechunk=True)]
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        diag["rss_after_rechunk_mb"] = status_kb("VmRSS") / 1024
        diag["frames_estimated_after_rechunk_mb"] = (
            sum(c.estimated_size() for b in bufs for c in b.chunks) / MB
        )
        dtypes = {c: str(t) for c, t in bufs[0].chunks[0].schema.items()} if bufs else {}
        for b in bufs:
            b.chunks = []
        pipe.state._open.clear()  # noqa: SLF001
        del bufs, sample
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        diag["rss_after_dropping_every_window_mb"] = status_kb("VmRSS") / 1024
        print("held dtypes: " + ", ".join(f"{c}:{t}" for c, t in dtypes.items()), file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "diagnose": diag,
        "events": offset,
        "rows_held": held,
        "open_windows": pipe.state.open_window_count,
        "chunks": n_chunks,
        "baseline_rss_mb": baseline_kb / 1024,
        "final_rss_mb": final_kb / 1024,
        "peak_rss_mb": peak_kb / 1024,
        "frames_estimated_mb": est / MB,
        "bytes_per_row_by_column": per_col,
        "feed_seconds": feed_s,
        "polars": pl.__version__,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument(
        "--diagnose",
        action="store_true",
        help="after the peak: malloc_trim, then rechunk every window, and print the RSS after each",
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.events, args.batch, args.diagnose)))
        return 0
    load0 = os.getloadavg()
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--events",
            str(args.events),
            "--batch",
            str(args.batch),
        ]
        + (["--diagnose"] if args.diagnose else []),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        return out.returncode
    if args.diagnose:
        print(out.stderr.strip())
    r = json.loads(out.stdout.strip().splitlines()[-1])
    load1 = os.getloadavg()
    raw_mb = r["events"] * N_FEATURES * 8 / 1e6  # decimal MB, as "160 MB" in the issue
    peak_mb = r["peak_rss_mb"] * MB / 1e6
    base_mb = r["baseline_rss_mb"] * MB / 1e6
    target = 1.5 * raw_mb + 150
    print(
        f"events fed: {r['events']:,} (rows held {r['rows_held']:,} in {r['open_windows']} open "
        f"windows, {r['chunks']} chunks; fed in {r['feed_seconds']:.1f} s incl. generation)"
    )
    print(f"raw float64 columnar size (20 features) : {raw_mb:8.1f} MB")
    print(
        f"held frames (polars estimated_size)     : {r['frames_estimated_mb'] * MB / 1e6:8.1f} MB "
        f"({r['frames_estimated_mb'] * MB / 1e6 / raw_mb:.2f}x raw)"
    )
    print(f"RSS after start-up (before feeding)     : {base_mb:8.1f} MB")
    print(
        f"peak RSS (VmHWM)                        : {peak_mb:8.1f} MB  -> "
        f"{peak_mb / raw_mb:.2f}x raw; "
        f"above start-up {peak_mb - base_mb:.1f} MB ({(peak_mb - base_mb) / raw_mb:.2f}x raw)"
    )
    print(f"RSS at the end (all rows still held)    : {r['final_rss_mb'] * MB / 1e6:8.1f} MB")
    print(
        f"target  <= 1.5 x raw + 150 MB           : {target:8.1f} MB  -> "
        f"{'MET' if peak_mb <= target else 'MISSED'}"
    )
    for k, v in r["diagnose"].items():
        print(f"diagnose: {k} = {v * MB / 1e6:.1f} MB")
    print(
        "bytes per held row by column: "
        + ", ".join(
            f"{k}={v:g}"
            for k, v in sorted(r["bytes_per_row_by_column"].items(), key=lambda kv: -kv[1])
        )
    )
    print(
        f"polars {r['polars']}; load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
        f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
