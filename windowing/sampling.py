"""Uniform, replay-stable sampling of a window that exceeds ``max_rows_per_window``.

Each row gets a pseudo-random priority that is a pure function of the window identity (its
key and bounds, plus the state's seed) and the row's Kafka coordinates ``(partition, offset)``;
the sample is the ``cap`` rows with the smallest priorities ("bottom-k" sampling). This is a
uniform sample without replacement, like a reservoir, but unlike Algorithm R it does not depend
on the order in which rows arrived or on batch boundaries, so a replay after a crash (or a
reordering of partitions) selects exactly the same rows.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
from numpy.typing import NDArray

_MASK64 = (1 << 64) - 1


def window_seed(seed: int, key: tuple[str | None, ...], start_ms: int, end_ms: int) -> int:
    """A 64-bit seed derived from the state's seed and the window identity."""
    text = repr((seed, key, start_ms, end_ms)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def _splitmix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    # Array arithmetic on uint64 wraps modulo 2**64, which is what splitmix64 wants.
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def row_priorities(
    partitions: NDArray[np.int64], offsets: NDArray[np.int64], seed64: int
) -> NDArray[np.uint64]:
    """Priority of each row, a pure function of ``(seed64, partition, offset)``."""
    p = partitions.astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93)
    o = offsets.astype(np.uint64)
    return _splitmix64(_splitmix64(o ^ np.uint64(seed64 & _MASK64)) ^ p)


def bottom_k(frame: pl.DataFrame, cap: int, seed64: int) -> pl.DataFrame:
    """The ``cap`` rows of ``frame`` with the smallest priorities, in their original order."""
    if frame.height <= cap:
        return frame
    prio = row_priorities(
        frame.get_column("_partition").to_numpy().astype(np.int64),
        frame.get_column("_offset").to_numpy().astype(np.int64),
        seed64,
    )
    # Ties (identical coordinates) are broken by the stable sort, which keeps the sample size.
    keep = np.sort(np.argsort(prio, kind="stable")[:cap])
    return frame.select(pl.all().gather(keep))
