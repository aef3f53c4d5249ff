"""The merchant dashboard ("gestionnaire commerçant", seed 1.4-1.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Chalice  # type: ignore[attr-defined]

from .bank import Bank


def register(app: Chalice, bank: Bank, settled: Callable[[Any], Any]) -> None:
    """The dashboard's routes, under ``/test/gestion/``."""
