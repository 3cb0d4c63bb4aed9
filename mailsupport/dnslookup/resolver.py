"""Asking a real resolver: :class:`ResolverLookup` (the system's, or given nameservers directly).

Questions to given nameservers skip the stub resolver: one UDP question (built and, when
plain, read by :mod:`.wire`), TCP when truncated (RFC 7766), the next server on timeout or
SERVFAIL; async questions share one non-blocking UDP socket per loop and server
(:class:`_UdpMux`), which reads every waiting answer when it is readable, sends the questions
asked meanwhile together and times them out with one timer. The system resolver is
dnspython's. Re-exported by :mod:`mailsupport.dnslookup`. Layer 3 (client).

dnspython's resolver and query modules are imported where they are used (the system
resolver, TCP, the failure paths): ``dns.query`` loads its DNS-over-HTTPS client (httpx, h2)
when those are installed, about 50 ms of start-up that the given-nameserver path never needs.
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import socket
import threading
import time
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

if TYPE_CHECKING:
    import dns.asyncresolver
    import dns.resolver

from ..errors import DnsError, DnsTempError
from . import wire
from .answer import (
    AnswerStatus,
    DnsAnswer,
    answer_from_decoded,
    answer_from_rrsets,
    dns_name,
    normalize_name,
    parse_nameserver,
)

__all__ = ["ResolverLookup"]


class ResolverLookup:
    """Ask a real resolver: the system's (``/etc/resolv.conf``) or the given nameservers.

    ``timeout`` is the whole lifetime of one question in seconds. Timeouts and SERVFAIL
    raise :class:`DnsTempError` naming the name, type and server.
    """

    def __init__(self, nameservers: Iterable[tuple[str, int]] | None = None, *, timeout: float = 5.0) -> None:
        servers = list(nameservers or ())
        # dnspython's stub resolvers only for the system resolver: given nameservers are asked
        # directly (below), which never touches them
        self._sync: dns.resolver.Resolver | None = None
        self._async: dns.asyncresolver.Resolver | None = None
        if not servers:
            import dns.asyncresolver as asyncresolver
            import dns.resolver as resolver

            self._sync = resolver.Resolver(configure=True)
            self._async = asyncresolver.Resolver(configure=True)
            for res in (self._sync, self._async):
                res.lifetime = timeout
                res.timeout = min(timeout, 2.0)
                res.cache = None
        self.source = "nameserver " + ", ".join(f"{h}:{p}" for h, p in servers) if servers else "system resolver"
        self._servers = servers
        self._timeout = timeout
        self._local = threading.local()
        self._muxes: weakref.WeakKeyDictionary[Any, dict[tuple[str, int], _UdpMux]] = weakref.WeakKeyDictionary()

    @classmethod
    def for_nameserver(cls, address: str | tuple[str, int], *, timeout: float = 5.0) -> ResolverLookup:
        """A lookup that asks one nameserver, given as ``"host[:port]"`` or ``(host, port)``."""
        host, port = parse_nameserver(address) if isinstance(address, str) else address
        return cls([(host, int(port))], timeout=timeout)

    def __repr__(self) -> str:
        return f"ResolverLookup({self.source})"

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask synchronously."""
        if self._sync is None:
            return self._direct_sync(name, _question_name(name), rdtype)
        qname = dns_name(name)
        try:
            ans = self._sync.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except dns.exception.DNSException as exc:
            return self._failed(name, rdtype, exc)
        return answer_from_rrsets(name, rdtype, ans.response.answer, AnswerStatus.NOERROR)

    async def aquery(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask asynchronously (dnspython's asyncio resolver)."""
        if self._async is None:
            return await self._direct_async(name, _question_name(name), rdtype)
        qname = dns_name(name)
        try:
            ans = await self._async.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except dns.exception.DNSException as exc:
            return self._failed(name, rdtype, exc)
        return answer_from_rrsets(name, rdtype, ans.response.answer, AnswerStatus.NOERROR)

    # Given nameservers are asked directly (dns.query), skipping the stub resolver's
    # machinery; the policy (which server next, how long, what an answer means) is one
    # sans-I/O _Resolution, driven here by a sync and an async shell, as dnspython's
    # resolver drives its own _Resolution.
    def _direct_sync(self, name: str, qwire: tuple[bytes, bytes], rdtype: str) -> DnsAnswer:
        res = _Resolution(self, name, rdtype)
        while (attempt := res.next_attempt()) is not None:
            host, port, timeout = attempt
            try:
                response = self._ask_sync(name, qwire, rdtype, host, port, timeout)
            except (OSError, dns.exception.DNSException) as exc:
                res.failed(exc)
                continue
            answer = res.answered(response)
            if answer is not None:
                return answer
        return res.give_up()

    async def _direct_async(self, name: str, qwire: tuple[bytes, bytes], rdtype: str) -> DnsAnswer:
        res = _Resolution(self, name, rdtype)
        while (attempt := res.next_attempt()) is not None:
            host, port, timeout = attempt
            try:
                response = await self._ask_async(name, qwire, rdtype, host, port, timeout)
            except (OSError, dns.exception.DNSException) as exc:
                res.failed(exc)
                continue
            answer = res.answered(response)
            if answer is not None:
                return answer
        return res.give_up()

    def _ask_sync(
        self, name: str, qwire: tuple[bytes, bytes], rdtype: str, host: str, port: int, timeout: float
    ) -> Any:
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
        wire_id = secrets.randbits(16)  # unpredictable (RFC 5452), from the OS CSPRNG; the OS picks the source port
        qtype = dns.rdatatype.from_text(rdtype)
        sock.send(wire.question(wire_id, qwire[0], qtype))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise dns.exception.Timeout(timeout=timeout)
            sock.settimeout(left)
            try:
                data = sock.recv(65535)
            except TimeoutError:
                raise dns.exception.Timeout(timeout=timeout) from None
            if len(data) >= 2 and int.from_bytes(data[:2], "big") == wire_id:
                break
        response = _read_udp(data, name, qwire[1], qtype)
        if response is _TRUNCATED:  # RFC 7766: ask again over TCP
            import dns.query as query

            return query.tcp(dns.message.make_query(dns_name(name), rdtype), host, port=port, timeout=timeout)
        return response

    async def _ask_async(
        self, name: str, qwire: tuple[bytes, bytes], rdtype: str, host: str, port: int, timeout: float
    ) -> Any:
        # One connected UDP socket per (event loop, server) carries every concurrent question,
        # matched by message id; a truncated answer is asked again over TCP (RFC 7766).
        loop = asyncio.get_running_loop()
        muxes = self._muxes.get(loop)
        if muxes is None:
            muxes = self._muxes[loop] = {}
        mux = muxes.get((host, port))
        if mux is None or mux.closed:
            mux = muxes[(host, port)] = _UdpMux(loop, host, port)
        wire_id = mux.new_id()
        qtype = wire.TYPE_CODES.get(rdtype) or dns.rdatatype.from_text(rdtype)
        # the question in wire format, built directly (RFC 1035 §4.1.1: RD set, one question)
        future = mux.ask(wire_id, wire.question(wire_id, qwire[0], qtype), timeout)
        try:
            data = await future
        except TimeoutError:
            raise dns.exception.Timeout(timeout=timeout) from None
        finally:
            # only our own entry: once our answer popped it, another question may already
            # have been given the same id (it must keep waiting for its own answer)
            entry = mux.pending.get(wire_id)
            if entry is not None and entry[0] is future:
                del mux.pending[wire_id]
            if not mux.pending:
                # idle: close unless another question goes out first (so sockets never
                # outlive a short-lived event loop such as asyncio.run's)
                loop.call_soon(mux.close_if_idle)
        response = _read_udp(data, name, qwire[1], qtype)
        if response is _TRUNCATED:  # RFC 7766: ask again over TCP
            import dns.asyncquery as asyncquery

            return await asyncquery.tcp(
                dns.message.make_query(dns_name(name), rdtype), host, port=port, timeout=timeout
            )
        return response

    async def aclose(self) -> None:
        """Close this event loop's UDP sockets (they are reopened on the next question)."""
        for mux in self._muxes.pop(asyncio.get_running_loop(), {}).values():
            mux.close()

    def _failed(self, name: str, rdtype: str, exc: Exception) -> DnsAnswer:
        import dns.resolver as resolver

        if isinstance(exc, resolver.NXDOMAIN):
            return DnsAnswer(
                name=normalize_name(name),
                rdtype=rdtype,
                status=AnswerStatus.NXDOMAIN,
                canonical_name=normalize_name(name),
            )
        if isinstance(exc, resolver.NoAnswer):
            return DnsAnswer(
                name=normalize_name(name),
                rdtype=rdtype,
                status=AnswerStatus.NODATA,
                canonical_name=normalize_name(name),
            )
        if isinstance(exc, resolver.YXDOMAIN):
            raise DnsError(f"{name} {rdtype}: the name is too long after a DNAME", server=self.source) from exc
        if isinstance(exc, resolver.LifetimeTimeout):
            reason = "timed out"
        elif isinstance(exc, resolver.NoNameservers):
            reason = "server failure (SERVFAIL or refused)"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        raise DnsTempError(
            f"{name} {rdtype}: {reason}; try again later or check the DNS server", server=self.source
        ) from exc


class _Resolution:
    """The direct path's policy for one question, without I/O (dnspython's ``_Resolution``
    pattern): each given server in turn, then each once more (a lost UDP datagram gets a
    second chance), each try at most 2 s and all within the lookup's ``timeout``; NOERROR and
    NXDOMAIN are answers, SERVFAIL/REFUSED/other rcodes and errors move to the next try; when
    the tries or the time run out, :meth:`give_up` raises the temporary failure."""

    __slots__ = ("_lookup", "_name", "_rdtype", "_tries", "_deadline", "_last")

    def __init__(self, lookup: ResolverLookup, name: str, rdtype: str) -> None:
        self._lookup = lookup
        self._name = name
        self._rdtype = rdtype
        self._tries = iter(list(lookup._servers) * 2)
        self._deadline = time.monotonic() + lookup._timeout
        self._last: Exception | None = None

    def next_attempt(self) -> tuple[str, int, float] | None:
        """``(host, port, timeout)`` of the next try, or None when none is left."""
        left = self._deadline - time.monotonic()
        server = next(self._tries, None) if left > 0 else None
        return None if server is None else (server[0], server[1], min(left, 2.0))

    def failed(self, exc: Exception) -> None:
        """A try ended without a response (timeout, socket error, unreadable answer)."""
        self._last = exc

    def answered(self, response: Any) -> DnsAnswer | None:
        """The answer for a response, or None when the next server should be asked."""
        name, rdtype = self._name, self._rdtype
        if isinstance(response, tuple):  # read by wire.decode: (rcode, records, ttl, owner)
            return answer_from_decoded(name, rdtype, response)
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return DnsAnswer(
                name=normalize_name(name),
                rdtype=rdtype,
                status=AnswerStatus.NXDOMAIN,
                canonical_name=normalize_name(name),
            )
        if rcode != dns.rcode.NOERROR:
            self._last = _ServerFailure()  # SERVFAIL, REFUSED, ...: the next server
            return None
        return answer_from_rrsets(name, rdtype, response.answer, AnswerStatus.NOERROR)

    def give_up(self) -> DnsAnswer:
        """No try gave an answer: raise :class:`DnsTempError` (timed out or server failure), as
        :meth:`ResolverLookup._failed` words dnspython's LifetimeTimeout and NoNameservers."""
        last = self._last
        reason = (
            "timed out"
            if last is None or isinstance(last, dns.exception.Timeout)
            else "server failure (SERVFAIL or refused)"
        )
        raise DnsTempError(
            f"{self._name} {self._rdtype}: {reason}; try again later or check the DNS server",
            server=self._lookup.source,
        ) from last


class _ServerFailure(dns.exception.DNSException):
    """A server answered SERVFAIL, REFUSED or another error rcode (the direct path's own
    NoNameservers: dns.resolver is not loaded for it)."""


_TRUNCATED = object()


def _read_udp(data: bytes, name: str, qlower: bytes, qtype: int) -> Any:
    """A UDP answer: the fast reader's tuple, dnspython's message, or ``_TRUNCATED``."""
    fast = wire.decode(data, qlower, qtype)
    if fast is not None:
        return fast
    qname = dns_name(name)
    response = dns.message.from_wire(data)
    question = response.question[0] if response.question else None
    if question is None or question.name != qname or question.rdtype != qtype:
        raise dns.exception.DNSException("the answer does not match the question")
    return _TRUNCATED if response.flags & dns.flags.TC else response


def _question_name(name: str) -> tuple[bytes, bytes]:
    """The name in wire form as sent, and lower-cased to match the answer's question (names
    compare caselessly); :class:`DnsError` for a name that cannot be asked."""
    data = wire.name(name)
    if data is None:  # not plain: dnspython encodes it (escapes, IDNA) or says why it cannot
        data = dns_name(name).to_wire()
    return data, data.lower()


class _UdpMux:
    """A connected UDP socket shared by concurrent questions, answers routed by message id.

    Answers are read until the socket is empty each time it is readable; questions asked in
    the meantime are sent together once the loop gets to them (one wake-up of the server for
    several questions, not one each). One timer, set for the earliest deadline of the
    questions waiting, times them out (not a timer per question)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> None:
        self.pending: dict[int, tuple[asyncio.Future[bytes], float]] = {}  # id -> (answer, deadline)
        self.closed = False
        self._loop = loop
        self._outbox: list[bytes] = []
        self._ids: list[int] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.setblocking(False)
            self._sock.connect((host, port))
            loop.add_reader(self._sock.fileno(), self._read)
        except BaseException:
            self._sock.close()
            raise

    def new_id(self) -> int:
        while True:
            if not self._ids:  # unpredictable ids (RFC 5452) from the OS CSPRNG, fetched 512 at a time
                self._ids = memoryview(os.urandom(1024)).cast("H").tolist()
            wire_id = self._ids.pop()
            if wire_id not in self.pending:
                return wire_id

    def ask(self, wire_id: int, data: bytes, timeout: float) -> asyncio.Future[bytes]:
        """Send ``data`` (with the next batch) and return the future of its answer, which fails
        with TimeoutError after ``timeout`` seconds."""
        future = self._loop.create_future()
        deadline = self._loop.time() + timeout
        self.pending[wire_id] = (future, deadline)
        if deadline < self._timer_at:
            self._set_timer(deadline)
        if not self._outbox:
            self._loop.call_soon(self._flush)
        self._outbox.append(data)
        return future

    def _set_timer(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._expire)

    def _expire(self) -> None:
        """Time out the questions past their deadline; set the timer for the next one."""
        self._timer, self._timer_at = None, math.inf
        now = self._loop.time()
        later = math.inf
        for future, deadline in self.pending.values():
            if future.done():
                continue
            if deadline <= now:
                future.set_exception(TimeoutError())
            elif deadline < later:
                later = deadline
        if later < math.inf:
            self._set_timer(later)

    def _flush(self) -> None:
        out, self._outbox = self._outbox, []
        if self.closed:
            return
        for data in out:
            try:
                self._sock.send(data)
            except OSError:
                pass  # full buffer, ICMP unreachable...: the question times out and the next try runs

    def _read(self) -> None:
        while True:
            try:
                data = self._sock.recv(65535)
            except BlockingIOError:
                return
            except OSError:  # ICMP unreachable and the like: that question times out and the
                return  # next try runs; called again while answers wait
            if len(data) >= 2:
                entry = self.pending.pop(int.from_bytes(data[:2], "big"), None)
                if entry is not None and not entry[0].done():
                    entry[0].set_result(data)

    def close_if_idle(self) -> None:
        if not self.pending:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        for future, _deadline in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the DNS socket closed"))
        self.pending.clear()
