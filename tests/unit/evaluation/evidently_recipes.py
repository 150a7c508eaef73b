"""Column recipes → values, shared by ``bench/evidently_cases.py`` (which records Evidently's
verdicts, in the Evidently venv) and ``test_drift_evidently.py`` (which checks driftsnap
against them). Needs only numpy, so it runs in both venvs."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np


def generate(recipe: dict[str, Any], n: int, seed: list[int]) -> list[Any]:
    """Values of one column side from its recipe (distribution, parameters, NaN/inf)."""
    rng = np.random.default_rng(seed)
    dist = recipe["dist"]
    values: list[Any]
    if dist == "normal":
        arr = rng.normal(recipe.get("loc", 0.0), recipe.get("scale", 1.0), n)
        values = [round(float(v), 6) for v in arr]
    elif dist == "integers":
        ints = rng.integers(recipe["low"], recipe["high"], n)
        values = [int(v) for v in ints] if recipe.get("int") else [float(v) for v in ints]
    elif dist == "choice":
        idx = rng.choice(len(recipe["values"]), n, p=recipe.get("p"))
        values = [recipe["values"][int(i)] for i in idx]
    elif dist == "bool":
        values = [bool(v) for v in rng.random(n) < recipe["p"]]
    else:
        raise ValueError(dist)
    n_nan = int(recipe.get("nan", 0.0) * n)
    if n_nan:
        for i in rng.choice(n, n_nan, replace=False):
            values[int(i)] = None if dist in ("choice", "bool") else math.nan
    for k in range(int(recipe.get("inf", 0))):
        values[int(rng.integers(0, n))] = math.inf if k % 2 == 0 else -math.inf
    return values


def digest(values: list[Any]) -> str:
    """SHA-256 of the generated values: detects a change of numpy's random streams."""
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()
