"""What ``run`` checks before it touches the mailbox: can it do everything it is about to start?

Owns :func:`run_config_problems`. A poll that downloads and deletes mail it then cannot
forward (no usable outbound server) or that logs in only to find the password may not be
sent unencrypted has already done harm, so every setting the clients would refuse is
checked first, without a connection: the POP3 server (host, port, credentials, a password
or token that would travel without TLS, a CA file that does not load) when the tenant
fetches, and the SMTP server it sends through (the vendor relay when chosen) when anything
can need sending — a failed-emails address to forward to, or messages already queued.

Reachability is not checked here: a server that is down is an operation failure of the
poll or the send pass (the queue keeps what it could not send), not a setting to fix.

Layer 4: reads settings only (the TLS context is built, not used). Must not import the
network clients' internals, the sandbox or presentation modules.
"""

from __future__ import annotations

import ssl

from ..errors import ConfigError
from ..tenant import ServerSettings, Tenant, TlsMode
from ..tlsutil import client_context
from .send import outbound_server

__all__ = ["run_config_problems"]


def _server_problems(settings: ServerSettings, *, path: str, what: str, login_required: bool) -> list[ConfigError]:
    out = []
    if not settings.host:
        out.append(ConfigError(f"the {what} server has no host", path=f"{path}.host"))
    if not settings.port:
        out.append(ConfigError(f"the {what} server has no port", path=f"{path}.port"))
    has_login = bool(settings.username) and (settings.password is not None or settings.oauth_token is not None)
    if login_required and not has_login:
        out.append(ConfigError(f"the {what} login needs a username and a password (or an oauth_token)", path=path))
    if any(c in (settings.username or "") for c in "\r\n\0"):
        out.append(ConfigError(f"the {what} user name contains a line break or NUL", path=f"{path}.username"))
    if has_login and settings.tls is TlsMode.NONE and not settings.allow_plaintext_auth:
        out.append(
            ConfigError(
                f"the {what} password for {settings.username!r} would be sent unencrypted; use "
                'tls = "implicit" or "starttls", or set allow_plaintext_auth = true (test '
                "servers only)",
                path=f"{path}.tls",
            )
        )
    if settings.tls is not TlsMode.NONE:
        try:
            client_context(verify=settings.verify_tls, ca_file=settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            out.append(ConfigError(f"cannot load the CA file {settings.ca_file!r}: {exc}", path=f"{path}.ca_file"))
    return out


def run_config_problems(tenant: Tenant, *, queued: int = 0) -> list[ConfigError]:
    """Every setting that would stop ``run`` part way (empty when it can do all it will start).

    ``queued`` is the number of messages already waiting in the store's send queue.
    """
    out: list[ConfigError] = []
    fetches = tenant.inbound is not None and tenant.preset.fetches
    if tenant.inbound is not None and fetches:
        out += _server_problems(tenant.inbound.server, path="inbound.server", what="POP3", login_required=True)
    if (fetches and tenant.failed_email_address) or queued:
        try:
            smtp = outbound_server(tenant)
        except ConfigError as exc:
            out.append(exc)
        else:
            path = "vendor_relay" if tenant.outbound.use_vendor_relay else "outbound.server"
            forward = tenant.failed_email_address if fetches else None
            why = f"failed mail is forwarded to {forward}" if forward else f"{queued} message(s) wait in the send queue"
            out += [
                ConfigError(f"{p.reason} ({why} through it)", path=p.path)
                for p in _server_problems(smtp, path=path, what="SMTP", login_required=False)
            ]
    return [p if p.source else ConfigError(p.reason, path=p.path, source=tenant.source) for p in out]
