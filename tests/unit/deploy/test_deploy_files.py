"""Static checks of deploy/: Prometheus config and rules (promtool), Grafana dashboards against the
metric contract, the compose file, the Kubernetes manifests, the Dockerfile and the example config.
(test_config_schema.py loads the example configs with the service's own parser.)

promtool is required (CI installs Debian's ``prometheus`` package, which ships it): a missing
promtool fails these tests, it does not skip them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from tests.integration import promql_check

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
PROM_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
RULES = DEPLOY / "prometheus" / "rules" / "driftsnap.rules.yml"
RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
DASHBOARDS_DIR = DEPLOY / "grafana" / "dashboards"
DASHBOARDS = sorted(DASHBOARDS_DIR.glob("*.json"))
COMPOSE = DEPLOY / "compose.yaml"
EXAMPLE_CONFIG = DEPLOY / "examples" / "config.yaml"
K8S = DEPLOY / "k8s"

# The metric contract of driftsnap's Prometheus exporter (publisher). Histograms expose
# _bucket/_sum/_count.
SNAPSHOT_METRICS = {
    "driftsnap_dataset_drift",
    "driftsnap_drifted_columns_share",
    "driftsnap_drifted_columns",
    "driftsnap_column_drift_score",
    "driftsnap_column_drift_detected",
    "driftsnap_column_missing_share",
    "driftsnap_model_quality",
    "driftsnap_tests",
    "driftsnap_window_end_timestamp_seconds",
    "driftsnap_window_rows",
    "driftsnap_last_snapshot_timestamp_seconds",
}
SERVICE_METRICS = {
    "driftsnap_events_consumed_total",
    "driftsnap_events_rejected_total",
    "driftsnap_events_late_total",
    "driftsnap_windows_open",
    "driftsnap_windows_closed_total",
    "driftsnap_snapshots_published_total",
    "driftsnap_evaluation_seconds_bucket",
    "driftsnap_evaluation_seconds_sum",
    "driftsnap_evaluation_seconds_count",
    "driftsnap_publish_failures_total",
    "driftsnap_consumer_lag_messages",
    "driftsnap_watermark_timestamp_seconds",
    "driftsnap_rows_held",
}
COMPARISON_METRICS = {"driftsnap_comparison", "driftsnap_label_coverage"}
CONTRACT = SNAPSHOT_METRICS | SERVICE_METRICS | COMPARISON_METRICS
GRAFANA_BUILTINS = {
    "__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
}  # fmt: skip

PROMQL_WORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2", "start", "end",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """Metric (and recording rule) names used in a PromQL expression."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # string literals
    s = re.sub(r"\{[^}]*\}", " ", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)  # ranges and subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    s = re.sub(r"\$\{?\w+\}?", " ", s)  # template variables
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", s):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def test_metric_name_extraction() -> None:
    expr = (
        'sum by (topic) (rate(driftsnap_events_consumed_total{project=~"$project"}[5m]))'
        " / on (topic) group_left max(driftsnap:lag:sum offset 5m) or vector(0)"
        " and histogram_quantile(0.9, sum by (le) (rate(x_bucket[$__rate_interval])))"
    )
    assert metric_names(expr) == {
        "driftsnap_events_consumed_total",
        "driftsnap:lag:sum",
        "x_bucket",
    }


# --- promtool -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool not found: install Prometheus (Debian: apt-get install "
            "--no-install-recommends prometheus; scripts/setup does it); these checks do not skip"
        )
    return path


