"""Shadow vs champion: comparing two variants' predictions on the same requests.

Three pure pieces, each returning plain JSON-able values for the ``comparison`` metric:

- :func:`compare_predictions` — on matched pairs (the same request scored by both variants):
  the count, the agreement rate of the predicted labels (classification; a probability becomes
  a label with ``p >= probability_threshold``), the mean absolute difference and the Pearson
  correlation of the raw predictions. The distribution drift of the two prediction samples is
  computed by the caller with :func:`evaluation.drift.drift_result_for` (the same stattests as
  feature drift).
- :func:`mcnemar` — McNemar's test of paired correctness (classification). With
  ``b`` = pairs only the baseline got right and ``c`` = pairs only the candidate got right,
  under H0 ``b ~ Binomial(b + c, 1/2)``. Exact two-sided p-value
  ``min(1, 2 * P[X <= min(b, c)])`` below :data:`MCNEMAR_EXACT_MAX` discordant pairs,
  otherwise the chi-square statistic with continuity correction
  ``(|b - c| - 1)^2 / (b + c)`` on 1 degree of freedom (Edwards 1948). No discordant pairs:
  ``p = 1``.
- :func:`wilcoxon_signed_rank` — Wilcoxon's signed-rank test of paired differences
  (regression: ``|error_baseline| - |error_candidate|``). Zero differences are dropped
  (Wilcoxon's convention), ranks are averaged over ties. Exact null distribution when at most
  :data:`WILCOXON_EXACT_MAX` non-zero differences and no ties, else the normal approximation
  with the tie correction and no continuity correction — scipy.stats.wilcoxon's defaults
  (``zero_method="wilcox"``, ``method="auto"``), which the unit tests use as the oracle.

:func:`paired_verdict` turns a test into ``"shadow better"`` / ``"shadow worse"`` /
``"no significant difference"`` at ``alpha``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MCNEMAR_EXACT_MAX",
    "VERDICTS",
    "WILCOXON_EXACT_MAX",
    "PairedTest",
    "Verdict",
    "compare_predictions",
    "correctness",
    "mcnemar",
    "paired_verdict",
    "verdict_value",
    "wilcoxon_signed_rank",
]

MCNEMAR_EXACT_MAX = 1000
WILCOXON_EXACT_MAX = 50
Verdict = Literal["shadow better", "shadow worse", "no significant difference"]
VERDICTS: dict[Verdict, int] = {
    "shadow worse": -1,
    "no significant difference": 0,
    "shadow better": 1,
}
Task = Literal["classification", "regression"]


@dataclass(frozen=True, slots=True)
class PairedTest:
    """One paired test. ``direction`` > 0 when the candidate did better on the sample
    (``c > b`` for McNemar, ``W+ > W-`` for Wilcoxon on ``|e_b| - |e_c|``), < 0 worse."""

    test: str
    statistic: float
    p_value: float
    n: int
    direction: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "n": self.n,
            "direction": self.direction,
        }


def mcnemar(b: int, c: int) -> PairedTest:
    """McNemar's test; ``b`` = only the baseline correct, ``c`` = only the candidate correct."""
    if b < 0 or c < 0:
        msg = f"discordant counts must be >= 0, got b={b}, c={c}"
        raise ValueError(msg)
    n = b + c
    direction = (c > b) - (c < b)
    if n == 0:
        return PairedTest("mcnemar_exact", 0.0, 1.0, 0, 0)
    if n <= MCNEMAR_EXACT_MAX:
        from scipy.stats import binom  # lazy: scipy costs 60 MB at start-up

        p = min(1.0, 2.0 * float(binom.cdf(min(b, c), n, 0.5)))
        return PairedTest("mcnemar_exact", float(min(b, c)), p, n, direction)
    stat = (abs(b - c) - 1.0) ** 2 / n if b != c else 0.0
    from scipy.stats import chi2  # lazy: scipy costs 60 MB at start-up

    return PairedTest("mcnemar_chi2", stat, float(chi2.sf(stat, 1)), n, direction)


