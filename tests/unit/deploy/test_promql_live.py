"""The dashboards and rules against a real Prometheus (scripts/prometheus) scraping a stand-in
exporter that publishes every metric of the contract with plausible labels. No Kafka, no
driftsnap: this proves the PromQL and the label names, so that when the live integration test
runs against the real service an empty panel points at the service, not at the dashboard."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from tests.integration import promql_check

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "driftsnap.rules.yml"
SUBS = {"project": "fraud-demo", "model": "fraud", "variant": "champion"}

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def contract_registry() -> CollectorRegistry:
    """Every contract metric, for a champion that drifted and a shadow that did not."""
    reg = CollectorRegistry()
    key = ["project", "model", "variant"]

    def gauge(name: str, labels: list[str] | None = None) -> Gauge:
        return Gauge(name, name, labels or [], registry=reg)

    g = {n: gauge(n, key) for n in (
        "driftsnap_dataset_drift", "driftsnap_drifted_columns_share", "driftsnap_drifted_columns",
        "driftsnap_window_end_timestamp_seconds", "driftsnap_window_rows",
        "driftsnap_last_snapshot_timestamp_seconds", "driftsnap_label_coverage",
    )}  # fmt: skip
    score = gauge("driftsnap_column_drift_score", [*key, "column", "method"])
    detected = gauge("driftsnap_column_drift_detected", [*key, "column", "method"])
    missing = gauge("driftsnap_column_missing_share", [*key, "column"])
    quality = gauge("driftsnap_model_quality", [*key, "metric"])
    tests = gauge("driftsnap_tests", [*key, "status"])
    now = time.time()
    for variant, drift in (("champion", 1), ("shadow", 0)):
        k = {"project": "fraud-demo", "model": "fraud", "variant": variant}
        g["driftsnap_dataset_drift"].labels(**k).set(drift)
        g["driftsnap_drifted_columns_share"].labels(**k).set(0.625 if drift else 0.125)
        g["driftsnap_drifted_columns"].labels(**k).set(5 if drift else 1)
        g["driftsnap_window_end_timestamp_seconds"].labels(**k).set(now - 60)
        g["driftsnap_window_rows"].labels(**k).set(1200)
        g["driftsnap_last_snapshot_timestamp_seconds"].labels(**k).set(now)
        g["driftsnap_label_coverage"].labels(**k).set(0.4)
        for column, method in (("amount", "wasserstein"), ("country", "jensenshannon")):
            score.labels(**k, column=column, method=method).set(0.3 if drift else 0.02)
            detected.labels(**k, column=column, method=method).set(drift)
            missing.labels(**k, column=column).set(0.01)
        for metric, value in (("accuracy", 0.93), ("f1", 0.71), ("roc_auc", 0.88)):
            quality.labels(**k, metric=metric).set(value)
        for status, n in (("SUCCESS", 9), ("FAIL", 2 * drift), ("WARNING", 1), ("ERROR", 0)):
            tests.labels(**k, status=status).set(n)
    comparison = gauge(
        "driftsnap_comparison", ["project", "model", "baseline", "candidate", "metric"]
    )
    for metric, value in (
        ("prediction_drift_score", 0.04), ("prediction_drift_detected", 0),
        ("agreement_rate", 0.97), ("mean_abs_diff", 0.02), ("correlation", 0.95),
        ("matched_pairs", 1100), ("quality_delta", 0.01), ("verdict", 0),
    ):  # fmt: skip
        comparison.labels("fraud-demo", "fraud", "champion", "shadow", metric).set(value)

    Counter("driftsnap_events_consumed", "", ["topic"], registry=reg).labels(
        "inference-events"
    ).inc(10_000)
    Counter("driftsnap_events_rejected", "", ["reason"], registry=reg).labels("invalid_json").inc(3)
    Counter("driftsnap_events_late", "", ["model"], registry=reg).labels("fraud").inc(2)
    Counter("driftsnap_windows_closed", "", registry=reg).inc(4)
    Counter("driftsnap_snapshots_published", "", ["project", "sink"], registry=reg).labels(
        "fraud-demo", "workspace"
    ).inc(4)
    Counter("driftsnap_publish_failures", "", ["sink"], registry=reg).labels("kafka")
    Histogram("driftsnap_evaluation_seconds", "", registry=reg).observe(0.2)
    gauge("driftsnap_windows_open").set(2)
    gauge("driftsnap_rows_held").set(2400)
    gauge("driftsnap_watermark_timestamp_seconds").set(now - 90)
    gauge("driftsnap_consumer_lag_messages", ["topic", "partition"]).labels(
        "inference-events", "0"
    ).set(12)
    return reg


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus not found (Debian: apt-get install prometheus); this does not skip")
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=contract_registry())
    state = tmp_path_factory.mktemp("prometheus-state")
    env = {**os.environ, "DRIFTSNAP_STATE": str(state), "PROMETHEUS_SCRAPE_INTERVAL": "1s"}
    script = ROOT / "scripts" / "prometheus"
    out = subprocess.run(
        [str(script), "start", "--target", f"127.0.0.1:{port}"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    try:
        assert out.returncode == 0, f"scripts/prometheus start failed:\n{out.stderr}"
        url = out.stdout.strip().splitlines()[-1]
        assert url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a few scrapes: rates need two samples
            counts = promql_check.query(url, "count_over_time(driftsnap_window_rows[1m])")
            if counts and min(float(r["value"][1]) for r in counts) >= 4:
                break
            time.sleep(0.5)
        yield url
    finally:
        subprocess.run([str(script), "stop"], env=env, capture_output=True, timeout=60, check=False)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_every_panel_and_rule_query_answers(prometheus: str) -> None:
    assert set(promql_check.targets_up(prometheus).values()) == {"up"}
    results = promql_check.check_all_queries(
        prometheus, DASHBOARDS, RULES, SUBS, builtins={"__rate_interval": "10s"},
        include_variables=True,
    )  # fmt: skip
    alert_exprs = {q.expr: q.name for q in promql_check.rule_queries(RULES) if q.kind == "alert"}
    empty = [
        q.source for q in promql_check.all_queries(DASHBOARDS, RULES)
        if results[q.expr] == 0 and q.expr not in alert_exprs
    ]  # fmt: skip
    assert not empty, f"queries returning nothing: {empty}"
    fired = {name for expr, name in alert_exprs.items() if results[expr] > 0}
    # champion drifted (dataset drift, 62.5% of columns, 2 failed tests); nothing else is wrong
    assert fired == {
        "DriftsnapDatasetDrift", "DriftsnapDriftedColumnsShareHigh", "DriftsnapTestsFailing",
    }  # fmt: skip


def test_rules_are_healthy_and_alerts_pending(prometheus: str) -> None:
    deadline = time.monotonic() + 15
    states: dict[str, set[str]] = {}
    while time.monotonic() < deadline:
        states = promql_check.alert_states(prometheus)
        if len(states) >= 3:
            break
        time.sleep(0.5)
    health = promql_check.rule_health(prometheus)
    assert health, "no rules loaded"
    assert all(h == "ok" for h in health.values()), health
    # `for: 1m` keeps them pending during this short test; the variant label says which one
    assert states == {
        "DriftsnapDatasetDrift": {"pending"},
        "DriftsnapDriftedColumnsShareHigh": {"pending"},
        "DriftsnapTestsFailing": {"pending"},
    }
    assert promql_check.alert_states(prometheus, {"variant": "shadow"}) == {}
