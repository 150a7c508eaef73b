"""Types shared by the drift methods: the cleaned sample pair, the outcome, the binning."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from evaluation.binning import (
    DISCRETE_MAX_UNIQUE,
    F64,
    I64,
    counts_in_edges,
    counts_of_values,
    counts_open_ended,
    fill_zeroes,
    sorted_unique,
    sturges_edges,
)

Kind = Literal["num", "cat"]
Binning = Literal["evidently", "reference"]
Verdict = Literal["p<", "p<=", "d>=", "d>"]
Status = Literal[
    "ok",
    "empty_current",
    "all_missing",
    "constant_reference",
    "missing_column",
    "insufficient_data",
    "not_applicable",
]

#: Permutations of the TVD test (Evidently: 1000) and of the MMD test (Evidently: 100).
TVD_PERMUTATIONS = 1000
#: Above this many pooled rows TVD draws permuted counts directly (see :func:`tvd`).
TVD_EXACT_MAX = 20_000
MMD_PERMUTATIONS = 100
#: The MMD kernel matrix is (n+m)²; above this many values per side a seeded subsample is used.
MMD_MAX_PER_SAMPLE = 1000
#: Seed of every randomised method (Evidently seeds TVD with 0 and leaves MMD unseeded).
SEED = 0


@dataclass(slots=True)
class Samples:
    """One column's cleaned values: reference and current, missing and ±inf removed.

    Numerical: ``ref``/``cur`` sorted float64. Categorical: ``ref_counts``/``cur_counts``
    (value → count) and, for the permutation test, ``ref_ordered``/``cur_ordered`` in row
    order. ``ref_unique``, ``ref_std`` and ``quantile_edges`` come precomputed from the
    reference profile.
    """

    kind: Kind
    ref: F64 = field(default_factory=lambda: np.empty(0))
    cur: F64 = field(default_factory=lambda: np.empty(0))
    ref_counts: dict[Any, int] = field(default_factory=dict)
    cur_counts: dict[Any, int] = field(default_factory=dict)
    ref_ordered: pl.Series | None = None
    cur_ordered: pl.Series | None = None
    ref_unique: F64 = field(default_factory=lambda: np.empty(0))
    ref_std: float = 0.0
    quantile_edges: F64 = field(default_factory=lambda: np.empty(0))
    integer: bool = False
    binning: Binning = "evidently"
    _cur_unique: F64 | None = None

    @property
    def n_ref(self) -> int:
        return int(self.ref.size) if self.kind == "num" else sum(self.ref_counts.values())

    @property
    def n_cur(self) -> int:
        return int(self.cur.size) if self.kind == "num" else sum(self.cur_counts.values())

    @property
    def cur_unique(self) -> F64:
        if self._cur_unique is None:
            self._cur_unique = sorted_unique(self.cur)
        return self._cur_unique

    def n_unique_union(self) -> int:
        """Distinct values of reference ∪ current (Evidently's ``nunique`` of the concat)."""
        if self.kind == "cat":
            return len(self.ref_counts.keys() | self.cur_counts.keys())
        cu = self.cur_unique
        if cu.size == 0:
            return int(self.ref_unique.size)
        ru = self.ref_unique
        pos = np.searchsorted(ru, cu)
        found = (pos < ru.size) & (ru[np.minimum(pos, ru.size - 1)] == cu)
        return int(ru.size + np.count_nonzero(~found))

    def key_counts(self) -> tuple[list[Any], I64, I64]:
        """Union keys with the reference and current count of each."""
        if self.kind == "cat":
            keys = list(self.ref_counts)
            keys += [k for k in self.cur_counts if k not in self.ref_counts]
            ref = np.fromiter((self.ref_counts.get(k, 0) for k in keys), np.int64, len(keys))
            cur = np.fromiter((self.cur_counts.get(k, 0) for k in keys), np.int64, len(keys))
            return keys, ref, cur
        union = np.union1d(self.ref_unique, self.cur_unique)
        return (
            union.tolist(),
            counts_of_values(self.ref, union),
            counts_of_values(self.cur, union),
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a method computed. ``score`` is what the verdict compares with the threshold."""

    statistic: float | None
    p_value: float | None
    score: float | None
    status: Status = "ok"


def degenerate(status: Status) -> Outcome:
    return Outcome(None, None, None, status)


def _p(statistic: float | None, p_value: float) -> Outcome:
    return Outcome(statistic, float(p_value), float(p_value))


def _d(value: float, statistic: float | None = None) -> Outcome:
    v = float(value)
    return Outcome(v if statistic is None else statistic, None, v)


# -- binning shared by PSI, KL and Jensen-Shannon ---------------------------------------------
def binned_percents(s: Samples, *, fill: bool) -> tuple[F64, F64]:
    """Reference and current shares per bin (Evidently's ``get_binned_data``).

    Categorical: one bin per category of reference ∪ current. Numerical with
    ``binning="evidently"``: one bin per distinct value when the reference has ≤ 20 distinct
    values, else Sturges edges over reference ∪ current. With ``binning="reference"``: one bin
    per reference value plus one for unseen values (≤ 20 distinct), else open-ended bins at the
    frozen reference deciles. ``fill`` replaces empty bins as Evidently does for PSI and KL.
    """
    n_ref, n_cur = s.n_ref, s.n_cur
    if s.kind == "cat":
        _, rc, cc = s.key_counts()
    elif s.binning == "reference":
        if s.ref_unique.size <= DISCRETE_MAX_UNIQUE:
            rc = np.append(counts_of_values(s.ref, s.ref_unique), 0)
            seen = counts_of_values(s.cur, s.ref_unique)
            cc = np.append(seen, n_cur - seen.sum())
        else:
            rc = counts_open_ended(s.ref, s.quantile_edges)
            cc = counts_open_ended(s.cur, s.quantile_edges)
    elif s.ref_unique.size > DISCRETE_MAX_UNIQUE:
        lo = min(s.ref[0], s.cur[0])
        hi = max(s.ref[-1], s.cur[-1])
        edges = sturges_edges(float(lo), float(hi), n_ref + n_cur, integer=s.integer)
        rc = counts_in_edges(s.ref, edges)
        cc = counts_in_edges(s.cur, edges)
    else:
        _, rc, cc = s.key_counts()
    rp = rc / n_ref
    cp = cc / n_cur
    if fill:
        rp, cp = fill_zeroes(rp), fill_zeroes(cp)
    return rp, cp
