"""Time of data quality (``compute_data_quality``) on synthetic windows.

    .venv/bin/python bench/quality.py                       # 10k and 100k rows
    .venv/bin/python bench/quality.py --baseline OLD.py     # also time an older quality.py

Frames: 50 numerical columns (normal, with ~1 % nulls, a few NaN/±inf, one constant and one
all-null column) and 5 categorical columns (12 levels, ~1 % nulls); reference 10k rows of the
same shape. Reports the best of ``--repeat`` runs after a warm-up. With ``--baseline`` (a path
to another ``quality.py``, e.g. ``git show HEAD:evaluation/quality.py > /tmp/old.py``) it times
that module on the same frames, checks that both results are equal and prints new/old.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from evaluation import quality  # noqa: E402
from evaluation.schema import DatasetSchema  # noqa: E402

N_NUM, N_CAT = 50, 5


def frame(rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    for i in range(N_NUM):
        x = rng.normal(i, 1 + i / 10, rows)
        if i == 0:
            x[:] = 3.0  # constant
        idx = rng.integers(0, rows, max(rows // 1000, 1))
        x[idx[: len(idx) // 2]] = np.nan
        x[idx[len(idx) // 2 :]] = np.inf
        s = pl.Series(f"n{i}", x)
        mask = rng.random(rows) < 0.01
        s = pl.select(pl.when(pl.lit(pl.Series(mask))).then(None).otherwise(s)).to_series()
        cols[f"n{i}"] = pl.Series(f"n{i}", [None] * rows, dtype=pl.Float64) if i == 1 else s
    for j in range(N_CAT):
        v = rng.integers(0, 12, rows).astype(str).astype(object)
        v[rng.random(rows) < 0.01] = None
        cols[f"c{j}"] = pl.Series(f"c{j}", list(v), dtype=pl.String)
    return pl.DataFrame(cols)


def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("quality_baseline", path)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _fitted(ref: Any) -> Any:
    """A fitted reference as plain data (the two modules' dataclasses never compare equal)."""
    cols = {c: {k: getattr(v, k) for k in v.__slots__} for c, v in ref.columns.items()}
    return cols, ref.result


def best(fn: Any, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--ref-rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--baseline", help="path to another quality.py to compare with")
    args = ap.parse_args()

    ref = frame(args.ref_rows, 0)
    schema = DatasetSchema(
        numerical=tuple(f"n{i}" for i in range(N_NUM)),
        categorical=tuple(f"c{j}" for j in range(N_CAT)),
    )
    mods = [("new", quality)] + ([("old", load(args.baseline))] if args.baseline else [])
    fit = {}
    for name, mod in mods:
        t = best(lambda mod=mod: mod.QualityReference.fit(ref, schema), args.repeat)
        fit[name] = mod.QualityReference.fit(ref, schema)
        print(f"fit {args.ref_rows:>7} rows  {name}: {t * 1e3:8.1f} ms")
    for rows in args.rows:
        cur = frame(rows, rows)
        res: dict[str, Any] = {}
        times: dict[str, float] = {}
        for name, mod in mods:
            qref = fit[name]
            times[name] = best(
                lambda mod=mod, qref=qref, cur=cur: mod.compute_data_quality(cur, schema, qref),
                args.repeat,
            )
            res[name] = mod.compute_data_quality(cur, schema, qref)
            print(f"window {rows:>7} rows  {name}: {times[name] * 1e3:8.1f} ms")
        if "old" in res:
            same = res["new"] == res["old"] and _fitted(fit["new"]) == _fitted(fit["old"])
            ratio = times["new"] / times["old"]
            print(
                f"window {rows:>7} rows  new/old: {ratio:.3f}  (speedup {1 / ratio:.1f}x)"
                f"  results equal: {same}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
