"""The dashboard's orders, a blueprint: search by reference, an order's detail, its refund form."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from chalice import Response  # type: ignore[attr-defined]
from chalice.app import Blueprint

from sealing import FieldError, parse_decimal

from .. import rules
from ..exceptions import Refusal
from ..payment_record import Payment, Status
from ..templating import money
from ..terminals import BankTerminal, RefundPolicy
from ..views import FORM, redirect
from .board import EXPIRED_FORM, Board

AMOUNT_HINT = "(un montant comme 62.73 : des chiffres, un point, au plus deux décimales)"
STATUS = {
    Status.OPEN: "en cours de paiement",
    Status.REFUSED: "refusé",
    Status.ABANDONED: "abandonné",
    Status.PAID: "payé",
    Status.AUTHORIZED: "autorisé, en attente de validation",
    Status.REGISTERED: "en attente de validation",
    Status.CAPTURED: "mis en recouvrement",
    Status.CANCELLED: "annulé",
}
INSTALMENT_OUTCOMES = {"paid": "payée", "refused": "refusée", "": "à venir"}


def amount_of(text: str) -> Decimal | None:
    """An amount as the merchant types it, read strictly (``62.73``: digits, a dot, at most two decimals):
    ``6,00`` or ``1E+1`` are refused, never guessed."""
    try:
        value = parse_decimal(text.strip(), "montant")
    except FieldError:
        return None
    return value if value > 0 else None


class Orders:
    def __init__(self, board: Board) -> None:
        self.board = board
        self.ledger = board.bank.ledger

    def search(self, terminal: BankTerminal) -> Response:
        reference = self.board.query().get("reference", "").strip()
        if self.ledger.get(terminal.tpe, reference) is None:
            return self.board.message(terminal, "Recherche", f"Aucune commande « {reference} ».", 404)
        return redirect(f"{self.board.base}/commande/{quote(reference)}")

    def detail(self, terminal: BankTerminal, reference: str) -> Response:
        payment = self.ledger.get(terminal.tpe, reference)
        if payment is None:
            return self.unknown(terminal)
        return self.detail_page(terminal, payment)

    def refund(self, terminal: BankTerminal, reference: str) -> Response:
        payment = self.ledger.get(terminal.tpe, reference)
        if payment is None:
            return self.unknown(terminal)
        posted = self.board.checked_form()
        if posted is None:
            return self.detail_page(terminal, payment, EXPIRED_FORM, error=True)
        amount = amount_of(posted.get("montant", ""))
        if amount is None:
            return self.detail_page(terminal, payment, f"Montant à re-créditer invalide {AMOUNT_HINT}.", error=True)
        now = self.board.bank.now()
        try:
            payment, _ = self.ledger.update(
                terminal.tpe, reference, lambda stored: rules.refund(stored, amount, terminal.refunds, now, "dashboard")
            )
        except Refusal as refusal:
            payment = self.ledger.get(terminal.tpe, reference) or payment
            return self.detail_page(terminal, payment, f"Re-crédit refusé ({refusal.code}) : {refusal.label}", True)
        return self.detail_page(terminal, payment, f"Re-crédit de {money(amount, payment.currency)} effectué.")

    def unknown(self, terminal: BankTerminal) -> Response:
        return self.board.message(
            terminal, "Commande inconnue", "Aucune commande de cette référence.", 404, marked=False
        )

    def detail_page(self, terminal: BankTerminal, payment: Payment, message: str = "", error: bool = False) -> Response:
        def local_at(moment: datetime) -> str:
            return f"{self.board.local(terminal, moment):%d/%m/%Y %H:%M:%S}"

        def local_day(moment: datetime) -> str:
            return f"{self.board.local(terminal, moment):%d/%m/%Y}"

        paid_at = local_at(payment.authorised_at).replace(" ", " à ", 1) if payment.authorised_at else "-"
        refunds_allowed = terminal.refunds is not RefundPolicy.NONE
        return self.board.page(
            terminal,
            "detail",
            "Détail de la commande",
            payment=payment,
            message=message,
            error=error,
            paid_at=paid_at,
            state=STATUS[payment.status],
            outcomes=INSTALMENT_OUTCOMES,
            local_at=local_at,
            local_day=local_day,
            refunds_allowed=refunds_allowed,
            refund_link=payment.refundable > 0 and refunds_allowed,
            refund_value=f"{payment.refundable:.2f}",
        )


def blueprint(board: Board) -> Blueprint:
    orders = Blueprint(__name__)
    views = Orders(board)
    orders.route("/recherche", methods=["GET"], name="search")(board.logged_in(views.search))
    orders.route("/commande/{reference}", methods=["GET"], name="detail")(board.logged_in(views.detail))
    orders.route("/commande/{reference}/recredit", methods=["POST"], content_types=FORM, name="refund")(
        board.logged_in(views.refund)
    )
    return orders
