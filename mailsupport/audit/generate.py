"""A deterministic generator of varied tenants and the zone files that answer for them.

:func:`generate_fleet` writes ``N`` tenant files and a handful of zone files to a folder, the
same bytes for the same ``(n, seed)``. It exists for the audit's tests and benchmark
(``benchmarks/bench_audit.py``), so the fleet is realistic where the checks look:

- SPF records with real-world include chains (Google's three netblock includes, Office 365,
  Mailgun, SendGrid, Mailchimp, Salesforce) and a share of broken ones: the vendor include
  missing, the include after ``all`` (RFC 7208 §5.1: never evaluated), too many DNS-querying
  terms (§4.6.4: more than 10), two ``v=spf1`` records (§4.5, permerror), ``ptr`` (§5.5,
  deprecated), ``+all``, more than two void lookups (§4.6.4) and no record at all;
- MX to Office 365 (``*.mail.protection.outlook.com``, needed for an Office 365 catch-all,
  ``docs/provider-facts.md`` §7) or to the tenant's own host, sometimes wrong;
- a provider mix, with a share of configs the pre-flight rejects (download-then-delete not
  confirmed, failed-mail address on the catch-all domain, an alias that is the mailbox);
- DMARC and DKIM (drawn from a second random stream, so the SPF/MX/config fleet is unchanged
  by them): most tenants send through the vendor relay (``[sending] path = "vendor"``), the
  rest through their own server (Office 365's ``selector1``/``selector2``, Google's
  ``google``); DMARC records from none to ``p=reject`` with a share of broken ones, the
  relay's selector CNAME to the vendor key present or not, short and broken keys. The keys
  are sandbox stand-ins generated once (public halves only).

Tenant domains are ``<org>.c<chunk>.fleet.example``; each chunk of tenants shares one zone
(``c<chunk>.fleet.example``) so an authoritative server loads few files. Provider zones carry
the include targets under their real names, answered only by the local server.
Passwords are ``canary-4b1d-gen-<i>`` so a leak into any output is caught.

Layer 4 helper: writes files, imports only the standard library and the config module's
constants; must not import clients or presentation code.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from ..tenant import DEFAULT_VENDOR_INCLUDE

__all__ = ["Fleet", "generate_fleet", "PROVIDER_ZONES", "VARIANTS"]


def _chunks(text: str, size: int = 200) -> list[str]:
    """A TXT value cut into character-strings of at most ``size`` octets (RFC 1035 §3.3.14)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


_SOA = "@ 3600 IN SOA ns1.{origin}. hostmaster.{origin}. 1 3600 900 604800 300\n@ 3600 IN NS ns1.{origin}.\nns1 3600 IN A 127.0.0.1\n"

