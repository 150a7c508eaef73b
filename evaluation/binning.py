"""Bins and histograms on sorted arrays: the binning behind PSI, KL, Jensen-Shannon and the
render histograms.

Everything here works on *sorted* float64 arrays so counting a window is a handful of
``np.searchsorted`` calls (O(k log n) for k edges) instead of a pass of ``np.histogram``.
Counts agree exactly with ``np.histogram``: every bin is half-open ``[e_i, e_{i+1})`` except
the last, which is closed (numpy's ``_search_sorted_inclusive``).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Evidently's rule: a numerical column whose reference has at most this many distinct values
#: is binned one bin per distinct value, otherwise by Sturges edges over reference ∪ current.
DISCRETE_MAX_UNIQUE = 20
#: Quantile bins of ``binning: reference`` (deciles).
REFERENCE_QUANTILE_BINS = 10
#: Equal-width bins of the render histogram (Evidently's ``nbinsx`` default).
RENDER_BINS = 10


def sturges_edges(lo: float, hi: float, n: int, *, integer: bool = False) -> F64:
    """``np.histogram_bin_edges(a, bins="sturges")`` from ``min(a)``, ``max(a)`` and ``a.size``.

    Sturges: width = (max - min) / (log2(n) + 1), ``ceil(range / width)`` equal bins; a zero
    range becomes ``[lo - 0.5, hi + 0.5]`` with one bin (numpy's ``_get_outer_edges``); for
    integer data numpy widens a bin narrower than 1 to 1 (``integer=True``).
    """
    if lo == hi:
        return np.linspace(lo - 0.5, hi + 0.5, 2)
    width = (hi - lo) / (np.log2(n) + 1.0) if n > 0 else 0.0
    if integer and 0 < width < 1:
        width = 1.0
    n_bins = int(np.ceil((hi - lo) / width)) if width else 1
    return np.linspace(lo, hi, n_bins + 1)


def counts_in_edges(sorted_values: F64, edges: F64) -> I64:
    """Counts of ``sorted_values`` in the bins of ``edges``, exactly like ``np.histogram``
    (values outside ``[edges[0], edges[-1]]`` are not counted)."""
    left = np.searchsorted(sorted_values, edges[:-1], side="left")
    right = np.searchsorted(sorted_values, edges[-1:], side="right")
    return np.diff(np.concatenate([left, right])).astype(np.int64)


def counts_open_ended(sorted_values: F64, inner_edges: F64) -> I64:
    """Counts in ``(-inf, e_0), [e_0, e_1), ..., [e_k, +inf)``: every value lands in a bin."""
    idx = np.searchsorted(sorted_values, inner_edges, side="left")
    bounds = np.concatenate([[0], idx, [sorted_values.size]])
    return np.diff(bounds).astype(np.int64)


def counts_of_values(sorted_values: F64, keys: F64) -> I64:
    """How many times each (sorted, distinct) key occurs in ``sorted_values``."""
    left = np.searchsorted(sorted_values, keys, side="left")
    right = np.searchsorted(sorted_values, keys, side="right")
    return (right - left).astype(np.int64)


def sorted_unique(sorted_values: F64) -> F64:
    """Distinct values of an already sorted array (``np.unique`` without the sort)."""
    if sorted_values.size == 0:
        return sorted_values
    keep = np.empty(sorted_values.size, dtype=bool)
    keep[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=keep[1:])
    return sorted_values[keep]


def quantile_edges(sorted_values: F64, n_bins: int = REFERENCE_QUANTILE_BINS) -> F64:
    """Interior edges at the reference quantiles ``k / n_bins`` (k = 1..n_bins-1), deduplicated:
    the frozen edges of ``binning: reference``, used with :func:`counts_open_ended`."""
    if sorted_values.size == 0:
        return np.empty(0, dtype=np.float64)
    qs = np.quantile(sorted_values, np.arange(1, n_bins) / n_bins)
    return np.unique(qs)


def render_edges(lo: float, hi: float, n_bins: int = RENDER_BINS) -> F64:
    """Equal-width render edges over the reference range (a constant column gets ±0.5)."""
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, n_bins + 1)


def fill_zeroes(percents: F64) -> F64:
    """Evidently's ``get_binned_data(feel_zeroes=True)``: an empty bin gets
    ``min(nonzero) / 1e6`` when the smallest non-empty share is ≤ 1e-4, else 1e-4, so that
    PSI and KL stay finite. (The shares then no longer sum to exactly 1, as in Evidently.)"""
    out = percents.copy()
    zero = out == 0
    if zero.any():
        nz = out[~zero]
        smallest = float(nz.min()) if nz.size else 1.0
        out[zero] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return out


def round_sig(x: float, digits: int = 6) -> float | None:
    """``x`` to ``digits`` significant digits (compact JSON); non-finite becomes ``None``."""
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")
