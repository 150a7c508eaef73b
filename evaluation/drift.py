"""Data drift of a window against a fitted reference: per-column tests and dataset drift.

``compute_data_drift(profile, current, options)`` returns the ``data_drift`` metric result
of the Snapshot document::

    {"drift_share", "number_of_columns", "number_of_drifted_columns",
     "share_of_drifted_columns", "dataset_drift",
     "columns": {name: {"column_type": "num" | "cat", "stattest", "stattest_threshold",
                        "drift_score", "drift_detected", "status",
                        "current_rows", "reference_rows", "histogram": {...}}}}

The method per column is the one set for that column, else for its kind, else globally,
else Evidently's default (:func:`default_stattest`). Degenerate columns get an explicit
``status`` ("empty_current", "all_missing", "constant_reference", "missing_column",
"insufficient_data", "not_applicable"), ``drift_score`` ``None`` and ``drift_detected``
``False``; they count among ``number_of_columns`` but never as drifted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import polars as pl

from evaluation.binning import F64, counts_in_edges, round_sig
from evaluation.errors import DriftInputError
from evaluation.reference import (
    CleanColumn,
    ColumnProfile,
    ReferenceProfile,
    clean_column,
    clean_sorted,
)
from evaluation.schema import is_numeric_dtype
from evaluation.stattests import (
    STATTESTS,
    Binning,
    Kind,
    Outcome,
    Samples,
    StatTest,
    Status,
    default_stattest,
    degenerate,
)

__all__ = [
    "STATTESTS",
    "DriftOptions",
    "DriftResult",
    "compute_data_drift",
    "default_stattest",
    "drift_result_for",
]

#: Clean the current columns on this many threads once a window holds this many values.
PARALLEL_WORKERS = 2
PARALLEL_MIN_VALUES = 200_000
#: Categories kept in a categorical render histogram; the rest are summed into "other".
RENDER_TOP_CATEGORIES = 20


class DriftResult(NamedTuple):
    """One drift test, named like scipy's results.

    ``metric`` is the method name; ``statistic`` the test statistic or distance;
    ``p_value`` ``None`` for distances; ``drifted`` the verdict; ``status`` "ok" or why there
    is no score. ``score`` is what the verdict compared with ``threshold`` (the p-value for
    tests, the distance otherwise) and is ``None`` exactly when ``status != "ok"``.
    """

    metric: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    status: Status
    score: float | None = None


@dataclass(frozen=True, slots=True)
class DriftOptions:
    """How to test each column. Precedence: ``per_column_stattest`` > ``num_stattest`` /
    ``cat_stattest`` > ``stattest`` > Evidently's default; ``per_column_threshold`` >
    ``threshold`` > the method's default threshold."""

    stattest: str | None = None
    num_stattest: str | None = None
    cat_stattest: str | None = None
    per_column_stattest: dict[str, str] = field(default_factory=dict)
    threshold: float | None = None
    per_column_threshold: dict[str, float] = field(default_factory=dict)
    drift_share: float = 0.5
    binning: Literal["evidently", "reference"] = "evidently"
    columns: tuple[str, ...] | None = None
    with_histograms: bool = True

    def validate(self) -> DriftOptions:
        """Raise :class:`DriftInputError` for an unknown method name, a threshold or share
        out of range, or an unknown binning; return ``self`` otherwise."""
        named = [("stattest", self.stattest), ("num_stattest", self.num_stattest)]
        named.append(("cat_stattest", self.cat_stattest))
        named += [(f"per_column_stattest[{c!r}]", m) for c, m in self.per_column_stattest.items()]
        for where, method in named:
            if method is not None and method not in STATTESTS:
                valid = ", ".join(STATTESTS)
                msg = f"unknown drift method {method!r} in {where}; valid methods: {valid}"
                raise DriftInputError(msg)
        for where, kind in (("num_stattest", "num"), ("cat_stattest", "cat")):
            method = getattr(self, where)
            if method is not None and kind not in STATTESTS[method].kinds:
                msg = f"{where}={method!r} does not apply to {kind} columns; use one of " + (
                    ", ".join(n for n, t in STATTESTS.items() if kind in t.kinds)
                )
                raise DriftInputError(msg)
        thresholds = [("threshold", self.threshold)]
        thresholds += [
            (f"per_column_threshold[{c!r}]", t) for c, t in self.per_column_threshold.items()
        ]
        for where, t in thresholds:
            if t is not None and not (np.isfinite(t) and t >= 0):
                msg = f"{where}={t!r} must be a finite number >= 0"
                raise DriftInputError(msg)
        if not 0 <= self.drift_share <= 1:
            msg = f"drift_share={self.drift_share!r} must be in [0, 1] (Evidently's default: 0.5)"
            raise DriftInputError(msg)
        if self.binning not in ("evidently", "reference"):
            msg = f"binning={self.binning!r} must be 'evidently' or 'reference'"
            raise DriftInputError(msg)
        return self

    def method_for(self, column: str, kind: Kind) -> str | None:
        """The method configured for ``column`` (``None``: choose Evidently's default)."""
        if column in self.per_column_stattest:
            return self.per_column_stattest[column]
        by_kind = self.num_stattest if kind == "num" else self.cat_stattest
        return by_kind or self.stattest

    def threshold_for(self, column: str) -> float | None:
        return self.per_column_threshold.get(column, self.threshold)


