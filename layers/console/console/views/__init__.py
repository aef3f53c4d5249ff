"""The console's pages, one module per area; ``ROUTES`` is every route the console answers."""

from __future__ import annotations

from ..routing import Route
from . import account, attention, books, orders, shell, terminals

ROUTES: list[Route] = [
    *shell.ROUTES,
    *account.ROUTES,
    *orders.ROUTES,
    *attention.ROUTES,
    *books.ROUTES,
    *terminals.ROUTES,
]
