"""Mail from outside: one SMTP transaction to the sandbox's MX listener with smtplib.

What another server on the Internet does when it delivers to the firm:
:meth:`Sandbox.deliver <mailsupport.sandbox.Sandbox.deliver>` calls it.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterable

from ..errors import SmtpRejected

__all__ = ["send_as_outside_server"]


def send_as_outside_server(
    host: str,
    port: int,
    raw: bytes | str,
    mail_from: str,
    rcpt_tos: Iterable[str],
    *,
    helo: str = "sender.example.org",
    timeout: float = 30.0,
) -> str:
    """Send ``raw`` to ``host:port`` as an outside server would; the final reply text.

    Raises :class:`~mailsupport.errors.SmtpRejected` when the server refuses the sender,
    every recipient, or the data.
    """
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    rcpts = [rcpt_tos] if isinstance(rcpt_tos, str) else list(rcpt_tos)
    server = f"{host}:{port}"
    with smtplib.SMTP(host, port, local_hostname=helo, timeout=timeout) as client:
        client.ehlo()
        code, msg = client.mail(mail_from)
        if code != 250:
            raise SmtpRejected(
                f"MAIL FROM refused: {code} {msg.decode(errors='replace')}",
                reply=(code, msg),
                stage="MAIL",
                server=server,
            )
        refused = {}
        for rcpt in rcpts:
            code, msg = client.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = (code, msg)
        if len(refused) == len(rcpts):
            first = next(iter(refused.values()))
            raise SmtpRejected(
                f"every recipient refused: {first[0]} {first[1].decode(errors='replace')}",
                reply=first,
                stage="RCPT",
                server=server,
            )
        code, msg = client.data(data)
        if code != 250:
            raise SmtpRejected(
                f"message refused after DATA: {code} {msg.decode(errors='replace')}",
                reply=(code, msg),
                stage="DATA",
                server=server,
            )
        return f"{code} {msg.decode(errors='replace')}"
