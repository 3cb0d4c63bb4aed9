"""The layer map of docs/architecture.md kept true: each module imports only from its own layer or those above it.

Layers: 1 errors/model · 2 pure core · 3 clients (the only socket users) · 4 use cases ·
5 presentation · 6 sandbox and testing helpers. Every module must be placed in a layer
here, so a new module is a conscious decision; docs/architecture.md publishes this table
(tests/test_architecture.py keeps the two equal).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "mailsupport"

# module (or package prefix) -> layer; the longest matching prefix wins. "mailsupport" names the
# package's own __init__ (the façade) only, so a new top-level module must be placed here.
LAYERS = {
    "mailsupport": 5,  # the lazy re-export façade
    "mailsupport.__main__": 5,
    "mailsupport.errors": 1,
    "mailsupport.model": 1,
    "mailsupport.config": 2,
    "mailsupport.fieldreader": 2,
    "mailsupport.tenant": 2,
    "mailsupport.addresses": 2,
    "mailsupport.csvcells": 2,
    "mailsupport.tenantfile": 2,
    "mailsupport.headers": 2,
    "mailsupport.chain": 2,
    "mailsupport.headerblock": 2,
    "mailsupport.routing": 2,
    "mailsupport.consolidation": 2,
    "mailsupport.sizes": 2,
    "mailsupport.signature": 2,
    "mailsupport.sasl": 2,
    "mailsupport.redact": 2,
    "mailsupport.display": 2,  # pure HTML/text formatting, so any layer's _repr_html_ may use it
    "mailsupport.fixes": 2,  # the one fix-step type every diagnosis builds
    "mailsupport.fixplan": 2,  # orders and deduplicates the steps into one tenant's plan
    "mailsupport.pop3parse": 2,
    "mailsupport.pop3errors": 3,
    "mailsupport.protolines": 2,
    "mailsupport.spf": 2,
    "mailsupport.spf.parse": 2,
    "mailsupport.spf.evaluate": 2,
    "mailsupport.dmarc": 2,
    "mailsupport.dmarc.dkimcheck": 3,
    "mailsupport.dmarc.check": 4,
    "mailsupport.dmarc.evidence": 4,
    "mailsupport.dmarc.render": 4,
    "mailsupport.doctor.preflight": 2,
    "mailsupport.doctor.classify": 2,
    "mailsupport.doctor.fixes": 2,
    "mailsupport.doctor.report": 2,  # the ladder's result values and their text/JSON renderings
    "mailsupport.doctor._wire": 3,  # the probes' socket plumbing
    "mailsupport.doctor._recorder": 3,
    "mailsupport.doctor.pop3_probe": 3,
    "mailsupport.doctor.smtp_probe": 3,
    "mailsupport.tlsutil": 3,
    "mailsupport.limits": 3,
    "mailsupport.forkpool": 3,
    "mailsupport.dnslookup": 3,
    "mailsupport.zones": 3,
    "mailsupport.pop3": 3,
    "mailsupport.smtp": 3,
    "mailsupport.smtpio": 3,
    "mailsupport.store": 3,
    "mailsupport.samples": 3,
    "mailsupport.pipeline": 4,
    "mailsupport.diagnose": 4,
    "mailsupport.audit": 4,
    "mailsupport.doctor": 4,
    "mailsupport.spf.diagnose": 4,
    "mailsupport.replay": 4,
    "mailsupport.replay.changes": 2,
    "mailsupport.replay.envelope": 2,
    "mailsupport.replay.infer": 2,
    "mailsupport.replay.result": 2,
    "mailsupport.replay.plot": 5,
    "mailsupport.report": 5,
    "mailsupport.fixpage": 5,
    "mailsupport.checks": 5,
    "mailsupport.tour": 5,
    "mailsupport.demo": 5,
    "mailsupport.charts": 5,
    "mailsupport.progress": 5,
    "mailsupport.cli": 5,
    "mailsupport.widgets": 5,
    "mailsupport.samples.plots": 5,
    "mailsupport.spf.plot": 5,
    "mailsupport.spf.widget": 5,
    "mailsupport.sandbox": 6,
    "mailsupport.testing": 6,
}

# Presentation that must start a sandbox (the demo, `mailsupport sandbox`): lazy imports only.
MAY_USE_SANDBOX = ("mailsupport.demo", "mailsupport.cli", "mailsupport.widgets")

PURE_FORBIDDEN = {
    "socket",
    "ssl",
    "poplib",
    "smtplib",
    "asyncio",
    "sqlite3",
    "subprocess",
    "dns",
    "threading",
    "time",
    "os",
    "urllib",
    "http",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(name: str) -> int | None:
    best = None
    for prefix, layer in LAYERS.items():
        if name == prefix or (prefix != "mailsupport" and name.startswith(prefix + ".")):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    return best[1] if best else None


def _imports(path: Path, name: str):
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:
                    for alias in node.names:
                        yield f"{mod}.{alias.name}", node
                    continue
                yield mod, node
            else:
                yield node.module or "", node


MODULES = sorted(PKG.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[_module_name(p) for p in MODULES])
def test_module_respects_its_layer(path):
    """The module imports nothing from a lower layer; pure-core modules touch no sockets, clock or environment."""
    name = _module_name(path)
    layer = _layer(name)
    assert layer is not None, f"{name} is not placed in a layer in tests/test_layers.py"
    problems = []
    for imported, node in _imports(path, name):
        top = imported.split(".")[0]
        if top == "mailsupport":
            target = _layer(imported)
            if target is None:
                continue
            if target > layer and not (target == 6 and name.startswith(MAY_USE_SANDBOX)):
                problems.append(f"line {node.lineno}: imports {imported} (layer {target})")
        elif layer <= 2 and top in PURE_FORBIDDEN:
            problems.append(f"line {node.lineno}: pure-core module imports {imported}")
    assert problems == []


# --------------------------------------------------------------------------- the tenant model, not the config hub

#: Pure-core modules that need the tenant-file loader itself (mailsupport.config), not only the model's types.
USES_LOADER = {
    "mailsupport.doctor.preflight": "checks typed settings with the loader's own validation (parse_tenant)",
    "mailsupport.replay.changes": "edits a tenant's file data and validates it again (tenant_to_dict, parse_tenant)",
}


def _from_imports(path: Path, name: str):
    """Every ``from X import a, b`` of a module as (absolute X, names, node), relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module, [alias.name for alias in node.names], node


