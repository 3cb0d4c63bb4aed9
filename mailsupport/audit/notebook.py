"""Run the audit notebook (``notebooks/07-audit.ipynb``) headless with parameters.

:func:`run_audit_notebook` does what papermill does for this one notebook, without adding
papermill: it copies the notebook, inserts an ``injected-parameters`` cell after the cell
tagged ``parameters`` (so papermill users can still run it their way), executes every cell
with nbclient in the notebooks folder, and writes the executed copy. Needs the ``notebook``
extra (nbclient, nbformat, ipykernel, pandas, matplotlib); imported only when called.

Layer 4 helper; must not import presentation code at module level.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["AUDIT_NOTEBOOK", "inject_parameters", "run_audit_notebook"]

#: The audit notebook of this checkout.
AUDIT_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "07-audit.ipynb"


def inject_parameters(nb, **params) -> None:
    """Insert an ``injected-parameters`` code cell (``name = repr(value)`` lines) after the parameters cell."""
    import nbformat

    lines = ["# Parameters", *(f"{k} = {v!r}" for k, v in params.items())]
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
    index = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if index is None:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    nb.cells.insert(index + 1, cell)


def run_audit_notebook(
    out: str | Path, *, paths: Sequence[str], checks: str, notebook: str | Path = AUDIT_NOTEBOOK, timeout: int = 600
) -> Path:
    """Execute the audit notebook for ``paths`` and ``checks``; write the executed copy to ``out``."""
    import nbformat
    from nbclient import NotebookClient

    src = Path(notebook)
    if not src.exists():
        raise FileNotFoundError(f"the audit notebook {src} is missing: run from a checkout of mailsupport")
    nb = nbformat.read(src, as_version=4)
    inject_parameters(nb, tenants=[str(Path(p).resolve()) for p in paths], checks=checks)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(src.parent)}}
    ).execute()
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target
