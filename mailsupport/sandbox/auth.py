"""Mail authentication in the sandbox: the vendor relay signs with DKIM, receiving profiles
write ``Authentication-Results`` from a real evaluation.

* :class:`DkimSigner` — a fresh RSA key per sandbox (``cryptography``, already installed
  with ``trustme`` for the sandbox's TLS), its public half published as a TXT record the
  sandbox DNS server serves (by default at ``dkim.actionstep.com``, the name customers'
  ``actionstep._domainkey`` CNAMEs point at, replacing the sample zone's stand-in key); it
  signs with dkimpy, ``d=`` the sender's domain (or a fixed one) and the relay's selector.
* :class:`MailAuth` — what :mod:`.smtp` calls: :meth:`MailAuth.sign` for mail the
  submission listeners relay out, :meth:`MailAuth.stamp` for mail the MX listener files in
  a mailbox: SPF by the kit's check_host() for the relay's public address (a stand-in for
  127.0.0.1, which no SPF record lists) and the MAIL FROM, every DKIM signature verified
  by dkimpy, DMARC from the From domain's record — each question answered from the zone
  data the sandbox DNS server is serving at that moment — written as an
  ``Authentication-Results`` header by ``authres`` with the profile's host as authserv-id.

The private key lives only in this object (its repr shows the selector and key size).
Layer 6: imports the dmarc and spf cores, dnslookup's offline lookup and the zones module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Any

from ..dmarc.align import discover_policy, evaluate
from ..dmarc.dkimcheck import verify_message
from ..dnslookup import ZoneLookup
from ..headerblock import parse_fields, split_header_block
from ..spf.engine import run_sync
from ..spf.evaluate import evaluate as spf_evaluate
from ..tenant import DEFAULT_RELAY_DKIM_SELECTOR, DEFAULT_RELAY_DKIM_TARGET
from ..zones import ZoneData, zone_from_text

__all__ = ["DkimSigner", "MailAuth", "SIGNED_HEADERS", "DEFAULT_RELAY_IP"]

#: The headers the relay signs (RFC 6376 §5.4.1's recommendations that a relay sees).
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
)
#: The address receivers see for the relay: the first host of the stand-in vendor include
#: (``data/samples/zones/actionstep-vendor.zone``: ``ip4:192.0.2.0/26``).
DEFAULT_RELAY_IP = "192.0.2.1"


class DkimSigner:
    """An RSA key for the relay: signs messages (dkimpy) and publishes its key record."""

    def __init__(
        self,
        *,
        selector: str = DEFAULT_RELAY_DKIM_SELECTOR,
        key_host: str = DEFAULT_RELAY_DKIM_TARGET,
        bits: int = 2048,
        domain: str | None = None,
    ) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        self._pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        import base64

        self.selector = selector
        self.key_host = key_host.rstrip(".").lower()
        self.bits = bits
        self.domain = domain
        self.record = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()

    def __repr__(self) -> str:
        return f"DkimSigner(s={self.selector}, key at {self.key_host}, {self.bits}-bit RSA)"

    def zone_data(self) -> ZoneData:
        """The TXT record of the public key at :attr:`key_host` (split in 255-octet strings)."""
        chunks = " ".join(f'"{self.record[i : i + 200]}"' for i in range(0, len(self.record), 200))
        return zone_from_text(f"{self.key_host}. 300 IN TXT {chunks}\n", origin=".")

    def sign(self, data: bytes, domain: str) -> bytes:
        """``data`` with a ``DKIM-Signature`` for ``d=domain`` (or the fixed domain) prepended."""
        import dkim

        d = (self.domain or domain).lower()
        header = dkim.sign(
            data,
            self.selector.encode(),
            d.encode(),
            self._pem,
            include_headers=[h for h in SIGNED_HEADERS if _has(data, h)] or [b"from"],
        )
        return header + data


def _has(data: bytes, name: bytes) -> bool:
    block, _ = split_header_block(data)
    return any(n.lower().encode() == name for n, _v in parse_fields(block))


def _domain(address: str) -> str:
    return address.strip().strip("<>").rpartition("@")[2].lower()


@dataclass(slots=True)
class MailAuth:
    """The sandbox's signing relay and authenticating receivers (see module docstring).

    ``zone_data`` returns the data the DNS server serves now; ``relay_ip`` is the address
    receivers attribute to mail that came through the relay (None: the real peer address).
    """

    signer: DkimSigner
    zone_data: Callable[[], ZoneData]
    relay_ip: str | None = DEFAULT_RELAY_IP

    def sign(self, data: bytes, mail_from: str) -> bytes:
        """Sign relayed mail for the From address's domain (the envelope's when From is missing)."""
        block, _ = split_header_block(data)
        from_ = next((v for n, v in parse_fields(block) if n.lower() == "from"), "")
        addresses = getaddresses([from_])
        domain = _domain(addresses[0][1]) if addresses and "@" in addresses[0][1] else _domain(mail_from)
        return self.signer.sign(data, domain or "invalid")

    def results(self, data: bytes, *, mail_from: str, helo: str, peer: str, authserv_id: str) -> str:
        """The ``Authentication-Results`` header line (without CRLF) for one received message."""
        import authres
        import authres.dmarc

        lookup: Any = ZoneLookup(self.zone_data(), source="sandbox DNS data")
        ip = self.relay_ip or peer
        sender = mail_from or f"postmaster@{helo}"
        spf_domain = _domain(sender)
        spf = run_sync(spf_evaluate(ip, spf_domain, sender=sender, helo=helo), lookup)
        sigs = verify_message(data, lookup)
        block, _ = split_header_block(data)
        from_ = next((v for n, v in parse_fields(block) if n.lower() == "from"), "")
        addresses = getaddresses([from_])
        from_domain = _domain(addresses[0][1]) if addresses and "@" in addresses[0][1] else ""
        out: list[Any] = [
            authres.SPFAuthenticationResult(
                result=spf.result, smtp_mailfrom=sender, result_comment=f"{ip} for {spf_domain}"
            )
        ]
        for s in sigs:
            out.append(
                authres.DKIMAuthenticationResult(
                    result=s.result,
                    header_d=s.domain or None,
                    header_s=s.selector or None,
                    result_comment=s.reason[:80] or None,
                )
            )
        if not sigs:
            out.append(authres.DKIMAuthenticationResult(result="none"))
        if from_domain:
            policy = run_sync(discover_policy(from_domain), lookup)
            outcome = evaluate(
                from_domain, policy, spf=(spf.result, spf_domain), dkim=[(s.result, s.domain) for s in sigs]
            )
            comment = f"p={(outcome.policy or 'none').upper()} dis={outcome.disposition.upper()}"
            out.append(
                authres.dmarc.DMARCAuthenticationResult(
                    result=outcome.result, header_from=from_domain, result_comment=comment
                )
            )
        return str(authres.AuthenticationResultsHeader(authserv_id=authserv_id, results=out))

    def stamp(self, data: bytes, *, mail_from: str, helo: str, peer: str, authserv_id: str) -> bytes:
        """``data`` with the receiver's ``Authentication-Results`` prepended (folded, CRLF)."""
        line = self.results(data, mail_from=mail_from, helo=helo, peer=peer, authserv_id=authserv_id)
        return line.replace("; ", ";\r\n\t").encode("utf-8", "replace") + b"\r\n" + data


