"""The receiving chain: which ``Received`` hops the receiving organisation wrote, and where mail entered.

Owns :class:`Hop`, :class:`ReceivingChain`, :func:`parse_received`, :func:`receiving_chain`
and :func:`entry_of` (the same walk without the explanation, for the fast scan). The scan,
every diagnosis and the router decide what a message's receiving side wrote through this
module only.

Every hop **prepends** its ``Received`` field (RFC 5321 §4.4), so read from the top the
fields go back in time: first the hops the receiving organisation added (the mailbox store,
its content filters, the provider's internal relays), then the **entry hop** — the first whose
``from`` side is outside, i.e. the receiving edge's record of the SMTP client that handed the
message over — then whatever the sending side wrote, which the sender controls entirely. Real
providers add several hops of their own: Gmail two internal ``by 10.x``/``by 2002:…`` hops above
``by mx.google.com``; Microsoft 365 three to six through ``*.prod.outlook.com`` and
``*.mail.protection.outlook.com``; Postfix with amavis two ``from localhost`` hops; Dovecot
an LMTP hop; fetchmail a retrieval hop.

Trust: a delivery header (``Delivered-To``, ``X-Original-To``…) **above the entry hop**, and the
``for`` clause of every hop **down to and including the entry hop**, were written by the
receiving side; anything **below the entry hop** is sender-written. When no hop has an outside
``from`` side (a local submission, LAN-internal mail) the bottom ``Received`` stands in for
the entry (:attr:`ReceivingChain.boundary`), and :attr:`ReceivingChain.entry` is 0.

Rules, in the order they are applied to each hop from the top (the first that fits decides;
the walk stops at the first *entry* verdict):

==  =====================================================================  ======  ==========
#   the hop                                                                verdict  example
==  =====================================================================  ======  ==========
1   has no ``from`` clause: added by the server to mail it already held     inside  ``by 10.140.178.13 with SMTP id …``,
                                                                                    ``by host (Postfix, from userid 889)``,
                                                                                    ``(qmail 1 invoked by uid 7)``
2   its ``from`` side is one of the tenant's own MX/relay hosts             inside  ``mx_hosts=("mimecast.lan",)``
    (``mx_hosts``: names, domain suffixes, IP addresses or networks)
3   its ``by`` host is a provider's inbound edge                            entry   ``by mx.google.com``,
                                                                                    ``by X.mail.protection.outlook.com``
4   submitted by a client (RFC 3848 ``ESMTPA``/``ESMTPSA``, ``HTTP``,       entry   webmail on localhost
    ``MAPI``): the sender's own client, whatever its address
5   ``with LMTP`` (Dovecot, Cyrus): delivery into the mailbox store         inside  ``by imap with LMTP id …``
6   a local program: ``with local…`` (Exim), ``by host by uid N``           inside  ``from root by h with local-generated``
    (qmail-scanner)
7   fetchmail retrieval (``with POP3``/``IMAP``, ``(fetchmail…)``): the     inside  ``by localhost with IMAP (fetchmail-6.3.2)``
    owner's own mailbox, whose chain continues below
8   its peer address (the ``from`` clause's TCP-info, else the ``from``     inside  ``(localhost [127.0.0.1])``,
    literal) is loopback, private (RFC 1918), shared (RFC 6598),                    ``([192.168.110.237])``, ``(::1)``
    link-local or unique-local IPv6; or ``from localhost`` without one
9   Microsoft 365 internal: ``from`` and ``by`` both in                     inside  ``from X.namprd04.prod.outlook.com
    ``*.prod.outlook.com``, ``*.prod.protection.outlook.com``,                      (2603:10b6:…) by Y.prod.outlook.com``
    ``*.outlook.office365.com``, ``*.prod.exchangelabs.com``
10  anything else: the ``from`` side is outside (public address, or none    entry   ``from mail-sor-f41.google.com
    recorded and nothing shows it inside)                                           (… [209.85.220.41]) by mx.google.com``
==  =====================================================================  ======  ==========

Rule 3 comes before the address rules so a provider's edge is the entry even when the
client's name imitates an internal host; rule 4 before them so an authenticated local user
(webmail on the same host) cannot extend the chain over headers they wrote themselves.
Names in a ``from`` clause are the client's HELO (its choice); addresses in its TCP-info
were recorded by the receiving server, so rules 8 and 9 rest on addresses and on hops whose
``by`` side only accepts mail from inside.

``Received`` parsing is liberal: RFC 5321 §4.4 ``Stamp`` plus the real forms — Postfix
``from h (rdns [ip]) by h (Postfix) with ESMTPS id … for <a>``, Exim ``from h ([ip] helo=x) by
h with esmtp (Exim 4.96)``, Exchange ``from h (ip) by h (ip) with Microsoft SMTP Server (…) id
15.20.… via Frontend Transport``, qmail ``(qmail 1 invoked from network)``, Google ``by 2002:…
with SMTP id …csp…``, Dovecot ``by h with LMTP id …``, fetchmail ``from h [ip] by h with IMAP
(fetchmail-6.3.2) for <a> (single-drop)``; comments nest.

Pure (layer 2): no sockets, no clock, no files; imports only :mod:`mailsupport.headerblock`
(and, for an :class:`email.message.Message` input, the standard library's email package). Must
not import :mod:`mailsupport.headers`, clients, diagnoses or presentation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .headerblock import HeaderScan, to_scan

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)
if TYPE_CHECKING:  # pragma: no cover; ipaddress itself is imported on first use (see _ip)
    from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
    from typing import Literal

__all__ = ["Hop", "ReceivingChain", "parse_received", "receiving_chain", "entry_of", "received_fields", "EDGE_HOSTS"]

# ----------------------------------------------------------------------------- parsing

# A comment, nested up to three levels (RFC 5322 §3.2.2 CFWS; real TLS comments nest twice). Every
# pattern here meets untrusted text: quantifiers are possessive (Python 3.11) or anchored so that
# no input makes the engine backtrack more than linearly.
_C = r"\((?:[^()\\]++|\\.|\((?:[^()\\]++|\\.|\([^()]*+\))*+\))*+\)"
# Leading comments, the From-domain with its TCP-info (comments and Exim/fetchmail's bare [ip]),
# more comments, then the By-domain. Every part optional: ``by`` only, ``(qmail …)`` only.
_HOP_RE = re.compile(
    r"(?:" + _C + r"\s*+)*+"
    r"(?:from\s++(?P<from>[^\s();]*+)(?P<info>(?:\s*+(?:" + _C + r"|\[[^\]\s]*+\]))*+)\s*+)?"
    r"(?:" + _C + r"\s*+)*+"
    r"(?:by\s++(?P<by>[^\s();]++))?",
    re.I,
)
_BY_RE = re.compile(r"(?:^|[\s)])by\s++([^\s();]++)", re.I)
_WITH_RE = re.compile(r"(?:^|[\s)])with\s++([^\s();]++)", re.I)
_WITH_TEXT_RE = re.compile(r"(?:^|[\s)])with\s++([^;()]*+)", re.I)
_CLAUSE_END_RE = re.compile(r"\s(?:id|for|via)\s", re.I)
_ID_RE = re.compile(r"(?:^|[\s)])id\s++<?([^\s;<>()]++)", re.I)
_VIA_RE = re.compile(r"(?:^|[\s)])via\s++([^\s;()]++)", re.I)
_FOR_RE = re.compile(r"\bfor\s++<?([^\s<>;]++)", re.I)
_BY_UID_RE = re.compile(r"\sby\s++uid\s++\d", re.I)
# An IPv4 address anywhere, or an IPv6 one in brackets/parentheses (``[IPv6:2607:…]``, ``(2603:10b6:…)``, ``(::1)``)
_ADDRESS_RE = re.compile(
    r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])"
    r"|(?:^|[\[(])(?:IPv6:)?([0-9A-Fa-f]*+:[0-9A-Fa-f:.]*+(?:%[\w.]++)?+)(?:$|[\])])"
)
_BEFORE_BRACKET_RE = re.compile(r"\d\.\d++\.\d|:[0-9A-Fa-f]*+:")  # an address before the first "["
_NAME_RE = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z0-9][A-Za-z0-9-]*+(?:\.[A-Za-z0-9-]++)++\.?")

#: Inbound edges of the big providers: a hop ``by`` one of these is the entry (rule 3).
EDGE_HOSTS = {"Google": "mx.google.com", "Microsoft 365": "*.mail.protection.outlook.com"}
_EDGE_RE = re.compile(r"^(mx\.google\.com)\.?$|\.mail\.protection\.outlook\.com\.?$", re.I)
_MS_INTERNAL = re.compile(
    r"\.(?:prod\.outlook\.com|prod\.protection\.outlook\.com|outlook\.office365\.com|"
    r"prod\.exchangelabs\.com)\.?$",
    re.I,
)
#: RFC 3848 authenticated submission, webmail and Outlook's own protocol: the sender's client (rule 4).
_SUBMISSION = frozenset({"esmtpa", "esmtpsa", "utf8smtpa", "utf8smtpsa", "http", "mapi"})
_RETRIEVAL = frozenset({"pop3", "pop", "imap", "imap4", "kpop", "apop", "sdps", "odmr"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Hop:
    """One ``Received`` field, parsed, with the chain's verdict on it.

    ``number`` counts the message's ``Received`` fields from 1 at the top; ``index`` is the
    field's index in the header block (as :class:`~mailsupport.headerblock.HeaderScan` counts).
    ``from_host`` is the From-domain as written (``""`` without a ``from`` clause), ``from_info``
    its TCP-info comments, ``peer`` the client address the receiving server recorded (``""``
    when none), ``by_host`` the By-domain, ``protocol`` the ``with`` clause, ``id``, ``via`` and
    ``for_address`` (normalised, ``""`` when absent) the other clauses. ``verdict`` is
    ``inside`` (a hop of the receiving organisation), ``entry`` (the entry hop) or ``below``
    (the sending side); ``reason`` says why in words.
    """

    number: int
    index: int
    raw: str
    from_host: str = ""
    from_info: str = ""
    peer: str = ""
    by_host: str = ""
    protocol: str = ""
    id: str = ""
    via: str = ""
    for_address: str = ""
    verdict: str = "below"
    reason: str = ""

    @property
    def source(self) -> str:
        """The ``from`` side in short: ``mail-sor-f41.google.com [209.85.220.41]``."""
        host = self.from_host or "(no name)"
        return f"{host} [{self.peer}]" if self.peer and self.peer not in host else host

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict of every field."""
        return {
            "number": self.number,
            "index": self.index,
            "from": self.from_host,
            "peer": self.peer,
            "by": self.by_host,
            "with": self.protocol,
            "id": self.id,
            "via": self.via,
            "for": self.for_address,
            "verdict": self.verdict,
            "reason": self.reason,
            "raw": self.raw,
        }


