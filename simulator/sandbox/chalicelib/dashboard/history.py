"""The dashboard's history, a blueprint: today's summary and alerts, payments of the last 120 days by order date
and by capture date (with the day's XML file of captured payments), refunds by date."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

from chalice import Response  # type: ignore[attr-defined]
from chalice.app import Blueprint

from ..payment_record import Payment
from ..terminals import BankTerminal
from .board import Board

HISTORY_DAYS = 120
KINDS = ("commande", "recouvrement")  # by order date, by capture date
Row = tuple[datetime, Payment, Decimal, str]  # when, the payment, the amount, the authorisation number


def day_of(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def day_text(day: date) -> str:
    return day.strftime("%d/%m/%Y")


class History:
    def __init__(self, board: Board) -> None:
        self.board = board

    def home(self, terminal: BankTerminal) -> Response:
        board = self.board
        today = board.today(terminal)
        payments = board.payments(terminal)
        captured_today = [c for p in payments for c in p.captures if board.local(terminal, c.at).date() == today]
        alerts = [(board.local(terminal, a.at), a) for a in reversed(board.bank.ledger.alerts(terminal.tpe))]
        return board.page(
            terminal,
            "home",
            "Tableau de bord commerçant",
            captured_today=len(captured_today),
            pending=len([p for p in payments if p.status.pending]),
            alerts=alerts,
        )

    def history(self, terminal: BankTerminal) -> Response:
        kind = "recouvrement" if self.board.query().get("par", "commande") == "recouvrement" else "commande"
        since = self.board.today(terminal) - timedelta(days=HISTORY_DAYS)
        counts = Counter(self.days(terminal, kind))
        label = "Date de demande de mise en recouvrement" if kind == "recouvrement" else "Date de commande"
        return self.board.page(
            terminal,
            "days",
            f"Historique des paiements effectués pour les {HISTORY_DAYS} derniers jours",
            kind=kind,
            label=label,
            days=[(day, counts[day]) for day in sorted((d for d in counts if d >= since), reverse=True)],
        )

    def days(self, terminal: BankTerminal, kind: str) -> Iterator[date]:
        """A day for each payment accepted that day (``commande``), or captured that day (``recouvrement``)."""
        for payment in self.board.payments(terminal):
            if kind == "recouvrement":
                yield from {self.board.local(terminal, c.at).date() for c in payment.captures}
            elif payment.status.accepted:
                yield payment.ordered_at.date()

    def day_list(self, terminal: BankTerminal, kind: str, day: str) -> Response:
        wanted = day_of(day)
        if wanted is None or kind not in KINDS:
            return self.board.message(terminal, "Date inconnue", "Date inconnue.", 404, marked=False)
        rows = list(self.rows(terminal, kind, wanted))
        what = "paiements effectués" if kind == "commande" else "paiements mis en recouvrement"
        return self.board.page(
            terminal,
            "day",
            f"Liste des {what} sur votre TPE le {day_text(wanted)}",
            rows=rows,
            legend=any(p.acknowledgement_failed for _, p, _, _ in rows),
        )

    def rows(self, terminal: BankTerminal, kind: str, wanted: date) -> Iterator[Row]:
        for payment in sorted(self.board.payments(terminal), key=lambda p: p.ordered_at):
            if kind == "recouvrement":
                yield from self.captures_of_day(terminal, payment, wanted)
            elif payment.status.accepted and payment.ordered_at.date() == wanted:
                yield payment.ordered_at, payment, payment.amount.amount, payment.authorisation_number

    def captures_of_day(self, terminal: BankTerminal, payment: Payment, wanted: date) -> Iterator[Row]:
        for capture in payment.captures:
            moment = self.board.local(terminal, capture.at)
            if moment.date() == wanted:
                yield moment, payment, capture.amount, capture.authorisation_number

    def captured_xml(self, terminal: BankTerminal, name: str) -> Response:
        wanted = day_of(name.removesuffix(".xml"))
        if wanted is None or not name.endswith(".xml"):
            return self.board.message(terminal, "Date inconnue", "Date inconnue.", 404, marked=False)
        root = ElementTree.Element(
            "recouvrements", {"tpe": terminal.tpe, "societe": terminal.societe, "date": day_text(wanted)}
        )
        for moment, payment, amount, number in self.rows(terminal, "recouvrement", wanted):
            item = ElementTree.SubElement(root, "paiement")
            for tag, value in (
                ("reference", payment.reference),
                ("date_commande", day_text(payment.ordered_at.date())),
                ("heure", f"{moment:%H:%M:%S}"),
                ("montant", payment.amount.wire()),
                ("montant_recouvre", payment.money(amount).wire()),
                ("numauto", number),
                ("carte", payment.card),
            ):
                ElementTree.SubElement(item, tag).text = value
        ElementTree.indent(root)
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
        filename = f"recouvrements-{terminal.tpe}-{wanted.isoformat()}.xml"
        return Response(
            body=text,
            status_code=200,
            headers={
                "Content-Type": "application/xml; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )

    def refunds(self, terminal: BankTerminal) -> Response:
        counts: Counter[date] = Counter(
            self.board.local(terminal, r.at).date() for p in self.board.payments(terminal) for r in p.refunds
        )
        days = [(day, counts[day]) for day in sorted(counts, reverse=True)]
        return self.board.page(terminal, "refund_days", "Historique des re-crédits effectués", days=days)

    def refunds_of_day(self, terminal: BankTerminal, day: str) -> Response:
        board = self.board
        wanted = day_of(day)
        rows = [
            (board.local(terminal, r.at), p, r)
            for p in board.payments(terminal)
            for r in p.refunds
            if board.local(terminal, r.at).date() == wanted
        ]
        title = f"Re-crédits du {day_text(wanted) if wanted else day}"
        return board.page(terminal, "refunds", title, rows=rows)


def blueprint(board: Board) -> Blueprint:
    history = Blueprint(__name__)
    views = History(board)
    routes = (
        ("", "home", views.home),
        ("/paiements", "history", views.history),
        ("/paiements/{kind}/{day}", "day_list", views.day_list),
        ("/xml/{name}", "captured_xml", views.captured_xml),
        ("/recredits", "refunds", views.refunds),
        ("/recredits/{day}", "refunds_of_day", views.refunds_of_day),
    )
    for path, name, view in routes:
        history.route(path, methods=["GET"], name=name)(board.logged_in(view))
    return history
