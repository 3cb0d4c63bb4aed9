"""The embedded sandbox mail world: real SMTP, POP3 and DNS servers on 127.0.0.1.

Every server binds ``127.0.0.1:0`` inside one asyncio event loop running in a background
thread (:class:`BackgroundLoop`). Provider *profiles* (:data:`PROFILES`: ``postfix``,
``exim``, ``received-for``, ``gmail``, ``office365``, ``office365-2026``) reproduce the
headers and refusals of real systems; *faults* (:class:`Fault`) are deterministic
(stage + match + reply/action), never random. Typical use::

    from mailsupport.sandbox import Sandbox
    with Sandbox(["data/samples/tenants/smithlaw-postfix.toml"], profile="postfix") as sb:
        sb.deliver(raw, "client@outside.example", ["1042@smithlaw.example"])
        settings = sb.tenant_settings(sb.tenants[0])   # points POP3/SMTP at the sandbox
        sb.mailbox("matters@smithlaw.example")

Layer 6: may import every other layer; only tests, the demo, notebooks and the CLI import it.
"""

from __future__ import annotations

from .faults import Action, Fault, Stage
from .inbound import FiledCopy, InboundClient, InboundDelivery
from .loop import BackgroundLoop
from .mailstore import AccountState, OutboxMessage, StoredMessage, WildcardMessage
from .profiles import PROFILES, BasicAuth, Profile, profile_names
from .sandbox import DEFAULT_SMTP_SIZE_LIMIT, Endpoint, Sandbox
from .tls import CertKind

__all__ = [
    "Sandbox",
    "Endpoint",
    "BackgroundLoop",
    "Fault",
    "Stage",
    "Action",
    "CertKind",
    "Profile",
    "PROFILES",
    "BasicAuth",
    "AccountState",
    "StoredMessage",
    "OutboxMessage",
    "WildcardMessage",
    "DEFAULT_SMTP_SIZE_LIMIT",
    "profile_names",
    "InboundClient",
    "InboundDelivery",
    "FiledCopy",
]
