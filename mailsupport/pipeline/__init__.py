"""The fetch → route → store → send pipeline of one tenant (layer 4).

Public API::

    with Store(directory) as store:
        summary = poll(tenant, store)              # one "check for new mail" (PollSummary)
        sent = send_queued(tenant, store)          # deliver queued mail (SendSummary)
        result = run_once(tenant, store)           # both, as the JSON `mailsupport run --once` prints
        ingest_files(tenant, store, ["a.eml"])     # the plugin path (ingest_stream: stdin)
        hook = wildcard_handler(tenant, store)     # the wildcard path: hook(rcpt, raw)
        message_id = submit(tenant, store, from_addr=..., to=[...], subject=..., text=..., matter="1234")
        ids = enqueue_messages(tenant, store, [OutgoingMessage(raw=..., mail_from=..., rcpt_tos=(...,))])
        frame = decisions_frame(store)             # pandas table of routing decisions

Modules: :mod:`.fetch` (POP3 poll), :mod:`.ingest` (push paths, ``decide``), :mod:`.failed`
(the failed-mail forward), :mod:`.send` (queue and SMTP), :mod:`.runcheck` (the settings
``run`` needs, checked before it starts), :mod:`.table` (rows and frames).
Must not import the sandbox or the CLI.
"""

from __future__ import annotations

from typing import Any

from ..errors import AuthError, ConfigError, ConnectError, MailsupportError, StoreError
from ..store import Store
from ..tenant import Tenant
from .failed import failed_forward
from .fetch import FetchPolicy, PollSummary, account_id, poll
from .ingest import IngestResult, decide, ingest_files, ingest_message, ingest_stream, wildcard_handler
from .runcheck import run_config_problems
from .send import (
    BACKOFF,
    OutgoingMessage,
    SendSummary,
    enqueue_message,
    enqueue_messages,
    outbound_server,
    send_queued,
    submit,
)
from .table import decision_rows, decisions_frame

__all__ = [
    "FetchPolicy",
    "PollSummary",
    "poll",
    "account_id",
    "IngestResult",
    "decide",
    "ingest_message",
    "ingest_files",
    "ingest_stream",
    "wildcard_handler",
    "failed_forward",
    "BACKOFF",
    "SendSummary",
    "submit",
    "enqueue_message",
    "enqueue_messages",
    "OutgoingMessage",
    "send_queued",
    "outbound_server",
    "run_once",
    "run_config_problems",
    "decision_rows",
    "decisions_frame",
]


def run_once(
    tenant: Tenant,
    store: Store,
    *,
    policy: FetchPolicy = FetchPolicy(),
    now: float | None = None,
    ssl_context: Any = None,
) -> dict[str, Any]:
    """One poll (unless the tenant is outbound-only) then one pass over the send queue.

    Returns the JSON-ready summary: the poll's counts plus ``"send"``. Never raises for what
    a server, the store or the settings do: every failure is an entry of ``errors`` (poll) or
    ``send.errors``, next to the counts of what was done before it, so ``--every`` keeps
    running and ``--once`` always prints. Settings that would stop the run part way
    (:func:`~.runcheck.run_config_problems`) are reported with stage ``config`` before the
    mailbox is touched, and nothing is done.
    """
    account = account_id(tenant)
    try:
        problems = run_config_problems(tenant, queued=len(store.queued()))
    except MailsupportError as exc:
        problems = [exc]
    if problems:
        errors = tuple(
            {"stage": "config", "uidl": "", "message": f"{p}; nothing was fetched or sent"} for p in problems
        )
        out = PollSummary(account=account, errors=errors).to_dict()
        out["send"] = SendSummary().to_dict()
        return out
    if tenant.inbound is not None and tenant.preset.fetches:
        try:
            out = poll(tenant, store, policy=policy, ssl_context=ssl_context).to_dict()
        except Exception as exc:  # noqa: BLE001 - reported with its stage, never a traceback
            out = PollSummary(
                account=account, errors=({"stage": _stage(exc), "uidl": "", "message": _text(exc)},)
            ).to_dict()
    else:
        out = PollSummary(account=account).to_dict()
    try:
        out["send"] = send_queued(tenant, store, now=now, ssl_context=ssl_context).to_dict()
    except Exception as exc:  # noqa: BLE001 - the poll's counts are printed with this error
        out["send"] = SendSummary(
            errors=({"stage": _stage(exc, "send"), "message_id": "", "message": _text(exc)},)
        ).to_dict()
    return out


def _stage(exc: BaseException, default: str = "session") -> str:
    """The summary stage of an exception that ended a pass."""
    if isinstance(exc, ConfigError):
        return "config"
    if isinstance(exc, ConnectError):
        return "connect"
    if isinstance(exc, AuthError):
        return "login"
    if isinstance(exc, StoreError):
        return "store"
    if isinstance(exc, MailsupportError):
        return default
    return "internal"


def _text(exc: BaseException) -> str:
    if isinstance(exc, MailsupportError):
        return str(exc)
    return f"an internal error stopped this pass ({type(exc).__name__}: {exc})"