def _normalize(token: str) -> str:
    token = token.strip().strip(";,").strip()
    if token[:7].lower() == "mailto:":
        token = token[7:]
    if "@" not in token:
        return token
    local, _, domain = token.rpartition("@")
    return f"{local}@{domain.lower().rstrip('.')}"


def parse_received(value: str, *, number: int = 1, index: int = 0) -> Hop:
    """The clauses of one unfolded ``Received`` value (liberal; see the module docstring).

    Never raises: a value that fits no form gives a :class:`Hop` with what could be read
    (at least ``raw``). The verdict is left ``below``; :func:`receiving_chain` decides it.
    """
    m = _HOP_RE.match(value)
    assert m is not None  # every part of _HOP_RE is optional: it matches any value, at worst empty
    from_host = m.group("from") or ""
    info = " ".join((m.group("info") or "").split())
    by = m.group("by")
    rest_at = m.end()
    if by is None:
        found = _BY_RE.search(value, m.end())
        by, rest_at = (found.group(1), found.end()) if found else ("", m.end())
    rest = value[rest_at:]
    cut = rest.rfind(";")
    clauses = rest if cut < 0 else rest[:cut]
    w = _WITH_TEXT_RE.search(clauses)
    with_text = w.group(1) if w else ""
    end = _CLAUSE_END_RE.search(with_text)
    if end:
        with_text = with_text[: end.start()]
    i = _ID_RE.search(clauses)
    v = _VIA_RE.search(clauses)
    f = _FOR_RE.search(clauses)
    peer = _peer(from_host, info) if m.group("from") is not None else ""
    return Hop(
        number=number,
        index=index,
        raw=value,
        from_host=from_host,
        from_info=info,
        peer=peer,
        by_host=by,
        protocol=" ".join(with_text.split()),
        id=i.group(1) if i else "",
        via=v.group(1) if v else "",
        for_address=_normalize(f.group(1)) if f else "",
    )


