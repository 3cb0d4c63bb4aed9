"""The sandbox's DNS server through dnspython: tenant zone files answered over UDP and TCP."""

from __future__ import annotations

from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest

from mailsupport.sandbox import Sandbox

ZONES = Path(__file__).resolve().parents[2] / "data" / "samples" / "zones"


def resolver(sb: Sandbox) -> dns.resolver.Resolver:
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [sb.dns.host]
    r.port = sb.dns.port
    r.lifetime = 5
    return r


def test_tenant_zone_is_served(sandbox):
    """The tenant's own zone file answers TXT (SPF), MX and A through a dnspython resolver."""
    r = resolver(sandbox)
    txt = [b"".join(rd.strings).decode() for rd in r.resolve("smithlaw.example", "TXT")]
    assert txt == ["v=spf1 mx include:_spf.actionstep.com ~all"]
    (mx,) = r.resolve("smithlaw.example", "MX")
    assert (mx.preference, mx.exchange.to_text()) == (10, "mail.smithlaw.example.")
    assert [a.address for a in r.resolve("mail.smithlaw.example", "A")] == ["198.51.100.25"]


def test_extra_zone_files_and_tcp(smithlaw):
    """zones=(...) adds zone files; the same answers come over TCP."""
    with Sandbox([smithlaw], zones=[ZONES / "actionstep-vendor.zone"]) as sb:
        query = dns.message.make_query("smithlaw.example", "TXT")
        response = dns.query.tcp(query, sb.dns.host, port=sb.dns.port, timeout=5)
        assert response.rcode() == dns.rcode.NOERROR and response.answer
        assert any(resolver(sb).resolve("_spf.actionstep.com", "TXT"))


def test_servfail_mark_gives_a_temporary_failure(smithlaw):
    """A zone entry marked servfail is answered SERVFAIL, so checks see a temporary DNS error."""
    with Sandbox([smithlaw], zones=[ZONES / "dns-temporary-failure.example.zone"]) as sb:
        query = dns.message.make_query("_spf.flaky.dns-temporary-failure.example", "TXT")
        response = dns.query.udp(query, sb.dns.host, port=sb.dns.port, timeout=5)
        assert response.rcode() == dns.rcode.SERVFAIL


def test_unknown_name_is_nxdomain(sandbox):
    """A name in no zone is NXDOMAIN."""
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver(sandbox).resolve("nothing.smithlaw.example", "A")


def test_missing_zone_file_is_a_config_error(smithlaw):
    """A zone file that does not exist stops the sandbox from starting, naming the file."""
    from mailsupport.errors import ConfigError

    with pytest.raises(ConfigError, match="no-such.zone"):
        Sandbox([smithlaw], zones=["/nonexistent/no-such.zone"]).start()
