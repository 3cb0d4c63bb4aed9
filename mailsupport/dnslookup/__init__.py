"""The one DNS lookup interface of the kit: :class:`DnsLookup` and its dnspython backends.

Every DNS question the kit asks (SPF evaluation, MX checks, the connection doctor's DNS
rung) goes through a :class:`DnsLookup`: ``query(name, rdtype)`` (sync) and
``await aquery(name, rdtype)`` (async), both returning a typed :class:`DnsAnswer` that
tells an existing answer from **NXDOMAIN** and **NODATA** (together the RFC 7208 §4.6.4
"void" answers), and raising :class:`~mailsupport.errors.DnsTempError` for a timeout or
SERVFAIL (and :class:`~mailsupport.errors.DnsError` for a name that cannot be queried).

Backends (all built on dnspython):

* :class:`ResolverLookup` — the system's resolver (``ResolverLookup()``) or one given
  nameserver address (``ResolverLookup.for_nameserver("127.0.0.1:5353")``, e.g. the
  sandbox DNS server);
* :class:`ZoneLookup` — answers offline from :class:`~mailsupport.zones.ZoneData`
  (zone files, fault marks included), no sockets;
* :class:`CachedLookup` — wraps any lookup with a per-run answer cache shared by every
  caller (sync or async; concurrent identical async questions are asked once).

:func:`make_lookup` builds the usual combination from CLI-style options. Questions to given
nameservers are built and (when plain) read by :mod:`.wire` without dnspython's message
machinery; dnspython reads every other answer. The answer types and shared conversions live in
:mod:`.answer`, the resolver backend in :mod:`.resolver`; everything public is re-exported here.
Layer 3 (client): may import errors, model and zones; must not import the SPF core, sandbox or
presentation.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DnsError, DnsTempError
from ..zones import ZoneData, ZoneFileCache, load_zone_files
from . import wire  # noqa: F401  (the submodule, for ``from mailsupport.dnslookup import wire``)
from .answer import (
    QUERY_TYPES,
    AnswerStatus,
    DnsAnswer,
    DnsLookup,
    MxRecord,
    answer_from_rrsets,
    dns_name,
    normalize_name,
    parse_nameserver,
)
from .resolver import ResolverLookup

__all__ = [
    "AnswerStatus",
    "MxRecord",
    "DnsAnswer",
    "DnsLookup",
    "ResolverLookup",
    "ZoneLookup",
    "CachedLookup",
    "make_lookup",
    "parse_nameserver",
    "QUERY_TYPES",
]


class ZoneLookup:
    """Answer offline from :class:`ZoneData` (zone files), including fault marks."""

    def __init__(self, zone_data: ZoneData, *, source: str = "zone data") -> None:
        self.zone_data = zone_data
        self.source = source

    @classmethod
    def from_files(cls, paths: Iterable[str | Path], *, cache: ZoneFileCache | None = None) -> ZoneLookup:
        """Load zone files (see :func:`mailsupport.zones.load_zone_file`); with ``cache`` (a
        :class:`~mailsupport.zones.ZoneFileCache`) a file already parsed is not parsed again."""
        paths = [Path(p) for p in paths]
        return cls(load_zone_files(paths, cache=cache), source="zone files " + ", ".join(p.name for p in paths))

    def __repr__(self) -> str:
        return f"ZoneLookup({self.source})"

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Answer from the zone data."""
        res = self.zone_data.resolve(dns_name(name), rdtype)
        if res.status in ("timeout", "servfail"):
            what = "timed out" if res.status == "timeout" else "server failure (SERVFAIL)"
            raise DnsTempError(f"{name} {rdtype}: {what} (fault mark in the zone data)", server=self.source)
        status = AnswerStatus.NXDOMAIN if res.status == "nxdomain" else AnswerStatus.NOERROR
        return answer_from_rrsets(name, rdtype, res.rrsets, status)

    async def aquery(self, name: str, rdtype: str) -> DnsAnswer:
        """Same as :meth:`query` (no I/O to wait for)."""
        return self.query(name, rdtype)


