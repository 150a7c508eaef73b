"""The service end to end on the real broker: ``driftsnap run`` as a subprocess."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from confluent_kafka import Consumer
from prometheus_client.parser import text_string_to_metric_families

from service.generator import generate_requests
from tests.integration.kafka_helpers import FAST_GROUP, create_topic, drain, wait_assigned
from tests.integration.service_helpers import (
    WINDOW_MS,
    aligned_base_ms,
    events_pairs,
    expected_counts,
    make_env,
    produce,
    snapshot_counts,
    start_service,
    stop_service,
    wait_for,
    window_events,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

MALFORMED: list[tuple[bytes | None, bytes]] = (
    [(None, b"not json at all %d" % i) for i in range(5)]
    + [
        (None, json.dumps({"event_id": f"x{i}", "timestamp": 1, "features": {}}).encode())
        for i in range(3)
    ]
    + [
        (
            None,
            json.dumps(
                {
                    "event_id": f"u{i}",
                    "model_id": "nosuchmodel",
                    "variant": "champion",
                    "features": {"f00": 1.0},
                }
            ).encode(),
        )
        for i in range(2)
    ]
)
MALFORMED_REASONS = {"not_json": 5, "missing_field": 3, "unknown_model": 2}


def jitter_order(frame: pl.DataFrame, seed: int, max_ms: int = 1500) -> pl.DataFrame:
    """Arrival order = event time + a random delay below the allowed lateness (out of order,
    never late)."""
    rng = np.random.default_rng(seed)
    delay = rng.integers(0, max_ms, frame.height)
    return (
        frame.with_columns(_arrival=pl.col("event_time_ms") + delay)
        .sort("_arrival")
        .drop("_arrival")
    )


def read_dead_letters(bootstrap: str, topic: str, expected: int, unique: str) -> list:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"dlq-reader-{unique}", **FAST_GROUP})
    c.subscribe([topic])
    msgs = wait_assigned(c)
    msgs += drain(c, expected - len(msgs), timeout=30)
    time.sleep(1.0)  # anything beyond the expected count would be a duplicate: look for it
    msgs += drain(c, 10_000, timeout=1.5)
    c.close()
    return msgs


def reason(msg) -> str:
    return dict(msg.headers() or [])["driftsnap.reason"].decode()


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_end_to_end_one_snapshot_per_key_and_window(
    tmp_path: Path, kafka_bootstrap: str, unique: str
) -> None:
    env = make_env(tmp_path, kafka_bootstrap, unique)
    create_topic(kafka_bootstrap, env.topic, 3)
    create_topic(kafka_bootstrap, env.dlq, 1)
    base = aligned_base_ms()
    frame = window_events(base, n_windows=4, per_window=60, seed=1)
    produce(kafka_bootstrap, env.topic, events_pairs(jitter_order(frame, seed=2)) + MALFORMED)
    proc = start_service(env)
    try:
        wait_for(lambda: len(env.snapshot_files()) >= 16, 120, "16 snapshots")
        # too late: window 0 is closed; these go to the dead-letter topic with reason "late"
        late = window_events(base, n_windows=1, per_window=7, seed=9).filter(
            (pl.col("model_id") == "fraud") & (pl.col("variant") == "champion")
        )
        produce(kafka_bootstrap, env.topic, events_pairs(late))
        dead = read_dead_letters(kafka_bootstrap, env.dlq, 10 + 7, unique)
        metrics = scrape(env.metrics_port)
    finally:
        assert stop_service(proc) == 0, (tmp_path / "service.log").read_text()[-3000:]

    snaps = env.snapshots()
    assert len(snaps) == 16  # 2 models x 2 variants x 4 windows, exactly one each
    assert snapshot_counts(snaps) == expected_counts(frame)
    reasons: dict[str, int] = {}
    for m in dead:
        reasons[reason(m)] = reasons.get(reason(m), 0) + 1
        assert dict(m.headers())["driftsnap.source.topic"].decode() == env.topic
    assert reasons == {**MALFORMED_REASONS, "late": 7}
    # the exported gauges describe the last window of each key
    last_start = base + 3 * WINDOW_MS
    counts = expected_counts(frame)
    for model in ("fraud", "eta"):
        for variant in ("champion", "shadow"):
            labels = (("model", model), ("project", "itest"), ("variant", variant))
            assert (
                metrics[("driftsnap_window_rows", labels)] == counts[(model, variant, last_start)]
            )
            end_s = metrics[("driftsnap_window_end_timestamp_seconds", labels)]
            assert end_s == (last_start + WINDOW_MS) / 1000
    assert metrics[("driftsnap_events_rejected_total", (("reason", "late"),))] == 7
    assert metrics[("driftsnap_events_rejected_total", (("reason", "not_json"),))] == 5


def test_bad_input_mixed_batch_counts_match(
    tmp_path: Path, kafka_bootstrap: str, unique: str
) -> None:
    env = make_env(tmp_path, kafka_bootstrap, unique)
    create_topic(kafka_bootstrap, env.topic, 1)
    create_topic(kafka_bootstrap, env.dlq, 1)
    base = aligned_base_ms()
    valid = window_events(base, n_windows=1, per_window=250, seed=3)  # 1,000 events
    assert valid.height == 1000
    rng = random.Random(4)
    hostile: list[tuple[bytes | None, bytes]] = []
    good = events_pairs(valid.head(1))[0][1]
    for i in range(300):
        kind = i % 6
        if kind == 0:
            raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 60)))
        elif kind == 1:
            raw = good[: rng.randint(1, len(good) - 1)]  # truncated JSON
        elif kind == 2:
            raw = json.dumps(rng.choice([[], 1, "s", None, True])).encode()
        elif kind == 3:
            raw = good.replace(b'"f00":', b'"f00":"NaNx",', 1)  # wrong type / broken
        elif kind == 4:
            raw = good.replace(b'"timestamp":', b'"timestamp":-99999999999999,"x":', 1)
        else:
            raw = good.replace(b'"model_id":"', b'"model_id":"zz', 1)
        hostile.append((None, raw))
    pairs = events_pairs(valid) + hostile
    random.Random(5).shuffle(pairs)
    produce(kafka_bootstrap, env.topic, pairs)
    proc = start_service(env)
    try:
        wait_for(lambda: len(env.snapshot_files()) >= 4, 120, "4 snapshots")
        dead = read_dead_letters(kafka_bootstrap, env.dlq, 300, unique)
    finally:
        assert stop_service(proc) == 0, (tmp_path / "service.log").read_text()[-3000:]
    snaps = env.snapshots()
    assert sum(s["metadata"]["batch_size"] for s in snaps.values()) == 1000
    assert len(dead) == 300
    assert len({(reason(m), m.value()) for m in dead}) >= 6


def test_kill_9_and_restart_loses_no_window(
    tmp_path: Path, kafka_bootstrap: str, unique: str
) -> None:
    from service.config import load_settings
    from service.replay import replay

    # Historic events (10 min old) and restarts every few seconds: the idle timeout is longer
    # than each run, so windows close on event time while the service is killed and
    # restarted; the all-idle rule (watermark follows the clock) only closes the tail at the
    # end. With a shorter one, a quiet run would move the watermark to "now" and the next
    # chunk of 10-minute-old events would rightly be late.
    env = make_env(tmp_path, kafka_bootstrap, unique, extra_window={"idle_timeout": "9s"})
    create_topic(kafka_bootstrap, env.topic, 3)
    create_topic(kafka_bootstrap, env.dlq, 1)
    base = aligned_base_ms()
    frame = window_events(base, n_windows=6, per_window=400, seed=6)
    pairs = events_pairs(frame)
    # the oracle: the same events through `driftsnap replay`, uninterrupted
    events_file = tmp_path / "events.jsonl"
    events_file.write_bytes(b"\n".join(v for _, v in pairs) + b"\n")
    oracle_settings = load_settings(env.config, {"workspace": {"path": str(tmp_path / "oracle")}})
    replay(oracle_settings, events_file, dead_letter=tmp_path / "oracle-dead.jsonl")
    oracle_dir = tmp_path / "oracle" / env.project / "snapshots"
    oracle = {p.stem: p.read_bytes() for p in oracle_dir.glob("*.json")}
    assert len(oracle) == 24

    chunks = [pairs[i : i + len(pairs) // 4] for i in range(0, len(pairs), len(pairs) // 4)]
    rng = random.Random(7)
    kills = 0
    for i, chunk in enumerate(chunks):
        produce(kafka_bootstrap, env.topic, chunk + MALFORMED[:2])
        proc = start_service(env)
        time.sleep(rng.uniform(2.0, 6.0))  # join, consume, mid-window or mid-publish
        if i < len(chunks) - 1:
            stop_service(proc, kill=True)
            kills += 1
    try:
        wait_for(lambda: len(env.snapshot_files()) >= 24, 120, "24 snapshots after restarts")
        time.sleep(2)
        dead = read_dead_letters(kafka_bootstrap, env.dlq, 2 * len(chunks), unique)
    finally:
        assert stop_service(proc) == 0
    assert kills == 3
    got = {p.stem: p.read_bytes() for p in env.snapshot_files()}
    assert set(got) == set(oracle)  # same ids, no extra snapshots
    for sid, body in oracle.items():
        assert got[sid] == body, f"snapshot {sid} differs from the uninterrupted run"
    # every malformed record is dead-lettered at least once; duplicates only from re-reads
    coords = {
        (
            dict(m.headers())["driftsnap.source.partition"],
            dict(m.headers())["driftsnap.source.offset"],
        )
        for m in dead
    }
    assert len(coords) == 2 * len(chunks)
    assert len(dead) <= 2 * len(chunks) * (kills + 1)


class LiveProducer(threading.Thread):
    """Live traffic: every 250 ms, 5 requests per model stamped with the wall clock (each
    scored by champion and shadow), for ``seconds``; keeps every produced row."""

    def __init__(self, bootstrap: str, topic: str, seconds: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.seconds = bootstrap, topic, seconds
        self.frames: list[pl.DataFrame] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            end = time.monotonic() + self.seconds
            i = 0
            while time.monotonic() < end:
                now = int(time.time() * 1000)
                frame = pl.concat(
                    generate_requests(
                        5,
                        seed=i * 10 + m,
                        start_ms=now,
                        span_ms=250,
                        model_id=model,
                        id_prefix=f"live{i}-",
                    )
                    for m, model in enumerate(("fraud", "eta"))
                )
                produce(self.bootstrap, self.topic, events_pairs(frame))
                self.frames.append(frame)
                i += 1
                time.sleep(0.25)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


def test_rebalance_two_instances_every_window_once(
    tmp_path: Path, kafka_bootstrap: str, unique: str
) -> None:
    env = make_env(tmp_path, kafka_bootstrap, unique, extra_window={"allowed_lateness": "1s"})
    create_topic(kafka_bootstrap, env.topic, 6)
    create_topic(kafka_bootstrap, env.dlq, 1)
    a = start_service(env, "a.log")
    b = None
    # instance B: the same config (same group, same shared workspace), another metrics port
    b_env = type(env)(**{**env.__dict__, "config": tmp_path / "config-b.yaml"})
    b_env.config.write_text(env.config.read_text().replace(f"port: {env.metrics_port}", "port: 0"))
    live = LiveProducer(kafka_bootstrap, env.topic, seconds=45)
    try:
        wait_for(lambda: ready(env.metrics_port), 60, "instance A ready")
        live.start()
        time.sleep(12)
        b = start_service(b_env, "b.log")  # joins mid-run: the group rebalances
        time.sleep(15)
        assert stop_service(a) == 0  # A leaves mid-run: B takes every partition
        live.join()
        assert live.error is None, live.error
        frame = pl.concat(live.frames)
        expected = expected_counts(frame)
        wait_for(lambda: len(env.snapshot_files()) >= len(expected), 90, "every window")
        time.sleep(2)
    finally:
        if a.poll() is None:
            stop_service(a, kill=True)
        if b is not None:
            assert stop_service(b) == 0, (tmp_path / "b.log").read_text()[-3000:]
    snaps = env.snapshots()
    assert snapshot_counts(snaps) == expected  # every window once, complete
    assert len(snaps) == len(expected)
    assert "assigned" in (tmp_path / "b.log").read_text()


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False
