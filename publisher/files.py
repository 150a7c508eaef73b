"""Id validation and atomic file writes: the two rules every workspace path goes through.

An id becomes a file or folder name, so it is checked against a small alphabet before any path
is built: ``[A-Za-z0-9._-]``, starting with a letter or digit (so never ``.``/``..``, a hidden
file, or something a shell reads as an option), no ``..`` anywhere, at most ``MAX_ID_LENGTH``
characters. Temporary files start with a dot, so they can never collide with, or be listed as,
a snapshot.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from publisher.errors import InvalidIdError

MAX_ID_LENGTH = 128
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
TEMP_SUFFIX = ".tmp"


def validate_id(value: object, *, kind: str = "id") -> str:
    """Return ``value`` if it is a valid project/snapshot id, else raise ``InvalidIdError``."""
    if not isinstance(value, str):
        msg = f"{kind} must be a string, got {type(value).__name__}"
        raise InvalidIdError(msg)
    if not value:
        msg = f"{kind} is empty; use letters, digits, '.', '_' or '-'"
        raise InvalidIdError(msg)
    if len(value) > MAX_ID_LENGTH:
        msg = f"{kind} {value[:40]!r}... is {len(value)} characters long; at most {MAX_ID_LENGTH}"
        raise InvalidIdError(msg)
    if "/" in value or "\\" in value or os.sep in value:
        msg = f"{kind} {value!r} contains a path separator; ids are single names"
        raise InvalidIdError(msg)
    if ".." in value:
        msg = f"{kind} {value!r} contains '..'; ids may not climb out of their folder"
        raise InvalidIdError(msg)
    if not _ID_RE.fullmatch(value):
        msg = (
            f"{kind} {value!r} is not allowed: use only letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
        raise InvalidIdError(msg)
    return value


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[BinaryIO], None], *, fsync: bool = True) -> None:
    """Write ``path`` so that readers see either the old file or the complete new one.

    The bytes go to a temporary file in the same folder (same filesystem, so the rename is
    atomic), which is flushed and fsynced before ``os.replace``; the folder is fsynced after so
    the rename survives a power cut. On any error the temporary file is removed.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            with contextlib.suppress(OSError):  # mkstemp makes 0600; snapshots are shareable
                os.fchmod(fh.fileno(), 0o644)
            write(fh)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if fsync:
        fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> None:
    def write(fh: BinaryIO) -> None:
        fh.write(data)

    atomic_write(path, write, fsync=fsync)


def create_exclusive(path: Path, data: bytes, *, fsync: bool = True) -> bool:
    """Create ``path`` with ``data`` atomically, only if it does not exist yet.

    Returns False when another writer created it first. Uses a hard link from a complete
    temporary file, so the file is never visible half-written and never overwritten.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            with contextlib.suppress(OSError):
                os.fchmod(fh.fileno(), 0o644)
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    if fsync:
        fsync_dir(path.parent)
    return True