class CachedLookup:
    """A per-run answer cache around another lookup (answers and temporary failures).

    Share one instance across everything in a run (many domains, sync and async callers)
    so each question is asked once; concurrent async callers of one question await the
    same in-flight query. ``hits``/``misses`` count cache use. ``max_entries`` bounds the
    cache (least recently used answers go first) so memory stays flat over long batches;
    None keeps every answer.
    """

    def __init__(self, inner: DnsLookup, *, max_entries: int | None = None) -> None:
        if max_entries is not None and max_entries < 1:
            raise ConfigError(f"max_entries must be at least 1 (got {max_entries}), or None for no bound")
        self.inner = inner
        self.source = inner.source
        self.max_entries = max_entries
        self._answers: dict[tuple[str, str], DnsAnswer | DnsError] = (
            {} if max_entries is None else collections.OrderedDict()
        )
        self._pending: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"CachedLookup({self.inner!r}, {len(self._answers)} answers)"

    async def aclose(self) -> None:
        """Close the wrapped lookup's sockets for this event loop (the answers stay cached)."""
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()

    def _cached(self, key: tuple[str, str]) -> DnsAnswer | None:
        hit = self._answers.get(key)
        if hit is None:
            return None
        self.hits += 1
        if self.max_entries is not None:
            self._answers.move_to_end(key)  # type: ignore[attr-defined]
        if isinstance(hit, DnsError):
            raise hit
        return hit

    def _store(self, key: tuple[str, str], value: DnsAnswer | DnsError) -> None:
        self._answers[key] = value
        if self.max_entries is not None and len(self._answers) > self.max_entries:
            self._answers.popitem(last=False)  # type: ignore[call-arg]

    def peek(self, name: str, rdtype: str) -> DnsAnswer | None:
        """The cached answer, or None when the question has not been answered yet (a cached
        temporary failure is raised again, as :meth:`query` would)."""
        return self._cached((normalize_name(name), rdtype))

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Answer from the cache, or ask the wrapped lookup once."""
        key = (normalize_name(name), rdtype)
        hit = self._cached(key)
        if hit is not None:
            return hit
        self.misses += 1
        try:
            answer = self.inner.query(name, rdtype)
        except DnsError as exc:
            self._store(key, exc)
            raise
        self._store(key, answer)
        return answer

    async def aquery(self, name: str, rdtype: str) -> DnsAnswer:
        """Answer from the cache, or ask once even when many tasks ask at the same time."""
        key = (normalize_name(name), rdtype)
        hit = self._cached(key)
        if hit is not None:
            return hit
        pending = self._pending.get(key)
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            answer = await self.inner.aquery(name, rdtype)
        except DnsError as exc:
            self._store(key, exc)
            future.set_exception(exc)
            future.exception()  # mark retrieved
            raise
        finally:
            self._pending.pop(key, None)
        self._store(key, answer)
        future.set_result(answer)
        return answer


def make_lookup(
    *,
    zones: Iterable[str | Path] = (),
    nameserver: str | None = None,
    timeout: float = 5.0,
    cache: bool = True,
    max_entries: int | None = None,
) -> DnsLookup:
    """Build the lookup a command asks for: zone files (offline) if given, else the
    nameserver ``host[:port]`` if given, else the system resolver; cached per run
    (``max_entries`` bounds the cache, see :class:`CachedLookup`)."""
    zones = list(zones)
    if zones and nameserver:
        raise ConfigError("give zone files or a nameserver, not both")
    inner: DnsLookup
    if zones:
        inner = ZoneLookup.from_files(zones)
    elif nameserver:
        inner = ResolverLookup.for_nameserver(nameserver, timeout=timeout)
    else:
        inner = ResolverLookup(timeout=timeout)
    return CachedLookup(inner, max_entries=max_entries) if cache else inner
