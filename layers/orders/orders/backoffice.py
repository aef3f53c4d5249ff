"""Back-office operations on an order — capture, cancel, refund — and the end-of-deferral sweep.

Nothing is ever applied twice, whatever fails and whenever a process dies:

1. the intent is journalled on the order (``pending``) in a conditional write naming the state it leaves;
2. the bank is called once;
3. the outcome is written in a conditional write that closes that journal entry.

If the process dies between 2 and 3, or the bank's answer is lost, the entry stays. Before anything else
is done to that order, the bank's status is asked and the entry is closed as applied or not applied; the
operation is never resent blindly.

The bank is not only reached through this API: the merchant validates, cancels and refunds in its dashboard,
and the bank applies the contract at the end of a deferral period. When it refuses an operation, its status
is read; what it shows done that the books lack is recorded (``applied_outside_api``, or ``applied_by_bank``
for the contract's own end-of-period action) in the same write that closes the entry, and the caller is told.
Days the bank counts (``date_commande``, ``date_remise``) are in the terminal's time zone, and a capture's day
is the one the bank gave.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sealing import Money, PaymentState, StatusAnswer, parse_amount

from .actors import BANK, BANK_DASHBOARD, SWEEPER, Actor
from .amounts import plan_cancel, plan_capture, plan_refund, refundable, remaining
from .bank import OPERATION_LEASE, BankClient, BankFactory, BankOutcome
from .desk import BankDesk
from .exceptions import (
    BankRefusedError,
    BankStateDifferedError,
    BankUnavailableError,
    ConcurrentUpdateError,
    IdempotencyKeyReusedError,
    InvalidOrderError,
    OperationInProgressError,
    PreviousOperationAppliedError,
    TransitionNotAllowedError,
)
from .giveback import GiveBacks
from .idempotency import KEY_TTL as KEY_LIFETIME
from .lifecycle import Event
from .model import (
    APPLIED,
    APPLIED_BY_BANK,
    APPLIED_OUTCOMES,
    APPLIED_OUTSIDE_API,
    DEFERRAL_STATES,
    DONE,
    GIVEN_BACK,
    NOT_APPLIED,
    NOT_GIVEN_BACK,
    REFUSED,
    OperationRecord,
    Order,
    PendingOperation,
    Plan,
    Review,
    ReviewReason,
)
from .store import OrderStore
from .terminals import EndPolicy, PaymentMode, TerminalConfig, TerminalsProvider

CAPTURES = {Event.CAPTURE_FULL.value, Event.CAPTURE_PARTIAL.value}
REFUNDS = {Event.REFUND_FULL.value, Event.REFUND_PARTIAL.value}


# An amount asked for: a Decimal, the merchant's own writing (read in the order's currency, with exactly its
# minor digits: sealing.parse_amount), or None for everything.
Requested = Decimal | str | None


def _requested(order: Order, amount: Requested) -> Decimal | None:
    if not isinstance(amount, str):
        return amount
    value = parse_amount(amount, order.currency, "amount").amount
    if value <= 0:
        raise InvalidOrderError("amount", "must be more than zero (leave the field out for everything)")
    return value


def _capture_of(amount: Requested) -> Callable[[Order], Plan]:
    return lambda order: plan_capture(order, _requested(order, amount))


def _refund_of(amount: Requested) -> Callable[[Order], Plan]:
    return lambda order: plan_refund(order, _requested(order, amount))


@dataclass(frozen=True)
class BankActions:
    """What the bank's status shows done that the order's books lack: one record per action, and the books after."""

    records: tuple[OperationRecord, ...]
    books: Plan

    def describe(self) -> str:
        return " and ".join(f"a {r.event} of {r.amount}" for r in self.records)


class BackOffice(BankDesk):
    """The merchant's console operations and the sweeper, over the order store and the bank."""

    def __init__(
        self,
        store: OrderStore,
        terminals: TerminalsProvider,
        bank: BankFactory = BankClient,
        *,
        lease: timedelta = OPERATION_LEASE,
        fresh_key: bool = False,
    ) -> None:
        """``fresh_key``: the request's Idempotency-Key was never claimed before, so no operation may already
        bear it (one that does is a key reused for a new request, refused)."""
        super().__init__(store, terminals, bank, lease=lease)
        self.fresh_key = fresh_key

    # --- the console ----------------------------------------------------------------------------------

    # Each operation records ``actor``, who asked for it, in the order's journal, and so in its events.

    def capture(self, reference: str, amount: Requested, now: datetime, actor: Actor, key: str | None = None) -> Order:
        return self._perform(reference, _capture_of(amount), now, actor, key)

    def cancel(self, reference: str, now: datetime, actor: Actor, key: str | None = None) -> Order:
        return self._perform(reference, plan_cancel, now, actor, key)

    def refund(self, reference: str, amount: Requested, now: datetime, actor: Actor, key: str | None = None) -> Order:
        """Refund ``amount`` of the order's payment; with no amount ("refund all"), every captured second payment
        still not given back is refunded first, so that the order never reads refunded while one stays debited."""
        if amount is None and self._give_back_captured(reference, now, actor):
            order = self.store.get(reference)
            if order.pending is None and refundable(order) <= 0:
                return order  # the order's own payment was refunded already: the second ones were all that was left
        return self._perform(reference, _refund_of(amount), now, actor, key)

    def _give_back_captured(self, reference: str, now: datetime, actor: Actor) -> bool:
        """Refund every captured second payment of the order not given back yet (once each, through its journal),
        the bank asked first whether it captured an authorisation not given back; whether it had any.
        ``BankRefusedError`` when one stays debited: nothing else is refunded then."""
        order = self.store.get(reference)
        if not any((p.captured and p.state != GIVEN_BACK) or order.watches(p) for p in order.second_payments):
            return False
        givebacks = GiveBacks(self.store, self.terminals, self._bank, lease=self.lease)
        givebacks.give_back(reference, now, actor, refused_too=True)
        left = [p for p in self.store.get(reference).second_payments if p.captured and p.state != GIVEN_BACK]
        if left:
            why = left[0].outcome.detail if left[0].outcome else left[0].state
            detail = f"the second payment under {left[0].bank_reference} is not given back ({why}): nothing else was"
            raise BankRefusedError("refund", f"{detail} refunded; see the order's reviews")
        return True

    def _perform(
        self, reference: str, planner: Callable[[Order], Plan], now: datetime, actor: Actor, key: str | None
    ) -> Order:
        order = self.store.get(reference)
        earlier = [record for record in order.operations if key and record.id == key]
        if earlier and (self.fresh_key or now - earlier[-1].at > KEY_LIFETIME):
            # The key named another request (its record expired after a day): a new request needs a new key.
            raise IdempotencyKeyReusedError(key or "")
        if earlier and earlier[-1].outcome in APPLIED_OUTCOMES:
            return order  # the same request again: it took effect, answer what it did
        if order.pending is not None:
            same_request = key is not None and order.pending.id == key
            order, settled = self.settle(order, now)
            applied = settled is not None and settled.outcome in APPLIED_OUTCOMES
            if same_request and applied:
                return order
            if not same_request and settled is not None and settled.outcome == APPLIED:
                # The caller never learnt the earlier one succeeded: doing this one too could be a double.
                raise PreviousOperationAppliedError(reference, settled.event, str(settled.amount))
            # The same request found not applied: its retry performs it (below).
        plan = planner(order)
        pending = PendingOperation(key or secrets.token_hex(8), plan, now, actor)
        # A ConcurrentUpdateError here (the order moved since it was read) is the caller's to retry: nothing
        # was sent to the bank.
        order = self.store.begin_operation(order, pending)
        self._call_bank(order, pending, now)
        return self.store.get(reference)

    def _send(self, order: Order, plan: Plan, now: datetime) -> BankOutcome:
        bank = self.bank(order)
        ordered_on = self._day(order, order.bank_ordered_at)
        already = Money(order.captured, order.currency)
        if plan.event in CAPTURES:
            return bank.capture(
                reference=order.bank_payment_reference, ordered_on=ordered_on, total=order.amount,
                to_capture=plan.amount, already_captured=already, at=now, language=order.language,
            )  # fmt: skip
        if plan.event == Event.CANCEL.value:
            return bank.cancel(
                reference=order.bank_payment_reference,
                ordered_on=ordered_on,
                total=order.amount,
                already_captured=already,
                at=now,
            )
        return bank.refund(
            reference=order.bank_payment_reference, ordered_on=ordered_on, captured_on=self._captured_on(order, now),
            authorisation_number=order.authorisation_number, total=order.amount, refund=plan.amount,
            refundable=Money(order.captured - order.refunded, order.currency), at=now,
        )  # fmt: skip

    def _captured_on(self, order: Order, now: datetime) -> date:
        """The capture's day as the bank booked it (``date_remise``): the bank's word, never the merchant's clock.

        From the last capture's record when the bank's answer gave it, else from the bank's status; only when
        the bank says neither, the day the capture (or the immediate payment) was recorded, in the terminal's zone.
        """
        captures = [op for op in order.operations if op.event in CAPTURES and op.outcome in APPLIED_OUTCOMES]
        if captures and captures[-1].bank_day is not None:
            return captures[-1].bank_day
        said = self._status_capture_day(order, order.bank_payment_reference, now)
        if said is not None:
            return said
        return self._day(order, captures[-1].at if captures else order.paid_at or order.created_at)

    def _call_bank(
        self, order: Order, pending: PendingOperation, now: datetime, *, end_of_period: bool = False
    ) -> OperationRecord:
        """Call the bank once for ``pending`` and close the entry; an unknown outcome leaves it open."""
        plan = pending.plan
        try:
            outcome = self._send(order, plan, now)
        except BankRefusedError as exc:
            self._refused(order, pending, now, exc, end_of_period)
            raise
        # BankUnavailableError propagates: the journal entry stays until the bank's status settles it.
        record = OperationRecord(
            pending.id, plan.event, plan.amount, now, DONE, outcome.label, outcome.authorisation_number,
            outcome.captured_on if plan.event in CAPTURES else None, actor=pending.actor,
        )  # fmt: skip
        self._close(order, record, plan)
        return record

    def _refused(
        self, order: Order, pending: PendingOperation, now: datetime, exc: BankRefusedError, end_of_period: bool
    ) -> None:
        """Close a refused operation. A refusal because the bank's state differs (the merchant validated or
        refunded in the bank's dashboard, the bank ended the period) records what the bank did instead."""
        plan = pending.plan
        record = OperationRecord(pending.id, plan.event, plan.amount, now, REFUSED, str(exc), actor=pending.actor)
        try:
            status = self.bank(order).status(reference=order.bank_payment_reference, total=order.amount, at=now)
        except BankUnavailableError:
            status = None  # the refusal itself is certain: record it; a later call learns the rest
        found = self.bank_actions(order, status, now) if status is not None else None
        if found is not None:
            self._close(order, record, found.books, also=found.records)
            raise BankStateDifferedError(order.reference, plan.event, str(exc), found.describe()) from exc
        if end_of_period:
            # Resending it every run would append a refusal each time: a human decides, the sweeper lets go.
            detail = f"the bank refused the end-of-period {plan.event} of {plan.amount}: {exc}"
            review = Review(ReviewReason.END_OF_PERIOD_REFUSED, now, detail)
            self._close(order, record, None, review=review, leave_deadline_index=True)
            return
        self._close(order, record, None)

    def _close(
        self,
        order: Order,
        record: OperationRecord,
        plan: Plan | None,
        *,
        also: Sequence[OperationRecord] = (),
        review: Review | None = None,
        leave_deadline_index: bool = False,
    ) -> None:
        try:
            self.store.finish_operation(
                order, record, plan, record.id, also=also, review=review, leave_deadline_index=leave_deadline_index
            )
        except ConcurrentUpdateError:
            # The entry was closed by someone else meanwhile (it outlived its lease): never drop what the
            # bank did; keep it, and ask a human to reconcile.
            self.store.record_conflict(order.reference, record, record.at)

    # --- what the bank did without this API ---------------------------------------------------------------

    def bank_actions(self, order: Order, status: StatusAnswer, now: datetime) -> BankActions | None:
        """What the bank's status shows done that the order's books lack, labelled: the bank's own end-of-period
        action (the contract's, on or after the deadline) or done outside this API (its dashboard).

        ``None`` when the status matches the books, or shows something they cannot be brought to.
        """
        plans = _catch_up(order, status)
        if not plans:
            return None
        terminal = self.terminals().get(order.tpe)
        records = []
        for step, plan in plans:
            by_bank = self._end_of_period_action(step, plan, status, terminal, now)
            records.append(
                OperationRecord(
                    f"bank-{secrets.token_hex(4)}", plan.event, plan.amount, now,
                    APPLIED_BY_BANK if by_bank else APPLIED_OUTSIDE_API,
                    (
                        f"the bank's own end-of-period action ({status.state.value})"
                        if by_bank
                        else f"shown by the bank's status ({status.state.value}), not done through this API"
                    ),
                    bank_day=status.captured_on if plan.event in CAPTURES else None,
                    actor=BANK if by_bank else BANK_DASHBOARD,
                )
            )  # fmt: skip
        first, last = plans[0][1], plans[-1][1]
        books = Plan(last.event, last.amount, first.leaves, last.enters, last.captured, last.refunded, last.cancelled)
        return BankActions(tuple(records), books)

    def _end_of_period_action(
        self, order: Order, plan: Plan, status: StatusAnswer, terminal: TerminalConfig, now: datetime
    ) -> bool:
        """Whether ``plan`` is what the contract makes the bank do at the deadline, and was done then."""
        deadline = order.deadline
        if deadline is None or now < deadline or order.status not in DEFERRAL_STATES:
            return False
        validates = order.mode is PaymentMode.DEFERRED and terminal.end_policy is EndPolicy.VALIDATE
        if not validates:
            return plan.event == Event.CANCEL.value
        if plan.event != Event.CAPTURE_FULL.value:
            return False
        # A validation in the bank's dashboard is a capture too: only its day tells them apart, when given.
        return status.captured_on is None or status.captured_on >= self._day(order, deadline)

    # --- settling an unknown outcome --------------------------------------------------------------------

    def settle(self, order: Order, now: datetime) -> tuple[Order, OperationRecord | None]:
        """Close an open journal entry from the bank's status, and say how it ended.

        A fresh entry may belong to a call still under way: ``OperationInProgressError`` until its lease
        has passed. ``BankUnavailableError`` while the bank's status cannot tell.
        """
        order = self.store.get(order.reference)  # never act on a stale (index) copy
        pending = order.pending
        if pending is None:
            return order, None
        if now - pending.started_at < self.lease:
            raise OperationInProgressError(order.reference, pending.plan.event)
        status = self.bank(order).status(reference=order.bank_payment_reference, total=order.amount, at=now)
        applied = _applied(pending.plan, status, order)
        if applied is None:  # a cancel the status cannot confirm: cancelling again cannot move money
            record = self._call_bank(order, pending, now)
            return self.store.get(order.reference), record
        outcome = APPLIED if applied else NOT_APPLIED
        detail = f"checked with the bank's status ({status.state.value})"
        bank_day = status.captured_on if applied and pending.plan.event in CAPTURES else None
        record = OperationRecord(
            pending.id, pending.plan.event, pending.plan.amount, now, outcome, detail, bank_day=bank_day,
            actor=pending.actor,
        )  # fmt: skip
        self._close(order, record, pending.plan if applied else None)
        return self.store.get(order.reference), record

    # --- the end of the deferral period -------------------------------------------------------------------

    def sweep(self, now: datetime, out_of_time: Callable[[], bool] = lambda: False) -> SweepReport:
        """Give back the second payments still due, then apply the end-of-period policy to every order whose
        deadline has passed (each read from its sparse index: never a table scan).

        ``out_of_time`` is asked before each order: once it says so, the run stops there (``finished`` False) and
        the orders not reached stay due, for the next run.
        """
        report = SweepReport()
        # First the second payments still to give back: the backstop of the stream's consumer (GiveBackIndex).
        given = GiveBacks(self.store, self.terminals, self._bank, lease=self.lease).due(now, SWEEPER, out_of_time)
        report.outcomes.update(given.outcomes)
        report.failures.update(given.failures)
        report.flagged.extend(ref for ref, outcome in given.outcomes.items() if outcome.startswith(NOT_GIVEN_BACK))
        if not given.finished:
            report.finished = False
            return report
        start: dict[str, Any] | None = None
        while True:
            orders, start, read = self.store.due_orders(now, start)
            report.items_read += read
            for order in orders:
                if out_of_time():
                    report.finished = False
                    return report
                try:
                    report.outcomes[order.reference] = self._end_of_period(order, now)
                except _Flagged as flagged:
                    report.outcomes[order.reference] = str(flagged)
                    report.flagged.append(order.reference)
                except Exception as exc:
                    report.failures[order.reference] = f"{type(exc).__name__}: {exc}"
            if not start:
                return report

    def _end_of_period(self, order: Order, now: datetime) -> str:
        # The order is acted on as read after the index (eventually consistent, one item read per due order): every
        # write below is conditional on its status and version, so a stale copy makes the write fail (retried next
        # run), never act twice. Only a journal entry to settle needs the consistent read.
        if order.pending is not None:
            order, _ = self.settle(order, now)
        if order.status not in DEFERRAL_STATES:
            return f"nothing to do ({order.status.value})"
        terminal = self.terminals().get(order.tpe)
        status = self.bank(order).status(reference=order.bank_payment_reference, total=order.amount, at=now)
        found = self.bank_actions(order, status, now)
        if found is not None:
            first, *more = found.records
            self.store.finish_operation(order, first, found.books, also=more)
            return "; ".join(
                f"recorded the bank's {r.event}"
                if r.outcome == APPLIED_BY_BANK
                else f"recorded a {r.event} done outside the API"
                for r in found.records
            )
        validate = order.mode is PaymentMode.DEFERRED and terminal.end_policy is EndPolicy.VALIDATE
        plan = plan_capture(order) if validate else plan_cancel(order)
        pending = PendingOperation(secrets.token_hex(8), plan, now, SWEEPER)
        order = self.store.begin_operation(order, pending)
        try:
            self._call_bank(order, pending, now, end_of_period=True)
        except BankRefusedError as exc:
            raise _Flagged(f"{plan.event} refused by the bank, flagged for review: {exc}") from exc
        except BankStateDifferedError:
            return f"{plan.event} refused: the bank's state differed, recorded what it shows"
        return plan.event


