"""Captures, cancellations and refunds: exact Decimal bookkeeping that never leaves the order's bounds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.amounts import plan_cancel, plan_capture, plan_refund, refundable, remaining
from orders.exceptions import TransitionNotAllowedError
from orders.lifecycle import Event
from orders.model import Order, OrderStatus
from orders.terminals import PaymentMode
from sealing import Money


def order(status: OrderStatus, mode: PaymentMode, amount: str = "62.73", **changes: object) -> Order:
    return Order(
        reference="REF1",
        tpe="0900159",
        mode=mode,
        status=status,
        amount=Money(Decimal(amount), "EUR"),
        email="buyer@example.com",
        language="FR",
        created_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
        checkout_token_hash="",
        **changes,  # type: ignore[arg-type]
    )


def apply(current: Order, plan: object) -> Order:
    return current.with_changes(
        status=plan.enters,  # type: ignore[attr-defined]
        captured=plan.captured,  # type: ignore[attr-defined]
        refunded=plan.refunded,  # type: ignore[attr-defined]
        cancelled=plan.cancelled,  # type: ignore[attr-defined]
    )


def test_partial_captures_then_cancel_the_rest() -> None:
    current = order(OrderStatus.CARD_REGISTERED, PaymentMode.DEFERRED_AUTHORIZATION)
    first = plan_capture(current, Decimal("10.00"))
    assert (first.event, first.enters, first.amount.wire()) == (
        Event.CAPTURE_PARTIAL.value, OrderStatus.PARTIALLY_CAPTURED, "10.00EUR",
    )  # fmt: skip
    current = apply(current, first)
    assert remaining(current) == Decimal("52.73")
    cancel = plan_cancel(current)
    assert (cancel.enters, cancel.amount.amount, cancel.cancelled) == (
        OrderStatus.CAPTURED, Decimal("52.73"), Decimal("52.73"),
    )  # fmt: skip
    current = apply(current, cancel)
    assert remaining(current) == 0
    assert refundable(current) == Decimal("10.00")


def test_refunds_while_partially_captured_then_the_rest_is_settled() -> None:
    current = order(OrderStatus.CARD_REGISTERED, PaymentMode.DEFERRED_AUTHORIZATION)
    current = apply(current, plan_capture(current, Decimal("10.00")))
    refund = plan_refund(current, Decimal("4.00"))
    assert (refund.enters, refund.refunded) == (OrderStatus.PARTIALLY_CAPTURED, Decimal("4.00"))
    current = apply(current, refund)
    assert remaining(current) == Decimal("52.73")  # the rest is still authorised
    assert plan_cancel(current).enters is OrderStatus.PARTIALLY_REFUNDED
    assert plan_capture(current).enters is OrderStatus.PARTIALLY_REFUNDED
    current = apply(current, plan_refund(current))  # everything captured so far refunded
    assert plan_cancel(current).enters is OrderStatus.REFUNDED
    assert plan_capture(current).enters is OrderStatus.PARTIALLY_REFUNDED


def test_capture_everything_that_remains_by_default() -> None:
    current = order(OrderStatus.AUTHORIZED, PaymentMode.DEFERRED)
    plan = plan_capture(current)
    expected = (Event.CAPTURE_FULL.value, OrderStatus.CAPTURED, Decimal("62.73"))
    assert (plan.event, plan.enters, plan.amount.amount) == expected


@pytest.mark.parametrize(
    ("current", "amount", "message"),
    [
        (order(OrderStatus.PAID, PaymentMode.IMMEDIATE), None, "immediate payment"),
        (order(OrderStatus.AUTHORIZED, PaymentMode.DEFERRED), Decimal("10.00"), "in full"),
        (order(OrderStatus.CARD_REGISTERED, PaymentMode.DEFERRED_AUTHORIZATION), Decimal("62.74"), "more than"),
        (order(OrderStatus.CARD_REGISTERED, PaymentMode.DEFERRED_AUTHORIZATION), Decimal("0"), "greater than zero"),
        (order(OrderStatus.AWAITING_PAYMENT, PaymentMode.DEFERRED), None, "awaiting_payment"),
        (order(OrderStatus.CANCELLED, PaymentMode.DEFERRED), None, "cancelled"),
    ],
)
def test_captures_that_are_not_allowed(current: Order, amount: Decimal | None, message: str) -> None:
    with pytest.raises(TransitionNotAllowedError, match=message):
        plan_capture(current, amount)


def test_refund_above_what_was_captured_is_refused() -> None:
    current = order(OrderStatus.PAID, PaymentMode.IMMEDIATE, captured=Decimal("62.73"))
    with pytest.raises(TransitionNotAllowedError, match=r"more than the 62\.73 that can be refunded\)$"):
        plan_refund(current, Decimal("62.74"))
    assert plan_refund(current).enters is OrderStatus.REFUNDED


def test_refund_before_payment_is_refused() -> None:
    with pytest.raises(TransitionNotAllowedError, match="awaiting_payment"):
        plan_refund(order(OrderStatus.AWAITING_PAYMENT, PaymentMode.IMMEDIATE))


cents = st.integers(min_value=1, max_value=100_000).map(lambda n: Decimal(n).scaleb(-2))
operations = st.lists(st.tuples(st.sampled_from(["capture", "refund", "cancel"]), st.none() | cents), max_size=12)


@settings(max_examples=300, deadline=None)
@given(total=cents, steps=operations)
def test_any_sequence_keeps_the_books_within_bounds(total: Decimal, steps: list[tuple[str, Decimal | None]]) -> None:
    current = order(OrderStatus.CARD_REGISTERED, PaymentMode.DEFERRED_AUTHORIZATION, amount=str(total))
    for operation, amount in steps:
        try:
            if operation == "capture":
                plan = plan_capture(current, amount)
            elif operation == "refund":
                plan = plan_refund(current, amount)
            else:
                plan = plan_cancel(current)
        except TransitionNotAllowedError:
            continue
        current = apply(current, plan)
        assert 0 <= current.refunded <= current.captured <= current.amount.amount
        assert 0 <= current.cancelled <= current.amount.amount - current.captured
        assert remaining(current) >= 0
        assert plan.amount.amount >= 0


def test_a_partial_capture_of_a_deferred_payment_says_which_amount_would_do() -> None:
    with pytest.raises(TransitionNotAllowedError) as error:
        plan_capture(order(OrderStatus.AUTHORIZED, PaymentMode.DEFERRED, amount="14.50"), Decimal("10.00"))
    message = str(error.value)
    assert "10.00 is not the 14.50 authorised" in message
    assert "leave amount out" in message
