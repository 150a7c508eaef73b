"""The shipped dashboards and alert rules against the real pieces: a real Prometheus (Debian's,
started by scripts/prometheus) scraping a real ``driftsnap run`` fed by the real broker.

Every PromQL expression of every dashboard panel and every recording rule must return data —
a query that returns nothing is a broken panel — and the drift alert must be active for the
model whose traffic drifted and only for it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from service.generator import NUM_FEATURES, encode_labels
from tests.integration.promql_check import (
    alert_states,
    all_queries,
    expand,
    query,
    rule_health,
    targets_up,
)
from tests.integration.service_helpers import (
    ServiceEnv,
    aligned_base_ms,
    events_pairs,
    produce,
    start_service,
    stop_service,
    wait_for,
    window_events,
)
from tests.integration.test_labels import by_tag, labels_env

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "driftsnap.rules.yml"
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """``start(target) -> url``: a real Prometheus scraping ``target`` every 2 s with the
    shipped rules; stopped (by its pid file) when the test ends."""
    env = {**os.environ, "DRIFTSNAP_STATE": str(tmp_path / "prom-state")}
    script = str(ROOT / "scripts" / "prometheus")

    def start(target: str) -> str:
        out = subprocess.run(
            [script, "start", "--target", target, "--rules", str(RULES)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, f"scripts/prometheus start failed:\n{out.stderr}"
        return out.stdout.strip().splitlines()[-1]

    yield start
    subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60, check=False)


def window_snapshots(env: ServiceEnv) -> list[dict[str, Any]]:
    """The drift/data-quality snapshots (not the delayed quality or comparison ones)."""
    return [s for s in env.snapshots().values() if not {"quality", "comparison"} & set(s["tags"])]


def test_every_dashboard_query_and_alert_against_real_prometheus(
    tmp_path: Path, kafka_bootstrap: str, unique: str, prometheus: Callable[[str], str]
) -> None:
    # labels arrive on their own topic; champion vs shadow is compared per window
    env, labels_topic = labels_env(
        tmp_path,
        kafka_bootstrap,
        unique,
        label_wait="3s",
        comparison={"champion": "champion", "candidates": ["shadow"]},
    )
    base = aligned_base_ms()
    frame = window_events(base, n_windows=3, per_window=600, seed=11, drift_last=False)
    # the last window of "fraud" drifts hard (every numerical feature shifted); "eta" does not
    last = base + 2 * 10_000
    drifted = (pl.col("model_id") == "fraud") & (pl.col("event_time_ms") >= last)
    frame = frame.with_columns(
        [pl.when(drifted).then(pl.col(c) + 3.0).otherwise(pl.col(c)).alias(c) for c in NUM_FEATURES]
    )
    produce(kafka_bootstrap, env.topic, events_pairs(frame) + [(None, b"{broken json")] * 3)
    proc = start_service(env)
    try:
        wait_for(lambda: len(window_snapshots(env)) >= 12, 120, "12 window snapshots")
        produce(kafka_bootstrap, labels_topic, list(encode_labels(frame)))
        wait_for(lambda: len(by_tag(env, "quality")) >= 12, 120, "12 quality snapshots")
        wait_for(lambda: len(by_tag(env, "comparison")) >= 6, 60, "6 comparison snapshots")
        # late records, so the late/rejected panels have series
        produce(kafka_bootstrap, env.topic, events_pairs(frame.head(4)))
        url = prometheus(f"127.0.0.1:{env.metrics_port}")
        wait_for(lambda: set(targets_up(url).values()) == {"up"}, 60, "the scrape target up")
        time.sleep(12)  # several scrapes at 2 s, so rate() windows hold enough samples

        subs = {"project": env.project, "model": "fraud", "variant": "champion"}
        empty = []
        for q in all_queries(DASHBOARDS, RULES):
            if q.kind == "alert":
                continue
            if not query(url, expand(q.expr, subs)):
                empty.append(f"{q.source}: {q.expr}")
        assert not empty, "queries returning no data (broken panels):\n" + "\n".join(empty)

        health = rule_health(url)
        assert health
        assert all(h == "ok" for h in health.values()), health
        fraud = alert_states(url, {"model": "fraud"})
        eta = alert_states(url, {"model": "eta"})
        assert fraud.get("DriftsnapDatasetDrift", set()) & {"pending", "firing"}
        assert "DriftsnapDatasetDrift" not in eta
        assert "DriftsnapNoRecentSnapshot" not in alert_states(url)
    finally:
        assert stop_service(proc) == 0, (tmp_path / "service.log").read_text()[-3000:]
