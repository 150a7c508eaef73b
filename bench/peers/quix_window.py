"""Peer for bench/kafka_throughput.py: Quix Streams, a tumbling 1-minute event-time window per
message key (the key is ``model/variant``, the same key driftsnap windows by), collecting the
values and counting them when the window closes. Runs in its own venv (bench/.venvs/quix):

    bench/.venvs/quix/bin/python bench/peers/quix_window.py --bootstrap B --topic T \
        --group G --expected N [--state-dir DIR] [--agg collect|count]

Stops once ``--expected`` input events went through the dataframe (counted before the window
operator) and prints one JSON line: events, seconds from the first to the last event, windows
emitted at close and the rows they held.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--expected", type=int, required=True)
    ap.add_argument("--state-dir", default=None)
    ap.add_argument("--window-ms", type=int, default=60_000)
    ap.add_argument("--agg", choices=("collect", "count"), default="collect")
    ap.add_argument("--max-seconds", type=float, default=900.0)
    args = ap.parse_args()

    import quixstreams
    from quixstreams import Application

    logging.getLogger("quixstreams").setLevel(logging.WARNING)
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=args.state_dir or "state",
        loglevel="WARNING",
    )

    def event_time(value, _headers, timestamp, _ttype) -> int:  # noqa: ANN001
        ts = value.get("timestamp") if isinstance(value, dict) else None
        return int(ts) if isinstance(ts, (int, float)) else timestamp

    topic = app.topic(args.topic, value_deserializer="json", timestamp_extractor=event_time)
    sdf = app.dataframe(topic)
    st = {"n": 0, "first": None, "last": None, "windows": 0, "rows": 0}
    deadline = time.monotonic() + args.max_seconds

    def seen(_value) -> None:  # noqa: ANN001
        now = time.perf_counter()
        if st["first"] is None:
            st["first"] = now
        st["n"] += 1
        st["last"] = now
        if st["n"] >= args.expected or (st["n"] % 10_000 == 0 and time.monotonic() > deadline):
            app.stop()

    def closed(window) -> None:  # noqa: ANN001
        v = window["value"]
        st["windows"] += 1
        st["rows"] += len(v) if args.agg == "collect" else int(v)

    sdf = sdf.update(seen)
    win = sdf.tumbling_window(duration_ms=args.window_ms)
    win = win.collect() if args.agg == "collect" else win.count()
    win.final().update(closed)
    app.run()
    elapsed = (st["last"] - st["first"]) if st["first"] is not None else 0.0
    out = {
        "peer": f"quixstreams {quixstreams.__version__}",
        "agg": args.agg,
        "events": st["n"],
        "seconds": elapsed,
        "events_per_s": st["n"] / elapsed if elapsed else 0.0,
        "windows_closed": st["windows"],
        "rows_in_closed_windows": st["rows"],
    }
    print(json.dumps(out), flush=True)
    return 0 if st["n"] >= args.expected else 1


if __name__ == "__main__":
    sys.exit(main())