def _samples(ref: ColumnProfile, cur: CleanColumn, binning: Binning) -> Samples:
    return Samples(
        kind=ref.kind,
        ref=ref.values,
        cur=cur.values,
        ref_counts=ref.counts,
        cur_counts=cur.counts,
        ref_ordered=ref.ordered,
        cur_ordered=cur.ordered,
        ref_unique=ref.unique,
        ref_std=ref.std,
        quantile_edges=ref.quantile_edges,
        integer=ref.integer and cur.integer,
        binning=binning,
    )


def _resolve(
    name: str, kind: Kind, method: str | None, threshold: float | None, s: Samples
) -> tuple[StatTest, float]:
    if method is None:
        # the default only tells ≤ 2, 3-5 and > 5 distinct values apart: skip the union count
        # when the reference alone has more than 5
        few = kind == "cat" or s.ref_unique.size <= 5
        n_unique = s.n_unique_union() if few else int(s.ref_unique.size)
        method, default_t = default_stattest(kind, s.n_ref, n_unique)
        return STATTESTS[method], default_t if threshold is None else threshold
    test = STATTESTS.get(method)
    if test is None:
        msg = f"unknown drift method {method!r}; valid methods: {', '.join(STATTESTS)}"
        raise DriftInputError(msg)
    if kind not in test.kinds:
        valid = ", ".join(n for n, t in STATTESTS.items() if kind in t.kinds)
        msg = (
            f"drift method {method!r} does not apply to {kind} column {name!r}; "
            f"set a per-column or per-kind method, one of: {valid}"
        )
        raise DriftInputError(msg)
    return test, test.default_threshold if threshold is None else threshold


def _run(test: StatTest, s: Samples) -> Outcome:
    if s.n_ref < test.min_size or s.n_cur < test.min_size:
        return degenerate("insufficient_data")
    out = test.fn(s)
    if out.status == "ok" and (out.score is None or not np.isfinite(out.score)):
        return degenerate("insufficient_data")
    return out


