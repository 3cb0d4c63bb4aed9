"""The ``mailsupport`` command line: a thin veneer over the library.

Each subcommand lives in its own module here with ``register(subparsers)`` that adds its
parser and sets ``func``; the handler parses, calls one library function, and formats.
Exit codes: 0 clean, 1 findings at or above ``--fail-on``, 2 usage or
configuration error, 3 an operation failed; 141 (128 + SIGPIPE, what a shell reports for a
program killed by a closed pipe) when the output was closed early, as by ``mailsupport scan
... | head``: the command stops quietly, with no traceback (:func:`run`).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence

from ..errors import ConfigError, MailsupportError, OperationError, SampleError

__all__ = ["main", "run", "COMMAND_MODULES", "build_parser"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "demo",
    "sandbox",
    "audit",
    "report",
    "scan",
    "diagnose",
    "check_settings",
    "spf",
    "dmarc",
    "run",
    "ingest",
    "replay",
)

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_OPERATION = 0, 1, 2, 3
#: The output was closed before the command finished (128 + SIGPIPE, as a shell shows it).
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    return _parser(COMMAND_MODULES)


def _parser(modules: Sequence[str]) -> argparse.ArgumentParser:
    """The top-level parser with the subcommands of ``modules`` registered (in that order)."""
    parser = argparse.ArgumentParser(
        prog="mailsupport",
        description="Reproduce and diagnose a law-practice system's email set-up problems.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in modules:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def _modules_for(argv: Sequence[str]) -> Sequence[str]:
    """The subcommand modules ``argv`` needs: only the chosen command's when it names one.

    The top-level parser has no option taking a value, so the first argument not starting
    with ``-`` is the command; its module is ``COMMAND_MODULES``' entry spelled with ``_`` for
    ``-`` (``check-settings`` -> ``check_settings``). Importing only that module keeps every
    command's start short (each subcommand module imports its own library parts); ``--help``,
    no command or an unknown one get the full parser, so usage and errors list every command.
    """
    for arg in argv:
        if arg == "--":
            break
        if not arg.startswith("-"):
            name = arg.replace("-", "_")
            return (name,) if name in COMMAND_MODULES else COMMAND_MODULES
    return COMMAND_MODULES


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(_modules_for(argv))
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


def run() -> None:
    """The ``mailsupport`` program (console script and ``python -m mailsupport``): :func:`main`, then exit.

    A closed output (``mailsupport scan ... | head``) ends the command quietly with
    :data:`EXIT_BROKEN_PIPE`: the ``BrokenPipeError`` is caught here, standard output is
    pointed at the null device so the interpreter's last flush cannot fail again, and nothing
    is printed (the reader is gone; the usual recipe of the Python documentation, "Note on
    SIGPIPE"). The process ends here, so every object is first moved to the collector's
    permanent generation (:func:`gc.freeze`): the interpreter's final full collection would
    otherwise walk every module's objects once more only to exit (about 5 ms of each command).
    Exit handlers run and output is flushed as usual; in-process callers use :func:`main`.
    """
    try:
        code = main()
        sys.stdout.flush()  # inside the try: what is still buffered may meet the closed pipe
    except BrokenPipeError:
        _quiet_stdout()
        code = EXIT_BROKEN_PIPE
    gc.freeze()
    sys.exit(code)


def _quiet_stdout() -> None:
    """Point standard output at the null device (its reader is gone), so no later flush raises."""
    import os

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
