"""Fixtures for the audit tests: a small generated fleet (tenants + zone files) per session."""

from __future__ import annotations

import pytest

from mailsupport.audit.generate import generate_fleet


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    """40 generated tenants with their zone files (answered offline from the files)."""
    return generate_fleet(tmp_path_factory.mktemp("fleet"), 40, seed=7, chunk=25)
