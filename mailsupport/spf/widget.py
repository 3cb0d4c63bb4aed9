"""A notebook widget to edit a domain's SPF record and see the verdict, trace and suggestion live.

:class:`SpfEditor` composes a text box (the record), an optional client IP box and an HTML
pane; every edit calls :func:`mailsupport.spf.check_domain` with ``record=`` (nothing is
published) and renders the escaped result. Errors are caught and shown inside the widget
(JupyterLab hides callback exceptions). ipywidgets is imported inside the class.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ..config import DEFAULT_VENDOR_INCLUDE
from ..dnslookup import DnsLookup
from .diagnose import SpfCheck, check_domain

__all__ = ["SpfEditor"]


class SpfEditor:
    """Edit ``domain``'s record and see the result: display the object in a notebook.

    ``value`` is the record text being tried; ``result`` the latest :class:`SpfCheck`;
    ``layout`` the composed ipywidgets box. :meth:`set_record` changes the text from code.
    """

    def __init__(self, domain: str, *, lookup: DnsLookup, vendor_include: str = DEFAULT_VENDOR_INCLUDE,
                 record: str | None = None) -> None:
        import ipywidgets as w

        self.domain = domain
        self._lookup = lookup
        self._vendor = vendor_include
        self.result: SpfCheck | None = None
        published = check_domain(domain, lookup=lookup, vendor_include=vendor_include)
        start = record if record is not None else (published.records[0] if published.records else "v=spf1 ~all")
        self._text = w.Textarea(value=start, description="record", continuous_update=False,
                                layout=w.Layout(width="100%", height="4em"))
        self._ip = w.Text(value="", placeholder="vendor IPs", description="client IP", continuous_update=False)
        self._out = w.HTML()
        self._text.observe(self._changed, names="value")
        self._ip.observe(self._changed, names="value")
        self.layout = w.VBox([w.HTML(f"<b>SPF record of {escape(domain)}</b> (not published; "
                                     f"checked against {escape(lookup.source)})"),
                              self._text, self._ip, self._out])
        self._refresh()

    @property
    def value(self) -> str:
        """The record text being tried."""
        return self._text.value

    def set_record(self, text: str) -> SpfCheck | None:
        """Replace the record text (as if typed) and return the new result."""
        self._text.value = text
        return self.result

    def _changed(self, _change: Any) -> None:
        self._refresh()

    def _refresh(self) -> None:
        try:
            self.result = check_domain(self.domain, lookup=self._lookup, vendor_include=self._vendor,
                                       record=self._text.value, ip=self._ip.value.strip() or None)
            self._out.value = self.result._repr_html_()
        except Exception as exc:  # shown in the widget: callbacks cannot raise to the user
            self.result = None
            self._out.value = f'<p style="color:#b00">Could not check: {escape(str(exc))}</p>'

    def _repr_mimebundle_(self, **kw: Any) -> Any:
        return self.layout._repr_mimebundle_(**kw)
