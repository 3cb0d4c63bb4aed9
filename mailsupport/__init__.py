"""mailsupport: reproduce and diagnose a law-practice system's email set-up problems.

Public names are re-exported here lazily so ``import mailsupport`` stays fast (no pandas,
matplotlib or ipywidgets at import). ``__all__`` lists them; a test keeps it complete.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "MailsupportError": "errors",
    "ConfigError": "errors",
    "SampleError": "errors",
    "StoreError": "errors",
    "OperationError": "errors",
    "ConnectError": "errors",
    "AuthError": "errors",
    "LoginRefusedError": "errors",
    "ProtocolError": "errors",
    "SmtpRejected": "errors",
    "MessageTooLarge": "errors",
    "DnsError": "errors",
    "DnsTempError": "errors",
    "Secret": "model",
    "Severity": "model",
    "Finding": "model",
    "MessageRef": "model",
    "Tenant": "tenant",
    "load_tenant": "config",
    "Sandbox": "sandbox",
    "check_settings": "doctor",
    "SettingsReport": "doctor",
    "DraftStore": "doctor",
    "MessageSummary": "headers",
    "RecipientEvidence": "headers",
    "envelope_candidates": "headers",
    "recipients_for": "headers",
    "receiving_chain": "chain",
    "ReceivingChain": "chain",
    "scan": "samples",
    "diagnose_sample": "diagnose.sample",
    "DnsLookup": "dnslookup",
    "make_lookup": "dnslookup",
    "SpfCheck": "spf",
    "Store": "store",
    "Pop3Client": "pop3",
    "SmtpClient": "smtp",
    "SmtpReply": "smtp",
    "RouteKind": "routing",
    "RouteDecision": "routing",
    "route_message": "routing",
    "add_signature": "signature",
    "compose_message": "signature",
    "poll": "pipeline",
    "run_once": "pipeline",
    "PollSummary": "pipeline",
    "FetchPolicy": "pipeline",
    "ingest_files": "pipeline",
    "wildcard_handler": "pipeline",
    "submit": "pipeline",
    "send_queued": "pipeline",
    "plan_replay": "replay",
    "run_replay": "replay",
    "ReplayResult": "replay",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mailsupport' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
