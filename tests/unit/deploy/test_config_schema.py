"""The deployment configs against the real service: ``deploy/examples/config.yaml`` and the
config inside ``deploy/k8s/configmap.yaml`` are loaded with ``service.config.load_settings`` and
their models built with ``service.models.build_models``, the generator's events decode with
them, and every ``DRIFTSNAP_*`` variable the deployment files set names a real setting. A
change of the parser (a renamed or removed key) fails here instead of at start-up in a cluster.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, get_args

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal
from pydantic import BaseModel

from consumer import decode_batch
from service.cli import build_parser
from service.config import Settings, load_settings
from service.generator import (
    CAT_FEATURES,
    MODELS,
    NUM_FEATURES,
    VARIANTS,
    encode_events,
    encode_labels,
    generate_requests,
    reference_frame,
)
from service.models import build_models
from service.runner import decode_bounds, event_schema

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
EXAMPLE_CONFIG = DEPLOY / "examples" / "config.yaml"
REFERENCE_DIR = DEPLOY / "examples" / "reference"
CONTAINER_REFERENCE_DIR = "/etc/driftsnap/reference"
K8S = DEPLOY / "k8s"
TASKS = {"fraud": "classification", "eta": "regression"}
# the Kafka connection is what the cluster's config may change; the rest stays the example's
CONNECTION_KEYS = {"bootstrap_servers", "security_protocol", "sasl_mechanism", "ssl_ca_location"}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own DRIFTSNAP_* variables must not leak into these loads."""
    for name in list(os.environ):
        if name.upper().startswith("DRIFTSNAP_"):
            monkeypatch.delenv(name)


def k8s_docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")) if d]


def configmap_text() -> str:
    (cm,) = k8s_docs("configmap.yaml")
    return str(cm["data"]["config.yaml"])


def localised(text: str, tmp_path: Path, name: str) -> Path:
    """A copy of the config whose container reference paths point at the repository's files."""
    assert CONTAINER_REFERENCE_DIR in text
    path = tmp_path / name
    path.write_text(text.replace(CONTAINER_REFERENCE_DIR, str(REFERENCE_DIR)), encoding="utf-8")
    return path


def load(text: str, tmp_path: Path, name: str) -> Settings:
    return load_settings(localised(text, tmp_path, name))


def check_models(settings: Settings) -> None:
    assert set(settings.models) == set(MODELS)
    runtimes = build_models(settings)
    for model_id, rt in runtimes.items():
        assert rt.settings.reference == REFERENCE_DIR / f"{model_id}.parquet"
        assert rt.features == {
            **{c: "num" for c in NUM_FEATURES},
            **{c: "cat" for c in CAT_FEATURES},
        }
        assert rt.prediction_kind == "num"
        assert rt.target_kind == "num"
        assert rt.settings.column_mapping.task == TASKS[model_id]
    # the generator's events (and nothing else) decode with this config: no rejects
    frame = pl.concat(
        generate_requests(50, seed=3, start_ms=1_700_000_000_000, span_ms=60_000, model_id=m)
        for m in MODELS
    )
    pairs = encode_events(frame)
    values = [v for _, v in pairs]
    n = len(values)
    decoded = decode_batch(
        values,
        [0] * n,
        list(range(n)),
        [None] * n,
        "inference-events",
        event_schema(settings, runtimes),
        decode_bounds(settings),
        1_700_000_060_000,
        keys=[k for k, _ in pairs],
    )
    assert decoded.rejected == []
    assert decoded.frame.height == n == 50 * len(MODELS) * len(VARIANTS)
    # label records carry the fields the labels section names
    label = json.loads(encode_labels(frame)[0][1])
    lab = settings.labels
    assert {lab.event_id, lab.target, lab.timestamp, lab.model_id} <= set(label)


def test_example_config_loads_and_builds(tmp_path: Path) -> None:
    settings = load(EXAMPLE_CONFIG.read_text(encoding="utf-8"), tmp_path, "config.yaml")
    check_models(settings)
    kafka = settings.kafka
    assert kafka.topics == ["inference-events"]
    assert kafka.labels_topic == "inference-labels"
    assert kafka.security_protocol == "PLAINTEXT"
    assert settings.comparison is not None
    assert settings.comparison.champion == "champion"
    assert settings.comparison.candidates == ["shadow"]
    assert settings.metrics.host == "0.0.0.0"


