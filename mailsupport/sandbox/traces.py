"""The trace headers each sandbox profile writes into a delivered copy, copied from real messages.

Owns :func:`trace` (the header lines a profile prepends, and those it appends at the end of the
header block) and :func:`with_tail`. Each writer copies the chain shape, header order and clause
forms of a real message in ``data/samples/real/`` (cited in its docstring), so that the receiving
chain (:mod:`mailsupport.chain`) reads a sandbox copy as it reads the real one: the same entry
hop rule decides it, and the same header carries the envelope recipient.

Sandbox clients connect over loopback, so the TCP-info records ``127.0.0.1`` where the real
message shows the sender's public address; for Postfix, Exim and sendmail the loopback peer
makes the server's own hop *inside* and the bottom hop bounds the evidence (no hop is
outside), which trusts and distrusts the same headers as a public peer would for a message
without trace headers of its own. Google's and Microsoft's edge hops are the entry whatever the
peer (rule 3 of :mod:`mailsupport.chain`).

Pure: no sockets, no clock (the date is passed in). Imports only the standard library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["trace", "with_tail", "KINDS"]

#: The profile envelope styles this module writes.
KINDS = ("postfix", "exim", "received-for", "gmail", "office365", "exchange")


def _h(name: str, value: str) -> str:
    return f"{name}: {value}\r\n"


def _rdns(peer: str) -> str:
    """The verified reverse name a Postfix/sendmail server shows for the sandbox's clients."""
    return "localhost" if peer.startswith("127.") or peer == "::1" else "unknown"


def _postfix(
    host: str,
    helo: str,
    peer: str,
    queue_id: str,
    date: str,
    sender: str,
    rcpt: str | None,
    mailbox: str,
    givens: Sequence[str],
) -> tuple[str, str]:
    """Postfix local(8)/virtual(8), as ``sa__BOUNCE_MESSAGE__10.eml`` and
    ``parsedmarc__failure__exim_plain_text_only_no_arf_part.eml``: ``Return-Path``, ``X-Original-To``,
    ``Delivered-To``, then ``Received: from helo (rdns [ip])\\n\\tby host (Postfix) with ESMTPS id Q\\n\\tfor
    <addr>; date`` (``for`` only for a single-recipient transaction)."""
    for_clause = f"\r\n\tfor <{rcpt}>" if rcpt else ""
    return (
        _h("Return-Path", f"<{sender}>")
        + _h("X-Original-To", givens[0])
        + _h("Delivered-To", mailbox)
        + f"Received: from {helo} ({_rdns(peer)} [{peer}])\r\n\tby {host} (Postfix) with ESMTPS id "
        f"{queue_id}{for_clause}; {date}\r\n",
        "",
    )


def _exim(
    host: str,
    helo: str,
    peer: str,
    queue_id: str,
    date: str,
    sender: str,
    rcpt: str | None,
    mailbox: str,
    givens: Sequence[str],
) -> tuple[str, str]:
    """Exim's default ``local_delivery`` (``envelope_to_add``, ``delivery_date_add``, ``return_path_add``),
    as ``sa__nice__007.eml``: ``Return-path``, ``Envelope-to`` (a comma list when recipients were
    batched), ``Delivery-date``, then ``Received: from helo ([ip])\\n\\tby host with esmtp (Exim 4.96)\\n\\t
    (envelope-from <s>)\\n\\tid Q\\n\\tfor <addr>; date``, the envelope-from comment as in
    ``sa__FORGED_MUA_OUTLOOK__fp-5946-1.eml``."""
    for_clause = f"\r\n\tfor <{rcpt}>" if rcpt else ""
    return (
        _h("Return-path", f"<{sender}>")
        + _h("Envelope-to", ", ".join(givens))
        + _h("Delivery-date", date)
        + f"Received: from {helo} ([{peer}])\r\n\tby {host} with esmtp (Exim 4.96)\r\n"
        f"\t(envelope-from <{sender}>)\r\n\tid {queue_id}{for_clause}; {date}\r\n",
        "",
    )


def _received_for(
    host: str,
    helo: str,
    peer: str,
    queue_id: str,
    date: str,
    sender: str,
    rcpt: str | None,
    mailbox: str,
    givens: Sequence[str],
) -> tuple[str, str]:
    """A sendmail-style server that keeps only its ``for`` clause, as hop 3 of ``sa__nice__002.eml``:
    ``Received: from helo (rdns [ip]) by host (8.x/8.x) with ESMTP id Q for <addr>; date``. Each
    recipient is relayed in a transaction of its own, so every copy has its ``for``."""
    return (
        f"Received: from {helo} ({_rdns(peer)} [{peer}])\r\n\tby {host} (8.17.1/8.17.1) with ESMTP id "
        f"{queue_id}\r\n\tfor <{rcpt or givens[0]}>; {date}\r\n",
        "",
    )


