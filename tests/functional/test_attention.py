"""What needs a human look is found without a scan: every writer of an order's reviews puts it in AttentionIndex,
a mark covering its reviews takes it out, and a review appended between the page and the mark keeps it in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orders.actors import GIVE_BACK, Actor, ActorKind
from orders.attention import (
    MarkOutcome,
    mark_reviewed,
    mark_unmatched_reviewed,
    orders_needing_attention,
    unmatched_confirmations,
)
from orders.backoffice import BackOffice
from orders.bank import BankClient
from orders.exceptions import InvalidOrderError, OrderNotFoundError
from orders.giveback import GiveBacks
from orders.model import OperationRecord, Order, PaymentSession, Review, ReviewReason
from orders.store import OrderStore, order_key
from orders.terminals import Terminals
from sealing import Money
from tests.support.aws import terminals_config
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import ACK_OK, CONSOLE, LATER, NOW, confirm, paid, stored_order

READER = Actor(ActorKind.IAM, "arn:aws:iam::123456789012:user/reader")
FIRST_OPENED = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(aws: Any) -> None:
    aws.use(clock=lambda: NOW)


def _client(bank: FakeBank) -> Any:
    return lambda terminal: BankClient(terminal, bank, sleep=lambda _: None)


def listed(store: OrderStore) -> list[str]:
    """The references AttentionIndex names, every page read."""
    references, cursor = [], None
    while True:
        page = orders_needing_attention(store, limit=2, cursor=cursor)
        references += [order.reference for order in page.orders]
        if page.cursor is None:
            return references
        cursor = page.cursor


def indexed(aws: Any, reference: str) -> dict[str, Any]:
    """The order's AttentionIndex keys as the table holds them (none: not in it)."""
    item = aws.dynamodb.get_item(TableName=aws.store.table_name, Key=order_key(reference))["Item"]
    return {name: item[name]["S"] for name in ("attention", "attention_at") if name in item}


def mismatched(aws: Any, lambda_context: Any, reference: str, at: datetime = NOW) -> Order:
    """An order the bank confirmed for another amount than its own: flagged, not paid."""
    stored_order(aws, reference, created_at=at)
    assert confirm(aws, lambda_context, reference=reference + "00", amount="70.00EUR")["body"] == ACK_OK
    order: Order = aws.store.get(reference)
    assert [r.reason for r in order.reviews] == [ReviewReason.AMOUNT_MISMATCH]
    return order


def paid_twice(aws: Any, lambda_context: Any, reference: str, bank: FakeBank) -> Order:
    """An order paid under its second session, then again under its first (still open in another tab)."""
    first, second = reference + "00", reference + "01"
    sessions = (PaymentSession(0, first, FIRST_OPENED), PaymentSession(1, second, NOW - timedelta(hours=1)))
    stored_order(aws, reference, created_at=FIRST_OPENED, sessions=sessions)
    assert confirm(aws, lambda_context, reference=second, numauto="111111")["body"] == ACK_OK
    assert confirm(aws, lambda_context, reference=first, numauto="222222")["body"] == ACK_OK
    for bank_reference in (first, second):
        bank.accounts[bank_reference] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))
    return aws.store.get(reference)  # type: ignore[no-any-return]


# --- every writer of a review puts the order in the list ---------------------------------------------------------


def test_an_order_with_no_review_is_not_listed(aws: Any, lambda_context: Any) -> None:
    paid(aws, lambda_context, "ATQUIET", "0900157")
    assert indexed(aws, "ATQUIET") == {}
    assert listed(aws.store) == []


def test_a_confirmation_flagged_by_its_decision_lists_the_order(aws: Any, lambda_context: Any) -> None:
    mismatched(aws, lambda_context, "ATAPPLY")
    assert indexed(aws, "ATAPPLY") == {"attention": "REVIEW", "attention_at": NOW.isoformat()}
    assert listed(aws.store) == ["ATAPPLY"]


