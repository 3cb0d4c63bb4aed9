"""A thin SMTP submission client on :mod:`smtplib`: TLS verified by default, one reply type.

Owns the submission conversation (RFC 6409 / RFC 5321) for the pipeline's sender and the
connection doctor: implicit TLS (port 465, RFC 8314 §3) or STARTTLS (RFC 3207), certificate
verification through :func:`mailsupport.tlsutil.client_context`, AUTH (PLAIN/LOGIN, or
XOAUTH2 when the settings carry an ``oauth_token``), and no AUTH over an unencrypted
connection unless ``allow_plaintext_auth``.

Every reply is a frozen :class:`SmtpReply`; a refused command raises
:class:`~mailsupport.errors.SmtpRejected` with the reply and the ``stage`` (``MAIL``,
``RCPT``, ``DATA``, ...). ``reply.temporary`` (4xx) tells the caller to keep the message queued
and retry; 5xx is final. When the server advertises SIZE (RFC 1870) a message over it is
refused *before* sending with :class:`~mailsupport.errors.MessageTooLarge`. CR, LF or NUL in
an address is refused (it would inject SMTP commands); every message's line ends become CRLF
before DATA (bare CR and LF too), so dot-stuffing covers every line (no SMTP smuggling).
Library errors are translated here, once, ``raise ... from exc``.

Bounded against hostile servers: every reply is read by :mod:`mailsupport.smtpio` (smtplib
with its reply reader replaced): a line over ``Limits.max_line`` or a reply over
``Limits.max_reply_lines`` lines is :class:`~mailsupport.errors.LimitExceeded`, a line that
is not ``ddd[ -]text`` a :class:`~mailsupport.errors.ProtocolError`, and each step (greeting,
EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, the final dot, RSET, QUIT) has a wall-clock deadline
of ``Limits.step_seconds(timeout)`` (the final dot also gets time for the message's bytes),
so a server dripping one byte a second ends as :class:`~mailsupport.errors.DeadlineExceeded`
naming the step; an optional session deadline caps them all. These close the session and
propagate as they are (all are ``ProtocolError``). Server words that reach a reply or an
exception are scrubbed of the password/token in every form
(:class:`~mailsupport.redact.Redactor`).

Layer 3: imports config, errors, limits, redact, sasl, signature (for the injection check),
smtpio, tlsutil. Must not import the pipeline, sandbox or presentation modules.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

from .errors import AuthError, ConfigError, ConnectError, MessageTooLarge, ProtocolError, SmtpRejected
from .limits import DEFAULT_LIMITS, Deadline, Limits
from .redact import Redactor
from .sasl import xoauth2_initial_response
from .signature import check_header_value, crlf_line_ends
from .smtpio import BoundedSMTP, BoundedSMTPS
from .tenant import ServerSettings, TlsMode
from .tlsutil import client_context

__all__ = ["SmtpReply", "SmtpClient"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpReply:
    """One SMTP reply (RFC 5321 §4.2): three-digit ``code`` and the ``text`` (lines joined by newline)."""

    code: int
    text: str

    @property
    def temporary(self) -> bool:
        """4xx: try again later (RFC 5321 §4.2.1, "transient negative completion")."""
        return 400 <= self.code < 500

    @property
    def permanent(self) -> bool:
        """5xx: do not retry unchanged."""
        return self.code >= 500

    @property
    def ok(self) -> bool:
        """2xx or 3xx."""
        return 200 <= self.code < 400

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


def _reply(code: int, msg: bytes | str, redact: Callable[[str], str] | None = None) -> SmtpReply:
    """An :class:`SmtpReply` from smtplib's ``(code, msg)``, its text scrubbed by ``redact``."""
    text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    text = text.strip()
    return SmtpReply(code=int(code), text=redact(text) if redact is not None else text)