def run_promtool(promtool: str, *args: str | Path) -> str:
    out = subprocess.run(
        [promtool, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, f"promtool {' '.join(map(str, args))} failed:\n{text}"
    return text


def test_promtool_check_config(promtool: str) -> None:
    text = run_promtool(promtool, "check", "config", PROM_CONFIG)
    assert "1 rule files found" in text, text  # the rules glob resolves relative to the config


def test_promtool_check_rules(promtool: str) -> None:
    text = run_promtool(promtool, "check", "rules", RULES)
    assert f"SUCCESS: {len(load_rules())} rules found" in text, text


def test_promtool_test_rules(promtool: str) -> None:
    assert RULE_TESTS, "no promtool rule tests in deploy/prometheus/tests/"
    run_promtool(promtool, "test", "rules", *RULE_TESTS)


def load_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    alerts = {r["alert"] for r in load_rules() if "alert" in r}
    assert {
        "DriftsnapDatasetDrift",
        "DriftsnapDriftedColumnsShareHigh",
        "DriftsnapTestsFailing",
        "DriftsnapNoRecentSnapshot",
        "DriftsnapConsumerLagGrowing",
        "DriftsnapRejectedEventsHigh",
    } <= alerts
    fires: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for t in case.get("alert_rule_test", []):
                (fires if t.get("exp_alerts") else quiet).add(t["alertname"])
    assert alerts - fires == set(), "alerts never shown firing in a promtool test"
    assert alerts - quiet == set(), "alerts never shown not firing in a promtool test"


def test_rule_metric_names_are_in_contract() -> None:
    rules = load_rules()
    recorded = {r["record"] for r in rules if "record" in r}
    for r in rules:
        names = metric_names(r["expr"])
        unknown = names - CONTRACT - recorded - {"up"}
        assert not unknown, f"{r.get('alert') or r.get('record')}: not in the contract: {unknown}"
    for name in recorded:
        assert re.fullmatch(r"driftsnap:\w+:\w+", name), (
            f"recording rule name {name} (level:metric:ops)"
        )


def test_prometheus_config_scrapes_driftsnap_on_metrics_port() -> None:
    config = yaml.safe_load(PROM_CONFIG.read_text(encoding="utf-8"))
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "driftsnap")
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    port = example_config()["metrics"]["port"]
    assert targets == [f"driftsnap:{port}"]
    assert job.get("metrics_path", "/metrics") == "/metrics"


# --- Grafana ------------------------------------------------------------------------------------


def load_dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in DASHBOARDS}


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for p in panels:
        out.append(p)
        out.extend(all_panels(p.get("panels", [])))
    return out


def dashboard_exprs() -> list[tuple[str, str]]:
    return [
        (f"{name}: {p['title']}", t["expr"])
        for name, dash in load_dashboards().items()
        for p in all_panels(dash["panels"])
        for t in p.get("targets", [])
    ]


def test_dashboards_exist_and_are_fresh() -> None:
    names = {p.name for p in DASHBOARDS}
    assert names == {
        "driftsnap-overview.json",
        "driftsnap-model-detail.json",
        "driftsnap-shadow-vs-champion.json",
    }
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", DEPLOY / "grafana" / "build_dashboards.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.render().items():
        assert (DASHBOARDS_DIR / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run .venv/bin/python deploy/grafana/build_dashboards.py"
        )


def test_every_panel_has_targets_with_expr() -> None:
    for name, dash in load_dashboards().items():
        assert dash.get("uid"), name
        assert dash.get("title"), name
        ids = [p["id"] for p in all_panels(dash["panels"])]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        for p in all_panels(dash["panels"]):
            if p["type"] == "row":
                continue
            assert p.get("targets"), f"{name}: panel {p['title']!r} has no targets"
            for t in p["targets"]:
                assert t.get("expr", "").strip(), f"{name}: {p['title']!r} target without expr"


def test_dashboard_metric_names_are_in_contract() -> None:
    used: set[str] = set()
    for source, expr in dashboard_exprs():
        names = metric_names(expr)
        assert names, f"{source}: no metric in {expr!r}"
        unknown = names - CONTRACT
        assert not unknown, f"{source}: {sorted(unknown)} not in the metric contract ({expr})"
        used |= names
    # the dashboards show every snapshot gauge and every service metric, and the comparison ones
    assert CONTRACT - used == set(), f"metrics no panel shows: {sorted(CONTRACT - used)}"


def test_dashboard_variables_use_label_values_and_are_defined() -> None:
    for name, dash in load_dashboards().items():
        variables = {v["name"]: v for v in dash["templating"]["list"]}
        assert {"project", "model"} <= set(variables), name
        if "shadow" not in name:
            assert "variant" in variables, name
        for v in variables.values():
            query = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
            assert m, f"{name}: ${v['name']} is not a label_values(...) query: {query}"
            assert metric_names(m.group(1)) <= CONTRACT, f"{name}: ${v['name']}: {query}"
            assert v["name"] == m.group(2) or v["name"] in {"baseline", "candidate"}
        dash_exprs = [
            t["expr"] for p in all_panels(dash["panels"]) for t in p.get("targets", [])
        ] + [
            v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            for v in variables.values()
        ]
        for expr in dash_exprs:
            for var in re.findall(r"\$\{?(\w+)", expr):
                assert var in variables or var in GRAFANA_BUILTINS, (
                    f"{name}: ${var} is not a variable of the dashboard ({expr})"
                )