def _peer(from_host: str, info: str) -> str:
    """The client address: the first one in the TCP-info, else the From-domain if it is an address."""
    at = info.find("[")
    if at >= 0:  # the usual "(name [address])": one bracketed address first in the TCP-info
        end = info.find("]", at)
        text = info[at + 1 : end]
        if text[:5] == "IPv6:":
            text = text[5:]
        if end > 0 and not _BEFORE_BRACKET_RE.search(info, 0, at) and _ip(text) is not None:
            return text
    for text in (info, from_host):
        for m in _ADDRESS_RE.finditer(text):
            found = m.group(1) or m.group(2)
            if _ip(found) is not None:
                return found
    return ""


_IP_MEMO: dict[str, IPv4Address | IPv6Address | None] = {}
_MEMO_MAX = 4096


def _ip(text: str) -> IPv4Address | IPv6Address | None:
    """``ipaddress`` object of ``text`` (IPv6 zone and IPv4-mapped form handled), or ``None``; memoised."""
    found: IPv4Address | IPv6Address | None | Literal[False] = _IP_MEMO.get(text, False)
    if found is False:
        import ipaddress  # on first use: not every process reads a Received line

        try:
            found = ipaddress.ip_address(text.split("%", 1)[0])
            if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
                found = found.ipv4_mapped
        except ValueError:
            found = None
        if len(_IP_MEMO) >= _MEMO_MAX:
            _IP_MEMO.clear()
        _IP_MEMO[text] = found
    return found


