"""Where the audit's DNS answers come from: one cached lookup per run (``mailsupport.dnslookup``).

:class:`DnsSource` picks, in order: a nameserver for everything (the sandbox's DNS server,
or a local authoritative server in the benchmark); zone files given for the whole run;
each tenant's own ``zones`` (a handful of zone sets' lookups kept, least recently used
dropped first, and every zone file parsed once a run however many sets it is in: tenants
share the provider zones but each has its own); else the system resolver. Every tenant of a run
that asks the same question gets the cached answer (``CachedLookup``), so shared include
chains (``_spf.google.com``, the vendor include) are resolved once per run.

Layer 4; the lookups themselves are layer-3 clients owned by ``mailsupport.dnslookup``.
Must not import presentation code.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..tenant import Tenant

__all__ = ["DnsSource", "CACHE_ENTRIES"]

#: Upper bound on cached answers per lookup. The working set is small (the tenants in flight
#: plus the shared include chains, which stay hot under LRU), so memory stays flat in the
#: number of tenants; ~10,000 answers are a few MB.
CACHE_ENTRIES = 2_000
_ZONE_SETS = 8


def _cached(inner: Any, limit: int = CACHE_ENTRIES) -> Any:
    from ..dnslookup import CachedLookup

    return CachedLookup(inner, max_entries=limit)


class DnsSource:
    """Hands each tenant its DNS lookup; one shared, cached lookup per run where possible."""

    def __init__(
        self,
        *,
        nameserver: tuple[str, int] | None = None,
        zones: tuple[str, ...] = (),
        timeout: float = 5.0,
        cache_entries: int = CACHE_ENTRIES,
    ) -> None:
        self._cache_entries = cache_entries
        self._nameserver = nameserver
        self._zones = tuple(zones)
        self._timeout = timeout
        self._shared: Any = None
        self._per_zones: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self._zone_files: Any = None  # the run's ZoneFileCache, made with the first zone set

    def _shared_lookup(self) -> Any:
        if self._shared is None:
            from ..dnslookup import ResolverLookup, ZoneLookup

            if self._nameserver is not None:
                inner = ResolverLookup.for_nameserver(self._nameserver, timeout=self._timeout)
            elif self._zones:
                inner = ZoneLookup.from_files(self._zones)
            else:
                inner = ResolverLookup(timeout=self._timeout)
            self._shared = _cached(inner, self._cache_entries)
        return self._shared

    def lookup_for(self, tenant: Tenant) -> Any:
        """The lookup for this tenant (raises ImportError when dnslookup is not installed)."""
        if self._nameserver is not None or self._zones or not tenant.zones:
            return self._shared_lookup()
        key = tuple(sorted(tenant.zones))
        lookup = self._per_zones.get(key)
        if lookup is None:
            from ..dnslookup import ZoneLookup
            from ..zones import ZoneFileCache

            if self._zone_files is None:
                self._zone_files = ZoneFileCache()
            lookup = _cached(ZoneLookup.from_files(key, cache=self._zone_files), self._cache_entries)
            self._per_zones[key] = lookup
            if len(self._per_zones) > _ZONE_SETS:
                self._per_zones.popitem(last=False)
        else:
            self._per_zones.move_to_end(key)
        return lookup

    @property
    def stats(self) -> dict[str, int]:
        """Cache hits, misses and current size of the shared lookup (0 when none was made), and
        how many zone files the tenants' own zone sets had parsed."""
        s = self._shared
        return {
            "hits": getattr(s, "hits", 0),
            "misses": getattr(s, "misses", 0),
            "entries": len(getattr(s, "_answers", ())),
            "zone_files_parsed": getattr(self._zone_files, "parsed", 0),
        }

    async def aclose(self) -> None:
        """Release resources (the dnspython lookups hold none between queries)."""
        self._per_zones.clear()
        self._zone_files = None
