"""Errors raised by the windowing core.

Tree::

    WindowingError                    root of everything raised here
    ├── WindowSpecError(ValueError)   bad duration string or inconsistent WindowSpec
    └── BatchSchemaError(ValueError)  a micro-batch lacks a required column or has a wrong dtype
"""

from __future__ import annotations


class WindowingError(Exception):
    """Root of the windowing error tree."""


class WindowSpecError(WindowingError, ValueError):
    """A duration or window specification is invalid; the message names the value and the fix."""


class BatchSchemaError(WindowingError, ValueError):
    """A micro-batch handed to ``WindowState.add`` does not follow the consumer contract."""
