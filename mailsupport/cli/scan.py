"""``mailsupport scan PATH... [--format table|csv|json] [--jobs N] [--max-message-mb MB] [--pop3 TENANT_FILE]``: one row per message.

``--pop3 TENANT_FILE`` also reads the tenant's live inbound POP3 mailbox, never deleting
anything (RETR, or ``TOP n 0`` with ``--headers-only``; see :mod:`mailsupport.samples.pop3`).

Streams: messages are read, summarized by the fast path and written in batches of 256 rows,
so a 20,000-message mbox prints in flat memory. A big mbox (over 8 MB) is cut at
``From `` lines into ``--jobs`` byte ranges (default: the number of CPUs, at most 4): this
process scans the first, forked children the others. A child numbers its range's messages
from 1 and writes each row without its leading source and position to a temporary file, with
the row's length to an index file; copying the files out in order, this process puts the
source and the true position (the earlier ranges' messages plus the number) back in front of
each row, so nobody counts the messages before a range and the output is exactly what one
process writes. If the output goes away (``scan ... | head``), the workers are stopped and
the command ends quietly (:func:`mailsupport.cli.run`). Imports the scanner only when run.

CSV cells a spreadsheet would run as formulas get a leading ``'``
(:mod:`mailsupport.csvcells`, OWASP's rule); ``--max-message-mb`` sets the per-message cap of
:class:`~mailsupport.samples.ReadLimits` (docs/limits.md).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Iterable

from ..csvcells import FORMULA_STARTS, safe_cell

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)
if TYPE_CHECKING:  # pragma: no cover
    from typing import IO, Any

COLUMNS = ("source", "position", "message_id", "date", "from", "to", "cc", "subject", "raw_size",
           "encoded_size", "attachments", "attachment_sizes", "candidates", "entry_hop", "entry_by", "provider",
           "provider_evidence", "problems")
_TABLE = (("position", 14), ("encoded_size", 12), ("attachments", 11), ("provider", 8),
          ("envelope", 34), ("subject", 30), ("problems", 30))
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
#: A worker's range is cut this much shorter (as :func:`~mailsupport.samples.mbox.mbox_split_points`'
#: ``count_cost``): this process copies the workers' rows out after its own range, numbering them.
COPY_COST = 0.01
_BATCH = 256
#: A cell (after the first) starting with a formula character or a quote, in cells joined by "\x1f".
_cell_start = re.compile("\x1f[" + re.escape("".join(FORMULA_STARTS)) + "']").search
_FIRST = frozenset((*FORMULA_STARTS, "'"))
#: Rows of a worker's file numbered per block when this process copies it out (bounded memory).
_COPY_ROWS = 1024


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``scan`` subcommand."""
    p = sub.add_parser("scan", help="summarize every message of mailbox samples (mbox, Maildir, .eml folder/zip)",
                       description="Read mailbox samples (mbox such as Google Takeout, Maildir, a folder or zip "
                                   "of .eml files) and print one row per message: sizes, attachments, envelope "
                                   "recipient candidates, provider fingerprint, problems.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="sample files or folders")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="output format (default table)")
    p.add_argument("--pop3", metavar="TENANT_FILE",
                   help="also read this tenant's inbound POP3 mailbox live, without deleting anything")
    p.add_argument("--headers-only", action="store_true",
                   help="with --pop3: fetch only headers (TOP n 0), so sizes are the header sizes")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes for a big mbox (default: CPUs, at most 4; 1 = no workers)")
    p.add_argument("--max-message-mb", type=_megabytes, default=None, metavar="MB",
                   help="per-message cap in MiB (default 160), for files and --pop3 alike: a bigger message "
                        "is a row with its problem, never read into memory; see docs/limits.md")
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


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _csv_line(cells: tuple[object, ...]) -> str:
    r"""One CSV line (RFC 4180 §2, ``"\n"`` line end): a cell with a comma, quote, LF or CR is quoted, quotes doubled;
    a cell a spreadsheet would run as a formula gets a ``'`` in front (:func:`~mailsupport.csvcells.safe_cell`).

    What ``csv.writer(lineterminator="\n")`` writes for the safe cells, except that a cell with a
    lone CR is quoted too: Python 3.11's writer leaves it bare, and its own reader then fails on
    the row. About twice as fast as ``writerow``. Common case: no quote, LF or CR in any cell
    and no cell starting with a formula character or ``'`` (one test each on the cells joined
    by a unit separator), so each cell needs only the comma test; otherwise
    :func:`_csv_line_checked` looks at every cell.
    """
    strs = [cell if cell.__class__ is str else str(cell) for cell in cells]
    joined = "\x1f".join(strs)
    if ('"' in joined or "\n" in joined or "\r" in joined or _cell_start(joined) is not None
            or strs[0][:1] in _FIRST):
        return _csv_line_checked(strs)
    return ",".join([('"' + cell + '"') if "," in cell else cell for cell in strs]) + "\n"


def _csv_line_checked(cells: list[str]) -> str:
    """:func:`_csv_line` of string cells, each made safe and tested for every character that needs quoting."""
    out = []
    for cell in cells:
        cell = safe_cell(cell)
        if "," in cell or '"' in cell or "\n" in cell or "\r" in cell:
            cell = '"' + cell.replace('"', '""') + '"'
        out.append(cell)
    return ",".join(out) + "\n"


def _csv_text(s) -> str:
    """One summary's CSV line (:func:`_csv_line`)."""
    return _csv_line(s.row())


def _table_text(s) -> str:
    """One summary's ``table`` line; it starts with the position padded to its column."""
    top = next((c for c in s.candidates if c.trusted), None)
    env = f"{top.header}: {top.address}" if top else "-"
    cells = (s.position, s.encoded_size, len(s.attachments), s.provider, env, s.subject, "; ".join(s.problems))
    return "  ".join(_clip(v, w).ljust(w) for v, (_n, w) in zip(cells, _TABLE)).rstrip() + "\n"


def _line_maker(fmt: str) -> Callable[[Any], str]:
    """The function making one row's text in ``fmt``; a JSON row starts with ``,\\n`` (the first one's comma is dropped)."""
    if fmt == "csv":
        return _csv_text
    if fmt == "json":
        import json
        dumps = json.dumps
        return lambda s: ",\n" + dumps(s.to_row(), ensure_ascii=False)
    return _table_text


def _write_rows(summaries: Iterable, fmt: str, out: IO[str], *, first: bool) -> tuple[int, int]:
    """Write the rows (no header/footer); returns (messages, messages with problems)."""
    n = problems = 0
    pending: list[str] = []  # rows written in batches: one write call per _BATCH rows
    write = out.write
    make = _line_maker(fmt)
    for s in summaries:
        n += 1
        if s.problems:
            problems += 1
        pending.append(make(s))
        if first:
            if fmt == "json":
                pending[-1] = pending[-1][1:]
            first = False
        if len(pending) >= _BATCH:
            write("".join(pending))
            pending.clear()
    write("".join(pending))
    return n, problems


def _row_head(fmt: str, source: str) -> str:
    r"""What every row of ``source`` has before its position (a worker's rows: never the first JSON row).

    csv: the source cell as :func:`_csv_line` writes it, and a comma; json: ``,\n`` and the
    object up to the position's value (``json.dumps`` writes the keys in :data:`COLUMNS` order);
    table: nothing (the position is the first column).
    """
    if fmt == "csv":
        return _csv_line((source,))[:-1] + ","
    if fmt == "json":
        import json
        return ',\n{"source": ' + json.dumps(source, ensure_ascii=False) + ', "position": "'
    return ""


def _position_text(fmt: str, ordinal: int) -> str:
    """The position field of an mbox row: the message's number (padded to its column in a table)."""
    text = str(ordinal)
    if fmt == "table":
        width = _TABLE[0][1]
        return text.ljust(width) if len(text) < width else _clip(text, width).ljust(width)
    return text


def _write_worker_rows(summaries: Iterable, fmt: str, fh: IO[str], index: IO[bytes], head: str) -> tuple[int, int]:
    """A worker's rows, its messages numbered from 1, each written without ``head`` and its position.

    Each row is made exactly as :func:`_write_rows` makes it (not the first row), checked to
    start with ``head`` and the position text of its number, and written without them to
    ``fh``; ``index`` gets each written row's length in characters (4-byte unsigned ints,
    native order) for :func:`_copy_numbered`. A row that does not start so raises
    ``RuntimeError``: the scan then fails saying a worker failed, never prints a wrong number.
    """
    from array import array

    n = problems = 0
    pending: list[str] = []
    lengths = array("I")
    make = _line_maker(fmt)
    for s in summaries:
        n += 1
        if s.problems:
            problems += 1
        line = make(s)
        lead = head + _position_text(fmt, n)
        if not line.startswith(lead) or s.position != str(n):
            raise RuntimeError(f"row {n} of the range does not start with its source and number "
                               f"(position {s.position!r}); this is a bug")
        rest = line[len(lead):]
        pending.append(rest)
        lengths.append(len(rest))
        if len(pending) >= _BATCH:
            fh.write("".join(pending))
            pending.clear()
            index.write(lengths.tobytes())
            del lengths[:]
    fh.write("".join(pending))
    index.write(lengths.tobytes())
    return n, problems


def _copy_numbered(name: str, out: IO[str], fmt: str, head: str, base: int) -> None:
    """Append a worker's rows file to ``out``, putting ``head`` and each row's position back in front.

    The row numbered ``k`` in the worker's range is message ``base + k`` of the mbox. Reads
    :data:`_COPY_ROWS` rows at a time (lengths from ``name + ".idx"``), so memory stays bounded.
    """
    from array import array

    k = base
    with open(name, encoding="utf-8", newline="") as part, open(name + ".idx", "rb") as index:
        while True:
            lengths = array("I")
            lengths.frombytes(index.read(lengths.itemsize * _COPY_ROWS))
            if not lengths:
                break
            text = part.read(sum(lengths))  # characters: the file is UTF-8 text, lengths count characters
            pieces = []
            at = 0
            for length in lengths:
                k += 1
                pieces.append(head)
                pieces.append(_position_text(fmt, k))
                pieces.append(text[at:at + length])
                at += length
            out.write("".join(pieces))


def _parallel(path: str, fmt: str, jobs: int, out: IO[str], *, first: bool,
              max_message_bytes: int | None = None,
              track: Callable[..., Iterable] | None = None) -> tuple[int, int] | None:
    """Scan a big mbox in ``jobs`` processes; ``None`` when it is not worth it (small, not an mbox, no fork).

    The mbox is cut at ``From `` lines into ``jobs`` byte ranges (:func:`mbox_split_points`). This
    process scans the first range straight to ``out`` while ``jobs - 1`` forked children each
    write the rows of one later range to a temporary file, numbered from 1 and without their
    source and position (:func:`_write_worker_rows`); the files are then copied out in order with
    those put back (:func:`_copy_numbered`), so the output is exactly what one process writes.
    ``track(summaries, scale=...)`` may wrap this process's range (the progress bar): the
    ranges are scanned at once, so its share of the file stands for the whole.
    """
    from pathlib import Path

    from ..errors import SampleError
    from ..samples import DEFAULT_LIMITS, scan_mbox
    from ..samples.mbox import mbox_split_points
    from ..samples.readers import sample_kind

    p = Path(path)
    if (jobs < 2 or not hasattr(os, "fork") or not p.is_file() or p.stat().st_size < PARALLEL_MIN_BYTES
            or sample_kind(p) != "mbox"):
        return None
    import tempfile  # only for workers' rows files (it imports shutil and random)

    cap = DEFAULT_LIMITS.max_message_bytes if max_message_bytes is None else max_message_bytes
    head = _row_head(fmt, str(p))
    points = mbox_split_points(p, jobs, count_cost=COPY_COST)
    ranges = list(zip(points, points[1:]))
    if len(ranges) < 2:
        return None
    with tempfile.TemporaryDirectory(prefix="mailsupport-scan-") as tmpdir:
        out.flush()
        children = []
        for k, (a, b) in enumerate(ranges[1:], 1):
            name = os.path.join(tmpdir, f"{k}.part")
            pid = os.fork()
            if pid == 0:  # the child: one range into its file, then leave without running the parent's cleanup
                status = 1
                try:
                    # numbered from 1 in the range; this process adds the earlier ranges' messages
                    with open(name, "w", encoding="utf-8", newline="") as fh, open(name + ".idx", "wb") as idx:
                        count, bad = _write_worker_rows(scan_mbox(p, start=a, end=b, first_ordinal=1,
                                                                  max_message_bytes=cap), fmt,
                                                        fh, idx, head)
                    with open(name + ".n", "w", encoding="ascii") as fh:
                        fh.write(f"{count} {bad}")
                    status = 0
                except BaseException as exc:  # reported by the parent, which sees the exit status
                    print(f"mailsupport scan worker for bytes {a}-{b} of {p}: {type(exc).__name__}: {exc}",
                          file=sys.stderr)
                finally:
                    os._exit(status)
            children.append((pid, name))
        try:
            own = scan_mbox(p, start=ranges[0][0], end=ranges[0][1], max_message_bytes=cap)
            if track is not None:
                own = track(own, scale=(points[-1] - points[0]) / max(1, ranges[0][1] - ranges[0][0]))
            n, problems = _write_rows(own, fmt, out, first=first)
        except BaseException:
            # the output went away (a closed pipe) or the scan failed: the workers' rows are not wanted
            import signal
            for pid, _name in children:
                os.kill(pid, signal.SIGTERM)
            raise
        finally:
            statuses = [os.waitpid(pid, 0)[1] for pid, _name in children]
        for status, (_pid, name) in zip(statuses, children):
            if status != 0:
                raise SampleError(f"a scan worker process failed (wait status {status}, its error is above); "
                                  "run with --jobs 1 to scan in one process", source=str(p))
            with open(name + ".n", encoding="ascii") as fh:
                count, bad = map(int, fh.read().split())
            _copy_numbered(name, out, fmt, head, base=n)
            n += count
            problems += bad
    return n, problems


def _run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..progress import scan_progress
    from ..samples import DEFAULT_LIMITS, ReadLimits, scan, scan_pop3

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
    bar = scan_progress(args.paths, quiet=args.quiet)  # bytes, on stderr, only on a terminal
    out = bar.guard(sys.stdout)
    fmt = args.format
    jobs = args.jobs if args.jobs is not None else min(os.cpu_count() or 1, 4)
    if fmt == "csv":
        out.write(",".join(COLUMNS) + "\n")
    elif fmt == "json":
        out.write("[")
    else:
        out.write("  ".join(name.ljust(w) for name, w in _TABLE).rstrip() + "\n")
    n = problems = 0
    for path in args.paths:
        done = _parallel(str(path), fmt, jobs, out, first=(n == 0), max_message_bytes=limits.max_message_bytes,
                         track=bar.track)
        if done is None:
            done = _write_rows(bar.track(scan(path, limits=limits)), fmt, out, first=(n == 0))
        bar.path_done()
        n += done[0]
        problems += done[1]
    if settings is not None:
        done = _write_rows(scan_pop3(settings, headers_only=args.headers_only, limits=pop3_limits), fmt, out,
                           first=(n == 0))
        n += done[0]
        problems += done[1]
    if fmt == "json":
        out.write("\n]\n")
    elif fmt == "table":
        out.write(f"{n} message(s), {problems} with problems\n")
    bar.close()
    return 0
