"""``mailsupport scan PATH... [--format table|csv|json]``: one summary row per message.

Streams: each message is read, summarized by the fast path and written before the next is
read, so a 20,000-message mbox prints in flat memory. Imports the scanner only when run.
"""

from __future__ import annotations

import argparse
import sys

COLUMNS = ("source", "position", "message_id", "date", "from", "to", "cc", "subject", "raw_size",
           "encoded_size", "attachments", "attachment_sizes", "candidates", "provider",
           "provider_evidence", "problems")
_TABLE = (("position", 14), ("encoded_size", 10), ("attachments", 3), ("provider", 8),
          ("envelope", 34), ("subject", 30), ("problems", 30))


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``scan`` subcommand."""
    p = sub.add_parser("scan", help="summarize every message of mailbox samples (mbox, Maildir, .eml folder/zip)",
                       description="Read mailbox samples (mbox such as Google Takeout, Maildir, a folder or zip "
                                   "of .eml files) and print one row per message: sizes, attachments, envelope "
                                   "recipient candidates, provider fingerprint, problems.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="sample files or folders")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="output format (default table)")
    p.set_defaults(func=_run)


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _run(args: argparse.Namespace) -> int:
    from ..samples import scan

    out = sys.stdout
    problems = 0
    if args.format == "csv":
        import csv
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for s in scan(*args.paths):
            problems += bool(s.problems)
            writer.writerow(s.to_row())
    elif args.format == "json":
        import json
        out.write("[")
        first = True
        for s in scan(*args.paths):
            problems += bool(s.problems)
            out.write(("\n" if first else ",\n") + json.dumps(s.to_row(), ensure_ascii=False))
            first = False
        out.write("\n]\n")
    else:
        out.write("  ".join(name.ljust(w) for name, w in _TABLE).rstrip() + "\n")
        n = 0
        for s in scan(*args.paths):
            n += 1
            problems += bool(s.problems)
            top = next((c for c in s.candidates if c.trusted), None)
            env = f"{top.header}: {top.address}" if top else "-"
            cells = (s.position, s.encoded_size, len(s.attachments), s.provider, env, s.subject,
                     "; ".join(s.problems))
            out.write("  ".join(_clip(v, w).ljust(w) for v, (_n, w) in zip(cells, _TABLE)).rstrip() + "\n")
        out.write(f"{n} message(s), {problems} with problems\n")
    return 0
