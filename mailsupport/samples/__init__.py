"""Mailbox samples: read any sample, summarize each message fast, and view the result.

* :func:`scan` — every :class:`~mailsupport.headers.MessageSummary` of one or more samples
  (mbox such as Google Takeout, Maildir, folder or zip of .eml, single .eml, Outlook .msg
  files through :mod:`~mailsupport.samples.outlook`; a live POP3 mailbox through
  :func:`scan_pop3`). Streaming and lenient, within :class:`ReadLimits` (a message over the
  per-message cap, a zip member over its caps, a FIFO or device: each a row with its problem);
  ``jobs=N`` summarizes a big mbox in N worker processes, results still in order.
* :func:`scan_batches` — ``fn(summary)`` of every message in ``(source, positions, values)``
  batches, run where it was summarized (what the ``scan`` command uses to make its rows in the
  workers); see :mod:`.scanner`.
* :func:`summarize` — the fast path for one raw message (header scan + size counting).
* :func:`full_view` — mail-parser's complete parse of one message, for a closer look.
* :func:`summaries_frame` — the summaries as a pandas DataFrame in one call.

Must not import pandas, matplotlib or mail-parser at module level (``import mailsupport``
stays fast); plots live in :mod:`mailsupport.samples.plots`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

from ..headers import ROW_COLUMNS, MessageSummary
from .files import DEFAULT_LIMITS, RawMessage, ReadLimits
from .readers import iter_raw
from .scanner import batched, default_jobs, scan, scan_batches, scan_mbox, scan_raw
from .summary import address_list, summarize

__all__ = [
    "scan",
    "scan_batches",
    "batched",
    "scan_mbox",
    "scan_raw",
    "scan_pop3",
    "summarize",
    "full_view",
    "summaries_frame",
    "default_jobs",
    "RawMessage",
    "ReadLimits",
    "DEFAULT_LIMITS",
    "iter_raw",
    "address_list",
    "ROW_COLUMNS",
]


def scan_pop3(
    settings: Any, *, headers_only: bool = False, limit: int | None = None, limits: Any = None
) -> Iterator[MessageSummary]:
    """Summaries of a live POP3 mailbox read without deleting (see :mod:`.pop3`); ``limits``
    (:class:`~mailsupport.limits.Limits`, default the kit's) bound every read."""
    from ..limits import DEFAULT_LIMITS
    from .pop3 import iter_pop3

    yield from scan_raw(iter_pop3(settings, headers_only=headers_only, limit=limit, limits=limits or DEFAULT_LIMITS))


def full_view(raw: bytes) -> Any:
    """mail-parser's full parse of one message (``mailparser.MailParser``): bodies, attachments, defects."""
    import mailparser  # heavy: imported only when a full view is asked for

    return mailparser.parse_from_bytes(raw)


def summaries_frame(summaries: Iterable[MessageSummary]) -> Any:
    """The summaries as a pandas DataFrame, one row per message (columns :data:`ROW_COLUMNS`)."""
    import pandas as pd

    return pd.DataFrame([s.row() for s in summaries], columns=list(ROW_COLUMNS))
