"""Proof on real mail: what the receiver computed for each message of a sample, and what the
kit computes now.

For each message (sent-mail copies as received elsewhere, or bounces quoting them):

* **the receiver's verdict** — the topmost ``Authentication-Results`` (RFC 8601; the one the
  final receiver wrote), else the newest ``ARC-Authentication-Results`` (RFC 8617), parsed
  with ``authres`` (its DMARC and ARC extensions loaded); ``Received-SPF`` (RFC 7208 §9.1)
  gives the client IP and envelope sender when present. Exchange Online writes its
  authserv-id after the first result; that one known deviation is moved to the front before
  ``authres`` parses it again;
* **the kit's verdict now** — every ``DKIM-Signature`` verified for real by dkimpy, keys
  from the given :class:`~mailsupport.dnslookup.DnsLookup`
  (:func:`~mailsupport.dmarc.dkimcheck.verify_message`); SPF re-evaluated by the kit's
  check_host() for the client IP and MAIL FROM when the headers name them (else the
  receiver's SPF result is taken over, and said so); DMARC from today's policy record and
  both (:func:`~mailsupport.dmarc.align.evaluate`);
* a **note** explaining a difference: a key no longer published (rotated, or not in the
  zones given), a message changed after it was checked (an edited or anonymised copy), a
  policy record that changed.

Layer 4 (use case): reads samples through :mod:`mailsupport.samples.readers`, DNS through a lookup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import Any

from ..headerblock import parse_fields, split_header_block
from ..spf.engine import run_sync
from ..spf.evaluate import evaluate as spf_evaluate
from .align import discover_policy, evaluate
from .dkimcheck import DkimSignature, verify_message

__all__ = [
    "EvidenceRow",
    "EvidenceTable",
    "message_evidence",
    "read_evidence",
    "evidence_of",
    "parse_auth_results",
    "MAX_MESSAGES",
]

#: At most this many messages of one sample are examined (a sample is evidence, not a mailbox).
MAX_MESSAGES = 500
_RECEIVED_SPF_KV = re.compile(r"(client-ip|envelope-from)\s*=\s*\"?([^\";\s]+)\"?", re.I)
_METHODS = ("spf", "dkim", "dmarc", "arc", "iprev", "auth", "domainkeys", "sender-id")
_ARC_INSTANCE = re.compile(r"^\s*i\s*=\s*(\d+)\s*;", re.I)


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceRow:
    """One message: the receiver's spf/dkim/dmarc results and the kit's, with a note on differences.

    Results are written ``result (domain)``; ``header`` names where the receiver's came from;
    ``problem`` is set when the message could not be read (the row still counts).
    """

    source: str
    position: str
    from_domain: str = ""
    mail_from_domain: str = ""
    client_ip: str = ""
    receiver: str = ""
    header: str = ""
    receiver_spf: str = ""
    receiver_dkim: str = ""
    receiver_dmarc: str = ""
    kit_spf: str = ""
    kit_dkim: str = ""
    kit_dmarc: str = ""
    kit_reason: str = ""
    signatures: tuple[DkimSignature, ...] = ()
    note: str = ""
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON): every field, the signatures as ``result d= s= reason``."""
        out = {k: getattr(self, k) for k in self.__slots__ if k != "signatures"}
        out["signatures"] = [
            {"domain": s.domain, "selector": s.selector, "result": s.result, "reason": s.reason}
            for s in self.signatures
        ]
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceTable:
    """The evidence rows of one sample; displays itself in Jupyter (escaped HTML)."""

    source: str
    dns_source: str
    rows: tuple[EvidenceRow, ...] = field(default_factory=tuple)

    def to_text(self) -> str:
        """A plain-text table."""
        from .render import evidence_to_text

        return evidence_to_text(self)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        from .render import evidence_to_html

        return evidence_to_html(self)


def _context() -> Any:
    import authres
    import authres.arc
    import authres.dmarc

    return authres.FeatureContext(authres.dmarc, authres.arc)


