"""Errors raised by the evaluation package.

One root, so a caller can catch everything the evaluation core raises on bad input::

    EvaluationError(ValueError)
     └── DriftInputError          bad drift options (unknown method, method not applicable
                                  to a column kind, threshold out of range) or bad input frames

Degenerate *data* (an empty window, an all-missing column, a constant reference) is never an
error: it becomes an explicit per-column ``status`` in the drift result.
"""

from __future__ import annotations


class EvaluationError(ValueError):
    """Root of the evaluation package's errors."""


class DriftInputError(EvaluationError):
    """Drift options or inputs that cannot be evaluated; the message names the fix."""
