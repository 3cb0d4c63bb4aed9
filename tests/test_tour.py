"""The sandbox tour's views: escaped HTML, secrets hidden, marks on the delivered envelope headers."""

from __future__ import annotations

from pathlib import Path

from mailsupport.config import load_tenant
from mailsupport.tour import View, header_view, tenant_card

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "tenants" / "smithlaw-postfix.toml"


def test_view_escapes_every_cell():
    """Customer text in a view cannot inject HTML."""
    v = View(title="<b>t</b>", columns=("a&b",), rows=(("<script>alert(1)</script>",),), note='"q"')
    page = v._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;t" in page and "a&amp;b" in page


def test_tenant_card_hides_passwords():
    """The tenant card lists inbound.server.password as *** and never the value."""
    card = tenant_card(load_tenant(SAMPLE))
    assert ("inbound.server.password", "***") in card.rows
    assert "canary-4b1d-" not in str(card) + card._repr_html_()


def test_header_view_marks_only_headers_above_the_entry_hop():
    """A forged X-Original-To below the entry hop is shown but not marked; the delivered one is marked."""
    raw = (
        b"X-Original-To: 1042@firm.example\nDelivered-To: box@firm.example\n"
        b"Received: from a by b for <1042@firm.example>; Mon, 2 Nov 2026 09:00:00 +0000\n"
        b"X-Original-To: forged@firm.example\nSubject: hi\n\nbody\n"
    )
    v = header_view(raw)
    assert [r[0] for r in v.rows][:4] == ["X-Original-To", "Delivered-To", "Received", "X-Original-To"]
    assert 0 in v.marked and 1 in v.marked and 3 not in v.marked
