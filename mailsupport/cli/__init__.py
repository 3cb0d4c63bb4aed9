"""The ``mailsupport`` command line: a thin veneer over the library.

Each subcommand lives in its own module here with ``register(subparsers)`` that adds its
parser and sets ``func``; the handler parses, calls one library function, and formats.
Exit codes (DESIGN §8): 0 clean, 1 findings at or above ``--fail-on``, 2 usage or
configuration error, 3 an operation failed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from ..errors import ConfigError, MailsupportError, OperationError, SampleError

__all__ = ["main", "COMMAND_MODULES", "build_parser"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "demo",
    "sandbox",
    "audit",
    "scan",
    "diagnose",
    "check_settings",
    "spf",
    "run",
    "ingest",
)

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_OPERATION = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="mailsupport",
        description="Reproduce and diagnose a law-practice system's email set-up problems.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"mailsupport: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SampleError as exc:
        print(f"mailsupport: cannot read sample: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OperationError as exc:
        print(f"mailsupport: operation failed: {exc}", file=sys.stderr)
        return EXIT_OPERATION
    except MailsupportError as exc:
        print(f"mailsupport: {exc}", file=sys.stderr)
        return EXIT_OPERATION
    except KeyboardInterrupt:
        return 130
