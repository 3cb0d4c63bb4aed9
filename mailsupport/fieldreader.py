"""Reading a parsed tenant file's fields: each value typed and checked, each error naming its field path.

:class:`FieldReader` walks a parsed mapping (TOML or JSON) and hands out typed values —
strings, whole numbers, numbers, booleans, enum choices, string lists, nested tables, secrets
given inline or by environment variable — raising :class:`~mailsupport.errors.ConfigError`
with the exact path of a bad field (``users[2].aliases[0]``) and what was expected, and refusing
fields it was not asked for (a misspelt key). No one-line field may hold a control character
or a Unicode line break, no multi-line text a NUL, no secret a line break or NUL (a secret is
never shown back). The ``check_*`` functions say what is wrong with an address, domain, host,
MX host or DKIM selector (``None`` when nothing is).

:mod:`mailsupport.config` builds a :class:`~mailsupport.tenant.Tenant` with it. Pure (layer 2):
imports errors and model only.
"""

from __future__ import annotations

import enum
import re
import reprlib
from collections.abc import Callable, Mapping
from typing import Any, Literal, overload

from .errors import ConfigError
from .model import Secret

__all__ = [
    "FieldReader",
    "check_address",
    "check_domain",
    "check_selector",
    "check_host",
    "check_mx_host",
    "shown",
    "bad_char",
    "ONE_LINE_BAD",
    "TEXT_BAD",
    "SECRET_BAD",
    "MULTI_LINE_FIELDS",
]

