"""A guided pipeline run on a running sandbox: external senders, one poll, routing decisions.

Owns :func:`demo_messages` (the mail outside senders send: one per routing rule, plus a forged
header and a matter-domain message for the wildcard path), :func:`customer_messages` (a
customer's own ``.eml`` files, each addressed to the tenant address its To/Cc names) and
:func:`run_pipeline_demo` (deliver them through the sandbox's MX, file wildcard mail at once,
poll once, send the queue, reply to the client, and report). The sandbox is passed in (duck-typed: ``deliver``,
``tenant_settings``, ``set_on_wildcard``), so this module never
imports the sandbox package (layer 4 below layer 6).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from typing import Any

from ..errors import SampleError
from ..samples import summarize
from ..samples.readers import iter_raw
from ..store import Store
from ..tenant import Tenant
from .fetch import poll
from .ingest import wildcard_handler
from .send import send_queued, submit
from .table import decision_rows

__all__ = ["demo_messages", "customer_messages", "run_pipeline_demo"]

_SENDER = "client@outside.example"


def demo_messages(tenant: Tenant) -> list[tuple[str, str, bytes]]:
    """``(label, envelope recipient, raw message)`` for each case the demo shows."""
    inbound = tenant.inbound
    domain = (
        (inbound.effective_catch_all_domains or (inbound.address.rpartition("@")[2],))[0]
        if inbound
        else (tenant.domains[0] if tenant.domains else "example.com")
    )
    matter = tenant.matters[0].id if tenant.matters else "1042"
    user = tenant.users[0] if tenant.users else None
    cases = [("matter address on the catch-all domain", f"{matter}@{domain}", "")]
    if user and user.aliases:
        cases.append(("alias of a user", user.aliases[0], ""))
    if user:
        cases.append(("a user's own address", user.address, ""))
    cases.append(("unknown address: failed", f"nobody@{domain}", ""))
    cases.append(
        ("forged X-Original-To written by the sender", f"nobody2@{domain}", f"X-Original-To: {matter}@{domain}\r\n")
    )
    if tenant.matter_domain:
        cases.append(("wildcard path: matter domain over SMTP", f"{matter}@{tenant.matter_domain}", ""))
    out = []
    for i, (label, rcpt, extra) in enumerate(cases, 1):
        raw = (
            f"From: Client <{_SENDER}>\r\nTo: {rcpt}\r\nSubject: Demo {i}: {label}\r\n"
            f"Message-ID: <demo-{i}@outside.example>\r\n{extra}MIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nHello, this is demo message {i}.\r\n"
        ).encode()
        out.append((label, rcpt, raw))
    return out


def _tenant_domains(tenant: Tenant) -> set[str]:
    inbound = tenant.inbound
    domains = {d.lower() for d in tenant.domains}
    if inbound is not None:
        domains |= {d.lower() for d in inbound.effective_catch_all_domains}
        domains.add(inbound.address.rpartition("@")[2].lower())
    if tenant.matter_domain:
        domains.add(tenant.matter_domain.lower())
    return domains


def customer_messages(paths: Iterable[str | os.PathLike[str]], tenant: Tenant) -> list[tuple[str, str, bytes]]:
    """``(label, envelope recipient, raw message)`` for each message of the customer's files.

    ``paths`` are ``.eml`` files (or any sample :func:`~mailsupport.samples.iter_raw` reads:
    ``.msg``, mbox, Maildir, a folder or zip). Each message goes to the first To/Cc address
    on one of the tenant's domains (its catch-all and matter domains included), else to the
    tenant's inbound mailbox, as the customer's provider would have delivered it. The label
    is the file (and position) and the subject. A file that cannot be read raises
    :class:`~mailsupport.errors.SampleError` naming it.
    """
    domains = _tenant_domains(tenant)
    fallback = tenant.inbound.address if tenant.inbound else (tenant.outbound.from_address or "")
    out = []
    for path in paths:
        for raw in iter_raw(os.path.expanduser(os.fspath(path))):
            if raw.problem or not raw.data:
                raise SampleError(raw.problem or "empty message", source=f"{raw.source} {raw.position}".strip())
            summary = summarize(raw.data, source=raw.source, position=raw.position)
            rcpt = next((a for a in summary.to + summary.cc if a.rpartition("@")[2].lower() in domains), fallback)
            where = os.path.basename(raw.source) + (
                "" if raw.position == os.path.basename(raw.source) else f" #{raw.position}"
            )
            out.append((f"{where}: {summary.subject or '(no subject)'}", rcpt, raw.data))
    return out


def run_pipeline_demo(
    sandbox: Any,
    tenant: Tenant,
    store: Store | None = None,
    *,
    messages: Iterable[tuple[str, str, bytes]] | None = None,
) -> dict[str, Any]:
    """Run the pipeline once on ``sandbox`` for ``tenant``; returns a JSON-ready summary.

    ``messages`` are ``(label, envelope recipient, raw)`` to deliver (default:
    :func:`demo_messages`; a customer's files through :func:`customer_messages`). The summary
    has ``delivered`` (label -> recipient), ``poll`` (the poll summary), ``send`` (the send
    pass, including an answer to the first matter message) and ``decisions`` (one row per
    stored message with kind, target and reason). ``store`` defaults to a new one in a
    temporary folder (its path is in ``store``).
    """
    if store is None:
        store = Store(tempfile.mkdtemp(prefix="mailsupport-demo-store-"))
    hook = wildcard_handler(tenant, store)
    sandbox.set_on_wildcard(hook)
    local = sandbox.tenant_settings(tenant)
    delivered = {}
    for label, rcpt, raw in demo_messages(tenant) if messages is None else messages:
        sandbox.deliver(raw, _SENDER, [rcpt])
        delivered[label] = rcpt
    summary = poll(local, store)
    matter_rows = [r for r in decision_rows(store) if r["kind"] == "matter"]
    answered = ""
    if matter_rows and local.outbound.from_address:
        answered = submit(
            local,
            store,
            from_addr=local.outbound.from_address,
            to=[_SENDER],
            subject="Re: your email",
            text="Thank you, we have filed your email to the matter.",
            matter=matter_rows[0]["target"],
            in_reply_to="<demo-1@outside.example>",
        )
    sent = send_queued(local, store)
    return {
        "store": str(store.directory),
        "delivered": delivered,
        "poll": summary.to_dict(),
        "send": sent.to_dict(),
        "answer_message_id": answered,
        "decisions": decision_rows(store),
    }
