"""The Email Setup widget headless: set values, click "Test & save", check the draft and the ladder."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

from mailsupport.doctor import DraftStore  # noqa: E402
from mailsupport.model import Finding, Secret, Severity  # noqa: E402
from mailsupport.widgets.setup import EmailSetup, render_findings_html, visible_fields  # noqa: E402

from .conftest import PASSWORD, USER  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    "provider,expected",
    [
        (
            "outbound-only",
            {
                "outbound.from_address",
                "outbound.server.host",
                "outbound.server.port",
                "outbound.server.tls",
                "outbound.server.username",
                "outbound.server.password",
            },
        ),
        ("office365", {"inbound.address", "inbound.server.password", "inbound.confirm_download_then_delete"}),
        (
            "exchange",
            {
                "inbound.address",
                "inbound.server.host",
                "inbound.server.password",
                "inbound.confirm_download_then_delete",
            },
        ),
        (
            "gmail",
            {"inbound.address", "inbound.server.password", "inbound.kind", "inbound.confirm_download_then_delete"},
        ),
    ],
)
def test_each_provider_shows_exactly_its_fields(provider, expected):
    """The dropdown shows exactly the fields the help page lists, plus signature, disclaimer, failed address."""
    common = {"division_signature", "disclaimer", "failed_email_address"}
    assert set(visible_fields(provider)) == expected | common


def _overrides(sb):
    return {
        "inbound": {"server": {"host": "127.0.0.1", "port": sb.pop3_tls.port, "ca_file": sb.ca_file}},
        "outbound": {"server": {"host": "127.0.0.1", "port": sb.smtp.port, "ca_file": sb.ca_file}},
    }


def _fill(form, password=PASSWORD):
    form.set_field("inbound.address", USER)
    form.set_field("inbound.server.password", password)
    form.set_field("inbound.confirm_download_then_delete", True)
    form.set_field("failed_email_address", "it@elsewhere.example")


def test_office365_failure_keeps_the_draft_and_shows_the_ladder(sb, tmp_path):
    """Office 365 basic auth refused: the ladder is shown rung by rung, the draft is kept with its report."""
    sb.set_profile("office365")
    store = DraftStore(tmp_path)
    form = EmailSetup(store=store, org_key="smithlaw", provider="office365", overrides=_overrides(sb), timeout=3)
    _fill(form)
    form.click()
    assert "POP3  ok   greeting" in form.ladder_text
    assert "POP3  FAIL auth" in form.ladder_text
    assert "draft is kept" in form.status_html
    assert "settings.o365-basic-auth-retired" in form.result_html
    draft = store.draft("smithlaw")
    assert draft.status == "failed"
    assert draft.plain()["inbound"]["server"]["password"] == PASSWORD
    assert "host" not in draft.data["inbound"]["server"]  # the draft is what was typed, not the test routing
    assert draft.report["findings"]
    assert PASSWORD not in form.ladder_text + form.result_html + form.status_html


def test_coming_back_restores_everything_without_echoing_the_password(sb, tmp_path):
    """A new form over the same store shows the typed values; the password stays empty but is reused."""
    sb.set_profile("office365")
    store = DraftStore(tmp_path)
    first = EmailSetup(store=store, org_key="smithlaw", provider="office365", overrides=_overrides(sb), timeout=3)
    _fill(first)
    first.set_field("division_signature", "Smith Law <b>Partners</b>")
    first.click()
    again = EmailSetup(store=store, org_key="smithlaw", overrides=_overrides(sb), timeout=3)
    assert again.value["inbound"]["address"] == USER
    assert again.value["division_signature"] == "Smith Law <b>Partners</b>"
    assert again._inputs["inbound.server.password"].value == ""
    assert again.value["inbound"]["server"]["password"] == Secret(PASSWORD)
    assert "restored" in again.status_html


def test_passing_test_becomes_last_good_and_a_later_change_is_diffed(sb, tmp_path):
    """A pass saves last-good; a later failing change shows the field-by-field diff."""
    store = DraftStore(tmp_path)
    form = EmailSetup(store=store, org_key="smithlaw", provider="other", overrides=_overrides(sb), timeout=3)
    _fill(form)
    form.set_field("inbound.server.username", USER)
    form.set_field("inbound.server.host", "127.0.0.1")
    form.set_field("outbound.server.host", "127.0.0.1")
    form.click()
    assert "Test passed" in form.status_html, form.result_html + form.ladder_text
    assert store.last_good("smithlaw") is not None
    form.set_field("inbound.server.password", "not-the-password")
    form.click()
    assert store.draft("smithlaw").status == "failed"
    assert "inbound.server.password" in form.result_html and "changed" in form.result_html
    assert "not-the-password" not in form.result_html
    assert form.use_last_good()
    assert form._inputs["inbound.server.password"].value == ""  # never sent back to the browser
    assert form.value["inbound"]["server"]["password"] == Secret(PASSWORD)
    form.click()
    assert "Test passed" in form.status_html


def test_invalid_field_is_kept_and_named(tmp_path):
    """A typed value that cannot be parsed is kept in the draft and named, with no connection made."""
    store = DraftStore(tmp_path)
    form = EmailSetup(store=store, org_key="smithlaw", provider="office365")
    _fill(form)
    form.set_field("failed_email_address", "<script>alert(1)</script>")
    form.click()
    assert "settings.invalid-field" in form.result_html
    assert "<script>" not in form.result_html and "&lt;script&gt;" in form.result_html
    assert store.draft("smithlaw").data["failed_email_address"] == "<script>alert(1)</script>"
    assert form.ladder_text == ""


def test_findings_html_escapes_everything():
    """Every rendered value is escaped, including the server's words."""
    f = Finding(
        check="settings.auth-failed",
        severity=Severity.ERROR,
        subject="pop3 x",
        summary="<i>s</i>",
        remedy="<b>r</b>",
        evidence=(("server said", "-ERR <img src=x>"),),
    )
    html = render_findings_html([f])
    assert "<i>" not in html and "<b>r" not in html and "<img" not in html
    assert "&lt;img src=x&gt;" in html


