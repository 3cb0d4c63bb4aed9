"""Setting changes in the tenant file's own terms: ``inbound.catch_all_header=Envelope-To``.

Owns :class:`Change`, :func:`parse_change` and :func:`apply_changes`. A change names a field by
the path the tenant loader uses in its errors (``users[0].aliases``, ``inbound.catch_all_header``,
``inbound.mx_hosts``, ``failed_email_address``) and either sets it (``=``) or appends to a list
(``+=``). The tenant is turned back into the tenant file's data (:func:`~mailsupport.config.tenant_to_dict`),
changed, and validated again by :func:`~mailsupport.config.parse_tenant`, so a change can make
nothing a tenant file could not say, and a bad one is a :class:`~mailsupport.errors.ConfigError`
naming its path.

Values: ``=`` keeps the text as it is for a text field (``matters[0].id=1042`` stays the text
``1042``); for any other field the text is read as a TOML value when it is one (``size_limit=300000``,
``confirm_download_then_delete=false``, ``inbound.mx_hosts=["mx.example"]``,
``users+={address="new@firm.example"}``), else as text. ``+=`` appends one item (a TOML list
appends each). A catch-all setting may be named without ``inbound.``
(``catch_all_header=Envelope-To``). Passwords and tokens are never changed this way: they come
from the tenant file or its environment only.

Pure (layer 2): no files, no environment; imports the tenant loader and :mod:`tomllib`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

from ..config import parse_tenant, tenant_to_dict
from ..errors import ConfigError
from ..tenant import Inbound, Tenant

__all__ = ["Change", "parse_change", "apply_changes", "catch_all_change"]

_CHANGE_RE = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])*(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])*)*)"
    r"\s*(\+?=)(.*)$",
    re.S,
)
_SEGMENT_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")
_SECRET = ("password", "password_env", "oauth_token", "oauth_token_env")
_TOP = frozenset(f.name for f in fields(Tenant)) | {"description"}
_INBOUND = frozenset(f.name for f in fields(Inbound))


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One setting change: ``path`` (as the tenant loader names fields), ``op`` (``=`` or ``+=``) and the
    value as typed."""

    path: str
    op: str
    value: str

    def __str__(self) -> str:
        return f"{self.path} {self.op} {self.value}"

    def to_dict(self) -> dict[str, str]:
        """JSON-ready dict of every field."""
        return {"path": self.path, "op": self.op, "value": self.value}


def parse_change(text: str) -> Change:
    """``KEY=VALUE`` or ``KEY+=VALUE`` as a :class:`Change`; :class:`ConfigError` (path ``--change``) otherwise.

    A first segment that is no tenant field but a field of ``[inbound]`` gets ``inbound.`` in front.
    """
    m = _CHANGE_RE.match(text)
    if m is None:
        raise ConfigError(
            f"expected KEY=VALUE or KEY+=VALUE with KEY a tenant field path such as "
            f"inbound.catch_all_header or users[0].aliases, got {text[:80]!r}",
            path="--change",
        )
    path, op, value = m.group(1), m.group(2), m.group(3).strip()
    first = _SEGMENT_RE.match(path).group(1)
    if first not in _TOP and first in _INBOUND:
        path = f"inbound.{path}"
    last = _SEGMENT_RE.findall(path)[-1][0]
    if last in _SECRET:
        raise ConfigError(
            "passwords and tokens are not changed with --change: they come from the tenant file "
            "or its environment only",
            path=path,
        )
    return Change(path=path, op=op, value=value)


def catch_all_change(header: str) -> Change:
    """The change that makes the catch-all mailbox route by ``header``."""
    return Change(path="inbound.catch_all_header", op="=", value=header)


def _typed(text: str, current: Any) -> Any:
    """``text`` as the value it stands for (see the module docstring)."""
    if isinstance(current, str):
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _steps(path: str) -> list[tuple[str, int | None]]:
    """``users[0].aliases`` -> ``[("users", None), ("", 0), ("aliases", None)]`` as (key, index) steps."""
    out: list[tuple[str, int | None]] = []
    for name, indexes in _SEGMENT_RE.findall(path):
        out.append((name, None))
        out += [("", int(i)) for i in re.findall(r"\[(\d+)\]", indexes)]
    return out


def _walk(data: dict[str, Any], change: Change) -> tuple[Any, str | int, str]:
    """The container holding the changed value, its key or index, and the path walked so far."""
    steps = _steps(change.path)
    node: Any = data
    where = ""
    for n, (name, index) in enumerate(steps):
        last = n == len(steps) - 1
        key: str | int = name if index is None else index
        if index is None:
            if not isinstance(node, dict):
                raise ConfigError(f"{where or 'the tenant'} is not a table, so it has no field {name!r}", path=where)
            where = f"{where}.{name}" if where else name
            if last:
                return node, key, where
            if name not in node:  # an optional table not in the file yet ([inbound.server], [sending]...)
                node[name] = [] if n + 1 < len(steps) and steps[n + 1][1] is not None else {}
        else:
            if not isinstance(node, list):
                raise ConfigError(f"{where} is not a list, so it has no item [{index}]", path=where)
            if index >= len(node):
                have = f"items {where}[0] to {where}[{len(node) - 1}]" if node else "no items"
                raise ConfigError(f"there is no item [{index}]: {where} has {have}", path=f"{where}[{index}]")
            where = f"{where}[{index}]"
            if last:
                return node, key, where
        node = node[key]
    raise ConfigError("the change names no field", path=change.path)  # pragma: no cover - the regex needs one


def _apply(data: dict[str, Any], change: Change) -> None:
    holder, key, where = _walk(data, change)
    current = holder.get(key) if isinstance(holder, dict) else holder[key]
    if change.op == "=":
        holder[key] = _typed(change.value, current)
        return
    if current is None:
        current = []
        holder[key] = current
    if not isinstance(current, list):
        raise ConfigError(f"+= appends to a list, and {where} is not one (use =)", path=where)
    value = _typed(change.value, None)
    if isinstance(value, list):
        current.extend(value)
    elif isinstance(value, (dict, str)):
        current.append(value)
    elif all(isinstance(v, str) for v in current):
        current.append(change.value)  # a list of text (addresses, hosts): 1042 stays the text it was typed as
    else:
        current.append(value)


def apply_changes(tenant: Tenant, changes: Iterable[Change]) -> Tenant:
    """``tenant`` with ``changes`` applied in order and validated as a tenant file would be.

    Raises :class:`ConfigError` naming the path of a change that does not fit (an item that
    does not exist, a value the field does not take). The tenant's ``sample``, ``zones`` and
    ``source`` are kept as they were; no change leaves the tenant unchanged.
    """
    changes = list(changes)
    if not changes:
        return tenant
    data = tenant_to_dict(tenant, reveal_secrets=True)
    for change in changes:
        _apply(data, change)
    try:
        changed = parse_tenant(data, source=tenant.source or "<tenant>")
    except ConfigError as exc:
        raise ConfigError(exc.reason, path=exc.path, source=f"{tenant.source or '<tenant>'} with --change") from None
    return replace(changed, source=tenant.source, sample=tenant.sample, zones=tenant.zones)
