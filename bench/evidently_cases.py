"""Generate ``tests/unit/evaluation/evidently_cases.json``: Evidently 0.6.7's drift verdicts
on seeded data, the oracle of ``tests/unit/evaluation/test_drift_evidently.py``.

Runs ONCE, inside the Evidently venv (never the project venv)::

    python3 -m venv bench/.venvs/evidently
    DO_NOT_TRACK=1 bench/.venvs/evidently/bin/pip install evidently==0.6.7 pandas==2.2.3 \\
        pydantic==2.10.6 scipy==1.15.2 scikit-learn==1.6.1 litestar==2.15.1 \\
        statsmodels==0.14.4 pyarrow==19.0.1
    DO_NOT_TRACK=1 bench/.venvs/evidently/bin/python bench/evidently_cases.py

Each column is described by a *recipe* (distribution, parameters, missing/inf injection)
drawn from ``numpy.random.default_rng([case_seed, column_index, side])``; the file stores the
recipes, a SHA-256 of the generated values (so a change of numpy's streams is detected, not
silently compared) and Evidently's method, threshold, score and verdict per column. The unit
test regenerates the data from the recipes with the same function
(``tests/unit/evaluation/evidently_recipes.py``) and needs no Evidently.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("DO_NOT_TRACK", "1")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "unit" / "evaluation" / "evidently_cases.json"
sys.path.insert(0, str(ROOT))  # the Evidently venv does not have the project installed

from tests.unit.evaluation.evidently_recipes import digest, generate  # noqa: E402

N = {"kind": "num"}
C = {"kind": "cat"}


def col(
    name: str,
    kind: str,
    ref: dict[str, Any],
    cur: dict[str, Any] | None = None,
    method: str | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "ref": ref,
        "cur": cur or ref,
        "method": method,
        "threshold": threshold,
    }


def normal(loc: float = 0.0, scale: float = 1.0, **kw: Any) -> dict[str, Any]:
    return {"dist": "normal", "loc": loc, "scale": scale, **kw}


def ints(low: int, high: int, **kw: Any) -> dict[str, Any]:
    return {"dist": "integers", "low": low, "high": high, **kw}


def choice(values: list[str], p: list[float] | None = None, **kw: Any) -> dict[str, Any]:
    return {"dist": "choice", "values": values, "p": p, **kw}


CATS = ["a", "b", "c", "d"]
CASES: list[dict[str, Any]] = [
    {
        "name": "small_numerical",
        "seed": 1,
        "n_ref": 300,
        "n_cur": 250,
        "columns": [
            col("same", "num", normal()),
            col("shifted", "num", normal(), normal(0.6)),
            col("scaled", "num", normal(), normal(0.0, 1.3)),
        ],
    },
    {
        "name": "small_numerical_equal_sizes",
        "seed": 2,
        "n_ref": 1000,
        "n_cur": 1000,
        "columns": [
            col("same", "num", normal(5, 2)),
            col("shifted", "num", normal(5, 2), normal(5.3, 2)),
        ],
    },
    {
        "name": "small_few_unique",
        "seed": 3,
        "n_ref": 200,
        "n_cur": 180,
        "columns": [
            col("three", "num", ints(0, 3)),
            col("three_drift", "num", ints(0, 3), ints(1, 4)),
            col("binary", "num", ints(0, 2)),
            col("five", "num", ints(0, 5, int=True)),
            col("six", "num", ints(0, 6)),
        ],
    },
    {
        "name": "small_categorical",
        "seed": 4,
        "n_ref": 400,
        "n_cur": 300,
        "columns": [
            col("same", "cat", choice(CATS, [0.4, 0.3, 0.2, 0.1])),
            col("drift", "cat", choice(CATS, [0.4, 0.3, 0.2, 0.1]), choice(CATS, [0.25] * 4)),
            col("binary", "cat", choice(["x", "y"], [0.7, 0.3]), choice(["x", "y"], [0.6, 0.4])),
            col("new_category", "cat", choice(CATS[:3]), choice(CATS)),
            col("flag", "cat", {"dist": "bool", "p": 0.3}, {"dist": "bool", "p": 0.36}),
        ],
    },
    {
        "name": "large_numerical",
        "seed": 5,
        "n_ref": 5000,
        "n_cur": 3000,
        "columns": [
            col("same", "num", normal(10, 3)),
            col("shifted", "num", normal(10, 3), normal(10.5, 3)),
            col("tiny_shift", "num", normal(0, 1), normal(0.05, 1)),
            col("constant_ref", "num", {"dist": "integers", "low": 7, "high": 8}, normal(7, 1)),
        ],
    },
    {
        "name": "large_few_unique",
        "seed": 6,
        "n_ref": 2000,
        "n_cur": 1500,
        "columns": [
            col("five", "num", ints(0, 5)),
            col("five_drift", "num", ints(0, 5), ints(1, 6)),
            col("binary", "num", ints(0, 2, int=True)),
            col("twelve", "num", ints(0, 12)),
        ],
    },
    {
        "name": "large_categorical",
        "seed": 7,
        "n_ref": 3000,
        "n_cur": 2000,
        "columns": [
            col("same", "cat", choice(CATS + ["e", "f"])),
            col(
                "drift",
                "cat",
                choice(CATS, [0.4, 0.3, 0.2, 0.1]),
                choice(CATS, [0.1, 0.2, 0.3, 0.4]),
            ),
            col("flag", "cat", {"dist": "bool", "p": 0.5}),
        ],
    },
    {
        "name": "missing_and_inf",
        "seed": 8,
        "n_ref": 1500,
        "n_cur": 900,
        "columns": [
            col("num_nan", "num", normal(nan=0.05, inf=4), normal(0.2, nan=0.1, inf=3)),
            col("cat_nan", "cat", choice(CATS, nan=0.1), choice(CATS, nan=0.2)),
            col("small_after_cleaning", "num", normal(nan=0.4), normal(0.3, nan=0.3)),
        ],
    },
    {
        "name": "methods_numerical",
        "seed": 9,
        "n_ref": 400,
        "n_cur": 300,
        "columns": [
            *[
                col(f"{m}_same", "num", normal(), method=m)
                for m in (
                    "psi",
                    "kl_div",
                    "jensenshannon",
                    "hellinger",
                    "wasserstein",
                    "anderson",
                    "cramer_von_mises",
                    "ed",
                    "es",
                    "t_test",
                    "ks",
                    "chisquare",
                    "z",
                )
            ],
            *[
                col(f"{m}_shift", "num", normal(), normal(0.4, 1.2), method=m)
                for m in (
                    "psi",
                    "kl_div",
                    "jensenshannon",
                    "hellinger",
                    "wasserstein",
                    "anderson",
                    "cramer_von_mises",
                    "ed",
                    "es",
                    "t_test",
                )
            ],
            *[
                col(f"{m}_discrete", "num", ints(0, 15), ints(0, 18), method=m)
                for m in ("psi", "kl_div", "jensenshannon", "hellinger")
            ],
            col("ks_threshold", "num", normal(), normal(0.1), method="ks", threshold=0.5),
        ],
    },
    {
        "name": "methods_categorical",
        "seed": 10,
        "n_ref": 300,
        "n_cur": 300,
        "columns": [
            *[
                col(f"{m}_same", "cat", choice(CATS), method=m)
                for m in (
                    "chisquare",
                    "psi",
                    "kl_div",
                    "jensenshannon",
                    "hellinger",
                    "TVD",
                    "g_test",
                    "z",
                )
            ],
            *[
                col(f"{m}_drift", "cat", choice(CATS), choice(CATS, [0.1, 0.2, 0.3, 0.4]), method=m)
                for m in (
                    "chisquare",
                    "psi",
                    "kl_div",
                    "jensenshannon",
                    "hellinger",
                    "TVD",
                    "g_test",
                )
            ],
            col("fisher_same", "cat", choice(["x", "y"]), method="fisher_exact"),
            col(
                "fisher_drift",
                "cat",
                choice(["x", "y"]),
                choice(["x", "y"], [0.3, 0.7]),
                method="fisher_exact",
            ),
        ],
    },
    {
        "name": "mmd_seeded",
        "seed": 11,
        "n_ref": 120,
        "n_cur": 100,
        "seed_global": 0,
        "columns": [
            col("mmd", "num", normal(), normal(0.5), method="empirical_mmd"),
        ],
    },
    {
        "name": "mmd_same_seeded",
        "seed": 12,
        "n_ref": 150,
        "n_cur": 130,
        "seed_global": 0,
        "columns": [col("mmd", "num", normal(), method="empirical_mmd")],
    },
    {
        "name": "reference_over_1000_by_rows_not_values",
        "seed": 13,
        "n_ref": 1100,
        "n_cur": 500,
        "columns": [col("nan_heavy", "num", normal(nan=0.2), normal(0.1))],
    },
]


def _display_to_name() -> dict[str, str]:
    from evidently.calculations.stattests.registry import _registered_stat_tests

    out = {}
    for name, by_type in _registered_stat_tests.items():
        for test in by_type.values():
            out[test.display_name] = name
    return out


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    from evidently import ColumnMapping
    from evidently.metrics import DataDriftTable
    from evidently.report import Report

    ref: dict[str, list[Any]] = {}
    cur: dict[str, list[Any]] = {}
    for i, c in enumerate(case["columns"]):
        ref[c["name"]] = generate(c["ref"], case["n_ref"], [case["seed"], i, 0])
        cur[c["name"]] = generate(c["cur"], case["n_cur"], [case["seed"], i, 1])
        c["sha256"] = digest(ref[c["name"]] + cur[c["name"]])
    mapping = ColumnMapping(
        target=None,
        prediction=None,
        numerical_features=[c["name"] for c in case["columns"] if c["kind"] == "num"],
        categorical_features=[c["name"] for c in case["columns"] if c["kind"] == "cat"],
    )
    per_method = {c["name"]: c["method"] for c in case["columns"] if c["method"]}
    per_threshold = {c["name"]: c["threshold"] for c in case["columns"] if c["threshold"]}
    names = _display_to_name()
    for c in case["columns"]:
        single = ColumnMapping(
            target=None,
            prediction=None,
            numerical_features=[c["name"]] if c["kind"] == "num" else [],
            categorical_features=[c["name"]] if c["kind"] == "cat" else [],
        )
        # one report per column, so a seeded global RNG (MMD) starts fresh for each
        if "seed_global" in case:
            np.random.seed(case["seed_global"])
        report = Report(
            metrics=[
                DataDriftTable(
                    columns=[c["name"]],
                    per_column_stattest={k: v for k, v in per_method.items() if k == c["name"]}
                    or None,
                    per_column_stattest_threshold={
                        k: v for k, v in per_threshold.items() if k == c["name"]
                    }
                    or None,
                )
            ]
        )
        try:
            report.run(
                reference_data=pd.DataFrame({c["name"]: ref[c["name"]]}),
                current_data=pd.DataFrame({c["name"]: cur[c["name"]]}),
                column_mapping=single,
            )
            res = report.as_dict()["metrics"][0]["result"]["drift_by_columns"][c["name"]]
            c["evidently"] = {
                "stattest": names.get(res["stattest_name"], res["stattest_name"]),
                "threshold": res["stattest_threshold"],
                "score": float(res["drift_score"]),
                "drift": bool(res["drift_detected"]),
                "column_type": res["column_type"],
            }
        except Exception as exc:  # recorded: e.g. Evidently's g_test on unequal sizes
            c["evidently"] = {"error": f"{type(exc).__name__}: {exc}"}
    del mapping
    return case


def main() -> None:
    import evidently

    cases = [run_case(json.loads(json.dumps(c))) for c in CASES]
    doc = {
        "generated_by": "bench/evidently_cases.py",
        "evidently_version": evidently.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
    }
    OUT.write_text(json.dumps(doc, indent=1, allow_nan=True) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases)", file=sys.stderr)


if __name__ == "__main__":
    main()
