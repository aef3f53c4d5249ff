"""What CGI2 decides for an acceptance of an order already paid: a second payment, kept apart and to give back,
never a change of the order's state or money; the same one sent again is a replay."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from orders.actors import BANK
from orders.lifecycle import MAX_SECOND_PAYMENTS, Decision, Verdict, decide_confirmation
from orders.model import (
    GIVE_BACK_DUE,
    GIVEN_BACK,
    NOT_GIVEN_BACK,
    OperationRecord,
    Order,
    OrderStatus,
    PaymentSession,
    SecondPayment,
)
from orders.terminals import PaymentMode, Terminals
from sealing import Confirmation, MerchantKey, Money, parse_form, read_confirmation, seal
from tests.support.aws import TEST_KEY, terminals_config

TERMINALS = Terminals.from_mapping(terminals_config())
REFERENCE = "SECOND0001"
FIRST, SECOND = REFERENCE + "00", REFERENCE + "01"
OPENED = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TPE = {PaymentMode.IMMEDIATE: "0900157", PaymentMode.DEFERRED: "0900158"}


def paid(mode: PaymentMode = PaymentMode.IMMEDIATE) -> Order:
    """An order paid under its second session (authorisation 111111)."""
    return Order(
        reference=REFERENCE, tpe=TPE[mode], mode=mode,
        status=OrderStatus.PAID if mode is PaymentMode.IMMEDIATE else OrderStatus.AUTHORIZED,
        amount=Money(Decimal("40.00"), "EUR"), email="", language="FR", created_at=OPENED, checkout_token_hash="",
        sessions=(PaymentSession(0, FIRST, OPENED), PaymentSession(1, SECOND, OPENED + timedelta(hours=1))),
        bank_reference=SECOND, authorisation_number="111111", paid_at=NOW - timedelta(minutes=5),
        captured=Decimal("40.00") if mode is PaymentMode.IMMEDIATE else Decimal(0),
    )  # fmt: skip


def acceptance(order: Order, reference: str, numauto: str, minute: int = 0) -> Confirmation:
    fields = [
        ("TPE", order.tpe), ("date", f"27/11/2026_a_12:{minute:02d}:00"), ("montant", "40.00EUR"),
        ("reference", reference), ("texte-libre", ""), ("code-retour", "payetest"), ("numauto", numauto),
    ]  # fmt: skip
    fields.append(("MAC", seal(MerchantKey(TEST_KEY), fields)))
    return read_confirmation(parse_form(urlencode(fields).encode()))


def decide(order: Order, reference: str, numauto: str, minute: int = 0) -> Decision:
    """CGI2's decision on the bank's acceptance under ``reference`` with that authorisation number."""
    return decide_confirmation(order, acceptance(order, reference, numauto, minute), TERMINALS.get(order.tpe), NOW)


def test_an_acceptance_under_another_session_is_a_second_payment_to_give_back() -> None:
    order = paid()
    decision = decide(order, FIRST, "222222")
    assert (decision.verdict, decision.enters, decision.changes) == (Verdict.FLAGGED, OrderStatus.PAID, {})
    assert decision.second_payment == SecondPayment(
        FIRST, "222222", Money(Decimal("40.00"), "EUR"), NOW, PaymentMode.IMMEDIATE, OPENED,
        decision.attempt.confirmation_id if decision.attempt else "",
    )  # fmt: skip
    assert decision.second_payment.state == GIVE_BACK_DUE
    assert "refunded at the bank automatically" in decision.reviews[0].detail


def test_the_same_second_payment_sent_again_is_a_replay() -> None:
    order = paid()
    first = decide(order, FIRST, "222222")
    assert first.second_payment is not None
    recorded = order.with_changes(second_payments=(first.second_payment,))
    again = decide(recorded, FIRST, "222222", minute=7)  # another date: another MAC, the same payment
    assert again.verdict is Verdict.REPLAY


def test_another_authorisation_under_the_paid_session_is_a_second_payment_too() -> None:
    order = paid()
    decision = decide(order, SECOND, "333333")
    assert decision.second_payment is not None
    assert (decision.second_payment.bank_reference, decision.second_payment.state) == (SECOND, GIVE_BACK_DUE)


def test_a_deferred_authorisation_under_the_paid_reference_is_left_to_the_dashboard() -> None:
    order = paid(PaymentMode.DEFERRED)  # a cancel names the reference alone: it would cancel the paid one too
    decision = decide(order, SECOND, "333333")
    assert decision.second_payment is not None
    assert decision.second_payment.state == NOT_GIVEN_BACK
    assert "cancel that authorisation (333333) in the bank's dashboard" in decision.reviews[0].detail


def test_past_the_bound_a_second_payment_is_flagged_only() -> None:
    order = paid()
    kept = decide(order, FIRST, "222222")
    assert kept.second_payment is not None
    full = order.with_changes(second_payments=(kept.second_payment,) * MAX_SECOND_PAYMENTS)
    decision = decide(full, FIRST, "444444")
    assert decision.second_payment is None
    assert "give it back in the bank's dashboard" in decision.reviews[0].detail


def test_an_authorisation_the_bank_would_not_cancel_is_watched_until_the_bank_captures_or_cancels_it() -> None:
    order = paid(PaymentMode.DEFERRED)
    decision = decide(order, FIRST, "222222")
    assert decision.second_payment is not None
    refused = replace(decision.second_payment, state=NOT_GIVEN_BACK)
    assert (order.watches(refused), order.keeps_giving_back(refused), refused.captured) == (True, True, False)
    capture = OperationRecord(
        "bank-1", "capture_full", refused.amount, NOW, "applied_by_bank", bank_day=NOW.date(), actor=BANK
    )
    captured = replace(refused, state=GIVE_BACK_DUE, bank_capture=capture)
    assert (captured.captured, captured.event, order.watches(captured)) == (True, "refund_full", False)
    assert order.keeps_giving_back(captured)  # due: to refund
    cancelled = replace(refused, state=GIVEN_BACK)
    assert (order.watches(cancelled), order.keeps_giving_back(cancelled)) == (False, False)
    # Under the paid session's reference no call can cancel it alone: a human's, never watched.
    under_paid = replace(refused, bank_reference=SECOND)
    assert (order.gives_back_alone(under_paid), order.watches(under_paid)) == (False, False)
    # An immediate one the bank would not refund is left to the merchant's "refund all", not watched.
    immediate = replace(refused, mode=PaymentMode.IMMEDIATE)
    assert (order.watches(immediate), order.keeps_giving_back(immediate)) == (False, False)
