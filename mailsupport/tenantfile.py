"""Reading a tenant file's text safely: a regular file, a size cap, a nesting cap, then the parser.

A tenant file comes from outside (a customer export, a ticket attachment), so before the JSON
or TOML parser sees it: it must be a regular file (a FIFO would block the read, a device never
end), at most :data:`MAX_TENANT_BYTES`, UTF-8, and nested at most :data:`MAX_DEPTH` arrays and
tables deep (a real tenant file needs four; both parsers recurse, and a file nested 100,000
deep would end in ``RecursionError``). Each refusal is a
:class:`~mailsupport.errors.ConfigError` naming the file and where: the field path for JSON
(``users[0].aliases[0][0]``), the line and column, and the key for TOML.

Pure (layer 2): reads the one file it is given; must not import clients, the sandbox or
presentation modules, nor :mod:`os`.
"""

from __future__ import annotations

import json
import re
import stat
import tomllib
from itertools import repeat
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["MAX_TENANT_BYTES", "MAX_DEPTH", "read_tenant_text", "parse_tenant_text", "nesting_problem"]

#: Largest tenant file read (4 MiB: a firm with 20,000 matters is about 1 MiB).
MAX_TENANT_BYTES = 4 << 20
#: Deepest nesting of arrays and tables accepted (a real tenant file: 4).
MAX_DEPTH = 32

# Tokens that matter for nesting. JSON: strings (possibly unterminated), brackets, separators.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{},:]')
# TOML: comments, the four string forms (an unterminated one runs to the end, so the scan stays
# linear), bare keys, brackets, separators and line ends.
_TOML_TOKENS = re.compile(
    r'''#[^\n]*|"""(?:[^\\]|\\.)*?(?:"""|\Z)|\'\'\'.*?(?:\'\'\'|\Z)|"[^"\\\n]*(?:\\.[^"\\\n]*)*"?'''
    r"""|'[^'\n]*'?|[A-Za-z0-9_-]+|[\[\]{},=\n]""",
    re.S,
)
_TOML_HEADER = re.compile(r"\[\[?([^\]\n]*)\]\]?")


