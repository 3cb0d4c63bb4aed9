"""SPF findings for a customer domain, against the vendor's rules (help page, "Spam Filter
Settings"): publish ``include:_spf.actionstep.com`` (the *vendor include*, configurable per
tenant) before the ``all``, keep ``~all`` at the end, amend an existing record rather than
add a second one.

Check ids (stable; also in :data:`SPF_CHECKS`):

=============================  =================================================================
check id                       meaning
=============================  =================================================================
``spf.no-record``              the domain publishes no ``v=spf1`` TXT record
``spf.multiple-records``       more than one ``v=spf1`` record: permerror for every receiver (§4.5)
``spf.syntax-error``           the record breaks the RFC 7208 grammar: permerror (§4.6)
``spf.vendor-include-missing`` the vendor include is not in the record at all
``spf.vendor-include-after-all`` the vendor include comes after ``all`` and is never evaluated (§5.1)
``spf.terms-after-all``        other mechanisms after ``all``: ignored by receivers (§5.1)
``spf.too-many-lookups``       the tree needs more than 10 DNS-querying terms: permerror (§4.6.4)
``spf.too-many-void-lookups``  more than 2 lookups find nothing (NXDOMAIN/NODATA): permerror (§4.6.4)
``spf.ptr-deprecated``         the record uses ``ptr``, which SHOULD NOT be used (§5.5)
``spf.permissive-all``         ``+all``/``?all``: anyone may send, or no policy at all
``spf.dns-temporary-failure``  a DNS lookup timed out or failed: receivers get temperror
``spf.vendor-ip-not-permitted`` one of the vendor's sending IPs (from the vendor include's own
                               record) does not get ``pass``
=============================  =================================================================

Modules: :mod:`.findings` (pure: :class:`SpfFacts` → findings, :data:`SPF_CHECKS`),
:mod:`.check` (the use case: :func:`check_domain` → :class:`SpfCheck`, sync, async and many
domains at once), :mod:`.render` (text, HTML and JSON of the results). Layer 4.
"""

from __future__ import annotations

from .check import SpfCheck, check_domain, check_domain_async, check_domains, check_domains_async, vendor_ips
from .findings import SPF_CHECKS, SpfFacts, diagnose, include_costs

__all__ = [
    "SPF_CHECKS",
    "SpfFacts",
    "diagnose",
    "include_costs",
    "SpfCheck",
    "check_domain",
    "check_domain_async",
    "check_domains",
    "check_domains_async",
    "vendor_ips",
]
