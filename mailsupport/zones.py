"""Zone data: the DNS records the sandbox server and the offline lookup answer from.

:class:`ZoneData` maps absolute owner names to :class:`Node` values (records by type, plus
*fault marks*), and answers one question, :meth:`ZoneData.resolve`: what would an
authoritative server say for ``(name, type)`` — records (following in-zone CNAMEs),
NXDOMAIN, NODATA, a timeout or SERVFAIL.

Sources:

* standard zone files (RFC 1035 master format, ``$ORIGIN``/``$TTL`` honoured, ``$TTL`` 300 when
  absent; no SOA needed),
  via :func:`load_zone_file` / :func:`zone_from_text` (dnspython ``dns.zone``);
* the openspf conformance suite's ``zonedata`` mapping, via :meth:`ZoneData.from_mapping`
  (``SPF`` entries duplicated to TXT, ``TXT: NONE``, positional ``TIMEOUT``).

**Fault marks in zone files.** A TXT record at ``_fault.<name>`` makes queries for ``<name>``
fail instead of being answered. Its text is ``timeout`` or ``servfail``, optionally followed
by record types::

    _fault.slow.example.    TXT "timeout"          ; every type without records times out
    _fault.broken.example.  TXT "servfail TXT MX"  ; TXT and MX queries get SERVFAIL

Without types, the fault applies to every type that has no records at ``<name>`` (the
conformance suite's ``TIMEOUT`` semantics); with types, to exactly those types. ``_fault``
records are control data and are never served themselves. A *timeout* means the server
never answers; *servfail* means it answers with RCODE 2.

Wildcard owners (``*.example``) are not expanded. This module does no I/O beyond reading
the zone files it is given; it must not import sockets or the sandbox.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.SPF
import dns.rdtypes.ANY.TXT
import dns.rrset
import dns.zone

from .errors import ConfigError

__all__ = [
    "Fault",
    "Node",
    "Resolution",
    "ZoneData",
    "load_zone_file",
    "zone_from_text",
    "FAULT_LABEL",
]

FAULT_LABEL = "_fault"
_IN = dns.rdataclass.IN
_MAX_CNAME_CHAIN = 8
DEFAULT_TTL = 300


class Fault(enum.Enum):
    """A deliberate DNS failure: the server stays silent, or answers SERVFAIL."""

    TIMEOUT = "timeout"
    SERVFAIL = "servfail"


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Records at one owner name. ``faults`` maps a type (or ``None`` = "any type without
    records") to the fault that answers it."""

    records: Mapping[int, tuple[dns.rdata.Rdata, ...]] = field(default_factory=dict)
    faults: Mapping[int | None, Fault] = field(default_factory=dict)
    ttl: int = DEFAULT_TTL


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """What an authoritative server says for one question.

    ``status`` is ``"answer"``, ``"nxdomain"``, ``"nodata"``, ``"timeout"`` or ``"servfail"``;
    ``rrsets`` holds the CNAME chain (if any) and the final records, in answer-section order.
    """

    status: str
    rrsets: tuple[dns.rrset.RRset, ...] = ()