def _internal_kind(peer: str) -> str:
    """``loopback``, ``private``, ``shared``, ``link-local``, ``unique-local`` or ``""`` (public, or not an address).

    Loopback 127/8 and ::1, private 10/8, 172.16/12 and 192.168/16 (RFC 1918), shared 100.64/10
    (RFC 6598), link-local 169.254/16 and fe80::/10, unique-local fc00::/7 (RFC 4193). The
    documentation ranges (RFC 5737) count as public: anonymised samples use them for real senders.
    """
    ip = _ip(peer) if peer else None
    if ip is None:
        return ""
    n = int(ip)
    if ip.version == 4:
        top = n >> 24
        if top == 127:
            return "loopback"
        if top == 10 or n >> 20 == 0xAC1 or n >> 16 == 0xC0A8:
            return "private"
        if n >> 22 == 0x191:
            return "shared"
        return "link-local" if n >> 16 == 0xA9FE else ""
    if n == 1:
        return "loopback"
    if n >> 121 == 0x7E:
        return "unique-local"
    return "link-local" if n >> 118 == 0x3FA else ""


# ----------------------------------------------------------------------------- tenant hosts


@dataclass(frozen=True, slots=True)
class _Hosts:
    names: tuple[str, ...]
    networks: tuple[IPv4Network | IPv6Network, ...]

    def match(self, names: Iterable[str], peer: str) -> str:
        ip = _ip(peer) if peer else None
        if ip is not None:
            for net in self.networks:
                if ip.version == net.version and ip in net:
                    return str(net)
        for name in names:
            name = name.lower().rstrip(".")
            for want in self.names:
                if name == want or name.endswith("." + want):
                    return want
        return ""


