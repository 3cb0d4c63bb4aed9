"""Tables that show everything: findings, routing decisions, the connection ladder, any rows.

One display helper for the notebooks, the widgets and the reports. Every value is shown in
full (no 50-character cut, unlike a pandas DataFrame's default), left-aligned (JupyterLab
right-aligns table cells), findings carry their severity colour, and long structured parts
(a finding's evidence, detail and reference; a routing trace) sit in expandable
``<details>`` sections. Every dynamic value goes through :func:`html.escape` (customer mail
and server replies are untrusted), and styles are inline, so a fragment looks the same in
JupyterLab, inside an ipywidgets ``HTML`` and in a self-contained report page.

Pure functions return HTML strings::

    severity_badge(severity) -> str               one coloured severity label
    table_html(columns, rows, *, expand, severity, title, note) -> str
    findings_html(findings, *, title, note) -> str
    ladder_html(report_or_pairs, *, title) -> str  the connection test as a coloured step table

and :class:`Table` is a value that shows itself: ``_repr_html_`` (the HTML above), ``str``
(plain text, every value whole) and :meth:`Table.to_frame` (pandas, imported inside).
:func:`findings_table` builds one from findings (alone, as ``(label, finding)`` pairs, or
as per-tenant results with ``tenant`` and ``findings`` attributes).

Pure (layer 2): imports only the standard library and :mod:`mailsupport.model`, so any
layer's ``_repr_html_`` may use it; must not import ipywidgets, pandas or matplotlib at
module level, nor clients, the sandbox or use cases (rungs and results are duck-typed).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .model import Finding, Severity

__all__ = [
    "SEVERITY_COLOURS",
    "FINDING_COLUMNS",
    "Table",
    "severity_badge",
    "table_html",
    "findings_html",
    "findings_table",
    "ladder_rows",
    "ladder_html",
]

#: Background and text colour of each severity's label (``ok`` for "nothing found").
SEVERITY_COLOURS: Mapping[str, tuple[str, str]] = {
    "critical": ("#7b1010", "#ffffff"),
    "error": ("#c9302c", "#ffffff"),
    "warning": ("#f0ad4e", "#222222"),
    "info": ("#d9edf7", "#222222"),
    "ok": ("#dff0d8", "#222222"),
}
#: Columns of a findings table; ``evidence`` also holds the detail and the reference.
FINDING_COLUMNS = ("severity", "check", "subject", "summary", "remedy", "evidence")

_TABLE = "border-collapse:collapse;margin:.3em 0;font-size:90%;width:auto"
# break-word (not anywhere): a column is never squeezed below its longest word, which wraps only if it must
_CELL = (
    "text-align:left;vertical-align:top;padding:3px 8px;border:1px solid #d0d0d0;"
    "white-space:pre-wrap;overflow-wrap:break-word"
)
_HEAD = _CELL + ";background:#f3f3f3;font-weight:600;white-space:nowrap"
_INNER = "border-collapse:collapse;font-size:95%"
_INNER_CELL = "text-align:left;vertical-align:top;padding:1px 6px;white-space:pre-wrap;overflow-wrap:break-word"
# long prose columns get a readable measure; ids and badges stay on one line
_WIDE = {"summary", "remedy", "reason", "detail", "evidence", "trace", "server said"}
_NOWRAP = {"severity", "check", "kind", "status", "worst"}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def severity_badge(severity: Severity | str | None) -> str:
    """One severity as a coloured, escaped label (unknown names get a neutral grey)."""
    name = "ok" if severity is None else str(severity).lower()
    bg, fg = SEVERITY_COLOURS.get(name, ("#e0e0e0", "#222222"))
    return (
        f"<span style='background:{bg};color:{fg};font-weight:600;padding:1px 6px;"
        f"border-radius:3px;white-space:nowrap'>{_e(name)}</span>"
    )


def _is_pairs(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and bool(value)
        and all(isinstance(v, (tuple, list)) and len(v) == 2 for v in value)
    )


def _cell_html(value: Any) -> str:
    """One value as HTML: pairs become a label/value table, other sequences a numbered list."""
    if isinstance(value, Severity):
        return severity_badge(value)
    if _is_pairs(value):
        rows = "".join(
            f"<tr><th style='{_INNER_CELL};font-weight:600;white-space:nowrap'>{_e(k)}</th>"
            f"<td style='{_INNER_CELL}'>{_e(v)}</td></tr>"
            for k, v in value
        )
        return f"<table style='{_INNER}'>{rows}</table>"
    if isinstance(value, (tuple, list)):
        if not value:
            return ""
        items = "".join(f"<li>{_e(v)}</li>" for v in value)
        return f"<ol style='margin:0;padding-left:1.6em'>{items}</ol>"
    return _e(value)


def _count(value: Any) -> int:
    if isinstance(value, (tuple, list)):
        return len(value)
    return 1 if value not in (None, "") else 0


def _expandable(value: Any, noun: str) -> str:
    """``value`` in a closed ``<details>`` whose summary says how much is inside."""
    n = _count(value)
    if n == 0:
        return ""
    label = f"{n} {noun}" if isinstance(value, (tuple, list)) else noun
    return f"<details><summary style='cursor:pointer'>{_e(label)}</summary>{_cell_html(value)}</details>"


def table_html(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    expand: Mapping[str, str] | None = None,
    severity: str | None = None,
    title: str = "",
    note: str = "",
) -> str:
    """An escaped HTML table of ``rows`` (sequences in ``columns`` order).

    ``expand`` maps a column to the noun its closed ``<details>`` summary counts
    (``{"trace": "steps"}`` shows "4 steps"); ``severity`` names the column whose value
    colours the row's left edge and is drawn as a badge. A cell may be text, a number, a
    :class:`~mailsupport.model.Severity`, a sequence (a numbered list) or ``(label, value)``
    pairs (a small table); all of it is escaped. ``title`` and ``note`` are plain text.
    """
    expand = dict(expand or {})
    sev_at = columns.index(severity) if severity in columns else None
    head = "".join(f"<th style='{_HEAD}'>{_e(c)}</th>" for c in columns)
    body = []
    for row in rows:
        edge = ""
        if sev_at is not None:
            colour = SEVERITY_COLOURS.get(str(row[sev_at]).lower(), ("#e0e0e0", ""))[0]
            edge = f" style='border-left:4px solid {colour}'"
        cells = []
        for name, value in zip(columns, row):
            if name in expand:
                inner = _expandable(value, expand[name])
            elif sev_at is not None and name == severity:
                inner = severity_badge(value)
            else:
                inner = _cell_html(value)
            width = (
                ";min-width:16em;max-width:48em" if name in _WIDE else ";white-space:nowrap" if name in _NOWRAP else ""
            )
            cells.append(f"<td style='{_CELL}{width}'>{inner}</td>")
        body.append(f"<tr{edge}>{''.join(cells)}</tr>")
    if not body:
        body.append(f"<tr><td style='{_CELL}' colspan='{max(len(columns), 1)}'>(none)</td></tr>")
    caption = f"<h4 style='margin:.6em 0 .2em'>{_e(title)}</h4>" if title else ""
    after = f"<p style='margin:.2em 0'>{_e(note)}</p>" if note else ""
    return (
        f"<div class='mailsupport-table'>{caption}<table style='{_TABLE}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{after}</div>"
    )


def _plain(value: Any) -> str:
    if _is_pairs(value):
        return "; ".join(f"{k}: {v}" for k, v in value)
    if isinstance(value, (tuple, list)):
        return " | ".join(str(v) for v in value)
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """A titled table that shows itself whole: escaped HTML in Jupyter, plain text in ``str``.

    ``rows`` hold the values in ``columns`` order (text, numbers, severities, sequences or
    ``(label, value)`` pairs); ``expand`` is ``(column, noun)`` pairs drawn as closed
    ``<details>``; ``severity`` names the column that colours each row.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    title: str = ""
    note: str = ""
    expand: tuple[tuple[str, str], ...] = ()
    severity: str | None = None

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], *, columns: Sequence[str] | None = None, **kw: Any) -> Table:
        """A table from mappings (e.g. ``summary_rows`` or ``decision_rows``): ``columns`` picks and
        orders the keys (default: the first row's)."""
        rows = list(rows)
        cols = tuple(columns) if columns is not None else tuple(rows[0]) if rows else ()
        return cls(columns=cols, rows=tuple(tuple(r.get(c) for c in cols) for r in rows), **kw)

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> tuple[Any, ...]:
        """Every value of column ``name``, in row order."""
        at = self.columns.index(name)
        return tuple(r[at] for r in self.rows)

    def _repr_html_(self) -> str:
        return table_html(
            self.columns, self.rows, expand=dict(self.expand), severity=self.severity, title=self.title, note=self.note
        )

    def __str__(self) -> str:
        """Plain text, one block per row, every value whole (for logs, terminals and copying)."""
        out = [self.title] if self.title else []
        width = max((len(c) for c in self.columns), default=0)
        for i, row in enumerate(self.rows, 1):
            out.append(f"-- {i}")
            out += [f"{c.rjust(width)}: {_plain(v)}" for c, v in zip(self.columns, row) if _plain(v)]
        if not self.rows:
            out.append("(none)")
        if self.note:
            out.append(self.note)
        return "\n".join(out)

    def __repr__(self) -> str:
        return f"<Table {self.title or 'untitled'!r}: {len(self.rows)} rows; columns {', '.join(self.columns)}>"

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame (sequences joined as in ``str``), for filtering and sorting."""
        import pandas as pd

        return pd.DataFrame(
            [[_plain(v) if isinstance(v, (tuple, list)) else v for v in r] for r in self.rows],
            columns=list(self.columns),
        )


def _finding_row(f: Finding) -> tuple[Any, ...]:
    extra = tuple(f.evidence)
    if f.detail:
        extra += (("detail", f.detail),)
    if f.reference:
        extra += (("reference", f.reference),)
    return (f.severity, f.check, f.subject, f.summary, f.remedy, extra)


def _flatten(items: Iterable[Any]) -> tuple[list[tuple[str, Finding]], bool]:
    out: list[tuple[str, Finding]] = []
    labelled = False
    for item in items:
        if isinstance(item, Finding):
            out.append(("", item))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Finding):
            out.append((str(item[0]), item[1]))
            labelled = True
        elif hasattr(item, "findings"):  # a per-tenant result (duck-typed: the audit's TenantResult)
            label = str(getattr(item, "tenant", ""))
            ordered = sorted(item.findings, key=lambda f: (-f.severity, f.check, f.subject))
            out += [(label, f) for f in ordered]
            labelled = True
        else:
            raise TypeError(
                f"expected a Finding, a (label, Finding) pair or a result with findings, got {type(item).__name__}"
            )
    return out, labelled


def findings_table(findings: Iterable[Any], *, title: str = "Findings", label: str = "tenant", note: str = "") -> Table:
    """Findings as a :class:`Table`: severity colour, full summary and remedy, evidence expandable.

    ``findings`` may hold :class:`~mailsupport.model.Finding` objects, ``(label, finding)``
    pairs (the demo's results) or per-tenant results with ``tenant`` and ``findings`` (the
    audit's); labelled rows get a first column named ``label``. The evidence column also
    holds the finding's detail and reference.
    """
    flat, labelled = _flatten(findings)
    columns = ((label,) if labelled else ()) + FINDING_COLUMNS
    rows = tuple(((name,) if labelled else ()) + _finding_row(f) for name, f in flat)
    return Table(
        columns=columns, rows=rows, title=title, note=note, expand=(("evidence", "items"),), severity="severity"
    )


def findings_html(findings: Iterable[Any], *, title: str = "", note: str = "") -> str:
    """:func:`findings_table` as an HTML string (for widgets and report pages)."""
    return findings_table(findings, title=title, note=note)._repr_html_()


# -- the connection test -------------------------------------------------------------------

#: Steps of a ladder in order (``tls`` only for implicit TLS, ``starttls`` only for STLS/STARTTLS).
_STEPS = ("dns", "connect", "tls", "greeting", "capabilities", "starttls", "auth", "final")
_STATUS = {
    "ok": ("ok", "#dff0d8", "#1e6b1e"),
    "fail": ("FAIL", "#f2dede", "#a01010"),
    "not reached": ("not reached", "#f4f4f4", "#777777"),
    "skipped": ("skipped", "#f4f4f4", "#777777"),
}
LADDER_COLUMNS = ("direction", "step", "status", "ms", "what happened", "server said")


def _remaining(probe: Any, ran: Sequence[Any]) -> list[str]:
    """The steps a failed ladder never reached, in order (none when it passed)."""
    if not ran or all(r.ok for r in ran):
        return []
    tls = str(getattr(probe, "tls", "")).lower()
    steps = [
        s
        for s in _STEPS
        if not (s == "tls" and tls != "implicit") and not (s == "starttls" and tls not in ("starttls", "stls"))
    ]
    last = ran[-1].step
    return steps[steps.index(last) + 1 :] if last in steps else []


def ladder_rows(report: Any) -> list[tuple[str, str, str, str, str, str]]:
    """``(direction, step, status, ms, what happened, server said)`` per rung of ``report``.

    ``report`` is a :class:`~mailsupport.doctor.report.SettingsReport` (its probes) or a
    sequence of ``(direction, rung)`` pairs as they arrive live. ``status`` is ``ok``,
    ``fail``, ``skipped`` (a direction that did not run, with the reason) or ``not reached``
    (the steps after a failed one).
    """
    rows: list[tuple[str, str, str, str, str, str]] = []
    if hasattr(report, "directions"):
        for probe in report.directions:
            name = str(probe.direction).upper()
            if probe.skipped:
                rows.append((name, "-", "skipped", "", probe.skipped, ""))
                continue
            for r in probe.rungs:
                rows.append(_rung_row(name, r))
            rows += [(name, s, "not reached", "", "", "") for s in _remaining(probe, probe.rungs)]
        return rows
    for direction, rung in report:
        rows.append(_rung_row(str(direction).upper(), rung))
    return rows


def _rung_row(direction: str, r: Any) -> tuple[str, str, str, str, str, str]:
    reply = r.reply if r.reply and r.reply not in r.detail else ""
    return (direction, r.step, "ok" if r.ok else "fail", f"{r.ms:.0f}", r.detail, reply)


def ladder_html(report: Any, *, title: str = "") -> str:
    """The connection test as a step table: one row per rung, green ``ok``, red ``FAIL``, grey
    for steps not reached and directions skipped; every value escaped (see :func:`ladder_rows`)."""
    rows = ladder_rows(report)
    head = "".join(f"<th style='{_HEAD}'>{_e(c)}</th>" for c in LADDER_COLUMNS)
    body = []
    for direction, step, status, ms, what, said in rows:
        label, bg, fg = _STATUS[status]
        body.append(
            f"<tr style='background:{bg}' data-status='{_e(status)}'>"
            f"<td style='{_CELL};white-space:nowrap'>{_e(direction)}</td>"
            f"<td style='{_CELL};white-space:nowrap'><code>{_e(step)}</code></td>"
            f"<td style='{_CELL};white-space:nowrap;color:{fg};font-weight:700'>{_e(label)}</td>"
            f"<td style='{_CELL};white-space:nowrap;text-align:right'>{_e(ms)}</td>"
            f"<td style='{_CELL};min-width:16em;max-width:48em'>{_e(what)}</td>"
            f"<td style='{_CELL};max-width:40em'><code>{_e(said)}</code></td></tr>"
        )
    if not body:
        body.append(f"<tr><td style='{_CELL}' colspan='{len(LADDER_COLUMNS)}'>(no step has run)</td></tr>")
    caption = f"<h4 style='margin:.6em 0 .2em'>{_e(title)}</h4>" if title else ""
    return (
        f"<div class='mailsupport-ladder'>{caption}<table style='{_TABLE}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
