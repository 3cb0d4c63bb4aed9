"""A guided pipeline run on a running sandbox: external senders, one poll, routing decisions.

Owns :func:`demo_messages` (the mail outside senders send: one per routing rule, plus a forged
header and a matter-domain message for the wildcard path) and :func:`run_pipeline_demo`
(deliver them through the sandbox's MX, file wildcard mail at once, poll once, send the queue,
reply to the client, and report). The sandbox is passed in (duck-typed: ``deliver``,
``tenant_settings``, ``set_on_wildcard``), so this module never
imports the sandbox package (layer 4 below layer 6).
"""

from __future__ import annotations

import tempfile
from typing import Any

from ..config import Tenant
from ..store import Store
from .fetch import poll
from .ingest import wildcard_handler
from .send import send_queued, submit
from .table import decision_rows

__all__ = ["demo_messages", "run_pipeline_demo"]

_SENDER = "client@outside.example"


def demo_messages(tenant: Tenant) -> list[tuple[str, str, bytes]]:
    """``(label, envelope recipient, raw message)`` for each case the demo shows."""
    inbound = tenant.inbound
    domain = (inbound.effective_catch_all_domains or (inbound.address.rpartition("@")[2],))[0] if inbound else \
        (tenant.domains[0] if tenant.domains else "example.com")
    matter = tenant.matters[0].id if tenant.matters else "1042"
    user = tenant.users[0] if tenant.users else None
    cases = [("matter address on the catch-all domain", f"{matter}@{domain}", "")]
    if user and user.aliases:
        cases.append(("alias of a user", user.aliases[0], ""))
    if user:
        cases.append(("a user's own address", user.address, ""))
    cases.append(("unknown address: failed", f"nobody@{domain}", ""))
    cases.append(("forged X-Original-To written by the sender", f"nobody2@{domain}",
                  f"X-Original-To: {matter}@{domain}\r\n"))
    if tenant.matter_domain:
        cases.append(("wildcard path: matter domain over SMTP", f"{matter}@{tenant.matter_domain}", ""))
    out = []
    for i, (label, rcpt, extra) in enumerate(cases, 1):
        raw = (f"From: Client <{_SENDER}>\r\nTo: {rcpt}\r\nSubject: Demo {i}: {label}\r\n"
               f"Message-ID: <demo-{i}@outside.example>\r\n{extra}MIME-Version: 1.0\r\n"
               f"Content-Type: text/plain; charset=utf-8\r\n\r\nHello, this is demo message {i}.\r\n").encode()
        out.append((label, rcpt, raw))
    return out


def run_pipeline_demo(sandbox: Any, tenant: Tenant, store: Store | None = None) -> dict[str, Any]:
    """Run the pipeline once on ``sandbox`` for ``tenant``; returns a JSON-ready summary.

    The summary has ``delivered`` (label -> recipient), ``poll`` (the poll summary), ``send``
    (the send pass, including an answer to the first matter message) and ``decisions`` (one
    row per stored message with kind, target and reason). ``store`` defaults to a new one in
    a temporary folder (its path is in ``store``).
    """
    if store is None:
        store = Store(tempfile.mkdtemp(prefix="mailsupport-demo-store-"))
    hook = wildcard_handler(tenant, store)
    sandbox.set_on_wildcard(hook)
    local = sandbox.tenant_settings(tenant)
    delivered = {}
    for label, rcpt, raw in demo_messages(tenant):
        sandbox.deliver(raw, _SENDER, [rcpt])
        delivered[label] = rcpt
    summary = poll(local, store)
    matter_rows = [r for r in decision_rows(store) if r["kind"] == "matter"]
    answered = ""
    if matter_rows and local.outbound.from_address:
        answered = submit(local, store, from_addr=local.outbound.from_address, to=[_SENDER],
                          subject="Re: your email", text="Thank you, we have filed your email to the matter.",
                          matter=matter_rows[0]["target"], in_reply_to="<demo-1@outside.example>")
    sent = send_queued(local, store)
    return {"store": str(store.directory), "delivered": delivered, "poll": summary.to_dict(),
            "send": sent.to_dict(), "answer_message_id": answered, "decisions": decision_rows(store)}
