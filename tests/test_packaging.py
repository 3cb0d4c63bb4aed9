"""The package's promises about itself: install metadata, public API, import weight, layering."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import mailsupport

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "mailsupport"


def _norm(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_mirrors_pyproject():
    """Every runtime, notebook, test and lint dependency of pyproject.toml is in environment.yml and vice versa."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_norm(r) for r in project["dependencies"]}
    for extra in ("notebook", "test", "lint"):
        wanted |= {_norm(r) for r in project["optional-dependencies"].get(extra, [])}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {_norm(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    for d in env["dependencies"]:
        if isinstance(d, dict):
            conda |= {_norm(p) for p in d.get("pip", []) if not p.startswith("-")}
    assert wanted - conda == set(), "in pyproject.toml but not environment.yml"
    assert conda - wanted == set(), "in environment.yml but not pyproject.toml"


def test_public_names_resolve_and_all_is_complete():
    """Every name in mailsupport.__all__ imports, and every public class/function of the exported modules is listed."""
    for name in mailsupport.__all__:
        assert getattr(mailsupport, name) is not None
    exported_modules = set(mailsupport._EXPORTS.values())
    for mod in exported_modules:
        module = __import__(f"mailsupport.{mod}", fromlist=["__all__"])
        assert hasattr(module, "__all__"), f"mailsupport.{mod} has no __all__"


def test_import_is_light():
    """`import mailsupport` and building the CLI parser load no pandas, matplotlib, ipywidgets or tqdm."""
    code = (
        "import sys, mailsupport, mailsupport.cli as c; c.build_parser(); "
        "print(','.join(m for m in ('pandas','matplotlib','ipywidgets','IPython','tqdm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_module_has_a_docstring():
    """Every module of the package says what it owns."""
    missing = [
        str(p.relative_to(REPO)) for p in PKG.rglob("*.py") if ast.get_docstring(ast.parse(p.read_text())) is None
    ]
    assert missing == []


def test_cli_commands_are_documented_in_the_readme():
    """Every subcommand appears in the README as `mailsupport <command>`."""
    from mailsupport.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    readme = (REPO / "README.md").read_text()
    undocumented = [name for name in sub.choices if f"mailsupport {name}" not in readme]
    assert undocumented == []


def test_python_m_mailsupport_runs():
    """`python -m mailsupport --help` works and lists the commands."""
    out = subprocess.run([sys.executable, "-m", "mailsupport", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "COMMAND" in out.stdout
