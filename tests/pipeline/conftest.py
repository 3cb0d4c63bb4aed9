"""Fixtures for the pipeline tests: a private Dovecot (and Postfix) on loopback, a fresh
POP3 user per test, and a store in the test's temporary directory."""

from mailsupport.testing.fixtures import dovecot, pop_user, postfix, real_root, store  # noqa: F401
