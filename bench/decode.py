"""Decoder candidates for the consumer's hot path, on 200k events of ~410 bytes (20 float
features and 3 short strings in a nested ``features`` object), in batches of 10,000 (what
``consume(10000)`` hands over). Figures are events/s and the ratio against the peer,
``orjson.loads`` per message (which builds no columns at all).

    .venv/bin/python bench/decode.py [--events 200000] [--batch 10000] [--repeat 5]

Every candidate that builds a frame is checked against ``decode_batch`` (same values) before it
is timed, so a fast but wrong candidate cannot win.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from operator import attrgetter
from pathlib import Path
from typing import Any

import msgspec
import orjson
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consumer.decode import DecodeBounds, decode_batch  # noqa: E402
from consumer.mapping import ColumnMapping, EventSchema, ModelSchema  # noqa: E402

NUM = [f"f{i}" for i in range(20)]
CAT = ["country", "channel", "device"]
SCHEMA = EventSchema(
    ColumnMapping(),
    {"fraud": ModelSchema({**dict.fromkeys(NUM, "num"), **dict.fromkeys(CAT, "cat")})},
)
NOW_MS = 1_796_292_902_120
BOUNDS = DecodeBounds()


def make_events(n: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ts = NOW_MS - rng.randrange(600_000)
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts // 1000)) + f".{ts % 1000:03d}Z"
        event = {
            "event_id": f"e{i:08d}",
            "timestamp": iso,
            "model_id": "fraud",
            "variant": rng.choice(["champion", "shadow"]),
            "features": {
                **{f: round(rng.uniform(0, 100), 2) for f in NUM},
                "country": rng.choice(["DE", "FR", "US"]),
                "channel": rng.choice(["web", "app"]),
                "device": rng.choice(["ios", "android", "web"]),
            },
            "prediction": round(rng.random(), 4),
            "target": None,
        }
        out.append(orjson.dumps(event))
    return out


# ----------------------------------------------------------------------------- candidates


def peer_orjson(batch: list[bytes]) -> Any:
    return [orjson.loads(v) for v in batch]


def orjson_columns(batch: list[bytes]) -> pl.DataFrame:
    docs = [orjson.loads(v) for v in batch]
    feats = [d["features"] for d in docs]
    cols = {c: [d.get(c) for d in docs] for c in ("event_id", "model_id", "variant", "prediction")}
    cols.update({f: [x.get(f) for x in feats] for f in NUM + CAT})
    return pl.DataFrame(cols, schema_overrides={f: pl.Float64 for f in NUM})


def chosen(batch: list[bytes], offset: int = 0) -> pl.DataFrame:
    n = len(batch)
    ts = [NOW_MS] * n
    return decode_batch(
        batch, [0] * n, list(range(offset, offset + n)), ts, "t", SCHEMA, BOUNDS, NOW_MS
    ).frame


_F = msgspec.defstruct(
    "F",
    [(f, float | None, None) for f in NUM] + [(c, str | None, None) for c in CAT],
    kw_only=True,
    gc=False,
)
_E = msgspec.defstruct(
    "E",
    [
        ("model_id", str),
        ("event_id", str | None, None),
        ("timestamp", str | None, None),
        ("variant", str | None, None),
        ("features", _F),
        ("prediction", float | None, None),
    ],
    kw_only=True,
    gc=False,
)
_LIST = msgspec.json.Decoder(list[_E])
_RAW = msgspec.json.Decoder(list[msgspec.Raw])


def _struct_columns(events: list[Any]) -> pl.DataFrame:
    feats = list(map(attrgetter("features"), events))
    cols: dict[str, pl.Series] = {
        c: pl.Series(c, list(map(attrgetter(c), events)))
        for c in ("event_id", "model_id", "variant", "prediction")
    }
    for f in NUM:
        cols[f] = pl.Series(f, list(map(attrgetter(f), feats)), dtype=pl.Float64)
    for c in CAT:
        cols[c] = pl.Series(c, list(map(attrgetter(c), feats)), dtype=pl.Utf8)
    return pl.DataFrame(list(cols.values()))


def msgspec_joined(batch: list[bytes]) -> pl.DataFrame:
    """One JSON array per batch. Joining is ambiguous (two messages can form one object), so the
    element boundaries are checked with a ``list[Raw]`` pass against the message lengths."""
    joined = b"[" + b",".join(batch) + b"]"
    raws = _RAW.decode(joined)
    if len(raws) != len(batch) or any(len(r) != len(v) for r, v in zip(raws, batch, strict=True)):
        raise RuntimeError("ambiguous join: fall back to per-message decoding")
    return _struct_columns(_LIST.decode(joined))


def msgspec_joined_unchecked(batch: list[bytes]) -> pl.DataFrame:
    return _struct_columns(_LIST.decode(b"[" + b",".join(batch) + b"]"))


_ND_SCHEMA = {
    "event_id": pl.Utf8,
    "timestamp": pl.Utf8,
    "model_id": pl.Utf8,
    "variant": pl.Utf8,
    "features": pl.Struct({**{f: pl.Float64 for f in NUM}, **{c: pl.Utf8 for c in CAT}}),
    "prediction": pl.Float64,
}


def polars_ndjson(batch: list[bytes]) -> pl.DataFrame:
    return pl.read_ndjson(io.BytesIO(b"\n".join(batch)), schema=_ND_SCHEMA).unnest("features")


def _worker(batch: list[bytes], offset: int) -> bytes:
    buf = io.BytesIO()
    chosen(batch, offset).write_ipc(buf)
    return buf.getvalue()


class TwoProcesses:
    """``decode_batch`` on half of each batch in a worker process, frames back as Arrow IPC."""

    def __init__(self) -> None:
        # spawn, not fork: a forked polars thread pool can deadlock
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self.pool.submit(_worker, [], 0).result()

    def __call__(self, batch: list[bytes]) -> pl.DataFrame:
        half = len(batch) // 2
        fut = self.pool.submit(_worker, batch[half:], half)
        here = chosen(batch[:half])
        return pl.concat([here, pl.read_ipc(io.BytesIO(fut.result()))])


# ----------------------------------------------------------------------------- runner


def timed(fn: Callable[[list[bytes]], Any], batches: list[list[bytes]], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for b in batches:
            fn(b)
        best = min(best, time.perf_counter() - t0)
    return sum(map(len, batches)) / best


def check(name: str, frame: pl.DataFrame, reference: pl.DataFrame) -> None:
    cols = ["event_id", "model_id", "variant", "prediction", *NUM, *CAT]
    if not frame.select(cols).equals(reference.select(cols)):
        raise SystemExit(f"{name} decodes differently from decode_batch")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    values = make_events(args.events)
    batches = [values[i : i + args.batch] for i in range(0, len(values), args.batch)]
    print(
        f"{len(values)} events, mean {sum(map(len, values)) / len(values):.0f} bytes, "
        f"batches of {args.batch}, best of {args.repeat}, {os.cpu_count()} cores, "
        f"polars threads {pl.thread_pool_size()}"
    )
    two = TwoProcesses()
    candidates: list[tuple[str, Callable[[list[bytes]], Any]]] = [
        ("orjson.loads per message (peer, no columns)", peer_orjson),
        ("orjson.loads per message + columns", orjson_columns),
        ("decode_batch: msgspec per message + checks", chosen),
        ("msgspec joined array + Raw boundary check", msgspec_joined),
        ("msgspec joined array, unchecked (unsafe)", msgspec_joined_unchecked),
        ("polars.read_ndjson joined (schema given)", polars_ndjson),
        ("decode_batch on 2 processes (IPC back)", two),
    ]
    reference = chosen(batches[0])
    for name, fn in candidates[1:]:
        check(name, fn(batches[0]), reference)
    peer = 0.0
    for name, fn in candidates:
        rate = timed(fn, batches, args.repeat)
        peer = peer or rate
        print(f"  {name:46s} {rate / 1e3:8.0f} k events/s   {rate / peer:5.2f}x peer")
    two.pool.shutdown()


if __name__ == "__main__":
    main()
