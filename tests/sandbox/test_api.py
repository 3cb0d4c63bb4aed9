"""The sandbox's public surface: __all__ complete, docstrings everywhere, modules small."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import mailsupport.sandbox as public

MODULES = sorted(m.name for m in pkgutil.iter_modules(public.__path__, public.__name__ + "."))


def test_all_names_exist_and_are_documented():
    """Every name in mailsupport.sandbox.__all__ exists; classes and functions have docstrings."""
    for name in public.__all__:
        obj = getattr(public, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name


def test_sandbox_is_exported_from_the_package_root():
    """``mailsupport.Sandbox`` is the sandbox façade (lazy export)."""
    import mailsupport

    assert mailsupport.Sandbox is public.Sandbox


@pytest.mark.parametrize("module", MODULES)
def test_module_docstrings_and_public_callables(module):
    """Each sandbox module has a docstring, and so has each public class, method and function in it."""
    mod = importlib.import_module(module)
    assert inspect.getdoc(mod), module
    missing = []
    for name, obj in vars(mod).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module:
            continue
        if inspect.isfunction(obj) and not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj):
            if not inspect.getdoc(obj):
                missing.append(name)
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and inspect.isfunction(member) and not member.__doc__:
                    missing.append(f"{name}.{attr}")
    assert missing == []


@pytest.mark.parametrize("module", MODULES)
def test_modules_stay_small(module):
    """No sandbox module grows past ~450 lines (house style: small modules)."""
    path = Path(importlib.import_module(module).__file__)
    assert len(path.read_text().splitlines()) <= 450, path.name
