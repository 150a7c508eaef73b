"""Shared fixtures. Integration tests get a real broker from, in order:
``DRIFTSNAP_KAFKA_BOOTSTRAP``; the broker ``scripts/kafka start`` left running (its bootstrap
file); or one this session starts with ``scripts/kafka start`` and stops at the end."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _running_bootstrap() -> str | None:
    state = Path(os.environ.get("DRIFTSNAP_STATE", ROOT / ".driftsnap"))
    boot, pid = state / "bootstrap", state / "kafka.pid"
    if boot.is_file() and pid.is_file():
        try:
            os.kill(int(pid.read_text().strip()), 0)
        except (OSError, ValueError):
            return None
        return boot.read_text().strip()
    return None


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("DRIFTSNAP_KAFKA_BOOTSTRAP") or _running_bootstrap()
    if external:
        yield external
        return
    state = tmp_path_factory.mktemp("kafka-state")
    env = {**os.environ, "DRIFTSNAP_STATE": str(state)}
    script = ROOT / "scripts" / "kafka"
    out = subprocess.run(
        [str(script), "start"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if out.returncode != 0:
        pytest.fail(f"could not start a Kafka broker with scripts/kafka start:\n{out.stderr}")
    try:
        yield out.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(
            [str(script), "stop"], env=env, capture_output=True, timeout=120, check=False
        )


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic and group names (one set per test)."""
    return uuid.uuid4().hex[:10]
