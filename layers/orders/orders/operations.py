"""Back-office operations on an order — capture, cancel, refund — and the end-of-deferral sweep.

Nothing is ever applied twice, whatever fails and whenever a process dies:

1. the intent is journalled on the order (``pending``) in a conditional write naming the state it leaves;
2. the bank is called once;
3. the outcome is written in a conditional write that closes that journal entry.

If the process dies between 2 and 3, or the bank's answer is lost, the entry stays. Before anything else
is done to that order, the bank's status is asked and the entry is closed as applied or not applied; the
operation is never resent blindly.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sealing import Money, PaymentState, StatusAnswer

from .bank import BankClient, BankRefusedError, BankUnavailableError
from .bookkeeping import plan_cancel, plan_capture, plan_refund, remaining
from .calendar import PARIS
from .exceptions import (
    ConcurrentUpdateError,
    OperationInProgressError,
    PreviousOperationAppliedError,
    TransitionNotAllowedError,
)
from .lifecycle import Event
from .model import DEFERRAL_STATES, OperationRecord, Order, PendingOperation, Plan
from .store import OrderStore
from .terminals import EndPolicy, PaymentMode, Terminals

BankFactory = Callable[..., BankClient]
CAPTURES = {Event.CAPTURE_FULL.value, Event.CAPTURE_PARTIAL.value}
REFUNDS = {Event.REFUND_FULL.value, Event.REFUND_PARTIAL.value}
APPLIED_OUTCOMES = frozenset({"done", "applied", "applied_by_bank"})
# How long a journal entry may belong to a call still under way: far above any function's timeout.
OPERATION_LEASE = timedelta(minutes=5)


def _day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def _captured_on(order: Order) -> date:
    captures = [op.at for op in order.operations if op.event in CAPTURES and op.outcome in APPLIED_OUTCOMES]
    return _day(max(captures) if captures else order.paid_at or order.created_at)


class BackOffice:
    """The merchant's console operations and the sweeper, over the order store and the bank."""

    def __init__(
        self,
        store: OrderStore,
        terminals: Terminals,
        bank: BankFactory = BankClient,
        *,
        lease: timedelta = OPERATION_LEASE,
    ) -> None:
        self.store = store
        self.terminals = terminals
        self._bank = bank
        self.lease = lease

    def bank(self, order: Order) -> BankClient:
        return self._bank(self.terminals.get(order.tpe))

    # --- the console ----------------------------------------------------------------------------------

    def capture(self, reference: str, amount: Decimal | None, now: datetime, key: str | None = None) -> Order:
        return self._perform(reference, lambda order: plan_capture(order, amount), now, key)

    def cancel(self, reference: str, now: datetime, key: str | None = None) -> Order:
        return self._perform(reference, plan_cancel, now, key)

    def refund(self, reference: str, amount: Decimal | None, now: datetime, key: str | None = None) -> Order:
        return self._perform(reference, lambda order: plan_refund(order, amount), now, key)

    def _perform(self, reference: str, planner: Callable[[Order], Plan], now: datetime, key: str | None) -> Order:
        order = self.store.get(reference)
        if key and any(record.id == key for record in order.operations):
            return order  # the same request again: it already ended, answer what it did
        if order.pending is not None:
            same_request = key is not None and order.pending.id == key
            order, settled = self.settle(order, now)
            if same_request:
                return order
            if settled is not None and settled.outcome == "applied":
                # The caller never learnt the earlier one succeeded: doing this one too could be a double.
                raise PreviousOperationAppliedError(reference, settled.event, str(settled.amount))
        plan = planner(order)
        pending = PendingOperation(key or secrets.token_hex(8), plan, now)
        try:
            order = self.store.begin_operation(order, pending)
        except ConcurrentUpdateError:
            raise TransitionNotAllowedError(
                reference, order.status.value, plan.event, "the order changed meanwhile, try again"
            ) from None
        self._call_bank(order, pending, now)
        return self.store.get(reference)

    def _call_bank(self, order: Order, pending: PendingOperation, now: datetime) -> OperationRecord:
        """Call the bank once for ``pending`` and close the entry; an unknown outcome leaves it open."""
        plan, bank = pending.plan, self.bank(order)
        already = Money(order.captured, order.currency)
        try:
            if plan.event in CAPTURES:
                outcome = bank.capture(
                    reference=order.reference, ordered_on=_day(order.created_at), total=order.amount,
                    to_capture=plan.amount, already_captured=already, at=now, language=order.language,
                )  # fmt: skip
            elif plan.event == Event.CANCEL.value:
                outcome = bank.cancel(
                    reference=order.reference, ordered_on=_day(order.created_at), total=order.amount,
                    already_captured=already, at=now,
                )  # fmt: skip
            else:
                outcome = bank.refund(
                    reference=order.reference, ordered_on=_day(order.created_at), captured_on=_captured_on(order),
                    authorisation_number=order.authorisation_number, total=order.amount, refund=plan.amount,
                    refundable=Money(order.captured - order.refunded, order.currency), at=now,
                )  # fmt: skip
        except BankRefusedError as exc:
            self._close(order, OperationRecord(pending.id, plan.event, plan.amount, now, "refused", str(exc)), None)
            raise
        # BankUnavailableError propagates: the journal entry stays until the bank's status settles it.
        record = OperationRecord(
            pending.id, plan.event, plan.amount, now, "done", outcome.label, outcome.authorisation_number
        )
        self._close(order, record, plan)
        return record

    def _close(self, order: Order, record: OperationRecord, plan: Plan | None) -> None:
        try:
            self.store.finish_operation(order, record, plan, record.id)
        except ConcurrentUpdateError:
            # The entry was closed by someone else meanwhile (it outlived its lease): never drop what the
            # bank did; keep it, and ask a human to reconcile.
            self.store.record_conflict(order.reference, record, record.at)

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
        status = self.bank(order).status(reference=order.reference, total=order.amount, at=now)
        applied = _applied(pending.plan, status, order)
        if applied is None:  # a cancel the status cannot confirm: cancelling again cannot move money
            record = self._call_bank(order, pending, now)
            return self.store.get(order.reference), record
        outcome = "applied" if applied else "not_applied"
        detail = f"checked with the bank's status ({status.state.value})"
        record = OperationRecord(pending.id, pending.plan.event, pending.plan.amount, now, outcome, detail)
        self._close(order, record, pending.plan if applied else None)
        return self.store.get(order.reference), record

    # --- the end of the deferral period -------------------------------------------------------------------

    def sweep(self, now: datetime) -> SweepReport:
        """Apply the end-of-period policy to every order whose deadline has passed (never a table scan)."""
        report = SweepReport()
        start: dict[str, Any] | None = None
        while True:
            orders, start, read = self.store.due_orders(now, start)
            report.items_read += read
            for order in orders:
                try:
                    report.outcomes[order.reference] = self._end_of_period(order, now)
                except Exception as exc:
                    report.failures[order.reference] = f"{type(exc).__name__}: {exc}"
            if not start:
                return report

    def _end_of_period(self, order: Order, now: datetime) -> str:
        order, _ = self.settle(order, now)
        if order.status not in DEFERRAL_STATES:
            return f"nothing to do ({order.status.value})"
        terminal = self.terminals.get(order.tpe)
        status = self.bank(order).status(reference=order.reference, total=order.amount, at=now)
        bank_did = _bank_end_of_period(order, status)
        if bank_did is not None:
            record = OperationRecord(
                f"bank-{secrets.token_hex(4)}", bank_did.event, bank_did.amount, now, "applied_by_bank",
                f"the bank's own end-of-period action ({status.state.value})",
            )  # fmt: skip
            self.store.finish_operation(order, record, bank_did)
            return f"recorded the bank's {bank_did.event}"
        validate = order.mode is PaymentMode.DEFERRED and terminal.end_policy is EndPolicy.VALIDATE
        plan = plan_capture(order) if validate else plan_cancel(order)
        pending = PendingOperation(secrets.token_hex(8), plan, now)
        order = self.store.begin_operation(order, pending)
        self._call_bank(order, pending, now)
        return plan.event


@dataclass
class SweepReport:
    items_read: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def _collected(status: StatusAnswer, currency: str) -> Decimal:
    money = status.collected
    return money.amount if money is not None and money.currency == currency else Decimal(0)


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


def _bank_end_of_period(order: Order, status: StatusAnswer) -> Plan | None:
    """What the bank already did at the end of the period (it applies the contract too), as a plan to record."""
    if status.state is PaymentState.CANCELLED:
        return plan_cancel(order)
    collected = _collected(status, order.currency)
    if status.state is PaymentState.PAID and collected > order.captured and remaining(order) > 0:
        return plan_capture(order, collected - order.captured)
    return None