class ZoneData:
    """Owner name → :class:`Node`; immutable once built (swap whole objects to change data)."""

    __slots__ = ("_nodes", "_parents")

    def __init__(
        self, nodes: Mapping[dns.name.Name, Node] | None = None, *, parents: set[dns.name.Name] | None = None
    ) -> None:
        self._nodes: dict[dns.name.Name, Node] = dict(nodes or {})
        # empty non-terminals (ancestors of owner names) exist: NODATA, not NXDOMAIN (RFC 8020);
        # ``parents``: already worked out for these names (by :meth:`union`)
        self._parents: set[dns.name.Name] = set() if parents is None else parents
        if parents is not None:
            return
        for name in self._nodes:
            while len(name) > 3:  # up to the second-level name (labels include the root)
                name = name.parent()
                if name in self._parents:
                    break
                self._parents.add(name)

    def __repr__(self) -> str:
        return f"ZoneData({len(self._nodes)} names)"

    def __len__(self) -> int:
        return len(self._nodes)

    def names(self) -> tuple[str, ...]:
        """Every owner name, as text without the trailing dot."""
        return tuple(n.to_text(omit_final_dot=True) for n in self._nodes)

    def merged(self, other: ZoneData) -> ZoneData:
        """A new ZoneData with ``other``'s nodes added (``other`` wins per name and type)."""
        return ZoneData.union((self, other))

    @classmethod
    def union(cls, parts: Iterable[ZoneData]) -> ZoneData:
        """One ZoneData of all ``parts`` (a later part wins per name and type), in one pass: the
        empty non-terminals are the union of the parts' own, as they follow from the names alone."""
        nodes: dict[dns.name.Name, Node] = {}
        parents: set[dns.name.Name] = set()
        for part in parts:
            parents |= part._parents
            for name, node in part._nodes.items():
                old = nodes.get(name)
                if old is None:
                    nodes[name] = node
                else:
                    nodes[name] = Node(
                        records={**old.records, **node.records}, faults={**old.faults, **node.faults}, ttl=node.ttl
                    )
        return cls(nodes, parents=parents)

    # -- answering -------------------------------------------------------------------
    def resolve(self, qname: dns.name.Name | str, rdtype: int | str) -> Resolution:
        """Answer ``(qname, rdtype)`` like an authoritative server for all the data here."""
        if isinstance(qname, str):
            qname = dns.name.from_text(qname)
        if isinstance(rdtype, str):
            rdtype = dns.rdatatype.from_text(rdtype)
        chain: list[dns.rrset.RRset] = []
        seen: set[dns.name.Name] = set()
        name = qname
        while True:
            node = self._nodes.get(name)
            if node is None:
                status = "nodata" if name in self._parents else "nxdomain"
                return Resolution(status=status, rrsets=tuple(chain))
            fault = node.faults.get(rdtype)
            if fault is None and not node.records.get(rdtype):
                cname = node.records.get(dns.rdatatype.CNAME)
                if cname and rdtype != dns.rdatatype.CNAME:
                    # RFC 1034 §3.6.2: follow the alias; a loop is a server failure.
                    if name in seen or len(chain) >= _MAX_CNAME_CHAIN:
                        return Resolution(status="servfail")
                    seen.add(name)
                    chain.append(_rrset(name, node.ttl, cname))
                    name = cname[0].target
                    continue
                fault = node.faults.get(None)
            if fault is not None:
                return Resolution(status=fault.value)
            rdatas = node.records.get(rdtype)
            if not rdatas:
                return Resolution(status="nodata", rrsets=tuple(chain))
            chain.append(_rrset(name, node.ttl, rdatas))
            return Resolution(status="answer", rrsets=tuple(chain))

    def soa_for(self, name: dns.name.Name) -> dns.rrset.RRset | None:
        """The SOA of the closest enclosing apex held here (for negative answers), if any."""
        candidate = name
        while True:
            node = self._nodes.get(candidate)
            if node is not None and node.records.get(dns.rdatatype.SOA):
                return _rrset(candidate, node.ttl, node.records[dns.rdatatype.SOA])
            if candidate == dns.name.root or len(candidate) <= 1:
                return None
            candidate = candidate.parent()

    # -- building ----------------------------------------------------------------------
    @classmethod
    def from_zones(cls, zones: Iterable[dns.zone.Zone]) -> ZoneData:
        """Build from parsed dnspython zones, turning ``_fault.<name>`` TXT records into marks."""
        builder: dict[dns.name.Name, dict[str, Any]] = {}
        for zone in zones:
            for rel, znode in zone.nodes.items():
                name = rel.derelativize(zone.origin) if not rel.is_absolute() else rel
                if name.labels and name.labels[0].lower() == FAULT_LABEL.encode():
                    target = name.parent()
                    entry = builder.setdefault(target, {"records": {}, "faults": {}, "ttl": DEFAULT_TTL})
                    for rds in znode.rdatasets:
                        if rds.rdtype == dns.rdatatype.TXT:
                            for rdata in rds:
                                _add_fault(entry["faults"], rdata, str(name))
                    continue
                entry = builder.setdefault(name, {"records": {}, "faults": {}, "ttl": DEFAULT_TTL})
                for rds in znode.rdatasets:
                    rdatas = tuple(rds)
                    entry["records"][rds.rdtype] = entry["records"].get(rds.rdtype, ()) + rdatas
                    entry["ttl"] = rds.ttl
        return cls({n: Node(records=e["records"], faults=e["faults"], ttl=e["ttl"]) for n, e in builder.items()})

    @classmethod
    def from_mapping(cls, zonedata: Mapping[str, Iterable[Any]]) -> ZoneData:
        """Build from the openspf suite's ``zonedata`` mapping (see the suite's README).

        ``SPF`` entries are also served as TXT unless the name has explicit TXT entries;
        ``TXT: NONE`` means no TXT at all; a bare ``TIMEOUT`` makes every type that has no
        record listed before it time out.
        """
        nodes: dict[dns.name.Name, Node] = {}
        for owner, entries in zonedata.items():
            name = dns.name.from_text(str(owner))
            records: dict[int, list[dns.rdata.Rdata]] = {}
            faults: dict[int | None, Fault] = {}
            explicit_txt = False
            for entry in entries or ():
                if entry == "TIMEOUT":
                    faults[None] = Fault.TIMEOUT
                    continue
                if not isinstance(entry, Mapping) or len(entry) != 1:
                    raise ConfigError(f"unsupported zonedata entry {entry!r}", path=str(owner))
                ((kind, value),) = entry.items()
                kind = str(kind).upper()
                if kind == "TXT":
                    explicit_txt = True
                    if value == "NONE":
                        continue
                rdtype, rdata = _mapping_rdata(kind, value, str(owner))
                records.setdefault(rdtype, []).append(rdata)
            if not explicit_txt and dns.rdatatype.SPF in records:
                # "auto-magic duplication of SPF to TXT" (suite header comment).
                records[dns.rdatatype.TXT] = [
                    dns.rdtypes.ANY.TXT.TXT(_IN, dns.rdatatype.TXT, r.strings) for r in records[dns.rdatatype.SPF]
                ]
            nodes[name] = Node(records={k: tuple(v) for k, v in records.items()}, faults=faults)
        return cls(nodes)


