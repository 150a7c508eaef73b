"""Helpers to run the real service (a subprocess of ``driftsnap run``) against the real broker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from confluent_kafka import Producer

from service.generator import MODELS, encode_events, generate_requests, reference_frame

WINDOW_MS = 10_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def aligned_base_ms(minutes_ago: int = 10) -> int:
    """A window-aligned event time well in the past (so the idle rule can close everything)."""
    now = int(time.time() * 1000) - minutes_ago * 60_000
    return now - now % WINDOW_MS


@dataclass
class ServiceEnv:
    tmp: Path
    bootstrap: str
    topic: str
    dlq: str
    group: str
    workspace: Path
    config: Path
    metrics_port: int
    project: str = "itest"

    def snapshot_files(self) -> list[Path]:
        folder = self.workspace / self.project / "snapshots"
        return sorted(folder.glob("*.json")) if folder.is_dir() else []

    def snapshots(self) -> dict[str, dict[str, Any]]:
        return {p.stem: json.loads(p.read_bytes()) for p in self.snapshot_files()}


def make_env(
    tmp: Path,
    bootstrap: str,
    unique: str,
    *,
    extra_window: dict[str, Any] | None = None,
    extra_kafka: dict[str, Any] | None = None,
) -> ServiceEnv:
    refs = tmp / "reference"
    refs.mkdir(exist_ok=True)
    models = {}
    for model in MODELS:
        path = refs / f"{model}.parquet"
        reference_frame(model, n=2000).write_parquet(path)
        models[model] = {"reference": str(path), "tags": ["itest"]}
    port = free_port()
    env = ServiceEnv(
        tmp=tmp,
        bootstrap=bootstrap,
        topic=f"events-{unique}",
        dlq=f"dlq-{unique}",
        group=f"g-{unique}",
        workspace=tmp / "workspace",
        config=tmp / "config.yaml",
        metrics_port=port,
    )
    config = {
        "project": {"id": env.project},
        "kafka": {
            "bootstrap_servers": bootstrap,
            "topics": [env.topic],
            "group_id": env.group,
            "dead_letter_topic": env.dlq,
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 500,
            "commit_interval_ms": 200,
            "batch_size": 2000,
            "fetch_wait_max_ms": 50,
            **(extra_kafka or {}),
        },
        "window": {
            "size": f"{WINDOW_MS}ms",
            "allowed_lateness": "2s",
            "idle_timeout": "3s",
            "min_rows": 10,
            **(extra_window or {}),
        },
        "events": {"max_past": "1d"},
        "models": models,
        "workspace": {"path": str(env.workspace)},
        "metrics": {"port": port},
    }
    env.config.write_text(yaml.safe_dump(config))
    return env


def window_events(
    base_ms: int, n_windows: int, per_window: int, seed: int, *, drift_last: bool = True
) -> pl.DataFrame:
    """``per_window`` requests per model per window (each scored by champion and shadow); the
    generator's drift is injected in the last window unless ``drift_last`` is false."""
    frames = []
    for w in range(n_windows):
        for m_i, model in enumerate(MODELS):
            frames.append(
                generate_requests(
                    per_window,
                    seed=seed * 1000 + w * 10 + m_i,
                    start_ms=base_ms + w * WINDOW_MS,
                    span_ms=WINDOW_MS,
                    model_id=model,
                    id_prefix=f"w{w}-",
                    drifted=drift_last and w >= n_windows - 1,
                )
            )
    return pl.concat(frames)


def produce(bootstrap: str, topic: str, pairs: list[tuple[bytes | None, bytes]]) -> None:
    errors: list[str] = []
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for key, value in pairs:
        p.produce(topic, value, key, on_delivery=lambda e, _m: e and errors.append(str(e)))
        p.poll(0)
    assert p.flush(30) == 0
    assert not errors, errors


def events_pairs(
    frame: pl.DataFrame, *, with_target: bool = False
) -> list[tuple[bytes | None, bytes]]:
    return list(encode_events(frame, with_target=with_target))


def start_service(env: ServiceEnv, log_name: str = "service.log") -> subprocess.Popen[bytes]:
    with (env.tmp / log_name).open("ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "service", "run", "--config", str(env.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def stop_service(proc: subprocess.Popen[bytes], *, kill: bool = False, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    return proc.wait(timeout)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def expected_counts(frame: pl.DataFrame) -> dict[tuple[str, str, int], int]:
    """(model, variant, window start ms) → rows."""
    g = (
        frame.with_columns((pl.col("event_time_ms") // WINDOW_MS * WINDOW_MS).alias("w"))
        .group_by("model_id", "variant", "w")
        .len()
    )
    return {(m, v, w): n for m, v, w, n in g.iter_rows()}


def snapshot_counts(snaps: dict[str, dict[str, Any]]) -> dict[tuple[str, str, int], int]:
    out = {}
    for s in snaps.values():
        key = s["window"]["key"]
        start = int(
            pl.Series([s["window"]["start"]]).str.to_datetime(time_zone="UTC").dt.epoch("ms")[0]
        )
        out[(key["model_id"], key["variant"], start)] = s["metadata"]["batch_size"]
    return out
