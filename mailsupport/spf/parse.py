"""The SPF record parser (RFC 7208 §4.5, §4.6, §5, §6, §12 ABNF): text in, :class:`SpfRecord` out.

Pure: no DNS, no I/O; imports only the standard library, :mod:`.macros` and the error base. Every syntax
error is an :class:`SpfSyntaxError` carrying the offset of the offending term, and
:meth:`SpfSyntaxError.marked` draws a caret under it. The whole record is checked before
evaluation starts (§4.6: "syntax errors anywhere in the record" give permerror).

Grammar summary::

    record     = "v=spf1" *( 1*SP ( directive / modifier ) ) *SP
    directive  = [ "+" / "-" / "~" / "?" ] mechanism
    mechanism  = all / include / a / mx / ptr / ip4 / ip6 / exists
    modifier   = "redirect=" domain-spec / "exp=" domain-spec / name "=" macro-string
    domain-spec = macro-string domain-end
    domain-end = ( "." toplabel [ "." ] ) / macro-expand
    toplabel   = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import re
from dataclasses import dataclass, field

from ..errors import RecordSyntaxError
from .macros import Macro, MacroError, tokenize

__all__ = [
    "Qualifier",
    "Mechanism",
    "Modifier",
    "SpfRecord",
    "SpfSyntaxError",
    "parse_record",
    "is_spf_record",
    "DNS_MECHANISMS",
    "MECHANISM_NAMES",
]

MECHANISM_NAMES = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
#: Terms that cost one DNS lookup against the limit of 10 (§4.6.4); plus ``redirect``.
DNS_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})

_MODIFIER_RE = re.compile(r"([A-Za-z][A-Za-z0-9._-]*)=(.*)\Z", re.S)
_MECH_RE = re.compile(r"([+?~-]?)([A-Za-z][A-Za-z0-9]*)(.*)\Z", re.S)
_CIDR = r"(?:0|[1-9][0-9]{0,2})"
_DUAL_CIDR_RE = re.compile(rf"(?:/({_CIDR}))?(?://({_CIDR}))?\Z")
_TOPLABEL_RE = re.compile(r"(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])\Z")
_VERSION_RE = re.compile(r"v=spf1(?: |\Z)", re.I)


class Qualifier(str, enum.Enum):
    """A directive's qualifier and the result it gives on a match (§4.6.2)."""

    PASS = "+"
    FAIL = "-"
    SOFTFAIL = "~"
    NEUTRAL = "?"

    @property
    def result(self) -> str:
        """The check_host() result for a match: pass, fail, softfail or neutral."""
        return {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}[self.value]


class SpfSyntaxError(RecordSyntaxError):
    """A record breaks the RFC 7208 grammar (result: permerror); ``term`` is the term in which
    the problem was found (see :class:`~mailsupport.errors.RecordSyntaxError`)."""

    PART = "term"

    def __init__(self, reason: str, *, record: str, position: int, term: str = "") -> None:
        super().__init__(reason, record=record, position=position, part=term)

    @property
    def term(self) -> str:
        """The term in which the problem was found."""
        return self.part


@dataclass(frozen=True, slots=True, kw_only=True)
class Mechanism:
    """One directive: ``qualifier`` + ``name`` with its arguments.

    ``domain_spec`` is the raw macro-string target (None = the current domain);
    ``ip4_cidr``/``ip6_cidr`` the dual CIDR lengths of ``a``/``mx`` (None = /32, /128);
    ``network`` the address block of ``ip4``/``ip6``. ``text`` is the term as written and
    ``position`` its offset in the record.
    """

    qualifier: Qualifier
    name: str
    text: str
    position: int
    domain_spec: str | None = None
    macro: tuple[str | Macro, ...] = ()
    ip4_cidr: int | None = None
    ip6_cidr: int | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None

    @property
    def costs_lookup(self) -> bool:
        """True when this term counts against the 10-lookup limit (§4.6.4)."""
        return self.name in DNS_MECHANISMS


