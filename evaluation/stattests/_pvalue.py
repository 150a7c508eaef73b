"""The p-value tests: drift when p < threshold (``ks`` and ``cramer_von_mises``: p <= threshold).

scipy is imported inside the functions that use it: importing ``scipy.stats`` costs ~60 MB
of RSS and ~1 s, which a process should pay only once it evaluates a window.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evaluation.binning import F64, I64
from evaluation.stattests._samples import (
    MMD_MAX_PER_SAMPLE,
    MMD_PERMUTATIONS,
    SEED,
    TVD_EXACT_MAX,
    TVD_PERMUTATIONS,
    Outcome,
    Samples,
    _p,
    degenerate,
)


def ks(s: Samples) -> Outcome:
    """Two-sample Kolmogorov-Smirnov, two-sided, ``scipy.stats.ks_2samp`` (exact p for
    small samples, asymptotic otherwise, scipy's ``method="auto"``). When the exact
    computation does not converge scipy falls back to the asymptotic p-value with a warning;
    that fallback is expected (Evidently reports the same value), so the warning is silenced
    for this call only."""
    from scipy import stats

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ks_2samp: Exact calculation unsuccessful")
        res = stats.ks_2samp(s.ref, s.cur)
    return _p(float(res.statistic), res.pvalue)


def chisquare(s: Samples) -> Outcome:
    """Pearson chi-square of the current counts against the reference counts scaled to the
    current size: X² = Σ (o - e)² / e, e = ref_count · n_cur / n_ref, k - 1 degrees of
    freedom (``scipy.stats.chisquare``). A category absent from the reference has e = 0:
    X² = inf, p = 0. A single category in both: p = 1."""
    from scipy import stats

    _, rc, cc = s.key_counts()
    if rc.size < 2:
        return _p(0.0, 1.0)
    exp = rc * (s.n_cur / s.n_ref)
    if np.any(exp == 0):
        return _p(math.inf, 0.0)
    stat = float(np.sum((cc - exp) ** 2 / exp))
    return _p(stat, stats.chi2.sf(stat, rc.size - 1))


def g_test(s: Samples) -> Outcome:
    """G-test (log-likelihood ratio): G = 2 Σ o ln(o / e), e as for :func:`chisquare`.

    Evidently passes the *unscaled* reference counts as expected frequencies, which scipy
    rejects whenever the two sizes differ; here they are scaled to the current size.
    """
    from scipy import stats

    _, rc, cc = s.key_counts()
    if rc.size < 2:
        return _p(0.0, 1.0)
    exp = rc * (s.n_cur / s.n_ref)
    if np.any((exp == 0) & (cc > 0)):
        return _p(math.inf, 0.0)
    pos = cc > 0
    g = float(2.0 * np.sum(cc[pos] * np.log(cc[pos] / exp[pos])))
    return _p(g, stats.chi2.sf(max(g, 0.0), rc.size - 1))


def _sort_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def z(s: Samples) -> Outcome:
    """Pooled two-proportion Z-test, two-sided (Evidently's ``z``): the first of the sorted
    distinct values is one class, every other value the other; p = 2·(1 - Φ(|z|)), computed
    as ``2 * norm.sf(|z|)``. Both samples constant and equal: p = 1."""
    from scipy import stats

    keys, rc, cc = s.key_counts()
    if len(keys) == 1:
        return _p(0.0, 1.0)
    try:
        first = min(keys)
    except TypeError:
        first = min(keys, key=_sort_key)
    i = keys.index(first)
    n1, n2 = s.n_ref, s.n_cur
    p1 = (n1 - rc[i]) / n1
    p2 = (n2 - cc[i]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    zstat = float((p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2)))
    return _p(zstat, 2.0 * stats.norm.sf(abs(zstat)))


def fisher_exact(s: Samples) -> Outcome:
    """Fisher's exact test on the 2×2 table (current, reference) × (value A, value B),
    two-sided (``scipy.stats.fisher_exact``). Needs a binary column (≤ 2 distinct values in
    reference ∪ current). Unlike Evidently, the two sizes may differ."""
    from scipy import stats

    keys, rc, cc = s.key_counts()
    if len(keys) > 2:
        return degenerate("not_applicable")
    if len(keys) == 1:
        return _p(math.inf, 1.0)
    table = np.array([[cc[0], cc[1]], [rc[0], rc[1]]])
    res = stats.fisher_exact(table)
    return _p(float(res.statistic), res.pvalue)


def t_test(s: Samples) -> Outcome:
    """Student's two-sample t-test with pooled variance, two-sided (``scipy.stats.ttest_ind``)."""
    from scipy import stats

    if s.n_ref < 2 or s.n_cur < 2:
        return degenerate("insufficient_data")
    if s.ref[0] == s.ref[-1] and s.cur[0] == s.cur[-1]:
        return degenerate("constant_reference")
    res = stats.ttest_ind(s.ref, s.cur)
    return _p(float(res.statistic), res.pvalue)


def mannw(s: Samples) -> Outcome:
    """Mann-Whitney U test, **two-sided** (``scipy.stats.mannwhitneyu``). Evidently uses
    ``alternative="less"``, which only detects a current sample shifted upwards."""
    from scipy import stats

    res = stats.mannwhitneyu(s.ref, s.cur, alternative="two-sided")
    return _p(float(res.statistic), res.pvalue)


def anderson(s: Samples) -> Outcome:
    """k-sample Anderson-Darling test (``scipy.stats.anderson_ksamp``, midrank variant).

    scipy interpolates the p-value in its table and caps it to [0.001, 0.25] (as Evidently
    reports it); the cap is expected here, so its warning is silenced for this call only.
    """
    from scipy import stats

    if s.ref[0] == s.ref[-1] and s.cur[0] == s.cur[-1] and s.ref[0] == s.cur[0]:
        return degenerate("constant_reference")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="p-value (capped|floored)", category=UserWarning)
        res = stats.anderson_ksamp([s.ref, s.cur], variant="midrank")
    return _p(float(res.statistic), res.pvalue)


def cramer_von_mises(s: Samples) -> Outcome:
    """Two-sample Cramér-von Mises test (``scipy.stats.cramervonmises_2samp``; Evidently
    ships a copy of it). Needs at least two values per sample."""
    from scipy import stats

    if s.n_ref < 2 or s.n_cur < 2:
        return degenerate("insufficient_data")
    res = stats.cramervonmises_2samp(s.ref, s.cur)
    return _p(float(res.statistic), res.pvalue)


def es(s: Samples) -> Outcome:
    """Epps-Singleton test (``scipy.stats.epps_singleton_2samp``). Needs ≥ 5 values per
    sample and a non-zero interquartile range of the pooled data (Evidently raises there)."""
    from scipy import stats

    if s.n_ref < 5 or s.n_cur < 5:
        return degenerate("insufficient_data")
    pooled = np.concatenate([s.ref, s.cur])
    if stats.iqr(pooled) == 0:
        ref_const = s.ref[0] == s.ref[-1]
        return degenerate("constant_reference" if ref_const else "insufficient_data")
    try:
        res = stats.epps_singleton_2samp(s.ref, s.cur)
    except (ValueError, np.linalg.LinAlgError):
        return degenerate("insufficient_data")
    return _p(float(res.statistic), res.pvalue)


def _tvd_numerator(ref_counts: I64, cur_counts: I64, n_ref: int, n_cur: int) -> I64:
    """2·TVD·n_ref·n_cur = Σ |a·n_cur - b·n_ref|, exact in integers (one per row)."""
    return np.abs(ref_counts * n_cur - cur_counts * n_ref).sum(axis=-1)  # type: ignore[no-any-return]


def tvd(s: Samples) -> Outcome:
    """Total variation distance TVD = ½ Σ |p_ref - p_cur| with a permutation p-value, as
    Evidently's ``TVD``: p = share of 1000 permuted TVDs ≥ the observed one; drift when
    p < threshold. Up to ``TVD_EXACT_MAX`` pooled rows the permutations are Evidently's own
    (the ``np.random.seed(0); np.random.choice`` stream, rows in their original order), so the
    p-value is identical; above, the permuted reference counts are drawn directly from their
    distribution (multivariate hypergeometric, seed 0), which is the same test without the
    O(rows) shuffle per permutation. The statistic is compared exactly, in integers."""
    keys, rc, cc = s.key_counts()
    n_ref, n_cur = s.n_ref, s.n_cur
    total = rc + cc
    observed = int(_tvd_numerator(rc, cc, n_ref, n_cur))
    if n_ref + n_cur <= TVD_EXACT_MAX:
        index = {k: i for i, k in enumerate(keys)}
        assert s.ref_ordered is not None
        assert s.cur_ordered is not None
        pooled = np.fromiter(
            (index[v] for v in (*s.ref_ordered.to_list(), *s.cur_ordered.to_list())),
            np.int64,
            n_ref + n_cur,
        )
        rng = np.random.RandomState(SEED)
        draws = np.stack(
            [
                np.bincount(pooled[rng.permutation(pooled.size)[:n_ref]], minlength=len(keys))
                for _ in range(TVD_PERMUTATIONS)
            ]
        )
    else:
        gen = np.random.default_rng(SEED)
        draws = gen.multivariate_hypergeometric(total, n_ref, size=TVD_PERMUTATIONS)
    permuted = _tvd_numerator(draws, total - draws, n_ref, n_cur)
    hits = int(np.count_nonzero(observed <= permuted))
    return _p(observed / (2.0 * n_ref * n_cur), hits / TVD_PERMUTATIONS)


def _mmd_kernel(x: F64, y: F64) -> NDArray[np.float64]:
    """RBF kernel matrix of x ∪ y with the median heuristic on x (Evidently's ``kernel_matrix``),
    zero diagonal."""

    def sq(a: F64, b: F64) -> NDArray[np.float64]:
        d: NDArray[np.float64] = (b[None, :] ** 2) - 2.0 * np.outer(a, b) + (a[:, None] ** 2)
        return d

    dxx = sq(x, x)
    sigma = float(0.5 * np.percentile(dxx.ravel(), 50, method="nearest")) ** 0.5
    if sigma == 0:
        sigma = 0.5**0.5
    gamma = 1.0 / (2.0 * sigma**2)
    z_all = np.concatenate([x, y])
    k: NDArray[np.float64] = np.exp(-gamma * sq(z_all, z_all))
    np.fill_diagonal(k, 0.0)
    return k


def _mmd_stats(k: NDArray[np.float64], groups: NDArray[np.float64], nx: int, ny: int) -> F64:
    """MMD² (Evidently's ``mmd_2samp``) for each column of ``groups`` (1 = first sample):
    Kxx = gᵀKg / (nx(nx-1)), Kyy = hᵀKh / (ny(ny-1)), Kxy = gᵀKh / (nx·ny), h = 1 - g —
    one matrix product for all permutations instead of a permuted copy of K each."""
    kg = k @ groups
    row = k.sum(axis=1)
    gkg = np.einsum("ij,ij->j", groups, kg)
    gkh = groups.T @ row - gkg
    hkh = k.sum() - 2.0 * gkh - gkg
    out: F64 = gkg / (nx * (nx - 1)) + hkh / (ny * (ny - 1)) - 2.0 * gkh / (nx * ny)
    return out


def empirical_mmd(s: Samples) -> Outcome:
    """Maximum mean discrepancy with an RBF kernel (median heuristic) and a 100-permutation
    p-value (share of permuted MMD² ≥ the observed one), as Evidently's ``empirical_mmd`` but
    **seeded** (``RandomState(0)``) so a result is reproducible, and on a seeded subsample of
    ≤ 1000 values per side (the kernel matrix is quadratic in size)."""
    if s.n_ref < 2 or s.n_cur < 2:
        return degenerate("insufficient_data")
    rng = np.random.RandomState(SEED)
    x, y = s.ref, s.cur
    if x.size > MMD_MAX_PER_SAMPLE:
        x = x[np.sort(rng.choice(x.size, MMD_MAX_PER_SAMPLE, replace=False))]
    if y.size > MMD_MAX_PER_SAMPLE:
        y = y[np.sort(rng.choice(y.size, MMD_MAX_PER_SAMPLE, replace=False))]
    k = _mmd_kernel(x, y)
    nx, ny = x.size, y.size
    groups = np.zeros((nx + ny, MMD_PERMUTATIONS + 1))
    groups[:nx, 0] = 1.0
    for j in range(1, MMD_PERMUTATIONS + 1):
        groups[rng.permutation(nx + ny)[:nx], j] = 1.0
    mmd = _mmd_stats(k, groups, nx, ny)
    hits = int(np.count_nonzero(mmd[0] <= mmd[1:]))
    return _p(float(mmd[0]), hits / MMD_PERMUTATIONS)
