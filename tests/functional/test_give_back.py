"""A second payment of one order (two tabs, a late confirmation, a bank-side retry) is given back at the bank,
exactly once, off the table's stream, with the sweeper as its backstop: under moto, against the fake bank."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from local.streams import stream_record
from orders import books
from orders.bank import BankClient
from orders.events import ORDER_NEEDS_REVIEW, ORDER_REFUNDED, SECOND_PAYMENT_GIVEN_BACK, events_of_change
from orders.exceptions import BankRefusedError, BankUnavailableError, OperationInProgressError
from orders.giveback import GiveBacks
from orders.mail import mails_for
from orders.model import GIVEN_BACK, NOT_GIVEN_BACK, Order, OrderStatus, PaymentSession, ReviewReason
from orders.operations import BackOffice
from orders.store import OrderStore
from orders.terminals import Terminals
from tests.support.aws import TABLE_STREAM_ENDPOINT, terminals_config
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import LATER, NOW, confirm, stored_order

REF = "GIVEBACK01"
FIRST, SECOND = REF + "00", REF + "01"  # the buyer's two tabs: the order is paid under SECOND, then FIRST pays too
FIRST_OPENED = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # the first tab's form: the day before
SECOND_OPENED = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
PAID, AGAIN = "111111", "222222"  # the authorisation numbers of the paid session, and of the second payment
AMOUNT = Decimal("62.73")


class Crash(BaseException):
    """A process killed mid-flight: not an Exception, nothing catches it."""


@pytest.fixture
def bank(aws: Any) -> FakeBank:
    fake = FakeBank()
    aws.use(bank_transport=fake, clock=lambda: NOW)
    return fake


def _client(bank: FakeBank) -> Any:
    return lambda terminal: BankClient(terminal, bank, sleep=lambda _: None)


@pytest.fixture
def givebacks(aws: Any, bank: FakeBank) -> GiveBacks:
    return GiveBacks(aws.store, Terminals.from_mapping(terminals_config()), _client(bank))


@pytest.fixture
def office(aws: Any, bank: FakeBank) -> BackOffice:
    return BackOffice(aws.store, Terminals.from_mapping(terminals_config()), _client(bank))


def paid_twice(aws: Any, lambda_context: Any, bank: FakeBank, tpe: str = "0900157") -> Order:
    """An order with two sessions, paid under the second, then paid again under the first (still open in a tab)."""
    sessions = (PaymentSession(0, FIRST, FIRST_OPENED), PaymentSession(1, SECOND, SECOND_OPENED))
    stored_order(aws, REF, tpe=tpe, created_at=FIRST_OPENED, sessions=sessions)
    assert confirm(aws, lambda_context, reference=SECOND, tpe=tpe, numauto=PAID)["body"] == "version=2\ncdr=0\n"
    assert confirm(aws, lambda_context, reference=FIRST, tpe=tpe, numauto=AGAIN)["body"] == "version=2\ncdr=0\n"
    if tpe == "0900157":  # an immediate payment is captured as it is accepted: the bank holds both
        for reference in (FIRST, SECOND):
            bank.accounts[reference] = Account(AMOUNT, "EUR", captured=AMOUNT, captured_on=NOW.date())
    return aws.store.get(REF)  # type: ignore[no-any-return]


def stream_records(aws: Any) -> list[dict[str, Any]]:
    """Every record of the orders table's stream so far, as Lambda hands them over."""
    streams = boto3.client("dynamodbstreams", region_name="eu-west-3", endpoint_url=TABLE_STREAM_ENDPOINT)
    arn = aws.dynamodb.describe_table(TableName=aws.store.table_name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    answer = streams.get_records(ShardIterator=iterator["ShardIterator"])
    return [stream_record(record, arn, "eu-west-3") for record in answer["Records"]]


def consume(aws: Any, lambda_context: Any) -> dict[str, Any]:
    """The give-back function on every record of the stream so far (the stream delivers at least once)."""
    return aws.invoke("give_back", {"Records": stream_records(aws)}, lambda_context)  # type: ignore[no-any-return]


def calls(bank: FakeBank, cgi: str) -> list[dict[str, str]]:
    return [fields for name, fields in bank.calls if name == cgi]


def test_cgi2_records_a_second_payment_apart_and_calls_no_bank(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    order = paid_twice(aws, lambda_context, bank)
    assert (order.status, order.bank_reference, order.authorisation_number) == (OrderStatus.PAID, SECOND, PAID)
    assert (order.captured, order.refunded) == (AMOUNT, 0)
    [second] = order.second_payments
    assert (second.bank_reference, second.authorisation_number, second.amount.amount) == (FIRST, AGAIN, AMOUNT)
    assert (second.state, second.ordered_at, second.received_at, second.mode.value) == (
        "due", FIRST_OPENED, NOW, "immediate"
    )  # fmt: skip
    assert [r.reason for r in order.reviews] == [ReviewReason.SECOND_ACCEPTANCE]
    assert "refunded at the bank automatically" in order.reviews[0].detail
    assert bank.calls == []  # the bank's acknowledgement never waits on a back-office call
    assert aws.store.orders_to_give_back()[0] == [REF]  # found without a scan
    assert order.as_json()["second_payments"][0]["state"] == "due"


def test_an_immediate_second_payment_is_refunded_on_its_own_session_once(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    paid_twice(aws, lambda_context, bank)
    assert consume(aws, lambda_context) == {"batchItemFailures": []}
    [refund] = calls(bank, "recredit_paiement.cgi")
    assert (refund["reference"], refund["num_autorisation"], refund["date_commande"]) == (FIRST, AGAIN, "26/11/2026")
    assert (refund["montant_recredit"], refund["montant_possible"]) == ("62.73EUR", "62.73EUR")
    assert bank.accounts[FIRST].refunded == AMOUNT
    assert bank.accounts[SECOND].refunded == 0  # the order's own payment stays
    order = aws.store.get(REF)
    assert (order.status, order.captured, order.refunded) == (OrderStatus.PAID, AMOUNT, 0)
    [second] = order.second_payments
    assert (second.state, second.giving_back) == (GIVEN_BACK, None)
    assert second.outcome is not None
    assert (second.outcome.event, second.outcome.outcome) == ("refund_full", "done")
    assert order.reviews[-1].reason is ReviewReason.SECOND_PAYMENT_GIVEN_BACK
    assert f"under {FIRST} ({AGAIN}, 62.73 EUR) was refunded" in order.reviews[-1].detail
    assert aws.store.orders_to_give_back()[0] == []
    assert consume(aws, lambda_context) == {"batchItemFailures": []}  # every record delivered again
    assert len(calls(bank, "recredit_paiement.cgi")) == 1


def test_a_deferred_second_authorisation_is_cancelled_and_the_sweeper_captures_only_the_paid_one(
    aws: Any, lambda_context: Any, bank: FakeBank, office: BackOffice
) -> None:
    order = paid_twice(aws, lambda_context, bank, tpe="0900158")
    assert order.status is OrderStatus.AUTHORIZED
    consume(aws, lambda_context)
    [cancel] = calls(bank, "capture_paiement.cgi")
    assert (cancel["reference"], cancel["date_commande"]) == (FIRST, "26/11/2026")
    assert (cancel["montant_a_capturer"], cancel["montant_restant"], cancel["montant"]) == ("0EUR", "0EUR", "62.73EUR")
    assert bank.accounts[FIRST].cancelled
    report = office.sweep(NOW + timedelta(days=30))
    assert report.outcomes == {REF: "capture_full"}
    captures = [c for c in calls(bank, "capture_paiement.cgi") if c["montant_a_capturer"] != "0EUR"]
    assert [c["reference"] for c in captures] == [SECOND]
    assert (bank.accounts[SECOND].captured, bank.accounts[FIRST].captured) == (AMOUNT, 0)
    order = aws.store.get(REF)
    assert (order.status, order.captured, order.second_payments[0].state) == (OrderStatus.CAPTURED, AMOUNT, GIVEN_BACK)


def test_a_process_dying_after_the_bank_call_is_settled_from_the_status_not_resent(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks, office: BackOffice,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    paid_twice(aws, lambda_context, bank)
    real_finish = OrderStore.finish_give_back

    def crash(self: OrderStore, *args: Any, **kwargs: Any) -> None:
        raise Crash

    monkeypatch.setattr(OrderStore, "finish_give_back", crash)
    with pytest.raises(Crash):
        givebacks.give_back(REF, NOW)
    assert bank.accounts[FIRST].refunded == AMOUNT  # the bank did it; the order does not know
    assert aws.store.get(REF).second_payments[0].giving_back is not None
    monkeypatch.setattr(OrderStore, "finish_give_back", real_finish)
    with pytest.raises(OperationInProgressError):  # fresh: maybe still running elsewhere
        givebacks.give_back(REF, NOW + timedelta(seconds=30))
    assert consume(aws, lambda_context) == {"batchItemFailures": []}  # the stream leaves it to the sweeper
    report = office.sweep(LATER)  # the backstop, past the entry's lease
    assert report.outcomes[FIRST].startswith("given_back (refund_full applied)")
    assert len(calls(bank, "recredit_paiement.cgi")) == 1  # never refunded twice
    order = aws.store.get(REF)
    assert order.second_payments[0].state == GIVEN_BACK
    assert aws.store.orders_to_give_back()[0] == []


def test_a_give_back_that_never_reached_the_bank_is_sent_once_more(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks
) -> None:
    paid_twice(aws, lambda_context, bank)
    bank.timeout_next = 1
    with pytest.raises(BankUnavailableError):
        givebacks.give_back(REF, NOW)
    assert bank.accounts[FIRST].refunded == 0
    assert givebacks.give_back(REF, LATER) == {FIRST: "given_back (refund_full done)"}
    assert bank.accounts[FIRST].refunded == AMOUNT
    assert len(calls(bank, "recredit_paiement.cgi")) == 2  # the first never reached it: the status said so


def test_two_consumers_at_once_give_back_once(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    paid_twice(aws, lambda_context, bank)
    slow_bank_started = threading.Event()

    def slow(url: str, body: bytes, timeout: float) -> bytes:
        if url.endswith("recredit_paiement.cgi"):
            slow_bank_started.set()
            time.sleep(0.3)  # the other consumer runs meanwhile
        return bank(url, body, timeout)

    terminals = Terminals.from_mapping(terminals_config())
    outcomes: list[object] = []

    def run() -> None:
        giver = GiveBacks(aws.store, terminals, lambda terminal: BankClient(terminal, slow, sleep=lambda _: None))
        try:
            outcomes.append(giver.give_back(REF, NOW))
        except OperationInProgressError as exc:
            outcomes.append(exc)

    first = threading.Thread(target=run)
    first.start()
    assert slow_bank_started.wait(5)
    second = threading.Thread(target=run)
    second.start()
    first.join()
    second.join()
    assert len(calls(bank, "recredit_paiement.cgi")) == 1
    assert bank.accounts[FIRST].refunded == AMOUNT
    assert {FIRST: "given_back (refund_full done)"} in outcomes
    assert aws.store.get(REF).second_payments[0].state == GIVEN_BACK


def test_a_refused_give_back_is_left_to_the_merchant_and_refund_all_tries_it_again(
    aws: Any, lambda_context: Any, bank: FakeBank, office: BackOffice
) -> None:
    paid_twice(aws, lambda_context, bank)
    bank.refuse_next = 1
    consume(aws, lambda_context)
    order = aws.store.get(REF)
    assert order.second_payments[0].state == NOT_GIVEN_BACK
    review = order.reviews[-1]
    assert review.reason is ReviewReason.SECOND_PAYMENT_NOT_GIVEN_BACK
    assert "refund it in the bank's dashboard, or refund order GIVEBACK01 with no amount" in review.detail
    assert aws.store.orders_to_give_back()[0] == []
    assert office.sweep(LATER).outcomes == {}  # a refusal is not resent blindly every run
    assert len(calls(bank, "recredit_paiement.cgi")) == 1
    order = office.refund(REF, None, LATER)  # "refund all": the second payment first, then the order's own
    assert [(c["reference"], c["num_autorisation"]) for c in calls(bank, "recredit_paiement.cgi")[1:]] == [
        (FIRST, AGAIN),
        (SECOND, PAID),
    ]
    assert (order.status, order.refunded, order.second_payments[0].state) == (OrderStatus.REFUNDED, AMOUNT, GIVEN_BACK)
    assert bank.accounts[FIRST].refunded == bank.accounts[SECOND].refunded == AMOUNT


def test_refund_all_covers_a_second_captured_session_not_given_back_yet(
    aws: Any, lambda_context: Any, bank: FakeBank, office: BackOffice
) -> None:
    paid_twice(aws, lambda_context, bank)  # the stream's consumer has not run yet
    order = office.refund(REF, None, LATER)
    assert order.status is OrderStatus.REFUNDED
    assert order.second_payments[0].state == GIVEN_BACK
    assert (bank.accounts[FIRST].refunded, bank.accounts[SECOND].refunded) == (AMOUNT, AMOUNT)
    consume(aws, lambda_context)  # the stream's records arrive afterwards: nothing more
    assert len(calls(bank, "recredit_paiement.cgi")) == 2


def test_refund_all_never_reads_refunded_while_a_second_payment_stays_debited(
    aws: Any, lambda_context: Any, bank: FakeBank, office: BackOffice
) -> None:
    paid_twice(aws, lambda_context, bank)
    bank.refuse_next = 1
    with pytest.raises(BankRefusedError, match=f"the second payment under {FIRST} is not given back"):
        office.refund(REF, None, LATER)
    order = aws.store.get(REF)
    assert (order.status, order.refunded) == (OrderStatus.PAID, 0)  # the order's own payment was not refunded
    assert bank.accounts[SECOND].refunded == 0
    assert order.second_payments[0].state == NOT_GIVEN_BACK


def test_the_books_show_both_captures_and_the_return_each_on_its_reference(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    paid_twice(aws, lambda_context, bank)
    consume(aws, lambda_context)
    terminals = Terminals.from_mapping(terminals_config())
    day = date(2026, 11, 27)
    captures = books.booked(aws.store, terminals, day, "captures")
    refunds = books.booked(aws.store, terminals, day, "refunds")
    assert sorted((e.bank_reference, e.authorisation_number, str(e.amount.amount), e.kind) for e in captures) == [
        (FIRST, AGAIN, "62.73", "payment"),
        (SECOND, PAID, "62.73", "payment"),
    ]
    assert [(e.bank_reference, e.authorisation_number, str(e.amount.amount)) for e in refunds] == [
        (FIRST, AGAIN, "62.73")
    ]
    first = next(e for e in captures if e.bank_reference == FIRST)
    assert first.order_date == date(2026, 11, 26)  # its own session's form date, as the bank holds it
    held = sum(account.captured - account.refunded for account in bank.accounts.values())
    assert sum(e.amount.amount for e in captures) - sum(e.amount.amount for e in refunds) == held == AMOUNT
    xml = books.as_bank_xml(captures, "0900157", "boutiqueducd", day, "Europe/Paris")
    assert xml.count("<reference>") == 2
    assert f"<reference>{FIRST}</reference>" in xml


def test_the_merchant_is_told_and_the_buyer_is_not_told_of_a_refund(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks
) -> None:
    before = paid_twice(aws, lambda_context, bank)
    givebacks.give_back(REF, NOW)
    after = aws.store.get(REF)
    events = events_of_change(before, after)
    assert [e.type for e in events] == [SECOND_PAYMENT_GIVEN_BACK, ORDER_NEEDS_REVIEW]
    assert ORDER_REFUNDED not in [e.type for e in events]
    given = events[0].detail
    assert given["status"] == "paid"
    assert given["second_payment"] == {
        "bank_reference": FIRST, "authorisation_number": AGAIN, "amount": "62.73", "currency": "EUR",
        "time": NOW.isoformat(), "mode": "immediate", "state": "given_back", "give_back": "refund_full",
        "outcome": given["second_payment"]["outcome"],
    }  # fmt: skip
    assert given["second_payment"]["outcome"]["outcome"] == "done"
    settings = {"sender": "shop@example.com", "merchant": "orders@example.com", "buyer": True}
    terminal = Terminals.from_mapping(terminals_config(**{"0900157": {"mail": settings}})).get("0900157")
    [mail] = mails_for(SECOND_PAYMENT_GIVEN_BACK, given, after, terminal)
    assert (mail.kind, mail.to) == ("merchant", "orders@example.com")
    assert FIRST in mail.text
    assert "rembours" in mail.text
    # The review of the same write says it too: one mail, not two.
    assert mails_for(ORDER_NEEDS_REVIEW, events[1].detail, after, terminal) == []
