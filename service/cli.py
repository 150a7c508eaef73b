"""The ``driftsnap`` command line: one sub-command per module in ``service.commands``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from importlib.metadata import PackageNotFoundError, version

# Each module in service.commands exposes ``register(subparsers)``, which adds its parser and
# sets ``func`` (called with the parsed namespace, returns the exit code).
COMMANDS = ("run", "replay", "demo", "generate", "evaluate", "workspace")


def package_version() -> str:
    try:
        return version("driftsnap")
    except PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftsnap",
        description=(
            "Always-on ML monitoring: read inference events from Kafka into event-time windows, "
            "compute drift, data-quality and model-quality snapshots against a reference, and "
            "publish them to a workspace and Prometheus."
        ),
    )
    parser.add_argument("--version", action="version", version=f"driftsnap {package_version()}")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default INFO)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"service.commands.{name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