_HOSTS_MEMO: dict[tuple[str, ...], _Hosts] = {}


def _hosts(mx_hosts: Sequence[str]) -> _Hosts | None:
    if not mx_hosts:
        return None
    key = tuple(mx_hosts)
    found = _HOSTS_MEMO.get(key)
    if found is None:
        import ipaddress

        names, nets = [], []
        for item in key:
            item = item.strip().lower().strip(".")
            if not item:
                continue
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                names.append(item)
        found = _Hosts(tuple(names), tuple(nets))
        if len(_HOSTS_MEMO) >= 64:
            _HOSTS_MEMO.clear()
        _HOSTS_MEMO[key] = found
    return found


# ----------------------------------------------------------------------------- the rules


def _decide(value: str, hosts: _Hosts | None) -> tuple[tuple[bool, str, str, str], int]:
    """``((inside, rule, by host, detail), read)`` of one ``Received`` value: the rules of the module docstring.

    The one decision every caller shares: :func:`receiving_chain` calls it directly, the scan
    through :func:`_judge`'s memo. ``rule`` names the rule; ``detail`` is what the reason quotes
    (a peer, a matched host, a protocol). ``read`` is how far into ``value`` the decision looked
    (the rest cannot change it), except for the two markers ``uid`` and ``(fetchmail`` that
    :func:`_judge` tests on the whole value.
    """
    m = _HOP_RE.match(value)
    assert m is not None  # every part of _HOP_RE is optional: it matches any value, at worst empty
    by = m.group("by")
    frm = m.group("from")
    if by is None:
        found = _BY_RE.search(value, m.end())
        by, end = (found.group(1), found.end()) if found else ("", len(value))
    else:
        end = m.end()
    if frm is None:
        return (True, "no-from", by, ""), end
    if hosts is None:
        edge = _EDGE_RE.search(by)
        if edge:  # rule 3 decides before anything the rest of the value says (rule 2 needs hosts)
            return (False, "edge", by, "Google" if edge.group(1) else "Microsoft 365"), end
    w = _WITH_RE.search(value, end)
    return _rules(value, frm, m.group("info") or "", by, end, w, hosts), (w.end() if w else len(value))


def _judge(value: str, hosts: _Hosts | None) -> tuple[bool, str, str, str]:
    """:func:`_decide`'s verdict, memoised for the scan: mail from one sending server and a provider's
    internal hops repeat everything the decision reads, and only the ``id`` clause and the date differ.

    The key is the text before the ``id`` clause, used only when the decision read no further than
    that (up to the white space before ``id``, so any value with the same key decides alike) and
    neither marker is in the value; with tenant hosts nothing is memoised. Bounded like the scan's
    other memos.
    """
    if hosts is None and "uid" not in value and "(fetchmail" not in value:
        at = value.find(" id ")
        tab = value.find("\tid ")
        if tab >= 0 and (at < 0 or tab < at):
            at = tab
        if 0 < at <= _KEY_MAX:
            key = value[:at]
            found = _VERDICTS.get(key)
            if found is None:
                found, read = _decide(value, None)
                if read <= at:  # value[at] is white space in every value with this key: read alike
                    if len(_VERDICTS) >= _MEMO_MAX:
                        _VERDICTS.clear()
                    _VERDICTS[key] = found
            return found
    return _decide(value, hosts)[0]


_VERDICTS: dict[str, tuple[bool, str, str, str]] = {}
_KEY_MAX = 1024


