"""The fleet generator: deterministic, loadable, varied."""

from __future__ import annotations

import collections

from mailsupport.audit.generate import generate_fleet
from mailsupport.config import iter_tenant_files, load_tenant
from mailsupport.zones import load_zone_file


def _bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    """The same (n, seed) writes identical bytes; another seed writes a different fleet."""
    a, b, c = (generate_fleet(tmp_path / x, 30, seed=s) for x, s in (("a", 1), ("b", 1), ("c", 2)))
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    assert _bytes(tmp_path / "a") != _bytes(tmp_path / "c")


def test_every_tenant_loads_and_every_zone_parses(fleet):
    """Each tenant file loads, its zones exist, and the zone files parse."""
    providers = collections.Counter()
    for path in iter_tenant_files([fleet.tenants_dir]):
        t = load_tenant(path)
        providers[str(t.provider)] += 1
        assert t.zones and all(z.endswith(".zone") for z in t.zones)
    assert sum(providers.values()) == 40 and len(providers) >= 4
    for origin, path in fleet.zones:
        assert len(load_zone_file(path, origin=origin)) > 0


def test_the_broken_share_covers_every_spf_variant(tmp_path):
    """Over 400 tenants every broken SPF shape appears (after-all, +all, ptr, duplicates, void, too many)."""
    f = generate_fleet(tmp_path, 400, chunk=400)
    text = (f.zones_dir / "c000.fleet.example.zone").read_text()
    assert "~all include:_spf.actionstep.com" in text  # vendor include after all
    assert "+all" in text and " ptr " in text and "a:gone3." in text
    assert "include:sendgrid.net include:_spf.actionstep.com ~all" in text  # too many lookups
    owners = collections.Counter(line.split()[0] for line in text.splitlines() if '"v=spf1' in line)
    assert max(owners.values()) == 2  # some domain has two SPF records