def _test_column(
    ref: ColumnProfile,
    cur: CleanColumn,
    method: str | None,
    threshold: float | None,
    binning: Binning,
) -> tuple[str, float, Outcome]:
    """Pick the method for one cleaned column and run it; degenerate input gets a status."""
    s = _samples(ref, cur, binning)
    status: Status | None = None
    if ref.n_valid == 0:
        status = "all_missing"
    elif cur.n_rows == 0:
        status = "empty_current"
    elif cur.n_valid == 0:
        status = "all_missing"
    if status is not None:
        # still name the method that would have run (the default needs both sides' values)
        if method is None:
            name, t = default_stattest(ref.kind, ref.n_valid, ref.n_unique)
            return name, t if threshold is None else threshold, degenerate(status)
        test, t = _resolve(ref.name, ref.kind, method, threshold, s)
        return test.name, t, degenerate(status)
    test, t = _resolve(ref.name, ref.kind, method, threshold, s)
    return test.name, t, _run(test, s)


def drift_result_for(
    name: str,
    ref_values: Any,
    cur_values: Any,
    kind: Kind,
    method: str | None = None,
    threshold: float | None = None,
    *,
    binning: Binning = "evidently",
) -> DriftResult:
    """Test one pair of samples (e.g. shadow vs champion predictions) outside a profile.

    ``ref_values``/``cur_values`` are anything ``pl.Series`` accepts (a Series, ndarray,
    list); they are cleaned like a reference column. ``method=None`` picks Evidently's
    default for ``kind``.
    """
    ref = ColumnProfile.fit(pl.Series(name, ref_values), kind)
    cur = clean_column(pl.Series(name, cur_values), kind)
    metric, t, out = _test_column(ref, cur, method, threshold, binning)
    return _to_result(metric, t, out)


def _to_result(metric: str, threshold: float, out: Outcome) -> DriftResult:
    drifted = out.status == "ok" and out.score is not None
    drifted = drifted and STATTESTS[metric].drifted(out.score, threshold)  # type: ignore[arg-type]
    return DriftResult(
        metric, out.statistic, out.p_value, float(threshold), bool(drifted), out.status, out.score
    )


# -- render data -----------------------------------------------------------------------------
def _json_key(value: Any) -> Any:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return round_sig(value)
    return str(value)


def _histogram(ref: ColumnProfile, cur: CleanColumn | None) -> dict[str, Any]:
    """Reference and current counts on the same bins (numerical: the reference's equal-width
    render edges, current values outside them counted in ``current_outside`` [below, above])
    or the same categories (the top 20 by combined count, the rest in ``other``)."""
    if ref.kind == "num":
        edges = ref.render_edges
        out: dict[str, Any] = {"bins": list(ref.render_bins)}
        out["reference"] = ref.render_counts.tolist()
        if cur is not None and edges.size:
            v: F64 = cur.values
            out["current"] = counts_in_edges(v, edges).tolist()
            below = int(np.searchsorted(v, edges[0], side="left"))
            above = int(v.size - np.searchsorted(v, edges[-1], side="right"))
            out["current_outside"] = [below, above]
        else:
            out["current"] = []
        return out
    cur_counts = cur.counts if cur is not None else {}
    keys = list(ref.counts)
    keys += [k for k in cur_counts if k not in ref.counts]
    keys.sort(key=lambda k: -(ref.counts.get(k, 0) + cur_counts.get(k, 0)))
    top, rest = keys[:RENDER_TOP_CATEGORIES], keys[RENDER_TOP_CATEGORIES:]
    hist: dict[str, Any] = {
        "categories": [_json_key(k) for k in top],
        "reference": [ref.counts.get(k, 0) for k in top],
        "current": [cur_counts.get(k, 0) for k in top],
    }
    if rest:
        hist["other"] = [
            sum(ref.counts.get(k, 0) for k in rest),
            sum(cur_counts.get(k, 0) for k in rest),
        ]
    return hist


