"""revealed() finds a secret in every form the leak tests look for, and nothing else."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailsupport.testing.leaks import revealed

PW = "s3cret pw/é+"


@pytest.mark.parametrize(
    "text",
    [
        f"-ERR no such password: {PW}",
        "token=s3cret%20pw%2F%C3%A9%2B",
        "535 AUTH PLAIN " + base64.b64encode(f"\0user\0{PW}".encode()).decode(),
        "334 " + base64.b64encode(b"xyz" + PW.encode()).decode()[2:] + " (cut)",
        "x" + base64.b64encode(b"ab" + PW.encode()).decode(),
        "334 " + base64.b64encode(b"\0u\0" + PW.encode()).decode().rstrip("="),
    ],
    ids=["plain", "percent", "sasl-plain", "base64-sliced", "base64-glued", "base64-unpadded"],
)
def test_each_form_of_the_secret_is_found(text):
    """Plain, percent-encoded and base64 at any alignment, padded or not, all count as revealed; the secret
    at the very end of a padded SASL PLAIN blob too (a check that drops the last quantum misses it)."""
    assert revealed(PW, text)


@pytest.mark.parametrize(
    "text",
    ["-ERR [AUTH] invalid user name or password", "AUTH PLAIN ***", base64.b64encode(b"\0user\0other").decode(), ""],
    ids=["words", "masked", "other-base64", "empty"],
)
def test_text_without_the_secret_is_not_flagged(text):
    """Server words, masks and other base64 blobs are not the secret."""
    assert not revealed(PW, text)


@given(prefix=st.binary(max_size=6), suffix=st.binary(max_size=6), before=st.text(max_size=8))
def test_base64_of_the_secret_inside_any_blob_is_found(prefix, suffix, before):
    """The secret base64-encoded between any bytes, after any text, is found."""
    blob = base64.b64encode(prefix + PW.encode() + suffix).decode()
    assert revealed(PW, f"{before} {blob}")
