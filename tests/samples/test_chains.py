"""The receiving chain on every real message (hand-checked table), on real Received forms, and shared by all.

``data/samples/real/receiving-chains.csv`` states, for every real message in the repository, the
entry hop (1-based among its Received fields, 0 when no hop's from side is outside), the entry
hop's ``by`` host and the envelope recipients the receiving side's evidence names; each row was
checked by reading the headers. The chain function, the fast scan and the router must agree with
it and with each other.
"""

from __future__ import annotations

import csv

import pytest

from mailsupport.chain import entry_of, parse_received, receiving_chain
from mailsupport.config import CATCH_ALL_HEADERS, Inbound, MailboxKind, Tenant
from mailsupport.headerblock import to_scan
from mailsupport.headers import envelope_candidates, recipients_for
from mailsupport.routing import route_message
from mailsupport.samples import iter_raw, summarize

from .conftest import REAL, SAMPLES

TABLE = REAL / "receiving-chains.csv"
HEADER = "file,provider,entry_hop,entry_by,trusted_recipients,note"


def _rows() -> list[dict[str, str]]:
    with TABLE.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


ROWS = _rows()


def _message(name: str) -> bytes:
    """The raw message of a table row (an Outlook .msg through the sample reader)."""
    path = (REAL / name).resolve()
    if path.suffix == ".msg":
        (item,) = list(iter_raw(path))
        assert not item.problem, item.problem
        return item.data
    return path.read_bytes()


def _trusted(raw: bytes) -> str:
    seen: dict[str, None] = {}
    for ev in envelope_candidates(raw):
        if ev.trusted:
            seen.setdefault(ev.address.lower(), None)
    return " ".join(seen)