def test_callback_errors_are_shown_inside_the_widget(tmp_path):
    """An error while testing is shown in the widget (JupyterLab hides callback exceptions); the draft stays."""
    store = DraftStore(tmp_path)
    form = EmailSetup(store=store, org_key="smithlaw", provider="office365", dns=object())
    _fill(form)
    form.set_field("inbound.server.password", "x")
    form._overrides = {"inbound": {"server": {"host": "pop.smithlaw.example"}}}
    form.click()
    assert "could not run" in form.status_html and "AttributeError" in form.status_html
    assert store.draft("smithlaw").data["inbound"]["address"] == USER


def test_a_rerun_restores_the_draft_from_the_default_folder(sb, tmp_path, monkeypatch):
    """Without a store the form keeps drafts in $XDG_STATE_HOME/mailsupport/drafts (0700); a new form finds them."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    sb.set_profile("office365")
    first = EmailSetup(org_key="smithlaw", provider="office365", overrides=_overrides(sb), timeout=3)
    _fill(first)
    first.set_field("division_signature", "Kind regards, Smith Law")
    first.click()
    folder = tmp_path / "state" / "mailsupport" / "drafts"
    assert (folder / "smithlaw" / "draft.json").is_file()
    assert folder.stat().st_mode & 0o777 == 0o700
    again = EmailSetup(org_key="smithlaw", overrides=_overrides(sb), timeout=3)  # the notebook run again
    assert "restored" in again.status_html
    assert again.value["division_signature"] == "Kind regards, Smith Law"
    assert again.value["inbound"]["server"]["password"] == Secret(PASSWORD)
    assert again._inputs["inbound.server.password"].value == ""


def test_default_drafts_folder_follows_xdg_state_home():
    """$XDG_STATE_HOME when absolute, else ~/.local/state (a relative value is ignored, as the XDG spec says)."""
    from pathlib import Path

    from mailsupport.doctor.drafts import default_drafts_dir

    assert default_drafts_dir({"XDG_STATE_HOME": "/srv/state", "HOME": "/home/a"}) == Path(
        "/srv/state/mailsupport/drafts"
    )
    assert default_drafts_dir({"XDG_STATE_HOME": "rel", "HOME": "/home/a"}) == Path(
        "/home/a/.local/state/mailsupport/drafts"
    )
    assert default_drafts_dir({"HOME": "/home/a"}) == Path("/home/a/.local/state/mailsupport/drafts")


def test_the_step_table_colours_each_rung(sb, tmp_path):
    """Office 365 with a password: green rungs up to a red POP3 and SMTP auth, 'final' not reached; the text stays too."""
    import re

    sb.set_profile("office365")
    form = EmailSetup(
        store=DraftStore(tmp_path), org_key="smithlaw", provider="office365", overrides=_overrides(sb), timeout=3
    )
    _fill(form)
    form.click()
    rows = re.findall(
        r"<tr style='background:(#[0-9a-f]+)' data-status='([^']*)'><td[^>]*>([^<]*)</td>"
        r"<td[^>]*><code>([^<]*)</code>",
        form.steps_html,
    )
    by_step = {(d, step): (colour, status) for colour, status, d, step in rows}
    assert by_step[("POP3", "greeting")] == ("#dff0d8", "ok")
    assert by_step[("POP3", "auth")] == ("#f2dede", "fail")
    assert by_step[("SMTP", "auth")] == ("#f2dede", "fail")
    assert by_step[("POP3", "final")][1] == by_step[("SMTP", "final")][1] == "not reached"
    assert "basic authentication is disabled" in form.steps_html  # the server's words, in its row
    assert "POP3  FAIL auth" in form.ladder_text  # the text wall, for copying
    assert PASSWORD not in form.steps_html


def test_changing_the_provider_clears_the_last_results(sb, tmp_path):
    """Results of a test belong to its settings: a new provider empties report, steps, text and findings."""
    sb.set_profile("office365")
    form = EmailSetup(
        store=DraftStore(tmp_path), org_key="smithlaw", provider="office365", overrides=_overrides(sb), timeout=3
    )
    _fill(form)
    form.click()
    assert form.report is not None and form.steps_html and form.result_html and form.ladder_text
    form.set_field("provider", "gmail")
    assert form.report is None
    assert (form.steps_html, form.result_html, form.ladder_text, form.status_html) == ("", "", "", "")
    assert DraftStore(tmp_path).draft("smithlaw") is not None  # what was typed is still kept


@pytest.mark.parametrize(
    "provider,auth,shown,hidden",
    [
        ("office365", "oauth2", "inbound.server.oauth_token", "inbound.server.password"),
        ("gmail", "oauth2", "inbound.server.oauth_token", "inbound.server.password"),
        ("office365", "password", "inbound.server.password", "inbound.server.oauth_token"),
        ("other", "oauth2", "inbound.server.password", "inbound.server.oauth_token"),
    ],
    ids=["office365-oauth2", "gmail-oauth2", "office365-password", "other-has-no-oauth2"],
)
def test_sign_in_choice_swaps_password_for_token(provider, auth, shown, hidden):
    """OAuth2 replaces the password field with the access-token field, for Office 365 and Gmail only."""
    fields = visible_fields(provider, auth)
    assert shown in fields and hidden not in fields


def test_office365_oauth2_token_passes_and_is_never_echoed(sb, tmp_path):
    """The form says basic sign-in is off; a sandbox-issued token in the password-style field passes; it is kept, never shown."""
    import ipywidgets as w

    sb.set_profile("office365")
    store = DraftStore(tmp_path)
    form = EmailSetup(store=store, org_key="smithlaw", provider="office365", overrides=_overrides(sb), timeout=3)
    assert "switched off password (basic) sign-in" in form._auth_note.value
    _fill(form)
    form.set_field("auth", "oauth2")
    token = sb.issue_token(USER).reveal()
    assert isinstance(form._inputs["inbound.server.oauth_token"], w.Password)
    form.set_field("inbound.server.oauth_token", token)
    form.click()
    assert "Test passed" in form.status_html, form.ladder_text
    assert "auth" in form.steps_html and "data-status='fail'" not in form.steps_html
    assert token not in form.steps_html + form.ladder_text + form.result_html + form.status_html
    assert store.draft("smithlaw").plain()["inbound"]["server"]["oauth_token"] == token
    again = EmailSetup(store=store, org_key="smithlaw", overrides=_overrides(sb), timeout=3)
    assert again._auth.value == "oauth2" and again._inputs["inbound.server.oauth_token"].value == ""
    assert again.value["inbound"]["server"]["oauth_token"] == Secret(token)


@pytest.mark.parametrize(
    "provider,profile",
    [
        ("office365", "office365"),
        ("gmail", "gmail"),
        ("other", "postfix"),
        ("exchange", "postfix"),
        ("sandbox", "postfix"),
    ],
)
def test_each_provider_has_a_sandbox_stand_in(provider, profile):
    """Office 365 and Gmail get their own sandbox profile; the rest a self-hosted Postfix."""
    from mailsupport.widgets.setup import sandbox_profile

    assert sandbox_profile(provider) == profile
