"""The distances: drift when d >= threshold (``ed``: d > threshold).

scipy is imported inside the functions that use it: importing ``scipy.stats`` costs ~60 MB
of RSS and ~1 s, which a process should pay only once it evaluates a window.
"""

from __future__ import annotations

import math

import numpy as np

from evaluation.binning import F64, counts_in_edges, sturges_edges
from evaluation.stattests._samples import Outcome, Samples, _d, binned_percents


def merged_cdfs(ref: F64, cur: F64) -> tuple[F64, F64, F64]:
    """Merge two sorted samples in O(n + m): returns the gaps between consecutive pooled values
    and both empirical CDFs at the left end of each gap (scipy's ``_cdf_distance`` layout)."""
    n, m = ref.size, cur.size
    pos = np.searchsorted(ref, cur, side="right") + np.arange(m)
    is_cur = np.zeros(n + m, dtype=bool)
    is_cur[pos] = True
    merged = np.empty(n + m)
    merged[pos] = cur
    merged[~is_cur] = ref
    cum_cur = np.cumsum(is_cur)[:-1]
    cum_ref = np.arange(1, n + m) - cum_cur
    return np.diff(merged), cum_ref / n, cum_cur / m


def wasserstein_distance(ref: F64, cur: F64) -> float:
    """First Wasserstein distance of two sorted samples, equal to
    ``scipy.stats.wasserstein_distance`` but without a sort of the pooled values.

    W1 = ∫ |F_ref - F_cur| dx = ∫₀¹ |F_ref⁻¹(u) - F_cur⁻¹(u)| du. Both quantile functions are
    steps on the grids i/n and j/m; the two grids are merged in closed form (in integer
    units of 1/lcm(n, m)), so the cost is O(n + m) arithmetic. Equal sizes reduce to
    mean |ref_i - cur_i|.
    """
    n, m = ref.size, cur.size
    if n == m:
        return float(np.mean(np.abs(ref - cur)))
    g = math.gcd(n, m)
    a, b = m // g, n // g  # grid steps: ref breakpoints at i·a, cur breakpoints at j·b
    total = n * a
    j = np.arange(1, m, dtype=np.int64)
    cur_points = j * b
    # interior ref breakpoints strictly below each cur breakpoint: i·a < j·b, 1 ≤ i ≤ n-1
    pos = (j - 1) + (cur_points - 1) // a
    merged = np.empty(n + m - 2, dtype=np.int64)
    is_ref = np.ones(merged.size, dtype=bool)
    is_ref[pos] = False
    merged[pos] = cur_points
    merged[is_ref] = np.arange(1, n, dtype=np.int64) * a
    starts = np.concatenate([[0], merged])
    widths = np.diff(np.concatenate([starts, [total]]))
    return float(np.sum(widths * np.abs(ref[starts // a] - cur[starts // b]))) / total


def wasserstein(s: Samples) -> Outcome:
    """Wasserstein-1 distance normed by the reference's population std, floored at 0.001
    (Evidently's ``wasserstein``): W1(ref, cur) / max(std(ref), 0.001)."""
    return _d(wasserstein_distance(s.ref, s.cur) / max(s.ref_std, 0.001))


def jensenshannon(s: Samples) -> Outcome:
    """Jensen-Shannon *distance* (natural log) of the binned shares:
    sqrt((KL(p‖m) + KL(q‖m)) / 2), m = (p + q) / 2 (``scipy.spatial.distance.jensenshannon``);
    empty bins are not filled."""
    from scipy.spatial import distance

    rp, cp = binned_percents(s, fill=False)
    return _d(float(distance.jensenshannon(rp, cp)))


def psi(s: Samples) -> Outcome:
    """Population stability index Σ (r - c) · ln(r / c) over the binned shares, empty bins
    filled (Evidently's rule, :func:`evaluation.binning.fill_zeroes`)."""
    rp, cp = binned_percents(s, fill=True)
    return _d(float(np.sum((rp - cp) * np.log(rp / cp))))


def kl_div(s: Samples) -> Outcome:
    """Kullback-Leibler divergence KL(ref ‖ cur) of the binned shares, empty bins filled
    (``scipy.stats.entropy(ref, cur)``, which renormalises the shares)."""
    from scipy import stats

    rp, cp = binned_percents(s, fill=True)
    return _d(float(stats.entropy(rp, cp)))


def hellinger(s: Samples) -> Outcome:
    """Hellinger distance sqrt(1 - Σ sqrt(p·q)) (Bhattacharyya coefficient clipped to [0, 1]).

    Categorical: shares per category. Numerical (as Evidently): density histograms on Sturges
    edges computed from the *distinct* values of reference ∪ current, the coefficient being
    Σ sqrt(h_ref·h_cur)·bin_width.
    """
    if s.kind == "cat":
        _, rc, cc = s.key_counts()
        bc = float(np.sum(np.sqrt((rc / s.n_ref) * (cc / s.n_cur))))
    else:
        n_keys = s.n_unique_union()
        lo = float(min(s.ref[0], s.cur[0]))
        hi = float(max(s.ref[-1], s.cur[-1]))
        edges = sturges_edges(lo, hi, n_keys, integer=s.integer)
        widths = np.diff(edges)
        h1 = counts_in_edges(s.ref, edges) / widths / s.n_ref
        h2 = counts_in_edges(s.cur, edges) / widths / s.n_cur
        bin_width = (edges[-1] - edges[0]) / (edges.size - 1)
        bc = float(np.sum(np.sqrt(h1 * h2)) * bin_width)
    return _d(math.sqrt(1.0 - min(max(bc, 0.0), 1.0)))


def ed(s: Samples) -> Outcome:
    """Energy distance (``scipy.stats.energy_distance``): sqrt(2)·(∫ (F_ref - F_cur)² dx)^½."""
    deltas, fr, fc = merged_cdfs(s.ref, s.cur)
    return _d(math.sqrt(2.0 * float(np.sum((fr - fc) ** 2 * deltas))))
