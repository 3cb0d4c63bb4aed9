"""Which profile replays a message: the receiving chain and the receiving side's evidence decide."""

from __future__ import annotations

import csv

import pytest

from mailsupport.replay.envelope import strip_receiving_side
from mailsupport.replay.infer import PROFILE_HEADERS, PROFILE_NAMES, PROFILE_ROUTES, guess_server, size_limit_for
from mailsupport.samples import summarize
from mailsupport.sandbox import profile_names
from mailsupport.sizes import POSTFIX_DEFAULT_LIMIT

from .conftest import MAILBOX, REAL, SAMPLES

#: provider column of receiving-chains.csv -> the profile that must replay it
PROVIDER_PROFILE = {"gmail": "gmail", "office365": "office365", "exchange-onprem": "exchange", "exim": "exim"}
#: Exchange 2000's SMTPSVC wrote a for clause and nothing else: the received-for profile writes just that
OVERRIDES = {"mikel__error_emails__content_transfer_encoding_7-bit.eml": "received-for"}


def _guess(path):
    raw = path.read_bytes()
    s = summarize(raw, source=str(path), position="1")
    return guess_server(strip_receiving_side(raw).chain, s.candidates, provider=s.provider, mailbox=MAILBOX)


def test_profile_names_are_the_sandboxes():
    """Every profile a replay may use is a sandbox profile, and each says which headers it writes."""
    assert set(PROFILE_NAMES) <= set(profile_names())
    assert set(PROFILE_HEADERS) == set(PROFILE_NAMES) == set(PROFILE_ROUTES)


ROWS = [
    r
    for r in csv.DictReader((REAL / "receiving-chains.csv").open(encoding="utf-8"))
    if r["provider"] in PROVIDER_PROFILE and not r["file"].startswith("..")
]


@pytest.mark.parametrize("row", ROWS, ids=[r["file"][:40] for r in ROWS])
def test_the_server_named_in_the_chains_table_picks_the_profile(row):
    """For each real message whose server the receiving-chains table names (Google, Microsoft 365, Exchange,
    Exim), the profile is that server's (Exim: when it wrote Envelope-to; else by what it wrote)."""
    guess = _guess(REAL / row["file"])
    want = OVERRIDES.get(row["file"], PROVIDER_PROFILE[row["provider"]])
    if want == "exim" and "Envelope-to" not in (REAL / row["file"]).read_text(errors="replace").split("Received")[0]:
        want = "received-for"  # an Exim hop whose only evidence is its for clause
    assert guess.profile == want, guess.reason


BUNDLED = [
    ("messages/catchall-exim-envelope-to-list.eml", "exim", True),
    ("messages/catchall-x-original-to-only.eml", "postfix", True),
    ("messages/catchall-received-for-only.eml", "received-for", True),
    ("messages/gmail-consolidated-two-aliases.eml", "gmail", True),
    ("real/cpython__data__msg_04.eml", "postfix", False),
    ("real/flanker__bounce__office365.eml", "exchange", True),
]


@pytest.mark.parametrize("name, profile, exact", BUNDLED, ids=[b[0].split("/")[1][:36] for b in BUNDLED])
def test_profile_and_exactness(name, profile, exact):
    """The profile each bundled message gets, and whether it writes what the message's server wrote (a
    Delivered-To naming a person's own mailbox no catch-all profile writes: approximate, and it says so)."""
    guess = _guess(SAMPLES / name)
    assert (guess.profile, guess.exact) == (profile, exact), guess.reason
    assert ("approximate" in guess.reason or "no profile writes" in guess.reason) is (not exact)


def test_size_limits_follow_the_documented_ones():
    """Gmail 50 MiB and Microsoft 365 36 MiB receive limits; Postfix's default for the others."""
    assert size_limit_for("gmail") == 50 * 2**20 and size_limit_for("office365") == 36 * 2**20
    assert size_limit_for("exim") == size_limit_for("postfix") == POSTFIX_DEFAULT_LIMIT
