"""Service configuration: a YAML file validated by pydantic, every key overridable from the
environment (``DRIFTSNAP_WINDOW__SIZE=10m``, ``DRIFTSNAP_KAFKA__GROUP_ID=...``).

A wrong key or value stops start-up with a :class:`ConfigError` whose message names the field
(``window.size``), says what was given and how to fix it. Nothing else reads the environment.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from windowing import parse_duration_ms

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
STATTESTS = (
    "ks",
    "chisquare",
    "z",
    "wasserstein",
    "jensenshannon",
    "psi",
    "kl_div",
    "hellinger",
    "TVD",
    "fisher_exact",
    "g_test",
    "anderson",
    "cramer_von_mises",
    "ed",
    "es",
    "mannw",
    "t_test",
    "empirical_mmd",
)


class ConfigError(ValueError):
    """The configuration is invalid; the message names the field and the fix."""


def duration_ms(value: str | int) -> int:
    """``"30s"``/``"5m"``/``"1h"``/``"1d"``/``"250ms"`` or an int of milliseconds → ms."""
    return parse_duration_ms(value)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


Duration = str | int


def _check_duration(value: Duration | None) -> Duration | None:
    if value is not None:
        duration_ms(value)
    return value


class ProjectSettings(_Section):
    id: str = Field("default", description="workspace project id ([A-Za-z0-9._-], max 128)")
    name: str | None = Field(None, description="human name of the project (defaults to the id)")
    description: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v) or ".." in v:
            msg = f"{v!r} is not a valid project id: use letters, digits, '.', '_' or '-'"
            raise ValueError(msg)
        return v


class KafkaSettings(_Section):
    bootstrap_servers: str = Field("127.0.0.1:9092", description="host:port[,host:port...]")
    topics: list[str] = Field(default_factory=lambda: ["inference-events"], min_length=1)
    group_id: str = "driftsnap"
    dead_letter_topic: str = "driftsnap-dead-letter"
    late_topic: str | None = Field(None, description="late records go here instead of the DLQ")
    snapshot_topic: str | None = Field(None, description="compact snapshot summaries (optional)")
    labels_topic: str | None = Field(None, description="delayed ground truth (optional)")
    batch_size: int = Field(10_000, ge=1, le=1_000_000, description="messages per consume()")
    poll_timeout_ms: int = Field(200, ge=1, le=60_000)
    commit_interval_ms: int = Field(1000, ge=0, le=600_000)
    session_timeout_ms: int = Field(45_000, ge=1000)
    heartbeat_interval_ms: int = Field(3000, ge=100)
    max_poll_interval_ms: int = Field(300_000, ge=1000)
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    fetch_wait_max_ms: int = Field(
        500, ge=1, le=60_000, description="consumer fetch wait; lower it for low latency"
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    extra: dict[str, str] = Field(
        default_factory=dict, description="any librdkafka setting, passed through as is"
    )

    def client_config(self) -> dict[str, Any]:
        """The librdkafka settings shared by the consumer and the producers."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_ca_location:
            conf["ssl.ca.location"] = self.ssl_ca_location
        conf.update(self.extra)
        return conf

    def consumer_config(self) -> dict[str, Any]:
        return {
            **self.client_config(),
            "group.id": self.group_id,
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": self.heartbeat_interval_ms,
            "max.poll.interval.ms": self.max_poll_interval_ms,
            "auto.offset.reset": self.auto_offset_reset,
            "fetch.wait.max.ms": self.fetch_wait_max_ms,
            **self.extra,
        }


class WindowSettings(_Section):
    size: Duration = Field("5m", description="window length, e.g. '30s', '5m', '1h', '1d'")
    slide: Duration | None = Field(None, description="hop for hopping windows; size % slide == 0")
    allowed_lateness: Duration = Field("30s", description="how late an event may still count")
    idle_timeout: Duration = Field("1m", description="a quiet partition stops holding time back")
    min_rows: int = Field(100, ge=0, description="fewer rows → snapshot marked insufficient_data")
    max_rows_per_window: int | None = Field(
        200_000, ge=1, description="above it the window keeps a uniform reservoir sample"
    )
    segments: list[str] = Field(default_factory=list, description="extra key columns")

    _durations = field_validator("size", "slide", "allowed_lateness", "idle_timeout")(
        _check_duration
    )

    def model_post_init(self, context: Any, /) -> None:
        size = duration_ms(self.size)
        if size <= 0:
            msg = "window.size must be positive"
            raise ValueError(msg)
        if self.slide is not None:
            slide = duration_ms(self.slide)
            if slide <= 0 or size % slide:
                msg = (
                    f"window.slide {self.slide!r} must divide window.size {self.size!r}: "
                    "choose a slide such that size is a whole multiple of it"
                )
                raise ValueError(msg)


