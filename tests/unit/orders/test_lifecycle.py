"""An order's life, driven through sequences of what can happen to it: the bank's confirmations (decided by
``decide_confirmation``) and the console's captures, cancellations and refunds (planned by the bookkeeping).

What each payment mode can reach, what it can never reach, and that the money adds up after every step.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.amounts import plan_cancel, plan_capture, plan_refund, remaining
from orders.exceptions import TransitionNotAllowedError
from orders.lifecycle import Event, decide_confirmation, next_status
from orders.model import Order, OrderStatus, PaymentSession
from orders.terminals import PaymentMode, Terminals
from sealing import MerchantKey, Money, parse_form, read_confirmation, seal
from tests.support.aws import TEST_KEY, terminals_config

S = OrderStatus
TERMINALS = Terminals.from_mapping(terminals_config())
TPE = {PaymentMode.IMMEDIATE: "0900157", PaymentMode.DEFERRED: "0900158", PaymentMode.DEFERRED_AUTHORIZATION: "0900159"}
REFERENCE = "LIFE00001"
SESSION = f"{REFERENCE}1"
CREATED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# What each mode may ever be in (README, Payment modes): an immediate payment is never authorised, captured
# later or cancelled; a deferred one is never "paid" at once nor captured in parts.
ALLOWED = {
    PaymentMode.IMMEDIATE: {S.AWAITING_PAYMENT, S.PAID, S.PARTIALLY_REFUNDED, S.REFUNDED},
    PaymentMode.DEFERRED: {S.AWAITING_PAYMENT, S.AUTHORIZED, S.CAPTURED, S.CANCELLED, S.PARTIALLY_REFUNDED, S.REFUNDED},
    PaymentMode.DEFERRED_AUTHORIZATION: {
        S.AWAITING_PAYMENT, S.CARD_REGISTERED, S.PARTIALLY_CAPTURED, S.CAPTURED, S.CANCELLED, S.PARTIALLY_REFUNDED,
        S.REFUNDED,
    },
}  # fmt: skip
FINAL = {S.CANCELLED, S.REFUNDED}
TEN = Decimal("10.00")


def new_order(mode: PaymentMode, amount: Decimal) -> Order:
    return Order(
        reference=REFERENCE,
        tpe=TPE[mode],
        mode=mode,
        status=S.AWAITING_PAYMENT,
        amount=Money(amount, "EUR"),
        email="buyer@example.com",
        language="FR",
        created_at=CREATED,
        checkout_token_hash="",
        sessions=(PaymentSession(1, SESSION, CREATED),),
    )


@dataclass(frozen=True)
class Life:
    """An order and what the console moved on it, step by step."""

    order: Order
    captured_by_console: Decimal = Decimal(0)
    refunded_by_console: Decimal = Decimal(0)
    cancelled_by_console: Decimal = Decimal(0)
    confirmations: int = 0


def _confirmation_body(order: Order, code: str, number: int) -> bytes:
    accepted = code != "Annulation"
    fields = [
        ("TPE", order.tpe), ("date", f"27/11/2026_a_12:{number % 60:02d}:00"), ("montant", order.amount.wire()),
        ("reference", SESSION), ("texte-libre", ""), ("code-retour", code), ("cvx", "oui"), ("vld", "1228"),
        ("brand", "VI"), ("status3ds", "1"), ("numauto", f"{number:06d}" if accepted else ""),
        ("motifrefus", "" if accepted else "Refus"),
    ]  # fmt: skip
    fields.append(("MAC", seal(MerchantKey(TEST_KEY), fields)))
    return urlencode(fields).encode()


def confirm(life: Life, code: str) -> Life:
    """What CGI2 writes for a confirmation: the decision applied as the store applies it."""
    order, number = life.order, life.confirmations + 1
    confirmation = read_confirmation(parse_form(_confirmation_body(order, code, number)))
    received = CREATED + timedelta(minutes=number)
    decision = decide_confirmation(order, confirmation, TERMINALS.get(order.tpe), received)
    if decision.attempt is None:  # a replay: nothing written
        return replace(life, confirmations=number)
    changed = order.with_changes(
        status=decision.enters,
        attempts=(*order.attempts, decision.attempt),
        reviews=(*order.reviews, *decision.reviews),
        confirmation_ids=order.confirmation_ids | {decision.attempt.confirmation_id},
        **decision.changes,
    )
    return replace(life, order=changed, confirmations=number)


def operate(life: Life, operation: str, amount: Decimal | None) -> Life:
    """One step; a step the order does not allow is refused (``TransitionNotAllowedError``) and changes nothing."""
    if operation in {"accept", "refuse"}:
        return confirm(life, "payetest" if operation == "accept" else "Annulation")
    order = life.order
    if operation == "capture":
        plan = plan_capture(order, amount)
    elif operation == "refund":
        plan = plan_refund(order, amount)
    else:
        plan = plan_cancel(order)
    after = order.with_changes(
        status=plan.enters, captured=plan.captured, refunded=plan.refunded, cancelled=plan.cancelled
    )
    moved = plan.amount.amount
    return replace(
        life,
        order=after,
        captured_by_console=life.captured_by_console + (moved if operation == "capture" else 0),
        refunded_by_console=life.refunded_by_console + (moved if operation == "refund" else 0),
        cancelled_by_console=life.cancelled_by_console + (moved if operation == "cancel" else 0),
    )


def try_operate(life: Life, operation: str, amount: Decimal | None) -> Life:
    try:
        return operate(life, operation, amount)
    except TransitionNotAllowedError:
        return life


def assert_the_books_hold(life: Life) -> None:
    order = life.order
    total, captured, refunded, cancelled = order.amount.amount, order.captured, order.refunded, order.cancelled
    assert order.status in ALLOWED[order.mode]
    assert 0 <= refunded <= captured <= total
    assert 0 <= cancelled <= total - captured
    # Every amount on the order was moved by a step: nothing appears, nothing is counted twice.
    at_the_order = total if order.mode is PaymentMode.IMMEDIATE and order.status is not S.AWAITING_PAYMENT else 0
    assert captured == at_the_order + life.captured_by_console
    assert (refunded, cancelled) == (life.refunded_by_console, life.cancelled_by_console)
    if order.status in {S.AUTHORIZED, S.CARD_REGISTERED, S.PARTIALLY_CAPTURED}:
        assert remaining(order) + captured + cancelled == total, "part of the authorisation was lost"
    else:
        assert remaining(order) == 0, f"a {order.status.value} order has something left to capture"
    expected = {
        S.AWAITING_PAYMENT: captured == refunded == cancelled == 0,
        S.PAID: captured == total and refunded == cancelled == 0,
        S.AUTHORIZED: captured == refunded == cancelled == 0,
        S.CARD_REGISTERED: captured == refunded == cancelled == 0,
        S.PARTIALLY_CAPTURED: 0 < captured < total and cancelled == 0,
        S.CAPTURED: captured > 0 and captured + cancelled == total and refunded == 0,
        S.CANCELLED: captured == refunded == 0 and cancelled == total,
        S.PARTIALLY_REFUNDED: 0 < refunded < captured and captured + cancelled == total,
        S.REFUNDED: 0 < refunded == captured and captured + cancelled == total,
    }
    assert expected[order.status], (order.status, total, captured, refunded, cancelled)


MODES = st.sampled_from(list(PaymentMode))
CENTS = st.integers(min_value=1, max_value=10_000).map(lambda n: Decimal(n).scaleb(-2))
STEPS = st.lists(
    st.tuples(st.sampled_from(["accept", "refuse", "capture", "cancel", "refund"]), st.none() | CENTS), max_size=10
)


def assert_a_step_holds(before: Life, operation: str, after: Life) -> None:
    assert_the_books_hold(after)
    if before.order.status is not S.AWAITING_PAYMENT:
        assert after.order.status is not S.AWAITING_PAYMENT, "a paid order became payable again"
    if before.order.status in FINAL:
        assert (after.order.status, after.order.captured, after.order.refunded, after.order.cancelled) == (
            before.order.status, before.order.captured, before.order.refunded, before.order.cancelled,
        ), f"{operation} moved money on a {before.order.status.value} order"  # fmt: skip


def explore(mode: PaymentMode, total: Decimal = Decimal("62.73"), depth: int = 6) -> set[OrderStatus]:
    """Every sequence of up to ``depth`` steps (whole amounts, and a part of 10.00), each step checked; the
    statuses reached."""
    start = Life(new_order(mode, total))
    seen = {start.order.status}
    queue = deque([(start, 0)])
    visited: set[tuple[OrderStatus, Decimal, Decimal, Decimal]] = set()
    while queue:
        life, steps = queue.popleft()
        key = (life.order.status, life.order.captured, life.order.refunded, life.order.cancelled)
        if key in visited or steps == depth:
            continue
        visited.add(key)
        for operation in ("accept", "refuse", "capture", "cancel", "refund"):
            for amount in (None, TEN):
                after = try_operate(life, operation, amount)
                assert_a_step_holds(life, operation, after)
                seen.add(after.order.status)
                queue.append((after, steps + 1))
    return seen


@pytest.mark.parametrize("mode", list(PaymentMode))
def test_each_mode_reaches_exactly_its_own_states_and_every_step_keeps_the_books_exact(mode: PaymentMode) -> None:
    assert explore(mode) == ALLOWED[mode]


@settings(max_examples=300, deadline=None)
@given(mode=MODES, total=CENTS, steps=STEPS)
def test_any_sequence_of_any_amounts_keeps_the_books_exact(
    mode: PaymentMode, total: Decimal, steps: list[tuple[str, Decimal | None]]
) -> None:
    life = Life(new_order(mode, total))
    for operation, amount in steps:
        after = try_operate(life, operation, amount)
        assert_a_step_holds(life, operation, after)
        life = after


def test_a_refused_card_leaves_the_order_payable_and_a_later_acceptance_pays_it() -> None:
    life = Life(new_order(PaymentMode.IMMEDIATE, Decimal("62.73")))
    for _ in range(3):
        life = operate(life, "refuse", None)
        assert (life.order.status, life.order.captured) == (S.AWAITING_PAYMENT, 0)
    life = operate(life, "accept", None)
    assert (life.order.status, life.order.captured) == (S.PAID, Decimal("62.73"))
    assert len(life.order.attempts) == 4


def test_a_second_acceptance_changes_neither_the_state_nor_the_money() -> None:
    life = operate(Life(new_order(PaymentMode.DEFERRED, Decimal("62.73"))), "accept", None)
    again = operate(life, "accept", None)  # another payment on the same session: flagged for review
    assert (again.order.status, again.order.captured) == (S.AUTHORIZED, 0)
    assert [review.reason.value for review in again.order.reviews] == ["second_acceptance"]


@pytest.mark.parametrize(
    ("mode", "steps", "refused"),
    [
        (PaymentMode.IMMEDIATE, [("accept", None)], ("capture", None)),  # captured at the order
        (PaymentMode.IMMEDIATE, [("accept", None)], ("cancel", None)),
        (PaymentMode.DEFERRED, [("accept", None)], ("capture", TEN)),  # in full or not at all
        (PaymentMode.DEFERRED, [("accept", None)], ("refund", None)),  # nothing captured yet
        (PaymentMode.DEFERRED, [], ("capture", None)),  # not paid
        (PaymentMode.DEFERRED_AUTHORIZATION, [("accept", None), ("capture", None)], ("capture", Decimal("0.01"))),
        (PaymentMode.DEFERRED_AUTHORIZATION, [("accept", None), ("cancel", None)], ("capture", None)),
        (PaymentMode.IMMEDIATE, [("accept", None), ("refund", None)], ("refund", Decimal("0.01"))),
        # A cent more than what is left: captures never above the order, refunds never above what was captured.
        (PaymentMode.DEFERRED_AUTHORIZATION, [("accept", None), ("capture", TEN)], ("capture", Decimal("52.74"))),
        (PaymentMode.DEFERRED_AUTHORIZATION, [("accept", None), ("capture", TEN)], ("refund", Decimal("10.01"))),
        (PaymentMode.IMMEDIATE, [("accept", None), ("refund", TEN)], ("refund", Decimal("52.74"))),
    ],
)
def test_what_an_order_does_not_allow_is_refused(
    mode: PaymentMode, steps: list[tuple[str, Decimal | None]], refused: tuple[str, Decimal | None]
) -> None:
    life = Life(new_order(mode, Decimal("62.73")))
    for operation, amount in steps:
        life = operate(life, operation, amount)
    with pytest.raises(TransitionNotAllowedError):
        operate(life, *refused)


def test_no_event_leads_back_to_awaiting_payment_nor_out_of_a_final_state() -> None:
    # The table's own shape, whatever else it holds: payment is decided once, a final state stays final.
    for status in OrderStatus:
        for event in Event:
            enters = next_status(status, event)
            if enters is S.AWAITING_PAYMENT:
                assert (status, event) == (S.AWAITING_PAYMENT, Event.PAYMENT_REFUSED)
            if status in FINAL:
                assert enters is None, (status, event)


@pytest.mark.parametrize("montant", ["62.73KWD", "62.73XYZ", "62.5JPY"])
def test_a_confirmation_in_a_currency_the_kit_cannot_seal_is_flagged_as_the_bank_wrote_it(montant: str) -> None:
    # The bank's amounts are read leniently: what it said is kept, and the order is flagged, never an error.
    order = new_order(PaymentMode.IMMEDIATE, Decimal("62.73"))
    body = _confirmation_body(order, "payetest", 1).replace(b"montant=62.73EUR", f"montant={montant}".encode())
    fields = [pair for pair in parse_form(body).fields if pair[0] != "MAC"]
    texts = [(name, value.decode()) for name, value in fields]
    sealed = [*texts, ("MAC", seal(MerchantKey(TEST_KEY), texts))]
    confirmation = read_confirmation(parse_form(urlencode(sealed).encode()))
    decision = decide_confirmation(order, confirmation, TERMINALS.get(order.tpe), CREATED)
    assert [review.reason.value for review in decision.reviews] == ["amount_mismatch"]
    assert decision.attempt is not None
    assert decision.attempt.amount == montant
