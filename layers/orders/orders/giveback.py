"""Giving back a second payment: the bank accepted one order twice (two tabs, a late confirmation, a bank-side retry).

CGI2 records the second payment on the order as its own entry (``Order.second_payments``), in its one conditional
write, and puts the order in the sparse ``GiveBackIndex``; it never calls the bank, so the bank's acknowledgement
never waits on a back-office call. The give-back runs off the orders table's stream (``functions/give_back``), and
the deferred sweeper's schedule is its backstop: each run retries every order still in the index.

Exactly once, as the console's operations (``orders.operations``), whatever fails and whenever a process dies:

1. the give-back is journalled on its entry (``giving_back``) in a conditional write: one process holds it;
2. the bank is called once, on that session's own reference and order date: a refund of what it captured (an
   immediate terminal, with its own authorisation number), or the cancellation of its authorisation (a deferred
   terminal: ``capture_paiement`` with nothing to capture and nothing left, so the bank never captures it);
3. the outcome closes the entry: given back, or not (the bank refused: a review says what to do).

An entry left open (the answer lost, the process dead) is settled from the bank's status for that reference once
its lease has passed, before anything else; the call is sent again only when the status shows it did not happen.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from sealing import Money, PaymentState

from .bank import BankClient, BankOutcome
from .desk import BankDesk
from .exceptions import (
    BankRefusedError,
    BankUnavailableError,
    ConcurrentUpdateError,
    OperationInProgressError,
)
from .model import (
    APPLIED,
    APPLIED_OUTCOMES,
    APPLIED_OUTSIDE_API,
    DONE,
    GIVE_BACK_DUE,
    GIVEN_BACK,
    NOT_GIVEN_BACK,
    REFUSED,
    GiveBack,
    OperationRecord,
    Order,
    Review,
    ReviewReason,
    SecondPayment,
)

FINISH_TRIES = 3  # a second payment recorded while one is given back moves the entries' count: read, write again


@dataclass
class GiveBackReport:
    """What a pass over the orders to give back did: outcomes by second payment's bank reference, failures by order."""

    outcomes: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    finished: bool = True  # False: out of time, the orders left are the next run's


