"""Throughput through a real Apache Kafka broker: driftsnap end to end against the raw
consumer ceiling and a peer stream processor (Quix Streams), in one run on one topic.

    .venv/bin/python bench/kafka_throughput.py                  # 2M events, starts its own broker
    .venv/bin/python bench/kafka_throughput.py --events 200000  # quick check
    .venv/bin/python bench/kafka_throughput.py --bootstrap 127.0.0.1:19092   # reuse a broker

Setup (once) for the peer, in its own venv (never the project venv):

    python3 -m venv bench/.venvs/quix && bench/.venvs/quix/bin/pip install quixstreams

1. Fill: a fresh topic with ``--partitions`` (6) partitions receives ``--events`` (2M) events
   from ``service.generator`` (2 models x 2 variants, 20 numerical + 3 categorical features,
   ~450 bytes of JSON, key ``model/variant``), event times spread over ``--span`` (45 min) in
   time order, so 1-minute windows close while the topic is read.
2. raw ceiling: a bare confluent-kafka consumer, ``consume(10000)``, touching only the value.
3. peer: Quix Streams (bench/peers/quix_window.py, its own venv), a tumbling 1-minute window per
   key collecting the values and counting them at close.
4. driftsnap: ``driftsnap run`` as a subprocess (decode, validate, window, evaluate at close,
   publish to a local workspace + Prometheus); done when its counter
   ``driftsnap_events_consumed_total`` reaches the topic size, and again when its committed
   offsets reach the end of every partition (i.e. every window published, which includes the
   idle timeout that closes the last windows).

Each phase uses its own consumer group and times from its first event to its last, so group
joins and process start-up are excluded alike. CPU seconds (user+sys, the process and its
librdkafka threads) are printed beside each figure because the machine is shared: the load
average is printed with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

QUIX_PY = ROOT / "bench" / ".venvs" / "quix" / "bin" / "python"
TARGET_VS_PEER = 5.0
TARGET_VS_RAW = 0.5


def load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


@dataclass
class Phase:
    name: str
    events: int = 0
    seconds: float = 0.0
    cpu_s: float | None = None
    load_before: str = ""
    load_after: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


# ------------------------------------------------------------------------------ broker


def start_broker() -> tuple[str, str]:
    state = tempfile.mkdtemp(prefix="driftsnap-bench-state-")
    env = {**os.environ, "DRIFTSNAP_STATE": state, "KAFKA_HEAP": os.environ.get("KAFKA_HEAP", "1g")}
    out = subprocess.run(
        [str(ROOT / "scripts" / "kafka"), "start"], env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"could not start Kafka:\n{out.stderr}")
    return out.stdout.strip().splitlines()[-1], state


def stop_broker(state: str) -> None:
    env = {**os.environ, "DRIFTSNAP_STATE": state}
    subprocess.run([str(ROOT / "scripts" / "kafka"), "stop"], env=env, capture_output=True)
    shutil.rmtree(state, ignore_errors=True)


# ------------------------------------------------------------------------------ fill


def fill(bootstrap: str, topic: str, events: int, partitions: int, span_ms: int) -> dict[str, Any]:
    import polars as pl

    from service.commands.generate import KafkaWriter, request_batches
    from service.generator import MODELS, VARIANTS, encode_events, generate_requests

    admin = AdminClient({"bootstrap.servers": bootstrap})
    fut = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    fut[topic].result(30)
    per_request = len(MODELS) * len(VARIANTS)
    chunk = 5000
    n_chunks = max(1, -(-events // (chunk * per_request)))
    chunk = max(1, events // (n_chunks * per_request))
    now = int(time.time() * 1000)
    base = now - span_ms - 120_000  # ends two minutes ago: every window can close by idleness
    base -= base % 60_000
    per = span_ms // n_chunks
    span_ms = per * n_chunks
    writer = KafkaWriter(bootstrap)
    t0 = time.perf_counter()
    nbytes = 0
    keys: set[tuple[str, str, int]] = set()
    for i in range(n_chunks):
        frame = request_batches(
            models=list(MODELS),
            variants=VARIANTS,
            seed=1,
            chunk=chunk,
            start_ms=base + i * per,
            span_ms=max(per, 1),
            index=i,
            drift_after=0 if i < n_chunks * 2 // 3 else 1,  # drift in the last third
        )
        keys.update(
            frame.select("model_id", "variant", pl.col("event_time_ms") // 60_000)
            .unique()
            .iter_rows()
        )
        pairs = encode_events(frame)
        nbytes += sum(len(v) for _k, v in pairs)
        writer.send(topic, pairs)
    # A few tail events per key, 6 s (> allowed lateness) past the last window: they move each
    # partition's watermark past the data, so every data window closes by event time alone
    # (not by the idle timeout) and the end-to-end figure has a clean end.
    data_end = base + n_chunks * per
    tail_start = -(-data_end // 60_000) * 60_000 + 6_000
    tail = pl.concat(
        generate_requests(
            5, seed=99 + m, start_ms=tail_start, span_ms=1000, model_id=model, id_prefix="tail-"
        )
        for m, model in enumerate(MODELS)
    )
    writer.send(topic, encode_events(tail))
    writer.flush(120)
    took = time.perf_counter() - t0
    ends = end_offsets(bootstrap, topic, partitions)
    total = sum(ends.values())
    return {
        "events": total,
        "produced": writer.sent,
        "avg_value_bytes": nbytes / max(writer.sent, 1),
        "fill_seconds": took,
        "per_partition": ends,
        "span_min": span_ms / 60_000,
        "data_windows": len(keys),
        "tail_events": tail.height,
    }


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watermarks"})
    try:
        return {
            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        }
    finally:
        c.close()


# ------------------------------------------------------------------------------ raw


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_raw(bootstrap: str, topic: str, expected: int, timeout_s: float) -> Phase:
    ph = Phase("raw confluent-kafka consume(10000)", load_before=load())
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe([topic])
    n = nbytes = 0
    first = last = None
    cpu0 = cpu_self()
    deadline = time.monotonic() + timeout_s
    try:
        while n < expected and time.monotonic() < deadline:
            msgs = c.consume(10000, 1.0)
            if not msgs:
                continue
            if first is None:
                first = time.perf_counter()
            for m in msgs:
                v = m.value()
                if v is not None:
                    nbytes += len(v)
            n += len(msgs)
            last = time.perf_counter()
    finally:
        ph.cpu_s = cpu_self() - cpu0
        c.close()
    ph.events = n
    ph.seconds = (last - first) if first and last else 0.0
    ph.load_after = load()
    ph.extra["bytes"] = nbytes
    return ph


# ------------------------------------------------------------------------------ child processes


def wait_child(proc: subprocess.Popen[Any], timeout: float) -> tuple[int, float]:
    """Wait for ``proc`` and return (exit code, its user+sys CPU seconds) via wait4."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru.ru_utime + ru.ru_stime
        if time.monotonic() > deadline:
            proc.kill()
            _pid, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru.ru_utime + ru.ru_stime
        time.sleep(0.1)


