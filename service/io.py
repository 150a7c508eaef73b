"""Reading tabular files (CSV, Parquet) into polars for the offline commands.

CSV: the header row names the columns, every row is read to infer types (no surprise when a
late row holds a decimal), and empty cells are missing (null), in text columns too.
Parquet: read as stored. The format comes from the suffix (``.csv``, ``.parquet``/``.pq``),
else from the Parquet magic bytes. Every failure becomes an :class:`InputFileError` whose
message names the file and the cause.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

_PARQUET_MAGIC = b"PAR1"


class InputFileError(ValueError):
    """A data file is missing, unreadable, empty or not CSV/Parquet."""


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    with path.open("rb") as fh:
        return "parquet" if fh.read(4) == _PARQUET_MAGIC else "csv"


def read_table(path: str | Path) -> pl.DataFrame:
    """Read a CSV or Parquet file; raise :class:`InputFileError` with the cause."""
    p = Path(path)
    if not p.exists():
        msg = f"{p}: no such file"
        raise InputFileError(msg)
    if not p.is_file():
        msg = f"{p}: not a regular file"
        raise InputFileError(msg)
    try:
        fmt = _format_of(p)
        if fmt == "parquet":
            df = pl.read_parquet(p)
        else:
            df = pl.read_csv(
                p,
                infer_schema_length=None,
                null_values=[""],
                empty_string_is_null=True,
            )
    except OSError as exc:
        msg = f"{p}: cannot read ({exc.strerror or exc})"
        raise InputFileError(msg) from exc
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"{p}: not a readable {fmt} file ({first})"
        raise InputFileError(msg) from exc
    if df.width == 0:
        msg = f"{p}: no columns (an empty file?)"
        raise InputFileError(msg)
    return df
