"""The HTTP endpoint on a real bound port: /metrics, /healthz, /readyz."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from publisher.metrics_server import MetricsServer
from publisher.prometheus import ServiceMetrics, SnapshotMetrics
from tests.unit.publisher.factories import make_snapshot


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        body = exc.read().decode()
        exc.close()
        return exc.code, body


@pytest.mark.timeout(30)
def test_metrics_health_and_readiness_on_a_real_port() -> None:
    registry = CollectorRegistry()
    ServiceMetrics(registry).windows_open.set(3)
    SnapshotMetrics(registry).update(make_snapshot(project_id="fraud"))
    ready = {"value": False}
    with MetricsServer(registry, port=0, ready=lambda: ready["value"]) as server:
        assert server.port > 0
        assert server.url.startswith("http://127.0.0.1:")
        status, body = _get(f"{server.url}/metrics")
        assert status == 200
        names = {f.name for f in text_string_to_metric_families(body)}
        assert {"driftsnap_windows_open", "driftsnap_dataset_drift"} <= names
        assert _get(f"{server.url}/healthz") == (200, "healthy\n")
        assert _get(f"{server.url}/readyz") == (503, "not ready\n")
        ready["value"] = True
        assert _get(f"{server.url}/readyz") == (200, "ready\n")
        assert _get(f"{server.url}/nope")[0] == 404
        port = server.port
    with pytest.raises(urllib.error.URLError):
        _get(f"http://127.0.0.1:{port}/healthz")


@pytest.mark.timeout(30)
def test_a_raising_readiness_check_is_not_ready(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> bool:
        raise RuntimeError("references not loaded")

    with MetricsServer(CollectorRegistry(), port=0, ready=broken) as server:
        status, body = _get(f"{server.url}/readyz")
    assert status == 503
    assert "references not loaded" in body
    assert "ready check raised" in caplog.text


def test_port_before_start_is_an_error() -> None:
    server = MetricsServer(CollectorRegistry(), port=0)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.port
    server.stop()  # stopping a server that never started is harmless
