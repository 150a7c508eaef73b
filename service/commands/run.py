"""``driftsnap run --config FILE``: the always-on service."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="run the service: Kafka in, windows closed, snapshots out",
        description="Run the always-on service. Every config key can be overridden with "
        "DRIFTSNAP_<SECTION>__<KEY> environment variables (e.g. DRIFTSNAP_WINDOW__SIZE=10m).",
    )
    p.add_argument("--config", required=True, help="YAML configuration file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from service.config import ConfigError, load_settings

    try:
        settings = load_settings(args.config)
        from service.runner import Service

        service = Service(settings)
    except ConfigError as exc:
        print(f"driftsnap: {exc}", file=sys.stderr)
        return 2
    return service.run()
