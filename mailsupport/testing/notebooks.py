"""Executing the kit's notebooks headless, for tests (nbclient, the venv's ``python3`` kernel).

:func:`execute_notebook` runs every cell with the notebook's own folder as working directory
and returns the executed notebook; :func:`outputs_text` joins what the cells displayed, so a
test can assert on it (and on the absence of secrets).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["execute_notebook", "outputs", "outputs_text", "html_text", "has_mime", "errors"]


def execute_notebook(path: str | Path, *, timeout: int = 180) -> Any:
    """Run every cell of the notebook at ``path``; returns the executed ``nbformat`` notebook."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return nb


def outputs(nb: Any) -> list[dict]:
    """Every output of every code cell, in order."""
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def html_text(nb: Any) -> str:
    """The text/html outputs joined (what a notebook showed as rich displays)."""
    return " ".join(str(o.get("data", {}).get("text/html", "")) for o in outputs(nb))


def has_mime(nb: Any, mime: str) -> bool:
    """True when some output carries ``mime`` (``image/png`` for a chart, the widget view type, ...)."""
    return any(mime in o.get("data", {}) for o in outputs(nb))


def errors(nb: Any) -> list[dict]:
    """The error outputs of an executed notebook (empty when every cell ran)."""
    return [o for o in outputs(nb) if o.get("output_type") == "error"]


def outputs_text(nb: Any) -> str:
    """Everything the cells showed: stream text, text/plain and text/html, joined."""
    parts = []
    for o in outputs(nb):
        parts.append(str(o.get("text", "")))
        data = o.get("data", {})
        parts.append(str(data.get("text/plain", "")))
        parts.append(str(data.get("text/html", "")))
    return "\n".join(parts)