@dataclass(frozen=True, slots=True, kw_only=True)
class Modifier:
    """A ``name=value`` term: ``redirect``, ``exp`` or an unknown one (ignored, §6)."""

    name: str
    value: str
    text: str
    position: int
    macro: tuple[str | Macro, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SpfRecord:
    """A parsed ``v=spf1`` record. ``terms`` in order; ``redirect``/``exp`` pulled out."""

    text: str
    terms: tuple[Mechanism | Modifier, ...] = field(default_factory=tuple)

    @property
    def mechanisms(self) -> tuple[Mechanism, ...]:
        """The directives, in evaluation order."""
        return tuple(t for t in self.terms if isinstance(t, Mechanism))

    def modifier(self, name: str) -> Modifier | None:
        """The ``redirect``/``exp`` (or other) modifier of that name, if present."""
        for t in self.terms:
            if isinstance(t, Modifier) and t.name == name:
                return t
        return None

    @property
    def redirect(self) -> Modifier | None:
        """The ``redirect=`` modifier (§6.1)."""
        return self.modifier("redirect")

    @property
    def exp(self) -> Modifier | None:
        """The ``exp=`` modifier (§6.2)."""
        return self.modifier("exp")

    @property
    def all_index(self) -> int | None:
        """Index in :attr:`terms` of the first ``all`` mechanism, or None."""
        for i, t in enumerate(self.terms):
            if isinstance(t, Mechanism) and t.name == "all":
                return i
        return None


@functools.lru_cache(maxsize=2048)
def is_spf_record(text: str) -> bool:
    """§4.5: a TXT record is an SPF record when it starts ``v=spf1`` then a space or the end
    (case-insensitive). ``v=spf10`` is not."""
    return bool(_VERSION_RE.match(text))


def parse_record(text: str) -> SpfRecord:
    """Parse a whole record (which must start with ``v=spf1``) or raise SpfSyntaxError.

    Results are memoised (records are immutable; the same include records recur across
    every domain of a batch).
    """
    parsed = _parse_cached(text)
    if isinstance(parsed, SpfSyntaxError):
        # a fresh exception each time (re-raising one object would grow its traceback)
        raise SpfSyntaxError(parsed.reason, record=parsed.record, position=parsed.position, term=parsed.term)
    return parsed


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> SpfRecord | SpfSyntaxError:
    try:
        return _parse(text)
    except SpfSyntaxError as exc:
        exc.__traceback__ = None
        return exc


def _parse(text: str) -> SpfRecord:
    if not is_spf_record(text):
        raise SpfSyntaxError("an SPF record must start with 'v=spf1'", record=text, position=0)
    for i, ch in enumerate(text):
        if not ch.isascii():
            # §3.1 (and §4.5): records are 7-bit ASCII.
            raise SpfSyntaxError(f"non-ASCII character {ch!r}", record=text, position=i)
    terms: list[Mechanism | Modifier] = []
    seen_modifiers: set[str] = set()
    pos = 6
    n = len(text)
    while pos < n:
        if text[pos] == " ":
            pos += 1
            continue
        end = text.find(" ", pos)
        end = n if end < 0 else end
        term_text = text[pos:end]
        term = _parse_term(term_text, pos, text)
        if isinstance(term, Modifier) and term.name in ("redirect", "exp"):
            if term.name in seen_modifiers:
                # §6: redirect and exp MUST NOT appear more than once.
                raise SpfSyntaxError(f"'{term.name}=' appears twice", record=text, position=pos, term=term_text)
            seen_modifiers.add(term.name)
        terms.append(term)
        pos = end
    return SpfRecord(text=text, terms=tuple(terms))


def _fail(reason: str, record: str, pos: int, term: str) -> SpfSyntaxError:
    return SpfSyntaxError(reason, record=record, position=pos, term=term)


def _parse_term(term: str, pos: int, record: str) -> Mechanism | Modifier:
    for i, ch in enumerate(term):
        if not "\x21" <= ch <= "\x7e":
            # §4.6.1: terms are separated by spaces only; control characters are errors.
            raise _fail(f"character {ch!r} is not allowed (terms are separated by spaces)", record, pos + i, term)
    mod = _MODIFIER_RE.match(term)
    if mod:
        name, value = mod.group(1).lower(), mod.group(2)
        if name in ("redirect", "exp"):
            macro = _domain_spec(value, record, pos + len(name) + 1, term)
        else:
            macro = _macro(value, record, pos + len(name) + 1, term)
        return Modifier(name=name, value=value, text=term, position=pos, macro=macro)
    mech = _MECH_RE.match(term)
    if not mech or mech.group(2).lower() not in MECHANISM_NAMES:
        word = mech.group(2) if mech else term
        raise _fail(
            f"unknown mechanism {word!r} (mechanisms: {', '.join(MECHANISM_NAMES)}; modifiers are written name=value)",
            record,
            pos,
            term,
        )
    qualifier = Qualifier(mech.group(1) or "+")
    name = mech.group(2).lower()
    rest = mech.group(3)
    arg_pos = pos + len(mech.group(1)) + len(name)
    if name == "all":
        if rest:
            raise _fail("'all' takes no argument", record, arg_pos, term)
        return Mechanism(qualifier=qualifier, name=name, text=term, position=pos)
    if name in ("ip4", "ip6"):
        return Mechanism(
            qualifier=qualifier,
            name=name,
            text=term,
            position=pos,
            network=_ip_network(name, rest, record, arg_pos, term),
        )
    if name in ("include", "exists"):
        if not rest.startswith(":"):
            raise _fail(f"'{name}' needs ':domain'", record, arg_pos, term)
        domain = rest[1:]
        return Mechanism(
            qualifier=qualifier,
            name=name,
            text=term,
            position=pos,
            domain_spec=domain,
            macro=_domain_spec(domain, record, arg_pos + 1, term),
        )
    if name == "ptr":
        if not rest:
            return Mechanism(qualifier=qualifier, name=name, text=term, position=pos)
        if not rest.startswith(":"):
            raise _fail("'ptr' takes only ':domain' (no CIDR length)", record, arg_pos, term)
        domain = rest[1:]
        return Mechanism(
            qualifier=qualifier,
            name=name,
            text=term,
            position=pos,
            domain_spec=domain,
            macro=_domain_spec(domain, record, arg_pos + 1, term),
        )
    # a / mx: [ ":" domain-spec ] [ dual-cidr-length ]
    spec: str | None = None
    cidr_text = rest
    if rest.startswith(":"):
        m = _DUAL_CIDR_RE.search(rest[1:])
        spec = rest[1 : m.start() + 1] if m else rest[1:]
        cidr_text = rest[1 + len(spec) :]
    m = _DUAL_CIDR_RE.match(cidr_text)
    if not m:
        raise _fail(f"bad CIDR length {cidr_text!r} (write /N for IPv4, //N for IPv6)", record, arg_pos, term)
    ip4_cidr = int(m.group(1)) if m.group(1) else None
    ip6_cidr = int(m.group(2)) if m.group(2) else None
    if ip4_cidr is not None and ip4_cidr > 32:
        raise _fail(f"IPv4 CIDR length /{ip4_cidr} is over 32", record, arg_pos, term)
    if ip6_cidr is not None and ip6_cidr > 128:
        raise _fail(f"IPv6 CIDR length //{ip6_cidr} is over 128", record, arg_pos, term)
    macro = _domain_spec(spec, record, arg_pos + 1, term) if spec is not None else ()
    return Mechanism(
        qualifier=qualifier,
        name=name,
        text=term,
        position=pos,
        domain_spec=spec,
        macro=macro,
        ip4_cidr=ip4_cidr,
        ip6_cidr=ip6_cidr,
    )


def _ip_network(
    name: str, rest: str, record: str, pos: int, term: str
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not rest.startswith(":") or len(rest) == 1:
        raise _fail(f"'{name}' needs ':address[/length]'", record, pos, term)
    addr, slash, length = rest[1:].partition("/")
    max_len = 32 if name == "ip4" else 128
    if slash and not re.fullmatch(_CIDR, length):
        raise _fail(f"bad CIDR length {'/' + length!r}", record, pos, term)
    prefix = int(length) if slash else max_len
    if prefix > max_len:
        raise _fail(f"CIDR length /{prefix} is over {max_len}", record, pos, term)
    try:
        ip = ipaddress.IPv4Address(addr) if name == "ip4" else ipaddress.IPv6Address(addr)
    except ValueError:
        kind = "IPv4" if name == "ip4" else "IPv6"
        raise _fail(f"{addr!r} is not an {kind} address", record, pos + 1, term) from None
    # §5.6: host bits beyond the prefix are ignored (strict=False).
    return ipaddress.ip_network(f"{ip}/{prefix}", strict=False)


def _macro(value: str, record: str, pos: int, term: str) -> tuple[str | Macro, ...]:
    try:
        return tokenize(value)
    except MacroError as exc:
        raise _fail(str(exc), record, pos + exc.position, term) from None


def _domain_spec(spec: str, record: str, pos: int, term: str) -> tuple[str | Macro, ...]:
    if not spec:
        raise _fail("the domain is empty", record, pos, term)
    tokens = _macro(spec, record, pos, term)
    last = tokens[-1]
    if isinstance(last, Macro):
        return tokens  # domain-end = macro-expand
    # domain-end = "." toplabel [ "." ]: look at the literal tail only.
    tail = last[:-1] if last.endswith(".") else last
    dot = tail.rfind(".")
    if dot < 0 and len(tokens) == 1:
        raise _fail(f"{spec!r} is not a domain name (it needs a dot and a top-level label)", record, pos, term)
    toplabel = tail[dot + 1 :]
    if dot < 0 or not _TOPLABEL_RE.match(toplabel):
        raise _fail(f"{spec!r} does not end in a valid top-level label ({toplabel!r})", record, pos, term)
    return tokens
