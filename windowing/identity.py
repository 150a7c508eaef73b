"""Deterministic snapshot identity, so a replay rewrites a snapshot instead of adding one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

from windowing.window import Window

#: ``uuid5(NAMESPACE_URL, "https://driftsnap.dev/ns/snapshot")``, frozen here as a literal so a
#: change of that recipe can never silently change every id.
SNAPSHOT_NAMESPACE = uuid.UUID("6ee6b418-022e-507f-94b3-7888657a6f81")


def snapshot_canonical(
    project: str,
    key: Mapping[str, str | None],
    window: Window,
    reference_id: str,
    spec_hash: str,
) -> str:
    """The canonical text hashed by ``snapshot_id``: compact JSON, keys sorted, UTF-8."""
    return json.dumps(
        {
            "v": 1,
            "project": project,
            "key": {str(k): key[k] for k in sorted(key)},
            "window": [window.start_ms, window.end_ms],
            "reference_id": reference_id,
            "spec_hash": spec_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def snapshot_id(
    project: str,
    key: Mapping[str, str | None],
    window: Window,
    reference_id: str,
    spec_hash: str,
) -> str:
    """UUIDv5 (as a string) of ``snapshot_canonical(...)`` in ``SNAPSHOT_NAMESPACE``."""
    canonical = snapshot_canonical(project, key, window, reference_id, spec_hash)
    return str(uuid.uuid5(SNAPSHOT_NAMESPACE, canonical))
