"""When the bank may still take a payment session's reference (``orders.sessions``), on orders built in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orders.model import Attempt, Order, OrderStatus, PaymentSession
from orders.sessions import (
    CARD_ATTEMPTS_PER_REFERENCE,
    SERVED_AT_STEP,
    SESSION_LIFETIME,
    last_activity,
    session_for_checkout,
    session_may_be_live,
)
from orders.terminals import PaymentMode
from sealing import Money

OPENED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SESSION = PaymentSession(0, "ABCDEFGHIJ00", OPENED)


def order(*attempts: Attempt, session: PaymentSession = SESSION) -> Order:
    return Order(
        "ABCDEFGHIJ", "0900157", PaymentMode.IMMEDIATE, OrderStatus.AWAITING_PAYMENT, Money(Decimal("62.73"), "EUR"),
        "buyer@example.com", "FR", OPENED, "0" * 64, attempts=attempts, sessions=(session,),
    )  # fmt: skip


def heard(code: str, minutes: int, reference: str = "ABCDEFGHIJ00", instalment: int | None = None) -> Attempt:
    return Attempt(code, OPENED + minutes * MINUTE, bank_reference=reference, instalment=instalment)


def test_the_banks_clock_restarts_at_the_last_form_served_or_confirmation_received() -> None:
    assert last_activity(order(), SESSION) == OPENED + SERVED_AT_STEP  # a form served since is not recorded
    served = PaymentSession(0, "ABCDEFGHIJ00", OPENED, OPENED + 40 * MINUTE)
    assert last_activity(order(session=served), served) == OPENED + 40 * MINUTE + SERVED_AT_STEP
    assert last_activity(order(heard("Annulation", 60)), SESSION) == OPENED + 60 * MINUTE
    # Another session's confirmation, or a later instalment's, says nothing of this reference's page.
    others = order(heard("Annulation", 60, "ABCDEFGHIJ01"), heard("Annulation_pf2", 70, instalment=2))
    assert last_activity(others, SESSION) == OPENED + SERVED_AT_STEP


def test_a_session_ends_with_its_attempts_an_acceptance_or_its_idle_time() -> None:
    soon = OPENED + 10 * MINUTE
    refusals = [heard("Annulation", n) for n in range(CARD_ATTEMPTS_PER_REFERENCE)]
    assert session_may_be_live(order(*refusals[:-1]), SESSION, soon)
    assert not session_may_be_live(order(*refusals), SESSION, soon)
    assert not session_may_be_live(order(heard("paiement", 1)), SESSION, soon)  # even one the order did not take
    assert session_may_be_live(order(), SESSION, OPENED + SERVED_AT_STEP + SESSION_LIFETIME - MINUTE)
    assert not session_may_be_live(order(), SESSION, OPENED + SERVED_AT_STEP + SESSION_LIFETIME)


def test_a_checkout_records_the_form_served_only_once_the_recorded_time_is_a_step_old() -> None:
    assert session_for_checkout(order(), OPENED + SERVED_AT_STEP - MINUTE) == SESSION
    later = OPENED + SERVED_AT_STEP
    assert session_for_checkout(order(), later) == PaymentSession(0, "ABCDEFGHIJ00", OPENED, later)
    refusals = [heard("Annulation", n) for n in range(CARD_ATTEMPTS_PER_REFERENCE)]
    assert session_for_checkout(order(*refusals), later) == PaymentSession(1, "ABCDEFGHIJ01", later)
