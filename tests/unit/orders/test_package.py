"""``orders`` exports nothing: each use case is imported from its module, and the package's map of them is true."""

from __future__ import annotations

import importlib
import re
import types

import orders


def test_the_package_exports_nothing_of_its_own() -> None:
    public = {
        name
        for name, value in vars(orders).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert orders.__all__ == []
    assert public == set()


def test_every_use_case_the_package_names_is_where_it_says() -> None:
    named = re.findall(r"``(orders(?:\.\w+)+)\.(\w+)``", orders.__doc__ or "")
    assert len(named) >= 10, named
    for module, name in named:
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def test_the_use_cases_are_named() -> None:
    names = {name for _, name in re.findall(r"``(orders(?:\.\w+)+)\.(\w+)``", orders.__doc__ or "")}
    assert {"create_order", "open_checkout", "receive_confirmation", "BackOffice", "Reconciler", "GiveBacks"} <= names
