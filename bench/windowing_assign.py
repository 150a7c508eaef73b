"""Benchmark: assignment of 1M events to 5-minute tumbling windows (windowing.WindowState.add).

1M events, 20 float features, 3 keys ((model, variant) pairs), event times spread over an hour,
fed in micro-batches of 10k. The peer, in the same run, is the naive approach: a per-event
Python loop appending each row (as a dict) to a list per (key, window). Prints events/s for
both and their ratio. Run: ``.venv/bin/python bench/windowing_assign.py [n_events]``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import polars as pl

from windowing import WindowSpec, WindowState

BATCH = 10_000
FEATURES = 20
KEYS = [("fraud", "champion"), ("fraud", "shadow"), ("churn", "champion")]


def make_batches(n: int, seed: int = 0) -> list[pl.DataFrame]:
    rng = np.random.default_rng(seed)
    key_idx = rng.integers(0, len(KEYS), n)
    t0 = 1_796_000_000_000
    times = t0 + np.sort(rng.integers(0, 3_600_000, n)) + rng.integers(-5_000, 5_000, n)
    cols: dict[str, object] = {
        "_partition": pl.Series(rng.integers(0, 6, n), dtype=pl.Int32),
        "_offset": pl.Series(np.arange(n), dtype=pl.Int64),
        "_event_time_ms": pl.Series(times, dtype=pl.Int64),
        "model_id": pl.Series([KEYS[i][0] for i in key_idx], dtype=pl.String),
        "variant": pl.Series([KEYS[i][1] for i in key_idx], dtype=pl.String),
        "event_id": pl.Series([f"e{i}" for i in range(n)], dtype=pl.String),
        "prediction": pl.Series(rng.random(n)),
    }
    for f in range(FEATURES):
        cols[f"f{f}"] = pl.Series(rng.normal(size=n))
    df = pl.DataFrame(cols)
    return [df.slice(i, BATCH) for i in range(0, n, BATCH)]


def run_windowing(batches: list[pl.DataFrame]) -> tuple[float, int]:
    spec = WindowSpec.from_durations("5m", allowed_lateness="10s", idle_timeout="1h")
    state = WindowState(spec)
    state.assign_partitions(range(6), now_ms=0)
    closed = 0
    start = time.perf_counter()
    for b in batches:
        state.add(b, now_ms=0)
        closed += len(state.advance(now_ms=0))
    closed += len(state.close_all())
    return time.perf_counter() - start, closed


def run_naive(batches: list[pl.DataFrame]) -> tuple[float, int]:
    size = 300_000
    start = time.perf_counter()
    windows: dict[tuple[str, str, int], list[dict[str, object]]] = {}
    for b in batches:
        for row in b.iter_rows(named=True):
            ws = row["_event_time_ms"] // size * size
            windows.setdefault((row["model_id"], row["variant"], ws), []).append(row)
    return time.perf_counter() - start, len(windows)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    batches = make_batches(n)
    run_windowing(batches[:2])  # warm-up
    t_win, closed = run_windowing(batches)
    t_naive, naive_windows = run_naive(batches)
    print(f"events: {n:,} in batches of {BATCH:,}; {FEATURES} features; {len(KEYS)} keys; 5m")
    print(f"windowing.WindowState.add+advance: {n / t_win:,.0f} events/s ({closed} windows)")
    print(f"naive per-event dict-append loop:   {n / t_naive:,.0f} events/s ({naive_windows})")
    print(f"ratio windowing / naive: {t_naive / t_win:.1f}x")


if __name__ == "__main__":
    main()
