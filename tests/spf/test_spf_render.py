"""Rendering: HTML escapes every customer-controlled value; text and JSON carry the trace."""

from __future__ import annotations

import json

from mailsupport.dnslookup import ZoneLookup
from mailsupport.spf import check_domain
from mailsupport.spf.diagnose.render import trace_to_html
from mailsupport.zones import ZoneData

EVIL = '<script>alert("x")</script>'


def _lookup() -> ZoneLookup:
    return ZoneLookup(
        ZoneData.from_mapping(
            {
                "evil.example": [{"TXT": f"v=spf1 mx {EVIL} ~all"}, {"MX": [10, "mail.evil.example"]}],
                "nested.example": [{"TXT": "v=spf1 include:inner.example -all"}],
                "inner.example": [{"TXT": "v=spf1 exists:%{l}.<b>.example -all"}],
                "_spf.actionstep.com": [{"TXT": "v=spf1 ip4:192.0.2.0/26 -all"}],
            }
        )
    )


def test_html_escapes_the_record_and_findings():
    """A record holding markup is shown escaped everywhere (records, findings, suggestion)."""
    html = check_domain("evil.example", lookup=_lookup())._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_html_trace_is_a_collapsible_tree_and_escaped():
    """The trace renders as nested <details>, with TXT answers escaped."""
    result = check_domain("nested.example", lookup=_lookup(), ip="198.51.100.7", sender="<i>@nested.example")
    html = trace_to_html(result.trace)
    assert html.count("<details") >= 2
    assert "<b>.example" not in html and "&lt;b&gt;.example" in html
    assert "<i>" not in result._repr_html_()


def test_text_and_json_renderings():
    """Text names the verdict and the trace; JSON round-trips."""
    result = check_domain("nested.example", lookup=_lookup(), ip="198.51.100.7")
    text = result.to_text()
    assert "verdict: fail" in text and "include:inner.example" in text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["trace"]["terms"][0]["child"]["domain"] == "inner.example"
