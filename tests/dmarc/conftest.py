"""Fixtures for the DMARC tests: the sample zones, served by the sandbox DNS server on loopback."""

from __future__ import annotations

import pytest
from dmarc_suite import DMARC_ZONES

from mailsupport.dnslookup import CachedLookup, ResolverLookup
from mailsupport.sandbox.dns import DnsServer
from mailsupport.sandbox.loop import BackgroundLoop
from mailsupport.zones import ZoneData, load_zone_files


@pytest.fixture(scope="session")
def dmarc_zone_data() -> ZoneData:
    """The DMARC sample zone files, merged."""
    return load_zone_files(DMARC_ZONES)


@pytest.fixture(scope="session")
def dmarc_dns(dmarc_zone_data):
    """A sandbox DNS server on 127.0.0.1 answering the DMARC sample zones (UDP and TCP)."""
    with BackgroundLoop(name="dmarc-tests") as loop:
        server = DnsServer(dmarc_zone_data)
        loop.run(server.start())
        yield server
        loop.run(server.stop())


@pytest.fixture()
def dmarc_lookup(dmarc_dns, dmarc_zone_data):
    """A cached lookup asking the sandbox DNS server for the DMARC sample zones."""
    dmarc_dns.set_zone_data(dmarc_zone_data)
    return CachedLookup(ResolverLookup.for_nameserver(dmarc_dns.address, timeout=2.0))
