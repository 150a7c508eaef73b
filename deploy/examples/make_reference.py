"""Regenerate the demo reference datasets in deploy/examples/reference/.

``fraud.parquet`` and ``eta.parquet`` are written from ``service.generator.reference_frame``,
so they hold exactly the columns the event generator (``driftsnap generate``, the compose
``generator`` service) sends: the numerical features ``f00``..``f19``, the categorical
``country``, ``device`` and ``channel``, the model's ``prediction`` and the ground truth
``target`` (5 000 undrifted champion rows each; deterministic).

- ``fraud``: binary classification, ``prediction`` a probability, ``target`` 0/1.
- ``eta``: regression, delivery time in minutes.

Run from the repository root: ``.venv/bin/python deploy/examples/make_reference.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "reference"

if str(ROOT) not in sys.path:  # runnable as a plain script from a source checkout
    sys.path.insert(0, str(ROOT))

from service.generator import MODELS, reference_frame  # noqa: E402


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for model in MODELS:
        path = OUT / f"{model}.parquet"
        reference_frame(model).write_parquet(path, compression="zstd", statistics=False)
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
