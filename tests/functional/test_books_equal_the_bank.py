"""The books equal what the bank holds, per bank reference, after what a bank does: a confirmation missed and a
later one arriving first, repaired from the bank's status; under moto, against the fake bank."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from orders import daybook
from orders.model import InstalmentState, Order, OrderStatus, PaymentSession
from orders.reconciliation import Reconciler
from sealing import Instalment, Money
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import confirm, stored_order

REF = "SPLITLATE0"
SESSION = REF + "00"
CREATED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SCHEDULE = tuple(
    Instalment(day, Money(Decimal("20.00"), "EUR"))
    for day in (date(2026, 11, 27), date(2026, 12, 27), date(2027, 1, 27))
)


def booked(aws: Any, order: Order) -> dict[str, Decimal]:
    """What the books say each bank reference holds: its captures less its refunds."""
    held: dict[str, Decimal] = {}
    for kind, sign in (("captures", 1), ("refunds", -1)):
        for entry in daybook.entries_of(order, aws.deps.terminals(), kind):
            held[entry.bank_reference] = held.get(entry.bank_reference, Decimal(0)) + sign * entry.amount.amount
    return held


def test_a_split_payment_whose_second_instalment_came_before_its_missed_first_is_repaired(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    stored_order(aws, REF, amount="60.00", created_at=CREATED, instalments=SCHEDULE)
    # The first confirmation never came; a month later the bank collects the second instalment and says so.
    bank.accounts[SESSION] = Account(Decimal("60.00"), "EUR", captured=Decimal("40.00"), captured_on=date(2026, 12, 27))
    extra = (("montantech", "20.00EUR"),)
    confirm(aws, lambda_context, "paiement_pf2", "222222", reference=SESSION, amount="60.00EUR",
            date="27/12/2026_a_10:00:00", extra=extra)  # fmt: skip
    now = datetime(2026, 12, 28, 5, 30, tzinfo=UTC)
    report = Reconciler(aws.store, aws.deps.terminals(), aws.deps.bank_client).run(
        [CREATED.date(), date(2026, 12, 27), now.date()], now, "schedule"
    )
    assert [(d.kind, d.repaired) for d in report.differences] == [("missed_confirmation", True)]
    order = aws.store.get(REF)
    assert (order.status, order.captured) == (OrderStatus.PAID, Decimal("40.00"))
    assert [order.instalment_state(n) for n in (1, 2, 3)] == [
        InstalmentState.COLLECTED, InstalmentState.COLLECTED, InstalmentState.DUE
    ]  # fmt: skip
    assert booked(aws, order) == {SESSION: bank.accounts[SESSION].captured - bank.accounts[SESSION].refunded}


def test_two_sessions_the_bank_shows_paid_with_no_confirmation_are_the_payment_and_a_second_one_to_give_back(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    reference = "TWOMISSED0"
    first, second = reference + "00", reference + "01"
    sessions = (PaymentSession(0, first, CREATED), PaymentSession(1, second, CREATED + timedelta(minutes=50)))
    stored_order(aws, reference, created_at=CREATED, sessions=sessions)
    for paid in (first, second):  # two tabs, both paid; CGI2 heard of neither
        bank.accounts[paid] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))
    later = CREATED + timedelta(hours=3)
    report = Reconciler(aws.store, aws.deps.terminals(), aws.deps.bank_client).run([CREATED.date()], later, "test")
    order = aws.store.get(reference)
    assert order.bank_reference == first  # the first one the bank shows paid is the order's
    assert [(d.kind, d.repaired) for d in report.differences] == [
        ("missed_confirmation", True), ("second_payment", True)
    ]  # fmt: skip
    assert f"the bank shows {second} paid too" in report.differences[1].detail
    [again] = order.second_payments
    assert (again.bank_reference, again.state, again.confirmation_id) == (second, "due", f"status:{second}")
    assert aws.store.orders_to_give_back()[0] == [reference]  # the stream's give-back function refunds it
    # The books list both captures, each on its own reference, as the bank holds them.
    assert booked(aws, order) == {first: Decimal("62.73"), second: Decimal("62.73")}