def read_tenant_text(path: str | Path) -> str:
    """The text of the tenant file at ``path``; :class:`ConfigError` for anything it cannot safely be."""
    p = path if isinstance(path, Path) else Path(path)
    source = str(p)
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            kind = (
                "a folder"
                if stat.S_ISDIR(st.st_mode)
                else "a FIFO (named pipe)"
                if stat.S_ISFIFO(st.st_mode)
                else "a device or socket"
            )
            raise ConfigError(f"{kind}, not a regular file: give a .toml or .json tenant file", source=source)
        if st.st_size > MAX_TENANT_BYTES:
            raise ConfigError(
                f"the file is {st.st_size:,} bytes, over the {MAX_TENANT_BYTES:,}-byte cap for a "
                "tenant file: is it the right file?",
                source=source,
            )
        with p.open("rb") as fh:
            # what stat() reported and one byte more, in case the file grew since (then up to the
            # cap): read(cap + 1) would allocate a 4 MiB buffer for every small file
            raw = fh.read(st.st_size + 1)
            if len(raw) > st.st_size:
                raw += fh.read(MAX_TENANT_BYTES + 1 - len(raw))
    except OSError as exc:
        raise ConfigError(f"cannot read the tenant file ({exc.strerror or exc})", source=source) from exc
    if len(raw) > MAX_TENANT_BYTES:
        raise ConfigError(
            f"the file grew past the {MAX_TENANT_BYTES:,}-byte cap for a tenant file while read", source=source
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", source=source) from None


def _position(text: str, at: int) -> str:
    line = text.count("\n", 0, at) + 1
    return f"line {line}, column {at - (text.rfind(chr(10), 0, at) + 1) + 1}"


def _field_path(stack: list[list[Any]], prefix: str = "") -> str:
    """The field path of the innermost value: ``prefix``, then each array index or table key."""
    out = prefix
    for opener, label, _expect_key in stack:
        if opener == "[":
            out += f"[{label}]"
        elif label is not None:
            out += f".{label}" if out else str(label)
    return out


def nesting_problem(text: str, *, json_syntax: bool, max_depth: int = MAX_DEPTH) -> tuple[str, str] | None:
    """``(path, message)`` where ``text`` nests arrays/tables deeper than ``max_depth``, else ``None``.

    A linear scan of the tokens that matter (strings and comments are skipped whole), so it
    never recurses whatever the input. Depth counts every enclosing table and array, the file's
    root table and a TOML header's tables included (``[[users]]`` is three deep, as
    ``{"users": [{`` is). The path is the field path of the value that goes too
    deep (``users[0].aliases[0][0]``); for TOML the table header and key come first, then the
    indexes and inline-table keys (``users[0].aliases[0][0]`` there too).

    The scan is skipped when a count shows no value can be that deep (:func:`_shallow`), as
    for every ordinary tenant file.
    """
    if _shallow(text, json_syntax=json_syntax, max_depth=max_depth):
        return None
    return _scan(text, json_syntax=json_syntax, max_depth=max_depth)


def _shallow(text: str, *, json_syntax: bool, max_depth: int) -> bool:
    """True when nothing in ``text`` can be nested ``max_depth`` deep, by counting alone.

    Every level the scan counts is an opening bracket or brace (counted anywhere, strings too),
    or for TOML the root table, an array of tables' extra level, and a header's parts (one more
    than its dots, all on the header's line). The scan reports a problem only when an opener
    would go past ``max_depth``, so with at most ``max_depth`` openers in a JSON file, or
    ``openers + most dots on one line + 3`` within ``max_depth`` for TOML, it cannot. A real
    tenant file has about ten openers and four dots on a line.
    """
    openers = text.count("[") + text.count("{")
    if json_syntax:
        return openers <= max_depth
    return openers + max(map(str.count, text.split("\n"), repeat("."))) + 3 <= max_depth


def _scan(text: str, *, json_syntax: bool, max_depth: int) -> tuple[str, str] | None:
    """The token scan behind :func:`nesting_problem`."""
    stack: list[list[Any]] = []  # [opener, key or index, expecting a key]
    base = ""  # TOML: the current [table] header (an array of tables with its index: users[1])
    headers: dict[str, int] = {}  # TOML: [[name]] headers seen so far, by name
    outer = 0 if json_syntax else 1  # TOML: tables and arrays around the current one (its root table, headers)
    key = None  # TOML: the last bare or quoted key at the top level
    tokens = (_JSON_TOKENS if json_syntax else _TOML_TOKENS).finditer(text)
    for match in tokens:
        tok = match.group()
        c = tok[0]
        if c in "[{":
            if not json_syntax and not stack and c == "[" and key is None:
                header = _TOML_HEADER.match(text, match.start())
                if header:
                    base = header.group(1).strip()
                    outer = 1 + len(base.split("."))
                    if header.group().startswith("[["):
                        headers[base] = headers.get(base, -1) + 1
                        base = f"{base}[{headers[base]}]"
                        outer += 1
                    # skip the header's own tokens: it is no nesting
                    end = header.end()
                    for match in tokens:
                        if match.end() >= end:
                            break
                    continue
            if outer + len(stack) >= max_depth:
                path = _field_path(stack, "" if json_syntax else ".".join(p for p in (base, key or "") if p))
                return path, (
                    f"arrays and tables nested more than {max_depth} deep "
                    f"({_position(text, match.start())}): no tenant file needs that"
                )
            stack.append([c, 0 if c == "[" else None, c == "{"])
        elif c in "]}":
            if stack:
                stack.pop()
        elif c == ",":
            if stack:
                top = stack[-1]
                if top[0] == "[":
                    top[1] += 1
                else:
                    top[2] = True
        elif c == "\n":
            if not stack:
                key = None
        elif c in ":=#":
            continue
        else:  # a string or bare key
            label = tok.strip("\"'")
            if stack and stack[-1][0] == "{" and stack[-1][2]:
                stack[-1][1] = label
                stack[-1][2] = False
            elif not json_syntax and not stack and key is None:
                key = label
    return None


def parse_tenant_text(text: str, *, source: str, json_syntax: bool) -> Any:
    """The parsed JSON or TOML of a tenant file, after the nesting check; :class:`ConfigError` otherwise."""
    deep = nesting_problem(text, json_syntax=json_syntax)
    if deep is not None:
        raise ConfigError(deep[1], path=deep[0], source=source)
    try:
        return json.loads(text) if json_syntax else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", source=source) from None
    except RecursionError:  # the nesting check reads both syntaxes loosely; the parser has the last word
        raise ConfigError(f"nested too deeply for the parser (over {MAX_DEPTH} levels)", source=source) from None
