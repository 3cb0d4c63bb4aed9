"""Mailbox samples: read any sample, summarize each message fast, and view the result.

* :func:`scan` — every :class:`~mailsupport.headers.MessageSummary` of one or more samples
  (mbox such as Google Takeout, Maildir, folder or zip of .eml, single .eml, Outlook .msg
  files through :mod:`~mailsupport.samples.outlook`; a live POP3 mailbox through
  :func:`scan_pop3`). Streaming and lenient, within :class:`ReadLimits` (a message over the
  per-message cap, a zip member over its caps, a FIFO or device: each a row with its problem).
* :func:`summarize` — the fast path for one raw message (header scan + size counting).
* :func:`full_view` — mail-parser's complete parse of one message, for a closer look.
* :func:`summaries_frame` — the summaries as a pandas DataFrame in one call.

Must not import pandas, matplotlib or mail-parser at module level (``import mailsupport``
stays fast); plots live in :mod:`mailsupport.samples.plots`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

from ..headers import MessageSummary
from .files import DEFAULT_LIMITS, RawMessage, ReadLimits
from .mbox import iter_mbox_data
from .readers import iter_raw, resolve_sample
from .summary import address_list, summarize

__all__ = ["scan", "scan_mbox", "scan_raw", "scan_pop3", "summarize", "full_view", "summaries_frame",
           "RawMessage", "ReadLimits", "DEFAULT_LIMITS", "iter_raw", "address_list", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ("source", "position", "message_id", "date", "from", "to", "cc", "subject",
                   "raw_size", "encoded_size", "attachments", "attachment_sizes", "candidates", "entry_hop",
                   "entry_by", "provider", "provider_evidence", "problems")


def scan_raw(messages: Iterable[RawMessage], *, mx_hosts: Sequence[str] = ()) -> Iterator[MessageSummary]:
    """Summarize raw messages one by one (a read problem becomes a summary with that problem)."""
    for item in messages:
        if item.problem:
            yield MessageSummary(source=item.source, position=item.position, problems=(item.problem,))
        else:
            yield summarize(item.data, source=item.source, position=item.position, mx_hosts=mx_hosts)


def scan(*paths: str | os.PathLike[str], limits: ReadLimits = DEFAULT_LIMITS,
         mx_hosts: Sequence[str] = ()) -> Iterator[MessageSummary]:
    """Every message of every sample path, summarized, in order (streaming), read within ``limits``.

    ``mx_hosts`` are the tenant's own MX/gateway hosts in front of the mailbox: hops from them
    belong to each message's receiving chain (:func:`mailsupport.chain.receiving_chain`).
    """
    for path in paths:
        p, kind = resolve_sample(path)
        if kind == "mbox":
            yield from scan_mbox(p, max_message_bytes=limits.max_message_bytes, mx_hosts=mx_hosts)
        else:
            yield from scan_raw(iter_raw(p, limits=limits), mx_hosts=mx_hosts)


def scan_mbox(path: str | os.PathLike[str], *, start: int = 0, end: int | None = None,
              first_ordinal: int | None = None,
              max_message_bytes: int = DEFAULT_LIMITS.max_message_bytes,
              mx_hosts: Sequence[str] = ()) -> Iterator[MessageSummary]:
    """Summaries of an mbox, or of the byte range ``start:end`` of one (see :func:`~.mbox.iter_mbox_data`).

    Reads plain ``(position, bytes)`` pairs: no :class:`RawMessage` per message; a problem row
    (no From_ line at the start, a message over ``max_message_bytes``) comes as its text.
    """
    p = Path(path)
    source = str(p)
    for position, data in iter_mbox_data(p, start=start, end=end, first_ordinal=first_ordinal,
                                         max_message_bytes=max_message_bytes):
        if data.__class__ is bytes:
            yield summarize(data, source=source, position=position, mx_hosts=mx_hosts)
        else:
            yield MessageSummary(source=source, position=position, problems=(data,))


def scan_pop3(settings: Any, *, headers_only: bool = False, limit: int | None = None, limits: Any = None
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
    """The summaries as a pandas DataFrame, one row per message (columns :data:`SUMMARY_COLUMNS`)."""
    import pandas as pd
    return pd.DataFrame([s.to_row() for s in summaries], columns=list(SUMMARY_COLUMNS))