def run_quix(
    bootstrap: str, topic: str, expected: int, workdir: Path, timeout_s: float, agg: str
) -> Phase:
    ph = Phase(f"Quix Streams tumbling 1m {agg}", load_before=load())
    if not QUIX_PY.exists():
        ph.extra["error"] = (
            f"{QUIX_PY} missing: python3 -m venv bench/.venvs/quix && pip install quixstreams"
        )
        return ph
    state = workdir / f"quix-state-{agg}"
    log = (workdir / f"quix-{agg}.log").open("wb")
    proc = subprocess.Popen(
        [
            str(QUIX_PY),
            str(ROOT / "bench" / "peers" / "quix_window.py"),
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--group",
            f"bench-quix-{uuid.uuid4().hex[:8]}",
            "--expected",
            str(expected),
            "--state-dir",
            str(state),
            "--agg",
            agg,
            "--max-seconds",
            str(timeout_s),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=workdir,
    )
    code, cpu = wait_child(proc, timeout_s + 60)
    out = proc.stdout.read().decode() if proc.stdout else ""
    ph.cpu_s = cpu
    ph.load_after = load()
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if not lines:
        ph.extra["error"] = f"exit {code}, no result; see {workdir / f'quix-{agg}.log'}"
        return ph
    res = json.loads(lines[-1])
    ph.events, ph.seconds = res["events"], res["seconds"]
    ph.extra.update(
        peer=res["peer"], windows_closed=res["windows_closed"], rows=res["rows_in_closed_windows"]
    )
    if code != 0:
        ph.extra["error"] = f"exit {code} (stopped before all events; partial figure)"
    return ph


# ------------------------------------------------------------------------------ driftsnap


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(workdir: Path, bootstrap: str, topic: str, group: str, port: int) -> Path:
    import yaml

    from service.generator import MODELS, reference_frame

    refs = workdir / "reference"
    refs.mkdir(exist_ok=True)
    models = {}
    for model in MODELS:
        path = refs / f"{model}.parquet"
        reference_frame(model).write_parquet(path)  # 5000 rows, the demo's reference
        models[model] = {"reference": str(path), "tags": ["bench"]}
    config = {
        "project": {"id": "bench"},
        "kafka": {
            "bootstrap_servers": bootstrap,
            "topics": [topic],
            "group_id": group,
            "dead_letter_topic": f"{topic}-dlq",
            "batch_size": 10000,
            "commit_interval_ms": 1000,
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 500,
        },
        "window": {
            "size": "1m",
            "allowed_lateness": "5s",
            "idle_timeout": "5s",
            "min_rows": 10,
        },
        "events": {"max_past": "1d"},
        "models": models,
        "workspace": {"path": str(workdir / "workspace")},
        "metrics": {"port": port},
    }
    path = workdir / "driftsnap.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def scrape(port: int) -> dict[str, float]:
    """Sum each driftsnap_* series over its labels (name or name{reason=...} for rejects)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        text = r.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("driftsnap_") or " " not in line:
            continue
        name_labels, value = line.rsplit(" ", 1)
        name = name_labels.split("{", 1)[0]
        if name == "driftsnap_events_rejected_total" and 'reason="' in name_labels:
            name += ":" + name_labels.split('reason="', 1)[1].split('"', 1)[0]
        with contextlib.suppress(ValueError):
            out[name] = out.get(name, 0.0) + float(value)
    return out


def committed_done(bootstrap: str, group: str, topic: str, ends: dict[int, int]) -> bool:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in ends], timeout=5)
    finally:
        c.close()
    got = {tp.partition: tp.offset for tp in tps}
    return all(end == 0 or got.get(p, -1) >= end for p, end in ends.items())


def run_driftsnap(
    bootstrap: str,
    topic: str,
    ends: dict[int, int],
    data_windows: int,
    workdir: Path,
    timeout_s: float,
    profile: str | None = None,
) -> Phase:
    """Timed from the first event counted to the moment every data window's snapshot is
    published (``driftsnap_windows_closed_total`` counts published windows)."""
    expected = sum(ends.values())
    ph = Phase("driftsnap run (end to end)", load_before=load())
    group = f"bench-driftsnap-{uuid.uuid4().hex[:8]}"
    port = free_port()
    cfg = write_config(workdir, bootstrap, topic, group, port)
    log_path = workdir / "driftsnap.log"
    log = log_path.open("wb")
    cmd = [sys.executable, "-m", "service", "--log-level", "WARNING", "run", "--config", str(cfg)]
    if profile:  # pyinstrument (install it into .venv first); written when the service exits
        cmd[1:3] = [
            "-m",
            "pyinstrument",
            "-i",
            "0.002",
            "-r",
            "text",
            "-o",
            profile,
            "-m",
            "service",
        ]
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
    )
    first = last = read_all = done_commit = None
    metrics: dict[str, float] = {}
    scrape_s, scrapes, poll_s = 0.0, 0, 0.5
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                ph.extra["error"] = f"driftsnap run exited with {proc.returncode}; see {log_path}"
                break
            try:
                ts = time.perf_counter()
                metrics = scrape(port)
                scrape_s += time.perf_counter() - ts
                scrapes += 1
            except OSError:
                time.sleep(0.1)
                continue
            consumed = metrics.get("driftsnap_events_consumed_total", 0.0)
            now = time.perf_counter()
            if consumed > 0 and first is None:
                first = now
            closed = metrics.get("driftsnap_windows_closed_total", 0.0)
            if consumed >= expected and read_all is None:
                read_all = now
            if read_all is not None and closed >= data_windows and last is None:
                last = now
            if last is not None and committed_done(bootstrap, group, topic, ends):
                done_commit = time.perf_counter()
                metrics = scrape(port)
                break
            # every 0.5 s: rendering /metrics takes the service's GIL, so polling faster
            # would slow down what it measures (the scrape time is printed)
            time.sleep(poll_s)
        else:
            ph.extra["error"] = f"timed out after {timeout_s} s; see {log_path}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        code, cpu = wait_child(proc, 60)
        ph.cpu_s = cpu
    ph.load_after = load()
    ph.events = int(metrics.get("driftsnap_events_consumed_total", 0))
    if first is not None and last is not None:
        ph.seconds = last - first
    if first is not None and read_all is not None:
        ph.extra["seconds_to_read_all (consumed counter)"] = round(read_all - first, 2)
    if first is not None and done_commit is not None:
        ph.extra["seconds_to_all_committed (incl. idle close of the tail windows)"] = round(
            done_commit - first, 2
        )
    snaps = workdir / "workspace" / "bench" / "snapshots"
    ph.extra["snapshot_files"] = len(list(snaps.glob("*.json"))) if snaps.is_dir() else 0
    ph.extra["windows_closed"] = int(metrics.get("driftsnap_windows_closed_total", 0))
    ph.extra["rejected"] = {
        k.split(":", 1)[1]: int(v)
        for k, v in metrics.items()
        if k.startswith("driftsnap_events_rejected_total:") and v
    }
    ph.extra["late"] = int(metrics.get("driftsnap_events_late_total", 0))
    ph.extra["exit_code"] = code
    ph.extra["metrics scrapes (each holds the service's GIL)"] = (
        f"{scrapes}, {1000 * scrape_s / max(scrapes, 1):.1f} ms each (poll every {poll_s} s, "
        "so the figures are +-0.5 s)"
    )
    return ph


# ------------------------------------------------------------------------------ main


def report(phases: list[Phase], fillinfo: dict[str, Any]) -> None:
    print()
    print(
        f"topic: {fillinfo['events']:,} events, {len(fillinfo['per_partition'])} partitions "
        f"(per partition {list(fillinfo['per_partition'].values())}), "
        f"avg value {fillinfo['avg_value_bytes']:.0f} B, event times over "
        f"{fillinfo['span_min']:.0f} min ({fillinfo['data_windows']} data windows of 1 min per "
        f"model/variant, + {fillinfo['tail_events']} tail events); "
        f"filled in {fillinfo['fill_seconds']:.1f} s"
    )
    print()
    hdr = (
        f"{'phase':<40} {'events':>10} {'seconds':>8} {'events/s':>10} {'CPU s':>7} "
        f"{'ev/CPU-s':>9}  load avg before -> after"
    )
    print(hdr)
    print("-" * len(hdr))
    for ph in phases:
        cpu = f"{ph.cpu_s:7.1f}" if ph.cpu_s is not None else "      -"
        per_cpu = f"{ph.events / ph.cpu_s:9.0f}" if ph.cpu_s else "        -"
        print(
            f"{ph.name:<40} {ph.events:>10,} {ph.seconds:>8.2f} {ph.rate:>10,.0f} {cpu} {per_cpu}"
            f"  {ph.load_before} -> {ph.load_after}"
        )
        for k, v in ph.extra.items():
            print(f"{'':<4}{k}: {v}")
    by = {p.name.split()[0]: p for p in phases}
    ds, raw = by.get("driftsnap"), by.get("raw")
    quix = [p for p in phases if p.name.startswith("Quix") and p.rate > 0]
    print()
    if ds and ds.rate and raw and raw.rate:
        r = ds.rate / raw.rate
        print(
            f"driftsnap / raw ceiling : {r:6.2f}  ({100 * r:.0f} %; target >= "
            f"{100 * TARGET_VS_RAW:.0f} %: {'MET' if r >= TARGET_VS_RAW else 'MISSED'})"
        )
    for q in quix:
        r = ds.rate / q.rate if ds and ds.rate else 0.0
        agg = q.name.split()[-1]
        print(
            f"driftsnap / Quix {agg:<7}: {r:6.2f}x (target >= {TARGET_VS_PEER:.0f}x: "
            f"{'MET' if r >= TARGET_VS_PEER else 'MISSED'})"
        )
    if ds and ds.cpu_s and raw and raw.cpu_s:
        print(
            "per CPU-second           : driftsnap/raw "
            f"{ds.events / ds.cpu_s / (raw.events / raw.cpu_s):.2f}"
            + "".join(
                f", driftsnap/Quix {q.name.split()[-1]} "
                f"{(ds.events / ds.cpu_s) / (q.events / q.cpu_s):.2f}x"
                for q in quix
                if q.cpu_s
            )
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", help="use this broker (default: start a private one)")
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--span-min", type=int, default=45, help="event times spread over N minutes")
    ap.add_argument(
        "--only", default="raw,quix,driftsnap", help="phases to run (raw,quix,quix-count,driftsnap)"
    )
    ap.add_argument("--timeout", type=float, default=900.0, help="per phase, seconds")
    ap.add_argument(
        "--profile-driftsnap",
        metavar="FILE",
        help="run driftsnap under pyinstrument (must be installed in .venv), text report to FILE",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, workspace)")
    args = ap.parse_args()
    phases_wanted = {p.strip() for p in args.only.split(",") if p.strip()}

    state = None
    bootstrap = args.bootstrap
    if not bootstrap:
        print("starting a private Apache Kafka broker (scripts/kafka start) ...", file=sys.stderr)
        bootstrap, state = start_broker()
    workdir = Path(tempfile.mkdtemp(prefix="driftsnap-bench-tp-"))
    topic = f"bench-tp-{uuid.uuid4().hex[:8]}"
    try:
        print(f"broker {bootstrap}, topic {topic}, work folder {workdir}", file=sys.stderr)
        print(f"filling {args.events:,} events (load avg {load()}) ...", file=sys.stderr)
        info = fill(bootstrap, topic, args.events, args.partitions, args.span_min * 60_000)
        ends = info["per_partition"]
        expected = info["events"]
        time.sleep(2)  # let the producer's and broker's flush settle before timing
        phases: list[Phase] = []
        if "raw" in phases_wanted:
            print(f"raw consumer ... (load {load()})", file=sys.stderr)
            phases.append(run_raw(bootstrap, topic, expected, args.timeout))
        if "quix-count" in phases_wanted:
            print(f"Quix Streams count ... (load {load()})", file=sys.stderr)
            phases.append(run_quix(bootstrap, topic, expected, workdir, args.timeout, "count"))
        if "quix" in phases_wanted:
            print(f"Quix Streams collect ... (load {load()})", file=sys.stderr)
            phases.append(run_quix(bootstrap, topic, expected, workdir, args.timeout, "collect"))
        if "driftsnap" in phases_wanted:
            print(f"driftsnap run ... (load {load()})", file=sys.stderr)
            phases.append(
                run_driftsnap(
                    bootstrap,
                    topic,
                    ends,
                    info["data_windows"],
                    workdir,
                    args.timeout,
                    args.profile_driftsnap,
                )
            )
        report(phases, info)
    finally:
        if state is not None:
            stop_broker(state)
        else:
            try:
                admin = AdminClient({"bootstrap.servers": bootstrap})
                for f in admin.delete_topics([topic, f"{topic}-dlq"]).values():
                    with contextlib.suppress(Exception):  # the DLQ may not exist
                        f.result(30)
            except Exception as exc:  # noqa: BLE001
                print(f"could not delete topic {topic}: {exc}", file=sys.stderr)
        if args.keep:
            print(f"work folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
