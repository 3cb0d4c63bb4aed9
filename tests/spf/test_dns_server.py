"""The sandbox DNS server and the DnsLookup backends, over real UDP/TCP on loopback."""

from __future__ import annotations

import asyncio
import socket

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from mailsupport.dnslookup import (
    AnswerStatus,
    CachedLookup,
    MxRecord,
    ResolverLookup,
    ZoneLookup,
    make_lookup,
    parse_nameserver,
)
from mailsupport.errors import ConfigError, DnsTempError
from mailsupport.sandbox.dns import DnsServer
from mailsupport.zones import ZoneData, zone_from_text

ZONE = (
    """$ORIGIN example.test.
$TTL 60
@       SOA ns hostmaster 1 3600 600 86400 60
@       MX 10 mail
@       MX 20 backup
mail    A 192.0.2.10
mail    AAAA 2001:db8::10
alias   CNAME mail
big     TXT "{a}"
big     TXT "{b}"
big     TXT "{c}"
_fault.slow  TXT "timeout"
slow    A 192.0.2.99
_fault.broken TXT "servfail TXT"
broken  TXT "never served"
""".replace("{a}", "a" * 200)
    .replace("{b}", "b" * 200)
    .replace("{c}", "c" * 200)
)


@pytest.fixture()
def zone_server(dns_server):
    """The session DNS server answering from ZONE."""
    dns_server.set_zone_data(zone_from_text(ZONE))
    return dns_server


def _ask(server, name, rdtype, tcp=False):
    q = dns.message.make_query(name, rdtype)
    host, port = server.address
    return (dns.query.tcp if tcp else dns.query.udp)(q, host, port=port, timeout=2)


def test_nxdomain_and_nodata_are_distinct(zone_server):
    """An absent name is NXDOMAIN; a present name without the type is NOERROR with no answer."""
    nx = _ask(zone_server, "nope.example.test", "A")
    nodata = _ask(zone_server, "mail.example.test", "TXT")
    assert nx.rcode() == dns.rcode.NXDOMAIN
    assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == []
    assert nodata.flags & dns.flags.AA and nodata.authority  # SOA for negative caching


def test_big_answer_sets_tc_over_udp_and_comes_whole_over_tcp(zone_server):
    """A TXT answer over 512 octets is truncated on UDP and complete on TCP."""
    udp = _ask(zone_server, "big.example.test", "TXT")
    tcp = _ask(zone_server, "big.example.test", "TXT", tcp=True)
    assert udp.flags & dns.flags.TC and not udp.answer
    assert len(tcp.answer[0]) == 3


def test_resolver_lookup_falls_back_to_tcp_and_types_answers(zone_server):
    """ResolverLookup returns typed answers, following TC to TCP and CNAMEs."""
    lookup = ResolverLookup.for_nameserver(zone_server.address, timeout=2)
    assert len(lookup.query("big.example.test", "TXT").records) == 3
    mx = lookup.query("example.test", "MX")
    assert set(mx.records) == {
        MxRecord(preference=10, exchange="mail.example.test"),
        MxRecord(preference=20, exchange="backup.example.test"),
    }
    alias = lookup.query("alias.example.test", "AAAA")
    assert alias.records == ("2001:db8::10",) and alias.canonical_name == "mail.example.test"
    assert lookup.query("nope.example.test", "A").status is AnswerStatus.NXDOMAIN
    assert lookup.query("mail.example.test", "TXT").status is AnswerStatus.NODATA


def test_timeout_and_servfail_faults_raise_dns_temp_error(zone_server):
    """A timeout mark never answers; a servfail mark answers SERVFAIL: both DnsTempError."""
    lookup = ResolverLookup.for_nameserver(zone_server.address, timeout=0.3)
    with pytest.raises(DnsTempError, match="timed out"):
        lookup.query("slow.example.test", "TXT")
    assert lookup.query("slow.example.test", "A").records == ("192.0.2.99",)
    with pytest.raises(DnsTempError, match="SERVFAIL"):
        lookup.query("broken.example.test", "TXT")
    assert _ask(zone_server, "broken.example.test", "TXT").rcode() == dns.rcode.SERVFAIL


def test_zone_lookup_answers_the_same_offline():
    """ZoneLookup gives the same typed answers without a socket."""
    lookup = ZoneLookup(zone_from_text(ZONE))
    assert lookup.query("alias.example.test", "A").records == ("192.0.2.10",)
    with pytest.raises(DnsTempError):
        lookup.query("broken.example.test", "TXT")


def test_swap_zone_data_while_running(dns_server):
    """set_zone_data changes the answers from the next question on."""
    lookup = ResolverLookup.for_nameserver(dns_server.address, timeout=1)
    dns_server.set_zone_data(ZoneData.from_mapping({"a.test.example": [{"A": "192.0.2.1"}]}))
    assert lookup.query("a.test.example", "A").records == ("192.0.2.1",)
    dns_server.set_zone_data(ZoneData.from_mapping({"a.test.example": [{"A": "192.0.2.2"}]}))
    assert lookup.query("a.test.example", "A").records == ("192.0.2.2",)


