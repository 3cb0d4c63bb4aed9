"""Fixtures for the pipeline tests: a private Dovecot (and Postfix) on loopback, a fresh
POP3 user per test, and a store in the test's temporary directory."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from mailsupport.store import Store
from mailsupport.testing.realservers import Dovecot, Postfix, require_real_servers

_users = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory):
    """A Dovecot POP3 server for the whole session (users are added per test)."""
    require_real_servers()
    root = tmp_path_factory.mktemp("dovecot")
    server = Dovecot(root, users=[]).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postfix(tmp_path_factory: pytest.TempPathFactory, dovecot: Dovecot):
    """A Postfix whose catch-all domain delivers into Maildirs the session's Dovecot serves."""
    root = tmp_path_factory.mktemp("postfix")
    dovecot.add_user("mailbox")
    dovecot.add_user("outside")
    server = Postfix(root, mail_root=dovecot.mail_root or dovecot.root / "mail").start()
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
