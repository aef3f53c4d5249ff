"""The console's pages, one module per area; ``ROUTES`` is every route the console answers."""

from __future__ import annotations

from ..routing import Route
from . import account, shell

ROUTES: list[Route] = [*shell.ROUTES, *account.ROUTES]
