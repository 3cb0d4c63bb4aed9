"""Secrets are scrubbed from server words in every form a server could echo them."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailsupport.model import Secret
from mailsupport.redact import MASK, Redactor
from mailsupport.testing.leaks import revealed

secrets_st = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=4, max_size=40)
users_st = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)


@pytest.mark.parametrize(
    "words",
    [
        "-ERR [AUTH] invalid login for password {pw}",
        "535 5.7.8 bad credentials for AUTH PLAIN {plain}",
        "535 5.7.8 LOGIN refused for {login} ({pw})",
        "334 {xoauth}",
        "-ERR token {pw_url} expired",
    ],
    ids=["plain", "sasl-plain", "login", "xoauth2", "url-encoded"],
)
def test_each_echo_shape_is_scrubbed(words):
    """The shapes real servers echo come out without the password, the rest of the words intact."""
    pw, user = "hunter2 & co/é", "alice@firm.example"
    text = words.format(
        pw=pw,
        plain=base64.b64encode(f"\0{user}\0{pw}".encode()).decode(),
        login=base64.b64encode(pw.encode()).decode(),
        xoauth=base64.b64encode(f"user={user}\x01auth=Bearer {pw}\x01\x01".encode()).decode(),
        pw_url="hunter2%20%26%20co%2F%C3%A9",
    )
    out = Redactor([Secret(pw)], usernames=[user])(text)
    assert not revealed(pw, out)
    assert MASK in out
    assert out.split(" ")[0] == text.split(" ")[0]


@settings(max_examples=200, deadline=None)
@given(
    secret=secrets_st,
    user=users_st,
    prefix=st.binary(max_size=5),
    suffix=st.binary(max_size=5),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_base64_at_any_alignment_is_scrubbed(secret, user, prefix, suffix, before, after):
    """The secret base64-encoded inside any blob, at any offset, is found and masked."""
    blob = base64.b64encode(prefix + secret.encode() + suffix).decode()
    out = Redactor([secret], usernames=[user])(f"{before} {blob} {after}")
    assert not revealed(secret, out)


@settings(max_examples=200, deadline=None)
@given(secret=secrets_st, text=st.text(st.characters(max_codepoint=0x7F), max_size=200))
def test_text_without_the_secret_is_left_alone(secret, text):
    """Words that carry no form of the secret come back unchanged."""
    if secret in text or revealed(secret, text):
        return
    assert Redactor([secret])(text) == text


def test_for_settings_reads_password_token_and_user_and_ignores_missing():
    """for_settings takes what settings carry; nothing to hide means no change and a false redactor."""

    class S:
        username = "bob"
        password = Secret("s3cret-pw")
        oauth_token = None

    r = Redactor.for_settings(S(), None)
    assert r("x s3cret-pw y") == f"x {MASK} y"
    empty = Redactor.for_settings(object())
    assert not empty and empty("s3cret-pw") == "s3cret-pw"
    assert "s3cret" not in repr(r)


def test_short_secrets_are_not_replaced_as_plain_text_but_still_in_base64():
    """A two-letter secret does not mask every occurrence of two letters, yet its SASL blob is masked."""
    r = Redactor(["ab"], usernames=["u"])
    assert r("about abba") == "about abba"
    assert MASK in r("AUTH PLAIN " + base64.b64encode(b"\0u\0ab").decode())


def test_bytes_are_decoded():
    """Bytes from a socket are decoded (invalid UTF-8 replaced) and scrubbed."""
    assert Redactor(["s3cret-pw"])(b"-ERR s3cret-pw \xff") == f"-ERR {MASK} \ufffd"