#: DMARC record shapes and DKIM set-ups, and their shares (out of 100).
DMARC_VARIANTS = (("none", 30), ("p-none", 30), ("quarantine", 20), ("reject", 12), ("syntax", 5), ("multiple", 3))
DKIM_VARIANTS = (("cname", 55), ("missing", 33), ("short", 6), ("invalid", 6))
#: Stand-in public keys (base64 DER): the vendor's 2048-bit key, a tenant's own 2048-bit key, a 512-bit one.
VENDOR_DKIM_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu7ev2U0If+ANx0yLPhN50m0FCCLwmjT/dKP5XjxYxRSvRa2vBGKk8rbX7ZL09kLFhOwp2gROJWLyCeFJIzk6N892hmmuL3BKW9wDVfjQSSPqY8gzIGbGbJDinnlnQgCOKAvjMh4vjirf6uUJnTZJUwJrsl2Lf+DfBqc5TY2dMfOxuEA2G+DFSIjWzLLESkjaYO9hM17T3fPrzDUE+ZvjiWmEWLmP1H9/55Q7dObUdQnNaG2oiTpqGfJsx+kOenLmLvajqRlpdytEeRW7AO8KbufiG5pbqD2JnGtWnHxFoKOjdKsjBm5589mtamLUz9v1FLgzKGmXbtE/OCYlxyg4MQIDAQAB"
OWN_DKIM_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtBvOGpHvxO2nvTevDovpq47cCLD28yLoJk3eLa3+14nGT74owJYDLB9n+PEP8/WtsWEJRgPo1qOGPtz2tq2e1YOWppzFFMGIqArn99LI5YaL2iWGxb/CaSBJU2B6RhrMDCKBZHEn+MKYusDfpQQM8WgRFWP+WV+K73kNIgnwJho17LWwc3G/ftfLDGMRkQ75yvJjGM6vM7sYa2ZDJCQXQRuvlnfcL0RpV064EobyVSUrY8d+7yhNOKwAJA8jXopy0nFMsFnDRzQ0ppsXmFSE4Em1hgmI/6oDqtwMnQ/hGly7hkIwK+uVu0XXpNu8BSnYaS396QVsX89FyZcEtqw0xQIDAQAB"
SHORT_DKIM_KEY = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMYU79EWMx+RzdK4NBCQicAtVmmtjeK4xnyXbCHj40/k2VZNG3ig240ZmcQEK0FZA2gTiu63KFXywj9jVRvvupECAwEAAQ=="
#: Include targets under their real names: origin -> records (relative owner, type, data).
#: Shapes follow the published records (Google nests three netblock includes; Office 365 one).
PROVIDER_ZONES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "actionstep.com": (
        ("_spf", "TXT", '"v=spf1 ip4:203.0.113.0/26 ip4:198.51.100.16/28 ~all"'),
        ("dkim", "TXT", " ".join(f'"{c}"' for c in _chunks(f"v=DKIM1; k=rsa; p={VENDOR_DKIM_KEY}"))),
    ),
    "google.com": (
        (
            "_spf",
            "TXT",
            '"v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all"',
        ),
        ("_netblocks", "TXT", '"v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ~all"'),
        ("_netblocks2", "TXT", '"v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ~all"'),
        ("_netblocks3", "TXT", '"v=spf1 ip4:172.217.0.0/19 ip4:108.177.96.0/19 ~all"'),
    ),
    "outlook.com": (
        (
            "spf.protection",
            "TXT",
            '"v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/14 ip6:2a01:111:f400::/48 -all"',
        ),
        ("*.mail.protection", "A", "52.101.68.10"),
    ),
    "mailgun.org": (
        ("", "TXT", '"v=spf1 include:_spf.mailgun.org ~all"'),
        ("_spf", "TXT", '"v=spf1 ip4:209.61.151.0/24 ip4:166.78.68.0/22 ~all"'),
    ),
    "sendgrid.net": (("", "TXT", '"v=spf1 ip4:167.89.0.0/17 ip4:208.117.48.0/20 ~all"'),),
    "mcsv.net": (("servers", "TXT", '"v=spf1 ip4:205.201.128.0/20 ip4:198.2.128.0/18 ~all"'),),
    # the parent of every chunk zone: its organisational domain (RFC 7489 §3.2 with the PSL, where
    # "example" is a public suffix), asked for _dmarc when a tenant has no record; empty
    "fleet.example": (),
    "salesforce.com": (
        ("_spf", "TXT", '"v=spf1 include:_spfblock.salesforce.com ~all"'),
        ("_spfblock", "TXT", '"v=spf1 ip4:13.108.0.0/14 ip4:96.43.144.0/20 ~all"'),
    ),
}

_INCLUDES = {
    "gmail": "include:_spf.google.com",
    "office365": "include:spf.protection.outlook.com",
    "exchange": "a mx",
    "other": "mx",
    "outbound-only": "a",
}
_EXTRAS = ("include:mailgun.org", "include:sendgrid.net", "include:servers.mcsv.net", "include:_spf.salesforce.com")