def _average_ranks(x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Ranks (1-based, ties averaged) and the sizes of the tie groups."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    boundaries = np.flatnonzero(np.diff(xs) != 0) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(xs)]))
    avg = (starts + ends + 1) / 2.0  # mean of the 1-based ranks start+1..end
    ranks_sorted = np.repeat(avg, ends - starts)
    ranks = np.empty_like(ranks_sorted)
    ranks[order] = ranks_sorted
    return ranks, (ends - starts).astype(np.int64)


def _exact_signed_rank_cdf(n: int) -> NDArray[np.float64]:
    """P[W+ <= k] for k = 0..n(n+1)/2 under H0 (no ties): counts of subsets of 1..n by sum."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1, dtype=np.float64)
    counts[0] = 1.0
    for r in range(1, n + 1):
        counts[r:] = counts[r:] + counts[:-r].copy()
    return np.cumsum(counts) / 2.0**n


def wilcoxon_signed_rank(d: Any) -> PairedTest:
    """Two-sided Wilcoxon signed-rank test of the paired differences ``d`` (see module doc).

    The statistic reported is ``min(W+, W-)`` as scipy reports it for the two-sided test."""
    x = np.asarray(d, dtype=np.float64)
    x = x[np.isfinite(x)]
    x = x[x != 0.0]
    n = int(x.size)
    if n == 0:
        return PairedTest("wilcoxon", 0.0, 1.0, 0, 0)
    ranks, ties = _average_ranks(np.abs(x))
    w_plus = float(ranks[x > 0].sum())
    w_minus = float(ranks[x < 0].sum())
    stat = min(w_plus, w_minus)
    direction = (w_plus > w_minus) - (w_plus < w_minus)
    has_ties = bool((ties > 1).any())
    if n <= WILCOXON_EXACT_MAX and not has_ties:
        cdf = _exact_signed_rank_cdf(n)
        k = round(stat)
        p = min(1.0, 2.0 * float(cdf[k]))
        return PairedTest("wilcoxon_exact", stat, p, n, direction)
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float((ties**3 - ties).sum()) / 48.0
    if var <= 0:
        return PairedTest("wilcoxon_normal", stat, 1.0, n, 0)
    z = (stat - mean) / math.sqrt(var)
    from scipy.special import ndtr  # lazy: scipy costs 60 MB at start-up

    p = min(1.0, 2.0 * float(ndtr(-abs(z))))
    return PairedTest("wilcoxon_normal", stat, p, n, direction)


def paired_verdict(test: PairedTest, alpha: float) -> Verdict:
    """``"shadow better"``/``"shadow worse"`` when ``p < alpha`` (by the sample's direction),
    else ``"no significant difference"``."""
    if test.p_value < alpha and test.direction != 0:
        return "shadow better" if test.direction > 0 else "shadow worse"
    return "no significant difference"


def verdict_value(verdict: Verdict) -> int:
    """-1 shadow worse, 0 no significant difference, 1 shadow better (the Prometheus value)."""
    return VERDICTS[verdict]


def _fin(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _predicted_labels(pred: NDArray[Any], probability_threshold: float) -> NDArray[Any]:
    if pred.dtype.kind == "f":
        return (pred >= probability_threshold).astype(np.float64)
    return pred.astype(str)


def correctness(
    pred: NDArray[Any], target: NDArray[Any], probability_threshold: float
) -> NDArray[np.bool_]:
    """Classification: is the predicted label the target? Numeric predictions are read as
    probabilities of the positive class 1 (``p >= threshold``); others compare as text."""
    if pred.dtype.kind == "f":
        labels = (pred >= probability_threshold).astype(np.float64)
        return np.asarray(labels == target.astype(np.float64))
    return np.asarray(pred.astype(str) == target.astype(str))


def compare_predictions(
    baseline: NDArray[Any],
    candidate: NDArray[Any],
    *,
    task: Task | None,
    probability_threshold: float = 0.5,
) -> dict[str, Any]:
    """Pair statistics of two aligned prediction arrays (row ``i`` = the same request)."""
    n = int(len(baseline))
    out: dict[str, Any] = {
        "matched_pairs": n,
        "agreement_rate": None,
        "mean_abs_diff": None,
        "correlation": None,
    }
    if n == 0:
        return out
    numeric = baseline.dtype.kind in "fiu" and candidate.dtype.kind in "fiu"
    if task == "classification" or not numeric:
        lb = _predicted_labels(baseline, probability_threshold)
        lc = _predicted_labels(candidate, probability_threshold)
        out["agreement_rate"] = float(np.mean(lb == lc))
    if numeric:
        b = baseline.astype(np.float64)
        c = candidate.astype(np.float64)
        ok = np.isfinite(b) & np.isfinite(c)
        b, c = b[ok], c[ok]
        if b.size:
            out["mean_abs_diff"] = float(np.mean(np.abs(b - c)))
        if b.size >= 2 and np.std(b) > 0 and np.std(c) > 0:
            out["correlation"] = _fin(float(np.corrcoef(b, c)[0, 1]))
    return out
