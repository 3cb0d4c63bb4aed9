"""The sandbox tour behind ``notebooks/00-start-here.ipynb``: small calls that display themselves.

Each function does one step of the training walkthrough and returns a :class:`View` that
renders as escaped HTML in Jupyter and as plain text elsewhere:

* :func:`tenant_card` — a tenant's set-up as the Email Setup page would show it (no secrets);
* :func:`send_as_outsider` — an outside server delivers a message into the sandbox over SMTP;
* :func:`read_mailbox` — the tenant's POP3 mailbox read for real, **without deleting**;
* :func:`header_view` — the top of a message's header, envelope-recipient headers marked;
* :func:`compare_profiles` — the same message delivered through every provider profile,
  showing which header carries the recipient in each.

Presentation layer: only calls the package (and the sandbox it is given).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from .config import tenant_to_dict
from .headerblock import parse_fields, split_header_block
from .headers import envelope_candidates
from .tenant import Tenant

__all__ = ["View", "tenant_card", "send_as_outsider", "read_mailbox", "header_view", "compare_profiles"]


@dataclass(frozen=True, slots=True, kw_only=True)
class View:
    """A titled table that shows itself: ``_repr_html_`` escapes every cell, ``str`` is plain text."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marked: tuple[int, ...] = ()
    note: str = ""

    def __str__(self) -> str:
        widths = [max([len(c)] + [len(r[i]) for r in self.rows]) for i, c in enumerate(self.columns)]
        widths = [min(w, 70) for w in widths]
        line = lambda cells: "  ".join(str(c)[:w].ljust(w) for c, w in zip(cells, widths))  # noqa: E731
        out = [self.title, line(self.columns)]
        out += [("* " if i in self.marked else "") + line(r) for i, r in enumerate(self.rows)]
        if self.note:
            out.append(self.note)
        return "\n".join(out)

    def _repr_html_(self) -> str:
        e = html.escape
        head = "".join(f"<th style='text-align:left'>{e(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr"
            + (" style='background:#fff3bf'" if i in self.marked else "")
            + ">"
            + "".join(f"<td style='text-align:left'><code>{e(v)}</code></td>" for v in r)
            + "</tr>"
            for i, r in enumerate(self.rows)
        )
        note = f"<p>{e(self.note)}</p>" if self.note else ""
        return f"<h4>{e(self.title)}</h4><table><tr>{head}</tr>{body}</table>{note}"


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, out)
    else:
        out.append((prefix, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))


def tenant_card(tenant: Tenant) -> View:
    """Every field of the tenant as ``path = value``; passwords show as ``***``."""
    rows: list[tuple[str, str]] = []
    _flatten("", tenant_to_dict(tenant), rows)
    return View(title=f"Tenant {tenant.org_key} ({tenant.preset.label})", columns=("field", "value"), rows=tuple(rows))


def send_as_outsider(
    sandbox: Any,
    to: Sequence[str] | str,
    *,
    subject: str = "Hello from outside",
    sender: str = "client@outside.example",
    text: str = "Please file this.\n",
) -> View:
    """Compose a message and deliver it through the sandbox's MX listener as an outside server would."""
    rcpts = [to] if isinstance(to, str) else list(to)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(rcpts)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="outside.example")
    msg.set_content(text)
    reply = sandbox.deliver(msg.as_bytes(), sender, rcpts)
    return View(
        title="Delivered over SMTP",
        columns=("envelope sender", "recipients", "Message-ID", "server said"),
        rows=((sender, ", ".join(rcpts), msg["Message-ID"], reply),),
    )


def read_mailbox(sandbox: Any, tenant: Tenant) -> tuple[bytes, ...]:
    """Every message in the tenant's inbound mailbox, read over POP3 (verified TLS) without deleting."""
    from .samples.pop3 import iter_pop3

    settings = sandbox.tenant_settings(tenant).inbound.server
    return tuple(m.data for m in iter_pop3(settings) if not m.problem)


def header_view(raw: bytes, *, first: int = 12) -> View:
    """The first header fields of a message; the envelope-recipient headers the receiving side added are marked
    (above the receiving chain's entry hop, :mod:`mailsupport.chain`)."""
    block, _ = split_header_block(raw)
    fields = parse_fields(block)[:first]
    marked = tuple(sorted({c.index for c in envelope_candidates(raw) if c.trusted and c.index < len(fields)}))
    return View(
        title="Header, top first (marked: envelope recipient added on delivery)",
        columns=("field", "value"),
        rows=tuple((n, v) for n, v in fields),
        marked=marked,
    )


def compare_profiles(
    sandbox: Any,
    tenant: Tenant,
    to: str,
    profiles: Sequence[str] = ("postfix", "exim", "received-for", "gmail", "office365", "exchange"),
) -> View:
    """Deliver one message per profile and read it back: which header carries ``to`` in each.

    Leaves the sandbox on the profile it had. The copies are read as the mailbox stores them
    (the ``gmail`` and ``office365`` profiles refuse a plain POP3 password, as the real ones
    do); each stays in the mailbox, so later cells can look at them too.
    """
    original = sandbox.profile.name
    rows = []
    try:
        for name in profiles:
            sandbox.set_profile(name)
            before = len(sandbox.mailbox(tenant.inbound.address))
            send_as_outsider(sandbox, to, subject=f"through {name}")
            sandbox.wait_for(
                lambda: len(sandbox.mailbox(tenant.inbound.address)) > before,  # noqa: B023 (waited for here)
                what=f"the {name} copy in the mailbox",
            )
            # read the copy as stored: Gmail and Office 365 refuse a plain POP3 password, as they really do
            raw = sandbox.mailbox(tenant.inbound.address)[-1].data
            found = [
                f"{c.header}: {c.address}" + ("" if c.trusted else " (below the entry hop)")
                for c in envelope_candidates(raw)
            ]
            rows.append((name, "; ".join(found) or "(no envelope header: the recipient is lost)"))
    finally:
        sandbox.set_profile(original)
    return View(
        title=f"Where each profile puts the recipient of mail to {to}",
        columns=("profile", "envelope-recipient evidence in the delivered copy"),
        rows=tuple(rows),
        note="Set the tenant's catch_all_header to the header that names the address as sent.",
    )