@dataclass
class SweepReport:
    items_read: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    flagged: list[str] = field(default_factory=list)  # orders now needing review (end_of_period_refused)
    finished: bool = True  # False: out of time, the due orders left are the next run's


class _Flagged(Exception):
    """The end of the period left the order flagged for review (its message is the outcome)."""


def _applied(plan: Plan, status: StatusAnswer, order: Order) -> bool | None:
    """Whether the bank's status shows ``plan`` took effect; ``None`` for a cancel it cannot confirm.

    Never concludes "not applied" from missing data: an amount the status does not give, or one that is
    neither the books before nor after the operation, leaves the outcome unknown.
    """
    if plan.event in CAPTURES:
        return _compare(status.collected, order.captured, plan.captured, order, "montantrecouvre")
    if plan.event in REFUNDS:
        return _compare(status.refunded, order.refunded, plan.refunded, order, "recredits")
    if status.state is PaymentState.CANCELLED:
        return True
    return None


def _compare(said: Money | None, before: Decimal, after: Decimal, order: Order, field: str) -> bool:
    if said is None or said.currency != order.currency or said.amount not in (before, after):
        shown = str(said) if said is not None else "nothing"
        raise BankUnavailableError("status", f"{field} says {shown}: the outcome stays unknown (needs a human look)")
    return said.amount == after