#: The SPF variants and their share (out of 100): most are fine, each broken kind appears.
VARIANTS = (
    ("ok", 52),
    ("vendor-missing", 8),
    ("after-all", 6),
    ("too-many", 6),
    ("multiple", 5),
    ("ptr", 5),
    ("plus-all", 4),
    ("void", 5),
    ("no-record", 4),
    ("soft-extras", 5),
)
_PROVIDERS = (("office365", 35), ("gmail", 25), ("exchange", 15), ("other", 20), ("outbound-only", 5))
_WORDS = (
    "smith",
    "jones",
    "harbour",
    "brown",
    "chen",
    "patel",
    "nguyen",
    "walker",
    "king",
    "wright",
    "scott",
    "green",
    "baker",
    "adams",
    "hill",
    "clarke",
    "lee",
    "young",
    "hall",
    "allen",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fleet:
    """Where a generated fleet was written: tenant files, zone files (origin, path), counts."""

    tenants_dir: Path
    zones_dir: Path
    zones: tuple[tuple[str, Path], ...]
    tenants: int
    domains: tuple[str, ...] = ()


def _pick(rng: random.Random, table) -> str:
    roll = rng.randrange(sum(w for _, w in table))
    for name, weight in table:
        if roll < weight:
            return name
        roll -= weight
    raise AssertionError("unreachable")


def _spf(rng: random.Random, provider: str, variant: str, name: str) -> list[str]:
    """The TXT record texts of one tenant domain for one variant (RFC 7208 terms)."""
    base = _INCLUDES[provider]
    vendor = f"include:{DEFAULT_VENDOR_INCLUDE}"
    extra = " ".join(rng.sample(_EXTRAS, rng.randrange(0, 2)))
    mid = " ".join(t for t in (base, extra) if t)
    records = {
        "ok": [f"v=spf1 {mid} {vendor} ~all"],
        "soft-extras": [f"v=spf1 ip4:192.0.2.{rng.randrange(1, 250)} {mid} {vendor} -all"],
        "vendor-missing": [f"v=spf1 {mid} ~all"],
        "after-all": [f"v=spf1 {mid} ~all {vendor}"],
        "too-many": [
            f"v=spf1 a mx include:_spf.google.com include:spf.protection.outlook.com include:mailgun.org "
            f"include:_spf.salesforce.com include:sendgrid.net {vendor} ~all"
        ],
        "multiple": [f"v=spf1 {mid} ~all", f"v=spf1 {vendor} ~all"],
        "ptr": [f"v=spf1 a mx ptr {vendor} ~all"],
        "plus-all": [f"v=spf1 {mid} {vendor} +all"],
        "void": [f"v=spf1 a:gone1.{name} a:gone2.{name} a:gone3.{name} {vendor} ~all"],
        "no-record": [],
    }[variant]
    return records


def _txt(text: str) -> str:
    return " ".join(json.dumps(c) for c in _chunks(text))


def _dmarc_dkim(rng: random.Random, label: str, domain: str, provider: str, vendor: bool) -> list[str]:
    """Zone lines (relative to the chunk's origin) for one tenant's DMARC record and DKIM keys."""
    lines = []
    rua = f"rua=mailto:dmarc@{domain}"
    dmarc = {
        "none": [],
        "p-none": [f"v=DMARC1; p=none; {rua}"],
        "quarantine": [f"v=DMARC1; p=quarantine; {rua}"],
        "reject": [f"v=DMARC1; p=reject; adkim=r; {rua}"],
        "syntax": [f"v=DMARC1; p=quarantine; pct=200; {rua}"],
        "multiple": ["v=DMARC1; p=none", f"v=DMARC1; p=reject; {rua}"],
    }[_pick(rng, DMARC_VARIANTS)]
    lines += [f"_dmarc.{label} IN TXT {_txt(t)}" for t in dmarc]
    dkim = _pick(rng, DKIM_VARIANTS)
    if vendor:
        selectors = ["actionstep"]
    else:
        selectors = {"office365": ["selector1", "selector2"], "gmail": ["google"]}.get(provider, [])
    for sel in selectors:
        owner = f"{sel}._domainkey.{label}"
        if dkim == "cname":
            lines.append(
                f"{owner} IN CNAME dkim.actionstep.com."
                if vendor
                else f"{owner} IN TXT {_txt(f'v=DKIM1; k=rsa; p={OWN_DKIM_KEY}')}"
            )
        elif dkim == "short":
            lines.append(f"{owner} IN TXT {_txt(f'v=DKIM1; k=rsa; p={SHORT_DKIM_KEY}')}")
        elif dkim == "invalid":
            lines.append(f"{owner} IN TXT {_txt('v=DKIM1; k=rsa; p=MIIBIjANBgkq!!truncated')}")
    return lines


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def _tenant_toml(
    i: int, org: str, domain: str, provider: str, zones: list[str], quirk: str, vendor: bool = False
) -> str:
    inbound_addr = f"matters@{domain}"
    lines = [
        f"description = {_toml_str(f'generated tenant {i} ({provider})')}",
        f"org_key = {_toml_str(org)}",
        f"domains = [{_toml_str(domain)}]",
        'wildcard_domain = "actionstep.example"',
        f"provider = {_toml_str(provider)}",
        f"failed_email_address = {_toml_str(('failed@' + domain) if quirk == 'loop' else 'it@support.example')}",
    ]
    if zones:
        lines.append("zones = [" + ", ".join(_toml_str(z) for z in zones) + "]")
    password = f"canary-4b1d-gen-{i}"
    if provider != "outbound-only":
        lines += [
            "",
            "[inbound]",
            f"address = {_toml_str(inbound_addr)}",
            'kind = "catch-all"',
            f"confirm_download_then_delete = {'false' if quirk == 'no-confirm' else 'true'}",
            "",
            "[inbound.server]",
        ]
        if provider in ("exchange", "other"):
            lines.append(f"host = {_toml_str('mail.' + domain)}")
        if provider == "other":
            lines += ["port = 995", f"username = {_toml_str(inbound_addr)}"]
        lines.append(f"password = {_toml_str(password)}")
    else:
        lines += [
            "",
            "[outbound]",
            f"from_address = {_toml_str('office@' + domain)}",
            "",
            "[outbound.server]",
            f"host = {_toml_str('smtp.' + domain)}",
            "port = 587",
            f"username = {_toml_str('office@' + domain)}",
            f"password = {_toml_str(password)}",
        ]
    alias = inbound_addr if quirk == "alias-clash" and provider != "outbound-only" else f"reception@{domain}"
    lines += ["", "[[users]]", f"address = {_toml_str('principal@' + domain)}", f"aliases = [{_toml_str(alias)}]"]
    if vendor:
        lines += ["", "[sending]", 'path = "vendor"']
    return "\n".join(lines) + "\n"


def generate_fleet(out_dir: str | Path, n: int, *, seed: int = 7, chunk: int = 1000, zones_field: bool = True) -> Fleet:
    """Write ``n`` tenants (``out_dir/tenants``) and their zones (``out_dir/zones``); deterministic.

    With ``zones_field=False`` the tenant files do not name their zone files (for runs where
    a DNS server loaded with :attr:`Fleet.zones` answers instead, like the benchmark).
    """
    if n < 1 or chunk < 1:
        raise ValueError("n and chunk must be at least 1")
    out = Path(out_dir)
    tdir, zdir = out / "tenants", out / "zones"
    tdir.mkdir(parents=True, exist_ok=True)
    zdir.mkdir(parents=True, exist_ok=True)
    zone_paths: list[tuple[str, Path]] = []
    for origin, records in PROVIDER_ZONES.items():
        path = zdir / f"{origin}.zone"
        body = "".join(f"{owner or '@'} 300 IN {rtype} {data}\n" for owner, rtype, data in records)
        path.write_text(f"$ORIGIN {origin}.\n$TTL 300\n" + _SOA.format(origin=origin) + body)
        zone_paths.append((origin, path))
    provider_zone_refs = [f"../zones/{origin}.zone" for origin in PROVIDER_ZONES]
    rng = random.Random(seed)
    drng = random.Random(seed * 1_000_003 + 17)  # DMARC/DKIM draws: the main stream stays as it was
    domains: list[str] = []
    chunk_fp = None
    for i in range(n):
        c = i // chunk
        origin = f"c{c:03d}.fleet.example"
        if i % chunk == 0:
            if chunk_fp is not None:
                chunk_fp.close()
            path = zdir / f"{origin}.zone"
            chunk_fp = path.open("w")
            chunk_fp.write(f"$ORIGIN {origin}.\n$TTL 300\n" + _SOA.format(origin=origin))
            zone_paths.append((origin, path))
        provider = _pick(rng, _PROVIDERS)
        variant = _pick(rng, VARIANTS)
        quirk = rng.choice(("", "", "", "", "", "", "no-confirm", "loop", "alias-clash"))
        org = f"{rng.choice(_WORDS)}{i:05d}"
        label = org
        domain = f"{label}.{origin}"
        domains.append(domain)
        for text in _spf(rng, provider, variant, domain):
            chunk_fp.write(f"{label} IN TXT {json.dumps(text)}\n")
        chunk_fp.write(f'{label} IN TXT "google-site-verification=gen{i}"\n')
        if provider == "office365" and rng.random() < 0.8:
            chunk_fp.write(f"{label} IN MX 0 {label}-fleet-example.mail.protection.outlook.com.\n")
        else:
            chunk_fp.write(f"{label} IN MX 10 mx1.{label}\nmx1.{label} IN A 192.0.2.{i % 250 + 1}\n")
        chunk_fp.write(f"{label} IN A 192.0.2.{(i * 7) % 250 + 1}\nmail.{label} IN A 192.0.2.{i % 250 + 1}\n")
        vendor = drng.random() < 0.6
        for line in _dmarc_dkim(drng, label, domain, provider, vendor):
            chunk_fp.write(line + "\n")
        zones = provider_zone_refs + [f"../zones/{origin}.zone"] if zones_field else []
        (tdir / f"{org}.toml").write_text(_tenant_toml(i, org, domain, provider, zones, quirk, vendor))
    if chunk_fp is not None:
        chunk_fp.close()
    return Fleet(tenants_dir=tdir, zones_dir=zdir, zones=tuple(zone_paths), tenants=n, domains=tuple(domains))
