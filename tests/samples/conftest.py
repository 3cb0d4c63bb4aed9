"""Fixtures for the mailbox-sample tests: the bundled samples and the demo tenant."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsupport.testing.fixtures import dovecot, pop_user, real_root  # noqa: F401  (real Dovecot on loopback)

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
REAL = SAMPLES / "real"


@pytest.fixture
def real():
    """Bytes of a bundled real message by file name."""
    return lambda name: (REAL / name).read_bytes()


@pytest.fixture
def tenant():
    """The smithlaw catch-all tenant the generated samples belong to."""
    from mailsupport.samples.generate import demo_tenant

    return demo_tenant()
