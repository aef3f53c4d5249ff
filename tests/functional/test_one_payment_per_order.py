"""One order is paid once, whatever the bank sends and in whatever order: an acceptance the kit already holds (a
late confirmation of a payment reconciliation recorded from the bank's status, the same acceptance sent again) is
never taken for a second payment and given back; under moto, against the fake bank."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from orders.giveback import GiveBacks
from orders.model import OrderStatus
from orders.reconciliation import Reconciler
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import SAMPLE, SESSION, confirm, stored_order

CREATED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
LATER = CREATED + timedelta(hours=2)
AMOUNT = Decimal("62.73")


def held(bank: FakeBank) -> Decimal:
    return sum((a.captured - a.refunded for a in bank.accounts.values()), Decimal(0))


def test_a_late_confirmation_of_a_payment_recorded_from_a_status_without_numauto_is_not_given_back(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    bank.accounts[SESSION] = Account(AMOUNT, "EUR", captured=AMOUNT)  # paid, never confirmed
    bank.status_without_amounts = True  # the status says PA, and neither its amounts nor its numauto
    Reconciler(aws.store, aws.deps.terminals(), aws.deps.bank_client).run([CREATED.date()], LATER, "test")
    assert aws.store.get(SAMPLE).status is OrderStatus.PAID
    bank.status_without_amounts = False
    assert confirm(aws, lambda_context, numauto="654321")["body"] == "version=2\ncdr=0\n"  # the late confirmation
    GiveBacks(aws.store, aws.deps.terminals(), aws.deps.bank_client).give_back(SAMPLE, LATER)
    assert held(bank) == AMOUNT  # the buyer's one payment stays with the merchant
    order = aws.store.get(SAMPLE)
    assert (order.status, order.captured, order.second_payments, order.reviews) == (OrderStatus.PAID, AMOUNT, (), ())


def test_an_acceptance_sent_again_without_its_authorisation_number_is_the_same_payment(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    stored_order(aws, SAMPLE, created_at=CREATED)
    confirm(aws, lambda_context, numauto="123456")
    bank.accounts[SESSION] = Account(AMOUNT, "EUR", captured=AMOUNT, captured_on=CREATED.date())
    again = confirm(aws, lambda_context, numauto="", date="27/11/2026_a_10:16:00")  # another MAC, no numauto
    assert again["body"] == "version=2\ncdr=0\n"
    GiveBacks(aws.store, aws.deps.terminals(), aws.deps.bank_client).give_back(SAMPLE, LATER)
    assert held(bank) == AMOUNT
    assert aws.store.get(SAMPLE).second_payments == ()
