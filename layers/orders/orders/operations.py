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
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sealing import Money, PaymentState, StatusAnswer

from .bank import BankClient, BankRefusedError
from .bookkeeping import plan_cancel, plan_capture, plan_refund, remaining
from .calendar import PARIS
from .exceptions import ConcurrentUpdateError, TransitionNotAllowedError
from .lifecycle import Event
from .model import OperationRecord, Order, OrderStatus, PendingOperation, Plan
from .store import OrderStore
from .terminals import EndPolicy, PaymentMode, Terminals

BankFactory = Callable[..., BankClient]
CAPTURES = {Event.CAPTURE_FULL.value, Event.CAPTURE_PARTIAL.value}
REFUNDS = {Event.REFUND_FULL.value, Event.REFUND_PARTIAL.value}


def _day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def _captured_on(order: Order) -> date:
    captures = [op.at for op in order.operations if op.event in CAPTURES and op.outcome in ("done", "applied")]
    return _day(max(captures) if captures else order.paid_at or order.created_at)


class BackOffice:
    """The merchant's console operations and the sweeper, over the order store and the bank."""

    def __init__(self, store: OrderStore, terminals: Terminals, bank: BankFactory = BankClient) -> None:
        self.store = store
        self.terminals = terminals
        self._bank = bank

    def bank(self, order: Order) -> BankClient:
        return self._bank(self.terminals.get(order.tpe))

    # --- the console ----------------------------------------------------------------------------------

    def capture(self, reference: str, amount: Decimal | None, now: datetime) -> Order:
        return self._perform(reference, lambda order: plan_capture(order, amount), now)

    def cancel(self, reference: str, now: datetime) -> Order:
        return self._perform(reference, plan_cancel, now)

    def refund(self, reference: str, amount: Decimal | None, now: datetime) -> Order:
        return self._perform(reference, lambda order: plan_refund(order, amount), now)

    def _perform(self, reference: str, planner: Callable[[Order], Plan], now: datetime) -> Order:
        order = self.settle(self.store.get(reference), now)
        plan = planner(order)
        pending = PendingOperation(secrets.token_hex(8), plan, now)
        try:
            order = self.store.begin_operation(order, pending)
        except ConcurrentUpdateError:
            raise TransitionNotAllowedError(
                reference, order.status.value, plan.event, "the order changed meanwhile, try again"
            ) from None
        self._call_bank(order, pending, now)
        return self.store.get(reference)

    def _call_bank(self, order: Order, pending: PendingOperation, now: datetime) -> None:
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
            record = OperationRecord(pending.id, plan.event, plan.amount, now, "refused", str(exc))
            self.store.finish_operation(order, record, None, pending.id)
            raise
        # BankUnavailableError propagates: the journal entry stays until the bank's status settles it.
        record = OperationRecord(
            pending.id, plan.event, plan.amount, now, "done", outcome.label, outcome.authorisation_number
        )
        self.store.finish_operation(order, record, plan, pending.id)

    # --- settling an unknown outcome --------------------------------------------------------------------

    def settle(self, order: Order, now: datetime) -> Order:
        """Close an open journal entry from the bank's status; ``BankUnavailableError`` if it cannot tell."""
        if order.pending is None:
            return order
        pending = order.pending
        status = self.bank(order).status(reference=order.reference, total=order.amount, at=now)
        applied = _applied(pending.plan, status, order)
        if applied is None:  # a cancel the status cannot confirm: cancelling again cannot move money
            self._call_bank(order, pending, now)
            return self.store.get(order.reference)
        outcome = "applied" if applied else "not_applied"
        detail = f"checked with the bank's status ({status.state.value})"
        record = OperationRecord(pending.id, pending.plan.event, pending.plan.amount, now, outcome, detail)
        self.store.finish_operation(order, record, pending.plan if applied else None, pending.id)
        return self.store.get(order.reference)

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
        order = self.settle(order, now)
        if order.status not in (OrderStatus.AUTHORIZED, OrderStatus.CARD_REGISTERED, OrderStatus.PARTIALLY_CAPTURED):
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


def _refunded(status: StatusAnswer, currency: str) -> Decimal:
    money = status.refunded
    return money.amount if money is not None and money.currency == currency else Decimal(0)


def _applied(plan: Plan, status: StatusAnswer, order: Order) -> bool | None:
    """Whether the bank's status shows ``plan`` took effect; ``None`` when it cannot say (cancels)."""
    if plan.event in CAPTURES:
        return _collected(status, order.currency) >= plan.captured
    if plan.event in REFUNDS:
        return _refunded(status, order.currency) >= plan.refunded
    if status.state is PaymentState.CANCELLED:
        return True
    return None


def _bank_end_of_period(order: Order, status: StatusAnswer) -> Plan | None:
    """What the bank already did at the end of the period (it applies the contract too), as a plan to record."""
    if status.state is PaymentState.CANCELLED:
        return plan_cancel(order)
    collected = _collected(status, order.currency)
    if status.state is PaymentState.PAID and collected > order.captured and remaining(order) > 0:
        return plan_capture(order, collected - order.captured)
    return None