class SmtpClient:
    """One SMTP session. ``with SmtpClient(settings) as c: c.send(raw, mail_from, rcpts)``.

    ``local_hostname`` is the EHLO name (default: the machine's FQDN, as smtplib does);
    ``limits`` bound every reply and give each step its deadline; ``deadline`` is an optional
    wall-clock budget for the whole session (see the module docstring).
    """

    def __init__(
        self,
        settings: ServerSettings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        limits: Limits = DEFAULT_LIMITS,
        deadline: Deadline | None = None,
    ) -> None:
        if not settings.host or not settings.port:
            raise ConfigError("the SMTP server needs a host and a port", path="outbound.server")
        self.settings = settings
        self.server = settings.endpoint
        self._ctx = ssl_context
        self._local = local_hostname
        self._limits = limits
        self._session = deadline
        #: scrubs the password/token (every form) out of the server's words
        self.redact = Redactor.for_settings(settings)
        self._smtp: BoundedSMTP | BoundedSMTPS | None = None
        self.encrypted = False
        self.size_limit: int | None = None

    def _reply(self, code: int, msg: bytes | str) -> SmtpReply:
        return _reply(code, msg, self.redact)

    def _context(self) -> ssl.SSLContext:
        if self._ctx is None:
            try:
                self._ctx = client_context(verify=self.settings.verify_tls, ca_file=self.settings.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"cannot load the CA file {self.settings.ca_file!r}: {exc}", path="outbound.server.ca_file"
                ) from exc
        return self._ctx

    # ------------------------------------------------------------------ set-up
    def connect(self) -> SmtpClient:
        """Connect, EHLO, STARTTLS when configured (then EHLO again), read SIZE."""
        s = self.settings
        try:
            if s.tls is TlsMode.IMPLICIT:
                self._smtp = BoundedSMTPS(timeout=s.timeout, context=self._context(), local_hostname=self._local)
                self.encrypted = True
            else:
                self._smtp = BoundedSMTP(timeout=s.timeout, local_hostname=self._local)
            self._smtp.bound(limits=self._limits, redact=self.redact, server=self.server, session=self._session)
            code, msg = self._smtp.connect(s.host, s.port)
            if code != 220:
                r = self._reply(code, msg)
                raise SmtpRejected(f"the server refused the session: {r}", reply=r, stage="CONNECT", server=self.server)
            code, msg = self._smtp.ehlo()
            if code != 250:
                r = self._reply(code, msg)
                raise SmtpRejected(f"EHLO refused: {r}", reply=r, stage="EHLO", server=self.server)
            if s.tls is TlsMode.STARTTLS:
                if not self._smtp.has_extn("starttls"):
                    raise ConnectError(
                        'the server does not offer STARTTLS; use tls = "implicit" (port 465) or check the port',
                        server=self.server,
                    )
                code, msg = self._smtp.starttls(context=self._context())
                self.encrypted = True
                self._smtp.ehlo()
        except (SmtpRejected, ProtocolError):  # refused, or a deadline / limit / malformed reply
            self.abort()
            raise
        except ssl.SSLCertVerificationError as exc:
            self.abort()
            raise ConnectError(
                f"the server's TLS certificate was not accepted ({exc.verify_message}); fix it, "
                "give ca_file, or (accepting the risk) verify_tls = false",
                server=self.server,
            ) from exc
        except ssl.SSLError as exc:
            self.abort()
            raise ConnectError(
                f"TLS handshake failed ({exc.reason or exc}); check the port and TLS mode (now {s.tls.value})",
                server=self.server,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self.abort()
            r = self._reply(exc.smtp_code, exc.smtp_error)
            raise SmtpRejected(
                f"the server refused the session: {r}", reply=r, stage="CONNECT", server=self.server
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.abort()
            raise ConnectError(
                self.redact(f"cannot connect ({exc}); check host, port and firewall"), server=self.server
            ) from exc
        size = self._smtp.esmtp_features.get("size", "").strip()
        self.size_limit = int(size) if size.isascii() and size.isdigit() and int(size) > 0 else None
        return self

    def login(self) -> None:
        """AUTH when credentials are configured (XOAUTH2 if a token is set)."""
        s = self.settings
        smtp = self._require()
        if not s.username or (s.password is None and not s.oauth_token):
            return  # an open relay / IP-authorised submission (the vendor relay, tests)
        if not self.encrypted and not s.allow_plaintext_auth:
            raise ConfigError(
                f"refusing to send the password for {s.username!r} unencrypted to {self.server}; "
                'use tls = "starttls" or "implicit", or set allow_plaintext_auth = true '
                "(test servers only)",
                path="outbound.server.tls",
            )
        try:
            if s.oauth_token:
                initial = xoauth2_initial_response(s.username, s.oauth_token)
                code, msg = smtp.docmd("AUTH", f"XOAUTH2 {initial}")
                if code == 334:  # the JSON error challenge; an empty line gets the final reply
                    code, msg = smtp.docmd("")
                if code != 235:
                    raise AuthError(
                        f"the OAuth token for {s.username!r} was refused: {self._reply(code, msg)}", server=self.server
                    )
            else:
                smtp.login(s.username, s.password.reveal())
        except smtplib.SMTPAuthenticationError as exc:
            r = self._reply(exc.smtp_code, exc.smtp_error)
            raise AuthError(
                f"login for {s.username!r} rejected: {r}; check the user name and password (or app password)",
                server=self.server,
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise AuthError(
                f"the server offers no AUTH{'' if self.encrypted else ' before TLS'}; check the port and TLS mode",
                server=self.server,
            ) from exc
        except smtplib.SMTPException as exc:
            raise AuthError(self.redact(f"login for {s.username!r} failed: {exc}"), server=self.server) from exc
        except OSError as exc:
            raise ProtocolError(f"connection lost during AUTH ({exc})", server=self.server) from exc

    def open(self) -> SmtpClient:
        """:meth:`connect` then :meth:`login`."""
        self.connect()
        try:
            self.login()
        except BaseException:
            self.abort()
            raise
        return self

    def _require(self) -> smtplib.SMTP:
        if self._smtp is None:
            raise ProtocolError("not connected", server=self.server)
        return self._smtp

    # ------------------------------------------------------------------ sending
    def send(self, raw: bytes, mail_from: str, rcpt_tos: Sequence[str]) -> SmtpReply:
        """MAIL, RCPT for each recipient, DATA. Returns the final reply (250).

        Raises :class:`SmtpRejected` (with ``reply`` and ``stage``) for a refused command;
        a refused recipient refuses the whole message so nothing is half-sent.
        """
        check_header_value("MAIL FROM address", mail_from)
        raw = crlf_line_ends(raw)  # every line end CRLF, so smtplib's dot-stuffing sees every line
        if not rcpt_tos:
            raise ConfigError("a message needs at least one recipient", path="rcpt_tos")
        for i, r in enumerate(rcpt_tos):
            check_header_value(f"RCPT TO address [{i}]", r)
        if self.size_limit is not None and len(raw) > self.size_limit:
            raise MessageTooLarge(
                f"the message is {len(raw)} bytes, over the {self.size_limit}-byte SIZE the "
                f"server {self.server} advertises; not sent",
                size=len(raw),
                limit=self.size_limit,
            )
        smtp = self._require()
        stage = "MAIL"
        try:
            opts = [f"SIZE={len(raw)}"] if self.size_limit is not None else []
            code, msg = smtp.mail(mail_from, opts)
            if code != 250:
                reply = self._reply(code, msg)
                self._reset()
                raise SmtpRejected(
                    f"MAIL FROM:<{mail_from}> refused: {reply}", reply=reply, stage=stage, server=self.server
                )
            stage = "RCPT"
            for r in rcpt_tos:
                code, msg = smtp.rcpt(r)
                if code not in (250, 251):
                    reply = self._reply(code, msg)
                    self._reset()
                    raise SmtpRejected(f"RCPT TO:<{r}> refused: {reply}", reply=reply, stage=stage, server=self.server)
            stage = "DATA"
            code, msg = smtp.data(raw)
            if code != 250:
                reply = self._reply(code, msg)
                raise SmtpRejected(
                    f"the message was refused after DATA: {reply}", reply=reply, stage=stage, server=self.server
                )
            return self._reply(code, msg)
        except smtplib.SMTPResponseException as exc:
            r = self._reply(exc.smtp_code, exc.smtp_error)
            raise SmtpRejected(f"{stage} refused: {r}", reply=r, stage=stage, server=self.server) from exc
        except ProtocolError:  # a deadline, a limit or a malformed reply: the session is over
            self.abort()
            raise
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            self.abort()
            raise ProtocolError(
                f"connection lost during {stage} ({exc}); the message was not accepted", server=self.server
            ) from exc

    def _reset(self) -> None:
        try:
            self._require().rset()
        except (smtplib.SMTPException, OSError, ProtocolError):
            self.abort()

    def quit(self) -> None:
        """QUIT politely (errors ignored: the mail is already accepted or not)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError, ProtocolError):
                smtp.close()

    def abort(self) -> None:
        """Close the connection at once."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def __enter__(self) -> SmtpClient:
        if self._smtp is None:
            self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.quit()
        else:
            self.abort()