def parse_auth_results(value: str) -> Any:
    """Parse one Authentication-Results value with ``authres`` (see module docstring); None if it cannot."""
    import authres

    ctx = _context()
    text = _ARC_INSTANCE.sub("", value.strip()).strip().rstrip(";").strip()
    try:
        return ctx.parse_value(text)
    except authres.AuthResError:
        pass
    # Exchange Online: the authserv-id after the first result (or missing), results it has not
    # registered (compauth): keep the bare token first and the methods authres knows.
    parts = [p.strip() for p in text.split(";") if p.strip()]
    bare = [p for p in parts if "=" not in p.split("(", 1)[0]]
    known = [p for p in parts if p.split("=", 1)[0].strip().lower() in _METHODS]
    try:
        return ctx.parse_value("; ".join([bare[0] if bare else "unknown"] + known))
    except authres.AuthResError:
        return None


def _prop(result: Any, ptype: str, name: str) -> str:
    for p in getattr(result, "properties", ()):
        if p.type == ptype and p.name == name:
            return str(p.value)
    return ""


def _domain(value: str) -> str:
    value = value.strip().strip("<>").lower()
    return value.rpartition("@")[2] if "@" in value else value.lstrip("@")


def _receiver(fields: list[tuple[str, str]]) -> tuple[str, str, dict[str, str], str, str]:
    """(authserv-id, header, method -> "result (domain)", MAIL FROM domain, From domain) of the receiver."""
    parsed, header = None, ""
    candidates = [("Authentication-Results", v) for n, v in fields if n.lower() == "authentication-results"]
    arc = [("ARC-Authentication-Results", v) for n, v in fields if n.lower() == "arc-authentication-results"]
    arc.sort(key=lambda nv: -int(m.group(1)) if (m := _ARC_INSTANCE.match(nv[1])) else 0)
    for name, value in candidates + arc:
        parsed = parse_auth_results(value)
        if parsed is not None:
            header = name
            break
    if parsed is None:
        return "", "", {}, "", ""
    results: dict[str, str] = {}
    mail_from = from_ = ""
    for r in parsed.results:
        method = r.method.lower()
        if method == "spf" and not _prop(r, "smtp", "helo"):
            # smtp.mail is the pre-RFC 7001 spelling some receivers still wrote
            mail_from = _domain(_prop(r, "smtp", "mailfrom") or _prop(r, "smtp", "mail"))
            results.setdefault("spf", f"{r.result} ({mail_from})")
        elif method == "dkim":
            d = _prop(r, "header", "d") or _domain(_prop(r, "header", "i"))
            results["dkim"] = (results["dkim"] + ", " if "dkim" in results else "") + f"{r.result} ({d})"
        elif method == "dmarc":
            from_ = _domain(_prop(r, "header", "from"))
            results.setdefault("dmarc", f"{r.result} ({from_})")
    return str(parsed.authserv_id), header, results, mail_from, from_


def _received_spf(fields: list[tuple[str, str]]) -> tuple[str, str, str]:
    """(result, client IP, envelope sender) of the topmost Received-SPF (RFC 7208 §9.1)."""
    for name, value in fields:
        if name.lower() == "received-spf":
            kv = {k.lower(): v for k, v in _RECEIVED_SPF_KV.findall(value)}
            words = value.split(None, 1)
            return (words[0].lower() if words else ""), kv.get("client-ip", ""), kv.get("envelope-from", "")
    return "", "", ""


def _header(fields: list[tuple[str, str]], wanted: str) -> str:
    return next((v for n, v in fields if n.lower() == wanted), "")


def _note(row: dict[str, str], sigs: tuple[DkimSignature, ...]) -> str:
    notes = []
    rs, ks = row["receiver_spf"].split(" ")[0], row["kit_spf"].split(" ")[0]
    if rs and ks and rs != ks:
        notes.append(
            f"SPF: the receiver got {rs}, the kit {ks} now (the record changed, or it is not in the DNS data given)"
        )
    rd, kd = row["receiver_dkim"], row["kit_dkim"]
    if rd.startswith("pass") and not kd.startswith("pass"):
        missing = [s for s in sigs if s.key is not None and s.key.status in ("missing", "temperror")]
        if missing:
            notes.append(
                f"DKIM: the key {missing[0].key.name} is not published now (rotated, or not in the DNS "
                "data given), so the kit cannot re-verify the signature the receiver accepted"
            )
        elif any(s.result == "fail" for s in sigs):
            notes.append(
                "DKIM: the signature no longer verifies: the copy was changed after the receiver checked "
                "it (edited, anonymised or re-encoded)"
            )
    rm, km = row["receiver_dmarc"].split(" ")[0], row["kit_dmarc"]
    if rm and km and rm != km:
        notes.append(f"DMARC: the receiver computed {rm}, the kit {km} from today's records and the results above")
    return "; ".join(notes)


