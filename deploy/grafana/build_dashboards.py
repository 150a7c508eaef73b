# ruff: noqa: E501 - dashboard text and PromQL read better unwrapped
"""Build the Grafana dashboards of deploy/grafana/dashboards/ (JSON, provisioned by Grafana).

The JSON files are generated from this script so that every panel follows the same rules:
template variables from ``label_values(...)``, selectors on $project/$model/$variant, and only
the metric names of driftsnap's exporter (checked by tests/unit/deploy/test_deploy_files.py).

    .venv/bin/python deploy/grafana/build_dashboards.py          # rewrite the JSON files
    .venv/bin/python deploy/grafana/build_dashboards.py --check  # exit 1 if they are stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DS: dict[str, str] = {"type": "prometheus", "uid": "driftsnap-prometheus"}  # provisioned uid
SEL = 'project=~"$project",model=~"$model",variant=~"$variant"'
COL = f'{SEL},column=~"$column"'
CMP = 'project=~"$project",model=~"$model",baseline=~"$baseline",candidate=~"$candidate"'
PAIR = 'project=~"$project",model=~"$model",variant=~"$baseline|$candidate"'
KEY = "project, model, variant"


# --- building blocks --------------------------------------------------------------------------


def variable(name: str, label: str, query: str, *, multi: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {
            "qryType": 1,
            "query": query,
            "refId": "PrometheusVariableQueryEditor-VariableQuery",
        },
        "refresh": 2,  # on time range change
        "regex": "",
        "sort": 1,
        "multi": multi,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0,
        "options": [],
    }


def key_variables(source: str = "driftsnap_window_rows") -> list[dict[str, Any]]:
    return [
        variable("project", "Project", f"label_values({source}, project)"),
        variable("model", "Model", f'label_values({source}{{project=~"$project"}}, model)'),
        variable(
            "variant",
            "Variant",
            f'label_values({source}{{project=~"$project",model=~"$model"}}, variant)',
        ),
    ]


def target(
    expr: str, legend: str = "", *, ref: str = "A", instant: bool = False, table: bool = False
) -> dict[str, Any]:
    return {
        "datasource": DS,
        "refId": ref,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
        "format": "table" if table else "time_series",
        "editorMode": "code",
    }


def thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


GREEN = ((None, "green"),)


def panel(
    kind: str,
    title: str,
    targets: list[dict[str, Any]],
    *,
    unit: str = "short",
    description: str = "",
    w: int = 12,
    h: int = 8,
    steps: tuple[tuple[float | None, str], ...] = GREEN,
    mappings: list[dict[str, Any]] | None = None,
    minv: float | None = None,
    maxv: float | None = None,
    options: dict[str, Any] | None = None,
    transformations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "unit": unit,
        "thresholds": thresholds(*steps),
        "mappings": mappings or [],
        "color": {
            "mode": "thresholds" if kind in ("stat", "state-timeline") else "palette-classic"
        },
    }
    if minv is not None:
        defaults["min"] = minv
    if maxv is not None:
        defaults["max"] = maxv
    if kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": True,
        }
    opts: dict[str, Any] = {}
    if kind == "stat":
        opts = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "textMode": "value_and_name",
            "justifyMode": "auto",
            "orientation": "auto",
        }
    elif kind == "timeseries":
        opts = {
            "legend": {
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
                "calcs": ["lastNotNull", "max"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    elif kind == "state-timeline":
        opts = {
            "showValue": "auto",
            "mergeValues": True,
            "rowHeight": 0.9,
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        }
    elif kind == "table":
        opts = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
    opts.update(options or {})
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": [dict(t, refId=chr(ord("A") + i)) for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": opts,
        "transformations": transformations or [],
        "gridPos": {"w": w, "h": h},
    }


def row(title: str) -> dict[str, Any]:
    return {
        "type": "row",
        "title": title,
        "collapsed": False,
        "panels": [],
        "gridPos": {"w": 24, "h": 1},
    }


def layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Place panels left to right, wrapping at 24 columns; assign ids."""
    x = y = line_h = 0
    for pid, p in enumerate(panels, start=1):
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if p["type"] == "row" or x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        p["id"] = pid
        x, line_h = x + w, max(line_h, h)
        if p["type"] == "row":
            x, y, line_h = 0, y + h, 0
    return panels


