"""One order is paid once, whatever the bank sends and in whatever order: an acceptance the kit already holds (a
late confirmation of a payment reconciliation recorded from the bank's status, the same acceptance sent again) is
never taken for a second payment and given back; under moto, against the fake bank."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from orders import daybook
from orders.actors import GIVE_BACK
from orders.giveback import GiveBacks
from orders.model import OrderStatus, PaymentSession
from orders.reconciliation import Reconciler
from orders.sessions import session_for_checkout
from sealing import Instalment, Money
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
    GiveBacks(aws.store, aws.deps.terminals(), aws.deps.bank_client).give_back(SAMPLE, LATER, GIVE_BACK)
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
    GiveBacks(aws.store, aws.deps.terminals(), aws.deps.bank_client).give_back(SAMPLE, LATER, GIVE_BACK)
    assert held(bank) == AMOUNT
    assert aws.store.get(SAMPLE).second_payments == ()


SPLIT = "SPLITTWICE"
SPLIT_FIRST, SPLIT_SECOND = SPLIT + "00", SPLIT + "01"  # the buyer's two tabs; the order is paid under the second
SCHEDULE = tuple(
    Instalment(day, Money(Decimal("20.00"), "EUR"))
    for day in (date(2026, 11, 27), date(2026, 12, 27), date(2027, 1, 27))
)
MONTANTECH = (("montantech", "20.00EUR"),)


def collect(aws: Any, lambda_context: Any, bank: FakeBank, code: str, numauto: str, reference: str, at: str) -> None:
    """The bank collects an instalment under ``reference`` and confirms it."""
    bank.accounts[reference].captured += Decimal("20.00")
    answer = confirm(
        aws, lambda_context, code, numauto, reference=reference, amount="60.00EUR", date=at, extra=MONTANTECH
    )
    assert answer["body"] == "version=2\ncdr=0\n"


def test_a_split_payment_paid_twice_gives_back_what_the_bank_collected_and_books_only_the_paid_schedule(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    sessions = (PaymentSession(0, SPLIT_FIRST, CREATED), PaymentSession(1, SPLIT_SECOND, CREATED))
    stored_order(aws, SPLIT, amount="60.00", created_at=CREATED, instalments=SCHEDULE, sessions=sessions)
    for reference in (SPLIT_FIRST, SPLIT_SECOND):
        bank.accounts[reference] = Account(Decimal("60.00"), "EUR", captured_on=CREATED.date())
    collect(aws, lambda_context, bank, "paiement", "111111", SPLIT_SECOND, "27/11/2026_a_10:15:00")
    collect(aws, lambda_context, bank, "paiement", "222222", SPLIT_FIRST, "27/11/2026_a_10:16:00")
    outcome = GiveBacks(aws.store, aws.deps.terminals(), aws.deps.bank_client).give_back(SPLIT, LATER, GIVE_BACK)
    assert outcome == {SPLIT_FIRST: "given_back (refund_full done)"}  # the first instalment it collected
    [refund] = [fields for cgi, fields in bank.calls if cgi == "recredit_paiement.cgi"]
    assert (refund["montant"], refund["montant_recredit"], refund["montant_possible"]) == (
        "60.00EUR", "20.00EUR", "20.00EUR"
    )  # fmt: skip
    # The bank goes on collecting both schedules: the paid one is the order's, the other is a human's to stop.
    collect(aws, lambda_context, bank, "paiement_pf2", "333333", SPLIT_FIRST, "27/12/2026_a_10:00:00")
    collect(aws, lambda_context, bank, "paiement_pf2", "444444", SPLIT_SECOND, "27/12/2026_a_10:01:00")
    order = aws.store.get(SPLIT)
    assert order.captured == Decimal("40.00")
    assert order.instalment_outcome(2).authorisation_number == "444444"  # type: ignore[union-attr]
    assert f"instalment 2 under {SPLIT_FIRST}" in order.reviews[-1].detail
    entries = [*daybook.entries_of(order, aws.deps.terminals(), "captures")]
    refunds = daybook.entries_of(order, aws.deps.terminals(), "refunds")
    booked = {
        reference: sum(e.amount.amount for e in entries if e.bank_reference == reference)
        - sum(e.amount.amount for e in refunds if e.bank_reference == reference)
        for reference in (SPLIT_FIRST, SPLIT_SECOND)
    }
    assert booked[SPLIT_SECOND] == bank.accounts[SPLIT_SECOND].captured - bank.accounts[SPLIT_SECOND].refunded
    assert booked[SPLIT_FIRST] == 0  # given back; its second instalment is left to the review


def test_an_order_the_bank_collected_an_instalment_of_opens_no_new_session_while_its_first_confirmation_is_missing(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    stored_order(aws, SPLIT, amount="60.00", created_at=CREATED, instalments=SCHEDULE)
    bank.accounts[SPLIT_FIRST] = Account(Decimal("60.00"), "EUR", captured=Decimal("20.00"))
    # The first confirmation never came; a month later the bank collects the second instalment and says so.
    collect(aws, lambda_context, bank, "paiement_pf2", "333333", SPLIT_FIRST, "27/12/2026_a_10:00:00")
    order = aws.store.get(SPLIT)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    # The buyer's checkout link, an hour later: a new session would let the buyer pay the order a second time.
    assert session_for_checkout(order, datetime(2026, 12, 27, 11, 0, tzinfo=UTC)) is None
