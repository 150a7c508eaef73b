"""Prometheus metrics: the latest snapshot per (project, model, variant) as gauges, and the
service's own counters. The metric names and labels below are a contract with the Grafana
dashboards and alert rules; change them only together.

Snapshot gauges (``SnapshotMetrics``, a custom collector: one snapshot replaces the previous
one for its key atomically, so a column that disappears takes its series with it)::

    driftsnap_dataset_drift{project,model,variant}                       1/0
    driftsnap_drifted_columns_share{project,model,variant}
    driftsnap_drifted_columns{project,model,variant}
    driftsnap_column_drift_score{project,model,variant,column,method}
    driftsnap_column_drift_detected{project,model,variant,column,method}  1/0
    driftsnap_column_missing_share{project,model,variant,column}
    driftsnap_columns_not_exported{project,model,variant}                columns over the cap
    driftsnap_model_quality{project,model,variant,metric}
    driftsnap_tests{project,model,variant,status}                        SUCCESS/FAIL/WARNING/ERROR
    driftsnap_window_end_timestamp_seconds{project,model,variant}
    driftsnap_window_rows{project,model,variant}
    driftsnap_last_snapshot_timestamp_seconds{project,model,variant}     wall time of publish
    driftsnap_label_coverage{project,model,variant}                      labelled share (quality)
    driftsnap_comparison{project,model,baseline,candidate,metric}        shadow vs champion

Quality snapshots (tag ``quality``, docs/labels.md) set ``driftsnap_label_coverage`` and the
``driftsnap_model_quality`` of their key (taking precedence over inline targets) without
touching the drift gauges. Comparison snapshots (metric type ``comparison``) set
``driftsnap_comparison`` with ``metric`` one of :data:`COMPARISON_METRICS`.

Service metrics: see ``ServiceMetrics``. Label values are bounded: project/model/variant come
from configuration, columns are capped per key (``max_columns``), event ids never become labels.
"""

from __future__ import annotations

import math
import platform
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from evaluation.snapshot import Snapshot

TEST_STATUSES = ("SUCCESS", "FAIL", "WARNING", "ERROR")
DEFAULT_MAX_COLUMNS = 100
KEY_LABELS = ("project", "model", "variant")

# name -> (help, extra labels); the order is the exposition order
SNAPSHOT_GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "driftsnap_dataset_drift": ("1 if the latest window shows dataset drift, else 0", ()),
    "driftsnap_drifted_columns_share": ("Share of drifted columns in the latest window", ()),
    "driftsnap_drifted_columns": ("Number of drifted columns in the latest window", ()),
    "driftsnap_column_drift_score": (
        "Drift score of a column (p-value or distance: read it with its method)",
        ("column", "method"),
    ),
    "driftsnap_column_drift_detected": (
        "1 if the column drifted in the latest window, else 0",
        ("column", "method"),
    ),
    "driftsnap_column_missing_share": ("Share of missing values of a column", ("column",)),
    "driftsnap_columns_not_exported": (
        "Columns left out of the per-column gauges by the column cap",
        (),
    ),
    "driftsnap_model_quality": ("Model quality metric of the latest window", ("metric",)),
    "driftsnap_tests": ("Number of snapshot tests per status in the latest window", ("status",)),
    "driftsnap_window_end_timestamp_seconds": (
        "End of the window the snapshot gauges describe (Unix seconds)",
        (),
    ),
    "driftsnap_window_rows": ("Rows in the latest window", ()),
    "driftsnap_last_snapshot_timestamp_seconds": (
        "Wall-clock time the latest snapshot was published (Unix seconds)",
        (),
    ),
}


COMPARISON_METRICS = (
    "prediction_drift_score",
    "prediction_drift_detected",
    "agreement_rate",
    "mean_abs_diff",
    "correlation",
    "matched_pairs",
    "quality_delta",
    "verdict",
)
LABEL_COVERAGE = "driftsnap_label_coverage"
COMPARISON = "driftsnap_comparison"
COMPARISON_LABELS = ("project", "model", "baseline", "candidate", "metric")


