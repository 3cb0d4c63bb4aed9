"""The fetch → route → store → send pipeline of one tenant (layer 4).

Public API::

    with Store(directory) as store:
        summary = poll(tenant, store)              # one "check for new mail" (PollSummary)
        sent = send_queued(tenant, store)          # deliver queued mail (SendSummary)
        result = run_once(tenant, store)           # both, as the JSON `mailsupport run --once` prints
        ingest_files(tenant, store, ["a.eml"])     # the plugin path
        hook = wildcard_handler(tenant, store)     # the wildcard path: hook(rcpt, raw)
        message_id = submit(tenant, store, from_addr=..., to=[...], subject=..., text=..., matter="1234")
        frame = decisions_frame(store)             # pandas table of routing decisions

Modules: :mod:`.fetch` (POP3 poll), :mod:`.ingest` (push paths, ``decide``), :mod:`.failed`
(the failed-mail forward), :mod:`.send` (queue and SMTP), :mod:`.table` (rows and frames).
Must not import the sandbox or the CLI.
"""

from __future__ import annotations

from typing import Any

from ..config import Tenant
from ..store import Store
from .failed import failed_forward
from .fetch import FetchPolicy, PollSummary, account_id, poll
from .ingest import IngestResult, decide, ingest_files, ingest_message, wildcard_handler
from .send import BACKOFF, SendSummary, enqueue_message, outbound_server, send_queued, submit
from .table import decision_rows, decisions_frame

__all__ = ["FetchPolicy", "PollSummary", "poll", "account_id", "IngestResult", "decide", "ingest_message",
           "ingest_files", "wildcard_handler", "failed_forward", "BACKOFF", "SendSummary", "submit", "enqueue_message",
           "send_queued", "outbound_server", "run_once", "decision_rows", "decisions_frame"]


def run_once(tenant: Tenant, store: Store, *, policy: FetchPolicy = FetchPolicy(), now: float | None = None,
             ssl_context: Any = None) -> dict[str, Any]:
    """One poll (unless the tenant is outbound-only) then one pass over the send queue.

    Returns the JSON-ready summary: the poll's counts plus ``"send"``. Connection or login
    failures are reported in ``errors`` rather than raised, so ``--every`` keeps running.
    """
    from ..errors import OperationError

    if tenant.inbound is not None and tenant.preset.fetches:
        try:
            out = poll(tenant, store, policy=policy, ssl_context=ssl_context).to_dict()
        except OperationError as exc:
            out = PollSummary(account=account_id(tenant),
                              errors=({"stage": "login", "uidl": "", "message": str(exc)},)).to_dict()
    else:
        out = PollSummary(account=account_id(tenant)).to_dict()
    try:
        out["send"] = send_queued(tenant, store, now=now, ssl_context=ssl_context).to_dict()
    except OperationError as exc:
        out["send"] = SendSummary(errors=({"stage": "send", "message_id": "", "message": str(exc)},)).to_dict()
    return out
