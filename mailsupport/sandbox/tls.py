"""The sandbox's TLS: a throwaway CA (trustme) and server certificates, good and deliberately bad.

:class:`SandboxTls` makes one CA per sandbox and writes its certificate to ``ca_file`` so
clients verify for real (``mailsupport.tlsutil.client_context(ca_file=...)``). The server
certificate names ``127.0.0.1``, ``::1`` and ``localhost``. For the connection doctor's tests
the served certificate can be switched to a bad one (:class:`CertKind`):

* ``expired`` — issued by the sandbox CA, valid only in the past (clients report
  "certificate has expired");
* ``wrong-host`` — issued by the sandbox CA for ``mail.wrong-host.invalid`` only
  (clients report a host name mismatch);
* ``self-signed`` — a self-signed certificate the clients do not trust
  ("self-signed certificate").

The contexts are reloaded in place, so a switch applies to the next handshake on every
listener (STARTTLS, STLS and implicit TLS alike).

Imports the standard library and trustme; opens no sockets.
"""

from __future__ import annotations

import datetime as _dt
import enum
import ssl
from pathlib import Path

import trustme

__all__ = ["CertKind", "SandboxTls", "SERVER_NAMES"]

#: The names the good certificate is valid for.
SERVER_NAMES = ("127.0.0.1", "::1", "localhost")


class CertKind(str, enum.Enum):
    """Which certificate the sandbox serves: the good one, or a deliberately broken one."""

    GOOD = "good"
    EXPIRED = "expired"
    WRONG_HOST = "wrong-host"
    SELF_SIGNED = "self-signed"

    def __str__(self) -> str:
        return self.value


class SandboxTls:
    """A throwaway CA, its certificates written under ``directory``, and the server contexts.

    ``ca_file`` is the CA certificate (PEM) a client must trust. ``server_context`` is the one
    :class:`ssl.SSLContext` every sandbox listener uses; :meth:`use` swaps its certificate.
    """

    def __init__(self, directory: str | Path, *, kind: CertKind | str = CertKind.GOOD) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._ca = trustme.CA(organization_name="mailsupport sandbox CA")
        self.ca_file = str(self.directory / "sandbox-ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_file)
        self._chains: dict[CertKind, tuple[str, str]] = {}
        # common_name too: fetchmail's sslcertck wants a subject CN besides the SANs
        self._write(CertKind.GOOD, self._ca.issue_cert(*SERVER_NAMES, common_name="localhost"))
        past = _dt.datetime(2020, 1, 1, tzinfo=_dt.UTC)
        self._write(
            CertKind.EXPIRED,
            self._ca.issue_cert(
                *SERVER_NAMES, common_name="localhost", not_before=past, not_after=past + _dt.timedelta(days=30)
            ),
        )
        self._write(CertKind.WRONG_HOST, self._ca.issue_cert("mail.wrong-host.invalid"))
        rogue = trustme.CA(organization_name="self-signed, not the sandbox CA")
        self._write_pems(CertKind.SELF_SIGNED, rogue.cert_pem.bytes(), rogue.private_key_pem.bytes())
        self.kind = CertKind(kind)
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.use(self.kind)

    def __repr__(self) -> str:
        return f"SandboxTls(ca_file={self.ca_file!r}, kind={self.kind.value!r})"

    def _write(self, kind: CertKind, leaf: trustme.LeafCert) -> None:
        chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
        self._write_pems(kind, chain, leaf.private_key_pem.bytes())

    def _write_pems(self, kind: CertKind, chain: bytes, key: bytes) -> None:
        cert_path = self.directory / f"server-{kind.value}.pem"
        key_path = self.directory / f"server-{kind.value}.key"
        cert_path.write_bytes(chain)
        key_path.write_bytes(key)
        key_path.chmod(0o600)
        self._chains[kind] = (str(cert_path), str(key_path))

    def use(self, kind: CertKind | str) -> None:
        """Serve ``kind`` from the next TLS handshake on (call it on the sandbox loop's thread)."""
        self.kind = CertKind(kind)
        cert, key = self._chains[self.kind]
        self.server_context.load_cert_chain(cert, key)
