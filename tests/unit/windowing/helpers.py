"""Factories shared by the windowing unit tests."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from windowing import WindowSpec, WindowState


def batch(
    rows: Sequence[tuple[int, int, int] | tuple[int, int, int, str]],
    *,
    model: str = "fraud",
) -> pl.DataFrame:
    """Rows of ``(partition, offset, event_time_ms[, variant])``; payload ``x = offset``."""
    return pl.DataFrame(
        {
            "_partition": [r[0] for r in rows],
            "_offset": [r[1] for r in rows],
            "_event_time_ms": [r[2] for r in rows],
            "model_id": [model] * len(rows),
            "variant": [r[3] if len(r) > 3 else "champion" for r in rows],
            "x": [float(r[1]) for r in rows],
        },
        schema={
            "_partition": pl.Int32,
            "_offset": pl.Int64,
            "_event_time_ms": pl.Int64,
            "model_id": pl.String,
            "variant": pl.String,
            "x": pl.Float64,
        },
    )


def state(
    size: int = 100,
    step: int | None = None,
    lateness: int = 0,
    idle: int = 1_000,
    partitions: Sequence[int] = (0,),
    **kw: int | None,
) -> WindowState:
    spec = WindowSpec(
        size_ms=size,
        step_ms=size if step is None else step,
        allowed_lateness_ms=lateness,
        idle_timeout_ms=idle,
        **kw,  # type: ignore[arg-type]
    )
    st = WindowState(spec, seed=7)
    st.assign_partitions(partitions, now_ms=0)
    return st
