"""Giving back a second payment: the bank accepted one order twice (two tabs, a late confirmation, a bank-side retry).

CGI2 records the second payment on the order as its own entry (``Order.second_payments``), in its one conditional
write, and puts the order in the sparse ``GiveBackIndex``; it never calls the bank, so the bank's acknowledgement
never waits on a back-office call. The give-back runs off the orders table's stream (``functions/give_back``), and
the deferred sweeper's schedule is its backstop: each run retries every order still in the index.

Exactly once, as the console's operations (``orders.backoffice``), whatever fails and whenever a process dies:

1. the give-back is journalled on its entry (``giving_back``) in a conditional write: one process holds it;
2. the bank is called once, on that session's own reference and order date: a refund of what it captured (an
   immediate terminal, with its own authorisation number), or the cancellation of its authorisation (a deferred
   terminal: ``capture_paiement`` with nothing to capture and nothing left, so the bank never captures it);
3. the outcome closes the entry: given back, or not (the bank refused: a review says what to do).

An entry left open (the answer lost, the process dead) is settled from the bank's status for that reference once
its lease has passed, before anything else; the call is sent again only when the status shows it did not happen.
One entry still in flight holds no other back: every other due entry is given back in the same call.

A second authorisation (a deferred terminal) is not given back until the bank shows it cancelled: before its
cancel is sent, and for as long as the bank would not cancel it (``Order.watches``, which keeps the order in
``GiveBackIndex``), the bank's status for its reference is asked. One the bank captured (the cancel refused, or too
late: the bank validated it at the end of its deferral period) is recorded as captured on the bank's day, in one
conditional write with a review, and refunded like an immediate one; one the bank shows cancelled (in its
dashboard, or at the end of the period) is given back. The console's "refund all" and the reconciliation ask too.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from sealing import Money, PaymentState, deferral_deadline

from .actors import BANK, BANK_DASHBOARD, Actor
from .bank import BankOutcome
from .desk import BankDesk
from .exceptions import (
    BankRefusedError,
    BankUnavailableError,
    ConcurrentUpdateError,
    OperationInProgressError,
    OrdersError,
)
from .model import (
    APPLIED,
    APPLIED_BY_BANK,
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

    def give_back(self, reference: str, now: datetime, actor: Actor, *, refused_too: bool = False) -> dict[str, str]:
        """Give back every second payment of the order still due, settle any give-back left open, and ask the bank
        about the authorisations not given back (captured: refunded; cancelled: given back); with ``refused_too``
        (the console's "refund all"), the captured ones the bank refused before are tried again; ``actor`` is who
        asks (the give-backs it does record it). What happened to each, by its bank reference (nothing for an
        authorisation the bank still holds as it was).

        Every entry is tried, whatever another one does; then ``OperationInProgressError`` when another process is
        giving one back (its entry is fresh), ``BankUnavailableError`` when the bank's answer, or its status, is
        unknown: that entry stays for the next try.
        """
        order = self.store.get(reference)
        outcomes: dict[str, str] = {}
        failure: OrdersError | None = None
        for index in range(len(order.second_payments)):
            bank_reference = order.second_payments[index].bank_reference
            try:
                order, outcome = self._entry(order, index, now, actor, refused_too)
            except (OperationInProgressError, BankUnavailableError, ConcurrentUpdateError) as exc:
                failure = failure or exc
                order = self.store.get(reference)  # what the failed step wrote: never finish another on a stale copy
                continue
            if outcome:
                outcomes[bank_reference] = outcome
        if failure is not None:
            raise failure
        return outcomes

    def _entry(self, order: Order, index: int, now: datetime, actor: Actor, refused_too: bool) -> tuple[Order, str]:
        """Second payment ``index``: the bank asked first when it is an authorisation not given back, then given
        back when due (or, ``refused_too``, refused before); what happened ("" for nothing)."""
        payment = order.second_payments[index]
        seen = ""
        if payment.giving_back is None and (order.watches(payment) or _to_cancel(order, payment)):
            order, seen = self._ask(order, index, now)
            payment = order.second_payments[index]
        retried = refused_too and payment.captured and payment.state == NOT_GIVEN_BACK
        if payment.giving_back is None and payment.state != GIVE_BACK_DUE and not retried:
            return order, seen
        states = (GIVE_BACK_DUE, NOT_GIVEN_BACK) if retried else (GIVE_BACK_DUE,)
        order, outcome = self._one(order, index, states, now, actor)
        return order, f"{outcome}; {seen}" if seen else outcome

    # --- what the bank did of an authorisation: captured it, or cancelled it --------------------------------

    def _ask(self, order: Order, index: int, now: datetime) -> tuple[Order, str]:
        """Ask the bank's status of second authorisation ``index`` and record what it shows done: captured (then
        due, to refund) or cancelled (given back). One still authorised is left as it is ("" then). A status that
        cannot be read leaves a due one to its cancel (cancelling cannot move money) and raises for a watched one."""
        payment = order.second_payments[index]
        try:
            status = self.bank(order).status(reference=payment.bank_reference, total=order.amount, at=now)
        except BankUnavailableError:
            if payment.state == GIVE_BACK_DUE:
                return order, ""
            raise
        collected = status.collected
        if collected is not None and collected.amount:
            if collected != payment.amount:
                raise BankUnavailableError(
                    "status", f"montantrecouvre says {collected} for {_what(payment)}: needs a human look"
                )
            return self._settle(order, index, self._captured(order, payment, status.captured_on, now), now)
        if status.state is PaymentState.CANCELLED:
            return self._settle(order, index, self._cancelled(order, payment, now), now)
        return order, ""

    def _by_bank(self, order: Order, payment: SecondPayment, now: datetime) -> datetime | None:
        """The end of the authorisation's deferral period when it has passed (the bank's own action then)."""
        terminal = self.terminals().get(order.tpe)
        deadline = deferral_deadline(payment.ordered_at, terminal.deferral_days, terminal.terminal.timezone)
        return deadline if now >= deadline else None

    def _captured(self, order: Order, payment: SecondPayment, day: date | None, now: datetime) -> SecondPayment:
        """The authorisation as the bank captured it: due, to refund, its capture booked on the bank's day (its
        status's, else its deadline's when it has passed: the bank's end-of-period validation, else today)."""
        deadline = self._by_bank(order, payment, now)
        day = day or self._day(order, deadline or now)
        outcome, detail = (
            (APPLIED_BY_BANK, "the bank's end-of-period validation")
            if deadline
            else (APPLIED_OUTSIDE_API, "captured at the bank, not through this API")
        )
        record = OperationRecord(
            f"bank-{secrets.token_hex(4)}", "capture_full", payment.amount, now, outcome, detail, bank_day=day,
            actor=BANK if deadline else BANK_DASHBOARD,
        )  # fmt: skip
        return replace(payment, state=GIVE_BACK_DUE, bank_capture=record)

    def _cancelled(self, order: Order, payment: SecondPayment, now: datetime) -> SecondPayment:
        """The authorisation as the bank cancelled it (at the end of its period, or in its dashboard): given back."""
        by_bank = self._by_bank(order, payment, now) is not None
        outcome = APPLIED_BY_BANK if by_bank else APPLIED_OUTSIDE_API
        detail = "the bank's status shows it cancelled" + (" at the end of its period" if by_bank else "")
        actor = BANK if by_bank else BANK_DASHBOARD
        record = OperationRecord(
            f"bank-{secrets.token_hex(4)}", "cancel", payment.amount, now, outcome, detail, actor=actor
        )
        return replace(payment, state=GIVEN_BACK, outcome=record)

    def _settle(self, order: Order, index: int, ended: SecondPayment, now: datetime) -> tuple[Order, str]:
        """Record ``ended`` (what the bank did) on entry ``index``, once: another process that wrote it first wins,
        and the entry is then taken as it left it."""
        payment = order.second_payments[index]
        if ended.bank_capture is not None:
            said = f"the bank captured {_what(payment)} on {ended.bank_capture.bank_day}"
            said += f" ({ended.bank_capture.detail})"
            review = Review(
                ReviewReason.SECOND_PAYMENT_CAPTURED, now, f"{said}: it is refunded at the bank automatically"
            )
            seen = f"captured by the bank on {ended.bank_capture.bank_day}"
        else:
            review = Review(ReviewReason.SECOND_PAYMENT_GIVEN_BACK, now, _given_back(ended, order.reference))
            seen = ""
        for _ in range(FINISH_TRIES):
            try:
                self.store.settle_second_payment(order, index, ended, review)
                break
            except ConcurrentUpdateError:
                order = self.store.get(order.reference)
                current = order.second_payments[index]
                if current.bank_capture is not None or current.state != payment.state or current.giving_back:
                    return order, ""  # another process recorded it (or is giving it back): taken as it is
        else:
            raise ConcurrentUpdateError(f"order {order.reference}: {_what(payment)} stays as it was")
        order = self.store.get(order.reference)
        if ended.state == GIVEN_BACK:
            assert ended.outcome is not None
            return order, f"{GIVEN_BACK} ({ended.event} {ended.outcome.outcome})"
        return order, seen

    def due(self, now: datetime, actor: Actor, out_of_time: Callable[[], bool] = lambda: False) -> GiveBackReport:
        """Every order of ``GiveBackIndex`` (never a table scan): the sweeper's backstop (``actor``) for what the
        stream's consumer could not finish (the bank unavailable, a process dead mid-way)."""
        report = GiveBackReport()
        start: dict[str, object] | None = None
        while True:
            references, start = self.store.orders_to_give_back(start)
            for reference in references:
                if out_of_time():
                    report.finished = False
                    return report
                try:
                    report.outcomes.update(self.give_back(reference, now, actor))
                except Exception as exc:  # one order's failure does not stop the others: the next run retries it
                    report.failures[reference] = f"{type(exc).__name__}: {exc}"
            if not start:
                return report

    # --- one second payment ---------------------------------------------------------------------------------

    def _one(self, order: Order, index: int, states: Sequence[str], now: datetime, actor: Actor) -> tuple[Order, str]:
        payment = order.second_payments[index]
        previous = ""
        if payment.giving_back is not None:
            if now - payment.giving_back.started_at < self.lease:
                raise OperationInProgressError(order.reference, f"give-back of {payment.bank_reference}")
            if self._applied(order, payment, now):  # settled from the bank's status before anything else
                detail = "its answer was lost; the bank's status shows it given back"
                earlier = payment.giving_back
                return self._finish(order, index, earlier.id, APPLIED, detail, now, earlier.actor)
            previous = payment.giving_back.id  # the status shows it did not happen: taken over, sent once
        giving_back = GiveBack(secrets.token_hex(8), now, actor)
        try:
            order = self.store.begin_give_back(order, index, giving_back, states, previous)
        except ConcurrentUpdateError:
            return self.store.get(order.reference), "taken by another process"
        try:
            outcome = self._send(order, payment, now)
        except BankRefusedError as exc:
            return self._refused(order, index, giving_back, exc, now)
        # BankUnavailableError propagates: the journal entry stays until the bank's status settles it.
        return self._finish(order, index, giving_back.id, DONE, outcome.label, now, actor)

    def _send(self, order: Order, payment: SecondPayment, now: datetime) -> BankOutcome:
        bank = self.bank(order)
        ordered_on = self._day(order, payment.ordered_at)
        if payment.captured:
            return bank.refund(
                reference=payment.bank_reference, ordered_on=ordered_on,
                captured_on=self._captured_on(order, payment, now),
                authorisation_number=payment.authorisation_number, total=order.amount, refund=payment.amount,
                refundable=payment.amount, at=now,
            )  # fmt: skip
        nothing = Money(Decimal(0), payment.amount.currency)
        return bank.cancel(
            reference=payment.bank_reference, ordered_on=ordered_on, total=order.amount, already_captured=nothing,
            at=now,
        )  # fmt: skip

    def _captured_on(self, order: Order, payment: SecondPayment, now: datetime) -> date:
        """The day the bank booked the capture (``date_remise``): its status's word, else the payment's day."""
        said = self._status_capture_day(order, payment.bank_reference, now)
        if said is None and payment.bank_capture is not None:
            said = payment.bank_capture.bank_day
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
        self, order: Order, index: int, giving_back: GiveBack, exc: BankRefusedError, now: datetime
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
            return self._finish(order, index, giving_back.id, APPLIED_OUTSIDE_API, detail, now, BANK_DASHBOARD)
        return self._finish(order, index, giving_back.id, REFUSED, str(exc), now, giving_back.actor)

    def _finish(
        self,
        order: Order,
        index: int,
        giving_back_id: str,
        outcome: str,
        detail: str,
        now: datetime,
        actor: Actor | None,
    ) -> tuple[Order, str]:
        payment = order.second_payments[index]
        record = OperationRecord(giving_back_id, payment.event, payment.amount, now, outcome, detail, actor=actor)
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


def _to_cancel(order: Order, payment: SecondPayment) -> bool:
    """Whether ``payment`` is an authorisation due to be cancelled (the bank is asked first whether it captured it)."""
    return payment.state == GIVE_BACK_DUE and not payment.captured and order.gives_back_alone(payment)


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
        todo = "cancel it in the bank's dashboard before its deadline; the bank's status for it is asked until then,"
        todo += " and a capture by the bank is refunded automatically"
    return f"the bank would not give back {_what(payment)} ({why}): {todo}"