def _rules(
    value: str, frm: str, info: str, by: str, end: int, w: re.Match[str] | None, hosts: _Hosts | None
) -> tuple[bool, str, str, str]:
    """Rules 2-10 for a hop with a ``from`` clause (see :func:`_judge`)."""
    peer = None
    if hosts is not None:
        peer = _peer(frm, info)
        matched = hosts.match((frm.strip("[]"), *_NAME_RE.findall(info)), peer)
        if matched:
            return True, "tenant", by, matched
    edge = _EDGE_RE.search(by)
    if edge:
        return False, "edge", by, "Google" if edge.group(1) else "Microsoft 365"
    if w is not None:  # its protocol (group 1) is never empty
        protocol = w.group(1)
        proto = protocol.lower()
        if proto in _SUBMISSION:
            return False, "submission", by, protocol
        if proto.startswith("lmtp"):
            return True, "lmtp", by, protocol
        if proto.startswith("local"):
            return True, "local", by, protocol
        if proto in _RETRIEVAL:
            return True, "fetchmail", by, protocol
    if "uid" in value and _BY_UID_RE.search(value, end):
        return True, "local", by, "by uid"
    if "(fetchmail" in value:
        return True, "fetchmail", by, "fetchmail"
    if peer is None:
        peer = _peer(frm, info)
    kind = _internal_kind(peer)
    if kind:
        return True, kind, by, peer
    if not peer and frm.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        return True, "loopback", by, "localhost"
    if _MS_INTERNAL.search(frm) and _MS_INTERNAL.search(by):
        return True, "microsoft", by, frm
    return False, "outside", by, peer


def _reason(rule: str, by: str, detail: str, source: str) -> str:
    """The words for a verdict of :func:`_judge`."""
    by = by or "the server"
    return {
        "no-from": f"no from clause: {by} handed on mail it already held (internal hop or local submission)",
        "tenant": f"from the tenant's own MX/relay host ({detail}): {source}",
        "edge": f"entry: {by} is {detail}'s inbound MX; from {source} is outside",
        "submission": f"entry: submitted with {detail} by a client ({source}): the sender's own client",
        "lmtp": f"LMTP delivery into the mailbox store by {by}",
        "local": f"a local program on {by} ({detail})",
        "fetchmail": f"fetchmail retrieval ({detail}) from the owner's mailbox at {source}",
        "loopback": f"from localhost (content filter or local relay): peer {detail}",
        "private": f"private peer {detail}",
        "shared": f"internal peer {detail} (shared address space, RFC 6598)",
        "link-local": f"link-local peer {detail}",
        "unique-local": f"internal IPv6 peer {detail} (unique local)",
        "microsoft": f"same provider: Microsoft 365 internal hop from {detail}",
        "outside": (
            f"entry: from {source} is outside"
            if detail
            else f"entry: from {source} (no peer address recorded) is not shown to be inside"
        ),
    }[rule]


# ----------------------------------------------------------------------------- the chain


def received_fields(trace: Iterable[tuple[int, str, str]]) -> list[tuple[int, str]]:
    """``(field index, value)`` of every ``Received`` in a :class:`HeaderScan` trace, top first."""
    return [(i, v) for i, n, v in trace if n == "received"]


