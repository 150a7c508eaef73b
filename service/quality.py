"""Quality and comparison snapshots: the label join made durable and published.

``LabelTracker`` wires the pure :class:`service.labels.LabelJoin` to the durable
:class:`service.label_store.PendingStore` (optional: replay keeps everything in memory), the
snapshot sinks and the service metrics. The Pipeline calls :meth:`LabelTracker.window_closed`
for each closed window *before* marking it published; the run loop (or replay) feeds labels and
calls :meth:`LabelTracker.step` with its clock. See docs/labels.md and docs/comparison.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl

from consumer import LabelRecord
from evaluation import DriftInputError, ModelQualityError, compute_model_quality, drift_result_for
from evaluation.comparison import (
    compare_predictions,
    correctness,
    mcnemar,
    paired_verdict,
    verdict_value,
    wilcoxon_signed_rank,
)
from evaluation.model_quality import model_labels, resolve_task
from evaluation.presets import run_presets
from evaluation.snapshot import MetricResult, Snapshot, TestResult, WindowInfo, utc_from_ms
from publisher import ServiceMetrics, SnapshotSink
from service.config import ConfigError, Settings
from service.label_store import PendingStore
from service.labels import AwaitingWindow, Label, LabelJoin
from service.models import ModelRuntime
from service.sinks import publish_to_sinks
from windowing import ClosedWindow, Window, parse_duration_ms, snapshot_id

log = logging.getLogger(__name__)


def quality_snapshot_id(project: str, w: AwaitingWindow, model: ModelRuntime) -> str:
    """Deterministic id of a window's quality snapshot (the window's id recipe, spec
    suffixed ``:quality``), so a restart or a revision rewrites the same document."""
    return snapshot_id(
        project,
        w.key,
        Window(w.start_ms, w.end_ms),
        model.reference_id,
        model.spec_hash + ":quality",
    )


def _target_values(values: Sequence[Any], kind: str | None) -> pl.Series:
    if kind == "cat":
        out: list[str | None] = []
        for v in values:
            if v is None:
                out.append(None)
            elif isinstance(v, bool):
                out.append("true" if v else "false")
            elif isinstance(v, float) and v.is_integer():
                out.append(str(int(v)))
            else:
                out.append(str(v))
        return pl.Series("target", out, dtype=pl.Utf8)
    nums: list[float | None] = []
    for v in values:
        if isinstance(v, int | float):
            nums.append(float(v))
        elif isinstance(v, str):
            try:
                nums.append(float(v))
            except ValueError:
                nums.append(None)
        else:
            nums.append(None)
    return pl.Series("target", nums, dtype=pl.Float64)


def _predictions(values: Sequence[Any], kind: str | None) -> pl.Series:
    if kind == "cat":
        return pl.Series("prediction", values, dtype=pl.Utf8, strict=False)
    return pl.Series("prediction", values, strict=False).cast(pl.Float64, strict=False)


class LabelTracker:
    """Owns the label join for one process (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        models: dict[str, ModelRuntime],
        sinks: Sequence[SnapshotSink],
        *,
        labels_enabled: bool,
        store: PendingStore | None = None,
        metrics: ServiceMetrics | None = None,
        on_published: Callable[[Snapshot], None] | None = None,
    ) -> None:
        ls = settings.labels
        self.settings = settings
        self.models = models
        self.sinks = sinks
        self.labels_enabled = labels_enabled
        self.store = store
        self.metrics = metrics
        self.on_published = on_published
        self.comparison = settings.comparison
        self.join = LabelJoin(
            unknown_after_ms=parse_duration_ms(ls.unknown_after),
            late_horizon_ms=parse_duration_ms(ls.late_horizon),
            max_rows_held=ls.max_rows_held,
            revise=ls.revise,
        )
        self._wait_ms = {m: parse_duration_ms(r.settings.label_wait) for m, r in models.items()}
        self._cmp_done: dict[str, tuple[Any, ...]] = {}
        self._cmp_todo: set[str] = set()
        self._unsaved: list[Label] = []
        self._synced = {"late": 0, "duplicate": 0, "unknown": 0, "cap": 0, "joined": 0}
        self.published = 0
        cmp = self.comparison
        if cmp is not None and cmp.request_id != "event_id":
            for mid, m in models.items():
                if cmp.request_id not in m.features:
                    msg = (
                        f"comparison.request_id {cmp.request_id!r} is not a feature of model "
                        f"{mid!r}; use 'event_id' or one of {sorted(m.features)[:10]}"
                    )
                    raise ConfigError(msg)

    # ------------------------------------------------------------------ what is tracked
    @property
    def enabled(self) -> bool:
        return self.labels_enabled or self.comparison is not None

    def quality_enabled(self, model_id: str) -> bool:
        return self.labels_enabled and self.models[model_id].target_kind is not None

    def wants(self, model_id: str, variant: str) -> bool:
        if self.quality_enabled(model_id):
            return True
        cmp = self.comparison
        return cmp is not None and (variant == cmp.champion or variant in cmp.candidates)

    # ------------------------------------------------------------------ restart
    def restore(self) -> int:
        """Reload pending windows and labels from the store (at start, before consuming)."""
        if self.store is None:
            return 0
        loaded = self.store.load_windows()
        for w, meta in loaded:
            self.join.add_window(w)
            self.join.restore_published(w, meta)
            self._cmp_todo.add(w.qid)
        self.join.add_labels(self.store.load_labels(), restoring=True)
        self.join.check_restored()
        log.info("restored pending_windows=%d labels=%d", len(loaded), self.join.labels_buffered)
        return len(loaded)

    # ------------------------------------------------------------------ input
    def window_closed(self, closed: ClosedWindow, rows: pl.DataFrame, now_ms: int) -> None:
        """Keep the join rows of a closed window (durably, when there is a store). Raises
        when the store cannot write: the window then stays unpublished and is retried."""
        key = dict(closed.key_dict)
        model_id = str(key["model_id"])
        variant = str(key.get("variant") or "")
        if not self.wants(model_id, variant):
            return
        model = self.models[model_id]
        frame = rows.filter(pl.col("event_id").is_not_null())
        rid = "event_id"
        cmp = self.comparison
        if cmp is not None and cmp.request_id in frame.columns:
            rid = cmp.request_id
        w = AwaitingWindow(
            qid="",
            model_id=model_id,
            variant=variant,
            key=key,
            start_ms=closed.window.start_ms,
            end_ms=closed.window.end_ms,
            event_ids=frame["event_id"].to_list(),
            request_ids=frame[rid].cast(pl.Utf8).to_list(),
            predictions=frame["prediction"].to_list(),
            closed_ms=now_ms,
            deadline_ms=now_ms + self._wait_ms[model_id],
        )
        w.qid = quality_snapshot_id(self.settings.project.id, w, model)
        if w.qid in self.join.windows:
            return  # re-closed after a restart: the stored one (and its clock) wins
        if self.store is not None:
            self.store.save_window(w)
        self.join.add_window(w)
        self._cmp_todo.add(w.qid)

    def add_labels(self, records: Sequence[LabelRecord], now_ms: int) -> None:
        labels = [
            Label(r.event_id, r.target, r.partition, r.offset, now_ms, r.timestamp_ms)
            for r in records
        ]
        self.join.add_labels(labels)
        if self.store is not None:
            self._unsaved.extend(labels)
        if self.metrics is not None:
            self.metrics.labels_consumed.inc(len(labels))

    def persist_labels(self, now_ms: int) -> None:
        """Make every label received so far durable (before the labels topic is committed)."""
        if self.store is not None and self._unsaved:
            self.store.save_labels(self._unsaved, now_ms)
            self._unsaved = []

    def gc(self) -> None:
        """Delete label files no longer needed (call after dead letters were confirmed)."""
        if self.store is not None:
            self.store.gc_labels(self.join.live_coords())

    # ------------------------------------------------------------------ output
    def step(self, now_ms: int, *, final: bool = False) -> list[Label]:
        """Publish due quality snapshots and comparisons; expire labels and windows. Returns
        the unknown labels (to dead-letter). ``final`` (end of a replay) publishes
        everything and treats every label still unmatched as unknown."""
        # labels joined since the last commit must be durable before a quality snapshot is
        # published or a window finalized from them: a restart then rebuilds the same state
        self.persist_labels(now_ms)
        for w in self.join.due(now_ms, force=final):
            if self._publish_quality(w, now_ms):
                self._cmp_todo.add(w.qid)
        for qid in sorted(self._cmp_todo):
            todo = self.join.windows.get(qid)
            if todo is not None:
                self._compare(todo)
        self._cmp_todo.clear()
        expired = self.join.expire(now_ms, everything=final)
        for w in expired.finalized:
            if self.store is not None:
                self.store.delete_window(w.qid)
        self._sync_metrics()
        return expired.unknown

    def _sync_metrics(self) -> None:
        m = self.metrics
        if m is None:
            return
        j = self.join
        now = {
            "late": j.late_total,
            "duplicate": j.duplicate_total,
            "unknown": j.unknown_total,
            "cap": j.cap_hits_total,
            "joined": j.joined_total,
        }
        counters = {
            "late": m.labels_late,
            "duplicate": m.labels_duplicate,
            "unknown": m.labels_unknown,
            "cap": m.label_cap_hits,
            "joined": m.labels_joined,
        }
        for name, value in now.items():
            delta = value - self._synced[name]
            if delta > 0:
                counters[name].inc(delta)
        self._synced = now
        m.label_rows_held.set(j.rows_held)
        m.labels_buffered.set(j.labels_buffered)
        m.label_windows_awaiting.set(sum(1 for w in j.windows.values() if w.published_ms is None))

    def _send(self, snapshot: Snapshot) -> bool:
        ok = publish_to_sinks(
            list(self.sinks), snapshot, None, metrics=self.metrics, project=self.settings.project.id
        )
        if not ok:
            return False
        self.published += 1
        if self.on_published is not None:
            self.on_published(snapshot)
        return True

    def _publish_quality(self, w: AwaitingWindow, now_ms: int) -> bool:
        if self.quality_enabled(w.model_id):
            snapshot = self.quality_snapshot(w, self.join.next_revision(w))
            if not self._send(snapshot):
                return False
        self.join.mark_published(w.qid, now_ms)
        if self.store is not None:
            self.store.save_meta(w)
        return True

    # ------------------------------------------------------------------ snapshots
    def _frame(self, w: AwaitingWindow) -> pl.DataFrame:
        model = self.models[w.model_id]
        targets = [w.targets.get(e, (None, None))[0] for e in w.event_ids]
        return pl.DataFrame(
            [
                _predictions(w.predictions, model.prediction_kind),
                _target_values(targets, model.target_kind),
            ]
        )

    def _model_quality(self, model: ModelRuntime, frame: pl.DataFrame) -> dict[str, Any] | None:
        ev = model.evaluator
        try:
            return compute_model_quality(
                frame,
                model.profile.schema,
                ev.spec.model_quality,
                labels=model_labels(ev.reference_model_quality),
            )
        except ModelQualityError as exc:
            return {"status": "error", "error": str(exc)}

    def _window_info(self, w: AwaitingWindow, key: dict[str, Any]) -> WindowInfo:
        return WindowInfo(
            start=utc_from_ms(w.start_ms),
            end=utc_from_ms(w.end_ms),
            key={k: str(v) for k, v in key.items() if v is not None},
        )

    def quality_snapshot(self, w: AwaitingWindow, revision: int) -> Snapshot:
        model = self.models[w.model_id]
        ev = model.evaluator
        frame = self._frame(w)
        labelled = frame.filter(pl.col("target").is_not_null())
        coverage = {
            "rows": w.rows,
            "labelled_rows": labelled.height,
            "coverage": labelled.height / w.rows if w.rows else None,
            "late_labels": w.late_labels,
            "duplicate_labels": w.duplicate_labels,
            "label_wait_ms": self._wait_ms[w.model_id],
            "evicted_by_cap": w.evict,
        }
        metrics = [MetricResult(id="label_coverage", type="label_coverage", result=coverage)]
        tests: list[TestResult] = []
        mq = self._model_quality(model, labelled) if labelled.height else None
        if mq is not None:
            params = {k: v for k, v in ev.spec.model_quality.as_params().items() if v is not None}
            metrics.append(
                MetricResult(id="model_quality", type="model_quality", params=params, result=mq)
            )
            ref = ev.reference_model_quality
            if ref is not None and "status" not in mq:
                preset = "classification" if ref["task"] == "classification" else "regression"
                if preset in ev.presets:
                    tests = run_presets(
                        (preset,),
                        {"model_quality": mq},
                        model.profile.schema,
                        ev.baseline,
                        ev.spec.preset_params,
                    )
        project = self.settings.project.id
        tags = [w.model_id, w.variant, "quality", *model.settings.tags]
        return Snapshot(
            id=w.qid,
            project_id=project,
            name=f"{w.model_id}/{w.variant}/quality",
            timestamp=utc_from_ms(w.end_ms),
            window=self._window_info(w, w.key),
            tags=list(dict.fromkeys(t for t in tags if t)),
            metadata={
                **model.settings.metadata,
                "model_id": w.model_id,
                "reference_id": model.reference_id,
                "batch_size": w.rows,
                "dataset_id": f"{project}/{w.model_id}/{w.variant}/{w.start_ms}/quality",
                "variant": w.variant,
                "revision": revision,
                "label_coverage": coverage["coverage"],
                "labelled_rows": labelled.height,
            },
            metrics=metrics,
            tests=tests,
        )

    def _compare(self, w: AwaitingWindow) -> None:
        cmp = self.comparison
        if cmp is None:
            return
        pairs: list[tuple[AwaitingWindow | None, AwaitingWindow | None]]
        if w.variant == cmp.champion:
            pairs = [(w, self.join.partner(w, c)) for c in cmp.candidates]
        elif w.variant in cmp.candidates:
            pairs = [(self.join.partner(w, cmp.champion), w)]
        else:
            return
        for base, cand in pairs:
            if base is None or cand is None:
                continue
            labelled = (
                self.quality_enabled(base.model_id)
                and base.published_ms is not None
                and cand.published_ms is not None
            )
            sig: tuple[Any, ...] = ("labels", base.revision, cand.revision) if labelled else ("p",)
            snapshot = self.comparison_snapshot(base, cand, with_labels=labelled)
            if self._cmp_done.get(snapshot.id) == sig:
                continue
            if self._send(snapshot):
                self._cmp_done[snapshot.id] = sig

    def comparison_snapshot(
        self, base: AwaitingWindow, cand: AwaitingWindow, *, with_labels: bool
    ) -> Snapshot:
        cmp = self.comparison
        assert cmp is not None
        model = self.models[base.model_id]
        task = resolve_task(model.profile.schema, model.evaluator.spec.model_quality)
        threshold = model.settings.probability_threshold
        kind = model.prediction_kind or "num"
        pb = _predictions(base.predictions, model.prediction_kind)
        pc = _predictions(cand.predictions, model.prediction_kind)
        try:
            d = drift_result_for(
                "prediction",
                pb.drop_nulls(),
                pc.drop_nulls(),
                kind,
                method=cmp.stattest,
                threshold=cmp.threshold,
            )
            drift: dict[str, Any] = {
                "stattest": d.metric,
                "stattest_threshold": d.threshold,
                "drift_score": d.score,
                "drift_detected": d.drifted,
                "status": d.status,
            }
        except (DriftInputError, ValueError) as exc:
            drift = {"status": "error", "error": str(exc), "drift_detected": False}
        left = pl.DataFrame(
            {"rid": pl.Series(base.request_ids, dtype=pl.Utf8), "eid_b": base.event_ids, "pb": pb}
        ).unique("rid", keep="first", maintain_order=True)
        right = pl.DataFrame(
            {"rid": pl.Series(cand.request_ids, dtype=pl.Utf8), "eid_c": cand.event_ids, "pc": pc}
        ).unique("rid", keep="first", maintain_order=True)
        pairs = left.join(right, on="rid", how="inner", maintain_order="left").drop_nulls(
            ["pb", "pc"]
        )
        result: dict[str, Any] = {
            "baseline": base.variant,
            "candidate": cand.variant,
            "task": task,
            "baseline_rows": base.rows,
            "candidate_rows": cand.rows,
            "prediction_drift": drift,
            **compare_predictions(
                pairs["pb"].to_numpy(),
                pairs["pc"].to_numpy(),
                task=task,
                probability_threshold=threshold,
            ),
            "labelled_pairs": None,
        }
        if with_labels:
            result.update(self._paired(base, cand, pairs, task, threshold, cmp.alpha))
        project = self.settings.project.id
        key = {k: v for k, v in base.key.items() if k != "variant"}
        key |= {"baseline": base.variant, "candidate": cand.variant}
        window = Window(base.start_ms, base.end_ms)
        spec = f"{model.spec_hash}:comparison:{cmp.stattest}:{cmp.threshold}:{cmp.alpha}"
        sid = snapshot_id(project, key, window, model.reference_id, spec)
        revision = 1 + base.revision + cand.revision if with_labels else 0
        tags = ["comparison", base.model_id, base.variant, cand.variant, *model.settings.tags]
        return Snapshot(
            id=sid,
            project_id=project,
            name=f"{base.model_id}/{base.variant}-vs-{cand.variant}",
            timestamp=utc_from_ms(base.end_ms),
            window=self._window_info(base, key),
            tags=list(dict.fromkeys(t for t in tags if t)),
            metadata={
                **model.settings.metadata,
                "model_id": base.model_id,
                "reference_id": model.reference_id,
                "batch_size": result["matched_pairs"],
                "dataset_id": f"{project}/{base.model_id}/comparison/{base.start_ms}",
                "baseline": base.variant,
                "candidate": cand.variant,
                "revision": revision,
                "stage": "labels" if with_labels else "predictions",
            },
            metrics=[
                MetricResult(
                    id="comparison",
                    type="comparison",
                    params={
                        "request_id": cmp.request_id,
                        "stattest": cmp.stattest,
                        "alpha": cmp.alpha,
                        "probability_threshold": threshold,
                    },
                    result=result,
                )
            ],
        )

    def _paired(
        self,
        base: AwaitingWindow,
        cand: AwaitingWindow,
        pairs: pl.DataFrame,
        task: str | None,
        threshold: float,
        alpha: float,
    ) -> dict[str, Any]:
        model = self.models[base.model_id]
        y = [
            base.targets.get(b, cand.targets.get(c, (None, None)))[0]
            for b, c in zip(pairs["eid_b"].to_list(), pairs["eid_c"].to_list(), strict=True)
        ]
        frame = pairs.with_columns(_target_values(y, model.target_kind).alias("y")).drop_nulls("y")
        out: dict[str, Any] = {"labelled_pairs": frame.height}
        if frame.height == 0 or task is None:
            out |= {"verdict": None, "paired_test": None, "quality_delta": None}
            return out
        pb, pc, yv = frame["pb"].to_numpy(), frame["pc"].to_numpy(), frame["y"].to_numpy()
        qb = self._model_quality(model, pl.DataFrame({"prediction": pb, "target": yv}))
        qc = self._model_quality(model, pl.DataFrame({"prediction": pc, "target": yv}))
        if task == "classification":
            ok_b, ok_c = correctness(pb, yv, threshold), correctness(pc, yv, threshold)
            b = int(np.sum(ok_b & ~ok_c))
            c = int(np.sum(~ok_b & ok_c))
            test = mcnemar(b, c)
            qm, vb, vc = "accuracy", float(ok_b.mean()), float(ok_c.mean())
            extra: dict[str, Any] = {"discordant_baseline_only": b, "discordant_candidate_only": c}
        else:
            eb = np.abs(pb.astype(np.float64) - yv.astype(np.float64))
            ec = np.abs(pc.astype(np.float64) - yv.astype(np.float64))
            test = wilcoxon_signed_rank(eb - ec)
            qm, vb, vc = "mae", float(eb.mean()), float(ec.mean())
            extra = {}
        verdict = paired_verdict(test, alpha)
        return out | {
            "baseline_quality": qb,
            "candidate_quality": qc,
            "quality_metric": qm,
            "baseline_value": vb,
            "candidate_value": vc,
            "quality_delta": vc - vb,
            "paired_test": test.as_dict(),
            "p_value": test.p_value,
            "alpha": alpha,
            "verdict": verdict,
            "verdict_value": verdict_value(verdict),
            **extra,
        }
