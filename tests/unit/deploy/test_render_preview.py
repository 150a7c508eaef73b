"""deploy/grafana/render_preview.py's data half (no matplotlib needed): the example config replays
generated events into snapshots for every model and variant, and the injected drift shows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "deploy" / "grafana" / "render_preview.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_preview", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_replayed_example_windows_show_the_injected_drift(tmp_path: Path) -> None:
    rp = load_script()
    workspace, project = rp.replay_example(tmp_path, windows=4, drift_at=2, rows=600)
    series = rp.read_windows(workspace, project)
    assert set(series) == {"fraud/champion", "fraud/shadow", "eta/champion", "eta/shadow"}
    for key, windows in series.items():
        assert len(windows) == 4, key
        assert [w.end for w in windows] == sorted(w.end for w in windows)
        before, after = windows[:2], windows[2:]
        assert max(w.share for w in before) < min(w.share for w in after), key
        assert all(w.dataset_drift for w in after), key
        for w in after:  # the generator shifts f00..f04 and the country mix
            assert all(w.columns[c][2] for c in ("f00", "f01", "f02", "f03", "f04", "country"))
    assert rp.severity(0.2, 0.1, "wasserstein") == 2.0
    assert rp.severity(0.01, 0.05, "ks") == 5.0
