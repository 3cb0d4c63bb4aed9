"""A notebook widget to edit a domain's SPF record and see the verdict, trace and suggestion live.

:class:`SpfEditor` composes a text box (the record), an optional client IP box and an HTML
pane; every edit calls :func:`mailsupport.spf.check_domain` with ``record=`` (nothing is
published) and renders the escaped result. Errors are caught and shown inside the widget
(JupyterLab hides callback exceptions). ipywidgets is imported inside the class.

:func:`notebook_lookup` picks who answers the notebook's DNS questions from one parameter:
the sandbox's DNS server (through :class:`SandboxDns`, which says so plainly once that
sandbox has stopped instead of timing out), the machine's resolver, or a named nameserver.
The sandbox is duck-typed (``running``, ``dns.address``), so this module never imports it.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ..dnslookup import CachedLookup, DnsAnswer, DnsLookup, ResolverLookup, make_lookup
from ..errors import ConfigError, DnsTempError
from ..tenant import DEFAULT_VENDOR_INCLUDE
from .diagnose import SpfCheck, check_domain

__all__ = ["SpfEditor", "SandboxDns", "notebook_lookup"]


class SandboxDns(CachedLookup):
    """The cached lookup over a sandbox's DNS server that checks the sandbox still runs first.

    Once the sandbox has stopped, every question (cached or not) fails at once with
    :class:`~mailsupport.errors.DnsTempError` saying so, instead of a timeout per question or
    stale answers from the cache.
    """

    def __init__(self, sandbox: Any, *, timeout: float = 5.0) -> None:
        host, port = sandbox.dns.address
        super().__init__(ResolverLookup.for_nameserver((host, port), timeout=timeout))
        self.sandbox = sandbox
        self.address = f"{host}:{port}"
        self.source = f"the sandbox DNS server {self.address}"

    @property
    def stopped(self) -> bool:
        """True once the sandbox it points at has stopped."""
        return not self.sandbox.running

    def _check(self, name: str, rdtype: str) -> None:
        if self.stopped:
            raise DnsTempError(
                f"cannot ask {name} {rdtype}: the sandbox this notebook started has stopped; "
                "run the 'Start the sandbox' cell again, then the cells after it",
                server=self.address,
            )

    def peek(self, name: str, rdtype: str) -> DnsAnswer | None:
        """The cached answer (see :class:`CachedLookup`), unless the sandbox has stopped."""
        self._check(name, rdtype)
        return super().peek(name, rdtype)

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask the sandbox's server once (cached), or fail at once if the sandbox stopped."""
        self._check(name, rdtype)
        return super().query(name, rdtype)

    async def aquery(self, name: str, rdtype: str) -> DnsAnswer:
        """The async form of :meth:`query`."""
        self._check(name, rdtype)
        return await super().aquery(name, rdtype)


def notebook_lookup(nameserver: str = "", *, sandbox: Any = None, timeout: float = 5.0) -> DnsLookup:
    """The one cached lookup a notebook shares, from its ``nameserver`` parameter.

    ``""`` (or ``"sandbox"``): the running ``sandbox``'s DNS server, as :class:`SandboxDns`;
    ``"system"``: this machine's resolver; anything else: that nameserver, ``HOST[:PORT]``.
    """
    choice = (nameserver or "").strip()
    if choice in ("", "sandbox"):
        if sandbox is None:
            raise ConfigError(
                "nameserver is empty, which means the sandbox, but no sandbox was given: "
                "start one or set nameserver to 'system' or HOST[:PORT]",
                path="nameserver",
            )
        return SandboxDns(sandbox, timeout=timeout)
    if choice == "system":
        return make_lookup(timeout=timeout)
    return make_lookup(nameserver=choice, timeout=timeout)


class SpfEditor:
    """Edit ``domain``'s record and see the result: display the object in a notebook.

    ``value`` is the record text being tried; ``result`` the latest :class:`SpfCheck`;
    ``layout`` the composed ipywidgets box. :meth:`set_record` changes the text from code.
    """

    def __init__(
        self, domain: str, *, lookup: DnsLookup, vendor_include: str = DEFAULT_VENDOR_INCLUDE, record: str | None = None
    ) -> None:
        import ipywidgets as w

        self.domain = domain
        self._lookup = lookup
        self._vendor = vendor_include
        self.result: SpfCheck | None = None
        published = check_domain(domain, lookup=lookup, vendor_include=vendor_include)
        start = record if record is not None else (published.records[0] if published.records else "v=spf1 ~all")
        self._text = w.Textarea(
            value=start, description="record", continuous_update=False, layout=w.Layout(width="100%", height="4em")
        )
        self._ip = w.Text(value="", placeholder="vendor IPs", description="client IP", continuous_update=False)
        self._out = w.HTML()
        self._text.observe(self._changed, names="value")
        self._ip.observe(self._changed, names="value")
        self.layout = w.VBox(
            [
                w.HTML(
                    f"<b>SPF record of {escape(domain)}</b> (not published; checked against {escape(lookup.source)})"
                ),
                self._text,
                self._ip,
                self._out,
            ]
        )
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

    @property
    def stopped(self) -> bool:
        """True when the lookup points at a sandbox that has stopped (see :func:`notebook_lookup`)."""
        return bool(getattr(self._lookup, "stopped", False))

    def _refresh(self) -> None:
        if self.stopped:
            self.result = None
            self._out.value = (
                '<p style="color:#b00"><b>The sandbox this editor points at has stopped</b> '
                f"({escape(self._lookup.source)}): nothing can be checked. Run the notebook's "
                "'Start the sandbox' cell again, then this editor's cell.</p>"
            )
            return
        try:
            self.result = check_domain(
                self.domain,
                lookup=self._lookup,
                vendor_include=self._vendor,
                record=self._text.value,
                ip=self._ip.value.strip() or None,
            )
            self._out.value = self.result._repr_html_()
        except Exception as exc:  # shown in the widget: callbacks cannot raise to the user
            self.result = None
            self._out.value = f'<p style="color:#b00">Could not check: {escape(str(exc))}</p>'

    def _repr_mimebundle_(self, **kw: Any) -> Any:
        return self.layout._repr_mimebundle_(**kw)
