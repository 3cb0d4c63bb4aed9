"""What several commands share: the ``--format``, ``--fail-on`` and DNS options, the exit code of findings, usage errors.

* :func:`add_format` / :func:`add_fail_on` add the options with the same wording everywhere;
* :func:`add_dns_options` adds where DNS answers come from: ``--zone``, ``--nameserver``, ``--timeout``;
* :func:`fail_on` reads ``--fail-on`` (``info|warning|error|critical|never``); anything else is a
  usage error naming the option (exit 2 through :func:`mailsupport.cli.main`);
* :func:`findings_exit` is the exit code a command's findings give: 1 when one reaches the
  level, else 0;
* :func:`usage_error` prints ``mailsupport COMMAND: what is wrong`` on stderr and gives exit 2.

Layer 5 (presentation); imports only :mod:`mailsupport.model` and :mod:`mailsupport.errors`, when used.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)
if TYPE_CHECKING:  # pragma: no cover
    from ..model import Severity

__all__ = ["FAIL_ON_LEVELS", "add_format", "add_fail_on", "add_dns_options", "fail_on", "findings_exit", "usage_error"]

#: What ``--fail-on`` takes: a severity, or ``never`` (exit 0 whatever the findings).
FAIL_ON_LEVELS = ("info", "warning", "error", "critical", "never")
#: The exit code of a usage or configuration error (see :mod:`mailsupport.cli`).
EXIT_USAGE = 2


def add_format(
    parser: argparse.ArgumentParser,
    choices: Sequence[str] = ("text", "json"),
    *,
    default: str | None = None,
    what: str = "output format",
) -> None:
    """Add ``--format`` (``choices``; ``default``: the first) to a command's parser."""
    default = default or choices[0]
    parser.add_argument("--format", choices=tuple(choices), default=default, help=f"{what} (default {default})")


def add_fail_on(parser: argparse.ArgumentParser, default: str = "error") -> None:
    """Add ``--fail-on LEVEL`` (one of :data:`FAIL_ON_LEVELS`) to a command's parser."""
    parser.add_argument(
        "--fail-on",
        default=default,
        metavar="LEVEL",
        help=f"exit 1 when a finding is at least this severe: {'|'.join(FAIL_ON_LEVELS)} (default {default})",
    )


def add_dns_options(
    parser: argparse.ArgumentParser,
    *,
    zone_help: str = "answer DNS offline from this zone file (repeatable)",
    nameserver_help: str = "ask this DNS server (e.g. the sandbox's)",
    timeout: bool = True,
) -> None:
    """Add ``--zone FILE`` (repeatable, into a list), ``--nameserver HOST[:PORT]`` and, unless
    ``timeout`` is false, ``--timeout SECONDS`` (per DNS question, default 5)."""
    parser.add_argument("--zone", action="append", default=[], metavar="FILE", help=zone_help)
    parser.add_argument("--nameserver", metavar="HOST[:PORT]", help=nameserver_help)
    if timeout:
        parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="DNS timeout per question")


def fail_on(args: argparse.Namespace) -> Severity | None:
    """The level ``--fail-on`` names (``None`` for ``never``); a :class:`~mailsupport.errors.ConfigError`
    on ``--fail-on`` for anything else."""
    from ..errors import ConfigError
    from ..model import Severity

    text = args.fail_on.strip().lower()
    if text == "never":
        return None
    try:
        return Severity.parse(text)
    except ValueError:
        raise ConfigError(
            f"unknown severity {args.fail_on!r}: expected one of {', '.join(FAIL_ON_LEVELS)}", path="--fail-on"
        ) from None


def findings_exit(severities: Iterable[Severity], level: Severity | None) -> int:
    """1 when a finding's severity is at least ``level`` (never, when ``level`` is ``None``), else 0."""
    return 1 if level is not None and any(s >= level for s in severities) else 0


def usage_error(command: str, message: str) -> int:
    """Print ``mailsupport COMMAND: message`` on stderr; returns the usage exit code (2)."""
    print(f"mailsupport {command}: {message}", file=sys.stderr)
    return EXIT_USAGE
