"""DKIM through dkimpy, with every DNS question asked through the kit's lookup.

* :func:`fetch_key` — a generator (it yields ``(name, rdtype)`` questions, as the SPF and
  DMARC code does) that reads the key record at ``<selector>._domainkey.<domain>``,
  following a CNAME itself (an authoritative server answers the alias only) and judging the
  key with dkimpy's own parser (``dkim.evaluate_pk``): :class:`DkimKey` with status ``ok``,
  ``missing``, ``revoked`` (empty ``p=``, RFC 6376 §3.6.1), ``invalid``, ``short``
  (RSA under 1024 bits: receivers fail it, RFC 8301 §3.2) or ``temperror``.
* :func:`verify_message` — verifies every ``DKIM-Signature`` of a raw message for real with
  ``dkim.DKIM.verify``; its ``dnsfunc`` is fed from a :class:`~mailsupport.dnslookup.DnsLookup`
  (zone files, the sandbox DNS server or a resolver), so tests stay on loopback.

dkimpy (imported on first use, so ``import mailsupport`` stays light) is the maintained
implementation receivers' milters use; nothing of RFC 6376 is re-implemented here.
Layer 3 (client): imports errors and the DNS lookup protocol's answers only.
"""

from __future__ import annotations

import binascii
import functools
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from ..errors import DnsError, DnsTempError

__all__ = [
    "DkimKey",
    "DkimSignature",
    "fetch_key",
    "judge_key",
    "verify_message",
    "dnsfunc_for",
    "MIN_KEY_BITS",
    "RECOMMENDED_KEY_BITS",
]

#: RFC 8301 §3.2: verifiers MUST NOT accept RSA keys under 1024 bits; signers SHOULD use 2048.
MIN_KEY_BITS = 1024
RECOMMENDED_KEY_BITS = 2048

Gen = Generator[tuple[str, str], Any, Any]
_P_EMPTY = re.compile(r"(?:^|;)\s*p\s*=\s*(?:;|$)")


@dataclass(frozen=True, slots=True, kw_only=True)
class DkimKey:
    """A DKIM key record as a verifier finds it.

    ``name`` is the selector name asked; ``cname`` where it is an alias to (empty when it
    is not); ``record`` the TXT text used; ``key_type`` ``rsa``/``ed25519``; ``bits`` the
    key size; ``problem`` says what is wrong when ``status`` is not ``ok``.
    """

    name: str
    status: str
    record: str = ""
    cname: str = ""
    key_type: str = ""
    bits: int = 0
    problem: str = ""

    @property
    def usable(self) -> bool:
        """True when a verifier can check signatures with this key (ok, or only below 2048 bits)."""
        return self.status == "ok"


def judge_key(name: str, text: str) -> tuple[str, str, int, str]:
    """``(status, key type, bits, problem)`` for one key record text, through dkimpy's parser."""
    return _judge(text)


@functools.lru_cache(maxsize=512)
def _judge(text: str) -> tuple[str, str, int, str]:
    # keys recur (every customer's CNAME leads to the vendor's one key): parse each text once
    import dkim

    name = "key"

    if _P_EMPTY.search(text):
        return "revoked", "", 0, "the p= tag is empty: the key is revoked (RFC 6376 §3.6.1)"
    try:
        _pk, bits, ktag, _rpt = dkim.evaluate_pk(name.encode(), text.encode("ascii", "replace"))
    except getattr(dkim, "NaClNotFoundError", ()) as exc:  # an ed25519 key, no PyNaCl to read it
        return "ok", "ed25519", 256, f"not checked here ({exc})"
    except (dkim.KeyFormatError, binascii.Error, ValueError, IndexError) as exc:
        return "invalid", "", 0, f"dkimpy cannot use this key record: {exc}"
    kind = ktag.decode() if isinstance(ktag, bytes) else str(ktag)
    if kind == "rsa" and bits < MIN_KEY_BITS:
        return (
            "short",
            kind,
            bits,
            (f"a {bits}-bit RSA key: receivers must not accept keys under {MIN_KEY_BITS} bits (RFC 8301 §3.2)"),
        )
    return "ok", kind, bits, ""


def _records(answer: Any) -> tuple[str, ...]:
    return tuple(r for r in answer.records if isinstance(r, str))


