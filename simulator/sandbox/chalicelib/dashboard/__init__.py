"""The merchant dashboard, the bank's "gestionnaire commerçant" (docs/protocol.md, The bank's pages), under
``/test/gestion/``: one Chalice blueprint per concern, its pages in ``templates/gestion``.

Per terminal, behind its password (``access``: log in, log out, "Changez votre mot de passe"): today's summary,
payments of the last 120 days by order date and by capture date (with the day's XML file of captured payments),
refunds by date and the alerts, the references whose acknowledgement failed in red (``history``); the CSV export
of a day's or a range of days' payments (``export``); pending
deferred payments (validate / leave / cancel, and the date of the automatic end) and pending partial payments
(total or partial validation, leave, cancel) (``pending``); search by reference, an order's detail with its
refund form (``orders``).
"""

from __future__ import annotations

from chalice import Chalice  # type: ignore[attr-defined]
from chalice.app import Blueprint

from ..bank import Bank
from . import access, export, history, orders, pending
from .board import BASE, COOKIE, Board

__all__ = ["BASE", "COOKIE", "blueprints"]


def blueprints(app: Chalice, bank: Bank) -> list[Blueprint]:
    """The dashboard's blueprints for ``app``, to register under ``BASE``."""
    board = Board(app, bank)
    return [module.blueprint(board) for module in (access, history, export, pending, orders)]