def _tenant_names() -> set[str]:
    tree = ast.parse((PKG / "tenant.py").read_text())
    return (
        {n.id for node in tree.body if isinstance(node, ast.Assign) for n in node.targets if isinstance(n, ast.Name)}
        | {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
        | {
            node.target.id
            for node in tree.body
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        }
    )


PURE = [
    p
    for p in MODULES
    if (_layer(_module_name(p)) or 9) <= 2 and _module_name(p) not in ("mailsupport.config", *USES_LOADER)
]


@pytest.mark.parametrize("path", PURE, ids=[_module_name(p) for p in PURE])
def test_pure_core_does_not_import_the_config_hub(path):
    """A pure-core module takes tenant types from mailsupport.tenant; only loader users import mailsupport.config."""
    name = _module_name(path)
    hub = [
        f"line {node.lineno}: from {module} import {', '.join(names)}"
        for module, names, node in _from_imports(path, name)
        if module == "mailsupport.config"
    ]
    hub += [
        f"line {node.lineno}: import {alias.name}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "mailsupport.config"
    ]
    assert hub == []


def test_types_come_from_the_tenant_model_not_the_config_hub():
    """No module imports a name mailsupport.tenant defines through mailsupport.config (which only re-exports it)."""
    model = _tenant_names()
    assert {"Tenant", "ServerSettings", "PRESETS", "CATCH_ALL_HEADERS"} <= model
    through_hub = []
    for path in MODULES:
        name = _module_name(path)
        if name == "mailsupport.config":
            continue
        for module, names, node in _from_imports(path, name):
            if module == "mailsupport.config" and set(names) & model:
                through_hub.append(f"{name} line {node.lineno}: {sorted(set(names) & model)}")
    assert through_hub == []


def test_every_layer_key_places_a_module():
    """Each key of the layer map matches a module or package that exists (no stale entries)."""
    names = [_module_name(p) for p in MODULES]
    stale = [key for key in LAYERS if not any(n == key or n.startswith(key + ".") for n in names)]
    assert stale == []


# --------------------------------------------------------------------------- no private names across modules


def _is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_no_module_imports_another_modules_private_name():
    """No module takes another's ``_name`` (``from x import _name`` or ``x._name``): a shared name is public in its module.

    A private *module* with public names (``from ._wire import Wire``) is fine, as in httpx.
    """
    found = []
    for path in MODULES:
        name = _module_name(path)
        modules = set()  # local names bound to mailsupport modules
        for module, _names, node in _from_imports(path, name):
            if not module.startswith("mailsupport"):
                continue
            for alias in node.names:
                if _is_module(f"{module}.{alias.name}"):
                    modules.add(alias.asname or alias.name)
                elif alias.name.startswith("_") and not alias.name.startswith("__") and module != name:
                    found.append(f"{name} line {node.lineno}: from {module} import {alias.name}")
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("mailsupport")}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{name} line {node.lineno}: {node.value.id}.{node.attr}")
    assert found == []
