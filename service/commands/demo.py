"""``driftsnap demo``: the whole thing on one machine, on embedded defaults.

Starts the project's Apache Kafka broker (``scripts/kafka``), creates the topics, writes a
reference per model, runs the event generator (two models, champion and shadow variants, drift
injected after a while) and the service with a local workspace and the metrics endpoint, and
prints a line per published snapshot. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run broker, generator and service locally (Ctrl-C stops)")
    p.add_argument("--dir", default="demo", help="folder for the config, references, workspace")
    p.add_argument("--rate", type=float, default=100.0, help="generated requests per second")
    p.add_argument("--window", default="30s", help="window size")
    p.add_argument(
        "--drift-after", type=int, default=6000, help="requests per model before drift is injected"
    )
    p.add_argument("--metrics-port", type=int, default=9108)
    p.add_argument(
        "--duration",
        type=float,
        default=0.0,
        help="stop by itself after this many seconds (0 = until Ctrl-C)",
    )
    p.set_defaults(func=run)


def _start_broker(state: Path) -> str:
    script = ROOT / "scripts" / "kafka"
    if not script.is_file():
        msg = f"{script} not found: run the demo from a clone of the driftsnap repository"
        raise SystemExit(msg)
    env = {**os.environ, "DRIFTSNAP_STATE": str(state)}
    out = subprocess.run(
        [str(script), "start"], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"could not start Kafka:\n{out.stderr}")
    return out.stdout.strip().splitlines()[-1]


def _stop_broker(state: Path) -> None:
    env = {**os.environ, "DRIFTSNAP_STATE": str(state)}
    subprocess.run(
        [str(ROOT / "scripts" / "kafka"), "stop"], env=env, capture_output=True, check=False
    )


def write_demo_files(folder: Path, bootstrap: str, window: str, metrics_port: int) -> Path:
    """References for both generated models and a config pointing at them."""
    from service.generator import MODELS, reference_frame

    (folder / "reference").mkdir(parents=True, exist_ok=True)
    models = {}
    for model in MODELS:
        path = folder / "reference" / f"{model}.parquet"
        reference_frame(model).write_parquet(path)
        models[model] = {
            "reference": f"reference/{model}.parquet",
            "tags": ["demo"],
            # the generator's drift moves 6 of 23 features and the prediction: flag the
            # dataset as drifted from a quarter of the columns (Evidently's default is half)
            "drift_share": 0.25,
            "metadata": {"owner": "demo"},
            "presets": [
                "data_drift",
                "data_quality",
                "classification" if model == "fraud" else "regression",
            ],
        }
    config = {
        "project": {"id": "demo", "name": "driftsnap demo"},
        "kafka": {
            "bootstrap_servers": bootstrap,
            "topics": ["inference-events"],
            "group_id": "driftsnap-demo",
            "dead_letter_topic": "driftsnap-dead-letter",
            "snapshot_topic": "driftsnap-snapshots",
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 500,
            "fetch_wait_max_ms": 100,
        },
        "window": {"size": window, "allowed_lateness": "2s", "idle_timeout": "5s", "min_rows": 50},
        "models": models,
        "workspace": {"path": str((folder / "workspace").resolve())},
        "metrics": {"port": metrics_port},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _line(snapshot: Any) -> str:
    drift = snapshot.metric("data_drift")
    res = drift.result if drift is not None else {}
    failed = sum(1 for t in snapshot.tests if t.status == "FAIL")
    flag = "DRIFT" if res.get("dataset_drift") else "ok   "
    rows = snapshot.metadata.get("batch_size")
    return (
        f"{snapshot.timestamp:%H:%M:%S} {snapshot.name:<16} rows={rows!s:>5} "
        f"{flag} drifted={res.get('number_of_drifted_columns')}/{res.get('number_of_columns')} "
        f"failed_tests={failed}"
    )


def run(args: argparse.Namespace) -> int:
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    from service.config import load_settings
    from service.runner import Service

    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    state = (folder / ".broker").resolve()
    print("starting Apache Kafka (first run downloads it from Maven Central)...", flush=True)
    bootstrap = _start_broker(state)
    generator = None
    service = None
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topics = [
            NewTopic("inference-events", 3, 1),
            NewTopic("driftsnap-dead-letter", 1, 1),
            NewTopic("driftsnap-snapshots", 1, 1),
        ]
        for fut in admin.create_topics(topics).values():
            try:
                fut.result(30)
            except Exception as exc:  # noqa: BLE001 - already exists on a second run
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise
        config = write_demo_files(folder, bootstrap, args.window, args.metrics_port)
        generator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service",
                "generate",
                "--bootstrap",
                bootstrap,
                "--topic",
                "inference-events",
                "--rate",
                str(args.rate),
                "--drift-after",
                str(args.drift_after),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        settings = load_settings(config)
        service = Service(settings, on_published=lambda s: print(_line(s), flush=True))
        print(
            f"\nbroker      {bootstrap}\n"
            f"workspace   {settings.workspace.path}\n"
            f"metrics     http://127.0.0.1:{service.metrics_port}/metrics\n"
            f"config      {config}\n"
            f"generator   {args.rate:g} requests/s × 2 models × champion+shadow, "
            f"drift after {args.drift_after} requests\n"
            f"windows     {args.window}; a line appears per published snapshot. Ctrl-C stops.\n",
            flush=True,
        )
        if args.duration:
            import threading

            threading.Timer(args.duration, service.stop_event.set).start()
        return service.run()
    finally:
        if generator is not None:
            generator.terminate()
            try:
                generator.wait(10)
            except subprocess.TimeoutExpired:
                generator.kill()
        # release the service's Kafka clients before the broker goes, or their threads keep
        # logging reconnect failures until the interpreter exits
        service = None
        gc.collect()
        _stop_broker(state)
        print("demo stopped (broker, generator and service)", flush=True)
        time.sleep(0)
