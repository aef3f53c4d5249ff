"""The dashboard's pending payments, a blueprint: deferred ones (validate / leave / cancel) and partial ones
(total or partial validation, leave, cancel), each with the date of its automatic end."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from chalice import Response  # type: ignore[attr-defined]
from chalice.app import Blueprint

from .. import rules
from ..exceptions import Refusal
from ..payment_record import Declined, Payment, Status
from ..templating import money
from ..terminals import BankTerminal, EndPolicy
from ..views import FORM
from .board import EXPIRED_FORM, Board
from .orders import AMOUNT_HINT, amount_of

ACTIONS = ("valider", "vt", "vp", "annuler")  # "laisser" leaves the payment as it is
NO_MORE_PENDING = "n'est plus en attente"


class Pending:
    def __init__(self, board: Board) -> None:
        self.board = board

    def page(self, terminal: BankTerminal, status: Status, message: str = "", error: bool = False) -> Response:
        deferred = status is Status.AUTHORIZED
        policy = "validés" if terminal.end_policy is EndPolicy.VALIDATE and deferred else "annulés"
        column = "Date de validation automatique" if policy == "validés" else "Date d'annulation automatique"
        payments = [p for p in self.board.payments(terminal) if p.status is status]
        rows = [(p, self.end(terminal, p)) for p in payments]
        title = "Paiements différés en attente" if deferred else "Paiements partiels en attente"
        return self.board.page(
            terminal,
            "pending",
            title,
            message=message,
            error=error,
            deferred=deferred,
            policy=policy,
            column=column,
            rows=rows,
            legend=any(p.acknowledgement_failed for p in payments),
        )

    def end(self, terminal: BankTerminal, payment: Payment) -> datetime | None:
        """The last day of the deferral period, when it has one."""
        return self.board.local(terminal, payment.deadline) - timedelta(days=1) if payment.deadline else None

    def apply(self, terminal: BankTerminal, status: Status) -> Response:
        """The merchant's choices, row by row: what was done, or (when any) what could not be."""
        posted = self.board.checked_form()
        if posted is None:
            return self.page(terminal, status, EXPIRED_FORM, error=True)
        done: list[str] = []
        problems: list[str] = []
        now = self.board.bank.now()
        for name, action in posted.items():
            if not name.startswith("action-") or action not in ACTIONS:
                continue
            reference = name.removeprefix("action-")
            ok, text = self.choice(terminal, status, reference, action, posted.get(f"montant-{reference}", ""), now)
            if ok:
                done.append(f"{reference} {text}")
            else:
                problems.append(text)
        message = "; ".join(problems or done) or "Aucun changement."
        return self.page(terminal, status, message, error=bool(problems))

    def choice(
        self, terminal: BankTerminal, status: Status, reference: str, action: str, amount_text: str, now: datetime
    ) -> tuple[bool, str]:
        """One row's choice: (True, what was done) or (False, the problem)."""
        amount: Decimal | None = None
        if action == "vp":
            amount = amount_of(amount_text)
            if amount is None:
                return False, f"{reference} : montant à recouvrer invalide {AMOUNT_HINT}"
        try:
            outcome = self.validate(terminal, status, reference, action, amount, now)
        except Refusal as refusal:
            return False, f"{reference} : {refusal.label}"
        if isinstance(outcome, Declined):
            return False, f"{reference} : autorisation refusée ({outcome.refusal}), rien n'a été recouvré"
        return True, outcome

    def validate(
        self, terminal: BankTerminal, status: Status, reference: str, action: str, amount: Decimal | None, now: datetime
    ) -> str | Declined:
        """One row's choice, on the payment as stored: what was done, or the declined validation."""

        def change(payment: Payment) -> str | Declined:
            if payment.status is not status:
                raise Refusal(0, NO_MORE_PENDING)
            if action == "annuler":
                rules.cancel(payment, now)
                return "annulé"
            done = rules.capture(payment, payment.open_amount if amount is None else amount, now, "dashboard")
            if isinstance(done, Declined):
                return done
            return "validé" if amount is None else f"validé pour {money(amount, payment.currency)}"

        try:
            return self.board.bank.ledger.update(terminal.tpe, reference, change)[1]
        except LookupError:
            raise Refusal(0, NO_MORE_PENDING) from None

    def deferred(self, terminal: BankTerminal) -> Response:
        return self.page(terminal, Status.AUTHORIZED)

    def deferred_apply(self, terminal: BankTerminal) -> Response:
        return self.apply(terminal, Status.AUTHORIZED)

    def partial(self, terminal: BankTerminal) -> Response:
        return self.page(terminal, Status.REGISTERED)

    def partial_apply(self, terminal: BankTerminal) -> Response:
        return self.apply(terminal, Status.REGISTERED)


def blueprint(board: Board) -> Blueprint:
    pending = Blueprint(__name__)
    views = Pending(board)
    for path, show, apply in (
        ("/differes", views.deferred, views.deferred_apply),
        ("/partiels", views.partial, views.partial_apply),
    ):
        pending.route(path, methods=["GET"], name=show.__name__)(board.logged_in(show))
        pending.route(path, methods=["POST"], content_types=FORM, name=apply.__name__)(board.logged_in(apply))
    return pending