def _gmail(
    host: str,
    helo: str,
    peer: str,
    queue_id: str,
    date: str,
    sender: str,
    rcpt: str | None,
    mailbox: str,
    givens: Sequence[str],
    x_gm_original_to: bool,
) -> tuple[str, str]:
    """Google Workspace, as ``mailpit__testdata__plain-text.eml`` (and ``nodemailer__fixtures__nodemailer.eml``
    for mail from outside Google): ``Delivered-To`` first, Google's internal ``Received: by 2002:… with SMTP
    id …csp…``, ``X-Received: by 2002:…``, ``ARC-Authentication-Results``, ``Return-Path``, then the
    entry hop ``Received: from helo (helo. [ip])\\n        by mx.google.com with ESMTPS id …\\n        for
    <addr>\\n        (version=TLS1_3 …);\\n        date`` (``for`` only for one recipient), ``Received-SPF``
    and ``Authentication-Results``. ``X-Gm-Original-To`` (the Workspace routing option) goes right under
    ``Delivered-To``: no real message with it was found, so its place is an assumption."""
    digest = hashlib.sha256(f"{queue_id}{mailbox}".encode()).hexdigest()
    for_clause = f"\r\n        for <{rcpt}>" if rcpt else ""
    spf = (
        f"neutral (google.com: {peer} is neither permitted nor denied by best guess record for domain of "
        f"{sender}) client-ip={peer};"
    )
    head = (
        _h("Delivered-To", mailbox)
        + f"Received: by 2002:a05:7108:{digest[:4]}:b0:{digest[4:8]}:{digest[8:12]} with SMTP id "
        f"{digest[12:20]}csp{int(digest[20:26], 16)};\r\n        {date}\r\n"
    )
    if x_gm_original_to:
        head += _h("X-Gm-Original-To", givens[0])
    head += (
        f"X-Received: by 2002:a17:90a:{digest[26:30]}:b0:{digest[30:34]}:{digest[34:38]}:{digest[38:42]} "
        f"with SMTP id {digest[42:50]}mr{int(digest[50:56], 16)};\r\n        {date}\r\n"
        + f"ARC-Authentication-Results: i=1; mx.google.com;\r\n       spf={spf.split(' client-ip')[0]} "
        f"smtp.mailfrom={sender}\r\n"
        + _h("Return-Path", f"<{sender}>")
        + f"Received: from {helo} ({helo}. [{peer}])\r\n        by {host} with ESMTPS id {queue_id}.sandbox"
        f"{for_clause}\r\n        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\r\n"
        f"        {date}\r\n"
        + _h("Received-SPF", spf)
        + f"Authentication-Results: mx.google.com;\r\n       spf={spf.split(' client-ip')[0]} "
        f"smtp.mailfrom={sender}\r\n"
    )
    return head, ""


# Microsoft 365 host names in the shape of the real ones (a tenant's mailbox server is the profile's host)
_MS_FRONTEND = "AM0P190CA0001.EURP190.PROD.OUTLOOK.COM"
_MS_FRONTEND_CAS = "AM0P190CA0001.outlook.office365.com"
_MS_EOP = "AM2PEPF0000A1B2.eurprd01.prod.protection.outlook.com"
_MS_EDGE = "AM2PEPF0000A1B2.mail.protection.outlook.com"


