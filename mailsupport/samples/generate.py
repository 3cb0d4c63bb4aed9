"""Deterministic synthetic samples: catch-all mailboxes as real servers deliver them, and big mail.

Everything here is a pure function of its arguments (a seeded :class:`random.Random`, fixed
dates), so a test or notebook regenerates byte-identical files. The header shapes follow
``docs/provider-facts.md`` §1 and ``docs/architecture.md``, "Real servers on loopback"
(measured on Postfix 3.7):

* Postfix virtual-alias catch-all into one mailbox: ``X-Original-To: <address as sent>``,
  ``Delivered-To: <the catch-all mailbox>``, and ``Received: ... (Postfix) ... for <addr>``
  for single-recipient mail; a message to two catch-all addresses arrives as two copies, each
  with its own ``X-Original-To`` and no ``for`` clause.
* Google Workspace catch-all (Takeout mbox): ``X-GM-THRID``/``X-Gmail-Labels`` added by the
  export, then ``Delivered-To: <the catch-all mailbox>`` and ``Received: by 2002:... with SMTP
  id ...csp...``, Google's internal hop above its ``by mx.google.com`` entry hop, whose ``for
  <address>`` names the alias when the sender's transaction had one recipient; one copy per
  Message-ID however many aliases To/Cc name; optionally ``X-Gm-Original-To`` when the routing
  rule adds it.

:func:`write_bundled` writes the small files committed under ``data/samples/``;
:func:`write_benchmark_mbox` and :func:`padded_message` make large inputs at test/bench time.

Layer 2 logic plus plain file writes; must not import clients, the sandbox or presentation.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..tenant import Inbound, MailboxKind, Matter, Provider, Tenant, User

__all__ = [
    "demo_tenant",
    "postfix_copy",
    "gmail_copy",
    "plain_message",
    "padded_message",
    "catchall_postfix_messages",
    "gmail_takeout_messages",
    "mbox_bytes",
    "write_bundled",
    "write_benchmark_mbox",
    "SYMPTOM_MESSAGES",
]

DOMAIN = "smithlaw.example"
MAILBOX = f"matters@{DOMAIN}"
_DATE = "Mon, 3 Nov 2025 09:{m:02d}:{s:02d} +0000"
_MX = "mail.smithlaw.example"


def demo_tenant(provider: Provider = Provider.OTHER, header: str = "Delivered-To") -> Tenant:
    """The tenant every bundled sample belongs to: catch-all ``smithlaw.example`` into ``matters@``.

    The same firm as ``data/samples/tenants/smithlaw-postfix.toml``: users jane (alias
    ``conveyancing@``), raj (alias ``litigation@``) and mei; matters 1042 and 1043.
    """
    return Tenant(
        org_key="smithlaw",
        domains=(DOMAIN,),
        provider=provider,
        inbound=Inbound(address=MAILBOX, kind=MailboxKind.CATCH_ALL, catch_all_header=header),
        users=(
            User(address=f"jane@{DOMAIN}", name="Jane Smith", aliases=(f"conveyancing@{DOMAIN}",)),
            User(address=f"raj@{DOMAIN}", name="Raj Patel", aliases=(f"litigation@{DOMAIN}",)),
            User(address=f"mei@{DOMAIN}", name="Mei Chen"),
        ),
        matters=(Matter(id="1042", name="Estate of Brown"), Matter(id="1043", name="Lee v Harbour Council")),
        failed_email_address=f"it@{DOMAIN}",
    )


def plain_message(
    *,
    to: Sequence[str],
    subject: str,
    message_id: str,
    sender: str = "client@example.net",
    cc: Sequence[str] = (),
    body: str = "Please see the attached.\n",
    n: int = 0,
    attachments: Sequence[tuple[str, bytes]] = (),
    extra: Sequence[str] = (),
) -> bytes:
    """A message as the sender wrote it (no trace headers), LF line ends; attachments base64."""
    date = _DATE.format(m=n // 60 % 60, s=n % 60)
    head = [f"From: Client <{sender}>", f"To: {', '.join(to)}"]
    if cc:
        head.append(f"Cc: {', '.join(cc)}")
    head += [f"Subject: {subject}", f"Date: {date}", f"Message-ID: <{message_id}>", "MIME-Version: 1.0", *extra]
    if not attachments:
        head.append("Content-Type: text/plain; charset=utf-8")
        return ("\n".join(head) + "\n\n" + body).encode("utf-8")
    boundary = f"=-boundary-{n:06d}"
    head.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    parts = [f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{body}"]
    for name, data in attachments:
        enc = base64.encodebytes(data).decode("ascii")
        parts.append(
            f'--{boundary}\nContent-Type: application/octet-stream; name="{name}"\n'
            f'Content-Disposition: attachment; filename="{name}"\n'
            f"Content-Transfer-Encoding: base64\n\n{enc}"
        )
    return ("\n".join(head) + "\n\n" + "\n".join(parts) + f"\n--{boundary}--\n").encode("utf-8")


def postfix_copy(
    message: bytes, *, original_to: str | None, single: bool = True, n: int = 0, mailbox: str = MAILBOX
) -> bytes:
    """``message`` as a Postfix virtual-alias catch-all stores it for one envelope recipient.

    ``single`` is false for a copy of a multi-recipient transaction: no ``for`` clause then.
    ``original_to=None`` leaves out ``X-Original-To`` (``enable_original_recipient = no``).
    """
    date = _DATE.format(m=n // 60 % 60, s=n % 60)
    for_clause = f"\n\tfor <{original_to}>" if single and original_to else ""
    trace = ["Return-Path: <client@example.net>"]
    if original_to:
        trace.append(f"X-Original-To: {original_to}")
    trace += [
        f"Delivered-To: {mailbox}",
        f"Received: from out.example.net (out.example.net [192.0.2.10])\n\tby {_MX} (Postfix) "
        f"with ESMTPS id 4B{n:08X}{for_clause}; {date}",
    ]
    return ("\n".join(trace) + "\n").encode("ascii") + message


def gmail_copy(
    message: bytes,
    *,
    n: int = 0,
    original_to: str | None = None,
    mailbox: str = MAILBOX,
    labels: str = "Inbox",
    rcpt: str | None = None,
) -> bytes:
    """``message`` as a Google Workspace catch-all stores it (Takeout's export headers on top).

    ``rcpt`` is the envelope recipient of a single-recipient transaction: Google's edge hop then
    ends with ``for <rcpt>`` as in the real ``mailpit__testdata__plain-text.eml``; a transaction
    with several recipients gets no ``for`` clause (leave it ``None``).
    """
    date = _DATE.format(m=n // 60 % 60, s=n % 60)
    head = [
        f"X-GM-THRID: {1780000000000000000 + n}",
        f"X-Gmail-Labels: {labels}",
        f"Delivered-To: {mailbox}",
        f"Received: by 2002:a05:6a10:{n % 9999:x}:b0:0:0:0 with SMTP id z{n}csp{100000 + n};\n        {date}",
    ]
    if original_to:
        head.insert(3, f"X-Gm-Original-To: {original_to}")
    for_clause = f"\n        for <{rcpt}>" if rcpt else ""
    head += [
        "X-Google-Smtp-Source: AGHT+IE" + "x" * 20,
        f"Received: from out.example.net (out.example.net. [192.0.2.10])\n        by mx.google.com with "
        f"ESMTPS id a{n}si{n}.2025.11.03{for_clause}; {date}",
    ]
    return ("\n".join(head) + "\n").encode("ascii") + message


def catchall_postfix_messages() -> list[tuple[str, bytes]]:
    """(name, bytes) of a Postfix catch-all mailbox: matters, aliases, unknown, multi-recipient, forged."""
    out = []
    n = 0

    def add(name: str, raw: bytes) -> None:
        out.append((name, raw))

    for addr, subj in (
        (f"1042@{DOMAIN}", "Contract for matter 1042"),
        (f"conveyancing@{DOMAIN}", "Settlement date"),
        (f"litigation@{DOMAIN}", "Hearing moved"),
        (f"jane@{DOMAIN}", "Lunch?"),
        (f"1043@{DOMAIN}", "Invoice 1043"),
        (f"nosuchperson@{DOMAIN}", "Wrong address"),
    ):
        n += 1
        msg = plain_message(to=[addr], subject=subj, message_id=f"pf{n}@example.net", n=n)
        add(f"pf{n}", postfix_copy(msg, original_to=addr, n=n))
    n += 1  # one message to two catch-all addresses: two copies, no for clause
    msg = plain_message(
        to=[f"conveyancing@{DOMAIN}", f"litigation@{DOMAIN}"],
        subject="Both teams please",
        message_id=f"pf{n}@example.net",
        n=n,
    )
    add(f"pf{n}a", postfix_copy(msg, original_to=f"conveyancing@{DOMAIN}", single=False, n=n))
    add(f"pf{n}b", postfix_copy(msg, original_to=f"litigation@{DOMAIN}", single=False, n=n))
    n += 1  # a sender-written X-Original-To below the receiving Received (forgeable)
    msg = plain_message(
        to=[f"1043@{DOMAIN}"],
        subject="Forged routing header",
        message_id=f"pf{n}@example.net",
        n=n,
        extra=[f"X-Original-To: jane@{DOMAIN}", f"Delivered-To: raj@{DOMAIN}"],
    )
    add(f"pf{n}", postfix_copy(msg, original_to=f"1043@{DOMAIN}", n=n))
    return out


def gmail_takeout_messages() -> list[tuple[str, bytes]]:
    """(name, bytes) of a Google Workspace catch-all's Takeout: some messages named several aliases."""
    out = []
    cases = (
        ([f"conveyancing@{DOMAIN}"], (), "Settlement date"),
        ([f"conveyancing@{DOMAIN}", f"litigation@{DOMAIN}"], (), "Both teams please"),
        ([f"1042@{DOMAIN}"], (f"jane@{DOMAIN}",), "Contract for matter 1042"),
        ([f"litigation@{DOMAIN}"], (f"mei@{DOMAIN}", f"conveyancing@{DOMAIN}"), "Hearing moved"),
        ([f"mei@{DOMAIN}"], (), "Lunch?"),
        ([f"1043@{DOMAIN}", "someone@elsewhere.example"], (), "Invoice 1043"),
    )
    for i, (to, cc, subj) in enumerate(cases, start=1):
        msg = plain_message(to=to, cc=cc, subject=subj, message_id=f"gm{i}@example.net", n=i)
        single = to[0] if len(to) + len(cc) == 1 else None  # Google writes for <addr> for one recipient only
        out.append((f"gm{i}", gmail_copy(msg, n=i, original_to=to[0], rcpt=single)))
    return out


def mbox_bytes(messages: Iterable[bytes]) -> bytes:
    """An mboxrd file of the messages (``From `` lines quoted as ``>From``)."""
    chunks = []
    for raw in messages:
        body = raw.replace(b"\nFrom ", b"\n>From ")
        if not body.endswith(b"\n"):
            body += b"\n"
        chunks.append(b"From MAILER-DAEMON Mon Nov  3 09:00:00 2025\n" + body + b"\n")
    return b"".join(chunks)


def padded_message(
    encoded_target: int, *, n: int = 0, name: str = "scan.pdf", to: str = f"conveyancing@{DOMAIN}", seed: int = 5
) -> bytes:
    """A Postfix-delivered message whose encoded size is about ``encoded_target`` bytes.

    One base64 attachment of pseudo-random bytes (seeded), sized so that base64's 4/3 growth
    plus line breaks lands near the target: the shape of a scanned PDF that "was only 8 MB".
    """
    raw_len = max(0, int((encoded_target - 800) * 57 / 77))
    data = random.Random(seed).randbytes(raw_len)
    msg = plain_message(
        to=[to],
        subject=f"Scans ({raw_len} bytes)",
        message_id=f"big{n}-{seed}@example.net",
        n=n,
        attachments=[(name, data)],
    )
    return postfix_copy(msg, original_to=to, n=n)


@dataclass(frozen=True, slots=True)
class _Symptom:
    name: str
    raw: bytes


def _symptoms() -> list[_Symptom]:
    m = lambda i, to, s: plain_message(to=[to], subject=s, message_id=f"sym{i}@example.net", n=i)  # noqa: E731
    a = f"conveyancing@{DOMAIN}"
    return [
        _Symptom(
            "catchall-x-original-to-only.eml",
            postfix_copy(m(1, a, "X-Original-To names the alias; Delivered-To the mailbox"), original_to=a, n=1),
        ),
        _Symptom(
            "catchall-received-for-only.eml",
            (
                f"Delivered-To: {MAILBOX}\nReceived: from out.example.net (out.example.net [192.0.2.10])\n"
                f"\tby {_MX} (Postfix) with ESMTPS id 4B00000002\n\tfor <{a}>; Mon, 3 Nov 2025 09:00:02 +0000\n"
            ).encode()
            + m(2, a, "only the Received for clause names the alias"),
        ),
        _Symptom("catchall-forged-x-original-to.eml", catchall_postfix_messages()[-1][1]),
        _Symptom(
            "catchall-exim-envelope-to-list.eml",
            (
                f"Envelope-to: <{a}>, litigation@{DOMAIN}\nDelivery-date: Mon, 03 Nov 2025 09:00:03 +0000\n"
                f"Received: from out.example.net ([192.0.2.10])\n\tby {_MX} with esmtps (Exim 4.96)\n"
                f"\tid 1tAbCd-000Xyz-1A; Mon, 03 Nov 2025 09:00:03 +0000\n"
            ).encode()
            + plain_message(
                to=[a, f"litigation@{DOMAIN}"],
                subject="Exim batched two recipients",
                message_id="sym3@example.net",
                n=3,
            ),
        ),
        _Symptom("gmail-consolidated-two-aliases.eml", gmail_takeout_messages()[1][1]),
    ]


SYMPTOM_MESSAGES = (
    "catchall-x-original-to-only.eml",
    "catchall-received-for-only.eml",
    "catchall-forged-x-original-to.eml",
    "catchall-exim-envelope-to-list.eml",
    "gmail-consolidated-two-aliases.eml",
)


def write_bundled(root: Path) -> list[Path]:
    """Write the committed synthetic samples under ``root`` (``data/samples``); returns the paths."""
    written = []
    msgs = root / "messages"
    msgs.mkdir(parents=True, exist_ok=True)
    for s in _symptoms():
        (msgs / s.name).write_bytes(s.raw)
        written.append(msgs / s.name)
    mboxes = {
        "catchall-postfix.mbox": [r for _n, r in catchall_postfix_messages()],
        "gmail-takeout-consolidated.mbox": [r for _n, r in gmail_takeout_messages()],
        "sizes-mixed.mbox": [padded_message(t, n=i, seed=i) for i, t in enumerate((20_000, 120_000, 400_000), start=1)],
    }
    for name, raws in mboxes.items():
        (root / name).write_bytes(mbox_bytes(raws))
        written.append(root / name)
    return written


_WORDS = (
    "settlement",
    "matter",
    "contract",
    "hearing",
    "invoice",
    "client",
    "please",
    "attached",
    "review",
    "estate",
    "lease",
    "property",
    "court",
    "draft",
    "signed",
    "deadline",
    "thanks",
    "regards",
    "meeting",
)


def _bench_headers(rng: random.Random, i: int) -> str:
    # what real delivered mail carries besides the envelope: DKIM, ARC, authentication results, list ids
    sig = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(344))
    folded = "\n\t ".join(sig[k : k + 70] for k in range(0, len(sig), 70))
    return (
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=s{i % 7};\n"
        f"\th=from:to:subject:date:message-id:mime-version:content-type;\n\tbh={sig[:44]}=;\n\t b={folded}\n"
        f"Authentication-Results: {_MX}; dkim=pass header.d=example.net; spf=pass smtp.mailfrom=example.net\n"
        f"X-Mailer: Microsoft Outlook 16.0\nThread-Index: AQHZ{sig[50:70]}\n"
        f"X-MS-Has-Attach: {'yes' if i % 5 == 0 else ''}\nContent-Language: en-AU\n"
    )


