"""Durable label-join state: what must survive a kill -9 once offsets are committed past it.

Layout under ``<workspace>/<project>/pending/``::

    <qid>.parquet          the awaiting window's join rows (event_id, request_id, prediction)
    <qid>.json             its metadata; written after the rows, so it is the commit point
    labels-<ms>-<seq>.parquet   labels received, one file per labels-topic commit

Every file is written atomically (temporary file, fsync, rename, fsync of the folder). Order of
effects, which is what makes commits safe:

- a window's files are written *before* the window is marked published (so before the
  events' offsets may be committed past its rows);
- a label batch file is written *before* the labels-topic offsets past it are committed;
- a window's files are deleted once it is finalized (quality published and the late horizon
  over); a label file once none of its labels is still needed (see ``LabelJoin.live_coords``)
  and after the dead-letter producer confirmed the unknown ones.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import polars as pl

from publisher.files import atomic_write, atomic_write_bytes
from service.labels import AwaitingWindow, Coord, Label

log = logging.getLogger(__name__)


class PendingStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._seq = 0
        self._label_coords: dict[Path, set[Coord]] = {}

    # ------------------------------------------------------------------ windows
    def _meta(self, w: AwaitingWindow) -> dict[str, Any]:
        return {
            "v": 1,
            "qid": w.qid,
            "model_id": w.model_id,
            "variant": w.variant,
            "key": w.key,
            "start_ms": w.start_ms,
            "end_ms": w.end_ms,
            "closed_ms": w.closed_ms,
            "deadline_ms": w.deadline_ms,
            "published_ms": w.published_ms,
            "revision": w.revision,
            "labelled_at_publish": w.labelled_at_publish,
        }

    def has_window(self, qid: str) -> bool:
        return (self.root / f"{qid}.json").is_file()

    def save_window(self, w: AwaitingWindow) -> None:
        rows = pl.DataFrame(
            {
                "event_id": pl.Series(w.event_ids, dtype=pl.Utf8),
                "request_id": pl.Series(w.request_ids, dtype=pl.Utf8),
                "prediction": pl.Series(w.predictions, strict=False),
            }
        )

        def write(fh: BinaryIO) -> None:
            rows.write_parquet(fh)

        atomic_write(self.root / f"{w.qid}.parquet", write)
        self.save_meta(w)

    def save_meta(self, w: AwaitingWindow) -> None:
        atomic_write_bytes(self.root / f"{w.qid}.json", orjson.dumps(self._meta(w)))

    def delete_window(self, qid: str) -> None:
        for suffix in (".json", ".parquet"):  # metadata first: it is the commit point
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.root / f"{qid}{suffix}")

    def load_windows(self) -> list[tuple[AwaitingWindow, dict[str, Any]]]:
        out = []
        for meta_path in sorted(self.root.glob("*.json")):
            rows_path = meta_path.with_suffix(".parquet")
            try:
                meta = orjson.loads(meta_path.read_bytes())
                rows = pl.read_parquet(rows_path)
            except (OSError, orjson.JSONDecodeError, pl.exceptions.PolarsError) as exc:
                log.warning("skipping unreadable pending window %s: %s", meta_path, exc)
                continue
            w = AwaitingWindow(
                qid=meta["qid"],
                model_id=meta["model_id"],
                variant=meta["variant"],
                key=dict(meta["key"]),
                start_ms=int(meta["start_ms"]),
                end_ms=int(meta["end_ms"]),
                event_ids=rows["event_id"].to_list(),
                request_ids=rows["request_id"].to_list(),
                predictions=rows["prediction"].to_list(),
                closed_ms=int(meta["closed_ms"]),
                deadline_ms=int(meta["deadline_ms"]),
            )
            out.append((w, meta))
        return out

    # ------------------------------------------------------------------ labels
    def save_labels(self, labels: list[Label], now_ms: int) -> None:
        if not labels:
            return
        self._seq += 1
        path = self.root / f"labels-{now_ms:015d}-{os.getpid()}-{self._seq:06d}.parquet"
        frame = pl.DataFrame(
            {
                "event_id": [lab.event_id for lab in labels],
                "target": [orjson.dumps(lab.target).decode() for lab in labels],
                "partition": pl.Series([lab.partition for lab in labels], dtype=pl.Int64),
                "offset": pl.Series([lab.offset for lab in labels], dtype=pl.Int64),
                "received_ms": pl.Series([lab.received_ms for lab in labels], dtype=pl.Int64),
                "timestamp_ms": pl.Series([lab.timestamp_ms for lab in labels], dtype=pl.Int64),
            }
        )

        def write(fh: BinaryIO) -> None:
            frame.write_parquet(fh)

        atomic_write(path, write)
        self._label_coords[path] = {lab.coord for lab in labels}

    def load_labels(self) -> list[Label]:
        out: list[Label] = []
        for path in sorted(self.root.glob("labels-*.parquet")):
            try:
                frame = pl.read_parquet(path)
            except (OSError, pl.exceptions.PolarsError) as exc:
                log.warning("skipping unreadable label file %s: %s", path, exc)
                continue
            batch = [
                Label(eid, orjson.loads(t), int(p), int(o), int(r), ts)
                for eid, t, p, o, r, ts in frame.select(
                    "event_id", "target", "partition", "offset", "received_ms", "timestamp_ms"
                ).iter_rows()
            ]
            self._label_coords[path] = {lab.coord for lab in batch}
            out.extend(batch)
        return out

    def gc_labels(self, live: Iterable[Coord]) -> int:
        """Delete label files none of whose labels is still live; returns how many."""
        live_set = set(live)
        removed = 0
        for path, coords in list(self._label_coords.items()):
            if coords.isdisjoint(live_set):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                del self._label_coords[path]
                removed += 1
        return removed

    @property
    def label_files(self) -> int:
        return len(self._label_coords)
