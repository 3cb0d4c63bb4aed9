"""The connection doctor: why a customer's email settings "vanish" on save, and what to change.

The product tests the connection when settings are saved and silently drops them when the
test fails (help page, Email Setup tip). The doctor reproduces that test rung by rung:

* :func:`preflight` — problems visible without connecting (required fields per provider,
  impossible port/TLS pairs, download-then-delete confirmation, failed-address loop, ...);
* :func:`check_settings` — pre-flight, then the POP3 and SMTP ladders (DNS, TCP, TLS,
  greeting, capabilities, login incl. XOAUTH2, a harmless last step), classified into
  ``settings.*`` findings (:data:`SETTINGS_CHECKS`) with remedies and the server's words;
* :class:`DraftStore` — the "nothing lost" store: settings saved before any test, the report
  kept on failure, the last passing settings kept, and a field-by-field diff.

Imports no presentation library (the Email Setup form is ``mailsupport.widgets.setup``).
"""

from __future__ import annotations

from .classify import SETTINGS_CHECKS, classify_probe
from .drafts import DraftStore, FieldChange, diff_settings
from .ladder import check_settings, redactor_for
from .mx import check_o365_mx, evaluate_o365_mx
from .pop3_probe import probe_pop3
from .preflight import effective_servers, preflight, preflight_data
from .report import ProbeResult, Rung, SettingsReport
from .smtp_probe import probe_smtp

__all__ = [
    "SETTINGS_CHECKS",
    "classify_probe",
    "check_settings",
    "redactor_for",
    "check_o365_mx",
    "evaluate_o365_mx",
    "probe_pop3",
    "probe_smtp",
    "preflight",
    "preflight_data",
    "effective_servers",
    "ProbeResult",
    "Rung",
    "SettingsReport",
    "DraftStore",
    "FieldChange",
    "diff_settings",
]