def test_cached_lookup_asks_once_for_concurrent_questions(zone_server):
    """Concurrent identical async questions share one query; later ones hit the cache."""
    lookup = CachedLookup(ResolverLookup.for_nameserver(zone_server.address, timeout=2))
    before = zone_server.queries

    async def many():
        return await asyncio.gather(*(lookup.aquery("mail.example.test", "A") for _ in range(20)))

    answers = asyncio.run(many())
    assert {a.records for a in answers} == {("192.0.2.10",)}
    assert zone_server.queries - before == 1 and lookup.misses == 1


def test_server_start_stop_frees_the_port(background_loop):
    """A server binds UDP and TCP on one port and releases it on stop."""
    server = DnsServer(ZoneData())
    host, port = background_loop.run(server.start())
    background_loop.run(server.stop())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, port))
    with pytest.raises(RuntimeError):
        _ = server.address


@pytest.mark.parametrize(
    "text,expected",
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5300", ("::1", 5300)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_nameserver(text, expected):
    """host[:port] and [v6]:port forms."""
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1:0", "127.0.0.1:99999", ":53", "host:port"])
def test_parse_nameserver_rejects_bad_input(text):
    """Bad nameserver options raise ConfigError saying the expected form."""
    with pytest.raises(ConfigError, match="HOST|port"):
        parse_nameserver(text)


def test_fault_mark_with_unknown_word_is_a_config_error():
    """A fault mark that is neither timeout nor servfail names the problem."""
    with pytest.raises(ConfigError, match="unknown fault"):
        zone_from_text('$ORIGIN x.example.\n_fault.a TXT "explode"\n')


def test_make_lookup_rejects_zone_and_nameserver_together(tmp_path):
    """make_lookup takes zone files or a nameserver, not both."""
    with pytest.raises(ConfigError, match="not both"):
        make_lookup(zones=[tmp_path / "a.zone"], nameserver="127.0.0.1:53")


def test_async_lookup_uses_tcp_for_big_answers_and_times_out(zone_server):
    """aquery: a truncated UDP answer is fetched over TCP; a timeout mark raises DnsTempError."""
    lookup = ResolverLookup.for_nameserver(zone_server.address, timeout=0.3)

    async def ask():
        big = await lookup.aquery("big.example.test", "TXT")
        with pytest.raises(DnsTempError, match="timed out"):
            await lookup.aquery("slow.example.test", "MX")
        with pytest.raises(DnsTempError, match="SERVFAIL"):
            await lookup.aquery("broken.example.test", "TXT")
        nx = await lookup.aquery("nope.example.test", "A")
        await lookup.aclose()
        return big, nx

    big, nx = asyncio.run(ask())
    assert len(big.records) == 3 and nx.status is AnswerStatus.NXDOMAIN


def test_empty_non_terminal_is_nodata(zone_server):
    """A name that exists only because a name below it does is NOERROR/NODATA (RFC 8020)."""
    zone_server.set_zone_data(zone_from_text('$ORIGIN example.test.\n_spf.crm TXT "v=spf1 -all"\n'))
    lookup = ResolverLookup.for_nameserver(zone_server.address, timeout=1)
    assert lookup.query("crm.example.test", "TXT").status is AnswerStatus.NODATA
    assert lookup.query("other.example.test", "TXT").status is AnswerStatus.NXDOMAIN


def test_cached_lookup_bound_evicts_the_least_recently_used_answer(zone_server):
    """max_entries keeps at most that many answers; a reused answer stays, the oldest goes
    and is asked again (same answer)."""
    lookup = CachedLookup(ResolverLookup.for_nameserver(zone_server.address, timeout=2), max_entries=2)
    first = lookup.query("mail.example.test", "A")
    lookup.query("example.test", "MX")
    lookup.query("mail.example.test", "A")  # hit: now the most recently used
    lookup.query("mail.example.test", "AAAA")  # evicts example.test MX
    assert (lookup.hits, lookup.misses) == (1, 3)
    assert lookup.query("mail.example.test", "A") == first and lookup.hits == 2
    assert lookup.query("example.test", "MX").records and lookup.misses == 4
    assert len(lookup._answers) == 2
    with pytest.raises(ConfigError, match="max_entries"):
        CachedLookup(lookup.inner, max_entries=0)
    assert make_lookup(nameserver="127.0.0.1:53", max_entries=5).max_entries == 5


def test_async_lookup_keeps_a_question_whose_id_was_just_reused(zone_server, monkeypatch):
    """Message ids recur (16 bits); an answered question must not unregister a newer question
    that was given the same id before the first one's task resumed (that one would wait for
    its timeout). Ids are drawn from a tiny space here so reuse happens all the time."""
    import mailsupport.dnslookup.resolver as dlr

    def few_ids(self):
        return next(i for i in range(8) if i not in self.pending)

    monkeypatch.setattr(dlr._UdpMux, "new_id", few_ids)
    lookup = ResolverLookup.for_nameserver(zone_server.address, timeout=2)  # one try: a lost question fails
    names = [
        ("mail.example.test", "A"),
        ("example.test", "MX"),
        ("mail.example.test", "AAAA"),
        ("nope.example.test", "A"),
    ] * 40

    async def run():
        sem = asyncio.Semaphore(6)

        async def one(q):
            async with sem:
                return await lookup.aquery(*q)

        try:
            return await asyncio.gather(*(one(q) for q in names))
        finally:
            await lookup.aclose()

    answers = asyncio.run(run())
    assert [a.name for a in answers] == [n for n, _t in names]
