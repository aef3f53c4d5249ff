"""``orders`` names its use cases: its ``__all__`` is exactly its public face, every name importable."""

from __future__ import annotations

import importlib
import types

import orders


def test_the_exports_are_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(orders).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert sorted(orders.__all__) == sorted(public)
    assert len(set(orders.__all__)) == len(orders.__all__)
    assert not [name for name in orders.__all__ if name.startswith("_")]


def test_every_export_is_importable_from_the_package() -> None:
    fresh = importlib.reload(orders)
    for name in fresh.__all__:
        namespace: dict[str, object] = {}
        exec(f"from orders import {name}", namespace)  # noqa: S102 - our own names
        assert namespace[name] is getattr(fresh, name)


def test_the_use_cases_are_exported() -> None:
    assert {"create_order", "open_checkout", "receive_confirmation", "BackOffice", "Reconciler"} <= set(orders.__all__)
