"""The drift methods, by name, as Evidently 0.6.7 defines them (see ``docs/drift.md``).

Every method takes a :class:`Samples` (one column's cleaned reference and current values, the
numerical ones sorted) and returns an :class:`Outcome`: the statistic, the p-value for tests,
the *score* the verdict is taken on (the p-value for tests, the distance otherwise) and a
status. Verdict directions are per method (:class:`StatTest.verdict`):

========================  ===============  ========================================
method                    score            drift when
========================  ===============  ========================================
ks, cramer_von_mises      p-value          p <= threshold
chisquare, z, fisher_…,   p-value          p < threshold
g_test, anderson, es,
mannw, t_test, TVD,
empirical_mmd
wasserstein, psi, kl_div, distance         d >= threshold
jensenshannon, hellinger
ed                        distance         d > threshold
========================  ===============  ========================================

Degenerate input (too few values, no variance where the method needs some) gives a status
other than ``"ok"`` and no score, never a NaN or a scipy warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evaluation.stattests._distance import (
    ed,
    hellinger,
    jensenshannon,
    kl_div,
    merged_cdfs,
    psi,
    wasserstein,
    wasserstein_distance,
)
from evaluation.stattests._pvalue import (
    anderson,
    chisquare,
    cramer_von_mises,
    empirical_mmd,
    es,
    fisher_exact,
    g_test,
    ks,
    mannw,
    t_test,
    tvd,
    z,
)
from evaluation.stattests._samples import (
    Binning,
    Kind,
    Outcome,
    Samples,
    Status,
    Verdict,
    binned_percents,
    degenerate,
)

__all__ = [
    "STATTESTS",
    "Binning",
    "Kind",
    "Outcome",
    "Samples",
    "StatTest",
    "Status",
    "Verdict",
    "binned_percents",
    "default_stattest",
    "degenerate",
    "merged_cdfs",
    "wasserstein_distance",
]


@dataclass(frozen=True, slots=True)
class StatTest:
    """A drift method: its name, the column kinds it accepts, its default threshold, the
    direction of its verdict, and the smallest sample size per side it needs."""

    name: str
    fn: Callable[[Samples], Outcome]
    kinds: frozenset[Kind]
    default_threshold: float
    verdict: Verdict
    min_size: int = 1

    def drifted(self, score: float, threshold: float) -> bool:
        if self.verdict == "p<":
            return score < threshold
        if self.verdict == "p<=":
            return score <= threshold
        if self.verdict == "d>=":
            return score >= threshold
        return score > threshold

    @property
    def is_test(self) -> bool:
        return self.verdict.startswith("p")


_NUM: frozenset[Kind] = frozenset({"num"})
_CAT: frozenset[Kind] = frozenset({"cat"})
_BOTH: frozenset[Kind] = frozenset({"num", "cat"})

#: Method name → implementation. The names, kinds and default thresholds are Evidently's
#: (``chisquare`` and ``z`` also take numerical columns, as Evidently's defaults use them so).
STATTESTS: dict[str, StatTest] = {
    t.name: t
    for t in (
        StatTest("ks", ks, _NUM, 0.05, "p<="),
        StatTest("chisquare", chisquare, _BOTH, 0.05, "p<"),
        StatTest("z", z, _BOTH, 0.05, "p<"),
        StatTest("wasserstein", wasserstein, _NUM, 0.1, "d>="),
        StatTest("jensenshannon", jensenshannon, _BOTH, 0.1, "d>="),
        StatTest("psi", psi, _BOTH, 0.1, "d>="),
        StatTest("kl_div", kl_div, _BOTH, 0.1, "d>="),
        StatTest("hellinger", hellinger, _BOTH, 0.1, "d>="),
        StatTest("TVD", tvd, _CAT, 0.1, "p<"),
        StatTest("fisher_exact", fisher_exact, _CAT, 0.1, "p<"),
        StatTest("g_test", g_test, _CAT, 0.1, "p<"),
        StatTest("anderson", anderson, _NUM, 0.1, "p<", min_size=2),
        StatTest("cramer_von_mises", cramer_von_mises, _NUM, 0.1, "p<=", min_size=2),
        StatTest("ed", ed, _NUM, 0.1, "d>"),
        StatTest("es", es, _NUM, 0.05, "p<", min_size=5),
        StatTest("mannw", mannw, _NUM, 0.05, "p<"),
        StatTest("t_test", t_test, _NUM, 0.05, "p<", min_size=2),
        StatTest("empirical_mmd", empirical_mmd, _NUM, 0.1, "p<", min_size=2),
    )
}


def default_stattest(kind: Kind, n_ref_nonnull: int, n_unique_union: int) -> tuple[str, float]:
    """Evidently's default method and threshold for a column.

    Reference (non-null) ≤ 1000: numerical → ``z`` if ≤ 2 distinct values in reference ∪
    current, ``chisquare`` if 3-5, else ``ks``; categorical → ``z`` if ≤ 2, else
    ``chisquare``; threshold 0.05. Reference > 1000: numerical → ``jensenshannon`` if ≤ 5
    distinct, else ``wasserstein``; categorical → ``jensenshannon``; threshold 0.1.
    """
    if n_ref_nonnull <= 1000:
        if kind == "num" and n_unique_union > 5:
            name = "ks"
        else:
            name = "chisquare" if n_unique_union > 2 else "z"
    elif kind == "num" and n_unique_union > 5:
        name = "wasserstein"
    else:
        name = "jensenshannon"
    return name, STATTESTS[name].default_threshold
