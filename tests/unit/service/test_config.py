"""Configuration: a wrong key or value stops start-up with a message naming field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import ConfigError, duration_ms, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


MINIMAL = "models:\n  fraud: {reference: ref.parquet}\n"


def test_minimal_config_has_defaults_and_resolves_reference_next_to_the_file(tmp_path: Path):
    s = load_settings(write(tmp_path, MINIMAL))
    assert s.models["fraud"].reference == tmp_path / "ref.parquet"
    assert s.window.size == "5m"
    assert s.kafka.consumer_config()["group.id"] == "driftsnap"


@pytest.mark.parametrize(
    ("text", "field", "hint"),
    [
        (MINIMAL + "window: {size: 5x}\n", "window.size", "'5m'"),  # bad duration
        (MINIMAL + "window: {sise: 5m}\n", "window.sise", "unknown key"),  # typo in a key
        (MINIMAL + "window: {size: 5m, slide: 2m}\n", "window", "divide"),  # slide must divide
        ("models:\n  fraud: {reference: r.csv, stattest: kss}\n", "models.fraud.stattest", "ks"),
        ("window: {size: 1m}\n", "models", "add it"),  # no model at all
        (MINIMAL + "metrics: {port: 70000}\n", "metrics.port", "65535"),
        (MINIMAL + "kafka: {auto_offset_reset: newest}\n", "kafka.auto_offset_reset", "earliest"),
    ],
)
def test_config_error_names_the_field_and_the_fix(
    tmp_path: Path, text: str, field: str, hint: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    message = str(info.value)
    assert field in message
    assert hint in message


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTSNAP_WINDOW__SIZE", "10m")
    monkeypatch.setenv("DRIFTSNAP_KAFKA__GROUP_ID", "from-env")
    s = load_settings(write(tmp_path, MINIMAL + "window: {size: 1m}\n"))
    assert s.window.size == "10m"
    assert s.kafka.group_id == "from-env"


def test_bad_environment_value_names_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRIFTSNAP_METRICS__PORT", "not-a-port")
    with pytest.raises(ConfigError, match=r"metrics\.port"):
        load_settings(write(tmp_path, MINIMAL))


def test_sasl_password_is_a_secret(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, MINIMAL + "kafka: {sasl_password: hunter2}\n"))
    assert "hunter2" not in repr(s)
    assert s.kafka.client_config()["sasl.password"] == "hunter2"


def test_missing_or_broken_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "models: [unclosed\n"))


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("250ms", 250),
        ("30s", 30_000),
        ("5m", 300_000),
        ("1h", 3_600_000),
        ("1d", 86_400_000),
        (42, 42),
    ],
)
def test_durations(text: str | int, ms: int) -> None:
    assert duration_ms(text) == ms
