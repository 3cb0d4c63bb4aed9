"""pytest fixtures for real Postfix/Dovecot on loopback; import them into a ``conftest.py``.

``real_root`` (session: one private directory), ``dovecot`` (session: POP3 server, any user
logs in with ``secret``), ``postfix`` (session: catch-all ``catchall.example`` delivering to the
``mailbox`` user's Maildir, ``outside.example`` to ``outside``'s), ``pop_user`` (a fresh POP3
user and its empty Maildir) and ``store`` (an empty :class:`~mailsupport.store.Store`).
Tests using them are skipped without root or the binaries, or fail when
``MAILSUPPORT_REQUIRE_REAL=1``.

Layer 6 (testing); imports pytest.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

from ..store import Store
from .realservers import Dovecot, Postfix, private_root, require_real_servers

__all__ = ["real_root", "dovecot", "postfix", "pop_user", "store"]

_users = itertools.count(1)


@pytest.fixture(scope="session")
def real_root():
    """One private directory for the session's servers and their Maildirs."""
    require_real_servers()
    root = private_root()
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot(real_root: Path):
    """A Dovecot POP3 server for the whole session (users are added per test)."""
    server = Dovecot(real_root / "dovecot", users=[], mail_root=real_root / "mail").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postfix(real_root: Path, dovecot: Dovecot):
    """A Postfix whose catch-all domain delivers into Maildirs the session's Dovecot serves."""
    dovecot.add_user("mailbox")
    dovecot.add_user("outside")
    server = Postfix(real_root / "postfix", mail_root=real_root / "mail").start()
    yield server
    server.stop()


@pytest.fixture
def pop_user(dovecot: Dovecot) -> tuple[str, Path]:
    """A fresh POP3 user (password ``secret``) and its empty Maildir."""
    name = f"user{next(_users)}"
    return name, dovecot.add_user(name)


@pytest.fixture
def store(tmp_path: Path):
    """An empty store."""
    with Store(tmp_path / "store") as s:
        yield s