# -- the metric ------------------------------------------------------------------------------
def _column_entry(
    ref: ColumnProfile,
    cur: CleanColumn | None,
    options: DriftOptions,
) -> dict[str, Any]:
    method = options.method_for(ref.name, ref.kind)
    threshold = options.threshold_for(ref.name)
    if cur is None:
        if method is None:
            metric, t = default_stattest(ref.kind, ref.n_valid, ref.n_unique)
        else:
            test, t = _resolve(ref.name, ref.kind, method, threshold, Samples(ref.kind))
            metric = test.name
        t = t if threshold is None else threshold
        result = _to_result(metric, t, degenerate("missing_column"))
    else:
        metric, t, out = _test_column(ref, cur, method, threshold, options.binning)
        result = _to_result(metric, t, out)
    score = result.score
    entry: dict[str, Any] = {
        "column_type": ref.kind,
        "stattest": result.metric,
        "stattest_threshold": result.threshold,
        "drift_score": float(score) if score is not None else None,
        "drift_detected": result.drifted,
        "status": result.status,
        "current_rows": cur.n_valid if cur is not None else 0,
        "reference_rows": ref.n_valid,
    }
    if options.with_histograms:
        entry["histogram"] = _histogram(ref, cur)
    return entry


def _clean_current(
    profile: ReferenceProfile,
    current: pl.DataFrame,
    names: list[str],
    presorted: Mapping[str, F64] | None = None,
) -> dict[str, CleanColumn | None]:
    """Clean (and sort) every current column; on two threads for large windows, where the
    sorts dominate and numpy releases the GIL while sorting. The tests themselves then run on
    one thread (a few of them set warning filters, which is not thread-safe)."""
    present = [n for n in names if n in current.columns]
    out: dict[str, CleanColumn | None] = dict.fromkeys(names)

    def one(name: str) -> CleanColumn:
        kind = profile.columns[name].kind
        dtype = current.schema[name]
        if kind == "num" and presorted is not None and name in presorted and _numeric(dtype):
            return clean_sorted(presorted[name], dtype.is_integer())
        return clean_column(current[name], kind)

    if presorted is not None:  # the sorts were done already: nothing worth a thread pool
        out.update((n, one(n)) for n in present)
        return out

    workers = min(PARALLEL_WORKERS, os.cpu_count() or 1)
    if workers > 1 and current.height * len(present) >= PARALLEL_MIN_VALUES:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            out.update(zip(present, pool.map(one, present), strict=True))
    else:
        out.update((n, one(n)) for n in present)
    return out


def _numeric(dtype: pl.DataType) -> bool:
    """The dtypes :func:`clean_column` accepts for a numerical column (others raise there)."""
    return is_numeric_dtype(dtype) or dtype in (pl.Boolean, pl.Null)


def compute_data_drift(
    profile: ReferenceProfile,
    current: pl.DataFrame,
    options: DriftOptions,
    *,
    presorted: Mapping[str, F64] | None = None,
) -> dict[str, Any]:
    """The ``data_drift`` metric result of ``current`` against ``profile``.

    Columns are the profile's drift columns (target, prediction, numerical, categorical, in
    Evidently's order), restricted to ``options.columns`` when given. Dataset drift is
    ``share_of_drifted_columns >= drift_share``. Raises :class:`DriftInputError` for bad
    options (unknown method or column, method not applicable to a column's kind).
    """
    options.validate()
    names = list(profile.columns)
    if options.columns is not None:
        unknown = [c for c in options.columns if c not in profile.columns]
        if unknown:
            msg = f"unknown drift column(s) {unknown}; the reference profile has {names}"
            raise DriftInputError(msg)
        names = list(options.columns)
    cleaned = _clean_current(profile, current, names, presorted)
    columns = {name: _column_entry(profile.columns[name], cleaned[name], options) for name in names}
    n = len(columns)
    drifted = sum(1 for c in columns.values() if c["drift_detected"])
    share = drifted / n if n else 0.0
    return {
        "drift_share": options.drift_share,
        "number_of_columns": n,
        "number_of_drifted_columns": drifted,
        "share_of_drifted_columns": share,
        "dataset_drift": bool(n and share >= options.drift_share),
        "columns": columns,
    }
