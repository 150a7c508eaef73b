"""Test conditions: a metric value checked against a condition gives a ``TestResult``.

Operators: ``eq``, ``not_eq``, ``gt``, ``gte``, ``lt``, ``lte``, ``is_in``, ``not_in`` and
``approx`` (``|value - expected| <= max(abs_tol, rel_tol * |expected|)``, pytest's rule; with no
tolerance given ``rel_tol`` is 1e-6). A :class:`ReferenceBound` derives the operand from the
reference's value of the same metric, e.g. ``ReferenceBound("approx", rel=0.1)`` is
"reference ± 10 %" and ``ReferenceBound("lte", rel=0.1)`` is "at most the reference + 10 %".

Statuses: SUCCESS when the condition holds; FAIL when it does not and the test is critical,
WARNING when it is not critical; ERROR when the value (or the reference value a bound needs)
could not be computed: ``None``, NaN, ±inf, or a value that cannot be compared.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal, get_args

from evaluation.errors import EvaluationError
from evaluation.snapshot import TestResult, TestStatus

Op = Literal["eq", "not_eq", "gt", "gte", "lt", "lte", "is_in", "not_in", "approx"]
OPS: tuple[str, ...] = get_args(Op)
_SYMBOL = {
    "eq": "==",
    "not_eq": "!=",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "is_in": "in",
    "not_in": "not in",
    "approx": "≈",
}
_DEFAULT_REL = 1e-6


class ConditionError(EvaluationError):
    """A condition is malformed (unknown operator, negative tolerance, ...)."""


def _check_op(op: str) -> None:
    if op not in OPS:
        msg = f"unknown condition operator {op!r}; expected one of {', '.join(OPS)}"
        raise ConditionError(msg)


def _computable(value: Any) -> bool:
    if value is None:
        return False
    return not (isinstance(value, float) and not math.isfinite(value))


@dataclass(frozen=True, slots=True)
class Condition:
    """``value <op> operand``; ``abs_tol``/``rel_tol`` only matter for ``approx``."""

    op: Op
    operand: Any
    abs_tol: float = 0.0
    rel_tol: float = 0.0

    def __post_init__(self) -> None:
        _check_op(self.op)
        if self.abs_tol < 0 or self.rel_tol < 0:
            msg = f"tolerances must be >= 0, got abs_tol={self.abs_tol}, rel_tol={self.rel_tol}"
            raise ConditionError(msg)
        if self.op in ("is_in", "not_in") and (
            isinstance(self.operand, str) or not isinstance(self.operand, Collection)
        ):
            msg = f"{self.op} needs a list of values, got {self.operand!r}"
            raise ConditionError(msg)

    def holds(self, value: Any) -> bool:
        """Whether ``value`` satisfies the condition (``TypeError`` if incomparable)."""
        x = self.operand
        match self.op:
            case "eq":
                return bool(value == x)
            case "not_eq":
                return bool(value != x)
            case "gt":
                return bool(value > x)
            case "gte":
                return bool(value >= x)
            case "lt":
                return bool(value < x)
            case "lte":
                return bool(value <= x)
            case "is_in":
                return value in x
            case "not_in":
                return value not in x
            case _:  # approx
                rel = self.rel_tol if (self.rel_tol or self.abs_tol) else _DEFAULT_REL
                return bool(abs(value - x) <= max(self.abs_tol, rel * abs(x)))

    def describe(self) -> str:
        if self.op == "approx":
            rel = self.rel_tol if (self.rel_tol or self.abs_tol) else _DEFAULT_REL
            return f"≈ {_short(self.operand)} (abs {self.abs_tol:g}, rel {rel:g})"
        return f"{_SYMBOL[self.op]} {_short(self.operand)}"

    def as_dict(self) -> dict[str, Any]:
        operand = list(self.operand) if self.op in ("is_in", "not_in") else self.operand
        out: dict[str, Any] = {"op": self.op, "value": operand}
        if self.op == "approx":
            out["abs"] = self.abs_tol
            out["rel"] = self.rel_tol if (self.rel_tol or self.abs_tol) else _DEFAULT_REL
        return out


@dataclass(frozen=True, slots=True)
class ReferenceBound:
    """A condition whose operand comes from the reference value ``r`` of the metric.

    ``gte``/``gt``: operand ``r - (abs + rel·|r|)`` ("not worse than the reference by more than
    the tolerance" for higher-is-better metrics); ``lte``/``lt``: ``r + (abs + rel·|r|)``;
    ``approx``: ``r`` with the tolerances; ``eq``/``not_eq``: ``r``.
    """

    op: Literal["eq", "not_eq", "gt", "gte", "lt", "lte", "approx"]
    rel: float = 0.0
    abs: float = 0.0

    def __post_init__(self) -> None:
        _check_op(self.op)
        if self.op in ("is_in", "not_in"):
            msg = f"{self.op} cannot be relative to a reference value"
            raise ConditionError(msg)
        if self.rel < 0 or self.abs < 0:
            msg = f"tolerances must be >= 0, got rel={self.rel}, abs={self.abs}"
            raise ConditionError(msg)

    def resolve(self, reference: float) -> Condition:
        slack = self.abs + self.rel * abs(reference)
        if self.op in ("gte", "gt"):
            return Condition(self.op, reference - slack)
        if self.op in ("lte", "lt"):
            return Condition(self.op, reference + slack)
        if self.op == "approx":
            return Condition("approx", reference, abs_tol=self.abs, rel_tol=self.rel)
        return Condition(self.op, reference)

    def as_dict(self, reference: Any, resolved: Condition | None) -> dict[str, Any]:
        """``{"op", "value": resolved operand or None, "reference", "rel"?, "abs"?}``."""
        out: dict[str, Any] = {
            "op": self.op,
            "value": None if resolved is None else resolved.operand,
            "reference": reference,
        }
        if self.rel:
            out["rel"] = self.rel
        if self.abs:
            out["abs"] = self.abs
        return out


def check(
    name: str,
    value: Any,
    condition: Condition | ReferenceBound,
    *,
    reference: Any = None,
    is_critical: bool = True,
    metric_id: str | None = None,
    description: str = "",
    error: str | None = None,
) -> TestResult:
    """Evaluate ``value`` against ``condition`` and return the ``TestResult``.

    ``reference`` is required by a :class:`ReferenceBound`; ``error`` (why the value is
    missing) forces ERROR. ``description`` prefixes the generated explanation.
    """
    cond_dict: dict[str, Any]
    status: TestStatus
    prefix = f"{description}: " if description else ""
    resolved: Condition | None
    if isinstance(condition, ReferenceBound):
        resolved = condition.resolve(float(reference)) if _computable(reference) else None
        cond_dict = condition.as_dict(reference, resolved)
    else:
        resolved = condition
        cond_dict = condition.as_dict()
    if not is_critical:
        cond_dict["critical"] = False
    if error is not None or not _computable(value):
        why = error or "the value could not be computed"
        return _result(name, "ERROR", f"{prefix}{why}", metric_id, cond_dict, None)
    if resolved is None:
        why = "the reference value could not be computed"
        return _result(name, "ERROR", f"{prefix}{why}", metric_id, cond_dict, value)
    try:
        ok = resolved.holds(value)
    except TypeError as exc:
        why = f"cannot compare {value!r} with {resolved.operand!r}: {exc}"
        return _result(name, "ERROR", f"{prefix}{why}", metric_id, cond_dict, value)
    status = "SUCCESS" if ok else ("FAIL" if is_critical else "WARNING")
    text = f"{prefix}{_short(value)}, expected {resolved.describe()}"
    return _result(name, status, text, metric_id, cond_dict, value)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def _result(
    name: str,
    status: TestStatus,
    description: str,
    metric_id: str | None,
    condition: dict[str, Any],
    value: Any,
) -> TestResult:
    return TestResult(
        name=name,
        status=status,
        description=description,
        metric_id=metric_id,
        condition=condition,
        value=value,
    )