def test_a_second_acceptance_and_its_give_back_list_the_order(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    order = paid_twice(aws, lambda_context, "ATGIVE", bank)
    assert [r.reason for r in order.reviews] == [ReviewReason.SECOND_ACCEPTANCE]
    assert listed(aws.store) == ["ATGIVE"]
    mark_reviewed(aws.store, "ATGIVE", 1, CONSOLE, NOW)
    assert listed(aws.store) == []
    givebacks = GiveBacks(aws.store, Terminals.from_mapping(terminals_config()), _client(bank))
    givebacks.give_back("ATGIVE", LATER, GIVE_BACK)  # finish_give_back appends its review
    order = aws.store.get("ATGIVE")
    assert order.reviews[-1].reason is ReviewReason.SECOND_PAYMENT_GIVEN_BACK
    assert indexed(aws, "ATGIVE") == {"attention": "REVIEW", "attention_at": LATER.isoformat()}
    assert [o.open_reviews for o in orders_needing_attention(aws.store).orders] == [order.reviews[1:]]


def test_a_second_payment_settled_from_the_banks_status_lists_the_order(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    order = paid_twice(aws, lambda_context, "ATSETTLE", bank)
    mark_reviewed(aws.store, "ATSETTLE", 1, CONSOLE, NOW)
    payment = order.second_payments[0]
    captured = OperationRecord("bank", "capture_full", payment.amount, LATER, "applied_by_bank", actor=None)
    review = Review(ReviewReason.SECOND_PAYMENT_CAPTURED, LATER, "the bank captured it")
    aws.store.settle_second_payment(order, 0, replace(payment, bank_capture=captured), review)
    assert listed(aws.store) == ["ATSETTLE"]
    assert indexed(aws, "ATSETTLE")["attention_at"] == LATER.isoformat()


def test_a_refused_end_of_period_capture_lists_the_order(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    paid(aws, lambda_context, "ATSWEEP", "0900158")
    bank.refuse_next = 10
    office = BackOffice(aws.store, Terminals.from_mapping(terminals_config()), _client(bank))
    office.sweep(NOW + timedelta(days=30))  # finish_operation with its review
    assert [r.reason for r in aws.store.get("ATSWEEP").reviews] == [ReviewReason.END_OF_PERIOD_REFUSED]
    assert listed(aws.store) == ["ATSWEEP"]


def test_an_operation_conflict_lists_the_order(aws: Any, lambda_context: Any) -> None:
    paid(aws, lambda_context, "ATCONFL", "0900159")
    late = OperationRecord("slowcall", "capture_full", Money(Decimal("62.73"), "EUR"), LATER, "done", actor=CONSOLE)
    aws.store.record_conflict("ATCONFL", late, LATER)
    assert [r.reason for r in aws.store.get("ATCONFL").reviews] == [ReviewReason.OPERATION_CONFLICT]
    assert listed(aws.store) == ["ATCONFL"]


def test_the_list_is_latest_review_first_page_by_page(aws: Any, lambda_context: Any) -> None:
    for minutes, reference in enumerate(("ATPAGE1", "ATPAGE2", "ATPAGE3")):
        aws.use(clock=lambda minutes=minutes: NOW + timedelta(minutes=minutes))
        mismatched(aws, lambda_context, reference, NOW + timedelta(minutes=minutes))
    first = orders_needing_attention(aws.store, limit=2)
    assert [o.reference for o in first.orders] == ["ATPAGE3", "ATPAGE2"]
    assert first.cursor is not None
    rest = orders_needing_attention(aws.store, limit=2, cursor=first.cursor)
    assert [o.reference for o in rest.orders] == ["ATPAGE1"]
    assert rest.cursor is None
    with pytest.raises(InvalidOrderError) as refused:
        orders_needing_attention(aws.store, cursor="bm90LWEta2V5")  # base64 of "not-a-key"
    assert refused.value.field == "cursor"


# --- marking ------------------------------------------------------------------------------------------------


def test_marking_takes_the_order_out_and_records_who_and_when(aws: Any, lambda_context: Any) -> None:
    mismatched(aws, lambda_context, "ATMARK")
    marked = mark_reviewed(aws.store, "ATMARK", 1, CONSOLE, LATER)
    assert marked.outcome is MarkOutcome.REVIEWED
    assert indexed(aws, "ATMARK") == {}
    assert listed(aws.store) == []
    order = aws.store.get("ATMARK")
    assert order == marked.order
    assert [(m.actor, m.at, m.covers) for m in order.review_marks] == [(CONSOLE, LATER, 1)]
    assert order.as_json()["needs_review"] is False
    assert order.as_json()["reviewed"] == [{"actor": CONSOLE.as_json(), "time": LATER.isoformat(), "reviews": 1}]
    assert order.version == aws.store.get("ATMARK").version  # a mark moves no version: no writer loses to it


def test_a_review_appended_between_the_page_and_the_mark_stays_open(aws: Any, lambda_context: Any) -> None:
    mismatched(aws, lambda_context, "ATRACE")
    seen = len(orders_needing_attention(aws.store).orders[0].reviews)  # the page shows one review
    late = OperationRecord("slowcall", "refund_full", Money(Decimal("62.73"), "EUR"), LATER, "done", actor=CONSOLE)
    aws.store.record_conflict("ATRACE", late, LATER)  # a second one arrives before the operator clicks
    marked = mark_reviewed(aws.store, "ATRACE", seen, CONSOLE, LATER)
    assert marked.outcome is MarkOutcome.NEWER_OPEN
    assert listed(aws.store) == ["ATRACE"]
    order = aws.store.get("ATRACE")
    assert [r.reason for r in order.open_reviews] == [ReviewReason.OPERATION_CONFLICT]
    assert order.as_json()["needs_review"] is True
    assert mark_reviewed(aws.store, "ATRACE", 2, READER, LATER).outcome is MarkOutcome.REVIEWED
    assert listed(aws.store) == []
    assert [(m.actor, m.covers) for m in aws.store.get("ATRACE").review_marks] == [(CONSOLE, 1), (READER, 2)]


def test_the_stores_mark_is_refused_when_a_review_was_appended_meanwhile(aws: Any, lambda_context: Any) -> None:
    from orders.exceptions import ConcurrentUpdateError
    from orders.model import ReviewMark

    mismatched(aws, lambda_context, "ATCOND")
    late = OperationRecord("slowcall", "refund_full", Money(Decimal("62.73"), "EUR"), LATER, "done", actor=CONSOLE)
    aws.store.record_conflict("ATCOND", late, LATER)
    with pytest.raises(ConcurrentUpdateError):  # "every review" was one: the condition on their number holds it
        aws.store.mark_reviewed("ATCOND", ReviewMark(CONSOLE, LATER, 1), every_review=True)
    assert indexed(aws, "ATCOND") != {}
    assert aws.store.get("ATCOND").review_marks == ()


def test_marking_twice_writes_once(aws: Any, lambda_context: Any) -> None:
    mismatched(aws, lambda_context, "ATTWICE")
    assert mark_reviewed(aws.store, "ATTWICE", 1, CONSOLE, LATER).outcome is MarkOutcome.REVIEWED
    again = mark_reviewed(aws.store, "ATTWICE", 1, READER, LATER + timedelta(minutes=1))
    assert again.outcome is MarkOutcome.ALREADY
    assert [m.actor for m in aws.store.get("ATTWICE").review_marks] == [CONSOLE]


def test_marking_what_the_order_does_not_hold_is_refused(aws: Any, lambda_context: Any) -> None:
    mismatched(aws, lambda_context, "ATBAD")
    for seen in (0, 2):
        with pytest.raises(InvalidOrderError) as refused:
            mark_reviewed(aws.store, "ATBAD", seen, CONSOLE, LATER)
        assert refused.value.field == "reviews"
    with pytest.raises(OrderNotFoundError):
        mark_reviewed(aws.store, "ATNONE", 1, CONSOLE, LATER)
    assert aws.store.get("ATBAD").review_marks == ()


# --- confirmations that matched no order -------------------------------------------------------------------------


def test_an_unmatched_confirmation_is_listed_until_marked_reviewed(aws: Any, lambda_context: Any) -> None:
    assert confirm(aws, lambda_context, reference="NOSUCHORDER1", amount="12.50EUR")["body"] == ACK_OK
    [kept] = unmatched_confirmations(aws.store).confirmations
    said = (kept.tpe, kept.reference, kept.amount, kept.return_code)
    assert said == ("0900157", "NOSUCHORDER1", "12.50EUR", "payetest")
    assert kept.received_at == NOW
    assert listed(aws.store) == []  # not an order
    assert mark_unmatched_reviewed(aws.store, *kept.key, CONSOLE, LATER)
    assert unmatched_confirmations(aws.store).confirmations == []
    assert not mark_unmatched_reviewed(aws.store, *kept.key, READER, LATER)  # the first mark stays
    key = {"pk": {"S": kept.key[0]}, "sk": {"S": kept.key[1]}}
    item = aws.dynamodb.get_item(TableName=aws.store.table_name, Key=key)
    assert item["Item"]["reviewed"]["M"]["actor"]["M"]["name"]["S"] == CONSOLE.name
