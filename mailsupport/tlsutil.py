"""TLS contexts for the network clients: certificates verified by default.

One function, :func:`client_context`, so every client (POP3, SMTP, the connection doctor)
verifies the same way: system trust store plus an optional extra CA file (the sandbox's
throwaway CA), host name checked, TLS 1.2 at least. Turning verification off takes an explicit
``verify=False`` from the tenant file, never a default.

Imports only the standard library; opens no sockets itself.
"""

from __future__ import annotations

import ssl

__all__ = ["client_context"]


def client_context(
    *, verify: bool = True, ca_file: str | None = None, minimum_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
) -> ssl.SSLContext:
    """An :class:`ssl.SSLContext` for a mail client.

    ``verify`` (default true) checks the chain and the host name; ``ca_file`` is trusted in
    addition to the system store. With ``verify=False`` the connection is still encrypted but
    anyone in the middle could read it: only for a tenant that says so explicitly.
    """
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    ctx.minimum_version = minimum_version
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