def _number(value: Any) -> float | None:
    """A finite float, or None for bools, None, NaN and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _flag(value: Any) -> float | None:
    return float(value) if isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class SeriesKey:
    project: str
    model: str
    variant: str


@dataclass(slots=True)
class _KeySeries:
    """Every sample of one key: metric name -> [(extra label values, value)]."""

    samples: dict[str, list[tuple[tuple[str, ...], float]]] = field(default_factory=dict)

    def add(self, name: str, value: float | None, *labels: str) -> None:
        if value is not None:
            self.samples.setdefault(name, []).append((labels, value))


def series_key(snapshot: Snapshot, project: str | None = None) -> SeriesKey:
    """(project, model, variant) of a snapshot: window key first, then metadata."""
    key: Mapping[str, Any] = snapshot.window.key if snapshot.window else {}
    meta = snapshot.metadata
    return SeriesKey(
        project=project or snapshot.project_id or "default",
        model=str(key.get("model_id") or meta.get("model_id") or "unknown"),
        variant=str(key.get("variant") or meta.get("variant") or "default"),
    )


class SnapshotMetrics(Collector):
    """Gauges of the latest snapshot per (project, model, variant).

    ``max_columns`` caps the columns exported per key: drifted columns first, then by name; the
    rest are counted in ``driftsnap_columns_not_exported``.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None,
        *,
        max_columns: int = DEFAULT_MAX_COLUMNS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_columns < 0:
            msg = f"max_columns must be >= 0, got {max_columns}"
            raise ValueError(msg)
        self.max_columns = max_columns
        self._clock = clock
        self._lock = threading.Lock()
        self._window_end: dict[SeriesKey, float] = {}
        self._series: dict[SeriesKey, _KeySeries] = {}
        self._quality: dict[SeriesKey, _KeySeries] = {}
        self._comparison: dict[tuple[str, str, str, str], dict[str, float]] = {}
        if registry is not None:
            registry.register(self)

    def describe(self) -> Iterable[Metric]:
        for name, (doc, extra) in SNAPSHOT_GAUGES.items():
            yield GaugeMetricFamily(name, doc, labels=[*KEY_LABELS, *extra])
        yield GaugeMetricFamily(LABEL_COVERAGE, _COVERAGE_DOC, labels=list(KEY_LABELS))
        yield GaugeMetricFamily(COMPARISON, _COMPARISON_DOC, labels=list(COMPARISON_LABELS))

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            current = list(self._series.items())
            quality = list(self._quality.items())
            comparison = [(k, dict(v)) for k, v in self._comparison.items()]
        with_quality = {k for k, s in quality if s.samples.get("driftsnap_model_quality")}
        for name, (doc, extra) in SNAPSHOT_GAUGES.items():
            family = GaugeMetricFamily(name, doc, labels=[*KEY_LABELS, *extra])
            for key, series in current:
                if name == "driftsnap_model_quality" and key in with_quality:
                    continue  # the quality snapshot (joined labels) is the better source
                for labels, value in series.samples.get(name, ()):
                    family.add_metric([key.project, key.model, key.variant, *labels], value)
            if name == "driftsnap_model_quality":
                for key, series in quality:
                    for labels, value in series.samples.get(name, ()):
                        family.add_metric([key.project, key.model, key.variant, *labels], value)
            yield family
        family = GaugeMetricFamily(LABEL_COVERAGE, _COVERAGE_DOC, labels=list(KEY_LABELS))
        for key, series in quality:
            for _, value in series.samples.get(LABEL_COVERAGE, ()):
                family.add_metric([key.project, key.model, key.variant], value)
        yield family
        family = GaugeMetricFamily(COMPARISON, _COMPARISON_DOC, labels=list(COMPARISON_LABELS))
        for ckey, values in comparison:
            for metric, value in values.items():
                family.add_metric([*ckey, metric], value)
        yield family

    def keys(self) -> list[SeriesKey]:
        with self._lock:
            return list(self._series)

    def forget(self, key: SeriesKey) -> None:
        """Drop every series of ``key`` (e.g. a model that was retired)."""
        with self._lock:
            self._series.pop(key, None)
            self._window_end.pop(key, None)

    def update(self, snapshot: Snapshot, *, project: str | None = None) -> SeriesKey:
        """Replace the gauges of the snapshot's key with this snapshot's values.

        A comparison snapshot replaces the ``driftsnap_comparison`` series of its pair, a
        quality snapshot the coverage and model quality of its key; neither touches the
        drift gauges of the window snapshot."""
        comparison = snapshot.metric("comparison")
        if comparison is not None:
            return self._update_comparison(snapshot, comparison.result, project)
        if snapshot.metric("label_coverage") is not None:
            return self._update_quality(snapshot, project)
        key = series_key(snapshot, project)
        series = _KeySeries()
        drift = snapshot.metric("data_drift")
        quality = snapshot.metric("data_quality")
        drift_result = drift.result if drift else {}
        drift_cols: Mapping[str, Any] = drift_result.get("columns") or {}
        quality_cols: Mapping[str, Any] = (quality.result.get("columns") if quality else None) or {}

        if drift is not None:
            series.add("driftsnap_dataset_drift", _flag(drift_result.get("dataset_drift")))
            share = _number(drift_result.get("share_of_drifted_columns"))
            series.add("driftsnap_drifted_columns_share", share)
            count = _number(drift_result.get("number_of_drifted_columns"))
            series.add("driftsnap_drifted_columns", count)

        exported, skipped = self._pick_columns(drift_cols, quality_cols)
        for column in exported:
            info = drift_cols.get(column)
            if isinstance(info, Mapping):
                method = str(info.get("stattest") or "unknown")
                score = _number(info.get("drift_score"))
                series.add("driftsnap_column_drift_score", score, column, method)
                detected = _flag(info.get("drift_detected"))
                series.add("driftsnap_column_drift_detected", detected, column, method)
            q = quality_cols.get(column)
            if isinstance(q, Mapping):
                missing = _number(q.get("missing_share"))
                series.add("driftsnap_column_missing_share", missing, column)
        if drift_cols or quality_cols:
            series.add("driftsnap_columns_not_exported", float(skipped))

        seen_quality: set[str] = set()
        for metric in snapshot.metrics:
            if metric.type != "model_quality":
                continue
            for name, value in metric.result.items():
                number = _number(value)
                if number is not None and name not in seen_quality:
                    seen_quality.add(name)
                    series.add("driftsnap_model_quality", number, str(name))

        counts = dict.fromkeys(TEST_STATUSES, 0)
        for test in snapshot.tests:
            counts[test.status] = counts.get(test.status, 0) + 1
        for status, n in counts.items():
            series.add("driftsnap_tests", float(n), status)

        if snapshot.window is not None:
            series.add("driftsnap_window_end_timestamp_seconds", snapshot.window.end.timestamp())
        rows = _number(snapshot.metadata.get("batch_size"))
        if rows is None and quality is not None:
            rows = _number(quality.result.get("number_of_rows"))
        series.add("driftsnap_window_rows", rows)
        series.add("driftsnap_last_snapshot_timestamp_seconds", self._clock())

        with self._lock:
            # windows may finish out of order (parallel evaluation, a retried sink): the
            # gauges always describe the latest window of the key, never an older one
            end = snapshot.window.end.timestamp() if snapshot.window is not None else None
            shown = self._window_end.get(key)
            if end is not None and shown is not None and end < shown:
                return key
            if end is not None:
                self._window_end[key] = end
            self._series[key] = series
        return key

    def _update_quality(self, snapshot: Snapshot, project: str | None) -> SeriesKey:
        key = series_key(snapshot, project)
        series = _KeySeries()
        coverage = snapshot.metric("label_coverage")
        if coverage is not None:
            series.add(LABEL_COVERAGE, _number(coverage.result.get("coverage")))
        quality = snapshot.metric("model_quality")
        if quality is not None:
            for name, value in quality.result.items():
                series.add("driftsnap_model_quality", _number(value), str(name))
        with self._lock:
            self._quality[key] = series
        return key

    def _update_comparison(
        self, snapshot: Snapshot, result: Mapping[str, Any], project: str | None
    ) -> SeriesKey:
        meta = snapshot.metadata
        key = series_key(snapshot, project)
        baseline = str(meta.get("baseline") or result.get("baseline") or "champion")
        candidate = str(meta.get("candidate") or result.get("candidate") or "shadow")
        drift = result.get("prediction_drift") or {}
        values = {
            "prediction_drift_score": _number(drift.get("drift_score")),
            "prediction_drift_detected": _flag(drift.get("drift_detected")),
            "agreement_rate": _number(result.get("agreement_rate")),
            "mean_abs_diff": _number(result.get("mean_abs_diff")),
            "correlation": _number(result.get("correlation")),
            "matched_pairs": _number(result.get("matched_pairs")),
            "quality_delta": _number(result.get("quality_delta")),
            "verdict": _number(result.get("verdict_value")),
        }
        with self._lock:
            self._comparison[(key.project, key.model, baseline, candidate)] = {
                k: v for k, v in values.items() if v is not None
            }
        return SeriesKey(key.project, key.model, f"{baseline}-vs-{candidate}")

    def _pick_columns(
        self, drift_cols: Mapping[str, Any], quality_cols: Mapping[str, Any]
    ) -> tuple[list[str], int]:
        names = set(drift_cols) | set(quality_cols)

        def drifted(name: str) -> bool:
            info = drift_cols.get(name)
            return isinstance(info, Mapping) and info.get("drift_detected") is True

        ordered = sorted(names, key=lambda n: (not drifted(n), n))
        return ordered[: self.max_columns], max(0, len(ordered) - self.max_columns)


