"""The sandbox DNS server: authoritative answers from :class:`~mailsupport.zones.ZoneData`
over real UDP and TCP on loopback.

Behaviour (RFC 1035, RFC 7766):

* answers carry the AA flag; a name absent from the data is NXDOMAIN, a present name
  without the asked type is NODATA (NOERROR, empty answer, SOA in authority when known);
* in-data CNAME chains are included in the answer section;
* a UDP answer larger than 512 octets (or the client's EDNS payload size) is sent
  empty with the TC bit set, so resolvers retry over TCP, where the full answer goes;
* fault marks: ``timeout`` never answers, ``servfail`` answers RCODE SERVFAIL.

:class:`DnsServer` runs inside any asyncio loop (the sandbox's
:class:`~mailsupport.sandbox.loop.BackgroundLoop`, or ``asyncio.run``); :meth:`set_zone_data`
swaps the data while it runs (the conformance runner serves one scenario after another).
Layer 6: imports zones and dnspython; nothing but the sandbox, tests and the CLI import it.
"""

from __future__ import annotations

import asyncio
import struct

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from ..zones import ZoneData

__all__ = ["DnsServer"]

_UDP_DEFAULT_PAYLOAD = 512


class DnsServer:
    """An authoritative DNS server for ``zone_data`` on ``127.0.0.1`` (UDP and TCP, one port).

    ``queries`` counts the questions received (including those left unanswered).
    """

    def __init__(self, zone_data: ZoneData | None = None) -> None:
        self._data = zone_data or ZoneData()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.base_events.Server | None = None
        self._address: tuple[str, int] | None = None
        self.queries = 0

    def __repr__(self) -> str:
        where = f"{self._address[0]}:{self._address[1]}" if self._address else "stopped"
        return f"DnsServer({where}, {len(self._data)} names)"

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` while running; raises RuntimeError before :meth:`start`."""
        if self._address is None:
            raise RuntimeError("DnsServer is not running: await start() first")
        return self._address

    @property
    def zone_data(self) -> ZoneData:
        """The data answered from now."""
        return self._data

    def set_zone_data(self, zone_data: ZoneData) -> None:
        """Answer from ``zone_data`` from the next question on (thread-safe: one assignment)."""
        self._data = zone_data

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Bind UDP (port 0 = any free port), then TCP on the same port; return ``(host, port)``."""
        loop = asyncio.get_running_loop()
        for _attempt in range(20):
            transport, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), local_addr=(host, port))
            bound = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, host, bound)
            except OSError:
                transport.close()
                if port:
                    raise
                continue
            self._udp = transport
            self._address = (host, bound)
            return self._address
        raise OSError(f"could not bind UDP and TCP on the same port at {host}")

    async def stop(self) -> None:
        """Close both sockets (idempotent)."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
            self._tcp = None
        self._address = None

    async def __aenter__(self) -> DnsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- answering ---------------------------------------------------------------------
    def answer(self, wire: bytes, *, max_size: int | None) -> bytes | None:
        """The response to one query in wire format, or None to stay silent.

        ``max_size`` None means TCP (up to 65535 octets); otherwise the UDP limit.
        """
        self.queries += 1
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # not DNS: a real server would drop it too
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        data = self._data
        res = data.resolve(question.name, question.rdtype)
        if res.status == "timeout":
            return None
        if res.status == "servfail":
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        response.answer.extend(res.rrsets)
        if res.status == "nxdomain":
            response.set_rcode(dns.rcode.NXDOMAIN)
        if res.status in ("nxdomain", "nodata"):
            soa = data.soa_for(question.name)
            if soa is not None:
                response.authority.append(soa)
        if max_size is None:
            return response.to_wire(max_size=65535)
        limit = max(_UDP_DEFAULT_PAYLOAD, query.payload if query.edns >= 0 else 0)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            # RFC 1035 §4.2.1 / RFC 7766: too big for UDP, set TC so the client uses TCP.
            short = dns.message.make_response(query)
            short.flags |= dns.flags.AA | dns.flags.TC
            return short.to_wire()

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(2)
                (length,) = struct.unpack("!H", header)
                wire = await reader.readexactly(length)
                reply = self.answer(wire, max_size=None)
                if reply is None:
                    continue  # timeout fault: keep the connection, never answer
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.server.answer(data, max_size=_UDP_DEFAULT_PAYLOAD)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
