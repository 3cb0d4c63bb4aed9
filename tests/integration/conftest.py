"""Fixtures for the integration tests: private Postfix and Dovecot on loopback."""

from mailsupport.testing.fixtures import dovecot, pop_user, postfix, real_root, store  # noqa: F401