_COVERAGE_DOC = "Labelled share of the latest window whose quality snapshot was published"
_COMPARISON_DOC = (
    "Shadow vs champion comparison of the latest window (verdict: -1 candidate worse, "
    "0 no significant difference, 1 candidate better)"
)

EVALUATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ServiceMetrics:
    """The service's own metrics; the run loop updates the attributes directly, e.g.
    ``metrics.events_consumed.labels(topic=t).inc(n)``::

        driftsnap_events_consumed_total{topic}
        driftsnap_events_rejected_total{reason}
        driftsnap_events_late_total{model}
        driftsnap_windows_open
        driftsnap_windows_closed_total
        driftsnap_snapshots_published_total{project,sink}
        driftsnap_evaluation_seconds                      (histogram)
        driftsnap_publish_failures_total{sink}
        driftsnap_consumer_lag_messages{topic,partition}
        driftsnap_watermark_timestamp_seconds
        driftsnap_rows_held
        driftsnap_labels_consumed_total / _joined_total / _late_total / _duplicate_total
        driftsnap_labels_unknown_total, driftsnap_label_cap_hits_total
        driftsnap_label_rows_held, driftsnap_labels_buffered, driftsnap_label_windows_awaiting
        driftsnap_up                                      1 while running
        driftsnap_build_info{version,python}              1
    """

    def __init__(self, registry: CollectorRegistry | None, *, version: str = "0+unknown") -> None:
        r = registry
        self.events_consumed = Counter(
            "driftsnap_events_consumed_total", "Events read from Kafka", ["topic"], registry=r
        )
        self.events_rejected = Counter(
            "driftsnap_events_rejected_total",
            "Events sent to the dead-letter topic, by reason",
            ["reason"],
            registry=r,
        )
        self.events_late = Counter(
            "driftsnap_events_late_total",
            "Events later than the allowed lateness",
            ["model"],
            registry=r,
        )
        self.windows_open = Gauge("driftsnap_windows_open", "Windows currently open", registry=r)
        self.windows_closed = Counter(
            "driftsnap_windows_closed_total", "Windows closed", registry=r
        )
        self.snapshots_published = Counter(
            "driftsnap_snapshots_published_total",
            "Snapshots published, by sink",
            ["project", "sink"],
            registry=r,
        )
        self.evaluation_seconds = Histogram(
            "driftsnap_evaluation_seconds",
            "Time to compute one snapshot",
            buckets=EVALUATION_BUCKETS,
            registry=r,
        )
        self.publish_failures = Counter(
            "driftsnap_publish_failures_total", "Failed publications, by sink", ["sink"], registry=r
        )
        self.consumer_lag = Gauge(
            "driftsnap_consumer_lag_messages",
            "Messages between the committed offset and the end of the partition",
            ["topic", "partition"],
            registry=r,
        )
        self.watermark = Gauge(
            "driftsnap_watermark_timestamp_seconds",
            "Service watermark: windows ending before it are closed (Unix seconds)",
            registry=r,
        )
        self.rows_held = Gauge("driftsnap_rows_held", "Rows buffered in open windows", registry=r)
        self.labels_consumed = Counter(
            "driftsnap_labels_consumed_total",
            "Label records decoded from the labels topic",
            registry=r,
        )
        self.labels_joined = Counter(
            "driftsnap_labels_joined_total", "Labels that joined at least one window", registry=r
        )
        self.labels_late = Counter(
            "driftsnap_labels_late_total",
            "Labels that arrived after their window's quality snapshot was published",
            registry=r,
        )
        self.labels_duplicate = Counter(
            "driftsnap_labels_duplicate_total",
            "Labels for an event id that already had one (the last one wins)",
            registry=r,
        )
        self.labels_unknown = Counter(
            "driftsnap_labels_unknown_total",
            "Labels that matched no event in time (dead-lettered as unknown_event)",
            registry=r,
        )
        self.label_rows_held = Gauge(
            "driftsnap_label_rows_held",
            "Rows of closed windows held for the label join",
            registry=r,
        )
        self.labels_buffered = Gauge(
            "driftsnap_labels_buffered", "Labels held in memory for the join", registry=r
        )
        self.label_windows_awaiting = Gauge(
            "driftsnap_label_windows_awaiting",
            "Closed windows whose quality snapshot waits for labels",
            registry=r,
        )
        self.label_cap_hits = Counter(
            "driftsnap_label_cap_hits_total",
            "Windows evicted early from the label join because labels.max_rows_held was hit",
            registry=r,
        )
        self.up = Gauge("driftsnap_up", "1 while the service runs", registry=r)
        self.build_info = Gauge(
            "driftsnap_build_info", "Build information", ["version", "python"], registry=r
        )
        self.up.set(1)
        self.build_info.labels(version=version, python=platform.python_version()).set(1)

    def set_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        """Replace the lag gauges: partitions not in ``lags`` (revoked) are removed."""
        wanted = {(topic, str(partition)): lag for (topic, partition), lag in lags.items()}
        for labels in _label_sets(self.consumer_lag):
            if labels not in wanted:
                self.consumer_lag.remove(*labels)
        for (topic, partition), lag in wanted.items():
            self.consumer_lag.labels(topic=topic, partition=partition).set(lag)


def _label_sets(metric: Gauge) -> Iterator[tuple[str, str]]:
    for family in metric.collect():
        for sample in family.samples:
            yield (sample.labels["topic"], sample.labels["partition"])