_ADDRESS_RE = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
#: Refused in every one-line field (addresses, names, hosts, ids): C0 controls (NUL, TAB, CR, LF...), DEL,
#: and every other character str.splitlines breaks at (NEL U+0085, U+2028, U+2029): in a header or a
#: POP3/SMTP command they would end the line or corrupt it.
ONE_LINE_BAD = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
#: Refused in the multi-line texts (signatures, disclaimer): NUL, which no mail text may carry.
TEXT_BAD = re.compile("\x00")
#: Refused in secrets: a line break or NUL would end a POP3/SMTP command early (never shown back).
SECRET_BAD = re.compile("[\x00\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
#: Fields whose text may span lines (a tenant's signatures and disclaimer): only NUL is refused there.
MULTI_LINE_FIELDS = ("signature", "division_signature", "disclaimer")
_NAMES = {
    "\x00": "NUL",
    "\t": "TAB",
    "\n": "LF (line feed)",
    "\r": "CR (carriage return)",
    "\x0b": "VT",
    "\x0c": "FF",
    "\x7f": "DEL",
    "\x85": "NEL (U+0085)",
    "\u2028": "LINE SEPARATOR (U+2028)",
    "\u2029": "PARAGRAPH SEPARATOR (U+2029)",
}
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 80
_SHOWN.maxlevel = 2


def shown(value: Any) -> str:
    """``repr(value)`` clipped for an error message (a huge or deeply nested value stays short)."""
    return _SHOWN.repr(value)


def bad_char(value: str, pattern: re.Pattern[str]) -> str | None:
    """What is wrong when ``value`` holds a character ``pattern`` refuses, naming it and where."""
    found = pattern.search(value)
    if found is None:
        return None
    ch = found.group()
    name = _NAMES.get(ch, f"control character U+{ord(ch):04X}")
    return (
        f"must not contain {name} (character {found.start() + 1}): a control character or line break "
        "would corrupt the header or command it goes into"
    )


class FieldReader:
    """Walks a parsed mapping, tracking the path of each field for error messages."""

    def __init__(self, data: Mapping[str, Any], path: str, source: str, environ: Mapping[str, str]) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a table, got {type(data).__name__}", path=path, source=source)
        self.data = data
        self.path = path
        self.source = source
        self.environ = environ
        self.used: set[str] = set()

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.sub(key), source=self.source)

    def raw(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def has(self, key: str) -> bool:
        return key in self.data

    @overload
    def string(
        self, key: str, default: str, *, check: Callable[[str], str | None] | None = None, required: bool = False
    ) -> str: ...
    @overload
    def string(
        self,
        key: str,
        default: None = None,
        *,
        check: Callable[[str], str | None] | None = None,
        required: Literal[True],
    ) -> str: ...
    @overload
    def string(
        self,
        key: str,
        default: None = None,
        *,
        check: Callable[[str], str | None] | None = None,
        required: bool = False,
    ) -> str | None: ...

    def string(
        self,
        key: str,
        default: str | None = None,
        *,
        check: Callable[[str], str | None] | None = None,
        required: bool = False,
    ) -> str | None:
        """The text at ``key`` (one line unless a multi-line field), checked; ``default`` when absent."""
        value = self.raw(key)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return default
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {type(value).__name__} {shown(value)}")
        problem = bad_char(value, TEXT_BAD if key in MULTI_LINE_FIELDS else ONE_LINE_BAD)
        if problem:
            raise self.fail(key, problem)
        if check is not None:
            problem = check(value)
            if problem:
                raise self.fail(key, problem)
        return value

    def integer(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number from {low} to {high}, got {shown(value)}")
        if not low <= value <= high:
            raise self.fail(key, f"expected a whole number from {low} to {high}, got {value}")
        return value

    def number(self, key: str, default: float, *, low: float, high: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise self.fail(key, f"expected a number from {low} to {high}, got {shown(value)}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {shown(value)}")
        return value

    def choice(self, key: str, enum_type: type[enum.Enum], default: Any) -> Any:
        value = self.raw(key)
        if value is None:
            return default
        try:
            return enum_type(value)
        except ValueError:
            options = ", ".join(repr(m.value) for m in enum_type)
            raise self.fail(key, f"expected one of {options}, got {shown(value)}") from None

    def string_list(self, key: str, *, check: Callable[[str], str | None] | None = None) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        if isinstance(value, str) or not isinstance(value, list):
            raise self.fail(key, f"expected a list of strings, got {type(value).__name__}")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{key}[{i}]", f"expected a string, got {type(item).__name__} {shown(item)}")
            problem = bad_char(item, ONE_LINE_BAD)
            if problem:
                raise self.fail(f"{key}[{i}]", problem)
            if check is not None:
                problem = check(item)
                if problem:
                    raise self.fail(f"{key}[{i}]", problem)
            out.append(item)
        return tuple(out)

    def table(self, key: str) -> FieldReader | None:
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a table, got {type(value).__name__}")
        return FieldReader(value, self.sub(key), self.source, self.environ)

    def tables(self, key: str) -> list[FieldReader]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of tables, got {type(value).__name__}")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise self.fail(f"{key}[{i}]", f"expected a table, got {type(item).__name__}")
            out.append(FieldReader(item, self.sub(f"{key}[{i}]"), self.source, self.environ))
        return out

    def secret(self, key: str) -> Secret | None:
        """A secret given inline (``password = "..."``) or by name (``password_env = "VAR"``)."""
        env_key = f"{key}_env"
        value = self.raw(key)
        env_name = self.raw(env_key)
        if value is not None and env_name is not None:
            raise self.fail(key, f"give either {key} or {env_key}, not both")
        if env_name is not None:
            if not isinstance(env_name, str) or not env_name:
                raise self.fail(env_key, "expected the name of an environment variable")
            if env_name not in self.environ:
                raise self.fail(env_key, f"environment variable {env_name} is not set")
            if SECRET_BAD.search(self.environ[env_name]):  # never shown: only that it is there
                raise self.fail(
                    env_key,
                    f"environment variable {env_name} holds a line break or NUL: it would end the login command early",
                )
            return Secret(self.environ[env_name])
        if value is None:
            return None
        if not isinstance(value, str):
            # never echo the value: it may be a mistyped password
            raise self.fail(key, f"expected a string, got {type(value).__name__}")
        if SECRET_BAD.search(value):  # never shown: only that it is there
            raise self.fail(key, "must not contain a line break or NUL: it would end the login command early")
        return Secret(value)

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(unknown[0], "is not a known field (check the spelling; see mailsupport.config)")


def check_address(value: str) -> str | None:
    if not _ADDRESS_RE.match(value.strip()):
        return f"expected an email address like name@example.com, got {shown(value)}"
    return None


def check_domain(value: str) -> str | None:
    if not _DOMAIN_RE.match(value.strip().rstrip(".")):
        return f"expected a domain name like example.com, got {shown(value)}"
    return None


_SELECTOR_RE = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*$"
)


def check_selector(value: str) -> str | None:
    if not _SELECTOR_RE.match(value):
        return f"expected a DKIM selector (DNS labels such as selector1 or s2024), got {value!r}"
    return None


def check_host(value: str) -> str | None:
    if check_domain(value) is None:
        return None
    import ipaddress

    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        return f"expected a host name or IP address, got {shown(value)}"


def check_mx_host(value: str) -> str | None:
    if check_domain(value) is None:
        return None
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
        return None
    except ValueError:
        return f"expected a host name, domain, IP address or network (10.0.0.0/8), got {value!r}"