def entry_of(trace: Iterable[tuple[int, str, str]], mx_hosts: Sequence[str] = ()) -> tuple[int, int, str]:
    """``(entry, boundary, entry_by)`` of a trace: the walk of :func:`receiving_chain`, without words.

    ``entry`` is the entry hop's number (1-based among the ``Received`` fields, 0 when none is
    outside), ``boundary`` the field index evidence must sit above (the entry hop's, else the
    bottom ``Received``'s; -1 when there is no ``Received``), ``entry_by`` the entry hop's
    ``by`` host (``""`` when none). For the fast scan; equal to :func:`receiving_chain` (tested).
    """
    hosts = _hosts(mx_hosts) if mx_hosts else None
    number = 0
    last = -1
    for i, n, v in trace:
        if n != "received":
            continue
        number += 1
        last = i
        if v[:1] not in "fF(" or (v[:1] != "(" and v[:4].lower() != "from"):
            continue  # no from clause: rule 1, as _judge decides it, without the regex
        inside, _rule, by, _detail = _judge(v, hosts)
        if not inside:
            return number, i, by
    return 0, last, ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivingChain:
    """A message's ``Received`` hops, top first, with the receiving chain and its entry hop marked.

    ``hops`` holds every ``Received`` field (verdicts ``inside`` down to the entry, then
    ``entry``, then ``below``); ``entry`` is the entry hop's number (0 when no hop's ``from``
    side is outside); ``boundary`` is the field index trusted evidence sits above: the entry
    hop's, else the bottom ``Received``'s (``None`` without any ``Received``). See
    :meth:`trusts`.
    """

    hops: tuple[Hop, ...] = ()
    entry: int = 0
    boundary: int | None = None

    @property
    def entry_hop(self) -> Hop | None:
        """The entry hop, or ``None``."""
        return self.hops[self.entry - 1] if self.entry else None

    @property
    def chain(self) -> tuple[Hop, ...]:
        """The receiving chain: the hops down to and including the entry hop (every hop when none is outside)."""
        return self.hops[: self.entry] if self.entry else self.hops

    def trusts(self, index: int, *, received: bool = False) -> bool:
        """Whether the field at ``index`` was written by the receiving side.

        A delivery header must sit above :attr:`boundary`; a ``Received`` field (its ``for``
        clause) must be at or above it. Without any ``Received`` nothing shows who wrote a
        field, and it is taken as the receiving side's.
        """
        if self.boundary is None:
            return True
        return index <= self.boundary if received else index < self.boundary

    def explain(self) -> tuple[str, ...]:
        """One line per hop of the chain (and one for the hops below), for a router trace or a report."""
        out = [f"hop {h.number} by {h.by_host or '?'}: {h.reason}" for h in self.chain]
        if not self.hops:
            out.append("no Received field: nothing shows who wrote the delivery headers")
        elif not self.entry:
            out.append(f"no hop's from side is outside: the bottom hop ({self.hops[-1].number}) bounds the evidence")
        below = len(self.hops) - self.entry if self.entry else 0
        if below:
            out.append(f"{below} hop(s) below the entry: written by the sending side")
        return tuple(out)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: ``entry``, ``boundary`` and every hop."""
        return {"entry": self.entry, "boundary": self.boundary, "hops": [h.to_dict() for h in self.hops]}


def receiving_chain(
    headers: HeaderScan | bytes | str | Sequence[tuple[str, str]] | object, *, mx_hosts: Sequence[str] = ()
) -> ReceivingChain:
    """The receiving chain of a message (see the module docstring for the rules).

    ``headers`` is a :class:`HeaderScan`, the raw message (or its header block) as bytes or
    str, an :class:`email.message.Message` or ``(name, value)`` pairs. ``mx_hosts`` are the
    tenant's own MX/relay hosts in front of the mailbox (names, domain suffixes, addresses or
    networks): hops from them belong to the chain (rule 2).
    """
    scan = to_scan(headers)
    hosts = _hosts(mx_hosts)
    hops: list[Hop] = []
    entry = 0
    for number, (index, value) in enumerate(received_fields(scan.trace), start=1):
        hop = parse_received(value, number=number, index=index)
        if entry:
            hops.append(hop)
            continue
        (inside, rule, by, detail), _read = _decide(value, hosts)
        verdict = "inside" if inside else "entry"
        hops.append(_with_verdict(hop, verdict, _reason(rule, by, detail, hop.source)))
        if not inside:
            entry = number
    if entry:
        boundary: int | None = hops[entry - 1].index
    else:
        boundary = hops[-1].index if hops else None
    below = (
        tuple(_with_verdict(h, "below", "below the entry hop: written by the sending side") for h in hops[entry:])
        if entry
        else ()
    )
    return ReceivingChain(hops=tuple(hops[: entry or len(hops)]) + below, entry=entry, boundary=boundary)


def _with_verdict(hop: Hop, verdict: str, reason: str) -> Hop:
    from dataclasses import replace

    return replace(hop, verdict=verdict, reason=reason)
