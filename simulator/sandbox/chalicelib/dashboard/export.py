"""The dashboard's export of payments, a blueprint: the bank's CSV file of a day's or a range of days' payments, as
merchants download it for their accounting (docs/protocol.md, The bank's files).

No header; one line per capture (``PA``, collected on ``date_recouvrement``, ``montant`` the amount captured), and
one line per payment of the range's order days that nothing was collected of (its state as the status call says
it, no ``date_recouvrement``, ``montant`` the order's amount); 21 columns separated by ``;``, ``montant`` written
with a dot and its currency in ``devise``, in UTF-8.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from chalice import Response  # type: ignore[attr-defined]
from chalice.app import Blueprint

from sealing import CSV_COLUMNS, DAY_FORMAT

from ..payment_record import Payment
from ..terminals import BankTerminal
from .board import Board
from .history import HISTORY_DAYS, day_of

_CENT = Decimal("0.01")


class Export:
    def __init__(self, board: Board) -> None:
        self.board = board

    def export(self, terminal: BankTerminal) -> Response:
        """``?du=2026-11-27&au=2026-11-30`` (``au`` defaults to ``du``, ``du`` to today): at most 120 days."""
        query = self.board.query()
        today = self.board.today(terminal)
        first = day_of(query.get("du") or today.isoformat())
        last = day_of(query.get("au") or query.get("du") or today.isoformat())
        if first is None or last is None or last < first or (last - first).days >= HISTORY_DAYS:
            text = f"Période inconnue : donnez du et au (AAAA-MM-JJ), au plus {HISTORY_DAYS} jours."
            return self.board.message(terminal, "Période inconnue", text, 400)
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        for payment in sorted(self.board.payments(terminal), key=lambda p: p.ordered_at):
            writer.writerows(self.lines(terminal, payment, first, last))
        span = first.isoformat() if first == last else f"{first.isoformat()}_{last.isoformat()}"
        filename = f"paiements-{terminal.tpe}-{span}.csv"
        return Response(
            body=out.getvalue(),
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )

    def lines(self, terminal: BankTerminal, payment: Payment, first: date, last: date) -> Iterator[list[str]]:
        for capture in payment.captures:
            day = self.board.local(terminal, capture.at).date()
            if first <= day <= last:
                yield line(payment, day, "PA", capture.amount, capture.authorisation_number)
        ordered_on = payment.ordered_at.date()
        if not payment.captures and first <= ordered_on <= last:
            yield line(payment, None, payment.bank_state, payment.amount.amount, payment.authorisation_number)


def line(payment: Payment, collected_on: date | None, state: str, amount: Decimal, number: str) -> list[str]:
    """The export's 21 columns for ``payment`` (``CSV_COLUMNS``)."""
    accepted = [a for a in payment.attempts if not a.refusal]
    last = (accepted or payment.attempts)[-1:]
    archive = hashlib.sha256(f"{payment.tpe}/{payment.reference}".encode()).hexdigest()[:12].upper()
    with_card = bool(payment.card)
    cells = {
        "date_recouvrement": collected_on.strftime(DAY_FORMAT) if collected_on else "",
        "TPE": payment.tpe,
        "reference": payment.reference,
        "etat": state,
        "date_demande": payment.ordered_at.strftime(DAY_FORMAT),
        "heure_demande": payment.ordered_at.strftime("%H:%M:%S"),
        "montant": str(amount.quantize(_CENT)),
        "devise": payment.currency,
        "numauto": number,
        "code_retour": last[0].return_code if last else "",
        "reference_archivage": archive,
        "type_carte": payment.brand,
        "validite_carte": payment.card_expiry,
        "cvx": ("oui" if payment.cvv_entered else "non") if with_card else "",
        "texte-libre": payment.free_text,
        "niveau_3dsecure": "1" if with_card else "",
        "carte_masquee": payment.card,
        "pays_carte": "FRA" if with_card else "",
        "alias_carte": payment.card_alias,
        "ip_client": payment.client_ip,
        "pays_transaction": "FRA",
    }
    return [cells[name] for name in CSV_COLUMNS]


def blueprint(board: Board) -> Blueprint:
    export = Blueprint(__name__)
    views = Export(board)
    export.route("/export", methods=["GET"], name="export")(board.logged_in(views.export))
    return export