def test_table_has_its_header_and_a_row_for_every_real_message():
    """The table's header line is the agreed one, and every real message file (and only those) has a row."""
    assert TABLE.read_text(encoding="utf-8").splitlines()[0] == HEADER
    files = [r["file"] for r in ROWS]
    assert len(files) == len(set(files)), "one row per file"
    real = {p.name for p in REAL.glob("*.eml")} | {f"../outlook/{p.name}" for p in (SAMPLES / "outlook").glob("*.msg")}
    assert sorted(real - set(files)) == [], "real messages without a row"
    assert sorted(set(files) - real) == [], "rows for files that are not there"
    assert all(r["note"].strip() and r["provider"].strip() for r in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_receiving_chain_matches_the_hand_checked_row(row):
    """The entry hop, its by host and the trusted envelope recipients are the ones read by hand."""
    raw = _message(row["file"])
    chain = receiving_chain(raw)
    entry = chain.entry_hop
    assert (chain.entry, entry.by_host if entry else "") == (int(row["entry_hop"]), row["entry_by"]), chain.explain()
    assert _trusted(raw) == row["trusted_recipients"]
    assert all(h.verdict == "inside" for h in chain.hops[: max(chain.entry - 1, 0)])
    assert all(h.reason for h in chain.chain)


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_fast_scan_and_slow_chain_agree(row):
    """The scan's entry hop and trusted evidence equal the explaining walk's, message by message."""
    raw = _message(row["file"])
    chain = receiving_chain(raw)
    s = summarize(raw, source=row["file"], position="1")
    assert (s.entry_hop, s.entry_by) == (chain.entry, chain.entry_hop.by_host if chain.entry_hop else "")
    boundary = -1 if chain.boundary is None else chain.boundary
    assert entry_of(to_scan(raw).trace)[1] == boundary
    for ev in s.candidates:
        assert ev.trusted == chain.trusts(ev.index, received=ev.header == "Received-for"), ev


def _catch_all(header: str, mx_hosts: tuple[str, ...] = ()) -> Tenant:
    return Tenant(
        org_key="t",
        inbound=Inbound(
            address="box@example.com", kind=MailboxKind.CATCH_ALL, catch_all_header=header, mx_hosts=mx_hosts
        ),
    )


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_router_and_diagnosis_take_the_same_recipients(row):
    """For every catch-all header, the router's envelope recipients are the ones the diagnoses read from the scan."""
    raw = _message(row["file"])
    s = summarize(raw, source=row["file"], position="1")
    for header in CATCH_ALL_HEADERS:
        decision = route_message(_catch_all(header), raw)
        assert decision.recipients == recipients_for(s.candidates, header), header
        if s.entry_hop:
            assert any(f"entry hop {s.entry_hop} " in step for step in decision.trace)


def test_tenant_mx_hosts_extend_the_chain_in_scan_router_and_explanation_alike():
    """Naming Mimecast as the tenant's gateway makes its hop inside: no hop is left outside, in every path."""
    raw = (REAL / "parsedmarc__aggregate__mimecast-weird-gzip.eml").read_bytes()
    assert receiving_chain(raw).entry == 4
    chain = receiving_chain(raw, mx_hosts=("mimecast.lan",))
    assert chain.entry == 0 and chain.hops[3].reason.startswith("from the tenant's own MX/relay host (mimecast.lan)")
    assert summarize(raw, source="s", position="1", mx_hosts=("mimecast.lan",)).entry_hop == 0
    assert receiving_chain(raw, mx_hosts=("103.13.69.0/24",)).entry == 0  # by address, too
    enron = (REAL / "mikel__error_emails__content_transfer_encoding_7-bit.eml").read_bytes()
    tenant = _catch_all("Received-for", mx_hosts=("mailman.enron.com",))
    decision = route_message(tenant, enron)
    assert decision.recipients == ("emclaug@exchange.enron.com", "emclaug@enron.com")
    assert any("entry hop 4 of 5 (by mailman.enron.com)" in step for step in decision.trace)


# Received values as real servers write them: (value, from host, peer, by host, protocol, id, for)
FORMS = [
    (
        "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])        by mx.google.com with SMTPS "
        "id t3-20020a17090a2f8300b001f25e258dfasor335081pjd.34.2022.07.26.20.45.07        for <recipient@example.com>"
        "        (Google Transport Security);        Tue, 26 Jul 2022 20:45:07 -0700 (PDT)",
        "mail-sor-f41.google.com",
        "209.85.220.41",
        "mx.google.com",
        "SMTPS",
        "t3-20020a17090a2f8300b001f25e258dfasor335081pjd.34.2022.07.26.20.45.07",
        "recipient@example.com",
    ),
    (
        "by 2002:a0c:fe87:0:0:0:0:0 with SMTP id d7csp146390qvs;        Tue, 26 Jul 2022 20:45:20 -0700 (PDT)",
        "",
        "",
        "2002:a0c:fe87:0:0:0:0:0",
        "SMTP",
        "d7csp146390qvs",
        "",
    ),
    (
        "from BY2NAM03FT014.eop-NAM03.prod.protection.outlook.com (2a01:111:f400:7e4a::207) by "
        "DM5PR04CA0035.outlook.office365.com (2603:10b6:3:12b::21) with Microsoft SMTP Server (version=TLS1_2, "
        "cipher=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384) id 15.20.1622.16 via Frontend Transport; "
        "Wed, 13 Feb 2019 10:48:12 +0000",
        "BY2NAM03FT014.eop-NAM03.prod.protection.outlook.com",
        "2a01:111:f400:7e4a::207",
        "DM5PR04CA0035.outlook.office365.com",
        "Microsoft SMTP Server",
        "15.20.1622.16",
        "",
    ),
    (
        "from www.hostsharing.net ([212.42.230.151] helo=pima.hostsharing.net)\tby mailer.gwdg.de with esmtp "
        "(TLSv1:DES-CBC3-SHA:168)\t(Exim 4.20)\tid 19hqSG-0007VX-EY\tfor rzellwe@gwdg.de; Wed, 30 Jul 2003 14:53:20 +0200",
        "www.hostsharing.net",
        "212.42.230.151",
        "mailer.gwdg.de",
        "esmtp",
        "19hqSG-0007VX-EY",
        "rzellwe@gwdg.de",
    ),
    ("(qmail 6883 invoked from network); 1 Dec 1997 17:50:04 -0000", "", "", "", "", "", ""),
    (
        "from dial.suednet.com.br (HELO hq.lindsayelec.com) (200.141.184.56)  by churchill.factcomp.com with SMTP; "
        "28 Mar 2005 01:14:42 -0000",
        "dial.suednet.com.br",
        "200.141.184.56",
        "churchill.factcomp.com",
        "SMTP",
        "",
        "",
    ),
    (
        "from localhost [127.0.0.1]\tby radish.jmason.org with IMAP (fetchmail-6.3.2)\tfor <jm@localhost> (single-drop); "
        "Mon, 02 Apr 2007 02:42:21 +0100 (IST)",
        "localhost",
        "127.0.0.1",
        "radish.jmason.org",
        "IMAP",
        "",
        "jm@localhost",
    ),
    (
        "from mail-qv1-xf31.google.com (mail-qv1-xf31.google.com [IPv6:2607:f8b0:4864:20::f31])\t(using TLSv1.3 with "
        "cipher TLS_AES_128_GCM_SHA256 (128/128 bits)\t key-exchange X25519 server-signature RSA-PSS (2048 bits) "
        "server-digest SHA256)\t(No client certificate requested)\tby mx.domain.tld (Postfix) with ESMTPS id 955141FBFE"
        "\tfor <user@domain.tld>; Sun, 12 Mar 2023 23:49:04 +0100 (CET)",
        "mail-qv1-xf31.google.com",
        "2607:f8b0:4864:20::f31",
        "mx.domain.tld",
        "ESMTPS",
        "955141FBFE",
        "user@domain.tld",
    ),
    (
        "from mx.example.com by imap.example.com with LMTP id kKBsAl3Vt2X5 (envelope-from <a@sender.example>) "
        "for <c@example.com>; Mon, 29 Jan 2024 18:01:01 +0100",
        "mx.example.com",
        "",
        "imap.example.com",
        "LMTP",
        "kKBsAl3Vt2X5",
        "c@example.com",
    ),
    (
        "from [192.0.0.253] (60-241-138-146.static.tpgi.com.au [60.0.0.146])\tby mail11.tpgi.com.au (envelope-from "
        "test@lindsaar.net) (8.14.3/8.14.3) with ESMTP id mAM44xew022221\tfor <raasdnil@gmail.com>; Sat, 22 Nov 2008",
        "[192.0.0.253]",
        "60.0.0.146",
        "mail11.tpgi.com.au",
        "ESMTP",
        "mAM44xew022221",
        "raasdnil@gmail.com",
    ),
    (
        "from (127.0.0.1) by mail90.suw15.mcsv.net id hgs0ok2ddl42 for <dpinnix@coastbankcalifornia.com>; Wed",
        "",
        "127.0.0.1",
        "mail90.suw15.mcsv.net",
        "",
        "hgs0ok2ddl42",
        "dpinnix@coastbankcalifornia.com",
    ),
]


@pytest.mark.parametrize(
    "form",
    FORMS,
    ids=[
        "google-edge",
        "google-internal",
        "exchange-online",
        "exim",
        "qmail",
        "qmail-helo",
        "fetchmail",
        "postfix-tls-comments",
        "dovecot-lmtp",
        "sendmail-literal",
        "empty-from-domain",
    ],
)
def test_received_forms_parse_into_their_clauses(form):
    """Each real form gives its from host, the client address the server recorded, by, with, id and for."""
    value, frm, peer, by, proto, ident, rcpt = form
    hop = parse_received(value)
    assert (hop.from_host, hop.peer, hop.by_host, hop.protocol, hop.id, hop.for_address) == (
        frm,
        peer,
        by,
        proto,
        ident,
        rcpt,
    )


def _walk(*received: str, mx_hosts: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    block = "".join(f"Received: {r}\n" for r in received).encode() + b"\n"
    return [(h.verdict, h.reason.split(":")[0]) for h in receiving_chain(block, mx_hosts=mx_hosts).hops]


RULES = [
    (
        "private-then-public",
        (
            "from mbx (mbx.firm.local [10.0.0.5]) by store (Postfix) with ESMTP id 1",
            "from out.sender.example (out.sender.example [203.0.113.7]) by mbx with ESMTPS id 2",
            "from anything (forged [10.9.9.9]) by out.sender.example with ESMTP id 3",
        ),
        (),
        [("inside", "private peer 10.0.0.5"), ("entry", "entry"), ("below", "below the entry hop")],
    ),
    (
        "edge-beats-a-private-looking-client",
        ("from x.prod.outlook.com (10.1.1.1) by AM0P.mail.protection.outlook.com with Microsoft SMTP Server id 15",),
        (),
        [("entry", "entry")],
    ),
    (
        "microsoft-internal-then-edge",
        (
            "from A.namprd04.prod.outlook.com (2603:10b6:803:41::31) by B.namprd04.prod.outlook.com with HTTPS",
            "from C.eop-nam03.prod.protection.outlook.com (2a01:111:f400::207) by D.outlook.office365.com with "
            "Microsoft SMTP Server id 15 via Frontend Transport",
            "from mail.sender.example (198.51.100.9) by C.mail.protection.outlook.com with Microsoft SMTP Server id 15",
        ),
        (),
        [("inside", "same provider"), ("inside", "same provider"), ("entry", "entry")],
    ),
    (
        "webmail-on-localhost-is-the-sender",
        (
            "from localhost (localhost [127.0.0.1]) by mail.host (Postfix) with ESMTPSA id 9",
            "from forged (forged [203.0.113.1]) by mail.host with ESMTP id 8",
        ),
        (),
        [("entry", "entry"), ("below", "below the entry hop")],
    ),
    (
        "amavis-content-filter",
        (
            "from localhost (localhost [127.0.0.1]) by mx.firm.example (Postfix) with ESMTP id 2",
            "from mx.firm.example ([127.0.0.1]) by localhost (mx.firm.example [127.0.0.1]) (amavisd-new, port 10024) "
            "with ESMTP id x",
            "from sender.example (sender.example [192.0.2.44]) by mx.firm.example (Postfix) with ESMTPS id 1",
        ),
        (),
        [
            ("inside", "from localhost (content filter or local relay)"),
            ("inside", "from localhost (content filter or local relay)"),
            ("entry", "entry"),
        ],
    ),
    (
        "lmtp-and-local-programs",
        (
            "from mx.firm.example by imap.firm.example with LMTP id a",
            "from root by mx.firm.example with local (Exim 4.96) id b",
            "from e@x by churchill by uid 64011 with qmail-scanner-1.22",
            "from s (s [192.0.2.1]) by mx with SMTP",
        ),
        (),
        [
            ("inside", "LMTP delivery into the mailbox store by imap.firm.example"),
            ("inside", "a local program on mx.firm.example (local)"),
            ("inside", "a local program on churchill (by uid)"),
            ("entry", "entry"),
        ],
    ),
    (
        "tenant-gateway",
        (
            "from gw.filter.example (gw.filter.example [198.51.100.20]) by mx.firm.example with ESMTP id 1",
            "from sender.example (sender.example [192.0.2.9]) by gw.filter.example with ESMTP id 2",
        ),
        ("filter.example",),
        [("inside", "from the tenant's own MX/relay host (filter.example)"), ("entry", "entry")],
    ),
    ("no-address-recorded", ("from relay.example by mx.firm.example with ESMTP id 1",), (), [("entry", "entry")]),
]


@pytest.mark.parametrize("case", RULES, ids=[c[0] for c in RULES])
def test_rules_in_order(case):
    """Each rule of the chain module's table decides its hop; the first outside hop is the entry."""
    _name, received, mx_hosts, expected = case
    assert _walk(*received, mx_hosts=mx_hosts) == expected


HOSTILE = [
    "from (((((",
    "by",
    "from x (y [999.1.1.1]) by z",
    "from " + "(" * 5000,
    "from [IPv6:zz::] by q",
    "from a\x00b (c [::ffff:10.0.0.1]) by d",
    ";;;",
    "from x (y [fe80::1%eth0]) by z with ESMTP",
    # long runs that make a backtracking pattern take quadratic or exponential time
    "from x (" + "a b " * 20000 + " by y",
    "from (" + "(a" * 20000,
    "from x (" + "a" * 100000,
    "from x ([" + "1." * 50000,
    "from x (" + "a:" * 50000,
    "from x (y [" + " " * 100000 + "]) by z with " + " " * 100000,
    "by x with " + "a " * 50000 + ";",
]


def test_hostile_received_values_never_raise():
    """Unbalanced comments, huge values, odd bytes: a hop with what could be read, never an exception; the
    patterns are possessive, so even 100,000-character runs are read in one pass (the test would hang otherwise)."""
    for value in HOSTILE:
        hop = parse_received(value)
        assert hop.raw == value
        for mx_hosts in ((), ("a.example", "10.0.0.0/8")):
            receiving_chain(f"Received: {value}\n\n".encode(), mx_hosts=mx_hosts)
            entry_of([(0, "received", value)], mx_hosts)
    assert parse_received("from a\x00b (c [::ffff:10.0.0.1]) by d").peer == "::ffff:10.0.0.1"
    assert receiving_chain(b"Received: from a (c [::ffff:10.0.0.1]) by d\n\n").hops[0].reason == (
        "private peer ::ffff:10.0.0.1"
    )
    assert _walk("from x (y [999.1.1.1]) by z")[0][0] == "entry"


def test_google_catch_all_on_a_real_gmail_chain_recommends_received_for():
    """The real mailpit Gmail message as a Workspace catch-all stores it (the catch-all mailbox in
    Delivered-To): Google's own mx.google.com hop is the entry, its for clause is the receiving side's
    evidence, and Received-for is the answer (it used to be "none works", the for counted sender-written)."""
    from mailsupport.config import User
    from mailsupport.diagnose.catchall import diagnose_catch_all

    raw = (REAL / "mailpit__testdata__plain-text.eml").read_bytes()
    as_catch_all = raw.replace(b"Delivered-To: recipient@example.com", b"Delivered-To: catchall@example.com", 1)
    tenant = Tenant(
        org_key="t",
        inbound=Inbound(address="catchall@example.com", kind=MailboxKind.CATCH_ALL, catch_all_header="Delivered-To"),
        users=(User(address="recipient@example.com"),),
    )
    s = summarize(as_catch_all, source="mailpit.eml", position="1")
    report = diagnose_catch_all([s], tenant)
    rows = {r.header: r for r in report.rows}
    assert report.recommended_header == "Received-for"
    assert (rows["Received-for"].real_target, rows["Delivered-To"].mailbox) == (1, 1)
    # the sender's own Gmail submission hop (by smtp.gmail.com, below the entry) is the only sender-written copy
    assert (rows["Received-for"].sender_written, rows["Received-for"].sender_only) == (1, 0)
    choice = next(f for f in report.findings if f.check == "catchall.header-choice")
    assert "Change the catch-all header from Delivered-To to Received-for" in choice.remedy


def _takeout(x_gm_original_to: bool) -> list:
    from mailsupport.samples.generate import gmail_takeout_messages

    out = []
    for name, raw in gmail_takeout_messages():
        if not x_gm_original_to:
            raw = b"".join(line for line in raw.splitlines(keepends=True) if not line.startswith(b"X-Gm-Original-To:"))
        out.append(summarize(raw, source="takeout.mbox", position=name))
    return out


@pytest.mark.parametrize(
    "x_gm, expected",
    [(False, "Received-for"), (True, "X-Gm-Original-To")],
    ids=["routing-option-off", "routing-option-on"],
)
def test_google_takeout_catch_all_choice(x_gm, expected):
    """A Google catch-all routes by Received-for where the sender's transaction had one recipient, and by
    X-Gm-Original-To when the routing option is on; the missing for clauses are explained."""
    from mailsupport.diagnose.catchall import diagnose_catch_all
    from mailsupport.samples.generate import demo_tenant

    report = diagnose_catch_all(_takeout(x_gm), demo_tenant())
    assert report.recommended_header == expected
    if not x_gm:
        (missing,) = [f for f in report.findings if f.check == "catchall.header-missing"]
        assert "several recipients" in missing.detail and "name several addresses in To/Cc" in missing.detail
        assert {m.position for m in missing.messages} == {"gm2", "gm3", "gm4", "gm6"}


def test_sender_only_header_is_never_recommended():
    """A header that on some message exists only as the sender's copy is excluded even though it files more
    messages, the choice says so, and the forgeable finding is an error when the tenant routes by it."""
    from mailsupport.diagnose.catchall import diagnose_catch_all
    from mailsupport.samples.generate import demo_tenant, plain_message, postfix_copy

    tenant = demo_tenant(header="Envelope-To")
    hop = (
        "Received: from out.example.net (out.example.net [192.0.2.10])\n\tby mail.smithlaw.example with esmtp id {n}\n"
    )
    msgs = []
    for n, rcpt in enumerate(("1042@smithlaw.example", "1043@smithlaw.example"), start=1):
        raw = f"Envelope-To: {rcpt}\n{hop.format(n=n)}".encode() + plain_message(
            to=[rcpt], subject=f"m{n}", message_id=f"e{n}@x", n=n
        )
        msgs.append(summarize(raw, source="t", position=str(n)))
    # the third message: the receiving Postfix wrote X-Original-To, the sender wrote an Envelope-To of its own
    third = plain_message(
        to=["jane@smithlaw.example"], subject="m3", message_id="e3@x", n=3, extra=["Envelope-To: 1042@smithlaw.example"]
    )
    msgs.append(summarize(postfix_copy(third, original_to="jane@smithlaw.example", n=3), source="t", position="3"))
    report = diagnose_catch_all(msgs, tenant)
    rows = {r.header: r for r in report.rows}
    assert (rows["Envelope-To"].real_target, rows["Envelope-To"].sender_only) == (2, 1)
    assert report.excluded == ("Envelope-To",) and report.recommended_header == "X-Original-To"
    choice = next(f for f in report.findings if f.check == "catchall.header-choice")
    assert "Envelope-To would file more, but on some messages only the sender wrote it" in choice.summary
    forged = next(
        f
        for f in report.findings
        if f.check == "catchall.header-forgeable" and dict(f.evidence)["header"] == "Envelope-To"
    )
    assert forged.severity.name == "ERROR" and "current header" in forged.summary
    assert [m.message_id for m in forged.messages] == ["<e3@x>"]


def test_memoised_verdicts_equal_fresh_decisions():
    """The scan's memo (keyed by the text before the id clause) gives the decision the rules give from
    scratch, for every real Received value, every form above, and look-alikes that share a key but
    differ after it (a with clause after id, the fetchmail or uid markers, another protocol)."""
    import random

    from mailsupport import chain

    values = [v for p in sorted(REAL.glob("*.eml")) for _i, n, v in to_scan(p.read_bytes()).trace if n == "received"]
    values += [f[0] for f in FORMS] + [r for case in RULES for r in case[1]]
    base = "from relay.example (relay.example [203.0.113.5]) by mx.firm.example"
    values += [
        f"{base} id 1 with LMTP; now",
        f"{base} with ESMTP id 2 (fetchmail-6.4); now",
        f"{base} with ESMTP id 3; now",
        f"{base} with ESMTPSA id 4; now",
        f"{base}\tid 5 with local; now",
        f"{base} by uid 7 with ESMTP id 8; now",
        f"{base} with ESMTP\tid 9; now",
    ]
    rng = random.Random(3)
    for _round in range(5):
        chain._VERDICTS.clear()
        rng.shuffle(values)
        for v in values + values:  # the second pass answers from the memo where it may
            assert chain._judge(v, None) == chain._decide(v, None)[0], v
    assert chain._VERDICTS  # the memo was used
