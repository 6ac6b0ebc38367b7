"""The `atlas` command: one entry point, one subcommand per job.

Each subcommand lives in the module named for what it does and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a
function taking the parsed arguments and returning the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from atlas import __version__

# Subcommand modules, in the order `atlas --help` lists them.
COMMAND_MODULES = [
    "atlas.catalog",
    "atlas.scaffold",
    "atlas.linkcheck",
    "atlas.refresh",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atlas",
        description="Tooling for the AIGC Atlas catalog and site.",
    )
    parser.add_argument("--version", action="version", version=f"atlas {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("atlas: interrupted", file=sys.stderr)
        return 130
