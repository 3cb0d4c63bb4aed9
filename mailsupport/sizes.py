"""Message sizes: encoded vs decoded size counted exactly, and the limits they meet.

Owns :func:`measure` (a bytes-level MIME walk: no full parse, no decoding, only counting),
:class:`AttachmentSize`, :class:`SizeReport`, the documented :data:`PROVIDER_LIMITS` and
:func:`limits_for`. Pure (layer 2): no sockets, no files; must not import clients, the
sandbox, the diagnoses or presentation modules.

Terms. *Encoded size* is the message as stored and sent: every byte of it, bodies in their
Content-Transfer-Encoding. *Raw size* is the same message with every body decoded (what the
attachments weigh on disk): base64 carries 3 bytes in 4 characters plus line breaks (RFC
2045 §6.8, 76-character lines), so a base64 attachment grows by about 35 %;
quoted-printable grows by 2 bytes per escaped octet plus soft line breaks (RFC 2045 §6.7).

Limits (``docs/provider-facts.md`` §3): Postfix ``message_size_limit`` default
10 240 000 bytes (postconf(5)); Gmail 25 MB to send and 50 MB to receive; Exchange Online
35 MB send / 36 MB receive by default; Mailgun 25 MB. Vendors write "MB"; this module reads
Google's, Microsoft's and Mailgun's MB as MiB (1 048 576 bytes, what their clients
enforce) and the product's own advice ("keep messages under 10MB", help page) as
:data:`RECOMMENDED_SIZE`. A server may also advertise its limit in
the EHLO ``SIZE`` keyword (RFC 1870 §4), which :func:`limits_for` takes as ``server_size``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .headerblock import parse_fields, split_header_block
from .model import pickled_by_values

__all__ = [
    "MIB",
    "RECOMMENDED_SIZE",
    "POSTFIX_DEFAULT_LIMIT",
    "ProviderLimit",
    "PROVIDER_LIMITS",
    "limits_for",
    "AttachmentSize",
    "SizeReport",
    "measure",
    "measure_body",
    "base64_decoded_size",
    "qp_decoded_size",
]

MIB = 1024 * 1024


#: The product's advice: keep messages under 10 MB (help page, Email Size Limits), in bytes as
#: the product counts them. The tenant default :data:`mailsupport.tenant.DEFAULT_SIZE_LIMIT` is
#: the same number (a test keeps them equal; this module does not import the tenant model, so a
#: scan process never loads it).
RECOMMENDED_SIZE: int = 10 * 1000 * 1000

#: postconf(5) ``message_size_limit`` default.
POSTFIX_DEFAULT_LIMIT = 10_240_000

_FACTS = "docs/provider-facts.md §3"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderLimit:
    """One documented size limit: who, which direction (``send``/``receive``), bytes, source."""

    provider: str
    direction: str
    limit: int
    source: str

    @property
    def label(self) -> str:
        """``"Gmail receive (50.0 MiB)"`` for charts and findings."""
        return f"{self.provider} {self.direction} ({self.limit / MIB:.1f} MiB)"


PROVIDER_LIMITS: tuple[ProviderLimit, ...] = (
    ProviderLimit(
        provider="Postfix default",
        direction="receive",
        limit=POSTFIX_DEFAULT_LIMIT,
        source=f"postconf(5) message_size_limit; {_FACTS}",
    ),
    ProviderLimit(provider="Gmail", direction="send", limit=25 * MIB, source=f"Gmail 25 MB send limit; {_FACTS}"),
    ProviderLimit(
        provider="Gmail",
        direction="receive",
        limit=50 * MIB,
        source=f"Gmail 50 MB receive limit since 2017-03-01; {_FACTS}",
    ),
    ProviderLimit(
        provider="Office 365", direction="send", limit=35 * MIB, source=f"Exchange Online default 35 MB send; {_FACTS}"
    ),
    ProviderLimit(
        provider="Office 365",
        direction="receive",
        limit=36 * MIB,
        source=f"Exchange Online default 36 MB receive; {_FACTS}",
    ),
    ProviderLimit(
        provider="Mailgun", direction="send", limit=25 * MIB, source=f"Mailgun 25 MB maximum message size; {_FACTS}"
    ),
)

_PROVIDER_KEYS = {
    "postfix": ("Postfix default",),
    "gmail": ("Gmail",),
    "google": ("Gmail",),
    "office365": ("Office 365",),
    "exchange": ("Office 365",),
    "o365": ("Office 365",),
    "mailgun": ("Mailgun",),
}


def limits_for(
    provider: str | None = None, *, tenant_limit: int | None = None, server_size: int | None = None
) -> tuple[ProviderLimit, ...]:
    """The limits to check a message against, smallest first.

    ``provider`` (``gmail``, ``office365``, ``exchange``, ``postfix``, ``mailgun``; ``None``
    = all documented ones) picks rows of :data:`PROVIDER_LIMITS`; ``tenant_limit`` adds the
    tenant's own limit; ``server_size`` adds a server's advertised EHLO ``SIZE`` (RFC 1870 §4;
    0 means "no fixed limit" and is ignored).
    """
    if provider is None:
        rows = list(PROVIDER_LIMITS)
    else:
        names = _PROVIDER_KEYS.get(provider.strip().lower(), ())
        rows = [p for p in PROVIDER_LIMITS if p.provider in names]
    if tenant_limit:
        rows.append(
            ProviderLimit(provider="Tenant", direction="configured", limit=tenant_limit, source="tenant size_limit")
        )
    if server_size:
        rows.append(
            ProviderLimit(
                provider="Server SIZE",
                direction="advertised",
                limit=server_size,
                source="EHLO SIZE keyword, RFC 1870 §4",
            )
        )
    return tuple(sorted(rows, key=lambda p: p.limit))


# --------------------------------------------------------------------------- counting


def base64_decoded_size(data: bytes) -> int:
    """Exact decoded length of a well-formed base64 body: 6 bits per alphabet character, padding excluded.

    Line breaks are not data (RFC 2045 §6.8: "all line breaks or other characters not found in
    Table 1 must be ignored"); padding ``=`` only ever ends the data, so only the tail is
    searched for it. Two passes over the body, no decoding.
    """
    n = len(data) - data.count(b"\n") - data.count(b"\r")
    tail = data[-8:]
    n -= tail.count(b"=") + tail.count(b" ") + tail.count(b"\t")
    return n * 6 // 8


def qp_decoded_size(data: bytes) -> int:
    """Exact decoded length of a quoted-printable body (well-formed escapes).

    ``=XX`` is one octet (RFC 2045 §6.7 rule 1) and ``=`` at the end of a line is a soft line
    break that disappears with its line break (rule 5).
    """
    soft_crlf = data.count(b"=\r\n")
    soft_lf = data.count(b"=\n")
    tail = 1 if data.endswith(b"=") else 0
    escapes = data.count(b"=") - soft_crlf - soft_lf - tail
    # = len - 2 * count("=") - soft_crlf + tail once the terms are collected (what the fast walk counts)
    return len(data) - 3 * soft_crlf - 2 * soft_lf - tail - 2 * escapes


@pickled_by_values
@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentSize:
    """One attachment: file name (may be empty), type, transfer encoding, encoded and raw bytes."""

    filename: str
    content_type: str
    encoding: str
    encoded_size: int
    raw_size: int

    @property
    def overhead(self) -> int:
        """Bytes the transfer encoding adds (encoded minus raw)."""
        return self.encoded_size - self.raw_size


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeReport:
    """Encoded and raw size of one message, its attachments, and anything odd met on the way."""

    encoded_size: int
    raw_size: int
    attachments: tuple[AttachmentSize, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def overhead(self) -> int:
        """Bytes the transfer encodings add over the decoded message."""
        return self.encoded_size - self.raw_size


_PARAM_RE = re.compile(r";\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^;\s]*)")
_MAX_DEPTH = 20


def _params(value: str) -> tuple[str, dict[str, str]]:
    if ";" not in value:
        return value.strip().lower(), {}
    main = value.split(";", 1)[0].strip().lower()
    params = {}
    for k, v in _PARAM_RE.findall(value):
        if v.startswith('"'):
            v = v[1:-1].replace('\\"', '"')
        params[k.lower()] = v
    return main, params


def _boundary(ct_value: str) -> str:
    """The ``boundary`` parameter of a Content-Type value (``""`` when absent): ``_params(v)[1].get("boundary", "")``.

    Fast for the usual multipart value, one parameter written ``boundary="..."`` (quoted, no
    backslash or inner quote); any other form goes through :func:`_params`.
    """
    _main, _sep, rest = ct_value.partition(";")
    rest = rest.strip()
    if rest[:10] == 'boundary="' and rest[-1] == '"' and rest.count('"') == 2 and ";" not in rest and "\\" not in rest:
        return rest[10:-1]
    return _params(ct_value)[1].get("boundary", "")


def _filename(params: dict[str, str], dparams: dict[str, str]) -> str:
    """The attachment's file name: Content-Disposition ``filename``, else Content-Type ``name``."""
    for d in (dparams, params):
        for key in ("filename", "name"):
            if key in d:
                return d[key]
            if any(k.startswith(key + "*") for k in d):
                return _rfc2231_value(d, key)
    return ""


def _rfc2231_value(params: dict[str, str], key: str) -> str:
    """``key`` given the RFC 2231 way: ``key*=charset'lang'%XX..`` and/or continuations ``key*0*``, ``key*1``...

    Decoded by the standard library's RFC 2231 code (:func:`email.utils.decode_params`, as
    ``Message.get_filename`` does); a malformed mix gives ``""``, never an exception.
    """
    from email.utils import collapse_rfc2231_value, decode_params, unquote

    pairs = [(k, v) for k, v in params.items() if k.startswith(key + "*")]
    try:
        for name, value in decode_params([("", "")] + pairs)[1:]:
            if name == key:
                if isinstance(value, tuple):
                    value = (value[0], value[1], unquote(value[2]))
                return collapse_rfc2231_value(value)
    except Exception:  # lenient by design: e.g. key* and key*0 together cannot be ordered
        return ""
    return ""


def _leaf_raw(buf: bytes | bytearray, start: int, end: int, cte: str) -> int:
    # counted on the range in place: no slice, no copy; the CR counts only when the range has a CR
    if cte == "base64":
        n = end - start - buf.count(b"\n", start, end)
        if buf.find(b"\r", start, end) >= 0:
            n -= buf.count(b"\r", start, end)
        tail = buf[max(start, end - 8) : end]
        n -= tail.count(b"=") + tail.count(b" ") + tail.count(b"\t")
        return n * 6 // 8
    if cte == "quoted-printable":
        # :func:`qp_decoded_size` with its terms collected: the soft LF breaks cancel out
        equals = buf.count(b"=", start, end)
        if not equals:
            return end - start
        soft_crlf = buf.count(b"=\r\n", start, end) if buf.find(b"\r", start, end) >= 0 else 0
        trailing_equals = 1 if buf.endswith(b"=", start, end) else 0
        return end - start - 2 * equals - soft_crlf + trailing_equals
    return end - start


def _header_map(fields: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in fields:
        key = name.lower()
        if key in ("content-type", "content-transfer-encoding", "content-disposition"):
            out.setdefault(key, value)
    return out


# the MIME headers of a body part; the part starts right after a line break (its delimiter line)
_PART_HDR_RE = re.compile(rb"\n(content-(?:t(?:ype|ransfer-encoding)|disposition))[ \t]*:(.*(?:\n[ \t].*)*)", re.I)
_PART_KEYS = {b"content-type": 0, b"content-transfer-encoding": 1, b"content-disposition": 2}
_PART_KEYS.update({k.title(): v for k, v in _PART_KEYS.items()})
_PART_KEYS.update({b"Content-type": 0, b"Content-transfer-encoding": 1})
# the empty line ending a header block: LF or CRLF form, whichever comes first (RFC 5322 §2.1)
_BLANK_RE = re.compile(rb"\n\r?\n")


#: Memo of parsed part headers by their raw bytes: a mailbox repeats the same few MIME part headers
#: (``text/plain; charset=utf-8`` + ``quoted-printable``...). Bounded: cleared when full, and only
#: header blocks up to _MEMO_KEY_MAX bytes are kept (a part without an empty line is all "header").
_PART_MEMO: dict[bytes, tuple[str | None, str | None, str | None]] = {}
_MEMO_MAX = 4096
_MEMO_KEY_MAX = 1024


def _part_headers(buf: bytes | bytearray, start: int, end: int) -> tuple[str | None, str | None, str | None, int]:
    """``(Content-Type, Content-Transfer-Encoding, Content-Disposition, body start)`` of the entity in ``buf[start:end]``.

    Each value is the first one of its field, unfolded and stripped, or ``None`` when absent.
    """
    if buf.startswith(b"\n", start, end):
        return None, None, None, start + 1
    if buf.startswith(b"\r\n", start, end):
        return None, None, None, start + 2
    m = _BLANK_RE.search(buf, start, end)
    if m is None:
        hend = body = end
    else:
        hend = m.start() + 1
        body = m.end()
    key = bytes(buf[max(0, start - 1) : hend])  # with the line break before the part, so its first line matches
    found = _PART_MEMO.get(key)
    if found is None:
        out: list[str | None] = [None, None, None]
        for name, value in _PART_HDR_RE.findall(key):
            index = _PART_KEYS.get(name)
            if index is None:
                index = _PART_KEYS[name.lower()]
            if out[index] is None:
                if b"\n" in value:
                    value = value.replace(b"\r\n", b"").replace(b"\n", b"")
                out[index] = value.strip().decode("utf-8", "replace")
        found = (out[0], out[1], out[2])
        if len(key) <= _MEMO_KEY_MAX:
            if len(_PART_MEMO) >= _MEMO_MAX:
                _PART_MEMO.clear()
            _PART_MEMO[key] = found
    return found[0], found[1], found[2], body


#: Bytes after the search start where :func:`_part_ranges` looks for the next delimiter as usual.
_NEAR = 8192
#: ``-``s :func:`_find_delimiter_far` steps through one by one before it searches for the delimiter again.
_DASH_STEPS = 16


def _find_delimiter_far(buf: bytes | bytearray, delim: bytes, pos: int, end: int) -> int:
    """``buf.find(delim, pos, end)`` for a MIME delimiter (it starts with ``-``), fast over base64 bodies.

    Base64 never holds a ``-``: the search steps from ``-`` to ``-``, each found by a one-byte
    search (``memchr``, at memory speed), so an attachment's body is passed in one sweep. After
    :data:`_DASH_STEPS` dashes that start no delimiter (text full of dashes), the delimiter is
    searched for directly from there.
    """
    find = buf.find
    i = find(b"-", pos, end)
    for _step in range(_DASH_STEPS):
        if i < 0 or buf.startswith(delim, i, end):
            return i
        i = find(b"-", i + 1, end)
    return i if i < 0 else find(delim, i, end)


def _part_ranges(buf: bytes | bytearray, start: int, end: int, boundary: bytes) -> tuple[list[tuple[int, int]], bool]:
    """Ranges of the body parts between ``--boundary`` lines (RFC 2046 §5.1.1) and whether it closed."""
    delim = b"--" + boundary
    dlen = len(delim)
    ranges: list[tuple[int, int]] = []
    content = -1  # where the current part's content starts (after its delimiter line)
    pos = start
    closed = False
    find = buf.find
    while True:
        # the next delimiter is usually near (after a part's header lines and a short text); past
        # _NEAR bytes (an attachment) the search steps over the body (a delimiter may straddle _NEAR)
        near = min(end, pos + _NEAR)
        i = find(delim, pos, near)
        if i < 0 and near < end:
            i = _find_delimiter_far(buf, delim, max(pos, near - dlen + 1), end)
        if i < 0:
            break
        if i == start or buf[i - 1] == 10:  # at a line start
            if content >= 0:
                stop = i
                # the line break before the delimiter belongs to the delimiter (RFC 2046 §5.1.1)
                if stop > content and buf[stop - 1] == 10:
                    stop -= 1
                    if stop > content and buf[stop - 1] == 13:
                        stop -= 1
                ranges.append((content, stop))
            if buf.startswith(b"--", i + dlen, end):
                closed = True
                break
            eol = find(b"\n", i, end)
            content = end if eol < 0 else eol + 1
        pos = i + dlen
    return ranges, closed


#: Memo of what :func:`_walk` reads from a Content-Type value: (media type, multipart, has "name").
_CT_MEMO: dict[str, tuple[str, bool, bool]] = {}


def _content_type(ct_value: str) -> tuple[str, bool, bool]:
    found = _CT_MEMO.get(ct_value)
    if found is None:
        ctype = ct_value.split(";", 1)[0].strip().lower()
        found = (ctype, ctype.startswith("multipart/"), "name" in ct_value)
        if len(ct_value) <= _MEMO_KEY_MAX:
            if len(_CT_MEMO) >= _MEMO_MAX:
                _CT_MEMO.clear()
            _CT_MEMO[ct_value] = found
    return found


def _walk(
    ct_value: str | None,
    cte_value: str | None,
    disp: str | None,
    buf: bytes | bytearray,
    start: int,
    end: int,
    depth: int,
    atts: list[AttachmentSize],
    problems: list[str],
) -> int:
    """Return the decoded size of the entity body ``buf[start:end]``, recording attachments.

    ``ct_value``/``cte_value``/``disp``: the entity's Content-Type, Content-Transfer-Encoding and
    Content-Disposition values, ``None`` when absent (text/plain, 7bit, none: RFC 2045 §5.2, §6.1).
    """
    if ct_value is None:
        ct_value = "text/plain"
    ctype, multipart, named = _content_type(ct_value)
    if multipart:
        boundary = _boundary(ct_value)
        if not boundary:
            problems.append("multipart without a boundary parameter (RFC 2046 §5.1.1)")
            return end - start
        if depth >= _MAX_DEPTH:
            problems.append(f"MIME nesting deeper than {_MAX_DEPTH} levels: not measured further")
            return end - start
        ranges, closed = _part_ranges(buf, start, end, boundary.encode("utf-8", "replace"))
        if not closed:
            problems.append(f"multipart boundary {boundary!r} is never closed")
        total = end - start
        for pstart, pend in ranges:
            pct, pcte, pdisp, body = _part_headers(buf, pstart, pend)
            # preamble, delimiters, part headers and epilogue count as they are
            total += _walk(pct, pcte, pdisp, buf, body, pend, depth + 1, atts, problems) - (pend - body)
        return total
    cte = "7bit" if cte_value is None else cte_value.strip().lower()
    raw = end - start if cte in _IDENTITY else _leaf_raw(buf, start, end, cte)
    if not disp and not named:
        return raw
    disp, dparams = _params(disp or "")
    name = _filename(_params(ct_value)[1], dparams)
    if disp == "attachment" or (name and not ctype.startswith("text/")) or (disp != "inline" and name):
        atts.append(
            AttachmentSize(filename=name, content_type=ctype, encoding=cte, encoded_size=end - start, raw_size=raw)
        )
    return raw


#: Transfer encodings whose bytes are the data (RFC 2045 §6.2); anything but base64 and
#: quoted-printable is counted as is.
_IDENTITY = frozenset(("7bit", "8bit", "binary"))


def measure(
    raw: bytes,
    *,
    fields: list[tuple[str, str]] | None = None,
    body_offset: int | None = None,
    content_headers: dict[str, str] | None = None,
) -> SizeReport:
    """Count the encoded and raw (decoded) size of a message and of each attachment.

    ``fields``/``body_offset`` may be passed when the caller already split the header block
    (the fast scan does), and ``content_headers`` (lower-case ``content-type``,
    ``content-transfer-encoding``, ``content-disposition`` -> first value) when it already
    picked those out. Bodies are never decoded: base64 and quoted-printable lengths are
    counted (:func:`base64_decoded_size`, :func:`qp_decoded_size`), so this stays linear and
    cheap on large messages. Malformed MIME is measured as far as it goes and named in
    ``problems``.
    """
    if fields is None or body_offset is None:
        block, body_offset = split_header_block(raw)
        fields = parse_fields(block)
    headers = content_headers if content_headers is not None else _header_map(fields)
    raw_size, atts, problems = measure_body(raw, body_offset, headers)
    return SizeReport(encoded_size=len(raw), raw_size=raw_size, attachments=tuple(atts), problems=tuple(problems))


def measure_body(
    raw: bytes | bytearray, body_offset: int, headers: Mapping[str, str], *, start: int = 0, end: int | None = None
) -> tuple[int, list[AttachmentSize], list[str]]:
    """``(raw size, attachments, problems)`` of :func:`measure`, without building a :class:`SizeReport`.

    ``headers`` maps the lower-case names ``content-type``, ``content-transfer-encoding`` and
    ``content-disposition`` to the message's first value of each (other keys are ignored, so
    the fast scan passes its whole first-value map); the message is ``raw[start:end]`` (its
    encoded size ``end - start``) and its body starts at ``body_offset`` in ``raw``.
    """
    if end is None:
        end = len(raw)
    get = headers.get
    ct_value = get("content-type")
    cte_value = get("content-transfer-encoding")
    disp = get("content-disposition")
    if not disp and ct_value is not None and (cte_value is None or cte_value in _IDENTITY):
        ctype, multipart, named = _content_type(ct_value)
        if not multipart and not named:  # one plain body counted as it is: the usual short message
            return end - start, [], []
    atts: list[AttachmentSize] = []
    problems: list[str] = []
    raw_body = _walk(ct_value, cte_value, disp, raw, body_offset, end, 0, atts, problems)
    return body_offset - start + raw_body, atts, problems
