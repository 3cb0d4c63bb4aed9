"""The Email Setup form as an ipywidgets widget that never loses what was typed.

It mirrors the product's Admin > Email > Email Setup page (help page, Steps 1-4): a provider
dropdown (Outbound only, Microsoft Office 365, Microsoft Exchange Server, Gmail/Google Apps,
Other) that shows exactly the fields that provider needs (:data:`mailsupport.tenant.PRESETS`),
the download-then-delete confirmation, signature and disclaimer, and the failed-emails
address. Office 365 and Gmail also offer OAuth2: "Sign in with" switches the password field
for an access-token field (XOAUTH2), and Office 365 says that password (basic) sign-in is off.
"Test & save" first keeps the settings as a draft
(:class:`~mailsupport.doctor.drafts.DraftStore`, by default in the fixed folder of
:func:`~mailsupport.doctor.drafts.default_drafts_dir`, so running the notebook again brings
the draft back), then runs the connection doctor and draws it as a coloured step table as
it runs (:func:`mailsupport.display.ladder_html`; the plain-text ladder stays below, folded,
for copying); a failed test keeps the draft with its report, and the differences from the
last passing settings are shown. Changing the provider clears the previous test's results.

Composed widget: private children, ``layout`` (the displayed box), ``value`` (the settings,
secrets as :class:`~mailsupport.model.Secret`). Callbacks catch and show their errors inside
the widget; every rendered value is HTML-escaped; a kept password or token is never sent
back to the browser (the field stays empty and the kept secret is reused).

Layer 5 (presentation): imports ipywidgets at module level, so only import this module
explicitly (``mailsupport/__init__`` never does). Must not import the sandbox.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import ipywidgets as w

from ..display import findings_html, ladder_html
from ..doctor.drafts import DraftStore, default_drafts_dir, diff_settings, merge_secrets, split_secrets
from ..doctor.ladder import check_settings, redactor_for
from ..doctor.preflight import preflight_data
from ..doctor.report import Rung, SettingsReport, format_rung
from ..model import Finding, Secret, Severity
from ..tenant import PRESETS, Provider

__all__ = [
    "EmailSetup",
    "PROVIDER_CHOICES",
    "AUTH_CHOICES",
    "OAUTH_PROVIDERS",
    "visible_fields",
    "render_findings_html",
    "sandbox_overrides",
    "sandbox_profile",
]

#: The dropdown, in the help page's order.
PROVIDER_CHOICES = tuple(
    (PRESETS[p].label, p.value)
    for p in (Provider.OUTBOUND_ONLY, Provider.OFFICE365, Provider.EXCHANGE, Provider.GMAIL, Provider.OTHER)
)
#: How the mailbox signs in, for the providers that take OAuth2 (XOAUTH2) access tokens.
AUTH_CHOICES = (("Password (or app password)", "password"), ("OAuth2 access token", "oauth2"))
OAUTH_PROVIDERS = ("office365", "gmail")
#: What the form says under "Sign in with", per provider.
_AUTH_NOTES = {
    "office365": (
        "Microsoft has switched off password (basic) sign-in for POP on Exchange Online since "
        "1 October 2022 and is retiring it for SMTP AUTH: a correct password is still refused. "
        "Choose <b>OAuth2 access token</b> and paste a token issued for this mailbox (XOAUTH2)."
    ),
    "gmail": (
        "Google refuses the account password since 30 September 2024: use an app password "
        "(with 2-Step Verification) or choose <b>OAuth2 access token</b> (XOAUTH2)."
    ),
}
#: The sandbox profile that stands in for each provider's servers.
_PROFILES = {"office365": "office365", "gmail": "gmail"}

# field path -> (label, kind); kind: text | password | port | tls | checkbox | area
_FIELDS: dict[str, tuple[str, str]] = {
    "outbound.from_address": ("Email address", "text"),
    "outbound.server.host": ("SMTP server", "text"),
    "outbound.server.port": ("SMTP port", "port"),
    "outbound.server.tls": ("SMTP TLS", "tls"),
    "outbound.server.username": ("SMTP user name", "text"),
    "outbound.server.password": ("SMTP password", "password"),
    "inbound.address": ("Login / email address", "text"),
    "inbound.server.host": ("Server", "text"),
    "inbound.server.port": ("Port", "port"),
    "inbound.server.tls": ("TLS", "tls"),
    "inbound.server.username": ("User name", "text"),
    "inbound.server.password": ("Password", "password"),
    "inbound.server.oauth_token": ("OAuth2 access token", "password"),
    "inbound.kind": ("This is a wildcard/catch-all mailbox", "checkbox"),
    "inbound.confirm_download_then_delete": (
        "I understand every email already in this mailbox will be downloaded, then deleted",
        "checkbox",
    ),
    "division_signature": ("Default signature", "area"),
    "disclaimer": ("Disclaimer", "area"),
    "failed_email_address": ("Forward failed emails to", "text"),
}
_COMMON = ("division_signature", "disclaimer", "failed_email_address")


def visible_fields(provider: Provider | str, auth: str = "password") -> tuple[str, ...]:
    """The field paths the form shows for ``provider``: the preset's required fields (with the
    TLS mode next to every port; the access token instead of the password when ``auth`` is
    ``"oauth2"`` for Office 365 or Gmail), the confirmation checkbox when mail is fetched, and
    the signature, disclaimer and failed-emails address (help page, Steps 2-4)."""
    preset = PRESETS[Provider(provider)]
    oauth = auth == "oauth2" and preset.provider.value in OAUTH_PROVIDERS
    out: list[str] = []
    for path in preset.required:
        if oauth and path == "inbound.server.password":
            path = "inbound.server.oauth_token"
        out.append(path)
        if path.endswith(".server.port"):
            out.append(path.replace(".port", ".tls"))
    if preset.provider is Provider.OTHER:
        out += ["outbound.server.host", "outbound.server.port", "outbound.server.tls"]
    if preset.fetches:
        out.append("inbound.confirm_download_then_delete")
    out += list(_COMMON)
    return tuple(dict.fromkeys(out))


def render_findings_html(findings: tuple[Finding, ...] | list[Finding]) -> str:
    """Findings as the shared escaped table (:func:`mailsupport.display.findings_html`):
    severity colour, summary, what to do, the server's words among the evidence."""
    if not findings:
        return "<p>No problems found.</p>"
    return findings_html(findings)