def message_evidence(raw: bytes, lookup: Any, *, source: str = "", position: str = "") -> EvidenceRow:
    """The :class:`EvidenceRow` of one raw message (see module docstring)."""
    block, _ = split_header_block(raw)
    fields = parse_fields(block)
    addresses = getaddresses([_header(fields, "from")])
    from_domain = _domain(addresses[0][1]) if addresses and addresses[0][1] else ""
    authserv, header, results, ar_mail_from, ar_from = _receiver(fields)
    rspf, client_ip, env_from = _received_spf(fields)
    return_path = _domain(_header(fields, "return-path"))
    mail_from = ar_mail_from or _domain(env_from) or return_path
    from_domain = from_domain or ar_from
    if not header and rspf:
        header, authserv = "Received-SPF", authserv or "(Received-SPF only)"
        results.setdefault("spf", f"{rspf} ({mail_from})")
    sigs = verify_message(raw, lookup) if b"dkim-signature" in block.lower() else ()
    kit_dkim = ", ".join(f"{s.result} ({s.domain})" for s in sigs)
    spf_pair: tuple[str, str] | None = None
    kit_spf = ""
    if client_ip and mail_from:
        try:
            res = run_sync(spf_evaluate(client_ip, mail_from, sender=env_from or f"postmaster@{mail_from}"), lookup)
            spf_pair, kit_spf = (res.result, mail_from), f"{res.result} ({mail_from})"
        except ValueError:
            kit_spf = ""
    if spf_pair is None and "spf" in results:
        spf_pair = (results["spf"].split(" ")[0], mail_from)
        kit_spf = f"{spf_pair[0]} (receiver's; no client IP to re-check)"
    kit_dmarc = reason = ""
    if from_domain:
        policy = run_sync(discover_policy(from_domain), lookup)
        outcome = evaluate(from_domain, policy, spf=spf_pair, dkim=[(s.result, s.domain) for s in sigs])
        kit_dmarc, reason = outcome.result, outcome.reason
    row = dict(
        receiver_spf=results.get("spf", ""),
        kit_spf=kit_spf,
        receiver_dkim=results.get("dkim", ""),
        kit_dkim=kit_dkim,
        receiver_dmarc=results.get("dmarc", ""),
        kit_dmarc=kit_dmarc,
    )
    return EvidenceRow(
        source=source,
        position=position,
        from_domain=from_domain,
        mail_from_domain=mail_from,
        client_ip=client_ip,
        receiver=authserv,
        header=header,
        receiver_spf=results.get("spf", ""),
        receiver_dkim=row["receiver_dkim"],
        receiver_dmarc=row["receiver_dmarc"],
        kit_spf=kit_spf,
        kit_dkim=kit_dkim,
        kit_dmarc=kit_dmarc,
        kit_reason=reason,
        signatures=sigs,
        note=_note(row, sigs),
    )


def iter_evidence(path: str, lookup: Any, *, limit: int = MAX_MESSAGES) -> Iterator[EvidenceRow]:
    """Evidence rows for the messages of a sample (mbox, Maildir, folder, zip, .eml), at most ``limit``."""
    from ..samples.readers import iter_raw

    for i, msg in enumerate(iter_raw(path)):
        if i >= limit:
            return
        if msg.problem:
            yield EvidenceRow(source=msg.source, position=msg.position, problem=msg.problem)
            continue
        yield message_evidence(msg.data, lookup, source=msg.source, position=msg.position)


def evidence_of(messages: Any, *, lookup: Any, source: str = "messages") -> EvidenceTable:
    """The :class:`EvidenceTable` of raw messages in hand (e.g. copies from the sandbox), at most
    :data:`MAX_MESSAGES`."""
    rows = tuple(
        message_evidence(raw, lookup, source=source, position=f"message {i + 1}")
        for i, raw in enumerate(list(messages)[:MAX_MESSAGES])
    )
    return EvidenceTable(source=source, dns_source=getattr(lookup, "source", ""), rows=rows)


def read_evidence(path: str, *, lookup: Any, limit: int = MAX_MESSAGES) -> EvidenceTable:
    """The :class:`EvidenceTable` of a sample (see module docstring)."""
    return EvidenceTable(
        source=str(path), dns_source=getattr(lookup, "source", ""), rows=tuple(iter_evidence(path, lookup, limit=limit))
    )