def test_dashboards_use_the_provisioned_datasource() -> None:
    ds_file = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
    (ds,) = yaml.safe_load(ds_file.read_text(encoding="utf-8"))["datasources"]
    assert ds["type"] == "prometheus"
    for name, dash in load_dashboards().items():
        for p in all_panels(dash["panels"]):
            if p["type"] == "row":
                continue
            for obj in [p, *p["targets"]]:
                assert obj["datasource"]["uid"] == ds["uid"], f"{name}: {p['title']}"


def test_dashboard_promql_parses(promtool: str, tmp_path: Path) -> None:
    """promtool has no offline query parser: check every expanded panel expression as a rule."""
    subs = {"project": "p", "model": "m", "variant": "v"}
    rules = [
        {"record": f"check:panel:{i}", "expr": promql_check.expand(expr, subs)}
        for i, (_, expr) in enumerate(dashboard_exprs())
    ]
    path = tmp_path / "panels.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    assert rules, "no panel expressions found in the dashboards"
    text = run_promtool(promtool, "check", "rules", path)
    assert f"SUCCESS: {len(rules)} rules found" in text, text


# --- example config, compose, Dockerfile --------------------------------------------------------


def example_config() -> dict[str, Any]:
    return dict(yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8")))


def check_config_shape(cfg: dict[str, Any]) -> None:
    """What the deployment files rely on (the schema itself: test_config_schema.py)."""
    assert set(cfg) >= {"project", "kafka", "window", "models", "workspace", "metrics"}
    assert cfg["project"]["id"]
    kafka = cfg["kafka"]
    assert kafka["bootstrap_servers"]
    assert kafka["topics"]
    assert kafka["group_id"]
    assert kafka["labels_topic"]
    assert kafka["labels_topic"] not in kafka["topics"]
    assert {"dead_letter_topic", "snapshot_topic"} <= set(kafka)
    assert set(cfg["window"]) >= {"size", "slide", "allowed_lateness", "idle_timeout", "min_rows"}
    for model in cfg["models"].values():
        assert model["reference"].startswith("/etc/driftsnap/reference/")
        assert {"column_mapping", "stattest", "tags", "metadata"} <= set(model)
    assert cfg["workspace"]["path"] == "/var/lib/driftsnap/workspace"
    assert isinstance(cfg["metrics"]["port"], int)
    assert cfg["metrics"]["host"] == "0.0.0.0"  # in a container: scrapeable beyond loopback


def test_example_config_and_reference() -> None:
    cfg = example_config()
    check_config_shape(cfg)
    for model in cfg["models"].values():
        local = DEPLOY / "examples" / "reference" / Path(model["reference"]).name
        assert local.is_file(), f"missing reference {local}"
        columns = set(pq.read_schema(local).names)
        mapping = model["column_mapping"]
        wanted = set(mapping["numerical"]) | set(mapping["categorical"])
        wanted |= {mapping[k] for k in ("target", "prediction")}
        assert wanted <= columns, f"{local.name} lacks {wanted - columns}"


def load_compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))


def docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    out = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, timeout=30, check=False
    )
    return out.returncode == 0