class EventSettings(_Section):
    """Names of the envelope fields in each event (the consumer's column mapping)."""

    event_id: str = "event_id"
    timestamp: str = "timestamp"
    model_id: str = "model_id"
    variant: str = "variant"
    prediction: str = "prediction"
    target: str = "target"
    features: str | None = Field("features", description="nested features object; null = flat")
    max_future: Duration = Field("1h", description="reject events further in the future")
    max_past: Duration = Field("30d", description="reject events older than this")
    default_variant: str = "default"

    _durations = field_validator("max_future", "max_past")(_check_duration)


class ColumnMappingSettings(_Section):
    """How the reference file's columns map to features and special columns."""

    target: str | None = Field("target", description="target column in the reference")
    prediction: str | None = Field("prediction", description="prediction column in the reference")
    numerical: list[str] | None = Field(None, description="numerical features (else inferred)")
    categorical: list[str] | None = Field(None, description="categorical features")
    exclude: list[str] = Field(default_factory=list, description="reference columns to ignore")
    task: Literal["classification", "regression"] | None = None


class ModelSettings(_Section):
    reference: Path = Field(description="Parquet or CSV file holding the reference data")
    column_mapping: ColumnMappingSettings = Field(default_factory=ColumnMappingSettings)
    stattest: str | None = Field(None, description=f"one of {', '.join(STATTESTS)}")
    num_stattest: str | None = None
    cat_stattest: str | None = None
    per_column_stattest: dict[str, str] = Field(default_factory=dict)
    threshold: float | None = Field(None, gt=0)
    per_column_threshold: dict[str, float] = Field(default_factory=dict)
    drift_share: float = Field(0.5, gt=0, le=1)
    binning: Literal["evidently", "reference"] = "evidently"
    presets: list[Literal["data_drift", "data_quality", "classification", "regression"]] | None = (
        Field(
            None,
            description="tests to run; null = data_drift, data_quality and the "
            "reference's model-quality preset when it has targets",
        )
    )
    pos_label: str | int | bool | None = Field(None, description="positive class (binary)")
    probability_threshold: float = Field(0.5, gt=0, lt=1)
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, str | int | float | bool] = Field(default_factory=dict)
    label_wait: Duration = Field("1h", description="how long a window waits for ground truth")

    @field_validator("stattest", "num_stattest", "cat_stattest")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        if v is not None and v not in STATTESTS:
            msg = f"unknown stattest {v!r}; choose one of {', '.join(STATTESTS)}"
            raise ValueError(msg)
        return v

    @field_validator("per_column_stattest")
    @classmethod
    def _known_map(cls, v: dict[str, str]) -> dict[str, str]:
        for col, name in v.items():
            if name not in STATTESTS:
                msg = f"unknown stattest {name!r} for column {col!r}; choose one of {STATTESTS}"
                raise ValueError(msg)
        return v

    _label_wait = field_validator("label_wait")(_check_duration)


class ComparisonSettings(_Section):
    """Shadow vs champion comparison snapshots (docs/comparison.md)."""

    champion: str = Field("champion", description="the baseline variant")
    candidates: list[str] = Field(
        default_factory=lambda: ["shadow"], min_length=1, description="variants compared to it"
    )
    request_id: str = Field(
        "event_id",
        description="field matching requests across variants: event_id, or a feature column",
    )
    stattest: str | None = Field(None, description="prediction drift test; null = default")
    threshold: float | None = Field(None, gt=0, description="its threshold; null = default")
    alpha: float = Field(0.05, gt=0, lt=1, description="significance of the paired test")

    @field_validator("stattest")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        if v is not None and v not in STATTESTS:
            msg = f"unknown stattest {v!r}; choose one of {', '.join(STATTESTS)}"
            raise ValueError(msg)
        return v

    def model_post_init(self, context: Any, /) -> None:
        if self.champion in self.candidates:
            msg = (
                f"comparison.candidates {self.candidates} contains the champion "
                f"{self.champion!r}: list only the variants compared with it"
            )
            raise ValueError(msg)


