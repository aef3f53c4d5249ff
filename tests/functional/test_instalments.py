"""A split payment as the bank collects it: 60.00 in 3 x 20.00. The first instalment is captured at the order, each
later one on the day the bank confirms it (``paiement_pfN``), a refused one (``Annulation_pfN``) is never booked;
the books, the refunds and the reconciliation follow what the bank holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orders.events import events_of_change
from orders.model import OrderStatus
from orders.reconciliation import Reconciler
from sealing import Instalment, Money
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import SAMPLE, SESSION, call, confirm, stored_order

CREATED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 10:00 in Paris
SCHEDULE = (
    Instalment(date(2026, 11, 27), Money(Decimal("20.00"), "EUR")),
    Instalment(date(2026, 12, 27), Money(Decimal("20.00"), "EUR")),
    Instalment(date(2027, 1, 27), Money(Decimal("20.00"), "EUR")),
)
FIRST = {"amount": "60.00EUR", "date": "27/11/2026_a_10:15:00", "extra": (("montantech", "20.00EUR"),)}
SECOND = {"amount": "60.00EUR", "date": "27/12/2026_a_10:00:00", "extra": (("montantech", "20.00EUR"),)}
THIRD = {"amount": "60.00EUR", "date": "27/01/2027_a_10:00:00", "extra": (("montantech", "20.00EUR"),)}


def split_order(aws: Any, schedule: tuple[Instalment, ...] = SCHEDULE) -> None:
    stored_order(aws, SAMPLE, amount="60.00", created_at=CREATED, instalments=schedule)


def captures(aws: Any, lambda_context: Any, day: str) -> list[tuple[str, str, str]]:
    status, books = call(aws, lambda_context, "GET", "/books/captures", day=day)
    assert status == 200
    return [(c["reference"], c["kind"], c["amount"]) for c in books["captures"]]


def states(aws: Any) -> list[str]:
    return [i["state"] for i in aws.store.get(SAMPLE).as_json()["instalments"]]


def test_the_first_confirmation_captures_the_first_instalment_only(aws: Any, lambda_context: Any) -> None:
    split_order(aws)
    confirm(aws, lambda_context, "paiement", **FIRST)
    order = aws.store.get(SAMPLE)
    assert (order.status, order.captured) == (OrderStatus.PAID, Decimal("20.00"))
    assert states(aws) == ["collected", "due", "due"]
    assert order.as_json()["instalments"][0] == {
        "number": 1, "due": "2026-11-27", "amount": "20.00", "state": "collected", "collected_on": "2026-11-27",
        "authorisation_number": "123456",
    }  # fmt: skip
    assert captures(aws, lambda_context, "2026-11-27") == [(SAMPLE, "payment", "20.00")]


def test_each_later_instalment_is_booked_on_the_day_the_bank_confirms_it(aws: Any, lambda_context: Any) -> None:
    split_order(aws)
    confirm(aws, lambda_context, "paiement", **FIRST)
    confirm(aws, lambda_context, "paiement_pf2", "222222", **SECOND)
    order = aws.store.get(SAMPLE)
    assert (order.status, order.captured) == (OrderStatus.PAID, Decimal("40.00"))
    assert states(aws) == ["collected", "collected", "due"]
    assert captures(aws, lambda_context, "2026-12-27") == [(SAMPLE, "instalment", "20.00")]
    assert captures(aws, lambda_context, "2026-11-27") == [(SAMPLE, "payment", "20.00")]
    confirm(aws, lambda_context, "paiement_pf3", "333333", **THIRD)
    assert aws.store.get(SAMPLE).captured == Decimal("60.00")
    assert captures(aws, lambda_context, "2027-01-27") == [(SAMPLE, "instalment", "20.00")]


def test_an_instalment_confirmed_again_or_out_of_order_is_booked_once(aws: Any, lambda_context: Any) -> None:
    split_order(aws)
    confirm(aws, lambda_context, "paiement", **FIRST)
    confirm(aws, lambda_context, "paiement_pf3", "333333", **THIRD)  # the third before the second
    confirm(aws, lambda_context, "paiement_pf2", "222222", **SECOND)
    before = aws.store.get(SAMPLE)
    assert (before.captured, states(aws)) == (Decimal("60.00"), ["collected", "collected", "collected"])
    # The same instalment again, another copy (another date, so another seal): nothing more.
    confirm(aws, lambda_context, "paiement_pf2", "222222", **{**SECOND, "date": "27/12/2026_a_10:05:00"})
    confirm(aws, lambda_context, "paiement_pf2", "222222", **SECOND)  # the very same one
    after = aws.store.get(SAMPLE)
    assert (after.captured, after.version) == (Decimal("60.00"), before.version)


def test_an_instalment_collected_before_the_first_confirmation_came_leaves_the_order_to_it(
    aws: Any, lambda_context: Any
) -> None:
    split_order(aws)
    confirm(aws, lambda_context, "paiement_pf2", "222222", **SECOND)
    order = aws.store.get(SAMPLE)
    assert (order.status, order.captured, states(aws)) == (
        OrderStatus.AWAITING_PAYMENT, Decimal("20.00"), ["due", "collected", "due"],
    )  # fmt: skip
    confirm(aws, lambda_context, "paiement", **FIRST)
    order = aws.store.get(SAMPLE)
    assert (order.status, order.captured, states(aws)) == (
        OrderStatus.PAID, Decimal("40.00"), ["collected", "collected", "due"],
    )  # fmt: skip


def test_a_refused_instalment_is_its_own_state_never_booked(aws: Any, lambda_context: Any) -> None:
    split_order(aws)
    confirm(aws, lambda_context, "paiement", **FIRST)
    previous = aws.store.get(SAMPLE)
    confirm(aws, lambda_context, "Annulation_pf2", "", reason="Refus", **SECOND)
    order = aws.store.get(SAMPLE)
    assert (order.status, order.captured) == (OrderStatus.PAID, Decimal("20.00"))
    assert states(aws) == ["collected", "refused", "due"]
    assert [(r.reason.value, r.detail) for r in order.reviews] == [
        ("instalment_refused", "instalment 2 of 20.00 EUR was refused")
    ]
    events = events_of_change(previous, order)
    assert [e.type for e in events] == ["InstalmentRefused", "OrderNeedsReview"]
    assert events[0].detail["instalment"] == {
        "number": 2, "due": "2026-12-27", "amount": "20.00", "state": "refused", "collected_on": None,
        "authorisation_number": None,
    }  # fmt: skip
    assert captures(aws, lambda_context, "2026-12-27") == []
    # The refusal sent again changes nothing; a refusal after a collection moves no money either.
    version = order.version
    confirm(aws, lambda_context, "Annulation_pf2", "", reason="Refus", **{**SECOND, "date": "27/12/2026_a_10:01:00"})
    assert aws.store.get(SAMPLE).version == version


def test_a_collected_instalment_is_an_event(aws: Any, lambda_context: Any) -> None:
    split_order(aws)
    confirm(aws, lambda_context, "paiement", **FIRST)
    previous = aws.store.get(SAMPLE)
    confirm(aws, lambda_context, "paiement_pf2", "222222", **SECOND)
    events = events_of_change(previous, aws.store.get(SAMPLE))
    assert [e.type for e in events] == ["InstalmentCollected"]
    assert events[0].detail["captured"] == "40.00"
    assert events[0].detail["instalment"]["collected_on"] == "2026-12-27"


def test_a_refund_is_bounded_by_what_the_bank_collected(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    split_order(aws)
    confirm(aws, lambda_context, "paiement", **FIRST)
    bank.accounts[SESSION] = Account(Decimal("60.00"), "EUR", captured=Decimal("20.00"))  # the bank holds 20
    status, answer = call(aws, lambda_context, "POST", "/orders/{reference}/refund", SAMPLE, {"amount": "30.00"})
    assert status == 409
    assert "30.00 is more than the 20.00 that can be refunded" in answer["error"]["message"]
    status, answer = call(aws, lambda_context, "POST", "/orders/{reference}/refund", SAMPLE, {})
    assert status == 200
    refund = next(fields for cgi, fields in bank.calls if cgi == "recredit_paiement.cgi")
    assert (refund["montant_recredit"], refund["montant_possible"]) == ("20.00EUR", "20.00EUR")
    # Instalments are still due: what was collected is refunded, not the payment.
    assert (answer["status"], answer["refunded"]) == ("partially_refunded", "20.00")
    confirm(aws, lambda_context, "paiement_pf2", "222222", **SECOND)
    order = aws.store.get(SAMPLE)
    assert (order.status, order.captured, order.refunded) == (
        OrderStatus.PARTIALLY_REFUNDED, Decimal("40.00"), Decimal("20.00"),
    )  # fmt: skip


def test_a_later_instalment_past_the_books_window_is_in_the_books(aws: Any, lambda_context: Any) -> None:
    schedule = (
        Instalment(date(2026, 11, 27), Money(Decimal("15.00"), "EUR")),
        Instalment(date(2026, 12, 27), Money(Decimal("15.00"), "EUR")),
        Instalment(date(2027, 1, 27), Money(Decimal("15.00"), "EUR")),
        Instalment(date(2027, 2, 27), Money(Decimal("15.00"), "EUR")),
    )
    split_order(aws, schedule)
    instalment = (("montantech", "15.00EUR"),)
    confirm(aws, lambda_context, "paiement", **{**FIRST, "extra": instalment})
    confirm(aws, lambda_context, "paiement_pf4", "444444", amount="60.00EUR", date="27/02/2027_a_10:00:00",
            extra=instalment)  # fmt: skip
    assert captures(aws, lambda_context, "2027-02-27") == [(SAMPLE, "instalment", "15.00")]  # 92 days on


@pytest.mark.parametrize(("code", "did"), [("paiement_pf4", "collected"), ("Annulation_pf4", "refused")])
def test_an_instalment_the_schedule_does_not_have_is_flagged(
    aws: Any, lambda_context: Any, code: str, did: str
) -> None:
    split_order(aws)
    confirm(aws, lambda_context, "paiement", **FIRST)
    confirm(aws, lambda_context, code, "444444", amount="60.00EUR", date="27/02/2027_a_10:00:00")
    order = aws.store.get(SAMPLE)
    assert order.captured == Decimal("20.00")
    assert [(r.reason.value, r.detail) for r in order.reviews] == [
        ("unknown_instalment", f"the bank {did} instalment 4; the order has 3")
    ]


# --- reconciliation ------------------------------------------------------------------------------------------


def reconciler(aws: Any) -> Reconciler:
    return Reconciler(aws.store, aws.deps.terminals(), aws.deps.bank_client)


def test_a_consistent_split_payment_is_no_difference(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    split_order(aws)
    confirm(aws, lambda_context, "paiement", **FIRST)
    bank.accounts[SESSION] = Account(Decimal("60.00"), "EUR", captured=Decimal("20.00"))
    today = datetime.now(UTC).date()
    report = reconciler(aws).run([today], datetime.now(UTC), "test")
    assert (report.checked, report.differences, report.failures) == (1, [], {})


def test_a_missed_instalment_confirmation_is_repaired_once(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    split_order(aws)
    confirm(aws, lambda_context, "paiement", **FIRST)
    # The bank collected the second on 27 December; its paiement_pf2 never reached CGI2.
    bank.accounts[SESSION] = Account(Decimal("60.00"), "EUR", captured=Decimal("40.00"), captured_on=date(2026, 12, 27))
    now = datetime(2026, 12, 28, 5, 30, tzinfo=UTC)
    report = reconciler(aws).run([date(2026, 12, 27), now.date()], now, "schedule")
    assert [(d.kind, d.repaired) for d in report.differences] == [("missed_confirmation", True)]
    assert "instalment 2" in report.differences[0].detail
    order = aws.store.get(SAMPLE)
    assert (order.captured, states(aws)) == (Decimal("40.00"), ["collected", "collected", "due"])
    assert order.instalment_outcome(2).confirmation_id == f"status:{SESSION}:2"  # type: ignore[union-attr]
    assert captures(aws, lambda_context, "2026-12-27") == [(SAMPLE, "instalment", "20.00")]
    assert reconciler(aws).run([date(2026, 12, 27), now.date()], now, "schedule").differences == []
    # The late confirmation itself changes nothing more.
    confirm(aws, lambda_context, "paiement_pf2", "222222", **SECOND)
    assert aws.store.get(SAMPLE).captured == Decimal("40.00")


def test_a_missed_first_confirmation_of_a_split_payment_is_repaired(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    split_order(aws)
    bank.accounts[SESSION] = Account(Decimal("60.00"), "EUR", captured=Decimal("20.00"))
    later = CREATED + timedelta(hours=2)
    report = reconciler(aws).run([CREATED.date()], later, "test")
    assert [(d.kind, d.repaired) for d in report.differences] == [("missed_confirmation", True)]
    order = aws.store.get(SAMPLE)
    assert (order.status, order.captured, states(aws)) == (
        OrderStatus.PAID, Decimal("20.00"), ["collected", "due", "due"],
    )  # fmt: skip
    assert reconciler(aws).run([CREATED.date()], later, "test").differences == []


def test_a_split_payment_the_bank_holds_less_of_is_reported(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    split_order(aws)
    confirm(aws, lambda_context, "paiement", **FIRST)
    confirm(aws, lambda_context, "paiement_pf2", "222222", **SECOND)
    bank.accounts[SESSION] = Account(Decimal("60.00"), "EUR", captured=Decimal("20.00"))
    today = datetime.now(UTC).date()
    report = reconciler(aws).run([today], datetime.now(UTC), "test")
    assert [d.kind for d in report.differences] == ["status_differs"]
    assert aws.store.get(SAMPLE).captured == Decimal("40.00")  # reported, never overwritten