def sandbox_profile(provider: Provider | str) -> str:
    """The sandbox profile standing in for ``provider``'s servers: ``office365`` and ``gmail``
    answer like those services (basic sign-in refused, app passwords, XOAUTH2); every other
    provider gets ``postfix`` (a self-hosted Postfix + Dovecot)."""
    return _PROFILES.get(Provider(provider).value, "postfix")


def sandbox_overrides(sandbox: Any) -> dict[str, Any]:
    """Overrides that make the form's provider servers the sandbox's (implicit-TLS POP3,
    STARTTLS submission, its CA trusted): the sandbox stands in for the provider. Duck-typed
    (``pop3_tls``, ``smtp``, ``ca_file``), so this module never imports the sandbox."""
    return {
        "inbound": {
            "server": {
                "host": sandbox.pop3_tls.host,
                "port": sandbox.pop3_tls.port,
                "tls": "implicit",
                "ca_file": sandbox.ca_file,
            }
        },
        "outbound": {
            "server": {
                "host": sandbox.smtp.host,
                "port": sandbox.smtp.port,
                "tls": "starttls",
                "ca_file": sandbox.ca_file,
            }
        },
    }


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    node = data
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _get_path(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


class EmailSetup:
    """The Email Setup form (see the module docstring).

    ``store`` keeps drafts (default: a :class:`DraftStore` in
    :func:`~mailsupport.doctor.drafts.default_drafts_dir`); ``org_key`` names the tenant;
    ``provider`` and ``auth`` (``"password"`` or ``"oauth2"``) are the first choices shown
    (a kept draft's win); ``overrides`` (tenant-file shape,
    e.g. ``{"inbound": {"server": {"host": "127.0.0.1", "port": 50110, "ca_file": ...}}}``)
    is merged into the settings before testing, so a provider's form can be tested against
    the sandbox standing in for the provider's servers; ``dns`` and ``timeout`` are passed to
    :func:`~mailsupport.doctor.check_settings`; ``now`` returns the time for the draft.
    """

    def __init__(
        self,
        *,
        store: DraftStore | None = None,
        org_key: str = "typed",
        provider: Provider | str = "office365",
        auth: str = "password",
        overrides: Mapping[str, Any] | None = None,
        dns: Any = None,
        timeout: float | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store if store is not None else DraftStore(default_drafts_dir())
        self._org_key = org_key
        self._overrides = dict(overrides or {})
        self._dns = dns
        self._timeout = timeout
        self._now = now or (lambda: datetime.now(UTC))
        self._kept_secrets: dict[str, Secret] = {}
        self._redact: Callable[[str], str] | None = None
        self.report: SettingsReport | None = None
        self._live: list[tuple[str, Rung]] = []
        provider = str(getattr(provider, "value", provider))
        known = {v for _, v in PROVIDER_CHOICES}  # a tenant file's "sandbox" provider is shown as Other
        self._provider = w.Dropdown(
            options=PROVIDER_CHOICES, value=provider if provider in known else "other", description="Provider"
        )
        self._auth = w.ToggleButtons(
            options=AUTH_CHOICES,
            value=auth,
            description="Sign in with",
            style={"description_width": "14em", "button_width": "16em"},
        )
        self._auth_note = w.HTML()
        self._inputs: dict[str, w.Widget] = {
            path: self._make(path, label, kind) for path, (label, kind) in _FIELDS.items()
        }
        self._fields_box = w.VBox()
        self._button = w.Button(description="Test & save", button_style="primary", icon="plug")
        self._status = w.HTML()
        self._steps = w.HTML()  # the connection test as a coloured step table, drawn as it runs
        self._ladder = w.Output(layout=w.Layout(min_height="2em"))  # the same as plain text, to copy
        self._text = w.Accordion(
            children=[self._ladder], titles=("Connection test as plain text (to copy)",), selected_index=None
        )
        self._result = w.HTML()
        self._provider.observe(self._on_provider, names="value")
        self._auth.observe(self._on_provider, names="value")
        self._button.on_click(self._on_click)
        self._last_good_button = w.Button(description="Use last good settings", icon="undo")
        self._last_good_button.on_click(self._on_last_good)
        self.layout = w.VBox(
            [
                w.HTML("<h3>Email Setup</h3>"),
                self._provider,
                self._auth,
                self._auth_note,
                self._fields_box,
                w.HBox([self._button, self._last_good_button]),
                self._status,
                self._steps,
                self._text,
                self._result,
            ]
        )
        self._restore()
        self._show_fields()

    # -- construction ---------------------------------------------------------------
    @staticmethod
    def _make(path: str, label: str, kind: str) -> w.Widget:
        style = {"description_width": "14em"}
        wide = w.Layout(width="38em")
        if kind == "password":
            return w.Password(description=label, style=style, layout=wide)
        if kind == "port":
            return w.IntText(value=0, description=label, style=style)
        if kind == "tls":
            return w.Dropdown(
                options=(("implicit TLS", "implicit"), ("STARTTLS / STLS", "starttls"), ("none", "none")),
                value="implicit" if path.startswith("inbound") else "starttls",
                description=label,
                style=style,
            )
        if kind == "checkbox":
            return w.Checkbox(value=False, description=label, indent=False, layout=w.Layout(width="auto"))
        if kind == "area":
            return w.Textarea(description=label, style=style, layout=wide)
        return w.Text(description=label, style=style, layout=wide)

    def _restore(self) -> None:
        """Fill the form from the kept draft (nothing typed is lost between visits)."""
        draft = self._store.draft(self._org_key)
        if draft is not None:
            self._load(draft.data)
            self._status.value = (
                f"<p>Your kept draft from {html.escape(draft.saved_at)} "
                f"(status: {html.escape(draft.status)}) was restored.</p>"
            )

    def _load(self, data: Mapping[str, Any]) -> None:
        """Show ``data`` (tenant-file shape) in the form; secrets are kept, never sent to the browser."""
        provider = data.get("provider")
        if provider in {v for _, v in PROVIDER_CHOICES}:
            self._provider.value = provider
        if self._provider.value in OAUTH_PROVIDERS:
            self._auth.value = "oauth2" if _get_path(data, "inbound.server.oauth_token") else "password"
        self._kept_secrets = {}
        for path, widget in self._inputs.items():
            value = _get_path(data, path)
            if isinstance(widget, w.Password):
                widget.value = ""
                widget.placeholder = ""
                if isinstance(value, Secret):
                    self._kept_secrets[path] = value
                    widget.placeholder = "(kept - leave empty to use the saved one)"
            elif path == "inbound.kind":
                widget.value = value == "catch-all"
            elif isinstance(widget, w.IntText):
                widget.value = int(value) if str(value).isdigit() else 0
            elif isinstance(widget, w.Checkbox):
                widget.value = bool(value)
            elif isinstance(widget, w.Dropdown):
                if value in {v for _, v in widget.options}:
                    widget.value = value
            else:
                widget.value = "" if value is None else str(value)

    def use_last_good(self) -> bool:
        """Put the last settings that passed back into the form; False when none passed yet."""
        good = self._store.last_good(self._org_key)
        if good is None:
            self._status.value = "<p>No settings have passed a test yet.</p>"
            return False
        self._load(good.data)
        self._status.value = (
            f"<p>The last good settings (tested {html.escape(good.saved_at)}) are back in the form; "
            "press Test &amp; save to use them.</p>"
        )
        return True

    def _on_last_good(self, _button: w.Button) -> None:
        try:
            self.use_last_good()
        except Exception as exc:  # shown inside the widget (JupyterLab hides callback errors)
            self._status.value = (
                f"<p style='color:#b00'>Error: {html.escape(type(exc).__name__)}: {html.escape(str(exc))}</p>"
            )

    def _on_provider(self, change: Mapping[str, Any]) -> None:
        try:
            self.clear_results()
            self._show_fields()
        except Exception as exc:  # JupyterLab hides callback errors: show them here
            self._status.value = f"<p style='color:#b00'>Error: {html.escape(str(exc))}</p>"

    def clear_results(self) -> None:
        """Forget the last test's report, steps, text and findings (they were for other settings)."""
        self.report = None
        self._live = []
        self._status.value = ""
        self._steps.value = ""
        self._ladder.outputs = ()
        self._result.value = ""

    def _show_fields(self) -> None:
        provider = self._provider.value
        oauth = provider in OAUTH_PROVIDERS
        self._auth.layout.display = None if oauth else "none"
        self._auth_note.value = (
            f"<p style='margin:.2em 0 .4em 14em;max-width:40em'>{_AUTH_NOTES[provider]}</p>" if oauth else ""
        )
        self._fields_box.children = [self._inputs[p] for p in self.visible]

    # -- value ----------------------------------------------------------------------
    @property
    def visible(self) -> tuple[str, ...]:
        """The field paths shown for the current provider and sign-in choice."""
        return visible_fields(self._provider.value, self._auth.value)

    def set_field(self, path: str, value: Any) -> None:
        """Set one field by its path (for scripts and headless tests); ``provider`` and ``auth``
        set the provider dropdown and the sign-in choice."""
        if path == "provider":
            self._provider.value = value
        elif path == "auth":
            self._auth.value = value
        else:
            self._inputs[path].value = value

    @property
    def value(self) -> dict[str, Any]:
        """The settings as typed (tenant-file shape), secrets as :class:`Secret`."""
        data: dict[str, Any] = {"org_key": self._org_key, "provider": self._provider.value}
        for path in self.visible:
            widget = self._inputs[path]
            raw = widget.value
            if path == "inbound.kind":
                raw = "catch-all" if raw else "single"
            elif isinstance(widget, w.Password):
                raw = Secret(raw) if raw else self._kept_secrets.get(path)
            elif isinstance(widget, w.IntText) and not raw:
                raw = None
            elif isinstance(raw, str):
                raw = raw.strip() if not isinstance(widget, w.Textarea) else raw
            if raw in (None, ""):
                continue
            _set_path(data, path, raw)
        return data

    def _typed_settings(self) -> dict[str, Any]:
        """What was typed, secrets revealed (for the draft store and the parser only)."""
        clean, secrets = split_secrets(self.value)
        return merge_secrets(clean, secrets, reveal=True)

    # -- Test & save ----------------------------------------------------------------
    def _on_rung(self, direction: str, rung: Rung) -> None:
        rung = rung.redacted(self._redact) if self._redact is not None else rung
        self._live.append((direction, rung))
        self._steps.value = ladder_html(self._live, title="Connection test")
        self._ladder.append_stdout(f"{direction.upper()}{format_rung(rung)}\n")

    def test_and_save(self) -> SettingsReport | None:
        """Keep the draft, run the doctor, keep the report; returns the report (``None`` when the
        settings could not even be parsed: the finding names the field)."""
        typed = self._typed_settings()
        self._store.save_draft(typed, now=self._now())  # nothing lost: kept before any test
        settings = _merge(json.loads(json.dumps(typed)), self._overrides)
        self.clear_results()
        self._status.value = "<p>Draft saved. Testing the connection...</p>"
        tenant, pre = preflight_data(settings)
        if tenant is None:
            self._store.record_result(
                self._org_key, {"ok": False, "findings": [f.to_dict() for f in pre]}, now=self._now()
            )
            self._status.value = (
                "<p><b>Not saved as working settings</b> - your draft is kept. Fix the field below and test again.</p>"
            )
            self._result.value = render_findings_html(pre)
            return None
        self._redact = redactor_for(tenant)  # a second guard on all the widget shows and keeps
        report = check_settings(tenant, dns=self._dns, timeout=self._timeout, on_rung=self._on_rung)
        report = report.redacted(self._redact)
        self.report = report
        self._steps.value = ladder_html(report, title="Connection test")  # adds skipped and not-reached steps
        self._store.record_result(tenant.org_key, report, now=self._now())
        if report.ok:
            self._status.value = "<p><b>Test passed.</b> Settings saved as the last good settings.</p>"
        else:
            self._status.value = (
                "<p><b>Test failed</b> - your draft is kept (nothing you typed is lost). See what to change below.</p>"
            )
        self._result.value = (
            render_findings_html([f for f in report.findings if f.severity >= Severity.INFO]) + self._diff_html()
        )
        return report

    def _diff_html(self) -> str:
        good = self._store.last_good(self._org_key)
        draft = self._store.draft(self._org_key)
        if good is None or draft is None:
            return ""
        changes = diff_settings(good.data, draft.data)
        if not changes:
            return "<p>Same as the last good settings.</p>"
        rows = "".join(
            f"<tr><td>{html.escape(c.path)}</td><td>{html.escape(c.before)}</td><td>{html.escape(c.after)}</td></tr>"
            for c in changes
        )
        return (
            "<p>Changed since the last good settings:</p><table><tr><th>field</th><th>last good</th>"
            f"<th>draft</th></tr>{rows}</table>"
        )

    def _on_click(self, _button: w.Button) -> None:
        self._button.disabled = True
        try:
            self.test_and_save()
        except Exception as exc:  # shown inside the widget; the draft was saved first
            words = self._redact(str(exc)) if self._redact is not None else str(exc)
            self._status.value = (
                f"<p style='color:#b00'>The test could not run: {html.escape(type(exc).__name__)}: "
                f"{html.escape(words)}. Your draft is kept.</p>"
            )
        finally:
            self._button.disabled = False

    def click(self) -> None:
        """Press "Test & save" (for headless tests: same path as a real click)."""
        self._button.click()

    # -- display ----------------------------------------------------------------------
    @property
    def ladder_text(self) -> str:
        """The ladder lines written so far (plain text)."""
        return "".join(o.get("text", "") for o in self._ladder.outputs)

    @property
    def steps_html(self) -> str:
        """The coloured step table's HTML (empty before a test and after the provider changed)."""
        return self._steps.value

    @property
    def status_html(self) -> str:
        """The status line's HTML."""
        return self._status.value

    @property
    def result_html(self) -> str:
        """The findings (and diff) HTML."""
        return self._result.value

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.layout._repr_mimebundle_(**kwargs)
