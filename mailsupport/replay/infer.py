"""Which sandbox profile stands in for the server that received a sample message.

Owns :class:`ServerGuess`, :func:`guess_server`, :data:`PROFILE_NAMES` and
:func:`size_limit_for`. The receiving chain (:mod:`mailsupport.chain`) and the evidence the
receiving side wrote say which system filed a message; a profile of
:mod:`mailsupport.sandbox.profiles` writes the same kind of trace. The first rule that fits
decides:

==  ============================================================  ==============
#   the message                                                   profile
==  ============================================================  ==============
1   entry hop ``by mx.google.com``, or Google's fingerprint        ``gmail``
2   a hop of the chain in ``*.protection.outlook.com`` /           ``office365``
    ``*.prod.outlook.com`` (Microsoft 365)
3   Exchange's fingerprint (``Microsoft SMTP Server``)             ``exchange``
4   the receiving side wrote ``Envelope-To``                       ``exim``
5   the receiving side wrote ``X-Original-To``                     ``postfix``
6   only a ``for`` clause names the recipient                      ``received-for``
7   no envelope header, no ``for`` clause                          ``exchange`` (writes none either)
8   anything else (``Delivered-To`` naming an address, qmail,      ``postfix``, marked not exact
    ``X-Envelope-To``)
==  ============================================================  ==============

``exact`` says whether the profile writes the evidence the sample's server wrote (the same
headers, so the router meets the same choices); a guess that is not exact is still replayed
and the result says so. Gmail's ``X-Gm-Original-To`` (Workspace's routing option) is an
option of the ``gmail`` profile, switched on when the receiving side wrote it.

Pure (layer 2): no sockets, no files; the profile names are spelled out here (a test keeps
them equal to the sandbox's) so this module never imports the sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..chain import EDGE_HOSTS, ReceivingChain
from ..headers import RecipientEvidence
from ..sizes import POSTFIX_DEFAULT_LIMIT, PROVIDER_LIMITS

__all__ = [
    "PROFILE_NAMES",
    "ServerGuess",
    "guess_server",
    "size_limit_for",
    "PROFILE_HEADERS",
    "PROFILE_ROUTES",
    "writes_for",
]

#: The sandbox profiles a replay may use (``mailsupport.sandbox.profile_names`` without variants).
PROFILE_NAMES = ("postfix", "exim", "received-for", "gmail", "office365", "exchange")
#: The evidence headers each profile writes besides ``Delivered-To`` naming the mailbox itself (what "exact"
#: compares with). A ``Delivered-To`` naming any other address (a personal mailbox) no profile writes for a
#: catch-all: every copy lands in the catch-all mailbox.
PROFILE_HEADERS = {
    "postfix": frozenset({"X-Original-To", "Received-for"}),
    "exim": frozenset({"Envelope-To", "Received-for"}),
    "received-for": frozenset({"Received-for"}),
    "gmail": frozenset({"Received-for", "X-Gm-Original-To"}),
    "office365": frozenset(),
    "exchange": frozenset(),
}
#: The header each profile's server keeps the recipient in, when the tenant routes by it (``None``: none).
PROFILE_ROUTES = {
    "postfix": "X-Original-To",
    "exim": "Envelope-To",
    "received-for": "Received-for",
    "gmail": "Received-for",
    "office365": None,
    "exchange": None,
}
_MS = re.compile(
    r"\.(?:protection\.outlook\.com|prod\.outlook\.com|outlook\.office365\.com"
    r"|prod\.exchangelabs\.com)\.?$",
    re.I,
)
_GOOGLE_EDGE = EDGE_HOSTS["Google"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerGuess:
    """The profile a message is replayed through, why, and whether it writes what the sample's server did."""

    profile: str
    reason: str
    exact: bool = True
    x_gm_original_to: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict of every field."""
        return {
            "profile": self.profile,
            "reason": self.reason,
            "exact": self.exact,
            "x_gm_original_to": self.x_gm_original_to,
        }


def _headers(trusted: Iterable[RecipientEvidence], mailbox: str) -> set[str]:
    """The evidence headers the receiving side wrote; a ``Delivered-To`` naming only the mailbox routes
    like none (the router files the mailbox's own address as failed, as it files a missing header)."""
    out = set()
    for ev in trusted:
        if ev.header == "Delivered-To" and mailbox and ev.address.lower() == mailbox.lower():
            out.add("Delivered-To:mailbox")
        else:
            out.add(ev.header)
    return out


def _inexact(profile: str, found: set[str]) -> str:
    """What the profile's server does not write of ``found`` (``""`` when it writes all of it)."""
    extra = sorted(h for h in found if h not in PROFILE_HEADERS[profile] and h != "Delivered-To:mailbox")
    if not extra:
        return ""
    named = ", ".join("Delivered-To naming the recipient's own mailbox" if h == "Delivered-To" else h for h in extra)
    return f"; approximate: the {profile} profile's server does not write {named}"


def guess_server(
    chain: ReceivingChain, candidates: Iterable[RecipientEvidence], *, provider: str = "other", mailbox: str = ""
) -> ServerGuess:
    """The profile for one message (the table of the module docstring).

    ``chain`` is the message's receiving chain, ``candidates`` its envelope evidence (only the
    trusted part is read), ``provider`` the fingerprint (:func:`mailsupport.headers.fingerprint`),
    ``mailbox`` the catch-all mailbox's own address.
    """
    trusted = [ev for ev in candidates if ev.trusted]
    found = _headers(trusted, mailbox)
    plain = {h.split(":")[0] for h in found}

    def exact(profile: str) -> bool:
        writes = PROFILE_HEADERS[profile]
        return all(h in writes or h == "Delivered-To:mailbox" for h in found)

    entry = chain.entry_hop
    if (entry is not None and entry.by_host.lower().rstrip(".") == _GOOGLE_EDGE) or provider == "gmail":
        where = f"entry hop by {entry.by_host}" if entry is not None else "Google's fingerprint"
        return ServerGuess(
            profile="gmail",
            reason=f"Google received it ({where})" + _inexact("gmail", found),
            exact=exact("gmail"),
            x_gm_original_to="X-Gm-Original-To" in plain,
        )
    ms = next((h for h in chain.chain if _MS.search(h.by_host or "")), None)
    if ms is not None:
        return ServerGuess(
            profile="office365", reason=f"Microsoft 365 received it (hop by {ms.by_host})", exact=not found
        )
    if provider == "exchange":
        return ServerGuess(
            profile="exchange", reason="Exchange received it (Microsoft SMTP Server hop)", exact=not found
        )
    if "Envelope-To" in plain:
        return ServerGuess(
            profile="exim",
            reason="the receiving side wrote Envelope-To (Exim's local delivery)" + _inexact("exim", found),
            exact=exact("exim"),
        )
    if "X-Original-To" in plain:
        return ServerGuess(
            profile="postfix",
            reason="the receiving side wrote X-Original-To (Postfix's local "
            "or virtual delivery)" + _inexact("postfix", found),
            exact=exact("postfix"),
        )
    if plain and plain <= {"Received-for", "Delivered-To"} and "Delivered-To" not in found:
        return ServerGuess(
            profile="received-for", reason="only the receiving chain's for clause names the recipient", exact=True
        )
    if not found or found == {"Delivered-To:mailbox"}:
        return ServerGuess(
            profile="exchange",
            reason="the receiving side wrote no envelope recipient; the exchange profile writes none either",
            exact=True,
        )
    named = ", ".join(sorted(plain))
    return ServerGuess(
        profile="postfix",
        reason=f"no profile writes what this server wrote ({named}); replayed through postfix",
        exact=False,
    )


def writes_for(profile: str, recipients: int) -> bool:
    """Whether the profile's entry hop gets a ``for`` clause in a transaction with ``recipients`` recipients:
    Postfix, Exim and Google write one only for a single recipient (RFC 5321 §4.4), the received-for
    profile always (each recipient is relayed alone), Microsoft's servers never."""
    if profile == "received-for":
        return True
    return profile in ("postfix", "exim", "gmail") and recipients == 1


def size_limit_for(profile: str) -> int:
    """The largest message the profile's server accepts: Gmail's and Microsoft 365's documented receive
    limits (:data:`mailsupport.sizes.PROVIDER_LIMITS`), Postfix's default ``message_size_limit`` otherwise."""
    names = {"gmail": "Gmail", "office365": "Office 365"}
    for limit in PROVIDER_LIMITS:
        if limit.provider == names.get(profile) and limit.direction == "receive":
            return limit.limit
    return POSTFIX_DEFAULT_LIMIT