def _add_fault(faults: dict[int | None, Fault], rdata: Any, where: str) -> None:
    words = b" ".join(rdata.strings).decode("ascii", "replace").split()
    if not words:
        raise ConfigError("empty fault mark: expected 'timeout' or 'servfail' [TYPES]", path=where)
    try:
        fault = Fault(words[0].lower())
    except ValueError:
        raise ConfigError(f"unknown fault {words[0]!r}: expected 'timeout' or 'servfail'", path=where) from None
    if len(words) == 1:
        faults[None] = fault
    for word in words[1:]:
        try:
            faults[dns.rdatatype.from_text(word)] = fault
        except dns.exception.DNSException:
            raise ConfigError(f"unknown record type {word!r} in fault mark", path=where) from None


def _txt_strings(value: Any) -> list[bytes]:
    parts = value if isinstance(value, list) else [value]
    out: list[bytes] = []
    for part in parts:
        raw = str(part).encode("utf-8")
        # one character-string holds at most 255 octets (RFC 1035 §3.3)
        out.extend(raw[i : i + 255] for i in range(0, len(raw), 255))
        if not raw:
            out.append(b"")
    # "null text (no strings) is illegal" (suite, 3.3): serve one empty string instead.
    return out or [b""]


def _mapping_rdata(kind: str, value: Any, where: str) -> tuple[int, dns.rdata.Rdata]:
    try:
        if kind in ("TXT", "SPF"):
            rdtype = dns.rdatatype.from_text(kind)
            cls = dns.rdtypes.ANY.TXT.TXT if kind == "TXT" else dns.rdtypes.ANY.SPF.SPF
            return rdtype, cls(_IN, rdtype, _txt_strings(value))
        if kind == "MX":
            pref, host = value
            exchange = dns.name.from_text(str(host)) if host else dns.name.root
            return dns.rdatatype.MX, dns.rdtypes.ANY.MX.MX(_IN, dns.rdatatype.MX, int(pref), exchange)
        if kind in ("PTR", "CNAME"):
            rdtype = dns.rdatatype.from_text(kind)
            cls = dns.rdtypes.ANY.PTR.PTR if kind == "PTR" else dns.rdtypes.ANY.CNAME.CNAME
            return rdtype, cls(_IN, rdtype, dns.name.from_text(str(value)))
        rdtype = dns.rdatatype.from_text(kind)
        return rdtype, dns.rdata.from_text(_IN, rdtype, str(value))
    except (dns.exception.DNSException, ValueError, TypeError) as exc:
        raise ConfigError(f"bad {kind} value {value!r}: {exc}", path=where) from exc


