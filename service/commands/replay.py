"""``driftsnap replay --config FILE --events FILE.jsonl [--workspace DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "replay",
        help="run the identical pipeline over a JSONL file of events (backfills, tests)",
    )
    p.add_argument("--config", required=True, help="YAML configuration file")
    p.add_argument("--events", required=True, help="one JSON event per line")
    p.add_argument(
        "--labels",
        default=None,
        help="delayed ground truth, one label per line (quality and comparison snapshots)",
    )
    p.add_argument("--workspace", default=None, help="override workspace.path")
    p.add_argument(
        "--dead-letter",
        default=None,
        help="where rejected/late records go (default EVENTS.rejected.jsonl)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from service.config import ConfigError, load_settings
    from service.replay import replay

    events = Path(args.events)
    if not events.is_file():
        print(f"driftsnap replay: events file {events} not found", file=sys.stderr)
        return 2
    labels = Path(args.labels) if args.labels else None
    if labels is not None and not labels.is_file():
        print(f"driftsnap replay: labels file {labels} not found", file=sys.stderr)
        return 2
    overrides = {"workspace": {"path": args.workspace}} if args.workspace else None
    try:
        settings = load_settings(args.config, overrides)
        dead = Path(args.dead_letter) if args.dead_letter else events.with_suffix(".rejected.jsonl")
        counts = replay(
            settings,
            events,
            dead_letter=dead,
            labels=labels,
            on_published=lambda s: print(f"snapshot {s.id} {s.name} {s.timestamp.isoformat()}"),
        )
    except ConfigError as exc:
        print(f"driftsnap: {exc}", file=sys.stderr)
        return 2
    print(
        f"replayed {counts['events']} events: {counts['snapshots']} snapshots, "
        f"{counts['rejected']} rejected, {counts['late']} late (dead letters in {dead})",
        file=sys.stderr,
    )
    if counts["unpublished"]:
        print(
            f"driftsnap replay: {counts['unpublished']} window(s) could not be published "
            "(see the errors above); run the replay again once the cause is fixed",
            file=sys.stderr,
        )
        return 1
    return 0
