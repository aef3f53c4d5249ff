"""The transition table, state by event, and the confirmation rules as pure decisions."""

from __future__ import annotations

import itertools

import pytest

from orders.lifecycle import TRANSITIONS, Event, next_status
from orders.model import OrderStatus as S

EXPECTED = {
    (S.AWAITING_PAYMENT, Event.PAYMENT_ACCEPTED): S.PAID,
    (S.AWAITING_PAYMENT, Event.PAYMENT_AUTHORIZED): S.AUTHORIZED,
    (S.AWAITING_PAYMENT, Event.CARD_REGISTERED): S.CARD_REGISTERED,
    (S.AWAITING_PAYMENT, Event.PAYMENT_REFUSED): S.AWAITING_PAYMENT,
    (S.AUTHORIZED, Event.CAPTURE_FULL): S.CAPTURED,
    (S.AUTHORIZED, Event.CANCEL): S.CANCELLED,
    (S.CARD_REGISTERED, Event.CAPTURE_PARTIAL): S.PARTIALLY_CAPTURED,
    (S.CARD_REGISTERED, Event.CAPTURE_FULL): S.CAPTURED,
    (S.CARD_REGISTERED, Event.CANCEL): S.CANCELLED,
    (S.PARTIALLY_CAPTURED, Event.CAPTURE_PARTIAL): S.PARTIALLY_CAPTURED,
    (S.PARTIALLY_CAPTURED, Event.CAPTURE_FULL): S.CAPTURED,
    (S.PARTIALLY_CAPTURED, Event.CANCEL): S.CAPTURED,
    (S.PARTIALLY_CAPTURED, Event.REFUND_PARTIAL): S.PARTIALLY_CAPTURED,
    (S.PARTIALLY_CAPTURED, Event.REFUND_FULL): S.PARTIALLY_CAPTURED,
    (S.PAID, Event.REFUND_PARTIAL): S.PARTIALLY_REFUNDED,
    (S.PAID, Event.REFUND_FULL): S.REFUNDED,
    (S.CAPTURED, Event.REFUND_PARTIAL): S.PARTIALLY_REFUNDED,
    (S.CAPTURED, Event.REFUND_FULL): S.REFUNDED,
    (S.PARTIALLY_REFUNDED, Event.REFUND_PARTIAL): S.PARTIALLY_REFUNDED,
    (S.PARTIALLY_REFUNDED, Event.REFUND_FULL): S.REFUNDED,
}


@pytest.mark.parametrize(("status", "event"), list(itertools.product(S, Event)))
def test_every_state_and_event(status: S, event: Event) -> None:
    assert next_status(status, event) == EXPECTED.get((status, event))


def test_final_states_accept_nothing() -> None:
    for status in (S.CANCELLED, S.REFUNDED):
        assert all(next_status(status, event) is None for event in Event)


def test_the_table_is_the_documented_one() -> None:
    assert TRANSITIONS == EXPECTED