class LabelSettings(_Section):
    """Delayed ground truth (docs/labels.md). ``models.<id>.label_wait`` sets the wait."""

    revise: bool = Field(False, description="late labels revise the quality snapshot")
    late_horizon: Duration = Field(
        "1h", description="after publication, how long late labels are still recognised"
    )
    unknown_after: Duration = Field(
        "1h", description="a label matching no event for this long is dead-lettered"
    )
    max_rows_held: int = Field(
        2_000_000, ge=1, description="cap on rows held awaiting labels (all windows)"
    )
    event_id: str = Field("event_id", description="label field names")
    target: str = "target"
    timestamp: str = "timestamp"
    model_id: str = "model_id"

    _durations = field_validator("late_horizon", "unknown_after")(_check_duration)


class WorkspaceSettings(_Section):
    path: Path = Path("./workspace")
    include_data: bool = False
    max_snapshot_bytes: int = Field(5_000_000, ge=1024)
    max_age: Duration | None = None
    max_snapshots: int | None = Field(None, ge=1)

    _max_age = field_validator("max_age")(_check_duration)


class MetricsSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(9108, ge=0, le=65535, description="0 picks a free port")
    max_columns: int = Field(100, ge=1, description="columns exported per model/variant")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DRIFTSNAP_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    project: ProjectSettings = Field(default_factory=ProjectSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    window: WindowSettings = Field(default_factory=WindowSettings)
    models: dict[str, ModelSettings] = Field(min_length=1)
    comparison: ComparisonSettings | None = None
    labels: LabelSettings = Field(default_factory=LabelSettings)
    workspace: WorkspaceSettings = Field(default_factory=WorkspaceSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the environment overrides the YAML file (which arrives as init kwargs)
        return (env_settings, init_settings)


_FIXES = {
    "extra_forbidden": "remove it or check its spelling",
    "missing": "add it",
}


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<top level>"
        given = err.get("input")
        fix = _FIXES.get(err["type"], "")
        text = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            text = "unknown key"
        detail = f"  {loc}: {text}"
        if err["type"] not in ("missing", "extra_forbidden") and not isinstance(given, dict):
            detail += f" (given: {given!r})"
        if fix:
            detail += f" — {fix}"
        lines.append(detail)
    return "\n".join(lines)


def load_settings(path: str | Path | None, overrides: dict[str, Any] | None = None) -> Settings:
    """Read ``path`` (YAML), apply ``DRIFTSNAP_*`` environment overrides, validate.

    Relative reference paths are resolved against the config file's folder; the workspace
    path against the working directory.
    """
    data: dict[str, Any] = {}
    source = "environment"
    base = Path.cwd()
    if path is not None:
        p = Path(path)
        source = str(p)
        try:
            loaded = yaml.safe_load(p.read_text())
        except OSError as exc:
            msg = f"cannot read config file {p}: {exc.strerror}; pass an existing --config FILE"
            raise ConfigError(msg) from exc
        except yaml.YAMLError as exc:
            msg = f"config file {p} is not valid YAML: {exc}"
            raise ConfigError(msg) from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            msg = f"config file {p} must hold a mapping of sections (project, kafka, window, ...)"
            raise ConfigError(msg)
        data = loaded
        base = p.resolve().parent
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from exc
    _check_cross(settings, source)
    for model in settings.models.values():
        if not model.reference.is_absolute():
            model.reference = base / model.reference
    return settings


def _check_cross(settings: Settings, source: str) -> None:
    """Rules spanning sections (pydantic validates one section at a time)."""
    problems = []
    k = settings.kafka
    if k.labels_topic is not None and k.labels_topic in k.topics:
        problems.append(
            f"  kafka.labels_topic: {k.labels_topic!r} is also listed in kafka.topics — labels "
            "are not inference events; remove it from kafka.topics"
        )
    if problems:
        raise ConfigError("\n".join([f"invalid configuration in {source}:", *problems]))


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out
