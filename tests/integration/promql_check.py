"""Run every PromQL expression of the Grafana dashboards and the Prometheus rules against a real
Prometheus (a helper for the live integration test, not a test itself).

    results = check_all_queries(url, ROOT / "deploy/grafana/dashboards",
                                ROOT / "deploy/prometheus/rules/driftsnap.rules.yml",
                                {"project": "fraud-demo", "model": "fraud", "variant": "champion"})
    empty = [e for e, n in results.items() if n == 0]      # a query that returns nothing is broken
    states = alert_states(url)                             # {"DriftsnapDatasetDrift": {"firing"}}

Grafana template variables are expanded the way Grafana would send them: the given
substitutions for $project/$model/$variant (and any other name), ``.*`` (the "All" value of
every variable of the dashboards) for the others, and fixed durations for the built-in
$__rate_interval / $__interval / $__range (see ``BUILTINS``, overridable).
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# With the 2 s scrape interval of scripts/prometheus, 30s holds well over the 4 samples Grafana's
# $__rate_interval guarantees; raise these for a 15 s scrape interval (e.g. 1m / 15s / 5m).
BUILTINS: dict[str, str] = {
    "__rate_interval": "30s",
    "__interval": "10s",
    "__range": "5m",
    "__range_s": "300",
    "__range_ms": "300000",
    "__interval_ms": "10000",
}

_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)(?::\w+)?\]\]|\$(\w+)")


@dataclass(frozen=True)
class Query:
    """One expression and where it comes from (``dashboard file: panel title`` or ``rule``)."""

    source: str
    expr: str  # as written in the dashboard or rule file
    kind: str  # "panel", "variable", "alert" or "record"
    name: str = ""  # alert or recording rule name


def expand(
    expr: str,
    substitutions: Mapping[str, str] | None = None,
    builtins: Mapping[str, str] | None = None,
) -> str:
    """Replace $var, ${var}, ${var:format} and [[var]] like Grafana (unknown variables -> .*)."""
    values = {**BUILTINS, **(builtins or {}), **(substitutions or {})}

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        return values.get(name, ".*")

    return _VAR.sub(sub, expr)


def _panels(panels: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []))  # panels inside collapsed rows


def dashboard_queries(dashboards_dir: str | Path) -> list[Query]:
    queries = []
    for path in sorted(Path(dashboards_dir).glob("*.json")):
        dash = json.loads(path.read_text(encoding="utf-8"))
        for p in _panels(dash.get("panels", [])):
            for t in p.get("targets", []):
                if t.get("expr"):
                    queries.append(Query(f"{path.name}: {p.get('title', '?')}", t["expr"], "panel"))
    return queries


def variable_queries(dashboards_dir: str | Path) -> list[Query]:
    """The ``label_values(selector, label)`` of every template variable, as (series) queries."""
    queries = []
    for path in sorted(Path(dashboards_dir).glob("*.json")):
        dash = json.loads(path.read_text(encoding="utf-8"))
        for v in dash.get("templating", {}).get("list", []):
            q = v.get("query")
            text = q.get("query", "") if isinstance(q, dict) else (q or v.get("definition", ""))
            m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", text or "")
            if m:
                queries.append(
                    Query(f"{path.name}: ${v['name']}", m.group(1), "variable", m.group(2))
                )
    return queries


def rule_queries(rules_file: str | Path) -> list[Query]:
    doc = yaml.safe_load(Path(rules_file).read_text(encoding="utf-8"))
    queries = []
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            kind = "alert" if "alert" in rule else "record"
            name = rule.get("alert") or rule.get("record")
            queries.append(
                Query(f"{Path(rules_file).name}: {name}", rule["expr"].strip(), kind, name)
            )
    return queries


def _get(
    prometheus_url: str, path: str, params: Mapping[str, str] | None = None, timeout: float = 10.0
) -> Any:
    url = prometheus_url.rstrip("/") + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body = json.load(resp)
    if body.get("status") != "success":
        raise RuntimeError(f"{path}: {body.get('errorType')}: {body.get('error')}")
    return body["data"]


def query(prometheus_url: str, expr: str, time: float | None = None) -> list[dict[str, Any]]:
    """Instant query; returns the result list (a scalar/string result counts as one)."""
    params = {"query": expr}
    if time is not None:
        params["time"] = f"{time:.3f}"
    data = _get(prometheus_url, "/api/v1/query", params)
    if data["resultType"] in ("scalar", "string"):
        return [{"value": data["result"]}]
    return list(data["result"])


def check_all_queries(
    prometheus_url: str,
    dashboards_dir: str | Path,
    rules_file: str | Path,
    substitutions: Mapping[str, str] | None = None,
    *,
    builtins: Mapping[str, str] | None = None,
    include_variables: bool = False,
) -> dict[str, int]:
    """{expression as written: number of results} for every dashboard panel expression and every
    alerting/recording rule expression (plus, with ``include_variables``, the series selector of
    every template variable). A query Prometheus rejects raises RuntimeError naming its source.

    For alert rules the count is the number of series for which the condition holds now (0 means
    "would not fire"); compare with ``alert_states`` for the pending/firing state."""
    queries = dashboard_queries(dashboards_dir) + rule_queries(rules_file)
    if include_variables:
        queries += variable_queries(dashboards_dir)
    results: dict[str, int] = {}
    for q in queries:
        expanded = expand(q.expr, substitutions, builtins)
        try:
            results[q.expr] = len(query(prometheus_url, expanded))
        except (RuntimeError, OSError) as exc:
            raise RuntimeError(f"{q.source}: query failed: {expanded!r}: {exc}") from exc
    return results


def all_queries(dashboards_dir: str | Path, rules_file: str | Path) -> list[Query]:
    """Every query with its source, for readable failure messages in tests."""
    return dashboard_queries(dashboards_dir) + rule_queries(rules_file)


def alerts(prometheus_url: str) -> list[dict[str, Any]]:
    """The raw list of /api/v1/alerts (each with labels, annotations, state, activeAt, value)."""
    return list(_get(prometheus_url, "/api/v1/alerts")["alerts"])


def alert_states(
    prometheus_url: str, labels: Mapping[str, str] | None = None
) -> dict[str, set[str]]:
    """{alertname: {"pending", "firing"}} for the active alerts whose labels include ``labels``
    (inactive alerts are absent)."""
    states: dict[str, set[str]] = {}
    for a in alerts(prometheus_url):
        if labels and any(a["labels"].get(k) != v for k, v in labels.items()):
            continue
        states.setdefault(a["labels"]["alertname"], set()).add(a["state"])
    return states


def rule_health(prometheus_url: str) -> dict[str, str]:
    """{rule name: health} from /api/v1/rules ("ok", "err" with lastError, or "unknown")."""
    out = {}
    for group in _get(prometheus_url, "/api/v1/rules")["groups"]:
        for rule in group["rules"]:
            health = rule.get("health", "unknown")
            if rule.get("lastError"):
                health = f"{health}: {rule['lastError']}"
            out[rule["name"]] = health
    return out


def targets_up(prometheus_url: str) -> dict[str, str]:
    """{scrape URL: health} of the active targets ("up", "down", "unknown")."""
    data = _get(prometheus_url, "/api/v1/targets", {"state": "active"})
    return {t["scrapeUrl"]: t["health"] for t in data["activeTargets"]}
