"""A second payment of one order (two tabs, a late confirmation, a bank-side retry) is given back at the bank,
exactly once, off the table's stream, with the sweeper as its backstop: under moto, against the fake bank."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orders import daybook
from orders.actors import GIVE_BACK
from orders.backoffice import BackOffice
from orders.bank import BankClient
from orders.events import ORDER_NEEDS_REVIEW, ORDER_REFUNDED, SECOND_PAYMENT_GIVEN_BACK, events_of_change
from orders.exceptions import (
    BankRefusedError,
    BankUnavailableError,
    OperationInProgressError,
    StoreUnavailableError,
)
from orders.giveback import GiveBacks
from orders.mail import mails_for
from orders.model import GIVEN_BACK, NOT_GIVEN_BACK, Order, OrderStatus, PaymentSession, ReviewReason
from orders.reconciliation import Reconciler
from orders.store import GIVE_BACK_PARTITION, ORDER_SK, OrderStore
from orders.terminals import Terminals
from tests.support.aws import mail_settings, terminals_config
from tests.support.fakebank import Account, FakeBank
from tests.support.ledger import bank_holds, held_by_reference, stream_records
from tests.support.merchant import CONSOLE, LATER, NOW, confirm, stored_order

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


def consume(aws: Any, lambda_context: Any) -> dict[str, Any]:
    """The give-back function on every record of the stream so far (the stream delivers at least once)."""
    return aws.invoke("give_back", {"Records": stream_records(aws)}, lambda_context)  # type: ignore[no-any-return]


def calls(bank: FakeBank, cgi: str) -> list[dict[str, str]]:
    return [fields for name, fields in bank.calls if name == cgi]


def dying_after_the_bank_call(givebacks: GiveBacks, at: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    """A give-back process killed once the bank did what it asked, before the outcome is written."""

    def crash(self: OrderStore, *args: Any, **kwargs: Any) -> None:
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(OrderStore, "finish_give_back", crash)
        with pytest.raises(Crash):
            givebacks.give_back(REF, at, GIVE_BACK)


def two_givers_at_once(aws: Any, bank: FakeBank, at: datetime) -> list[object]:
    """Two give-back processes on the order at once, the second starting while the first waits on the bank's refund
    answer: what each answered (its outcomes, or the ``OperationInProgressError`` it raised)."""
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
            outcomes.append(giver.give_back(REF, at, GIVE_BACK))
        except OperationInProgressError as exc:
            outcomes.append(exc)

    first = threading.Thread(target=run)
    first.start()
    assert slow_bank_started.wait(5)
    second = threading.Thread(target=run)
    second.start()
    first.join()
    second.join()
    return outcomes


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
    assert (second.outcome.event, second.outcome.outcome, second.outcome.actor) == ("refund_full", "done", GIVE_BACK)
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
    dying_after_the_bank_call(givebacks, NOW, monkeypatch)
    assert bank.accounts[FIRST].refunded == AMOUNT  # the bank did it; the order does not know
    assert aws.store.get(REF).second_payments[0].giving_back is not None
    with pytest.raises(OperationInProgressError):  # fresh: maybe still running elsewhere
        givebacks.give_back(REF, NOW + timedelta(seconds=30), GIVE_BACK)
    assert consume(aws, lambda_context) == {"batchItemFailures": []}  # the stream leaves it to the sweeper
    report = office.sweep(LATER)  # the backstop, past the entry's lease
    assert report.outcomes[FIRST].startswith("given_back (refund_full applied)")
    assert len(calls(bank, "recredit_paiement.cgi")) == 1  # never refunded twice
    order = aws.store.get(REF)
    assert order.second_payments[0].state == GIVEN_BACK
    outcome = order.second_payments[0].outcome
    assert outcome is not None
    assert outcome.actor == GIVE_BACK  # who asked for it, not the sweeper that settled it
    assert aws.store.orders_to_give_back()[0] == []


def test_a_give_back_that_never_reached_the_bank_is_sent_once_more(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks
) -> None:
    paid_twice(aws, lambda_context, bank)
    bank.timeout_next = 1
    with pytest.raises(BankUnavailableError):
        givebacks.give_back(REF, NOW, GIVE_BACK)
    assert bank.accounts[FIRST].refunded == 0
    assert givebacks.give_back(REF, LATER, GIVE_BACK) == {FIRST: "given_back (refund_full done)"}
    assert bank.accounts[FIRST].refunded == AMOUNT
    assert len(calls(bank, "recredit_paiement.cgi")) == 2  # the first never reached it: the status said so


def test_two_consumers_at_once_give_back_once(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    paid_twice(aws, lambda_context, bank)
    outcomes = two_givers_at_once(aws, bank, NOW)
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
    order = office.refund(REF, None, LATER, CONSOLE)  # "refund all": the second payment first, then the order's own
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
    order = office.refund(REF, None, LATER, CONSOLE)
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
        office.refund(REF, None, LATER, CONSOLE)
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
    captures = daybook.booked(aws.store, terminals, day, "captures")
    refunds = daybook.booked(aws.store, terminals, day, "refunds")
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
    xml = daybook.as_bank_xml(captures, "0900157", "boutiqueducd", day, "Europe/Paris")
    assert xml.count("<reference>") == 2
    assert f"<reference>{FIRST}</reference>" in xml


def test_the_merchant_is_told_and_the_buyer_is_not_told_of_a_refund(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks
) -> None:
    before = paid_twice(aws, lambda_context, bank)
    givebacks.give_back(REF, NOW, GIVE_BACK)
    after = aws.store.get(REF)
    events = events_of_change(before, after)
    assert [e.type for e in events] == [SECOND_PAYMENT_GIVEN_BACK, ORDER_NEEDS_REVIEW]
    assert ORDER_REFUNDED not in [e.type for e in events]
    given = events[0].detail
    assert given["status"] == "paid"
    assert given["second_payment"] == {
        "bank_reference": FIRST, "authorisation_number": AGAIN, "amount": "62.73", "currency": "EUR",
        "time": NOW.isoformat(), "mode": "immediate", "state": "given_back", "give_back": "refund_full",
        "outcome": given["second_payment"]["outcome"], "bank_capture": None,
    }  # fmt: skip
    assert given["second_payment"]["outcome"]["outcome"] == "done"
    settings = {"sender": "shop@example.com", "merchant": "orders@example.com", "buyer": True}
    terminal = mail_settings(**{"0900157": settings}).get("0900157")
    [mail] = mails_for(SECOND_PAYMENT_GIVEN_BACK, given, after, terminal)
    assert (mail.kind, mail.to) == ("merchant", "orders@example.com")
    assert FIRST in mail.text
    assert "rembours" in mail.text
    # The review of the same write says it too: one mail, not two.
    assert mails_for(ORDER_NEEDS_REVIEW, events[1].detail, after, terminal) == []


# --- a deferred second authorisation the bank captured: its cancel refused, or too late ---------------------------

BANK_CAPTURE_DAY = date(2026, 12, 2)  # the first tab's deferral period (3 working days from 26/11) ends: validated


def not_cancelled_then_captured(aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks) -> Order:
    """A deferred order paid under SECOND, then authorised under FIRST too; the bank refuses the cancel of FIRST and
    validates it at the end of its own deferral period (the terminal's automatic validation)."""
    paid_twice(aws, lambda_context, bank, tpe="0900158")
    bank.refuse_next = 1
    assert givebacks.give_back(REF, NOW, GIVE_BACK) == {FIRST: "not_given_back (cancel refused)"}
    bank.accounts[FIRST] = Account(AMOUNT, "EUR", captured=AMOUNT, captured_on=BANK_CAPTURE_DAY)
    return aws.store.get(REF)  # type: ignore[no-any-return]


def test_a_second_authorisation_the_bank_captured_after_a_refused_cancel_is_booked_and_refunded_once(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks, office: BackOffice
) -> None:
    not_cancelled_then_captured(aws, lambda_context, bank, givebacks)
    assert aws.store.orders_to_give_back()[0] == [REF]  # watched: the bank may still capture it at its deadline
    later = NOW + timedelta(days=30)
    report = office.sweep(later)  # the backstop asks the bank's status, then ends the paid session's period
    assert report.outcomes[FIRST].startswith("given_back (refund_full done)")
    assert report.outcomes[REF] == "capture_full"
    [refund] = calls(bank, "recredit_paiement.cgi")
    assert (refund["reference"], refund["num_autorisation"], refund["date_remise"]) == (FIRST, AGAIN, "02/12/2026")
    order = aws.store.get(REF)
    [second] = order.second_payments
    assert (second.state, second.captured) == (GIVEN_BACK, True)
    assert second.bank_capture is not None
    assert (second.bank_capture.event, second.bank_capture.bank_day) == ("capture_full", BANK_CAPTURE_DAY)
    assert aws.store.orders_to_give_back()[0] == []
    terminals = Terminals.from_mapping(terminals_config())
    [captured] = daybook.booked(aws.store, terminals, BANK_CAPTURE_DAY, "captures")
    assert (captured.bank_reference, captured.authorisation_number, captured.amount.amount) == (FIRST, AGAIN, AMOUNT)
    assert held_by_reference(order) == bank_holds(bank) == {SECOND: AMOUNT}
    # The day's reconciliation finds nothing more; "refund all" then refunds the order's own payment, and only it.
    reconciled = Reconciler(aws.store, terminals, _client(bank)).run([later.date()], later + timedelta(hours=1), "t")
    assert [d.kind for d in reconciled.differences] == []
    order = office.refund(REF, None, later + timedelta(hours=2), CONSOLE)
    assert [c["reference"] for c in calls(bank, "recredit_paiement.cgi")] == [FIRST, SECOND]
    assert (order.status, bank_holds(bank), held_by_reference(order)) == (OrderStatus.REFUNDED, {}, {})
    assert office.sweep(later + timedelta(hours=3)).outcomes == {}
    assert len(calls(bank, "recredit_paiement.cgi")) == 2


def test_reconciliation_finds_a_second_authorisation_the_bank_captured_and_gives_it_back(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks
) -> None:
    not_cancelled_then_captured(aws, lambda_context, bank, givebacks)
    later = NOW + timedelta(days=6)
    report = Reconciler(aws.store, Terminals.from_mapping(terminals_config()), _client(bank)).run(
        [NOW.date()], later, "schedule"
    )
    [found] = report.differences
    assert (found.reference, found.kind, found.repaired) == (REF, "second_payment", True)
    assert f"{FIRST}: given_back (refund_full done)" in found.detail
    assert bank_holds(bank) == {}  # the paid session is still an authorisation; the captured one was refunded
    order = aws.store.get(REF)
    assert held_by_reference(order) == {}
    assert order.second_payments[0].state == GIVEN_BACK
    again = Reconciler(aws.store, Terminals.from_mapping(terminals_config()), _client(bank)).run(
        [later.date()], later + timedelta(hours=1), "schedule"
    )
    assert again.differences == []
    assert len(calls(bank, "recredit_paiement.cgi")) == 1


def test_refund_all_asks_the_bank_of_a_second_authorisation_not_cancelled_and_refunds_its_capture(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks, office: BackOffice
) -> None:
    not_cancelled_then_captured(aws, lambda_context, bank, givebacks)
    # The merchant validates the paid session; nothing has asked about FIRST yet.
    office.capture(REF, None, LATER, CONSOLE)
    order = office.refund(REF, None, LATER + timedelta(minutes=1), CONSOLE)
    assert [c["reference"] for c in calls(bank, "recredit_paiement.cgi")] == [FIRST, SECOND]
    assert (order.status, order.second_payments[0].state) == (OrderStatus.REFUNDED, GIVEN_BACK)
    assert bank_holds(bank) == held_by_reference(order) == {}


def test_a_cancel_too_late_is_never_sent_the_capture_is_refunded(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    paid_twice(aws, lambda_context, bank, tpe="0900158")
    # The give-back did not run before the first tab's deadline (the bank down for days): the bank validated it.
    bank.accounts[FIRST] = Account(AMOUNT, "EUR", captured=AMOUNT, captured_on=BANK_CAPTURE_DAY)
    assert consume(aws, lambda_context) == {"batchItemFailures": []}
    assert [c for c in calls(bank, "capture_paiement.cgi")] == []  # no cancel of a captured payment
    [refund] = calls(bank, "recredit_paiement.cgi")
    assert refund["reference"] == FIRST
    assert consume(aws, lambda_context) == {"batchItemFailures": []}  # the stream delivered again: nothing more
    assert len(calls(bank, "recredit_paiement.cgi")) == 1
    order = aws.store.get(REF)
    assert held_by_reference(order) == bank_holds(bank) == {}


def test_a_second_authorisation_cancelled_in_the_banks_dashboard_is_given_back_and_no_longer_watched(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks, office: BackOffice
) -> None:
    paid_twice(aws, lambda_context, bank, tpe="0900158")
    bank.refuse_next = 1
    givebacks.give_back(REF, NOW, GIVE_BACK)
    bank.accounts[FIRST].cancelled = True  # the merchant did as the review said
    assert office.sweep(LATER).outcomes == {FIRST: "given_back (cancel applied_outside_api)"}
    order = aws.store.get(REF)
    assert (order.second_payments[0].state, aws.store.orders_to_give_back()[0]) == (GIVEN_BACK, [])
    assert len(calls(bank, "capture_paiement.cgi")) == 1  # the refused cancel only


def test_the_capture_of_a_second_authorisation_dying_after_its_refund_is_settled_never_refunded_twice(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks, office: BackOffice,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    not_cancelled_then_captured(aws, lambda_context, bank, givebacks)
    dying_after_the_bank_call(givebacks, LATER, monkeypatch)
    assert bank.accounts[FIRST].refunded == AMOUNT
    assert consume(aws, lambda_context) == {"batchItemFailures": []}  # fresh entry: left to the sweeper
    assert consume(aws, lambda_context) == {"batchItemFailures": []}  # delivered twice
    office.sweep(LATER + timedelta(minutes=10))
    assert len(calls(bank, "recredit_paiement.cgi")) == 1
    order = aws.store.get(REF)
    assert order.second_payments[0].state == GIVEN_BACK
    assert held_by_reference(order) == bank_holds(bank) == {}


def test_two_consumers_finding_a_captured_second_authorisation_refund_it_once(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks
) -> None:
    not_cancelled_then_captured(aws, lambda_context, bank, givebacks)
    outcomes = two_givers_at_once(aws, bank, LATER)
    assert len(calls(bank, "recredit_paiement.cgi")) == 1
    assert [type(o) for o in outcomes].count(OperationInProgressError) == 1
    assert held_by_reference(aws.store.get(REF)) == bank_holds(bank) == {}


def test_the_merchant_is_told_the_bank_captured_a_second_authorisation_and_that_it_was_refunded(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks
) -> None:
    before = not_cancelled_then_captured(aws, lambda_context, bank, givebacks)
    givebacks.give_back(REF, NOW + timedelta(days=6), GIVE_BACK)
    after = aws.store.get(REF)
    events = events_of_change(before, after)
    assert [e.type for e in events] == [SECOND_PAYMENT_GIVEN_BACK, ORDER_NEEDS_REVIEW, ORDER_NEEDS_REVIEW]
    captured, given = after.reviews[-2:]
    assert captured.reason is ReviewReason.SECOND_PAYMENT_CAPTURED
    assert f"the bank captured the second payment under {FIRST} ({AGAIN}, 62.73 EUR) on 2026-12-02" in captured.detail
    assert "it is refunded at the bank automatically" in captured.detail
    assert given.reason is ReviewReason.SECOND_PAYMENT_GIVEN_BACK
    assert events[0].detail["second_payment"]["bank_capture"]["bank_day"] == "2026-12-02"
    settings = {"sender": "shop@example.com", "merchant": "orders@example.com", "buyer": True}
    terminal = mail_settings(**{"0900158": settings}).get("0900158")
    [mail] = mails_for(ORDER_NEEDS_REVIEW, events[1].detail, after, terminal)
    assert (mail.kind, mail.to) == ("merchant", "orders@example.com")
    assert "second_payment_captured" in mail.text


# --- a second paid session found by reconciliation ----------------------------------------------------------------


def test_a_second_paid_session_reconciliation_finds_is_given_back_like_any_other(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    sessions = (PaymentSession(0, FIRST, FIRST_OPENED), PaymentSession(1, SECOND, SECOND_OPENED))
    stored_order(aws, REF, created_at=FIRST_OPENED, sessions=sessions)
    for paid in (FIRST, SECOND):  # two tabs, both paid; CGI2 heard of neither
        bank.accounts[paid] = Account(AMOUNT, "EUR", captured=AMOUNT, captured_on=SECOND_OPENED.date())
    later = SECOND_OPENED + timedelta(hours=3)
    terminals = Terminals.from_mapping(terminals_config())
    days = [FIRST_OPENED.date(), SECOND_OPENED.date()]  # the order's day, and today
    report = Reconciler(aws.store, terminals, _client(bank)).run(days, later, "schedule")
    assert [(d.kind, d.repaired) for d in report.differences] == [
        ("missed_confirmation", True), ("second_payment", True)
    ]  # fmt: skip
    order = aws.store.get(REF)
    [second] = order.second_payments
    assert (order.bank_reference, second.bank_reference, second.state) == (FIRST, SECOND, "due")
    assert order.reviews[-1].reason is ReviewReason.SECOND_ACCEPTANCE
    assert consume(aws, lambda_context) == {"batchItemFailures": []}  # the stream gives it back, as CGI2's
    assert [c["reference"] for c in calls(bank, "recredit_paiement.cgi")] == [SECOND]
    assert held_by_reference(aws.store.get(REF)) == bank_holds(bank) == {FIRST: AMOUNT}
    # Its late confirmation (the authorisation number the bank's status gave) is the same payment: nothing more.
    assert confirm(aws, lambda_context, reference=SECOND, numauto="123456")["body"] == "version=2\ncdr=0\n"
    assert len(aws.store.get(REF).second_payments) == 1
    again = Reconciler(aws.store, terminals, _client(bank)).run(days, later, "schedule")
    assert again.differences == []


# --- one give-back in flight holds no other back -------------------------------------------------------------------

THIRD = REF + "02"


def test_a_second_payment_arriving_while_another_is_given_back_is_given_back_in_the_same_call(
    aws: Any, lambda_context: Any, bank: FakeBank, givebacks: GiveBacks, office: BackOffice,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sessions = (
        PaymentSession(0, FIRST, FIRST_OPENED),
        PaymentSession(1, SECOND, SECOND_OPENED),
        PaymentSession(2, THIRD, SECOND_OPENED),
    )
    stored_order(aws, REF, created_at=FIRST_OPENED, sessions=sessions)
    confirm(aws, lambda_context, reference=SECOND, numauto=PAID)
    confirm(aws, lambda_context, reference=FIRST, numauto=AGAIN)
    for reference in (FIRST, SECOND, THIRD):
        bank.accounts[reference] = Account(AMOUNT, "EUR", captured=AMOUNT, captured_on=NOW.date())
    dying_after_the_bank_call(givebacks, NOW, monkeypatch)  # FIRST refunded, its entry left open
    confirm(aws, lambda_context, reference=THIRD, numauto="333333", date="27/11/2026_a_10:20:00")
    with pytest.raises(OperationInProgressError):  # FIRST's give-back may still be under way elsewhere...
        givebacks.give_back(REF, NOW + timedelta(seconds=30), GIVE_BACK)
    third = aws.store.get(REF).second_payments[1]
    assert (third.bank_reference, third.state) == (THIRD, GIVEN_BACK)  # ...THIRD does not wait for it
    assert [c["reference"] for c in calls(bank, "recredit_paiement.cgi")] == [FIRST, THIRD]
    assert aws.store.orders_to_give_back()[0] == [REF]  # FIRST's entry keeps the order in the index
    office.sweep(LATER)
    assert [c["reference"] for c in calls(bank, "recredit_paiement.cgi")] == [FIRST, THIRD]
    order = aws.store.get(REF)
    assert [p.state for p in order.second_payments] == [GIVEN_BACK, GIVEN_BACK]
    assert aws.store.orders_to_give_back()[0] == []
    assert held_by_reference(order) == bank_holds(bank) == {SECOND: AMOUNT}


def _due(reference: str, sequence: int) -> dict[str, Any]:
    """A stream record of an order with a give-back due, as the event source's filter lets through."""
    image = {"reference": {"S": reference}, "sk": {"S": ORDER_SK}, "giveback_due": {"S": GIVE_BACK_PARTITION}}
    keys = {"pk": {"S": reference}, "sk": {"S": ORDER_SK}}
    change = {"Keys": keys, "NewImage": image, "SequenceNumber": f"{sequence:021d}"}
    return {"eventName": "MODIFY", "dynamodb": change}


@pytest.mark.parametrize(
    "failure",
    [StoreUnavailableError("DynamoDB GetItem failed: injected"), KeyError("reference")],
    ids=["table_failed", "surprise"],
)
def test_record_2_of_5_failing_leaves_every_later_record_for_the_retry(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    # The stream is handed over again from the sequence number reported: a later order given back now would be
    # handed over again then; it waits. A surprise (not the orders layer's) is reported the same, never swallowed.
    given: list[str] = []

    def give_back(self: GiveBacks, reference: str, at: datetime, actor: Any) -> dict[str, str]:
        given.append(reference)
        if reference == "DUE2" and given.count("DUE2") == 1:
            raise failure
        return {}

    monkeypatch.setattr(GiveBacks, "give_back", give_back)
    records = [_due(f"DUE{n}", n) for n in range(1, 6)]
    answer = aws.invoke("give_back", {"Records": records}, lambda_context)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert given == ["DUE1", "DUE2"]
    assert aws.invoke("give_back", {"Records": records[1:]}, lambda_context) == {"batchItemFailures": []}
    assert given == ["DUE1", "DUE2", "DUE2", "DUE3", "DUE4", "DUE5"]
