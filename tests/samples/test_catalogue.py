"""The catalogue of the bundled real messages (``samples.csv``) states what each file holds.

Every real message has one row; the columns that can be read off the file again (its size, line
ends, number of Received fields, Message-ID, To, the addresses of its Received ``for`` clauses and
envelope headers) equal what the file holds, byte for byte decoded as UTF-8, and every licence
named is one ``PROVENANCE.md`` accounts for.
"""

from __future__ import annotations

import csv
import re

import pytest

from mailsupport.headerblock import parse_fields, split_header_block

from .conftest import REAL

CATALOGUE = REAL / "samples.csv"
ADDRESS = re.compile(r"[^\s<>|,;\"']+@[^\s<>|,;\"']+")


def _rows() -> list[dict[str, str]]:
    with CATALOGUE.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


ROWS = _rows()


def _norm(text: str) -> str:
    return " ".join(text.split())


def test_one_row_per_real_message():
    """Every real .eml file has exactly one catalogue row and every row names a file that is there."""
    files = [r["file"] for r in ROWS]
    assert len(files) == len(set(files))
    assert sorted(files) == sorted(p.name for p in REAL.glob("*.eml"))


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_row_matches_its_file(row):
    """Size, line ends, Received count, Message-ID and To in the row are those of the file."""
    raw = (REAL / row["file"]).read_bytes()
    fields = parse_fields(split_header_block(raw)[0])
    assert int(row["size_bytes"]) == len(raw)
    assert row["crlf"] == ("yes" if raw.count(b"\n") == raw.count(b"\r\n") > 0 else "no")
    assert int(row["n_received"]) == sum(1 for name, _ in fields if name.lower() == "received")
    message_id = next((value for name, value in fields if name.lower() == "message-id"), "")
    assert _norm(row["message_id"]) == _norm(message_id)
    to = next((value for name, value in fields if name.lower() == "to"), "")
    assert _norm(to).startswith(_norm(row["to_header"])) and (row["to_header"] != "") == (to != "")


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_addresses_in_the_row_are_in_the_file(row):
    """Every address the row quotes (for clauses, envelope headers) is written in the file as UTF-8."""
    text = (REAL / row["file"]).read_bytes().decode("utf-8", "surrogateescape").lower()
    quoted = ADDRESS.findall(row["received_for"] + " " + row["envelope_values"])
    assert [a for a in quoted if a.lower() not in text] == []


def test_every_licence_is_accounted_for():
    """Each licence in the catalogue is one PROVENANCE.md names."""
    provenance = (REAL / "PROVENANCE.md").read_text(encoding="utf-8")
    assert sorted({r["license"] for r in ROWS if r["license"] not in provenance}) == []
