"""``mailsupport scan PATH... [--format table|csv|json] [--jobs N] [--max-message-mb MB] [--pop3 TENANT_FILE]``: one row per message.

Thin: parses the options and writes one row per message of
:func:`mailsupport.samples.scan_batches`, which reads every sample (a big mbox in ``--jobs``
worker processes, default one per CPU, at most 4) and gives the rows back in file order, in
batches. A row is made in two halves: :data:`FORMATS`' ``tail`` (every column after the
source and the position, made from the summary where it was made, so only text crosses
between processes) and ``line``, which puts the source and the position in front. Each batch
is written at once, so any mbox prints in flat memory. If the output goes away (``scan ... | head``), the
workers are stopped and the command ends quietly (:func:`mailsupport.cli.run`).

``--pop3 TENANT_FILE`` also reads the tenant's live inbound POP3 mailbox, never deleting
anything (RETR, or ``TOP n 0`` with ``--headers-only``; see :mod:`mailsupport.samples.pop3`).
CSV cells a spreadsheet would run as formulas get a leading ``'``
(:mod:`mailsupport.csvcells`, OWASP's rule); ``--max-message-mb`` sets the per-message cap of
:class:`~mailsupport.samples.ReadLimits` (docs/limits.md). Imports the scanner only when run.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..csvcells import FORMULA_STARTS, safe_cell
from ..headers import ROW_COLUMNS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)
if TYPE_CHECKING:  # pragma: no cover
    from typing import IO

    from ..headers import MessageSummary

#: The CSV/JSON columns: :data:`mailsupport.headers.ROW_COLUMNS`.
COLUMNS = ROW_COLUMNS
_TABLE = (
    ("position", 14),
    ("encoded_size", 12),
    ("attachments", 11),
    ("provider", 8),
    ("envelope", 34),
    ("subject", 30),
    ("problems", 30),
)
#: A cell (after the first) starting with a formula character or a quote, in cells joined by "\x1f".
_cell_start = re.compile("\x1f[" + re.escape("".join(FORMULA_STARTS)) + "']").search
_FIRST = frozenset((*FORMULA_STARTS, "'"))


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``scan`` subcommand."""
    p = sub.add_parser(
        "scan",
        help="summarize every message of mailbox samples (mbox, Maildir, .eml folder/zip)",
        description="Read mailbox samples (mbox such as Google Takeout, Maildir, a folder or zip "
        "of .eml files) and print one row per message: sizes, attachments, envelope "
        "recipient candidates, provider fingerprint, problems.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="sample files or folders")
    p.add_argument("--format", choices=tuple(FORMATS), default="table", help="output format (default table)")
    p.add_argument(
        "--pop3",
        metavar="TENANT_FILE",
        help="also read this tenant's inbound POP3 mailbox live, without deleting anything",
    )
    p.add_argument(
        "--headers-only",
        action="store_true",
        help="with --pop3: fetch only headers (TOP n 0), so sizes are the header sizes",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes for a big mbox (default: CPUs, at most 4; 1 = no workers)",
    )
    p.add_argument(
        "--max-message-mb",
        type=_megabytes,
        default=None,
        metavar="MB",
        help="per-message cap in MiB (default 160), for files and --pop3 alike: a bigger message "
        "is a row with its problem, never read into memory; see docs/limits.md",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar (shown on stderr only on a terminal)")
    p.set_defaults(func=_run)


def _megabytes(text: str) -> int:
    """``--max-message-mb``'s value in bytes (a positive number of MiB)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 1 << 30:
        raise argparse.ArgumentTypeError(f"expected a positive number of MiB, got {text!r}")
    return max(1, int(value * (1 << 20)))


# ----------------------------------------------------------------------------- CSV


def _csv_cells(cells: Iterable[object]) -> str:
    r"""Cells as one CSV line without its line end (RFC 4180 §2): a cell with a comma, quote, LF or CR
    is quoted, quotes doubled; a cell a spreadsheet would run as a formula gets a ``'`` in front
    (:func:`~mailsupport.csvcells.safe_cell`).

    What ``csv.writer`` writes for the safe cells, except that a cell with a lone CR is quoted
    too: Python 3.11's writer leaves it bare, and its own reader then fails on the row. About
    twice as fast as ``writerow``. The cells go through :func:`str` first; see :func:`_csv_strs`.
    """
    return _csv_strs([cell if cell.__class__ is str else str(cell) for cell in cells])


def _csv_strs(strs: list[str]) -> str:
    """:func:`_csv_cells` of cells that are strings already.

    Common case: no quote, LF or CR in any cell and no cell starting with a formula character or
    ``'`` (one test each on the cells joined by a unit separator), so each cell needs only the
    comma test; otherwise every cell is looked at.
    """
    joined = "\x1f".join(strs)
    if '"' in joined or "\n" in joined or "\r" in joined or _cell_start(joined) is not None or joined[:1] in _FIRST:
        out = []
        for cell in strs:
            cell = safe_cell(cell)
            if "," in cell or '"' in cell or "\n" in cell or "\r" in cell:
                cell = '"' + cell.replace('"', '""') + '"'
            out.append(cell)
        return ",".join(out)
    if "," in joined:
        return ",".join([('"' + cell + '"') if "," in cell else cell for cell in strs])
    return ",".join(strs)


def _csv_line(cells: Iterable[object]) -> str:
    """:func:`_csv_cells` with its line end (``"\\n"``, as ``csv.writer(lineterminator="\\n")``)."""
    return _csv_cells(cells) + "\n"


def _csv_tail(s: MessageSummary) -> tuple[str, bool]:
    """The CSV cells of ``s.row()[2:]``, made from the summary's fields without the row tuple: the
    values :meth:`~mailsupport.headers.MessageSummary.row` gives, as the strings :func:`str` gives
    (``f"{n}"`` is ``str(n)``), in :data:`COLUMNS` order."""
    attachments = s.attachments
    problems = s.problems
    return _csv_strs(
        [
            s.message_id,
            s.date,
            s.from_,
            ";".join(s.to),
            ";".join(s.cc),
            s.subject,
            f"{s.raw_size}",
            f"{s.encoded_size}",
            f"{len(attachments)}",
            ";".join([f"{a.encoded_size}" for a in attachments]) if attachments else "",
            ";".join([f"{c.header}: {c.address} ({c.position})" for c in s.candidates]),
            f"{s.entry_hop}",
            s.entry_by,
            s.provider,
            "; ".join(s.provider_evidence),
            "; ".join(problems),
        ]
    ), bool(problems)


_CSV_HEADS: dict[str, str] = {}  # source -> its CSV cell (one per sample path)


def _csv_row(source: str, position: str, tail: str) -> str:
    head = _CSV_HEADS.get(source)
    if head is None:
        head = _CSV_HEADS[source] = _csv_cells((source,))
    return f"{head},{position if position.isdigit() else _csv_cells((position,))},{tail}\n"


# ----------------------------------------------------------------------------- JSON


def _json_tail(s: MessageSummary) -> tuple[str, bool]:
    import json

    # json.dumps of a dict is "{" + its members + "}": the members after source and position
    return json.dumps(dict(zip(COLUMNS[2:], s.row()[2:])), ensure_ascii=False)[1:-1], bool(s.problems)


def _json_row(source: str, position: str, tail: str) -> str:
    import json

    return f'\n{{"source": {json.dumps(source, ensure_ascii=False)}, "position": {json.dumps(position)}, {tail}}}'


# ----------------------------------------------------------------------------- table


def _clip(text: object, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table_tail(s: MessageSummary) -> tuple[str, bool]:
    top = next((c for c in s.candidates if c.trusted), None)
    env = f"{top.header}: {top.address}" if top else "-"
    cells = (s.encoded_size, len(s.attachments), s.provider, env, s.subject, "; ".join(s.problems))
    return "  ".join(_clip(v, w).ljust(w) for v, (_n, w) in zip(cells, _TABLE[1:])), bool(s.problems)


def _table_row(_source: str, position: str, tail: str) -> str:
    return (_clip(position, _TABLE[0][1]).ljust(_TABLE[0][1]) + "  " + tail).rstrip() + "\n"


# ----------------------------------------------------------------------------- formats


@dataclass(frozen=True, slots=True, kw_only=True)
class Format:
    """One output format: what comes before the rows, each row's two halves, the separator, the end.

    ``tail(summary)`` gives ``(the row after its source and position, whether the message has
    problems)``; it runs where the summary is made (a worker process), so it is a module-level
    function. ``line(source, position, tail)`` gives the whole row.
    """

    head: str
    tail: Callable[[MessageSummary], tuple[str, bool]]
    line: Callable[[str, str, str], str]
    sep: str = ""
    end: Callable[[int, int], str] = lambda _n, _problems: ""


FORMATS = {
    "table": Format(
        head="  ".join(name.ljust(w) for name, w in _TABLE).rstrip() + "\n",
        tail=_table_tail,
        line=_table_row,
        end=lambda n, problems: f"{n} message(s), {problems} with problems\n",
    ),
    "csv": Format(head=",".join(COLUMNS) + "\n", tail=_csv_tail, line=_csv_row),
    "json": Format(head="[", tail=_json_tail, line=_json_row, sep=",", end=lambda _n, _p: "\n]\n"),
}


def write_rows(
    batches: Iterable[tuple[str, list[str], list[tuple[str, bool]]]], fmt: Format, out: IO[str], *, after: int = 0
) -> tuple[int, int]:
    """Write rows in ``fmt`` after ``after`` rows already written (no head or end); returns (messages,
    messages with problems).

    The batches are :func:`mailsupport.samples.scan_batches`' with ``fmt.tail``: ``(source,
    positions, tails)``; each is written at once, after ``fmt.sep`` when rows came before it.
    """
    n = problems = 0
    line = fmt.line
    for source, positions, tails in batches:
        if not tails:
            continue
        out.write(
            (fmt.sep if n + after else "")
            + fmt.sep.join([line(source, position, tail) for position, (tail, _bad) in zip(positions, tails)])
        )
        n += len(tails)
        problems += sum([bad for _tail, bad in tails])
    return n, problems


def _run(args: argparse.Namespace) -> int:
    import os
    from contextlib import closing

    from ..errors import ConfigError
    from ..progress import scan_progress
    from ..samples import DEFAULT_LIMITS, ReadLimits, batched, default_jobs, scan_batches, scan_pop3

    if not args.paths and not args.pop3:
        raise ConfigError("give at least one sample PATH or --pop3 TENANT_FILE", path="scan")
    settings = None
    limits = DEFAULT_LIMITS if args.max_message_mb is None else ReadLimits(max_message_bytes=args.max_message_mb)
    pop3_limits = None
    if args.pop3:
        from dataclasses import replace

        from ..config import load_tenant
        from ..limits import DEFAULT_LIMITS as SERVER_LIMITS

        tenant = load_tenant(args.pop3, environ=os.environ)
        if tenant.inbound is None:
            raise ConfigError("the tenant has no inbound mailbox to read", path="inbound", source=args.pop3)
        settings = tenant.inbound.server
        pop3_limits = replace(SERVER_LIMITS, max_message_bytes=limits.max_message_bytes)
    fmt = FORMATS[args.format]
    jobs = args.jobs if args.jobs is not None else default_jobs()
    # everything imported so far lives until the command exits: the collector need not walk it again
    # during the scan (gc.freeze; the workers do the same), which saves 3-7 % of a scan's time
    import gc

    gc.freeze()
    bar = scan_progress(args.paths, quiet=args.quiet)  # bytes, on stderr, only on a terminal
    out = bar.guard(sys.stdout)
    out.write(fmt.head)
    n = problems = 0
    for path in args.paths:
        rows = scan_batches(fmt.tail, path, jobs=jobs, limits=limits, on_bytes=bar.update if bar.active else None)
        with closing(rows):  # a closed output stops the workers here, not when the generator is collected
            done = write_rows(rows, fmt, out, after=n)
        bar.path_done()
        n += done[0]
        problems += done[1]
    if settings is not None:
        rows = batched(scan_pop3(settings, headers_only=args.headers_only, limits=pop3_limits), fmt.tail)
        done = write_rows(rows, fmt, out, after=n)
        n += done[0]
        problems += done[1]
    out.write(fmt.end(n, problems))
    bar.close()
    return 0