def _rrset(name: dns.name.Name, ttl: int, rdatas: Iterable[dns.rdata.Rdata]) -> dns.rrset.RRset:
    rdatas = tuple(rdatas)
    rrset = dns.rrset.RRset(name, _IN, rdatas[0].rdtype)
    rrset.update_ttl(ttl)
    for rdata in rdatas:
        rrset.add(rdata)
    return rrset


def zone_from_text(text: str, *, origin: str | None = None, source: str = "<zone>") -> ZoneData:
    """Parse master-file text (``$ORIGIN`` in the text, or ``origin=``) into :class:`ZoneData`."""
    shift = 0
    if not re.search(r"^\$TTL\b", text, re.M):
        text, shift = f"$TTL {DEFAULT_TTL}\n" + text, 1  # a default TTL when the file has none
    try:
        zone = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False, filename=source)
    except dns.exception.DNSException as exc:
        message = re.sub(rf"{re.escape(source)}:(\d+):", lambda m: f"line {int(m.group(1)) - shift}:", str(exc))
        raise ConfigError(
            f"cannot parse zone file: {message}. Check the record syntax "
            "(RFC 1035 master format) and that $ORIGIN is set.",
            source=source,
        ) from exc
    return ZoneData.from_zones([zone])


def load_zone_file(path: str | Path, *, origin: str | None = None) -> ZoneData:
    """Read one zone file (see :func:`zone_from_text`); errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read zone file: {exc.strerror}", source=str(path)) from exc
    return zone_from_text(text, origin=origin, source=str(path))


def load_zone_files(paths: Iterable[str | Path], *, cache: ZoneFileCache | None = None) -> ZoneData:
    """Read several zone files into one :class:`ZoneData` (later files win per name/type);
    with ``cache``, each file is parsed once (see :class:`ZoneFileCache`)."""
    return ZoneData.union(cache.load(path) if cache is not None else load_zone_file(path) for path in paths)


class ZoneFileCache:
    """Parsed zone files, kept by path, modification time and size (the most recently used
    :attr:`max_files`), for a run that loads the same files for many tenants.

    Tenant files commonly list the shared provider zones and their own (the bundled sample
    tenants: seven shared files and one of their own), each tenant a different set: parsing
    every file of every set again costs far more than the audit itself. :class:`ZoneData` is
    immutable, so one parsed file serves every set it is in. A file changed on disk (another
    modification time or size) is read again.
    """

    def __init__(self, max_files: int = 64) -> None:
        self.max_files = max_files
        self._files: dict[tuple[str, int, int], ZoneData] = {}
        self.parsed = 0

    def load(self, path: str | Path) -> ZoneData:
        """The zone file at ``path`` (see :func:`load_zone_file`), parsed once while unchanged."""
        path = Path(path)
        try:
            st = path.stat()
        except OSError as exc:
            raise ConfigError(f"cannot read zone file: {exc.strerror}", source=str(path)) from exc
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        data = self._files.pop(key, None)
        if data is None:
            data = load_zone_file(path)
            self.parsed += 1
            if len(self._files) >= self.max_files:
                del self._files[next(iter(self._files))]  # the least recently used
        self._files[key] = data  # last: the most recently used
        return data


__all__ += ["load_zone_files", "ZoneFileCache"]
