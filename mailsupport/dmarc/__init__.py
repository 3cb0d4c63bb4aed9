"""DMARC, DKIM and alignment for mail the product sends: will receivers accept it?

Public API (re-exported lazily: ``import mailsupport.dmarc`` loads only what is used)::

    check_domain(domain, *, tenant=None, paths=None, lookup=..., ips=(), selectors=()) -> DmarcCheck
    await check_domain_async(...) -> DmarcCheck
    read_evidence(sample, *, lookup, tenant=None) -> EvidenceTable   (the receivers' verdicts vs the kit's)
    parse_dmarc(text) -> DmarcRecord  (raises DmarcSyntaxError with .marked())
    organizational_domain(name), aligned(identifier, from_domain, mode)
    sending_path(domain, kind, tenant=...) -> SendingPath;  FixStep (records to publish, as data)
    DMARC_CHECKS: check id -> one-line meaning

Modules: ``record`` (the policy record parser), ``align`` (organisational domain through the
Public Suffix List, alignment, policy discovery, the DMARC result), ``paths`` (the sending
path model), ``fixes`` (fix steps), ``findings`` (facts → findings) — layer 2;
``dkimcheck`` (dkimpy with the kit's DNS lookup; layer 3); ``check`` (the use case),
``evidence`` (Authentication-Results of real mail against the kit's own evaluation) and
``render`` (text, JSON, HTML) — layer 4.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_EXPORTS = {
    "DmarcCheck": "check",
    "check_domain": "check",
    "check_domain_async": "check",
    "domain_paths": "check",
    "DMARC_CHECKS": "findings",
    "PathVerdict": "findings",
    "DmarcRecord": "record",
    "DmarcSyntaxError": "record",
    "parse_dmarc": "record",
    "is_dmarc_record": "record",
    "organizational_domain": "align",
    "aligned": "align",
    "PolicyLookup": "align",
    "DmarcOutcome": "align",
    "SendingPath": "paths",
    "sending_path": "paths",
    "FixStep": "fixes",
    "DkimKey": "dkimcheck",
    "DkimSignature": "dkimcheck",
    "verify_message": "dkimcheck",
    "EvidenceRow": "evidence",
    "EvidenceTable": "evidence",
    "read_evidence": "evidence",
    "message_evidence": "evidence",
    "evidence_of": "evidence",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mailsupport.dmarc' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
