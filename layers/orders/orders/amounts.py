"""Captures, cancellations and refunds as exact Decimal bookkeeping, decided before the bank is called.

Every plan names the event of the transition table, the amount and the state the order enters; amounts
never go below zero, captures never above the order, refunds never above what was captured.
"""

from __future__ import annotations

from decimal import Decimal

from sealing import Money

from .exceptions import TransitionNotAllowedError
from .lifecycle import Event, next_status
from .model import DEFERRAL_STATES, Order, OrderStatus, Plan
from .terminals import PaymentMode

ZERO = Decimal(0)


def remaining(order: Order) -> Decimal:
    """What is still authorised and neither captured nor cancelled."""
    if order.status in DEFERRAL_STATES:
        return order.amount.amount - order.captured - order.cancelled
    return ZERO


def refundable(order: Order) -> Decimal:
    """What was captured and not refunded: for a split payment, the instalments the bank collected so far."""
    if order.status in (
        OrderStatus.PAID,
        OrderStatus.CAPTURED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.PARTIALLY_CAPTURED,
    ):
        return order.captured - order.refunded
    return ZERO


# "that can be captured / refunded": the past participle is not always the verb plus "d".
_DONE = {"capture": "captured", "refund": "refunded"}


def _amount(order: Order, requested: Decimal | None, available: Decimal, what: str, event: str) -> Decimal:
    amount = available if requested is None else requested
    if amount <= 0:
        detail = f"nothing left to {what}" if requested is None else f"{what} amount must be greater than zero"
        raise TransitionNotAllowedError(order.reference, order.status.value, event, detail)
    if amount > available:
        detail = f"{amount} is more than the {available} that can be {_DONE[what]}"
        raise TransitionNotAllowedError(order.reference, order.status.value, event, detail)
    return amount


def _enter(order: Order, event: Event, captured: Decimal | None = None, refunded: Decimal | None = None) -> OrderStatus:
    enters = next_status(order.status, event)
    if enters is None:
        raise TransitionNotAllowedError(order.reference, order.status.value, event.value)
    captured = order.captured if captured is None else captured
    refunded = order.refunded if refunded is None else refunded
    if enters is OrderStatus.CAPTURED and refunded > 0:  # refunds made while it was partially captured
        return OrderStatus.REFUNDED if refunded >= captured else OrderStatus.PARTIALLY_REFUNDED
    return enters


def plan_capture(order: Order, requested: Decimal | None = None) -> Plan:
    """Capture ``requested`` (default: everything that remains)."""
    if order.mode is PaymentMode.IMMEDIATE:
        raise TransitionNotAllowedError(
            order.reference, order.status.value, "capture", "an immediate payment is captured at the order"
        )
    available = remaining(order)
    if order.status is OrderStatus.AUTHORIZED and requested is not None and requested != available:
        # The amount is what is wrong, not the capture: say which amount would do, and how to ask for it.
        detail = (
            f"{requested} is not the {available} authorised: a deferred payment is captured in full, or cancelled;"
            f" leave amount out to capture it all"
        )
        raise TransitionNotAllowedError(order.reference, order.status.value, "capture", detail)
    if available <= 0:
        _enter(order, Event.CAPTURE_FULL)  # names the state that does not allow it
    amount = _amount(order, requested, available, "capture", "capture")
    event = Event.CAPTURE_FULL if amount == available else Event.CAPTURE_PARTIAL
    return Plan(
        event.value,
        Money(amount, order.currency),
        order.status,
        _enter(order, event, captured=order.captured + amount),
        order.captured + amount,
        order.refunded,
        order.cancelled,
    )


def plan_cancel(order: Order) -> Plan:
    """Cancel what remains of the authorisation; what was captured stays captured."""
    enters = _enter(order, Event.CANCEL)
    left = remaining(order)
    return Plan(
        Event.CANCEL.value,
        Money(left, order.currency),
        order.status,
        enters,
        order.captured,
        order.refunded,
        order.cancelled + left,
    )


def plan_refund(order: Order, requested: Decimal | None = None) -> Plan:
    """Refund ``requested`` (default: everything refundable) of what was captured."""
    available = refundable(order)
    if available <= 0:
        _enter(order, Event.REFUND_FULL)
    amount = _amount(order, requested, available, "refund", "refund")
    # What a split payment collected so far is not the whole payment while the bank still collects instalments.
    event = Event.REFUND_FULL if amount == available and not order.instalments_due else Event.REFUND_PARTIAL
    return Plan(
        event.value,
        Money(amount, order.currency),
        order.status,
        _enter(order, event),
        order.captured,
        order.refunded + amount,
        order.cancelled,
    )