def _office365(
    host: str,
    helo: str,
    peer: str,
    queue_id: str,
    date: str,
    sender: str,
    rcpt: str | None,
    mailbox: str,
    givens: Sequence[str],
) -> tuple[str, str]:
    """Exchange Online, as ``parsedmarc__aggregate__mimecast-weird-gzip.eml``: three internal hops on top
    (mailbox server from ``(::1)`` with HTTPS; from a ``*.PROD.OUTLOOK.COM`` frontend with Microsoft SMTP
    Server; from the ``*.prod.protection.outlook.com`` EOP server ``via Frontend Transport``), then
    ``Authentication-Results``, ``Received-SPF`` and the entry hop ``from helo (ip) by
    X.mail.protection.outlook.com (10.x) with Microsoft SMTP Server id 15.20.… via Frontend Transport``;
    no ``for`` clause and no envelope header. ``Return-Path`` and ``X-MS-Exchange-Organization-*`` are
    appended after the sender's own fields."""
    tls = "(version=TLS1_2,\r\n cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)"
    head = (
        f"Received: from {host} (::1) by\r\n {host} with HTTPS; {date}\r\n"
        f"Received: from {_MS_FRONTEND} (2603:10a6:208:1::23)\r\n by {host} (2603:10a6:20b:2::11) with\r\n"
        f" Microsoft SMTP Server {tls} id 15.20.7891.12; {date}\r\n"
        f"Received: from {_MS_EOP}\r\n (2603:10a6:208:1:cafe::8c) by {_MS_FRONTEND_CAS}\r\n"
        f" (2603:10a6:208:1::23) with Microsoft SMTP Server {tls} id 15.20.7891.21 via Frontend\r\n"
        f" Transport; {date}\r\n"
        f"Authentication-Results: spf=none (sender IP is {peer})\r\n smtp.mailfrom={sender.rpartition('@')[2]};"
        f" dkim=none (message not signed)\r\n header.d=none;dmarc=none action=none header.from=;\r\n"
        f"Received-SPF: None (protection.outlook.com: {sender.rpartition('@')[2]} does not\r\n designate "
        f"permitted sender hosts)\r\n"
        f"Received: from {helo} ({peer}) by\r\n {_MS_EDGE} (10.13.157.29) with Microsoft SMTP\r\n"
        f" Server id 15.20.7891.21 via Frontend Transport; {date}\r\n"
    )
    tail = (
        _h("Return-Path", sender)
        + _h("X-MS-Exchange-Organization-ExpirationStartTime", date)
        + _h("X-MS-Exchange-Organization-Network-Message-Id", f"{queue_id.lower()}-sandbox")
        + _h("X-MS-Exchange-Organization-MessageDirectionality", "Incoming")
        + _h("X-MS-Exchange-Organization-AuthSource", _MS_EOP)
        + _h("X-MS-Exchange-Organization-AuthAs", "Anonymous")
    )
    return head, tail


def _exchange(
    host: str,
    helo: str,
    peer: str,
    queue_id: str,
    date: str,
    sender: str,
    rcpt: str | None,
    mailbox: str,
    givens: Sequence[str],
) -> tuple[str, str]:
    """Exchange on-premises behind the firm's filtering MX, as
    ``mikel__error_emails__header_fields_with_empty_values.eml`` (Exchange 2007): ``Received: from
    mx01 (192.168.42.42) by exchange\\n (192.168.73.7) with Microsoft SMTP Server id 8.1.393.1; date`` on
    top, then the MX's ``Received: from helo ([ip])  by mx01 with\\n ESMTP; date``; no ``for`` clause,
    no envelope header; ``X-MS-Exchange-Organization-AuthAs``/``-AuthSource`` appended after the
    sender's fields."""
    domain = host.split(".", 1)[1] if "." in host else host
    relay = f"mx01.{domain}"
    head = (
        f"Received: from {relay} (192.168.42.42) by {host}\r\n (192.168.73.7) with Microsoft SMTP Server id "
        f"8.1.393.1; {date}\r\n"
        f"Received: from {helo} ([{peer}])  by {relay} with\r\n ESMTP; {date}\r\n"
    )
    tail = _h("X-MS-Exchange-Organization-AuthAs", "Anonymous") + _h("X-MS-Exchange-Organization-AuthSource", host)
    return head, tail


def trace(
    kind: str,
    *,
    host: str,
    helo: str,
    peer: str,
    queue_id: str,
    date: str,
    sender: str,
    rcpt: str | None,
    mailbox: str,
    givens: Sequence[str],
    x_gm_original_to: bool = False,
) -> tuple[bytes, bytes]:
    """``(head, tail)``: the lines ``kind`` prepends to a copy and appends at the end of its header block.

    ``rcpt`` is the transaction's single recipient (``None`` when it had several: no ``for``
    clause), ``mailbox`` the mailbox the copy lands in, ``givens`` the recipients as given that
    this copy stands for (``X-Original-To``/``Envelope-to``/``X-Gm-Original-To``).
    """
    args = (host, helo or "unknown", peer, queue_id, date, sender, rcpt, mailbox, givens)
    if kind == "gmail":
        head, tail = _gmail(*args, x_gm_original_to=x_gm_original_to)
    else:
        writer = {
            "postfix": _postfix,
            "exim": _exim,
            "received-for": _received_for,
            "office365": _office365,
            "exchange": _exchange,
        }.get(kind)
        if writer is None:
            raise ValueError(f"unknown envelope style {kind!r}: expected one of {', '.join(KINDS)}")
        head, tail = writer(*args)
    return head.encode("utf-8"), tail.encode("utf-8")


def with_tail(data: bytes, tail: bytes) -> bytes:
    """``data`` with ``tail`` (header lines) added after its last header field, before the empty line."""
    if not tail:
        return data
    ends = [i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0]
    if not ends:
        return data + (b"" if data.endswith(b"\n") or not data else b"\r\n") + tail
    at = min(ends)
    eol = b"\r\n" if data[at : at + 2] == b"\r\n" else b"\n"
    return data[:at] + eol + tail.replace(b"\r\n", eol).rstrip(b"\r\n") + data[at:]