def test_configmap_config_loads_with_secrets_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (secret,) = k8s_docs("secret.yaml")
    (deployment, _pdb) = k8s_docs("deployment.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    for env in container["env"]:  # what the kubelet would set from the Secret
        if "valueFrom" in env:
            ref = env["valueFrom"]["secretKeyRef"]
            assert ref["name"] == secret["metadata"]["name"]
            monkeypatch.setenv(env["name"], secret["stringData"][ref["key"]])
        else:
            monkeypatch.setenv(env["name"], env["value"])
    settings = load(configmap_text(), tmp_path, "configmap-config.yaml")
    check_models(settings)
    conf = settings.kafka.consumer_config()
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["sasl.mechanism"] == "SCRAM-SHA-512"
    assert conf["sasl.username"] == secret["stringData"]["username"]
    assert conf["sasl.password"] == secret["stringData"]["password"]
    assert secret["stringData"]["password"] not in repr(settings)  # SecretStr
    assert settings.workspace.path == Path("/var/lib/driftsnap/workspace")


def test_configmap_config_without_secrets_still_loads(tmp_path: Path) -> None:
    settings = load(configmap_text(), tmp_path, "configmap-config.yaml")
    assert settings.kafka.sasl_username is None
    assert settings.kafka.sasl_password is None


def test_configmap_is_the_example_with_the_clusters_kafka() -> None:
    example = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    cluster = yaml.safe_load(configmap_text())
    for cfg in (example, cluster):
        for key in CONNECTION_KEYS:
            cfg["kafka"].pop(key, None)
    assert cluster == example


def test_example_config_points_at_the_mounted_references() -> None:
    """As shipped (no localising), the references are the container's mount points."""
    settings = load_settings(EXAMPLE_CONFIG)
    for model_id, ms in settings.models.items():
        assert ms.reference == Path(CONTAINER_REFERENCE_DIR) / f"{model_id}.parquet"


@pytest.mark.parametrize("model_id", MODELS)
def test_reference_files_are_the_generators(model_id: str) -> None:
    """The reference files are service.generator.reference_frame (make_reference.py)."""
    stored = pl.read_parquet(REFERENCE_DIR / f"{model_id}.parquet")
    assert_frame_equal(stored, reference_frame(model_id))


def test_no_other_reference_files() -> None:
    assert {p.name for p in REFERENCE_DIR.iterdir()} == {f"{m}.parquet" for m in MODELS}


# --- DRIFTSNAP_* environment names in the deployment files ---------------------------------------


def setting_exists(name: str) -> bool:
    """``DRIFTSNAP_SECTION__KEY[__SUB...]`` names a field of :class:`Settings`."""
    path = name.removeprefix("DRIFTSNAP_").lower().split("__")
    model: Any = Settings
    for i, part in enumerate(path):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return False
        field = model.model_fields.get(part)
        if field is None:
            return False
        model = field.annotation
        sections = [a for a in get_args(model) if isinstance(a, type) and issubclass(a, BaseModel)]
        if sections and type(None) in get_args(model):  # an optional section
            model = sections[0]
        elif i < len(path) - 1 and get_args(model):
            return False  # a dict/list: deeper keys are values, not settings names
    return True


def deploy_env_names() -> dict[str, str]:
    """Every DRIFTSNAP_* name set or read by compose, Kubernetes and the Dockerfile."""
    names: dict[str, str] = {}
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    for svc_name, svc in compose["services"].items():
        for name in svc.get("environment") or {}:
            names[name] = f"compose.yaml: {svc_name}"
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc.get("kind") == "Deployment":
                for c in doc["spec"]["template"]["spec"]["containers"]:
                    for env in c.get("env", []):
                        names[env["name"]] = path.name
    for name in re.findall(r"DRIFTSNAP_\w+", (DEPLOY / "Dockerfile").read_text(encoding="utf-8")):
        names[name] = "Dockerfile"
    return {n: where for n, where in names.items() if n.startswith("DRIFTSNAP_")}


def test_setting_exists() -> None:
    assert setting_exists("DRIFTSNAP_METRICS__PORT")
    assert setting_exists("DRIFTSNAP_KAFKA__SASL_PASSWORD")
    assert setting_exists("DRIFTSNAP_COMPARISON__ALPHA")
    assert not setting_exists("DRIFTSNAP_METRICS_PORT")
    assert not setting_exists("DRIFTSNAP_KAFKA__SASL_PASSWORD__X")
    assert not setting_exists("DRIFTSNAP_NOPE__PORT")


def test_deploy_environment_names_are_settings() -> None:
    names = deploy_env_names()
    assert {
        "DRIFTSNAP_METRICS__PORT",
        "DRIFTSNAP_KAFKA__SASL_USERNAME",
        "DRIFTSNAP_KAFKA__SASL_PASSWORD",
    } <= set(names)
    unknown = {n: where for n, where in names.items() if not setting_exists(n)}
    assert not unknown, f"DRIFTSNAP_* variables the service does not read: {unknown}"


def test_dockerfile_sets_no_setting_and_checks_health_on_the_override_port() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    env_lines = [line for line in text.splitlines() if line.startswith("ENV ")]
    assert env_lines
    assert not any("DRIFTSNAP_" in line for line in env_lines), "an image default would win"
    (health,) = [line for line in text.splitlines() if line.strip().startswith("CMD [")]
    assert "DRIFTSNAP_METRICS__PORT" in health


def test_generator_command_parses() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    entry = compose["services"]["generator"]["entrypoint"]
    assert entry[0] == "driftsnap"
    args = build_parser().parse_args(entry[1:])
    assert args.command == "generate"
    example = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    assert args.topic in example["kafka"]["topics"]
    assert args.labels_topic == example["kafka"]["labels_topic"]
    assert set(args.models.split(",")) == set(example["models"])
    assert set(args.variants.split(",")) == {
        example["comparison"]["champion"],
        *example["comparison"]["candidates"],
    }
