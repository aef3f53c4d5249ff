"""The console's pages, one module per area; ``ROUTES`` is every route the console answers."""

from __future__ import annotations

from ..routing import Route
from . import orders, shell

ROUTES: list[Route] = [*shell.ROUTES, *orders.ROUTES]
