"""Delayed ground truth and shadow vs champion on the real broker (issue 7)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from service.generator import encode_labels, generate_requests
from tests.integration.kafka_helpers import create_topic
from tests.integration.service_helpers import (
    WINDOW_MS,
    ServiceEnv,
    aligned_base_ms,
    events_pairs,
    make_env,
    produce,
    start_service,
    stop_service,
    wait_for,
)
from tests.integration.test_service import read_dead_letters, reason, scrape

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def labels_env(
    tmp_path: Path,
    bootstrap: str,
    unique: str,
    *,
    label_wait: str,
    labels: dict[str, Any] | None = None,
    comparison: dict[str, Any] | None = None,
) -> tuple[ServiceEnv, str]:
    env = make_env(tmp_path, bootstrap, unique, extra_window={"idle_timeout": "2s"})
    topic = f"labels-{unique}"
    config = yaml.safe_load(env.config.read_text())
    config["kafka"]["labels_topic"] = topic
    for model in config["models"].values():
        model["label_wait"] = label_wait
    config["labels"] = labels or {}
    if comparison is not None:
        config["comparison"] = comparison
    env.config.write_text(yaml.safe_dump(config))
    create_topic(bootstrap, env.topic, 2)
    create_topic(bootstrap, topic, 2)
    create_topic(bootstrap, env.dlq, 1)
    return env, topic


def by_tag(env: ServiceEnv, tag: str) -> list[dict[str, Any]]:
    return [s for s in env.snapshots().values() if tag in s["tags"]]


def quality(env: ServiceEnv, model: str, variant: str, start_ms: int) -> dict[str, Any] | None:
    for s in by_tag(env, "quality"):
        key = s["window"]["key"]
        if key["model_id"] == model and key["variant"] == variant:
            start = pl.Series([s["window"]["start"]]).str.to_datetime(time_zone="UTC")
            if int(start.dt.epoch("ms")[0]) == start_ms:
                return s
    return None


def metric(snap: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(m["result"] for m in snap["metrics"] if m["type"] == kind)


def counter(port: int, name: str) -> float:
    return scrape(port).get((name, ()), 0.0)


def test_late_missing_duplicate_and_unknown_labels(
    tmp_path: Path, kafka_bootstrap: str, unique: str
) -> None:
    env, ltopic = labels_env(
        tmp_path,
        kafka_bootstrap,
        unique,
        # generous: the labels must be read within label_wait of the close even on a loaded
        # 2-core CI machine, or coverage would (rightly) come out lower
        label_wait="12s",
        labels={"revise": True, "late_horizon": "2m", "unknown_after": "12s"},
    )
    base = aligned_base_ms()
    w0 = generate_requests(100, seed=1, start_ms=base, span_ms=WINDOW_MS, id_prefix="a-")
    w1 = generate_requests(
        100, seed=2, start_ms=base + WINDOW_MS, span_ms=WINDOW_MS, id_prefix="b-"
    )
    labels0 = encode_labels(w0)
    labels1 = encode_labels(w1)
    # window 1: every label arrives before its window closes (buffered, then joined at close)
    produce(kafka_bootstrap, ltopic, labels1)
    produce(kafka_bootstrap, env.topic, events_pairs(pl.concat([w0, w1])))
    proc = start_service(env)
    try:
        # the drift snapshots are not delayed by label_wait
        wait_for(lambda: len(env.snapshots()) >= 2, 60, "drift snapshots")
        # window 0: 80 of 100 labels inside label_wait, 5 of them twice, 3 for unknown events
        unknown = [
            (b"zz", json.dumps({"event_id": f"nope-{i}", "target": 1.0}).encode()) for i in range(3)
        ]
        produce(kafka_bootstrap, ltopic, labels0[:80] + labels0[:5] + unknown)
        # window 1 was complete: its quality snapshot does not wait for label_wait
        wait_for(lambda: quality(env, "fraud", "champion", base + WINDOW_MS), 30, "w1 quality")
        q1 = quality(env, "fraud", "champion", base + WINDOW_MS)
        assert metric(q1, "label_coverage")["coverage"] == 1.0
        end = datetime.fromtimestamp((base + 2 * WINDOW_MS) / 1000, tz=UTC)
        assert q1["timestamp"] == end.isoformat(timespec="milliseconds").replace("+00:00", "Z")

        wait_for(lambda: quality(env, "fraud", "shadow", base), 60, "w0 quality after wait")
        q0 = quality(env, "fraud", "champion", base)
        assert q0 is not None
        cov = metric(q0, "label_coverage")
        assert cov["coverage"] == pytest.approx(0.8)  # missing labels are reported
        assert cov["duplicate_labels"] == 5
        assert q0["metadata"]["revision"] == 0
        assert "quality" in q0["tags"]
        assert metric(q0, "model_quality")["number_of_used_rows"] == 80
        scraped = scrape(env.metrics_port)
        cov_key = (
            "driftsnap_label_coverage",
            (("model", "fraud"), ("project", env.project), ("variant", "champion")),
        )
        assert scraped[cov_key] in (pytest.approx(0.8), 1.0)

        # after label_wait: the last 20 labels are late; with revise they revise the snapshot
        produce(kafka_bootstrap, ltopic, labels0[80:])

        def revised() -> bool:
            q = quality(env, "fraud", "champion", base)
            return q is not None and q["metadata"]["revision"] >= 1

        wait_for(revised, 30, "revised quality snapshot")
        q0r = quality(env, "fraud", "champion", base)
        assert q0r["id"] == q0["id"]
        assert metric(q0r, "label_coverage")["coverage"] == 1.0
        assert metric(q0r, "label_coverage")["late_labels"] == 20
        wait_for(
            lambda: counter(env.metrics_port, "driftsnap_labels_unknown_total") >= 3,
            30,
            "unknown labels expired",
        )
        time.sleep(1.0)
        m = scrape(env.metrics_port)
        assert m[("driftsnap_labels_late_total", ())] == 20
        assert m[("driftsnap_labels_duplicate_total", ())] == 5
        assert m[("driftsnap_labels_unknown_total", ())] == 3
        assert m[("driftsnap_label_rows_held", ())] > 0
        assert m[("driftsnap_events_rejected_total", (("reason", "unknown_event"),))] == 3
        dead = read_dead_letters(kafka_bootstrap, env.dlq, 3, unique)
        assert sorted(reason(d) for d in dead) == ["unknown_event"] * 3
        assert {json.loads(d.value())["event_id"] for d in dead} == {
            "nope-0",
            "nope-1",
            "nope-2",
        }
    finally:
        assert stop_service(proc) == 0


def test_kill_9_mid_wait_loses_no_join(tmp_path: Path, kafka_bootstrap: str, unique: str) -> None:
    from service.config import load_settings
    from service.replay import replay

    env, ltopic = labels_env(
        tmp_path, kafka_bootstrap, unique, label_wait="60s", labels={"unknown_after": "2m"}
    )
    base = aligned_base_ms()
    frame = generate_requests(200, seed=3, start_ms=base, span_ms=WINDOW_MS, model_id="eta")
    labels = encode_labels(frame)
    pairs = events_pairs(frame)
    # the oracle: the same events and labels through `driftsnap replay`, uninterrupted
    (tmp_path / "ev.jsonl").write_bytes(b"\n".join(v for _, v in pairs))
    (tmp_path / "lab.jsonl").write_bytes(b"\n".join(v for _, v in labels))
    oracle_settings = load_settings(env.config, {"workspace": {"path": str(tmp_path / "oracle")}})
    replay(
        oracle_settings,
        tmp_path / "ev.jsonl",
        dead_letter=tmp_path / "dead.jsonl",
        labels=tmp_path / "lab.jsonl",
    )
    oracle_dir = tmp_path / "oracle" / env.project / "snapshots"
    oracle = {p.stem: json.loads(p.read_bytes()) for p in oracle_dir.glob("*.json")}
    oracle_q = {k: v for k, v in oracle.items() if "quality" in v["tags"]}
    assert len(oracle_q) == 2

    produce(kafka_bootstrap, env.topic, pairs)
    proc = start_service(env)
    try:
        wait_for(lambda: len(env.snapshots()) >= 2, 60, "drift snapshots")
        produce(kafka_bootstrap, ltopic, labels[:120])
        pending = env.workspace / env.project / "pending"
        wait_for(lambda: any(pending.glob("labels-*.parquet")), 20, "labels made durable")
        time.sleep(1.0)
    finally:
        stop_service(proc, kill=True)  # mid-wait: 60% labelled, nothing published yet
    assert not by_tag(env, "quality")
    produce(kafka_bootstrap, ltopic, labels[120:])
    proc = start_service(env, "service2.log")
    try:
        wait_for(lambda: len(by_tag(env, "quality")) >= 2, 60, "quality after restart")
    finally:
        assert stop_service(proc) == 0
    got = {s["id"]: s for s in by_tag(env, "quality")}
    assert set(got) == set(oracle_q)
    for sid, want in oracle_q.items():
        assert metric(got[sid], "label_coverage")["coverage"] == 1.0
        assert got[sid]["metrics"] == want["metrics"], "a join was lost across the kill -9"
        assert got[sid]["tests"] == want["tests"]


def test_shadow_worse_is_detected_and_identical_shadow_is_not(
    tmp_path: Path, kafka_bootstrap: str, unique: str
) -> None:
    env, ltopic = labels_env(
        tmp_path,
        kafka_bootstrap,
        unique,
        label_wait="20s",
        comparison={"champion": "champion", "candidates": ["shadow"], "alpha": 0.05},
    )
    base = aligned_base_ms()
    # fraud: the shadow scores with 20x the champion's noise -> clearly worse (McNemar)
    worse = generate_requests(
        1500, seed=11, start_ms=base, span_ms=WINDOW_MS, model_id="fraud", shadow_noise=2.0
    )
    # eta: the shadow returns exactly the champion's predictions (Wilcoxon: all zero)
    same = generate_requests(400, seed=12, start_ms=base, span_ms=WINDOW_MS, model_id="eta")
    champ = same.filter(pl.col("variant") == "champion")
    same = pl.concat([champ, champ.with_columns(variant=pl.lit("shadow"))])
    frame = pl.concat([worse, same])
    produce(kafka_bootstrap, env.topic, events_pairs(frame))
    produce(kafka_bootstrap, ltopic, encode_labels(frame))
    proc = start_service(env)

    def comparisons() -> dict[str, dict[str, Any]]:
        out = {}
        for s in by_tag(env, "comparison"):
            if s["metadata"]["stage"] == "labels":
                out[s["window"]["key"]["model_id"]] = s
        return out

    try:
        wait_for(lambda: len(comparisons()) == 2, 60, "comparisons with labels")
        time.sleep(0.5)
        m = scrape(env.metrics_port)
    finally:
        assert stop_service(proc) == 0
    cmp = comparisons()
    fraud = metric(cmp["fraud"], "comparison")
    assert cmp["fraud"]["metadata"]["baseline"] == "champion"
    assert cmp["fraud"]["metadata"]["candidate"] == "shadow"
    assert fraud["matched_pairs"] == 1500
    assert fraud["labelled_pairs"] == 1500
    assert fraud["verdict"] == "shadow worse"
    assert fraud["p_value"] < 0.05
    assert fraud["paired_test"]["test"].startswith("mcnemar")
    assert fraud["quality_delta"] < 0
    assert fraud["agreement_rate"] < 0.95
    eta = metric(cmp["eta"], "comparison")
    assert eta["verdict"] == "no significant difference"
    assert eta["mean_abs_diff"] == 0.0
    assert eta["correlation"] == pytest.approx(1.0)
    assert eta["prediction_drift"]["drift_detected"] is False

    def gauge(model: str, name: str) -> float:
        labels = (
            ("baseline", "champion"),
            ("candidate", "shadow"),
            ("metric", name),
            ("model", model),
            ("project", env.project),
        )
        return m[("driftsnap_comparison", labels)]

    assert gauge("fraud", "verdict") == -1
    assert gauge("eta", "verdict") == 0
    assert gauge("fraud", "matched_pairs") == 1500
    assert gauge("eta", "mean_abs_diff") == 0