def _bench_text(rng: random.Random, lo: int, hi: int) -> str:
    n = rng.randint(lo, hi)
    words = [rng.choice(_WORDS) for _ in range(n // 7 + 1)]
    lines, line = [], []
    for w in words:
        line.append(w)
        if sum(len(x) + 1 for x in line) > 66:
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    return "\n".join(lines) + "\n"


def _bench_message(rng: random.Random, i: int, to: str, blob: bytes) -> bytes:
    """One message of the default (light) benchmark mix."""
    head = _bench_head(rng, i, to)
    kind = rng.random()
    text = _bench_text(rng, 100, 1500)
    if kind < 0.5:
        return (head + "Content-Type: text/plain; charset=utf-8\n\n" + text).encode()
    if kind < 0.9:
        return (head + _alternative(text, i)).encode()
    sizes = (rng.randint(2_000, 40_000) for _k in range(1 if rng.random() < 0.7 else 2))  # drawn one by one
    return (head + _mixed(rng, i, _alternative(text, i), sizes, blob)).encode()


def _bench_head(rng: random.Random, i: int, to: str, relays: int = 0) -> str:
    date = _DATE.format(m=i // 60 % 60, s=i % 60)
    hops = "".join(
        f"Received: from relay{k}.example.net (relay{k}.example.net [198.51.100.{k + 1}])\n\tby "
        f"relay{k + 1}.example.net with ESMTPS id {i:06X}{k}\n\t(version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384);"
        f" {date}\n"
        for k in range(relays)
    )
    return (
        hops + f"From: Client {i % 97} <client{i % 97}@example.net>\nTo: {to}\n"
        f"Subject: Re: {rng.choice(_WORDS)} {i}\nDate: {date}\nMessage-ID: <bench{i}@example.net>\n"
        "MIME-Version: 1.0\n" + _bench_headers(rng, i)
    )


def _alternative(text: str, i: int) -> str:
    """A multipart/alternative entity (its Content-Type line first): the text and an HTML copy, quoted-printable."""
    import quopri

    qp_text = quopri.encodestring(text.replace("\n", " — \n").encode()).decode()
    html = quopri.encodestring(
        ("<html><body><p>" + text.replace("\n", "</p>\n<p>") + "</p></body></html>").encode()
    ).decode()
    alt_b = f"alt-{i:06d}"
    return (
        f'Content-Type: multipart/alternative; boundary="{alt_b}"\n\n--{alt_b}\n'
        f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
        f"{qp_text}\n--{alt_b}\nContent-Type: text/html; charset=utf-8\n"
        f"Content-Transfer-Encoding: quoted-printable\n\n{html}\n--{alt_b}--\n"
    )


def _mixed(rng: random.Random, i: int, first: str, sizes: Iterable[int], blob: bytes) -> str:
    """A multipart/mixed entity (its Content-Type line first): ``first``, then a base64 PDF of each size."""
    mix_b = f"mix-{i:06d}"
    parts = [f"--{mix_b}\n{first}"]
    for k, size in enumerate(sizes):
        start = rng.randint(0, len(blob) - size)
        enc = base64.encodebytes(blob[start : start + size]).decode("ascii")
        parts.append(
            f'--{mix_b}\nContent-Type: application/pdf; name="doc{i}-{k}.pdf"\n'
            f'Content-Disposition: attachment; filename="doc{i}-{k}.pdf"\n'
            f"Content-Transfer-Encoding: base64\n\n{enc}"
        )
    return f'Content-Type: multipart/mixed; boundary="{mix_b}"\n\n' + "\n".join(parts) + f"\n--{mix_b}--\n"


#: Decoded attachment sizes of the heavy mix: log-normal (median 33 KB, mean 60 KB), kept within 2 KB-4 MB.
HEAVY_ATTACHMENT = (2_000, 4_000_000)


def _heavy_message(rng: random.Random, i: int, to: str, blob: bytes) -> bytes:
    """One message of the heavy mix: a real law-firm mailbox's shape (see :func:`write_benchmark_mbox`)."""
    head = _bench_head(rng, i, to, relays=rng.randint(1, 7))
    length = int(rng.lognormvariate(8.2, 0.7))
    text = _bench_text(rng, length, length)
    kind = rng.random()
    if kind < 0.2:
        lo, hi = HEAVY_ATTACHMENT
        sizes = [min(hi, max(lo, int(rng.lognormvariate(10.4, 1.1)))) for _k in range(rng.choice((1, 1, 1, 2, 2, 3)))]
        return (head + _mixed(rng, i, _alternative(text, i), sizes, blob)).encode()
    if kind < 0.5:
        return (head + "Content-Type: text/plain; charset=utf-8\n\n" + text).encode()
    return (head + _alternative(text, i)).encode()


def write_benchmark_mbox(path: Path, count: int, *, seed: int = 1, heavy: bool = False) -> int:
    """Write a ``count``-message mbox of mixed sizes and attachments; returns the bytes written.

    Default (light) mix, seeded, about 6.7 KB a message: 50 % plain text, 40 % text + HTML
    alternatives in quoted-printable, 10 % with one or two 2-40 KB base64 PDF attachments.
    ``heavy`` has the shape of a real firm's mailbox, about 39 KB a message (median about
    11 KB, 90th percentile about 100 KB): 2-9 ``Received`` lines, log-normal text lengths,
    30 % plain text, 50 % alternatives, 20 % multipart/mixed with one to three base64
    attachments of log-normal size (median 33 KB decoded, kept within 2 KB-4 MB). Every
    message carries a DKIM signature and the usual client headers; half arrive through a
    Postfix catch-all, half through Google. Streams message by message, so memory stays flat
    however large ``count`` is.
    """
    rng = random.Random(seed)
    total = 0
    blob = rng.randbytes(HEAVY_ATTACHMENT[1] + 1 if heavy else 300_000)
    make = _heavy_message if heavy else _bench_message
    targets = [f"{1000 + i}@{DOMAIN}" for i in range(50)] + [f"conveyancing@{DOMAIN}", f"litigation@{DOMAIN}"]
    with path.open("wb") as fh:
        for i in range(count):
            to = rng.choice(targets)
            msg = make(rng, i, to, blob)
            raw = postfix_copy(msg, original_to=to, n=i) if i % 2 else gmail_copy(msg, n=i, original_to=to)
            data = mbox_bytes([raw])
            fh.write(data)
            total += len(data)
    return total
