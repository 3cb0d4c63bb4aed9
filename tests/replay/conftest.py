"""Fixtures for the replay tests: the bundled samples, their tenants, and a tenant for the real messages."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mailsupport.config import load_tenant, parse_tenant

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
TENANTS = SAMPLES / "tenants"
REAL = SAMPLES / "real"
MAILBOX = "matters@smithlaw.example"


def sample_tenant(name: str):
    """A bundled tenant by file stem (its canary passwords stay in the file; the replay never sends them)."""
    return load_tenant(TENANTS / f"{name}.toml", environ={})


def real_tenant(header: str = "Received-for"):
    """A catch-all over every domain the real messages were delivered to, with each recipient the receiving
    side named (``receiving-chains.csv``) as a user: so a routed copy of a real message has somewhere to go."""
    rows = list(csv.DictReader((REAL / "receiving-chains.csv").open(encoding="utf-8")))
    addresses = sorted({a for r in rows for a in r["trusted_recipients"].split() if a.isascii()})
    domains = sorted({a.rpartition("@")[2].lower() for a in addresses})
    return parse_tenant(
        {
            "org_key": "realmail",
            "domains": domains,
            "failed_email_address": "it@support.example",
            "inbound": {
                "address": f"catchall@{domains[0]}",
                "kind": "catch-all",
                "catch_all_header": header,
                "catch_all_domains": domains,
            },
            "users": [{"address": a} for a in addresses],
        },
        source="tests/replay real tenant",
    )


@pytest.fixture
def catchall_tenant():
    """Smith & Co's Postfix catch-all, set to Delivered-To (the bundled catch-all sample's tenant)."""
    return sample_tenant("smithlaw-sample-catchall")
