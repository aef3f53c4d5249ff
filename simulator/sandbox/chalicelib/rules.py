"""The bank's rules on a payment, shared by the back-office CGIs, the dashboard and the bank's clock.

Each function changes one ``Payment`` in memory and is run inside ``Ledger.update``, so it may run again on a
fresher copy when another request wrote first: it reads only the payment and its arguments. A rule that refuses
raises ``Refusal`` with the code and label the back-office answers carry.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sealing

from .exceptions import Refusal
from .payment_record import REFUNDABLE, Capture, Declined, Instalment, Payment, Refund, Status, new_authorisation_number
from .terminals import BankTerminal, EndPolicy, Mode, RefundPolicy

# -- the card accepted at the order ------------------------------------------------------------------------------


def accept(payment: Payment, terminal: BankTerminal, now: datetime, authorisation_number: str) -> None:
    """A card was accepted: the payment takes the state of the terminal's mode. A split payment's first
    instalment is what is captured at the order; the others are captured on their days."""
    payment.authorisation_number = authorisation_number
    payment.authorised_at = now
    if payment.instalments:
        first = payment.instalments[0]
        first.outcome, first.at, first.authorisation_number = "paid", now, authorisation_number
    if terminal.mode is Mode.IMMEDIATE:
        payment.status = Status.PAID
        paid_now = payment.instalments[0].amount if payment.instalments else payment.amount.amount
        payment.captures.append(Capture(now, paid_now, authorisation_number, "payment"))
        return
    payment.status = Status.AUTHORIZED if terminal.mode is Mode.DEFERRED else Status.REGISTERED
    # The protocol's rule and calendar, the same as the merchant's side.
    payment.deadline = sealing.deferral_deadline(payment.ordered_at, terminal.deferral_days, terminal.timezone)


def ask_instalment(payment: Payment, instalment: Instalment, now: datetime) -> None:
    """An instalment's day has come: its authorisation is asked, and a granted one captured."""
    instalment.at = now
    if payment.later_refusal:
        instalment.outcome, instalment.refusal = "refused", payment.later_refusal
        return
    instalment.outcome, instalment.authorisation_number = "paid", new_authorisation_number()
    payment.captures.append(Capture(now, instalment.amount, instalment.authorisation_number, "instalment"))


# -- validation, cancellation, refund ----------------------------------------------------------------------------


def not_pending(payment: Payment) -> Refusal:
    if payment.status is Status.PAID:
        return Refusal(0, "paiement immediat deja remis, utilisez le recredit")
    if payment.status in (Status.CAPTURED, Status.CANCELLED):
        return Refusal(0, "commande deja traitee")
    return Refusal(0, "commande non autorisee")  # never paid: open, refused or abandoned


def capture(payment: Payment, amount: Decimal, now: datetime, by: str) -> Capture | Declined:
    """Capture ``amount`` of what is open. A deferred payment is captured in one go (the rest, if any, is
    cancelled by a separate cancel); a deferred authorisation asks a new authorisation for each capture ("une
    autorisation de paiement est demandée au moment de votre validation"), which the card's bank may refuse:
    then nothing is captured, the refusal is kept, and it is returned."""
    if not payment.status.pending:
        raise not_pending(payment)
    if amount <= 0:
        raise Refusal(-1, "montant a capturer nul")
    if amount > payment.open_amount:
        raise Refusal(0, f"montant errone: {amount} depasse le montant restant {payment.open_amount}")
    if payment.status is Status.AUTHORIZED and amount != payment.open_amount:
        raise Refusal(0, "validation partielle impossible sur un paiement differe")
    if payment.status is Status.REGISTERED and payment.later_refusal:
        declined = Declined(now, amount, payment.later_refusal, by)
        payment.declined.append(declined)
        return declined
    number = payment.authorisation_number if payment.status is Status.AUTHORIZED else new_authorisation_number()
    done = Capture(now, amount, number, by)
    payment.captures.append(done)
    if payment.open_amount == 0:
        payment.status = Status.CAPTURED
    return done


def declined_label(declined: Declined) -> str:
    """The back-office answer's ``lib`` for a validation whose authorisation was refused."""
    return f"autorisation refusee ({declined.refusal}): rien n'a ete capture"


def cancel(payment: Payment, now: datetime) -> Decimal:
    """Cancel what is open; what was captured stays captured. Returns the amount cancelled."""
    if not payment.status.pending:
        raise not_pending(payment)
    left = payment.open_amount
    payment.cancelled += left
    payment.cancelled_at = now
    payment.status = Status.CAPTURED if payment.captured > 0 else Status.CANCELLED
    return left


def refund(payment: Payment, amount: Decimal, policy: RefundPolicy, now: datetime, by: str) -> Refund:
    """Refund ``amount`` of what was captured, under the terminal's refund contract (the back-office codes)."""
    if payment.status not in REFUNDABLE or payment.captured == 0:
        raise Refusal(-48, "recredit refuse: paiement non remis")
    if payment.refundable == 0:
        raise Refusal(-46, "commande deja totalement recreditee")
    if amount <= 0:
        raise Refusal(-48, "recredit refuse: montant nul")
    if amount > payment.refundable:
        raise Refusal(-48, f"recredit refuse: {amount} depasse le montant possible {payment.refundable}")
    # A full refund gives back everything captured in one go; the last part of a refund made in parts is not one
    # (or a partial_only contract could never refund it, and a full_only one would refund in parts).
    full = not payment.refunds and amount == payment.captured
    if policy is RefundPolicy.NONE:
        raise Refusal(-48, "recredit non autorise pour ce TPE")
    if policy is RefundPolicy.FULL_ONLY and not full:
        raise Refusal(-48, "recredit partiel non autorise")
    if policy is RefundPolicy.PARTIAL_ONLY and full:
        raise Refusal(-51, "recredit total non autorise")
    done = Refund(now, amount, by)
    payment.refunds.append(done)
    return done


def end_of_period(payment: Payment, terminal: BankTerminal, now: datetime) -> bool:
    """The end of the deferral period, on the bank's side: automatic validation or cancellation, booked at the
    deadline itself however late it runs (a clock moved forward, a quiet sandbox). False when the payment is not
    at its end (any more)."""
    if not payment.status.pending or payment.deadline is None or payment.deadline > now:
        return False
    at = payment.deadline
    if payment.status is Status.AUTHORIZED and terminal.end_policy is EndPolicy.VALIDATE:
        capture(payment, payment.open_amount, at, "deadline")  # authorised at the order: never declined
    else:
        cancel(payment, at)
    return True
