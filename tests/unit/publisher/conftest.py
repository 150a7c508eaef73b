from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.create(tmp_path / "ws") as workspace:
        yield workspace


@pytest.fixture
def project_id(ws: Workspace) -> str:
    return ws.create_project("Fraud", "fraud model", project_id="fraud").id
