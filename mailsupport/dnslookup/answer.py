"""DNS answers as the kit sees them: :class:`DnsAnswer`, :class:`AnswerStatus`, :class:`MxRecord`, the :class:`DnsLookup` protocol.

Also the conversions every backend shares (public names for the backends of this package, not in
``__all__``): a name to a dnspython name (:func:`dns_name`, cached), a name as answers carry it
(:func:`normalize_name`), dnspython records (:func:`answer_from_rrsets`) or :mod:`.wire`'s fast
reading of them (:func:`answer_from_decoded`) to a :class:`DnsAnswer`, and ``host[:port]``
nameserver text. Re-exported by :mod:`mailsupport.dnslookup`.
Layer 3 (client): may import errors; no sockets here.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import dns.exception
import dns.name
import dns.rdatatype

from ..errors import ConfigError, DnsError

__all__ = ["QUERY_TYPES", "AnswerStatus", "MxRecord", "DnsAnswer", "DnsLookup", "parse_nameserver"]

#: The record types the interface answers.
QUERY_TYPES = ("TXT", "A", "AAAA", "MX", "PTR", "CNAME", "SPF")


class AnswerStatus(enum.Enum):
    """How a name server answered: records, no such name, or the name but no such type."""

    NOERROR = "noerror"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"


@dataclass(frozen=True, slots=True, kw_only=True)
class MxRecord:
    """One MX record: lower ``preference`` is tried first; ``exchange`` ``"."`` is a null MX."""

    preference: int
    exchange: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsAnswer:
    """A typed answer to one question.

    ``records`` depends on ``rdtype``: TXT/SPF → ``str`` per record (its character-strings
    concatenated with no separator, RFC 7208 §3.3, decoded as UTF-8 with U+FFFD for bad
    bytes); A/AAAA → address text; MX → :class:`MxRecord`; PTR/CNAME → target name without
    the trailing dot. ``name`` is the question (lower case, no trailing dot);
    ``canonical_name`` is where CNAMEs led. ``void`` is True for NXDOMAIN and NODATA.
    """

    name: str
    rdtype: str
    status: AnswerStatus
    records: tuple[Any, ...] = ()
    ttl: int = 0
    canonical_name: str = ""

    @property
    def void(self) -> bool:
        """True when the answer holds no records (NXDOMAIN or NODATA: RFC 7208 §4.6.4)."""
        return not self.records

    def describe(self) -> str:
        """A short text for traces: the records, or ``NXDOMAIN``/``NODATA``."""
        if self.status is AnswerStatus.NXDOMAIN:
            return "NXDOMAIN"
        if not self.records:
            return "NODATA"
        return ", ".join(_record_text(r) for r in self.records)


def _record_text(record: Any) -> str:
    if isinstance(record, MxRecord):
        return f"{record.preference} {record.exchange}"
    if isinstance(record, str) and record and not record.isprintable():
        return repr(record)
    return f'"{record}"' if isinstance(record, str) and " " in record else str(record)


@runtime_checkable
class DnsLookup(Protocol):
    """Anything that answers DNS questions for the kit (see module docstring).

    ``source`` says where answers come from (for traces and reports).
    """

    source: str

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Answer ``(name, rdtype)``; raise DnsTempError on timeout/SERVFAIL."""
        ...

    async def aquery(self, name: str, rdtype: str) -> DnsAnswer:
        """The async form of :meth:`query`."""
        ...


# -- conversions ---------------------------------------------------------------------
@functools.lru_cache(maxsize=2048)
def dns_name(name: str) -> dns.name.Name:
    """``name`` as a dnspython Name, or :class:`DnsError` saying why it cannot be asked (cached)."""
    # names recur across a run's questions (and dns.name.from_text is costly); Names are immutable
    try:
        return dns.name.from_text(name)
    except dns.exception.DNSException as exc:
        raise DnsError(
            f"cannot query {name!r}: {exc} (a label is over 63 octets, the name is over 255, or a label is empty)"
        ) from exc


def normalize_name(name: str) -> str:
    """A name as answers carry it: lower case, without the final dot (the root stays ``.``)."""
    return name.rstrip(".").lower() if name != "." else "."


def _convert(rdtype: str, rdata: Any) -> Any:
    if rdtype in ("TXT", "SPF"):
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if rdtype in ("A", "AAAA"):
        return rdata.address
    if rdtype == "MX":
        return MxRecord(preference=rdata.preference, exchange=normalize_name(rdata.exchange.to_text()))
    if rdtype in ("PTR", "CNAME"):
        return normalize_name(rdata.target.to_text())
    return rdata.to_text()


def answer_from_rrsets(name: str, rdtype: str, rrsets: Iterable[Any], status: AnswerStatus) -> DnsAnswer:
    """The :class:`DnsAnswer` for dnspython's answer rrsets (NOERROR without records is NODATA)."""
    wanted = dns.rdatatype.from_text(rdtype)
    records: list[Any] = []
    ttl = 0
    canonical = normalize_name(name)
    for rrset in rrsets:
        if rrset.rdtype == wanted:
            records.extend(_convert(rdtype, r) for r in rrset)
            ttl = rrset.ttl
            canonical = normalize_name(rrset.name.to_text())
    if status is AnswerStatus.NOERROR and not records:
        status = AnswerStatus.NODATA
    return DnsAnswer(
        name=normalize_name(name),
        rdtype=rdtype,
        status=status,
        records=tuple(records),
        ttl=ttl,
        canonical_name=canonical,
    )


def answer_from_decoded(name: str, rdtype: str, fast: tuple[int, tuple[Any, ...], int, str | None]) -> DnsAnswer:
    """The :class:`DnsAnswer` for :func:`mailsupport.dnslookup.wire.decode`'s reading of a response: the
    same one :func:`answer_from_rrsets` builds from dnspython's parse of the same message."""
    rcode, records, ttl, owner = fast
    if rcode == 3:
        return DnsAnswer(
            name=normalize_name(name), rdtype=rdtype, status=AnswerStatus.NXDOMAIN, canonical_name=normalize_name(name)
        )
    if not records:
        return DnsAnswer(
            name=normalize_name(name), rdtype=rdtype, status=AnswerStatus.NODATA, canonical_name=normalize_name(name)
        )
    if rdtype == "MX":
        records = tuple(MxRecord(preference=p, exchange=e) for p, e in records)
    return DnsAnswer(
        name=normalize_name(name),
        rdtype=rdtype,
        status=AnswerStatus.NOERROR,
        records=records,
        ttl=ttl,
        canonical_name=owner or normalize_name(name),
    )


# -- backends ------------------------------------------------------------------------
def parse_nameserver(text: str) -> tuple[str, int]:
    """Parse ``host[:port]`` (``[v6]:port`` for IPv6) into ``(host, port)``; port defaults to 53."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], text)
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        port = _port(p, text)
    if not host:
        raise ConfigError(f"nameserver {text!r} has no host: use HOST[:PORT], e.g. 127.0.0.1:5353")
    return host, port


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"nameserver {whole!r}: port must be 1-65535, e.g. 127.0.0.1:5353")
    return int(text)