def test_compose_file() -> None:
    if docker_compose_available():
        out = subprocess.run(
            ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert out.returncode == 0, f"docker compose config failed:\n{out.stderr}"
    # the checks docker compose does not make (and all of them when it is not installed)
    compose = load_compose()
    services = compose["services"]
    assert set(services) == {
        "kafka", "kafka-init", "driftsnap", "generator", "prometheus", "grafana",
    }  # fmt: skip
    volumes = set(compose.get("volumes") or {})
    mounts: dict[str, dict[str, Path]] = {}
    for name, svc in services.items():
        assert "image" in svc, name
        for dep in svc.get("depends_on", []):
            assert dep in services, f"{name} depends on unknown service {dep}"
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        mounts[name] = {}
        for vol in svc.get("volumes", []):
            source, target = vol.split(":")[:2]
            if source.startswith((".", "/")):
                path = (DEPLOY / source).resolve()
                assert path.exists(), f"{name}: mounted {source} does not exist"
                mounts[name][target] = path
            else:
                assert source in volumes, f"{name}: named volume {source} not declared"
    for name in ("driftsnap", "generator"):
        build = services[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"

    cfg = example_config()
    port = cfg["metrics"]["port"]
    # driftsnap: config + reference mounted where the config and the Dockerfile expect them
    assert mounts["driftsnap"]["/etc/driftsnap/config.yaml"] == EXAMPLE_CONFIG
    for model in cfg["models"].values():
        ref = Path(model["reference"])
        assert (mounts["driftsnap"][str(ref.parent)] / ref.name).is_file()
    assert f"127.0.0.1:{port}:{port}" in services["driftsnap"]["ports"]
    assert services["driftsnap"]["environment"]["DRIFTSNAP_METRICS__PORT"] == str(port)
    # kafka: the advertised in-network listener is what driftsnap and the generator use
    kafka_env = services["kafka"]["environment"]
    assert (
        f"PLAINTEXT://{cfg['kafka']['bootstrap_servers']}"
        in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    )
    gen = services["generator"]["entrypoint"]
    assert gen[:2] == ["driftsnap", "generate"]
    assert gen[gen.index("--bootstrap") + 1] == cfg["kafka"]["bootstrap_servers"]
    assert gen[gen.index("--topic") + 1] in cfg["kafka"]["topics"]
    assert gen[gen.index("--labels-topic") + 1] == cfg["kafka"]["labels_topic"]
    assert gen[gen.index("--rate") + 1] == "200"
    assert int(gen[gen.index("--drift-after") + 1]) > 0
    # topics: the broker does not auto-create them, kafka-init creates every one the config names
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    init = services["kafka-init"]
    script = " ".join(init["command"])
    created = set(re.findall(r"for t in ([\w\s-]+?);", script)[0].split())
    created |= set(re.findall(r"--topic ([\w-]+)", script))
    k = cfg["kafka"]
    wanted = {*k["topics"], k["labels_topic"], k["dead_letter_topic"], k["snapshot_topic"]}
    wanted |= {k["late_topic"]} if k.get("late_topic") else set()
    assert wanted <= created, f"kafka-init does not create {wanted - created}"
    assert script.count("kafka:9092") >= 2
    for name in ("driftsnap", "generator"):
        dep = services[name]["depends_on"]["kafka-init"]
        assert dep["condition"] == "service_completed_successfully"
    # prometheus: its config and rules, scraping driftsnap:<metrics port>
    assert mounts["prometheus"]["/etc/prometheus/prometheus.yml"] == PROM_CONFIG
    assert mounts["prometheus"]["/etc/prometheus/rules"] == RULES.parent
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    # grafana: provisioning and dashboards at the paths the provisioning files name
    ds_file = mounts["grafana"]["/etc/grafana/provisioning/datasources"] / "prometheus.yml"
    (ds,) = yaml.safe_load(ds_file.read_text(encoding="utf-8"))["datasources"]
    assert ds["url"] == "http://prometheus:9090"
    assert "127.0.0.1:9090:9090" in services["prometheus"]["ports"]
    prov = mounts["grafana"]["/etc/grafana/provisioning/dashboards"] / "driftsnap.yml"
    (provider,) = yaml.safe_load(prov.read_text(encoding="utf-8"))["providers"]
    assert mounts["grafana"][provider["options"]["path"]] == DASHBOARDS_DIR
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (DASHBOARDS_DIR / Path(home).name).is_file()


def test_dockerfile() -> None:
    lines = []
    for raw in (
        (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
    ):
        if raw.strip() and not raw.lstrip().startswith("#"):
            lines.append(raw.strip())
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms
    assert all(line.split()[1] == "python:3.11-slim" for line in froms)
    user = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user
    assert user[-1].split(":")[0] not in {"root", "0"}
    (entry,) = [line for line in lines if line.startswith("ENTRYPOINT ")]
    assert json.loads(entry.split(" ", 1)[1]) == [
        "driftsnap", "run", "--config", "/etc/driftsnap/config.yaml",
    ]  # fmt: skip
    (health,) = [line for line in lines if line.startswith("HEALTHCHECK ")]
    assert "urllib" in health
    assert "/healthz" in health
    assert "curl" not in health
    port = example_config()["metrics"]["port"]
    assert f"EXPOSE {port}" in lines
    # what the build copies exists (README.md: pyproject's readme)
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), f"Dockerfile copies {src}, which does not exist"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "!service/" in ignore
    assert "!pyproject.toml" in ignore


# --- Kubernetes ---------------------------------------------------------------------------------


def k8s_objects() -> list[dict[str, Any]]:
    objs = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                doc["__file__"] = path.name
                objs.append(doc)
    return objs


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [o for o in k8s_objects() if o.get("kind") == kind]


def test_k8s_kinds_and_kustomization() -> None:
    objs = k8s_objects()
    kinds = {o["kind"] for o in objs}
    assert {
        "Deployment", "ConfigMap", "Secret", "Service", "ServiceMonitor", "PersistentVolumeClaim",
        "Kustomization",
    } <= kinds  # fmt: skip
    for o in objs:
        assert o.get("apiVersion")
        assert o["metadata" if o["kind"] != "Kustomization" else "kind"]
    (kust,) = by_kind("Kustomization")
    for res in kust["resources"]:
        assert (K8S / res).is_file(), f"kustomization lists missing {res}"
    listed = set(kust["resources"]) | {"kustomization.yaml", "servicemonitor.yaml"}
    assert {p.name for p in K8S.glob("*.yaml")} == listed


def test_k8s_deployment_probes_ports_and_config() -> None:
    (dep,) = by_kind("Deployment")
    spec = dep["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    (cm,) = by_kind("ConfigMap")
    cfg = yaml.safe_load(cm["data"]["config.yaml"])
    check_config_shape(cfg)
    assert cfg["kafka"]["group_id"] == example_config()["kafka"]["group_id"]
    port = cfg["metrics"]["port"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": port}

    def probe_port(probe: dict[str, Any]) -> int:
        p = probe["httpGet"]["port"]
        return ports[p] if isinstance(p, str) else int(p)

    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert probe_port(container[probe]) == port
    annotations = spec["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == port
    assert annotations["prometheus.io/path"] == "/metrics"
    env = {e["name"]: e for e in container["env"]}
    assert env["DRIFTSNAP_METRICS__PORT"]["value"] == str(port)
    # SASL: mechanism in the config, credentials from the Secret as environment overrides of
    # kafka.sasl_username / kafka.sasl_password (the parser does not expand ${VAR})
    (secret,) = by_kind("Secret")
    kafka = cfg["kafka"]
    assert kafka["security_protocol"] in {"SASL_SSL", "SASL_PLAINTEXT"}
    assert kafka["sasl_mechanism"]
    assert "sasl_username" not in kafka
    assert "sasl_password" not in kafka
    assert "${" not in cm["data"]["config.yaml"]
    for var in ("DRIFTSNAP_KAFKA__SASL_USERNAME", "DRIFTSNAP_KAFKA__SASL_PASSWORD"):
        ref = env[var]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
    # mounts: config file, reference folder, workspace on the RWX claim
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    conf = mounts["/etc/driftsnap/config.yaml"]
    assert volumes[conf["name"]]["configMap"]["name"] == cm["metadata"]["name"]
    assert conf["subPath"] == "config.yaml"
    for model in cfg["models"].values():
        assert str(Path(model["reference"]).parent) in mounts
    # one ConfigMap per reference file, each named in the kubectl hint
    ref_volume = volumes[mounts["/etc/driftsnap/reference"]["name"]]
    sources = {s["configMap"]["name"] for s in ref_volume["projected"]["sources"]}
    assert sources == {f"driftsnap-reference-{m}" for m in cfg["models"]}
    text = (K8S / "deployment.yaml").read_text(encoding="utf-8")
    for m in cfg["models"]:
        assert f"create configmap driftsnap-reference-{m}" in text
        assert f"--from-file=deploy/examples/reference/{m}.parquet" in text
    ws = volumes[mounts[cfg["workspace"]["path"]]["name"]]
    (pvc,) = by_kind("PersistentVolumeClaim")
    assert ws["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_k8s_service_and_servicemonitor_agree() -> None:
    (dep,) = by_kind("Deployment")
    (svc,) = by_kind("Service")
    (mon,) = by_kind("ServiceMonitor")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    (port,) = svc["spec"]["ports"]
    assert port["name"] == "metrics"
    assert port["targetPort"] == "metrics"
    assert mon["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    (endpoint,) = mon["spec"]["endpoints"]
    assert endpoint["port"] == port["name"]
    assert endpoint["path"] == "/metrics"
    # job label = the Service's app.kubernetes.io/name = "driftsnap", which DriftsnapDown expects
    assert svc["metadata"]["labels"][mon["spec"]["jobLabel"]] == "driftsnap"