def fetch_key(selector: str, domain: str, *, alias_first: bool = False) -> Gen:
    """Read and judge the key at ``<selector>._domainkey.<domain>`` (a generator; returns :class:`DkimKey`).

    ``alias_first`` asks for the CNAME before the TXT: right when the selector should be an
    alias (the vendor relay's), as an authoritative server answers the alias, not the key.
    """
    name = f"{selector}._domainkey.{domain}".lower().rstrip(".")
    cname = ""
    texts: tuple[str, ...] = ()
    try:
        if alias_first:
            alias = yield (name, "CNAME")
            if alias.records:
                cname = str(alias.records[0])
                texts = _records((yield (cname, "TXT")))
            elif getattr(alias.status, "value", "") == "nodata":
                texts = _records((yield (name, "TXT")))
        else:
            answer = yield (name, "TXT")
            texts = _records(answer)
            if answer.canonical_name and answer.canonical_name != name:
                cname = answer.canonical_name
            if not texts and getattr(answer.status, "value", "") == "nodata":
                # the name exists without TXT: an alias an authoritative server did not follow
                alias = yield (name, "CNAME")
                if alias.records:
                    cname = str(alias.records[0])
                    texts = _records((yield (cname, "TXT")))
    except DnsTempError as exc:
        return DkimKey(name=name, status="temperror", cname=cname, problem=f"DNS failed: {exc}")
    except DnsError as exc:
        return DkimKey(name=name, status="missing", cname=cname, problem=f"cannot be queried: {exc}")
    keys = [t for t in texts if "p=" in t.replace(" ", "")] or list(texts)
    if not keys:
        where = f" (its CNAME {cname} has no TXT record)" if cname else ""
        return DkimKey(name=name, status="missing", cname=cname, problem=f"no key record at {name}{where}")
    status, kind, bits, problem = judge_key(name, keys[0])
    if status == "ok" and len(keys) > 1:
        status, problem = "invalid", f"{len(keys)} key records at {name}: verifiers use one at random"
    return DkimKey(name=name, status=status, record=keys[0], cname=cname, key_type=kind, bits=bits, problem=problem)


@dataclass(frozen=True, slots=True, kw_only=True)
class DkimSignature:
    """One ``DKIM-Signature`` of a message and what verifying it gave.

    ``result`` is ``pass``, ``fail`` (the signature or body hash does not match), ``permerror``
    (unusable signature or key) or ``temperror`` (DNS failed), RFC 8601 §2.7.1 names;
    ``reason`` says why; ``index`` counts signatures from the top (0).
    """

    index: int
    domain: str
    selector: str
    result: str
    reason: str = ""
    key: DkimKey | None = None


def dnsfunc_for(lookup: Any) -> Callable[..., bytes | None]:
    """A dkimpy ``dnsfunc`` answering TXT questions from ``lookup`` (CNAMEs followed)."""
    from ..spf.engine import run_sync

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        parts = text.rstrip(".").split("._domainkey.", 1)
        if len(parts) != 2:
            return None
        key = run_sync(fetch_key(parts[0], parts[1]), lookup)
        return key.record.encode() if key.record else None

    return dnsfunc


def _tags(raw_value: bytes) -> dict[bytes, bytes]:
    import dkim.util

    try:
        return dkim.util.parse_tag_value(re.sub(rb"\s+", b"", raw_value))
    except Exception:  # noqa: BLE001 - dkimpy raises InvalidTagValueList and others for junk
        return {}


def verify_message(raw: bytes, lookup: Any) -> tuple[DkimSignature, ...]:
    """Verify every DKIM signature of ``raw`` with dkimpy, keys from ``lookup`` (see module docstring)."""
    import dkim

    from ..spf.engine import run_sync

    try:
        d = dkim.DKIM(raw, minkey=MIN_KEY_BITS)
    except Exception as exc:  # noqa: BLE001 - a message dkimpy cannot split into headers and body
        return (
            DkimSignature(
                index=0, domain="", selector="", result="permerror", reason=f"dkimpy cannot read the message: {exc}"
            ),
        )
    sigs = [v for k, v in d.headers if k.lower() == b"dkim-signature"]
    out: list[DkimSignature] = []
    for i, value in enumerate(sigs):
        tags = _tags(value)
        domain = tags.get(b"d", b"").decode("ascii", "replace").lower()
        selector = tags.get(b"s", b"").decode("ascii", "replace")
        key = run_sync(fetch_key(selector, domain), lookup) if domain and selector else None
        base = dict(index=i, domain=domain, selector=selector, key=key)
        if key is None:
            out.append(DkimSignature(result="permerror", reason="the signature has no d= or s= tag", **base))
            continue
        if key.status == "temperror":
            out.append(DkimSignature(result="temperror", reason=key.problem, **base))
            continue
        if key.status != "ok":
            out.append(DkimSignature(result="permerror", reason=f"key {key.name}: {key.problem}", **base))
            continue

        def dnsfunc(name: bytes, timeout: float = 5, _key: DkimKey = key) -> bytes:
            return _key.record.encode()

        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
        except dkim.ValidationError as exc:
            out.append(DkimSignature(result="fail", reason=str(exc), **base))
            continue
        except dkim.DKIMException as exc:
            out.append(DkimSignature(result="permerror", reason=str(exc), **base))
            continue
        out.append(
            DkimSignature(
                result="pass" if ok else "fail",
                reason="" if ok else "signature did not verify (headers changed or wrong key)",
                **base,
            )
        )
    return tuple(out)
