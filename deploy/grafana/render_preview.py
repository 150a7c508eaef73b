"""Render docs/img/dashboard-preview.png: a still picture of the Grafana overview dashboard's main
panels, made offline from real snapshots (no Kafka, Prometheus or Grafana involved).

1. Events of the generator (``service.generator``, the same request batches as
   ``driftsnap generate``: models ``fraud`` and ``eta``, variants ``champion`` and ``shadow``)
   for ``--windows`` five-minute windows, with drift injected from window ``--drift-at`` on,
   written as JSON lines.
2. ``driftsnap replay`` over them (``service.replay.replay``) with ``deploy/examples/config.yaml``
   — references pointed at ``deploy/examples/reference``, the workspace in a temporary folder,
   event-age bounds widened so the fixed demo dates are accepted — the same pipeline and
   snapshots as the service.
3. Per window, from the workspace's snapshots: share of drifted columns, dataset drift, the
   per-column drift score and verdict, tests by status — what the exporter publishes as
   ``driftsnap_drifted_columns_share``, ``driftsnap_dataset_drift``,
   ``driftsnap_column_drift_score``/``_detected`` and ``driftsnap_tests``.
4. A PNG in the dashboard's dark theme: stat tiles of the latest window, share of drifted
   columns over time per model/variant (with the alert threshold), per-column drift of one
   model/variant as a heatmap, and failing tests per window.

The events carry their targets (as if the labels had been joined) so the model-quality tests run.

Dependency: matplotlib, a dev-time tool only (not a dependency of driftsnap, not in
pyproject.toml): ``.venv/bin/pip install matplotlib``.

Usage (repository root)::

    .venv/bin/python deploy/grafana/render_preview.py [--out docs/img/dashboard-preview.png]
    .venv/bin/python deploy/grafana/render_preview.py --workspace DIR --project ID  # existing
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # runnable as a plain script from a source checkout
    sys.path.insert(0, str(ROOT))

CONFIG = ROOT / "deploy" / "examples" / "config.yaml"
REFERENCE_DIR = ROOT / "deploy" / "examples" / "reference"
OUT = ROOT / "docs" / "img" / "dashboard-preview.png"
WINDOW_MS = 300_000  # window.size of the example config
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # fixed: the picture is reproducible
SHARE_ALERT = 0.3  # DriftsnapDriftedColumnsShareHigh (deploy/prometheus/rules)
# tests whose drift score is a p-value (drifted when small); the others are distances
P_VALUE_TESTS = {
    "ks", "chisquare", "z", "fisher_exact", "g_test", "anderson", "cramer_von_mises", "es",
    "mannw", "t_test", "empirical_mmd",
}  # fmt: skip

# Grafana's dark theme
BG, PANEL, BORDER, TEXT, MUTED, GRID = (
    "#111217", "#181b1f", "#2a2d33", "#ccccdc", "#8e8e9e", "#2c3038",
)  # fmt: skip
GREEN, RED, ORANGE = "#73bf69", "#f2495c", "#ff9830"
SERIES = {
    "fraud/champion": "#5794f2",
    "fraud/shadow": "#b877d9",
    "eta/champion": "#73bf69",
    "eta/shadow": "#fade2a",
}


@dataclass
class Window:
    """What one snapshot says about one window of one model/variant."""

    end: datetime
    share: float
    drifted: int
    dataset_drift: bool
    tests: dict[str, int]
    columns: dict[str, tuple[float, float, bool, str]] = field(default_factory=dict)
    # column -> (drift_score, threshold, detected, stattest)


# --- data ---------------------------------------------------------------------------------------


def write_events(path: Path, *, windows: int, drift_at: int, rows: int) -> None:
    from service.commands.generate import request_batches
    from service.generator import MODELS, VARIANTS, encode_events

    start_ms = int(START.timestamp() * 1000)
    with path.open("wb") as fh:
        for i in range(windows):
            frame = request_batches(
                models=list(MODELS),
                variants=VARIANTS,
                seed=1,
                chunk=rows,
                start_ms=start_ms + i * WINDOW_MS,
                span_ms=WINDOW_MS,
                index=i,
                drift_after=drift_at * rows,
            )
            fh.writelines(v + b"\n" for _, v in encode_events(frame, with_target=True))


def replay_example(tmp: Path, *, windows: int, drift_at: int, rows: int) -> tuple[Path, str]:
    from service.config import load_settings
    from service.replay import replay

    config = tmp / "config.yaml"
    text = CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace("/etc/driftsnap/reference", str(REFERENCE_DIR)), "utf-8")
    settings = load_settings(
        config,
        {"workspace": {"path": str(tmp / "workspace")}, "events": {"max_past": "3650d"}},
    )
    events = tmp / "events.jsonl"
    write_events(events, windows=windows, drift_at=drift_at, rows=rows)
    counts = replay(settings, events, dead_letter=tmp / "rejected.jsonl")
    print(f"replayed {counts}", file=sys.stderr)
    return settings.workspace.path, settings.project.id


def read_windows(workspace: Path, project: str) -> dict[str, list[Window]]:
    """``model/variant`` -> its windows, oldest first."""
    from publisher import Workspace

    series: dict[str, list[Window]] = defaultdict(list)
    with Workspace.create(workspace) as ws:
        for entry in ws.list_snapshots(project):
            snap = ws.get_snapshot(project, entry.id)
            if snap.window is None:
                continue
            key = f"{snap.window.key.get('model_id')}/{snap.window.key.get('variant')}"
            drift = next((m.result for m in snap.metrics if m.type == "data_drift"), None)
            if drift is None:
                continue
            tests: dict[str, int] = defaultdict(int)
            for t in snap.tests:
                tests[str(t.status)] += 1
            columns = {
                name: (
                    float(c["drift_score"]),
                    float(c["stattest_threshold"]),
                    bool(c["drift_detected"]),
                    str(c["stattest"]),
                )
                for name, c in drift["columns"].items()
                if c.get("drift_score") is not None
            }
            series[key].append(
                Window(
                    end=snap.window.end,
                    share=float(drift["share_of_drifted_columns"]),
                    drifted=int(drift["number_of_drifted_columns"]),
                    dataset_drift=bool(drift["dataset_drift"]),
                    tests=dict(tests),
                    columns=columns,
                )
            )
    for windows in series.values():
        windows.sort(key=lambda w: w.end)
    order = list(SERIES)
    return dict(
        sorted(series.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0]))
    )


def severity(score: float, threshold: float, stattest: str) -> float:
    """Drift score relative to its threshold: >= 1 means drifted, for p-values and distances."""
    if stattest in P_VALUE_TESTS:
        return threshold / max(score, 1e-12)
    return score / threshold if threshold else 0.0


# --- picture ------------------------------------------------------------------------------------


def _panel(ax: Any, title: str) -> None:
    ax.set_facecolor(PANEL)
    for spine in ax.spines.values():
        spine.set_color(BORDER)
    ax.tick_params(colors=MUTED, labelsize=8, length=0)
    ax.set_title(title, color=TEXT, fontsize=10, loc="left", pad=6, fontweight="bold")
    ax.grid(color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)


def _time_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))


def _stat(fig: Any, rect: list[float], title: str, rows: list[tuple[str, str, str]]) -> None:
    """A stat panel: one coloured tile per model/variant (label, value, colour)."""
    from matplotlib.patches import FancyBboxPatch

    ax = fig.add_axes(rect)
    ax.set_facecolor(PANEL)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(BORDER)
    ax.set_title(title, color=TEXT, fontsize=10, loc="left", pad=6, fontweight="bold")
    n = len(rows)
    for i, (label, value, colour) in enumerate(rows):
        x0 = 0.02 + i * 0.96 / n
        w = 0.96 / n - 0.02
        ax.add_patch(
            FancyBboxPatch(
                (x0, 0.08), w, 0.84, boxstyle="round,pad=0,rounding_size=0.02",
                facecolor=colour, edgecolor="none", transform=ax.transAxes, alpha=0.9,
            )
        )  # fmt: skip
        ax.text(x0 + w / 2, 0.62, value, color="white", fontsize=15, fontweight="bold",
                ha="center", va="center", transform=ax.transAxes)  # fmt: skip
        ax.text(x0 + w / 2, 0.25, label, color="white", fontsize=7.5, ha="center",
                va="center", transform=ax.transAxes)  # fmt: skip


def _mark_drift(ax: Any, drift_from: datetime | None, label: bool) -> None:
    if drift_from is not None:
        ax.axvline(drift_from, color=MUTED, linestyle=":", linewidth=1.2)
        if label:
            ax.text(drift_from, ax.get_ylim()[1] * 0.97, " drift injected", color=MUTED,
                    fontsize=7.5, va="top")  # fmt: skip


def render(
    series: dict[str, list[Window]],
    out: Path,
    *,
    project: str,
    detail: str,
    drift_from: datetime | None = None,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LinearSegmentedColormap

    fig = plt.figure(figsize=(14, 9.4), dpi=100, facecolor=BG)
    # header: the dashboard's title and variables
    fig.text(0.012, 0.975, "driftsnap — overview", color=TEXT, fontsize=14, fontweight="bold",
             va="center")  # fmt: skip
    fig.text(0.25, 0.975, f"project: {project}     model: All     variant: All",
             color=MUTED, fontsize=9.5, va="center")  # fmt: skip
    fig.text(0.988, 0.975, "preview rendered offline from replayed snapshots",
             color=MUTED, fontsize=8, va="center", ha="right", style="italic")  # fmt: skip

    latest = {k: w[-1] for k, w in series.items() if w}
    # row 1: stat panels of the latest window
    y, h, gap = 0.80, 0.13, 0.008
    width = (0.976 - 3 * gap) / 4
    stats = [
        ("Dataset drift", [
            (k, "DRIFT" if w.dataset_drift else "OK", RED if w.dataset_drift else GREEN)
            for k, w in latest.items()
        ]),
        ("Share of drifted columns", [
            (k, f"{w.share:.0%}", RED if w.share > SHARE_ALERT else GREEN)
            for k, w in latest.items()
        ]),
        ("Failing tests", [
            (k, str(w.tests.get("FAIL", 0)), RED if w.tests.get("FAIL", 0) else GREEN)
            for k, w in latest.items()
        ]),
        ("Drifted columns", [
            (k, str(w.drifted), ORANGE if w.drifted else GREEN) for k, w in latest.items()
        ]),
    ]  # fmt: skip
    for i, (title, rows) in enumerate(stats):
        _stat(fig, [0.012 + i * (width + gap), y, width, h], title, rows)

    # row 2: share of drifted columns over time | failing tests per window
    ax = fig.add_axes([0.045, 0.44, 0.44, 0.30])
    _panel(ax, "Share of drifted columns")
    for key, windows in series.items():
        ax.plot([w.end for w in windows], [w.share for w in windows], color=SERIES.get(key, MUTED),
                linewidth=1.8, marker="o", markersize=3, label=key)  # fmt: skip
    ax.axhline(SHARE_ALERT, color=RED, linestyle="--", linewidth=1)
    ax.text(ax.get_xlim()[0], SHARE_ALERT + 0.01, " alert > 0.3", color=RED, fontsize=7.5)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    _mark_drift(ax, drift_from, label=True)
    _time_axis(ax)
    ax.legend(loc="upper left", fontsize=7.5, facecolor=PANEL, edgecolor=BORDER,
              labelcolor=TEXT, ncol=2)  # fmt: skip

    ax = fig.add_axes([0.54, 0.44, 0.448, 0.30])
    _panel(ax, "Failing tests per window (status FAIL)")
    for key, windows in series.items():
        ax.step([w.end for w in windows], [w.tests.get("FAIL", 0) for w in windows],
                where="post", color=SERIES.get(key, MUTED), linewidth=1.8, label=key)  # fmt: skip
    ax.set_ylim(bottom=0)
    _mark_drift(ax, drift_from, label=True)
    _time_axis(ax)
    ax.legend(loc="upper left", fontsize=7.5, facecolor=PANEL, edgecolor=BORDER,
              labelcolor=TEXT, ncol=2)  # fmt: skip

    # row 3: per-column drift of one model/variant (as in the model detail dashboard)
    windows = series[detail]
    columns = list(windows[-1].columns)
    grid = [[severity(*w.columns[c][:2], w.columns[c][3]) if c in w.columns else float("nan")
             for w in windows] for c in columns]  # fmt: skip
    ax = fig.add_axes([0.045, 0.05, 0.86, 0.33])
    _panel(ax, f"Drift score per column ÷ its threshold — {detail} (≥ 1: drifted)")
    ax.grid(False)
    cmap = LinearSegmentedColormap.from_list(
        "drift", ["#1f3b2a", "#37872d", "#e0b400", "#fa6400", "#c4162a"]
    )
    import matplotlib.dates as mdates

    ends = [mdates.date2num(w.end) for w in windows]
    step = ends[1] - ends[0] if len(ends) > 1 else 1 / 288
    image = ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=2, interpolation="nearest",
                      extent=(ends[0] - step, ends[-1], len(columns) - 0.5, -0.5))  # fmt: skip
    for j, w in enumerate(windows):
        for i, c in enumerate(columns):
            if c in w.columns and w.columns[c][2]:
                ax.text(ends[j] - step / 2, i, "●", color="white", fontsize=5, ha="center",
                        va="center")  # fmt: skip
    ax.set_yticks(range(len(columns)))
    ax.set_yticklabels(columns, fontsize=7)
    ax.xaxis_date()
    _time_axis(ax)
    cax = fig.add_axes([0.915, 0.05, 0.01, 0.33])
    bar = fig.colorbar(image, cax=cax)
    bar.ax.tick_params(colors=MUTED, labelsize=7, length=0)
    bar.outline.set_edgecolor(BORDER)
    fig.text(0.93, 0.40, "● drift detected", color=TEXT, fontsize=7.5, ha="left")

    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, facecolor=BG, dpi=100, pil_kwargs={"optimize": True})
    plt.close(fig)
    _quantise(out)


def _quantise(path: Path, colours: int = 128) -> None:
    """Flat panel colours: a palette PNG is a fraction of the RGBA size, and looks the same."""
    from PIL import Image

    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--windows", type=int, default=16, help="five-minute windows to generate")
    p.add_argument("--drift-at", type=int, default=8, help="first drifted window")
    p.add_argument("--rows", type=int, default=600, help="requests per model and window")
    p.add_argument("--workspace", type=Path, help="read this workspace instead of generating")
    p.add_argument("--project", default=None, help="with --workspace: the project id")
    p.add_argument("--detail", default="fraud/champion", help="model/variant of the heatmap")
    args = p.parse_args(argv)
    if args.workspace is not None:
        if not args.project:
            p.error("--workspace needs --project")
        series = read_windows(args.workspace, args.project)
        project = args.project
        drift_from = None
    else:
        with tempfile.TemporaryDirectory(prefix="driftsnap-preview-") as tmp:
            ws, project = replay_example(
                Path(tmp), windows=args.windows, drift_at=args.drift_at, rows=args.rows
            )
            series = read_windows(ws, project)
        drift_from = datetime.fromtimestamp(
            START.timestamp() + args.drift_at * WINDOW_MS / 1000, tz=UTC
        )
    if args.detail not in series:
        p.error(f"--detail {args.detail!r}: the workspace has {sorted(series)}")
    render(series, args.out, project=project, detail=args.detail, drift_from=drift_from)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
