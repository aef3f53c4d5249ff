"""Back-office operations and the sweeper under moto, against a stateful fake bank: nothing applied twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orders.backoffice import BackOffice
from orders.bank import BankClient
from orders.exceptions import (
    BankRefusedError,
    BankUnavailableError,
    OperationInProgressError,
    PreviousOperationAppliedError,
    TransitionNotAllowedError,
)
from orders.model import OrderStatus
from orders.store import OrderStore, deadline_shard
from orders.terminals import Terminals
from sealing import Money
from tests.support.aws import terminals_config
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import CONSOLE, LATER, NOW, confirm, paid, stored_order, write_authorized_orders


@pytest.fixture
def bank() -> FakeBank:
    return FakeBank()


@pytest.fixture
def office(aws: Any, bank: FakeBank) -> BackOffice:
    terminals = Terminals.from_mapping(terminals_config())
    return BackOffice(aws.store, terminals, lambda terminal: BankClient(terminal, bank, sleep=lambda _: None))


def test_partial_captures_then_refund(aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank) -> None:
    assert paid(aws, lambda_context, "DA1", "0900159").status is OrderStatus.CARD_REGISTERED
    order = office.capture("DA1", Decimal("10.00"), NOW, CONSOLE)
    assert (order.status, order.captured) == (OrderStatus.PARTIALLY_CAPTURED, Decimal("10.00"))
    order = office.capture("DA1", None, NOW, CONSOLE)
    assert (order.status, order.captured) == (OrderStatus.CAPTURED, Decimal("62.73"))
    order = office.refund("DA1", Decimal("5.00"), NOW, CONSOLE)
    assert (order.status, order.refunded) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("5.00"))
    assert bank.accounts["DA100"].captured == Decimal("62.73")
    assert bank.accounts["DA100"].refunded == Decimal("5.00")
    assert [op.outcome for op in order.operations] == ["done", "done", "done"]
    assert order.pending is None


def test_capture_of_an_immediate_order_is_not_allowed(aws: Any, lambda_context: Any, office: BackOffice) -> None:
    paid(aws, lambda_context, "IM1", "0900157")
    with pytest.raises(TransitionNotAllowedError, match="immediate"):
        office.capture("IM1", None, NOW, CONSOLE)


def test_a_refused_capture_changes_nothing_but_the_history(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    before = paid(aws, lambda_context, "DA2", "0900159")
    bank.refuse_next = 1
    with pytest.raises(BankRefusedError):
        office.capture("DA2", Decimal("10.00"), NOW, CONSOLE)
    after = aws.store.get("DA2")
    assert (after.status, after.captured, after.pending) == (before.status, before.captured, None)
    assert [op.outcome for op in after.operations] == ["refused"]


def test_a_lost_answer_is_settled_by_status_and_never_captured_twice(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "DA3", "0900159")
    bank.lose_answer_next = 1
    with pytest.raises(BankUnavailableError):
        office.capture("DA3", Decimal("10.00"), NOW, CONSOLE)
    assert aws.store.get("DA3").pending is not None  # the journal says: outcome unknown
    with pytest.raises(OperationInProgressError):  # it may still be running: never settled while fresh
        office.capture("DA3", Decimal("10.00"), NOW + timedelta(seconds=20), CONSOLE)
    with pytest.raises(PreviousOperationAppliedError):  # a blind retry is not carried out
        office.capture("DA3", Decimal("10.00"), LATER, CONSOLE)
    assert aws.store.get("DA3").captured == Decimal("10.00")
    order = office.capture("DA3", Decimal("20.00"), LATER, CONSOLE)  # a request made knowing the first one succeeded
    assert order.captured == Decimal("30.00")
    assert bank.accounts["DA300"].captured == Decimal("30.00")
    assert [op.outcome for op in order.operations] == ["applied", "done"]


def test_an_idempotency_key_makes_a_retry_answer_the_first_outcome(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "DA7", "0900159")
    bank.lose_answer_next = 1
    with pytest.raises(BankUnavailableError):
        office.capture("DA7", Decimal("10.00"), NOW, CONSOLE, key="retry-key-1")
    order = office.capture("DA7", Decimal("10.00"), LATER, CONSOLE, key="retry-key-1")
    assert order.captured == Decimal("10.00")
    again = office.capture("DA7", Decimal("10.00"), LATER, CONSOLE, key="retry-key-1")
    assert again == order
    assert bank.captures() == 1


def test_an_operation_that_never_reached_the_bank_is_settled_as_not_applied(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "DA4", "0900159")
    bank.timeout_next = 1
    with pytest.raises(BankUnavailableError):
        office.capture("DA4", Decimal("10.00"), NOW, CONSOLE)
    order, record = office.settle(aws.store.get("DA4"), LATER)
    assert (order.captured, order.pending, order.status) == (Decimal(0), None, OrderStatus.CARD_REGISTERED)
    assert record is not None
    assert record.outcome == "not_applied"
    assert [op.outcome for op in order.operations] == ["not_applied"]


def test_while_the_status_is_unknown_nothing_else_happens(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "DA5", "0900159")
    bank.lose_answer_next = 1
    with pytest.raises(BankUnavailableError):
        office.capture("DA5", Decimal("10.00"), NOW, CONSOLE)
    bank.status_down = True
    with pytest.raises(BankUnavailableError):
        office.cancel("DA5", LATER, CONSOLE)
    assert bank.accounts["DA500"].cancelled is False


def test_the_sweeper_reads_only_what_is_due(aws: Any, office: BackOffice, bank: FakeBank) -> None:
    many = 3000
    due = {f"SW{n:05d}" for n in range(0, many, 300)}
    deadlines = {
        f"SW{n:05d}": NOW - timedelta(hours=1) if f"SW{n:05d}" in due else NOW + timedelta(days=3) for n in range(many)
    }
    write_authorized_orders(
        aws, {reference: (deadline, deadline_shard(reference)) for reference, deadline in deadlines.items()}
    )
    report = office.sweep(NOW)
    assert report.items_read == len(due)  # cost follows the due orders, not the table
    assert report.failures == {}
    assert set(report.outcomes) == due
    assert all(aws.store.get(ref).status is OrderStatus.CAPTURED for ref in report.outcomes)  # 0900158 validates
    again = office.sweep(NOW)
    assert (again.items_read, again.outcomes) == (0, {})  # done orders left the index


def test_deferred_authorization_is_cancelled_at_the_end(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "DA6", "0900159")
    office.capture("DA6", Decimal("10.00"), NOW, CONSOLE)
    report = office.sweep(NOW + timedelta(days=30))
    assert report.outcomes == {"DA6": "cancel"}
    order = aws.store.get("DA6")
    assert (order.status, order.captured, order.cancelled) == (OrderStatus.CAPTURED, Decimal("10.00"), Decimal("52.73"))


def test_the_bank_own_end_of_period_action_is_recorded(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "DF1", "0900158")
    bank.accounts["DF100"] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))  # validated by the bank
    report = office.sweep(NOW + timedelta(days=30))
    assert report.outcomes == {"DF1": "recorded the bank's capture_full"}
    order = aws.store.get("DF1")
    assert order.status is OrderStatus.CAPTURED
    assert [op.outcome for op in order.operations] == ["applied_by_bank"]
    assert bank.captures() == 0


class Crash(BaseException):
    """A process killed mid-flight: not an Exception, nothing catches it."""


def test_a_sweeper_killed_between_the_bank_and_the_write_never_captures_twice(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank, monkeypatch: pytest.MonkeyPatch
) -> None:
    paid(aws, lambda_context, "DF2", "0900158")
    real_finish = OrderStore.finish_operation

    def crash(self: OrderStore, *args: Any, **kwargs: Any) -> None:
        raise Crash

    monkeypatch.setattr(OrderStore, "finish_operation", crash)
    with pytest.raises(Crash):
        office.sweep(NOW + timedelta(days=30))
    assert bank.captures() == 1
    assert aws.store.get("DF2").status is OrderStatus.AUTHORIZED  # the write never happened
    monkeypatch.setattr(OrderStore, "finish_operation", real_finish)
    report = office.sweep(NOW + timedelta(days=30))  # the entry is fresh: maybe still running elsewhere
    assert "in progress" in report.failures["DF2"]
    report = office.sweep(NOW + timedelta(days=30, hours=1))  # the next scheduled run
    assert report.failures == {}
    assert bank.captures() == 1  # settled from the bank's status, not captured again
    order = aws.store.get("DF2")
    assert order.status is OrderStatus.CAPTURED
    assert [op.outcome for op in order.operations] == ["applied"]


def test_one_failing_order_does_not_stop_the_batch(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "DF3", "0900158")
    paid(aws, lambda_context, "DF4", "0900158")
    bank.timeout_next = 1  # the first capture of the batch times out
    report = office.sweep(NOW + timedelta(days=30))
    assert len(report.failures) == 1
    assert len(report.outcomes) == 1
    failed = next(iter(report.failures))
    retry = office.sweep(NOW + timedelta(days=30, hours=1))  # retried on the next run, settled first
    assert failed in retry.outcomes
    assert [bank.accounts[ref + "00"].captured for ref in ("DF3", "DF4")] == [Decimal("62.73")] * 2  # once each
    assert bank.captures() == 3  # one call timed out before the bank applied it


def test_a_status_without_amounts_never_concludes_not_applied(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "DA8", "0900159")
    office.capture("DA8", None, NOW, CONSOLE)
    bank.lose_answer_next = 1
    with pytest.raises(BankUnavailableError):
        office.refund("DA8", Decimal("5.00"), NOW, CONSOLE)
    bank.status_without_amounts = True
    with pytest.raises(BankUnavailableError, match="recredits"):
        office.refund("DA8", Decimal("5.00"), LATER, CONSOLE)
    order = aws.store.get("DA8")
    assert order.pending is not None  # still open: a human, or a better status, decides
    assert bank.accounts["DA800"].refunded == Decimal("5.00")


def test_an_undocumented_refund_answer_leaves_the_outcome_open(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "IM2", "0900157")
    bank.accounts["IM200"] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))  # paid at the order
    bank.refund_cdr = 7
    with pytest.raises(BankUnavailableError, match="cdr=7"):
        office.refund("IM2", Decimal("5.00"), NOW, CONSOLE)
    bank.refund_cdr = None
    with pytest.raises(PreviousOperationAppliedError):
        office.refund("IM2", Decimal("5.00"), LATER, CONSOLE)
    order = aws.store.get("IM2")
    assert (order.refunded, order.status) == (Decimal("5.00"), OrderStatus.PARTIALLY_REFUNDED)
    assert bank.accounts["IM200"].refunded == Decimal("5.00")


def test_an_outcome_arriving_after_its_entry_was_closed_is_kept_and_flagged(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    from orders.amounts import plan_capture
    from orders.model import OperationRecord, PendingOperation

    order = paid(aws, lambda_context, "DA9", "0900159")
    pending = PendingOperation("slowcall", plan_capture(order, Decimal("10.00")), NOW, CONSOLE)
    order = aws.store.begin_operation(order, pending)
    settled = OperationRecord("slowcall", pending.plan.event, pending.plan.amount, LATER, "not_applied", actor=CONSOLE)
    aws.store.finish_operation(order, settled, None, "slowcall")  # someone settled it meanwhile
    late = OperationRecord("slowcall", pending.plan.event, Money(Decimal("10.00"), "EUR"), LATER, "done", actor=CONSOLE)
    office._close(order, late, pending.plan)
    after = aws.store.get("DA9")
    assert [op.outcome for op in after.operations] == ["not_applied", "done"]
    assert [r.reason.value for r in after.reviews] == ["operation_conflict"]


# --- dates: the terminal's time zone, the bank's capture day ---------------------------------------------------

MARTINIQUE = {"0900158": {"timezone": "America/Martinique"}}


def test_a_martinique_order_is_dated_in_martinique(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    aws.set_terminals(terminals_config(**MARTINIQUE))
    office = BackOffice(
        aws.store,
        Terminals.from_mapping(terminals_config(**MARTINIQUE)),
        lambda terminal: BankClient(terminal, bank, sleep=lambda _: None),
    )
    late_evening = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)  # Thursday 26 November, 22:30 in Martinique
    stored_order(aws, "MQ1", tpe="0900158", created_at=late_evening)
    confirm(aws, lambda_context, reference="MQ100", tpe="0900158")
    order = aws.store.get("MQ1")
    # Three working days after Thursday 26: the end of Tuesday 1 December, Martinique time.
    assert order.deadline == datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    office.capture("MQ1", None, late_evening + timedelta(hours=1), CONSOLE)
    [(_, fields)] = [(cgi, fields) for cgi, fields in bank.calls if cgi == "capture_paiement.cgi"]
    assert fields["date_commande"] == "26/11/2026"


def test_a_refund_sends_the_banks_capture_day(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "RD1", "0900158")
    bank.today = date(2026, 11, 28)  # the bank books the capture on its own day, not the merchant's
    order = office.capture("RD1", None, NOW, CONSOLE)
    assert order.operations[-1].bank_day == date(2026, 11, 28)
    office.refund("RD1", Decimal("5.00"), NOW + timedelta(days=3), CONSOLE)
    refund = next(fields for cgi, fields in bank.calls if cgi == "recredit_paiement.cgi")
    assert refund["date_remise"] == "28/11/2026"


def test_a_refund_after_the_banks_own_validation_sends_its_capture_day(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "RD2", "0900158")
    deadline_day = date(2026, 12, 3)  # ordered Friday 27: the period ends when Wednesday 2 December does
    bank.accounts["RD200"] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"), captured_on=deadline_day)
    report = office.sweep(NOW + timedelta(days=30))
    assert report.outcomes == {"RD2": "recorded the bank's capture_full"}
    office.refund("RD2", Decimal("5.00"), NOW + timedelta(days=31), CONSOLE)
    refund = next(fields for cgi, fields in bank.calls if cgi == "recredit_paiement.cgi")
    assert refund["date_remise"] == "03/12/2026"
    assert aws.store.get("RD2").refunded == Decimal("5.00")


# --- the sweeper: what the bank did, and what it refused --------------------------------------------------------


def test_the_sweeper_tells_a_validation_in_the_dashboard_from_the_banks_own(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "SD1", "0900158")
    before_the_deadline = date(2026, 11, 30)  # the merchant validated it in the bank's dashboard
    bank.accounts["SD100"] = Account(
        Decimal("62.73"), "EUR", captured=Decimal("62.73"), captured_on=before_the_deadline
    )
    report = office.sweep(NOW + timedelta(days=30))
    assert report.outcomes == {"SD1": "recorded a capture_full done outside the API"}
    order = aws.store.get("SD1")
    assert order.status is OrderStatus.CAPTURED
    assert [(op.outcome, op.bank_day) for op in order.operations] == [("applied_outside_api", before_the_deadline)]


def test_a_refused_end_of_period_capture_is_flagged_once_and_not_resent(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "SR1", "0900158")
    bank.refuse_next = 10  # the bank keeps refusing it
    first = office.sweep(NOW + timedelta(days=30))
    assert first.outcomes["SR1"].startswith("capture_full refused by the bank, flagged for review")
    flagged = aws.store.get("SR1")
    assert [r.reason.value for r in flagged.reviews] == ["end_of_period_refused"]
    assert [op.outcome for op in flagged.operations] == ["refused"]
    for hours in (1, 2, 3):
        later = office.sweep(NOW + timedelta(days=30, hours=hours))
        assert (later.items_read, later.outcomes, later.failures) == (0, {}, {})
    assert aws.store.get("SR1") == flagged  # the item did not grow
    assert bank.captures() == 1


def test_a_cancellation_in_the_banks_dashboard_is_recorded_when_a_capture_is_refused(
    aws: Any, lambda_context: Any, office: BackOffice, bank: FakeBank
) -> None:
    from orders.exceptions import BankStateDifferedError

    paid(aws, lambda_context, "DC1", "0900158")
    bank.accounts["DC100"] = Account(Decimal("62.73"), "EUR", cancelled=True)
    with pytest.raises(BankStateDifferedError, match=r"a cancel of 62\.73 EUR done outside this API"):
        office.capture("DC1", None, NOW, CONSOLE)
    order = aws.store.get("DC1")
    assert (order.status, order.cancelled) == (OrderStatus.CANCELLED, Decimal("62.73"))
    assert [op.outcome for op in order.operations] == ["refused", "applied_outside_api"]
    assert office.sweep(NOW + timedelta(days=30)).items_read == 0  # nothing left for the sweeper