def relay_journey(
    sandbox: Any,
    tenant: Any,
    *,
    to: str,
    mail_from: str | None = None,
    subject: str = "Your matter",
    text: str = "Please find the documents attached.\n",
) -> bytes:
    """Send one message the way the product does through the vendor relay, and return it as
    the recipient's mailbox holds it: composed, submitted to the sandbox's submission
    listener (STARTTLS, AUTH, certificate verified; the relay signs it), then handed by the
    relay to the receiving MX (which writes ``Authentication-Results``). ``to`` must be a
    sandbox mailbox address; needs :meth:`Sandbox.enable_mail_auth` first."""
    from email.utils import formatdate, make_msgid

    from ..signature import compose_message
    from ..smtp import SmtpClient

    sender = mail_from or tenant.outbound.from_address or f"office@{tenant.domains[0]}"
    raw = compose_message(
        from_addr=sender,
        from_name="",
        to=[f"client@{_RELAY_OUT}"],
        cc=(),
        subject=subject,
        text=text,
        html_body=None,
        message_id=make_msgid(domain=_domain(sender)),
        date=formatdate(sandbox.world.clock().timestamp()),
        in_reply_to="",
        references=(),
    )
    settings = sandbox.tenant_settings(tenant).outbound.server
    before = len(sandbox.outbox)
    with SmtpClient(settings) as client:
        client.send(raw, sender, [f"client@{_RELAY_OUT}"])
    relayed = sandbox.wait_for(lambda: sandbox.outbox[before:], what="the relay's outgoing copy")[0]
    count = len(sandbox.mailbox(to))
    sandbox.deliver(relayed.data, sender, [to], helo="relay.actionstep.com")
    return sandbox.wait_for(lambda: sandbox.mailbox(to)[count:], what="the delivered copy")[0].data


#: The outside domain the journey's first hop addresses (anything not a sandbox mailbox is relayed out).
_RELAY_OUT = "recipient.example"
