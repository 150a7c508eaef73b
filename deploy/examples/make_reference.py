"""Regenerate deploy/examples/reference/fraud.parquet, the demo reference dataset.

A deterministic synthetic sample of a fraud model's traffic (5 000 rows) with the columns the
example config maps: event_id, timestamp, 5 numerical and 3 categorical features, the model's
score (prediction) and the label (target). Run: .venv/bin/python deploy/examples/make_reference.py
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROWS = 5000
OUT = Path(__file__).resolve().parent / "reference" / "fraud.parquet"


def build(rows: int = ROWS, seed: int = 20261203) -> pa.Table:
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(mean=3.2, sigma=1.0, size=rows), 2)
    account_age_days = rng.gamma(shape=2.0, scale=200.0, size=rows).round(0)
    tx_count_24h = rng.poisson(3.0, size=rows).astype("int64")
    distance_km = np.round(rng.exponential(25.0, size=rows), 1)
    hour = rng.integers(0, 24, size=rows).astype("int64")
    country = rng.choice(
        ["DE", "FR", "NL", "ES", "IT", "PL"], p=[0.35, 0.2, 0.15, 0.12, 0.1, 0.08], size=rows
    )
    merchant = rng.choice(
        ["grocery", "fuel", "electronics", "travel", "fashion", "online"],
        p=[0.3, 0.15, 0.1, 0.1, 0.15, 0.2],
        size=rows,
    )
    device = rng.choice(["ios", "android", "web"], p=[0.4, 0.4, 0.2], size=rows)
    logit = (
        -4.0
        + 0.6 * np.log1p(amount)
        - 0.002 * account_age_days
        + 0.15 * tx_count_24h
        + 0.01 * distance_km
        + 0.8 * (merchant == "electronics")
        + 0.5 * (device == "web")
    )
    prob = 1.0 / (1.0 + np.exp(-logit))
    target = (rng.random(rows) < prob).astype("int64")
    prediction = np.clip(prob + rng.normal(0.0, 0.05, size=rows), 0.0, 1.0).round(4)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ts = [start + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 7 * 86400, rows))]
    return pa.table(
        {
            "event_id": [f"ref-{i:06d}" for i in range(rows)],
            "timestamp": pa.array(ts, type=pa.timestamp("ms", tz="UTC")),
            "amount": amount,
            "account_age_days": account_age_days,
            "tx_count_24h": tx_count_24h,
            "distance_km": distance_km,
            "hour": hour,
            "country": country,
            "merchant_category": merchant,
            "device": device,
            "prediction": prediction,
            "target": target,
        }
    )


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(build(), OUT, compression="zstd")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