def dashboard(
    uid: str,
    title: str,
    description: str,
    variables: list[dict[str, Any]],
    panels: list[dict[str, Any]],
    tags: list[str],
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["driftsnap", *tags],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "templating": {"list": variables},
        "annotations": {"list": []},
        "links": [
            {
                "title": "driftsnap",
                "type": "dashboards",
                "tags": ["driftsnap"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "panels": layout(panels),
    }


DRIFT_MAP = [
    {
        "type": "value",
        "options": {
            "0": {"text": "no drift", "color": "green", "index": 0},
            "1": {"text": "DRIFT", "color": "red", "index": 1},
        },
    }
]
DETECTED_MAP = [
    {
        "type": "value",
        "options": {
            "0": {"text": "ok", "color": "green", "index": 0},
            "1": {"text": "drift", "color": "red", "index": 1},
        },
    }
]
VERDICT_MAP = [
    {
        "type": "value",
        "options": {
            "-1": {"text": "candidate worse", "color": "red", "index": 0},
            "0": {"text": "no significant difference", "color": "blue", "index": 1},
            "1": {"text": "candidate better", "color": "green", "index": 2},
        },
    }
]
SHARE_STEPS = ((None, "green"), (0.3, "orange"), (0.5, "red"))


def rate(metric: str, by: str, selector: str = "") -> str:
    sel = f"{{{selector}}}" if selector else ""
    return f"sum by ({by}) (rate({metric}{sel}[$__rate_interval]))"


# --- the dashboards ---------------------------------------------------------------------------


def overview() -> dict[str, Any]:
    k = "{{project}}/{{model}}/{{variant}}"
    panels = [
        row("Latest window per project / model / variant"),
        panel(
            "stat",
            "Dataset drift",
            [target(f"max by ({KEY}) (driftsnap_dataset_drift{{{SEL}}})", k, instant=True)],
            w=6,
            h=6,
            mappings=DRIFT_MAP,
            steps=((None, "green"), (1, "red")),
            description="1 when the share of drifted columns of the latest closed window reached the dataset drift threshold.",
        ),
        panel(
            "stat",
            "Share of drifted columns",
            [target(f"max by ({KEY}) (driftsnap_drifted_columns_share{{{SEL}}})", k, instant=True)],
            unit="percentunit",
            w=6,
            h=6,
            steps=SHARE_STEPS,
            minv=0,
            maxv=1,
        ),
        panel(
            "stat",
            "Failing tests",
            [
                target(
                    f'sum by ({KEY}) (driftsnap_tests{{{SEL},status=~"FAIL|ERROR"}})'
                    f" or sum by ({KEY}) (driftsnap_tests{{{SEL}}}) * 0",
                    k,
                    instant=True,
                )
            ],
            w=6,
            h=6,
            steps=((None, "green"), (1, "red")),
            description="Tests with status FAIL or ERROR in the latest snapshot (0 when every test passed).",
        ),
        panel(
            "stat",
            "Time since last snapshot",
            [
                target(
                    f"time() - max by ({KEY}) (driftsnap_last_snapshot_timestamp_seconds{{{SEL}}})",
                    k,
                    instant=True,
                )
            ],
            unit="s",
            w=6,
            h=6,
            steps=((None, "green"), (600, "orange"), (900, "red")),
        ),
        panel(
            "timeseries",
            "Share of drifted columns",
            [target(f"max by ({KEY}) (driftsnap_drifted_columns_share{{{SEL}}})", k)],
            unit="percentunit",
            minv=0,
            maxv=1,
            steps=SHARE_STEPS,
            options={
                "legend": {
                    "displayMode": "table",
                    "placement": "bottom",
                    "showLegend": True,
                    "calcs": ["lastNotNull", "max"],
                }
            },
        ),
        panel(
            "timeseries",
            "Drifted columns",
            [target(f"max by ({KEY}) (driftsnap_drifted_columns{{{SEL}}})", k)],
        ),
        panel(
            "timeseries",
            "Tests by status",
            [
                target(
                    f"sum by (model, variant, status) (driftsnap_tests{{{SEL}}})",
                    "{{model}}/{{variant}} {{status}}",
                )
            ],
        ),
        panel(
            "timeseries",
            "Rows per window",
            [target(f"max by ({KEY}) (driftsnap_window_rows{{{SEL}}})", k)],
        ),
        panel(
            "timeseries",
            "Event-time delay of the latest window",
            [
                target(
                    f"time() - max by ({KEY}) (driftsnap_window_end_timestamp_seconds{{{SEL}}})",
                    k,
                )
            ],
            unit="s",
            w=24,
            description="Wall clock minus the end (event time) of the latest closed window: window size + allowed lateness + pipeline delay in steady state.",
        ),
        row("Pipeline"),
        panel(
            "timeseries",
            "Events consumed / s",
            [target(rate("driftsnap_events_consumed_total", "topic"), "{{topic}}")],
            unit="ops",
            w=8,
        ),
        panel(
            "timeseries",
            "Events rejected / s (dead letter)",
            [
                target(
                    rate("driftsnap_events_rejected_total", "reason") + " or on() vector(0)",
                    "{{reason}}",
                )
            ],
            unit="ops",
            w=8,
            description="Rejected records by reason; 0 when nothing was ever rejected.",
        ),
        panel(
            "timeseries",
            "Late events / s",
            [
                target(
                    rate("driftsnap_events_late_total", "model", 'model=~"$model"')
                    + " or on() vector(0)",
                    "{{model}}",
                )
            ],
            unit="ops",
            w=8,
            description="Events later than the allowed lateness (sent to the late/dead-letter topic).",
        ),
        panel(
            "timeseries",
            "Consumer lag (messages)",
            [
                target(
                    "sum by (topic) (max by (topic, partition) (driftsnap_consumer_lag_messages))",
                    "{{topic}}",
                )
            ],
            w=8,
        ),
        panel(
            "timeseries",
            "Watermark delay",
            [target("time() - min(driftsnap_watermark_timestamp_seconds)", "watermark delay")],
            unit="s",
            w=8,
            description="Wall clock minus the service watermark (event time): how far behind real time windows close.",
        ),
        panel(
            "timeseries",
            "Windows",
            [
                target("sum(driftsnap_windows_open)", "open"),
                target(
                    "sum(rate(driftsnap_windows_closed_total[$__rate_interval])) * 60",
                    "closed / min",
                ),
            ],
            w=8,
        ),
        panel(
            "timeseries",
            "Rows held in open windows",
            [target("sum(driftsnap_rows_held)", "rows held")],
            w=8,
        ),
        panel(
            "timeseries",
            "Snapshots published / min",
            [
                target(
                    rate(
                        "driftsnap_snapshots_published_total",
                        "project, sink",
                        'project=~"$project"',
                    )
                    + " * 60",
                    "{{project}} → {{sink}}",
                )
            ],
            w=8,
        ),
        panel(
            "timeseries",
            "Publish failures / s",
            [
                target(
                    rate("driftsnap_publish_failures_total", "sink") + " or on() vector(0)",
                    "{{sink}}",
                )
            ],
            unit="ops",
            w=8,
            description="0 when no publish ever failed.",
        ),
        panel(
            "timeseries",
            "Evaluation time per window",
            [
                target(
                    "histogram_quantile(0.5, sum by (le) (rate(driftsnap_evaluation_seconds_bucket[$__rate_interval])))",
                    "p50",
                ),
                target(
                    "histogram_quantile(0.95, sum by (le) (rate(driftsnap_evaluation_seconds_bucket[$__rate_interval])))",
                    "p95",
                ),
                target(
                    "sum(rate(driftsnap_evaluation_seconds_sum[$__rate_interval])) / sum(rate(driftsnap_evaluation_seconds_count[$__rate_interval]))",
                    "mean",
                ),
            ],
            unit="s",
            w=24,
        ),
    ]
    return dashboard(
        "driftsnap-overview",
        "driftsnap — overview",
        "Drift, tests and pipeline health per project, model and variant.",
        key_variables(),
        panels,
        ["overview"],
    )


def model_detail() -> dict[str, Any]:
    variables = [
        *key_variables(),
        variable(
            "column", "Column", f"label_values(driftsnap_column_drift_score{{{SEL}}}, column)"
        ),
    ]
    panels = [
        row("Latest window"),
        panel(
            "stat",
            "Dataset drift",
            [
                target(
                    f"max by (variant) (driftsnap_dataset_drift{{{SEL}}})",
                    "{{variant}}",
                    instant=True,
                )
            ],
            w=6,
            h=6,
            mappings=DRIFT_MAP,
            steps=((None, "green"), (1, "red")),
        ),
        panel(
            "stat",
            "Drifted columns",
            [
                target(
                    f"max by (variant) (driftsnap_drifted_columns{{{SEL}}})",
                    "{{variant}}",
                    instant=True,
                )
            ],
            w=6,
            h=6,
        ),
        panel(
            "stat",
            "Share of drifted columns",
            [
                target(
                    f"max by (variant) (driftsnap_drifted_columns_share{{{SEL}}})",
                    "{{variant}}",
                    instant=True,
                )
            ],
            unit="percentunit",
            w=6,
            h=6,
            steps=SHARE_STEPS,
        ),
        panel(
            "stat",
            "Latest window end",
            [
                target(
                    f"max by (variant) (driftsnap_window_end_timestamp_seconds{{{SEL}}}) * 1000",
                    "{{variant}}",
                    instant=True,
                )
            ],
            unit="dateTimeAsIso",
            w=6,
            h=6,
        ),
        panel(
            "stat",
            "Rows in the latest window",
            [
                target(
                    f"max by (variant) (driftsnap_window_rows{{{SEL}}})",
                    "{{variant}}",
                    instant=True,
                )
            ],
            w=6,
            h=6,
        ),
        panel(
            "table",
            "Columns: drift score (method), verdict, missing share",
            [
                target(
                    f"max by (variant, column, method) (driftsnap_column_drift_score{{{COL}}})",
                    instant=True,
                    table=True,
                ),
                target(
                    f"max by (variant, column, method) (driftsnap_column_drift_detected{{{COL}}})",
                    instant=True,
                    table=True,
                ),
                target(
                    f"max by (variant, column) (driftsnap_column_missing_share{{{COL}}})",
                    instant=True,
                    table=True,
                ),
            ],
            w=24,
            h=10,
            mappings=DETECTED_MAP,
            description="The score's meaning depends on the method: a p-value (ks, chisquare, z) is small when drifted, a distance (wasserstein, jensenshannon, psi) is large. Read the verdict column.",
            transformations=[
                {"id": "merge", "options": {}},
                {
                    "id": "organize",
                    "options": {
                        "excludeByName": {"Time": True},
                        "renameByName": {
                            "Value #A": "drift score",
                            "Value #B": "drift detected",
                            "Value #C": "missing share",
                        },
                        "indexByName": {
                            "variant": 0,
                            "column": 1,
                            "method": 2,
                            "Value #A": 3,
                            "Value #B": 4,
                            "Value #C": 5,
                        },
                    },
                },
            ],
        ),
        row("Over time"),
        panel(
            "state-timeline",
            "Drift verdict per column",
            [
                target(
                    f"max by (column, method) (driftsnap_column_drift_detected{{{COL}}})",
                    "{{column}} ({{method}})",
                )
            ],
            w=24,
            h=10,
            mappings=DETECTED_MAP,
            steps=((None, "green"), (1, "red")),
        ),
        panel(
            "timeseries",
            "Drift score per column (method in the legend)",
            [
                target(
                    f"max by (variant, column, method) (driftsnap_column_drift_score{{{COL}}})",
                    "{{variant}} {{column}} ({{method}})",
                )
            ],
            description="p-values (ks, chisquare, z) and distances (wasserstein, jensenshannon, psi, ...) share this axis but mean opposite things; use the verdict panel for drift/no drift.",
        ),
        panel(
            "timeseries",
            "Missing share per column",
            [
                target(
                    f"max by (variant, column) (driftsnap_column_missing_share{{{COL}}})",
                    "{{variant}} {{column}}",
                )
            ],
            unit="percentunit",
            minv=0,
        ),
        panel(
            "timeseries",
            "Model quality",
            [
                target(
                    f"max by (variant, metric) (driftsnap_model_quality{{{SEL}}})",
                    "{{variant}} {{metric}}",
                )
            ],
            description="Needs ground truth (target in the events or on the labels topic).",
        ),
        panel(
            "timeseries",
            "Tests by status",
            [
                target(
                    f"sum by (variant, status) (driftsnap_tests{{{SEL}}})", "{{variant}} {{status}}"
                )
            ],
        ),
        panel(
            "timeseries",
            "Rows per window",
            [target(f"max by (variant) (driftsnap_window_rows{{{SEL}}})", "{{variant}}")],
        ),
        panel(
            "timeseries",
            "Late events / s",
            [
                target(
                    rate("driftsnap_events_late_total", "model", 'model=~"$model"')
                    + " or on() vector(0)",
                    "{{model}}",
                )
            ],
            unit="ops",
        ),
    ]
    return dashboard(
        "driftsnap-model",
        "driftsnap — model detail",
        "Per-column drift (score and method), missing values and model quality over time.",
        variables,
        panels,
        ["model"],
    )


def shadow_vs_champion() -> dict[str, Any]:
    src = "driftsnap_comparison"
    variables = [
        variable("project", "Project", f"label_values({src}, project)"),
        variable("model", "Model", f'label_values({src}{{project=~"$project"}}, model)'),
        variable(
            "baseline",
            "Baseline (champion)",
            f'label_values({src}{{project=~"$project",model=~"$model"}}, baseline)',
        ),
        variable(
            "candidate",
            "Candidate (shadow)",
            f'label_values({src}{{project=~"$project",model=~"$model",baseline=~"$baseline"}}, candidate)',
        ),
    ]
    pair = "{{baseline}} vs {{candidate}}"

    def cmp(metric: str) -> str:
        return f'max by (baseline, candidate) (driftsnap_comparison{{{CMP},metric="{metric}"}})'

    panels = [
        row("Latest comparison window"),
        panel(
            "stat",
            "Verdict",
            [target(cmp("verdict"), pair, instant=True)],
            w=6,
            h=6,
            mappings=VERDICT_MAP,
            steps=((None, "red"), (0, "blue"), (1, "green")),
            description="-1 candidate worse, 0 no significant difference, 1 candidate better.",
        ),
        panel(
            "stat",
            "Prediction drift",
            [target(cmp("prediction_drift_detected"), pair, instant=True)],
            w=6,
            h=6,
            mappings=DRIFT_MAP,
            steps=((None, "green"), (1, "red")),
        ),
        panel(
            "stat",
            "Agreement rate",
            [target(cmp("agreement_rate"), pair, instant=True)],
            unit="percentunit",
            w=6,
            h=6,
            steps=((None, "red"), (0.9, "orange"), (0.97, "green")),
        ),
        panel(
            "stat", "Matched pairs", [target(cmp("matched_pairs"), pair, instant=True)], w=6, h=6
        ),
        row("Over time"),
        panel(
            "timeseries",
            "Prediction drift score (baseline vs candidate predictions)",
            [target(cmp("prediction_drift_score"), pair)],
        ),
        panel(
            "timeseries",
            "Agreement rate and correlation",
            [
                target(cmp("agreement_rate"), pair + " agreement"),
                target(cmp("correlation"), pair + " correlation"),
            ],
            unit="percentunit",
        ),
        panel(
            "timeseries",
            "Mean absolute difference of predictions",
            [target(cmp("mean_abs_diff"), pair)],
        ),
        panel(
            "timeseries",
            "Quality delta (candidate − baseline)",
            [target(cmp("quality_delta"), pair)],
        ),
        panel(
            "timeseries",
            "Model quality: baseline and candidate",
            [
                target(
                    f"max by (variant, metric) (driftsnap_model_quality{{{PAIR}}})",
                    "{{variant}} {{metric}}",
                )
            ],
        ),
        panel(
            "timeseries",
            "Label coverage",
            [target(f"max by (variant) (driftsnap_label_coverage{{{PAIR}}})", "{{variant}}")],
            unit="percentunit",
            minv=0,
            maxv=1,
            description="Share of the window's events whose ground truth has arrived.",
        ),
        panel(
            "timeseries",
            "Share of drifted columns per variant",
            [
                target(
                    f"max by (variant) (driftsnap_drifted_columns_share{{{PAIR}}})", "{{variant}}"
                )
            ],
            unit="percentunit",
            minv=0,
            maxv=1,
            steps=SHARE_STEPS,
        ),
        panel(
            "timeseries",
            "Rows per window per variant",
            [target(f"max by (variant) (driftsnap_window_rows{{{PAIR}}})", "{{variant}}")],
        ),
    ]
    return dashboard(
        "driftsnap-shadow",
        "driftsnap — shadow vs champion",
        "A candidate (shadow) model against its baseline (champion) on the same events.",
        variables,
        panels,
        ["shadow"],
    )


DASHBOARDS = {
    "driftsnap-overview.json": overview,
    "driftsnap-model-detail.json": model_detail,
    "driftsnap-shadow-vs-champion.json": shadow_vs_champion,
}


def render() -> dict[str, str]:
    return {
        name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
        for name, build in DASHBOARDS.items()
    }


def main(argv: list[str]) -> int:
    stale = []
    for name, text in render().items():
        path = OUT / name
        if "--check" in argv:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"stale dashboards (run {Path(__file__).name}): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