def _said(money: Money | None, currency: str) -> Decimal | None:
    return money.amount if money is not None and money.currency == currency else None


def _booked(order: Order, plan: Plan) -> Order:
    return order.with_changes(
        status=plan.enters, captured=plan.captured, refunded=plan.refunded, cancelled=plan.cancelled
    )


def _catch_up(order: Order, status: StatusAnswer) -> list[tuple[Order, Plan]]:
    """The plans (each with the order it starts from) that bring the books to what the status shows: a capture,
    the cancellation of what is left, a refund, in that order. Empty when they match, or when the status cannot
    be reached from the books (it shows less than they do, or a move the states do not allow)."""
    collected, refunded = _said(status.collected, order.currency), _said(status.refunded, order.currency)
    left = _said(status.remaining, order.currency)
    steps: list[tuple[Order, Plan]] = []
    current = order
    try:
        if collected is not None and collected > current.captured:
            steps.append((current, plan_capture(current, collected - current.captured)))
            current = _booked(current, steps[-1][1])
        cancelled = status.state is PaymentState.CANCELLED or left == 0
        if cancelled and current.status in DEFERRAL_STATES and remaining(current) > 0:
            steps.append((current, plan_cancel(current)))
            current = _booked(current, steps[-1][1])
        if refunded is not None and refunded > current.refunded:
            steps.append((current, plan_refund(current, refunded - current.refunded)))
    except TransitionNotAllowedError:
        return []
    return steps
