"""The one DNS lookup interface of the kit: :class:`DnsLookup` and its dnspython backends.

Every DNS question the kit asks (SPF evaluation, MX checks, the connection doctor's DNS
rung) goes through a :class:`DnsLookup`: ``query(name, rdtype)`` (sync) and
``await aquery(name, rdtype)`` (async), both returning a typed :class:`DnsAnswer` that
tells an existing answer from **NXDOMAIN** and **NODATA** (together the RFC 7208 §4.6.4
"void" answers), and raising :class:`~mailsupport.errors.DnsTempError` for a timeout or
SERVFAIL (and :class:`~mailsupport.errors.DnsError` for a name that cannot be queried).

Backends (all built on dnspython):

* :class:`ResolverLookup` — the system's resolver (``ResolverLookup()``) or one given
  nameserver address (``ResolverLookup.for_nameserver("127.0.0.1:5353")``, e.g. the
  sandbox DNS server);
* :class:`ZoneLookup` — answers offline from :class:`~mailsupport.zones.ZoneData`
  (zone files, fault marks included), no sockets;
* :class:`CachedLookup` — wraps any lookup with a per-run answer cache shared by every
  caller (sync or async; concurrent identical async questions are asked once).

:func:`make_lookup` builds the usual combination from CLI-style options. Questions to given
nameservers are built and (when plain) read by :mod:`.wire` without dnspython's message
machinery; dnspython reads every other answer. Layer 3 (client): may import errors, model
and zones; must not import the SPF core, sandbox or presentation.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import functools
import random
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Protocol, runtime_checkable

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from ..errors import ConfigError, DnsError, DnsTempError
from ..zones import ZoneData, load_zone_files
from . import wire

__all__ = [
    "AnswerStatus",
    "MxRecord",
    "DnsAnswer",
    "DnsLookup",
    "ResolverLookup",
    "ZoneLookup",
    "CachedLookup",
    "make_lookup",
    "parse_nameserver",
    "QUERY_TYPES",
]

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
def _qname(name: str) -> dns.name.Name:
    # names recur across a run's questions (and dns.name.from_text is costly); Names are immutable
    try:
        return dns.name.from_text(name)
    except dns.exception.DNSException as exc:
        raise DnsError(f"cannot query {name!r}: {exc} (a label is over 63 octets, "
                       "the name is over 255, or a label is empty)") from exc


def _norm(name: str) -> str:
    return name.rstrip(".").lower() if name != "." else "."


def _convert(rdtype: str, rdata: Any) -> Any:
    if rdtype in ("TXT", "SPF"):
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if rdtype in ("A", "AAAA"):
        return rdata.address
    if rdtype == "MX":
        return MxRecord(preference=rdata.preference, exchange=_norm(rdata.exchange.to_text()))
    if rdtype in ("PTR", "CNAME"):
        return _norm(rdata.target.to_text())
    return rdata.to_text()


def _from_rrsets(name: str, rdtype: str, rrsets: Iterable[Any], status: AnswerStatus) -> DnsAnswer:
    wanted = dns.rdatatype.from_text(rdtype)
    records: list[Any] = []
    ttl = 0
    canonical = _norm(name)
    for rrset in rrsets:
        if rrset.rdtype == wanted:
            records.extend(_convert(rdtype, r) for r in rrset)
            ttl = rrset.ttl
            canonical = _norm(rrset.name.to_text())
    if status is AnswerStatus.NOERROR and not records:
        status = AnswerStatus.NODATA
    return DnsAnswer(name=_norm(name), rdtype=rdtype, status=status, records=tuple(records),
                     ttl=ttl, canonical_name=canonical)


def _from_fast(name: str, rdtype: str, fast: tuple[int, tuple[Any, ...], int, str | None]) -> DnsAnswer:
    # the same DnsAnswer _from_rrsets builds from dnspython's parse of the same message
    rcode, records, ttl, owner = fast
    if rcode == 3:
        return DnsAnswer(name=_norm(name), rdtype=rdtype, status=AnswerStatus.NXDOMAIN,
                         canonical_name=_norm(name))
    if not records:
        return DnsAnswer(name=_norm(name), rdtype=rdtype, status=AnswerStatus.NODATA, canonical_name=_norm(name))
    if rdtype == "MX":
        records = tuple(MxRecord(preference=p, exchange=e) for p, e in records)
    return DnsAnswer(name=_norm(name), rdtype=rdtype, status=AnswerStatus.NOERROR, records=records, ttl=ttl,
                     canonical_name=owner or _norm(name))


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


class ResolverLookup:
    """Ask a real resolver: the system's (``/etc/resolv.conf``) or the given nameservers.

    ``timeout`` is the whole lifetime of one question in seconds. Timeouts and SERVFAIL
    raise :class:`DnsTempError` naming the name, type and server.
    """

    def __init__(self, nameservers: Iterable[tuple[str, int]] | None = None, *,
                 timeout: float = 5.0) -> None:
        servers = list(nameservers or ())
        configure = not servers
        self._sync = dns.resolver.Resolver(configure=configure)
        self._async = dns.asyncresolver.Resolver(configure=configure)
        for res in (self._sync, self._async):
            if servers:
                res.nameservers = [dns.nameserver.Do53Nameserver(h, port=p) for h, p in servers]
            res.lifetime = timeout
            res.timeout = min(timeout, 2.0)
            res.cache = None
        self.source = ("nameserver " + ", ".join(f"{h}:{p}" for h, p in servers)
                       if servers else "system resolver")
        self._servers = servers
        self._timeout = timeout
        self._local = threading.local()
        self._muxes: weakref.WeakKeyDictionary[Any, dict[tuple[str, int], _UdpMux]] = weakref.WeakKeyDictionary()

    @classmethod
    def for_nameserver(cls, address: str | tuple[str, int], *, timeout: float = 5.0) -> "ResolverLookup":
        """A lookup that asks one nameserver, given as ``"host[:port]"`` or ``(host, port)``."""
        host, port = parse_nameserver(address) if isinstance(address, str) else address
        return cls([(host, int(port))], timeout=timeout)

    def __repr__(self) -> str:
        return f"ResolverLookup({self.source})"

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask synchronously."""
        qname = _qname(name)
        if self._servers:
            return self._direct_sync(name, qname, rdtype)
        try:
            ans = self._sync.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except dns.exception.DNSException as exc:
            return self._failed(name, rdtype, exc)
        return _from_rrsets(name, rdtype, ans.response.answer, AnswerStatus.NOERROR)

    async def aquery(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask asynchronously (dnspython's asyncio resolver)."""
        qname = _qname(name)
        if self._servers:
            return await self._direct_async(name, qname, rdtype)
        try:
            ans = await self._async.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except dns.exception.DNSException as exc:
            return self._failed(name, rdtype, exc)
        return _from_rrsets(name, rdtype, ans.response.answer, AnswerStatus.NOERROR)

    # Given nameservers are asked directly (dns.query), skipping the stub resolver's
    # machinery: one UDP question, TCP when the answer is truncated (RFC 7766), the next
    # server on timeout/SERVFAIL until the lifetime is spent.
    def _direct_sync(self, name: str, qname: dns.name.Name, rdtype: str) -> DnsAnswer:
        deadline = time.monotonic() + self._timeout
        last: Exception | None = None
        for host, port in self._tries():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                response = self._ask_sync(qname, rdtype, host, port, min(left, 2.0))
            except (dns.exception.Timeout, OSError, dns.exception.DNSException) as exc:
                last = exc
                continue
            answer = self._interpret(name, rdtype, response)
            if answer is not None:
                return answer
            last = dns.resolver.NoNameservers()
        return self._failed(name, rdtype, _as_timeout(last))

    async def _direct_async(self, name: str, qname: dns.name.Name, rdtype: str) -> DnsAnswer:
        deadline = time.monotonic() + self._timeout
        last: Exception | None = None
        for host, port in self._tries():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                response = await self._ask_async(qname, rdtype, host, port, min(left, 2.0))
            except (dns.exception.Timeout, OSError, dns.exception.DNSException) as exc:
                last = exc
                continue
            answer = self._interpret(name, rdtype, response)
            if answer is not None:
                return answer
            last = dns.resolver.NoNameservers()
        return self._failed(name, rdtype, _as_timeout(last))

    def _ask_sync(self, qname: dns.name.Name, rdtype: str, host: str, port: int,
                  timeout: float) -> Any:
        # One connected UDP socket per (thread, server), kept for the lookup's life; answers
        # to earlier, abandoned questions are skipped by message id.
        socks = self._local.__dict__.setdefault("socks", {})
        sock = socks.get((host, port))
        if sock is None:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            weakref.finalize(self, sock.close)
            sock.connect((host, port))
            socks[(host, port)] = sock
        wire_id = random.getrandbits(16)
        qtype = dns.rdatatype.from_text(rdtype)
        qwire, qlower = _wire_name(qname)
        sock.send(wire.question(wire_id, qwire, qtype))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise dns.exception.Timeout(timeout=timeout)
            sock.settimeout(left)
            try:
                data = sock.recv(65535)
            except socket.timeout:
                raise dns.exception.Timeout(timeout=timeout) from None
            if len(data) >= 2 and int.from_bytes(data[:2], "big") == wire_id:
                break
        fast = wire.decode(data, qlower, qtype)
        if fast is not None:
            return fast
        response = dns.message.from_wire(data)
        question = response.question[0] if response.question else None
        if question is None or question.name != qname or question.rdtype != qtype:
            raise dns.exception.DNSException("the answer does not match the question")
        if response.flags & dns.flags.TC:
            response = dns.query.tcp(dns.message.make_query(qname, rdtype), host, port=port, timeout=timeout)
        return response

    async def _ask_async(self, qname: dns.name.Name, rdtype: str, host: str, port: int,
                         timeout: float) -> Any:
        # One connected UDP socket per (event loop, server) carries every concurrent question,
        # matched by message id; a truncated answer is asked again over TCP (RFC 7766).
        loop = asyncio.get_running_loop()
        muxes = self._muxes.setdefault(loop, {})
        mux = muxes.get((host, port))
        if mux is None or mux.closed:
            mux = _UdpMux()
            muxes[(host, port)] = mux  # before the await: concurrent callers share this one
            try:
                await loop.create_datagram_endpoint(lambda: mux, remote_addr=(host, port))
            except BaseException as exc:
                mux.closed = True
                if not mux.ready.done():
                    mux.ready.set_exception(exc if isinstance(exc, Exception) else ConnectionError())
                    mux.ready.exception()  # retrieved: concurrent waiters re-raise it
                raise
        await mux.ready
        wire_id = mux.new_id()
        qtype = dns.rdatatype.from_text(rdtype)
        future = loop.create_future()
        mux.pending[wire_id] = future
        try:
            # the question in wire format, built directly (RFC 1035 §4.1.1: RD set, one question)
            qwire, qlower = _wire_name(qname)
            mux.transport.sendto(wire.question(wire_id, qwire, qtype))
            timer = loop.call_later(timeout, _expire, future)  # lighter than asyncio.timeout
            try:
                data = await future
            finally:
                timer.cancel()
        except TimeoutError:
            raise dns.exception.Timeout(timeout=timeout) from None
        finally:
            # only our own entry: once our answer popped it, another question may already
            # have been given the same id (it must keep waiting for its own answer)
            if mux.pending.get(wire_id) is future:
                del mux.pending[wire_id]
            if not mux.pending:
                # idle: close unless another question goes out first (so sockets never
                # outlive a short-lived event loop such as asyncio.run's)
                loop.call_soon(mux.close_if_idle)
        fast = wire.decode(data, qlower, qtype)
        if fast is not None:
            return fast
        response = dns.message.from_wire(data)
        question = response.question[0] if response.question else None
        if question is None or question.name != qname or question.rdtype != qtype:
            raise dns.exception.DNSException("the answer does not match the question")
        if response.flags & dns.flags.TC:
            msg = dns.message.make_query(qname, rdtype)
            response = await dns.asyncquery.tcp(msg, host, port=port, timeout=timeout)
        return response

    async def aclose(self) -> None:
        """Close this event loop's UDP sockets (they are reopened on the next question)."""
        for mux in self._muxes.pop(asyncio.get_running_loop(), {}).values():
            mux.close()

    def _tries(self) -> list[tuple[str, int]]:
        # each server, then each again (a lost UDP datagram gets a second chance)
        return list(self._servers) * 2

    def _interpret(self, name: str, rdtype: str, response: Any) -> DnsAnswer | None:
        if isinstance(response, tuple):  # read by wire.decode: (rcode, records, ttl, owner)
            return _from_fast(name, rdtype, response)
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return DnsAnswer(name=_norm(name), rdtype=rdtype, status=AnswerStatus.NXDOMAIN,
                             canonical_name=_norm(name))
        if rcode != dns.rcode.NOERROR:
            return None  # SERVFAIL, REFUSED, ...: try the next server
        return _from_rrsets(name, rdtype, response.answer, AnswerStatus.NOERROR)

    def _failed(self, name: str, rdtype: str, exc: Exception) -> DnsAnswer:
        if isinstance(exc, dns.resolver.NXDOMAIN):
            return DnsAnswer(name=_norm(name), rdtype=rdtype, status=AnswerStatus.NXDOMAIN,
                             canonical_name=_norm(name))
        if isinstance(exc, dns.resolver.NoAnswer):
            return DnsAnswer(name=_norm(name), rdtype=rdtype, status=AnswerStatus.NODATA,
                             canonical_name=_norm(name))
        if isinstance(exc, dns.resolver.YXDOMAIN):
            raise DnsError(f"{name} {rdtype}: the name is too long after a DNAME", server=self.source) from exc
        if isinstance(exc, dns.resolver.LifetimeTimeout):
            reason = "timed out"
        elif isinstance(exc, dns.resolver.NoNameservers):
            reason = "server failure (SERVFAIL or refused)"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        raise DnsTempError(f"{name} {rdtype}: {reason}; try again later or check the DNS server",
                           server=self.source) from exc


@functools.lru_cache(maxsize=2048)
def _wire_name(name: dns.name.Name) -> tuple[bytes, bytes]:
    # the name as sent, and lower-cased to match the answer's question (names compare caselessly)
    data = name.to_wire()
    return data, data.lower()


def _expire(future: asyncio.Future[bytes]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class _UdpMux(asyncio.DatagramProtocol):
    """A connected UDP socket shared by concurrent questions, answers routed by message id."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        self.closed = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def new_id(self) -> int:
        while True:
            wire_id = random.getrandbits(16)  # unpredictable ids (RFC 5452 §4.3)
            if wire_id not in self.pending:
                return wire_id

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if not self.ready.done():
            self.ready.set_result(None)

    def close_if_idle(self) -> None:
        if not self.pending:
            self.close()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) >= 2:
            future = self.pending.pop(int.from_bytes(data[:2], "big"), None)
            if future is not None and not future.done():
                future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP unreachable and the like: the question times out and the next try runs

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("the DNS socket closed"))
            self.ready.exception()  # retrieved: the waiters get it
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the DNS socket closed"))
        self.pending.clear()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class ZoneLookup:
    """Answer offline from :class:`ZoneData` (zone files), including fault marks."""

    def __init__(self, zone_data: ZoneData, *, source: str = "zone data") -> None:
        self.zone_data = zone_data
        self.source = source

    @classmethod
    def from_files(cls, paths: Iterable[str | Path]) -> "ZoneLookup":
        """Load zone files (see :func:`mailsupport.zones.load_zone_file`)."""
        paths = [Path(p) for p in paths]
        return cls(load_zone_files(paths), source="zone files " + ", ".join(p.name for p in paths))

    def __repr__(self) -> str:
        return f"ZoneLookup({self.source})"

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Answer from the zone data."""
        res = self.zone_data.resolve(_qname(name), rdtype)
        if res.status in ("timeout", "servfail"):
            what = "timed out" if res.status == "timeout" else "server failure (SERVFAIL)"
            raise DnsTempError(f"{name} {rdtype}: {what} (fault mark in the zone data)", server=self.source)
        status = AnswerStatus.NXDOMAIN if res.status == "nxdomain" else AnswerStatus.NOERROR
        return _from_rrsets(name, rdtype, res.rrsets, status)

    async def aquery(self, name: str, rdtype: str) -> DnsAnswer:
        """Same as :meth:`query` (no I/O to wait for)."""
        return self.query(name, rdtype)


class CachedLookup:
    """A per-run answer cache around another lookup (answers and temporary failures).

    Share one instance across everything in a run (many domains, sync and async callers)
    so each question is asked once; concurrent async callers of one question await the
    same in-flight query. ``hits``/``misses`` count cache use. ``max_entries`` bounds the
    cache (least recently used answers go first) so memory stays flat over long batches;
    None keeps every answer.
    """

    def __init__(self, inner: DnsLookup, *, max_entries: int | None = None) -> None:
        if max_entries is not None and max_entries < 1:
            raise ConfigError(f"max_entries must be at least 1 (got {max_entries}), or None for no bound")
        self.inner = inner
        self.source = inner.source
        self.max_entries = max_entries
        self._answers: dict[tuple[str, str], DnsAnswer | DnsError] = (
            {} if max_entries is None else collections.OrderedDict())
        self._pending: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"CachedLookup({self.inner!r}, {len(self._answers)} answers)"

    async def aclose(self) -> None:
        """Close the wrapped lookup's sockets for this event loop (the answers stay cached)."""
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()

    def _cached(self, key: tuple[str, str]) -> DnsAnswer | None:
        hit = self._answers.get(key)
        if hit is None:
            return None
        self.hits += 1
        if self.max_entries is not None:
            self._answers.move_to_end(key)  # type: ignore[attr-defined]
        if isinstance(hit, DnsError):
            raise hit
        return hit

    def _store(self, key: tuple[str, str], value: DnsAnswer | DnsError) -> None:
        self._answers[key] = value
        if self.max_entries is not None and len(self._answers) > self.max_entries:
            self._answers.popitem(last=False)  # type: ignore[call-arg]

    def peek(self, name: str, rdtype: str) -> DnsAnswer | None:
        """The cached answer, or None when the question has not been answered yet (a cached
        temporary failure is raised again, as :meth:`query` would)."""
        return self._cached((_norm(name), rdtype))

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Answer from the cache, or ask the wrapped lookup once."""
        key = (_norm(name), rdtype)
        hit = self._cached(key)
        if hit is not None:
            return hit
        self.misses += 1
        try:
            answer = self.inner.query(name, rdtype)
        except DnsError as exc:
            self._store(key, exc)
            raise
        self._store(key, answer)
        return answer

    async def aquery(self, name: str, rdtype: str) -> DnsAnswer:
        """Answer from the cache, or ask once even when many tasks ask at the same time."""
        key = (_norm(name), rdtype)
        hit = self._cached(key)
        if hit is not None:
            return hit
        pending = self._pending.get(key)
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            answer = await self.inner.aquery(name, rdtype)
        except DnsError as exc:
            self._store(key, exc)
            future.set_exception(exc)
            future.exception()  # mark retrieved
            raise
        finally:
            self._pending.pop(key, None)
        self._store(key, answer)
        future.set_result(answer)
        return answer


def _as_timeout(exc: Exception | None) -> Exception:
    if isinstance(exc, dns.resolver.NoNameservers):
        return exc
    return dns.resolver.LifetimeTimeout(timeout=0.0, errors=[]) if exc is None or isinstance(
        exc, dns.exception.Timeout) else dns.resolver.NoNameservers()


def make_lookup(*, zones: Iterable[str | Path] = (), nameserver: str | None = None,
                timeout: float = 5.0, cache: bool = True, max_entries: int | None = None) -> DnsLookup:
    """Build the lookup a command asks for: zone files (offline) if given, else the
    nameserver ``host[:port]`` if given, else the system resolver; cached per run
    (``max_entries`` bounds the cache, see :class:`CachedLookup`)."""
    zones = list(zones)
    if zones and nameserver:
        raise ConfigError("give zone files or a nameserver, not both")
    inner: DnsLookup
    if zones:
        inner = ZoneLookup.from_files(zones)
    elif nameserver:
        inner = ResolverLookup.for_nameserver(nameserver, timeout=timeout)
    else:
        inner = ResolverLookup(timeout=timeout)
    return CachedLookup(inner, max_entries=max_entries) if cache else inner
