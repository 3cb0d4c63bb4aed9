"""Fixtures for the SPF tests: the sandbox DNS server on a background loop, and lookups."""

from __future__ import annotations

import pytest
from spf_suite import SPF_ZONES

from mailsupport.dnslookup import CachedLookup, ResolverLookup
from mailsupport.sandbox.dns import DnsServer
from mailsupport.sandbox.loop import BackgroundLoop
from mailsupport.zones import ZoneData, load_zone_files


@pytest.fixture(scope="session")
def background_loop():
    """One asyncio loop in a thread for the whole session."""
    with BackgroundLoop(name="spf-tests") as loop:
        yield loop


@pytest.fixture(scope="session")
def dns_server(background_loop):
    """A running sandbox DnsServer (empty data; tests call set_zone_data)."""
    server = DnsServer(ZoneData())
    background_loop.run(server.start())
    yield server
    background_loop.run(server.stop())


@pytest.fixture(scope="session")
def sample_zone_data() -> ZoneData:
    """The SPF sample zone files, merged."""
    return load_zone_files(SPF_ZONES)


@pytest.fixture()
def sample_lookup(dns_server, sample_zone_data):
    """A cached lookup asking the sandbox DNS server (over UDP) for the sample zones."""
    dns_server.set_zone_data(sample_zone_data)
    return CachedLookup(ResolverLookup.for_nameserver(dns_server.address, timeout=1.0))
