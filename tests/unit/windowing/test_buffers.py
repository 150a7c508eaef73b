"""Window buffers: what is stored compactly (no key columns, Categorical strings, compacted
chunks) must come back as exactly the frame the plain chunks would have given."""

from __future__ import annotations

import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from windowing import WindowSpec, WindowState
from windowing import state as state_mod
from windowing.sampling import bottom_k

COUNTRIES = ["de", "fr", "it", None]


def plain_close(batches: list[pl.DataFrame]) -> pl.DataFrame:
    """The frame of a window holding every row of ``batches``, as the plain chunks give it."""
    return pl.concat(batches, how="diagonal_relaxed").sort("_partition", "_offset")


def make_batch(
    rows: list[tuple[int, int, int]],
    *,
    tenant: int | None = 7,
    model: str = "fraud",
    key_dtype: pl.DataType | type[pl.DataType] = pl.String,
) -> pl.DataFrame:
    """Key columns in the middle of the batch, an Int16 / nullable key, repeated and unique
    strings in the payload."""
    n = len(rows)
    return pl.DataFrame(
        {
            "_partition": [r[0] for r in rows],
            "_offset": [r[1] for r in rows],
            "event_id": [f"event-{r[0]}-{r[1]:08d}" for r in rows],
            "tenant": [tenant] * n,
            "x": [r[1] / 3 for r in rows],
            "model_id": [model] * n,
            "country": [COUNTRIES[r[1] % len(COUNTRIES)] for r in rows],
            "_event_time_ms": [r[2] for r in rows],
        },
        schema={
            "_partition": pl.Int32,
            "_offset": pl.Int64,
            "event_id": pl.String,
            "tenant": pl.Int16,
            "x": pl.Float64,
            "model_id": key_dtype,
            "country": pl.String,
            "_event_time_ms": pl.Int64,
        },
    )


def new_state(size: int = 1_000, step: int | None = None) -> WindowState:
    spec = WindowSpec(
        size_ms=size,
        step_ms=size if step is None else step,
        idle_timeout_ms=10**9,
        key_columns=("tenant", "model_id"),
    )
    st = WindowState(spec, seed=3)
    st.assign_partitions([0, 1, 2], now_ms=0)
    return st


@pytest.mark.parametrize("tenant", [7, None])
def test_key_columns_restored_with_their_dtype_and_position(tenant: int | None) -> None:
    batches = [
        make_batch([(i % 3, i, 10 + i) for i in range(k * 16, k * 16 + 16)], tenant=tenant)
        for k in range(13)
    ]
    st = new_state()
    for b in batches:
        st.add(b, now_ms=0)
    ((wid, buf),) = st._open.items()  # noqa: SLF001 - the stored form is the point here
    assert wid == (("7" if tenant is not None else None, "fraud"), 0)
    stored = buf.chunks[0].schema
    assert "tenant" not in stored
    assert "model_id" not in stored
    assert stored["country"] == pl.Categorical(buf.categories)
    assert stored["event_id"] == pl.String  # unique values stay strings
    assert len(buf.chunks) < len(batches)  # compacted
    (closed,) = st.close_all()
    expected = plain_close(batches)
    assert closed.frame.schema == expected.schema
    assert closed.frame.columns[3] == "tenant"
    assert closed.frame.schema["tenant"] == pl.Int16
    assert_frame_equal(closed.frame, expected)
    assert closed.key_dict == {"tenant": None if tenant is None else "7", "model_id": "fraud"}


@pytest.mark.parametrize("fanin", [2, 3, 1_000])
def test_compaction_keeps_contents_identical(monkeypatch: pytest.MonkeyPatch, fanin: int) -> None:
    rng = random.Random(fanin)
    events = [(rng.randrange(3), rng.randrange(0, 2_000)) for _ in range(1_500)]
    next_offset = [0, 0, 0]
    rows: list[tuple[int, int, int, str]] = []
    for p, t in events:
        rows.append((p, next_offset[p], t, rng.choice(["fraud", "eta"])))
        next_offset[p] += 1
    batches: list[pl.DataFrame] = []
    i = 0
    while i < len(rows):
        n = rng.randrange(1, 60)
        part = rows[i : i + n]
        batches.append(
            pl.concat(
                [make_batch([r[:3] for r in part if r[3] == m], model=m) for m in ("fraud", "eta")]
            )
        )
        i += n

    def run() -> dict[tuple[tuple[str | None, ...], int], pl.DataFrame]:
        st = new_state(size=300, step=100)
        for b in batches:
            st.add(b, now_ms=0)
        return {(c.key, c.window.start_ms): c.frame for c in st.close_all()}

    monkeypatch.setattr(state_mod, "COMPACT_FANIN", fanin)
    got = run()
    # the oracle: every row in every hopping window holding it, plain concatenation
    for (key, start), frame in got.items():
        expected = plain_close(
            [
                b.filter(
                    (pl.col("model_id") == key[1])
                    & (pl.col("_event_time_ms") >= start)
                    & (pl.col("_event_time_ms") < start + 300)
                )
                for b in batches
            ]
        )
        assert_frame_equal(frame, expected)
    assert len(got) == 2 * 22  # windows starting at -200 .. 1900, both models


def test_schema_change_inside_a_window_falls_back_to_plain_chunks() -> None:
    first = make_batch([(0, i, 5 + i) for i in range(10)])
    # x becomes Int64, a new column appears, the key column changes dtype
    second = make_batch([(0, i, 5 + i) for i in range(10, 20)], key_dtype=pl.Categorical)
    second = second.with_columns(pl.col("_offset").alias("x"), pl.lit("y").alias("extra"))
    third = make_batch([(0, i, 5 + i) for i in range(20, 30)]).drop("country")
    batches = [first, first.with_columns(pl.col("_offset") + 100), second, third]
    st = new_state()
    for b in batches:
        st.add(b, now_ms=0)
    (closed,) = st.close_all()
    expected = plain_close(batches)
    assert closed.frame.schema == expected.schema
    assert_frame_equal(closed.frame, expected)


def test_sampled_window_from_compact_chunks_matches_plain() -> None:
    spec = WindowSpec(size_ms=10_000, step_ms=10_000, max_rows_per_window=25)
    batches = [
        make_batch([(0, i, 1_000 + i) for i in range(k * 9, k * 9 + 9)])
        .rename({"tenant": "variant"})
        .with_columns(pl.col("variant").cast(pl.String))
        for k in range(20)
    ]
    st = WindowState(spec, seed=5)
    st.assign_partitions([0], now_ms=0)
    for b in batches:
        st.add(b, now_ms=0)
    (closed,) = st.close_all()
    assert closed.sampled
    assert closed.frame.height == 25
    assert closed.row_count == 180
    seed64 = st._seed64(closed.key, 0)  # noqa: SLF001
    expected = bottom_k(pl.concat(batches), 25, seed64).sort("_partition", "_offset")
    assert_frame_equal(closed.frame, expected)
