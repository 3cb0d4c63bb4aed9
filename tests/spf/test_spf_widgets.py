"""The notebook helpers: the lookup-tree Figure and the record editor widget."""

from __future__ import annotations

from spf_suite import ZONES

from mailsupport.dnslookup import make_lookup
from mailsupport.spf import check_domain
from mailsupport.spf.plot import plot_lookup_tree
from mailsupport.spf.widget import SpfEditor


def _lookup():
    return make_lookup(zones=[ZONES / "actionstep-vendor.zone", ZONES / "too-many-lookups.example.zone"])


def test_plot_lookup_tree_returns_a_figure_with_one_box_per_record():
    """One labelled box per record; the title gives the total."""
    from matplotlib.figure import Figure

    check = check_domain("too-many-lookups.example", lookup=_lookup())
    fig = plot_lookup_tree(check.tree)
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert len(labels) == 10 and "_spf.crm.too-many-lookups.example  (5 lookups)" in labels
    assert "11 lookups" in fig.axes[0].get_title()


def test_editor_rechecks_on_edit_and_shows_errors_inside():
    """Typing a record re-evaluates it; a bad client IP shows an escaped error in the widget."""
    editor = SpfEditor("too-many-lookups.example", lookup=_lookup())
    assert editor.result.verdict == "permerror"
    assert editor.set_record("v=spf1 include:_spf.actionstep.com ~all").verdict == "pass"
    editor._ip.value = "<bad>"
    assert editor.result is None and "&lt;bad&gt;" in editor._out.value


def test_plot_survives_dollar_signs_in_customer_text():
    """Record text with '$' is drawn literally (no mathtext parsing of customer data)."""
    from mailsupport.dnslookup import ZoneLookup
    from mailsupport.zones import ZoneData

    lookup = ZoneLookup(
        ZoneData.from_mapping(
            {"d.example": [{"TXT": "v=spf1 include:bad.example -all"}], "bad.example": [{"TXT": "v=spf1 a:$x^{$ -all"}]}
        )
    )
    check = check_domain("d.example", lookup=lookup, ip="192.0.2.1")
    fig = plot_lookup_tree(check.tree)
    import io

    fig.savefig(io.BytesIO(), format="png")  # renders: unbalanced mathtext would raise
    assert any("syntax error" in t.get_text() for t in fig.axes[0].texts)


def test_notebook_lookup_reads_the_nameserver_parameter(dns_server):
    """'' needs a sandbox, 'system' is this machine's resolver, HOST:PORT that server (nothing is asked yet)."""
    import pytest

    from mailsupport.errors import ConfigError
    from mailsupport.spf.widget import notebook_lookup

    with pytest.raises(ConfigError, match="no sandbox was given"):
        notebook_lookup("")
    assert notebook_lookup("system").source == "system resolver"
    host, port = dns_server.address
    assert f"{host}:{port}" in notebook_lookup(f"{host}:{port}").source


def test_editor_says_when_its_sandbox_has_stopped():
    """Against a running sandbox the editor checks; once the sandbox stops it says so at once, and so does any check."""
    from mailsupport.sandbox import Sandbox
    from mailsupport.spf.widget import SandboxDns, notebook_lookup

    sandbox = Sandbox(zones=[ZONES / "actionstep-vendor.zone", ZONES / "too-many-lookups.example.zone"]).start()
    try:
        lookup = notebook_lookup("", sandbox=sandbox)
        assert isinstance(lookup, SandboxDns) and not lookup.stopped
        editor = SpfEditor("too-many-lookups.example", lookup=lookup)
        assert editor.result.verdict == "permerror"
    finally:
        sandbox.stop()
    assert lookup.stopped
    assert editor.set_record("v=spf1 include:_spf.actionstep.com ~all") is None
    assert "The sandbox this editor points at has stopped" in editor._out.value
    assert lookup.address in editor._out.value
    check = check_domain("too-many-lookups.example", lookup=lookup)  # cached answers are not served either
    assert check.verdict == "temperror"
    assert any(
        "sandbox this notebook started has stopped" in f.summary + f.detail + str(f.evidence) for f in check.findings
    )
