"""CSV cells that a spreadsheet will not run as formulas, and how to get the original text back.

Every CSV the kit writes (``mailsupport scan --format csv``, the findings table of
``mailsupport audit`` and ``mailsupport demo``) holds text from outside: subjects,
Message-IDs, addresses, zip member names, tenant file names. A cell beginning with ``=``,
``+``, ``-`` or ``@`` (or TAB or CR, which some spreadsheets skip first) is a formula to Excel,
LibreOffice and Google Sheets, so ``=HYPERLINK(...)`` in a subject would run in the support
engineer's spreadsheet. OWASP's rule ("CSV Injection") is applied to every cell:
:func:`safe_cell` puts a single quote ``'`` in front of such a cell, which spreadsheets show as
text. Nothing else changes (the CSV module's quoting stays exact), so a cell that begins with
``'`` followed, after any more quotes, by one of those characters gets one quote more as well:
the rule can always be undone. :func:`original_cell` undoes it and :func:`read_csv` reads a
whole file back to the original values; by hand: drop the first ``'`` of a cell whose text
after its leading quotes starts with ``= + - @``, TAB or CR.

Pure (layer 2): strings only; must not import anything of the kit, nor :mod:`csv` at module level
(the scan's own CSV writer imports this on every run).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterator
    from typing import IO

__all__ = ["FORMULA_STARTS", "safe_cell", "original_cell", "read_csv"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_STARTS = frozenset(FORMULA_STARTS)


def _guarded(text: str) -> bool:
    """Whether ``text``, after any leading ``'``, begins with a formula character."""
    rest = text.lstrip("'")
    return bool(rest) and rest[0] in _STARTS


def safe_cell(text: str) -> str:
    """``text`` with a ``'`` in front when a spreadsheet would take it for a formula (or it needs one
    more quote to stay reversible); otherwise ``text`` itself."""
    if text and (text[0] in _STARTS or (text[0] == "'" and _guarded(text))):
        return "'" + text
    return text


def original_cell(text: str) -> str:
    """The value :func:`safe_cell` was given: one leading ``'`` dropped where it put one."""
    if text[:1] == "'" and _guarded(text):
        return text[1:]
    return text


def read_csv(fp: IO[str]) -> Iterator[dict[str, str]]:
    """The rows of a CSV the kit wrote, as dicts of the original values (header row as keys).

    Open the file with ``newline=""``, as for any CSV.
    """
    import csv  # only here: the scan writes its CSV without the module (start-up time)

    for row in csv.DictReader(fp):
        yield {key: original_cell(value) for key, value in row.items()}