class GiveBacks(BankDesk):
    """Second payments given back through the bank's back office, each exactly once."""

    # --- the ways in: the stream, the sweeper's backstop, the console's "refund all" ------------------------

    def give_back(self, reference: str, now: datetime, *, refused_too: bool = False) -> dict[str, str]:
        """Give back every second payment of the order still due, and settle any give-back left open; with
        ``refused_too`` (the console's "refund all"), the captured ones the bank refused before are tried again.
        What happened to each, by its bank reference.

        ``OperationInProgressError`` when another process is giving one back (its entry is fresh),
        ``BankUnavailableError`` when the bank's answer, or its status, is unknown: the entry stays for the next try.
        """
        order = self.store.get(reference)
        outcomes: dict[str, str] = {}
        for index, payment in enumerate(order.second_payments):
            retried = (
                refused_too and payment.captured and payment.state == NOT_GIVEN_BACK and _automatic(order, payment)
            )
            if payment.giving_back is None and payment.state != GIVE_BACK_DUE and not retried:
                continue
            states = (GIVE_BACK_DUE, NOT_GIVEN_BACK) if retried else (GIVE_BACK_DUE,)
            order, outcomes[payment.bank_reference] = self._one(order, index, states, now)
        return outcomes

    def due(self, now: datetime, out_of_time: Callable[[], bool] = lambda: False) -> GiveBackReport:
        """Every order of ``GiveBackIndex`` (never a table scan): the sweeper's backstop for what the stream's
        consumer could not finish (the bank unavailable, a process dead mid-way)."""
        report = GiveBackReport()
        start: dict[str, object] | None = None
        while True:
            references, start = self.store.orders_to_give_back(start)
            for reference in references:
                if out_of_time():
                    report.finished = False
                    return report
                try:
                    report.outcomes.update(self.give_back(reference, now))
                except Exception as exc:  # one order's failure does not stop the others: the next run retries it
                    report.failures[reference] = f"{type(exc).__name__}: {exc}"
            if not start:
                return report

    # --- one second payment ---------------------------------------------------------------------------------

    def _one(self, order: Order, index: int, states: Sequence[str], now: datetime) -> tuple[Order, str]:
        payment = order.second_payments[index]
        previous = ""
        if payment.giving_back is not None:
            if now - payment.giving_back.started_at < self.lease:
                raise OperationInProgressError(order.reference, f"give-back of {payment.bank_reference}")
            if self._applied(order, payment, now):  # settled from the bank's status before anything else
                detail = "its answer was lost; the bank's status shows it given back"
                return self._finish(order, index, payment.giving_back.id, APPLIED, detail, now)
            previous = payment.giving_back.id  # the status shows it did not happen: taken over, sent once
        giving_back = GiveBack(secrets.token_hex(8), now)
        try:
            order = self.store.begin_give_back(order, index, giving_back, states, previous)
        except ConcurrentUpdateError:
            return self.store.get(order.reference), "taken by another process"
        try:
            outcome = self._send(order, payment, now)
        except BankRefusedError as exc:
            return self._refused(order, index, giving_back.id, exc, now)
        # BankUnavailableError propagates: the journal entry stays until the bank's status settles it.
        return self._finish(order, index, giving_back.id, DONE, outcome.label, now)

    def _send(self, order: Order, payment: SecondPayment, now: datetime) -> BankOutcome:
        bank = self.bank(order)
        ordered_on = self._day(order, payment.ordered_at)
        if payment.captured:
            return bank.refund(
                reference=payment.bank_reference, ordered_on=ordered_on,
                captured_on=self._captured_on(bank, order, payment, now),
                authorisation_number=payment.authorisation_number, total=order.amount, refund=payment.amount,
                refundable=payment.amount, at=now,
            )  # fmt: skip
        nothing = Money(Decimal(0), payment.amount.currency)
        return bank.cancel(
            reference=payment.bank_reference, ordered_on=ordered_on, total=order.amount, already_captured=nothing,
            at=now,
        )  # fmt: skip

    def _captured_on(self, bank: BankClient, order: Order, payment: SecondPayment, now: datetime) -> date:
        """The day the bank booked the capture (``date_remise``): its status's word, else the payment's day."""
        try:
            said = bank.status(reference=payment.bank_reference, total=order.amount, at=now).captured_on
        except BankUnavailableError:
            said = None  # nothing was sent yet: do not turn a status hiccup into an unknown refund
        return said or self._day(order, payment.received_at)

    def _applied(self, order: Order, payment: SecondPayment, now: datetime) -> bool:
        """Whether the bank's status for the payment's reference shows it given back. Never concludes "not given
        back" from an amount it cannot place: ``BankUnavailableError`` then (the entry stays, for a human)."""
        status = self.bank(order).status(reference=payment.bank_reference, total=order.amount, at=now)
        if not payment.captured:
            return status.state is PaymentState.CANCELLED  # not cancelled: cancelling again cannot move money
        before = _refunded_on(order, payment)
        said = status.refunded
        if (
            said is None
            or said.currency != payment.amount.currency
            or said.amount not in (before, before + payment.amount.amount)
        ):
            shown = str(said) if said is not None else "nothing"
            raise BankUnavailableError(
                "status", f"recredits says {shown}: the give-back stays unknown (needs a human look)"
            )
        return said.amount == before + payment.amount.amount

    def _refused(
        self, order: Order, index: int, giving_back_id: str, exc: BankRefusedError, now: datetime
    ) -> tuple[Order, str]:
        """Close a refused give-back: given back all the same when the bank's status shows it (done in its
        dashboard), else left to a human, with a review saying what to do; never resent by itself."""
        payment = order.second_payments[index]
        try:
            done_already = self._applied(order, payment, now)
        except BankUnavailableError:
            done_already = False  # the refusal itself is certain: record it
        if done_already:
            detail = f"refused ({exc}), but the bank's status shows it given back, not through this API"
            return self._finish(order, index, giving_back_id, APPLIED_OUTSIDE_API, detail, now)
        return self._finish(order, index, giving_back_id, REFUSED, str(exc), now)

    def _finish(
        self, order: Order, index: int, giving_back_id: str, outcome: str, detail: str, now: datetime
    ) -> tuple[Order, str]:
        payment = order.second_payments[index]
        record = OperationRecord(giving_back_id, payment.event, payment.amount, now, outcome, detail)
        given = outcome in APPLIED_OUTCOMES
        ended = replace(payment, state=GIVEN_BACK if given else NOT_GIVEN_BACK, giving_back=None, outcome=record)
        review = Review(
            ReviewReason.SECOND_PAYMENT_GIVEN_BACK if given else ReviewReason.SECOND_PAYMENT_NOT_GIVEN_BACK,
            now,
            _given_back(ended, order.reference) if given else _not_given_back(ended, order.reference, detail),
        )
        for _ in range(FINISH_TRIES):
            try:
                self.store.finish_give_back(order, index, giving_back_id, ended, review)
                break
            except ConcurrentUpdateError:
                order = self.store.get(order.reference)
                current = order.second_payments[index].giving_back
                if current is None or current.id != giving_back_id:
                    # Closed by another process meanwhile (its lease passed): never drop what the bank did.
                    self.store.record_conflict(order.reference, record, now)
                    break
        else:
            raise ConcurrentUpdateError(
                f"order {order.reference}: the give-back of {payment.bank_reference} stays open"
            )
        return self.store.get(order.reference), f"{ended.state} ({payment.event} {outcome})"


def _automatic(order: Order, payment: SecondPayment) -> bool:
    """Whether a back-office call can give the payment back alone: not a cancel under the paid session's reference
    (it would cancel the paid authorisation too)."""
    return payment.captured or payment.bank_reference != order.bank_payment_reference


def _refunded_on(order: Order, payment: SecondPayment) -> Decimal:
    """What the books say was refunded under the payment's reference, this payment aside."""
    refunded = order.refunded if payment.bank_reference == order.bank_payment_reference else Decimal(0)
    for other in order.second_payments:
        if other is not payment and other.bank_reference == payment.bank_reference and other.captured:
            refunded += other.amount.amount if other.state == GIVEN_BACK else 0
    return refunded


def _what(payment: SecondPayment) -> str:
    return f"the second payment under {payment.bank_reference} ({payment.authorisation_number}, {payment.amount})"


def _given_back(payment: SecondPayment, reference: str) -> str:
    action = "refunded" if payment.captured else "cancelled"
    return f"{_what(payment)} was {action} at the bank; order {reference} stays paid once"


def _not_given_back(payment: SecondPayment, reference: str, why: str) -> str:
    if payment.captured:
        todo = f"refund it in the bank's dashboard, or refund order {reference} with no amount, which tries it again"
    else:
        todo = "cancel it in the bank's dashboard before its deadline, or the bank captures it"
    return f"the bank would not give back {_what(payment)} ({why}): {todo}"
