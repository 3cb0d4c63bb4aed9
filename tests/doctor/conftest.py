"""Fixtures for the connection doctor: one sandbox per module, reset before each test."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from mailsupport.config import Tenant, parse_tenant
from mailsupport.dnslookup import ResolverLookup
from mailsupport.doctor import check_settings
from mailsupport.sandbox.sandbox import Sandbox
from mailsupport.zones import zone_from_text

USER = "matters@smithlaw.example"
PASSWORD = "canary-4b1d-doctor-pw"

ZONE = """
$ORIGIN smithlaw.example.
@     300 IN SOA ns.smithlaw.example. hostmaster.smithlaw.example. 1 3600 600 86400 300
@     300 IN NS  ns.smithlaw.example.
@     300 IN MX  10 mx.smithlaw.example.
ns    300 IN A   127.0.0.1
mail  300 IN A   127.0.0.1
notes 300 IN TXT "a name with no address"
"""
O365_ZONE = """
$ORIGIN o365firm.example.
@     300 IN SOA ns.o365firm.example. hostmaster.o365firm.example. 1 3600 600 86400 300
@     300 IN MX  0 o365firm-example.mail.protection.outlook.com.
"""
GATEWAY_ZONE = """
$ORIGIN gatewayfirm.example.
@     300 IN SOA ns.gatewayfirm.example. hostmaster.gatewayfirm.example. 1 3600 600 86400 300
@     300 IN MX  10 eu-smtp-inbound-1.mimecast.com.
"""


def make_tenant(provider: str = "other", **inbound_server) -> Tenant:
    """The test tenant: a catch-all POP3 mailbox and SMTP submission, both with a password."""
    server = {"host": "mail.smithlaw.example", "port": 995, "tls": "implicit", "username": USER, "password": PASSWORD}
    server.update(inbound_server)
    return parse_tenant(
        {
            "org_key": "smithlaw",
            "domains": ["smithlaw.example"],
            "provider": provider,
            "failed_email_address": "it@elsewhere.example",
            "inbound": {"address": USER, "kind": "catch-all", "confirm_download_then_delete": True, "server": server},
            "outbound": {
                "from_address": USER,
                "server": {
                    "host": "mail.smithlaw.example",
                    "port": 587,
                    "tls": "starttls",
                    "username": USER,
                    "password": PASSWORD,
                },
            },
        }
    )


@pytest.fixture(scope="module")
def sandbox():
    """A running sandbox with the test tenant's accounts and the test zones."""
    zones = [zone_from_text(ZONE), zone_from_text(O365_ZONE), zone_from_text(GATEWAY_ZONE)]
    with Sandbox([make_tenant()], zones=zones) as sb:
        yield sb


@pytest.fixture
def sb(sandbox):
    """The module's sandbox, reset: postfix profile, good certificate, no faults, account free."""
    sandbox.clear_faults()
    sandbox.set_profile("postfix")
    sandbox.set_certificate("good")
    sandbox.set_account_state(USER, locked=False, in_use=False, login_delay=None)
    yield sandbox


@pytest.fixture
def dns(sandbox):
    """A DNS lookup pointed at the sandbox's DNS server."""
    return ResolverLookup.for_nameserver(sandbox.dns.address, timeout=3.0)


def pointed(sb: Sandbox, tenant: Tenant | None = None, *, pop: dict | None = None, smtp: dict | None = None) -> Tenant:
    """``tenant`` pointed at the sandbox, with server fields overridden (e.g. a wrong port)."""
    t = sb.tenant_settings(tenant or make_tenant())
    return t.with_servers(
        inbound=replace(t.inbound.server, **(pop or {})), outbound=replace(t.outbound.server, **(smtp or {}))
    )


def run(sb: Sandbox, tenant: Tenant | None = None, *, timeout: float = 3.0, dns=None, **kw):
    """check_settings on the pointed tenant with a short timeout."""
    return check_settings(pointed(sb, tenant, **kw), timeout=timeout, dns=dns)


def checks(report, direction: str | None = None) -> list[str]:
    """The check ids of a report (of one direction when given)."""
    return [f.check for f in report.findings if direction is None or f.subject.startswith(direction)]


def said(report, check: str) -> str:
    """What the server said, as recorded in the finding ``check``."""
    for f in report.findings:
        if f.check == check:
            return dict(f.evidence).get("server said", "")
    raise AssertionError(f"no {check} finding in {[f.check for f in report.findings]}")


@pytest.fixture
def closed_port():
    """A loopback port with nothing listening (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def full_backlog_port():
    """A loopback listener whose accept queue is full, so new connections time out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=2)
    yield port
    filler.close()
    server.close()


@pytest.fixture
def silent_port():
    """A loopback listener that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def old_tls_port(tmp_path):
    """A loopback implicit-TLS listener that speaks at most TLS 1.1 (the doctor requires 1.2+)."""
    import ssl
    import threading
    import warnings

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # the old versions are the point of this fixture
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            try:
                conn.settimeout(2)
                ctx.wrap_socket(conn, server_side=True).close()
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ca_file = tmp_path / "old-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    yield server.getsockname()[1], str(ca_file)
    stop.set()
    thread.join(timeout=2)
    server.close()
