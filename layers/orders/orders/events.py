"""Domain events: what changed in an order, derived from the orders table's stream (the outbox), and published.

Every write to an order is one conditional update that raises its ``version`` (but the checkout's record of a form
served again and a mark of its reviews as reviewed, which change nothing an event shows); the table's stream carries
the item before and after it.
``events_of_change`` compares the two images, so an event exists if and only if a write happened: a replayed
confirmation writes nothing and publishes nothing, and a crash after the write leaves the record in the stream for
the consumer to publish. The event id is made of the reference, the version the write produced, the event type and
its position, so a record delivered twice gives the same ids: subscribers deduplicate on ``detail.event_id``.
Schemas: docs/events.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .clients import LazyClient
from .exceptions import EventsUnavailableError
from .model import APPLIED_OUTCOMES, GIVEN_BACK, Attempt, InstalmentState, OperationRecord, Order, OrderStatus, Review
from .sessions import MAX_SESSIONS

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient

SOURCE = "merchant-kit.orders"
SCHEMA_VERSION = 1

ORDER_PAID = "OrderPaid"
ORDER_AUTHORIZED = "OrderAuthorized"
PAYMENT_REFUSED = "PaymentRefused"
ORDER_CAPTURED = "OrderCaptured"
ORDER_CANCELLED = "OrderCancelled"
ORDER_REFUNDED = "OrderRefunded"
ORDER_NEEDS_REVIEW = "OrderNeedsReview"
PAYMENT_SESSION_OPENED = "PaymentSessionOpened"
INSTALMENT_COLLECTED = "InstalmentCollected"
INSTALMENT_REFUSED = "InstalmentRefused"
SECOND_PAYMENT_GIVEN_BACK = "SecondPaymentGivenBack"
EVENT_TYPES = (
    ORDER_PAID,
    ORDER_AUTHORIZED,
    PAYMENT_REFUSED,
    ORDER_CAPTURED,
    ORDER_CANCELLED,
    ORDER_REFUNDED,
    ORDER_NEEDS_REVIEW,
    PAYMENT_SESSION_OPENED,
    INSTALMENT_COLLECTED,
    INSTALMENT_REFUSED,
    SECOND_PAYMENT_GIVEN_BACK,
)

_ENTERED = {
    OrderStatus.PAID: ORDER_PAID,
    OrderStatus.AUTHORIZED: ORDER_AUTHORIZED,
    OrderStatus.CARD_REGISTERED: ORDER_AUTHORIZED,
}
OPERATION_EVENTS = {
    "capture_partial": ORDER_CAPTURED,
    "capture_full": ORDER_CAPTURED,
    "cancel": ORDER_CANCELLED,
    "refund_partial": ORDER_REFUNDED,
    "refund_full": ORDER_REFUNDED,
}
PUT_EVENTS_MAX = 10  # entries per PutEvents call


@dataclass(frozen=True)
class DomainEvent:
    """One event for the bus: ``type`` is its detail-type, ``detail`` its JSON body (no card data)."""

    type: str
    reference: str
    time: datetime
    detail: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.detail["event_id"])

    def entry(self, bus_name: str) -> dict[str, Any]:
        """The PutEvents entry."""
        return {
            "Source": SOURCE,
            "DetailType": self.type,
            "Detail": json.dumps(self.detail, sort_keys=True),
            "EventBusName": bus_name,
            "Time": self.time,
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _common(order: Order, previous: Order | None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "reference": order.reference,
        "bank_reference": order.bank_reference or None,
        "tpe": order.tpe,
        "mode": order.mode.value,
        "status": order.status.value,
        "previous_status": previous.status.value if previous else None,
        "amount": str(order.amount.amount),
        "currency": order.currency,
        "captured": str(order.captured),
        "refunded": str(order.refunded),
        "cancelled": str(order.cancelled),
        "needs_review": bool(order.open_reviews),
    }


def _operation(record: OperationRecord) -> dict[str, Any]:
    return {
        "kind": record.event,
        "amount": str(record.amount.amount),
        "outcome": record.outcome,
        "bank_day": record.bank_day.isoformat() if record.bank_day else None,
        "actor": record.actor.as_json() if record.actor else None,
    }


def _review(review: Review) -> dict[str, Any]:
    return {"reason": review.reason.value, "detail": review.detail}


def _new_attempts(previous: Order | None, order: Order) -> list[Attempt]:
    kept = list(order.attempts[len(previous.attempts) if previous else 0 :])
    counted_before = previous.attempts_not_kept if previous else 0
    if order.attempts_not_kept > counted_before and order.last_attempt_not_kept is not None:
        kept.append(order.last_attempt_not_kept)  # the order was full: this one was counted, not listed
    return kept


def _money_changes(previous: Order | None, order: Order) -> Iterable[tuple[str, datetime, dict[str, Any]]]:
    """The money a write moved besides the payment: operations done, later instalments, second payments given back."""
    old_operations = len(previous.operations) if previous else 0
    for record in order.operations[old_operations:]:
        kind = OPERATION_EVENTS.get(record.event)
        if kind and record.outcome in APPLIED_OUTCOMES:
            yield kind, record.at, {"operation": _operation(record)}
    for outcome in order.instalment_outcomes:
        # A later instalment the bank collected or refused (the first is the order's own payment, OrderPaid).
        if outcome.number > 1 and (previous is None or previous.instalment_outcome(outcome.number) != outcome):
            kind = INSTALMENT_COLLECTED if outcome.state is InstalmentState.COLLECTED else INSTALMENT_REFUSED
            yield kind, outcome.at, {"instalment": order.instalments_json()[outcome.number - 1]}
    before = previous.second_payments if previous else ()
    for index, payment in enumerate(order.second_payments):
        was_given_back = index < len(before) and before[index].state == GIVEN_BACK
        if payment.state == GIVEN_BACK and not was_given_back and payment.outcome is not None:
            yield SECOND_PAYMENT_GIVEN_BACK, payment.outcome.at, {"second_payment": payment.as_json()}


def _changes(previous: Order | None, order: Order) -> Iterable[tuple[str, datetime, dict[str, Any]]]:
    """(type, time, specific detail) of every change from ``previous`` (None: a new item) to ``order``."""
    old_sessions = len(previous.sessions) if previous else 0
    for session in order.sessions[old_sessions:]:
        left = MAX_SESSIONS - 1 - session.number  # 0: once it is over, the order can no longer be paid
        yield PAYMENT_SESSION_OPENED, session.opened_at, {"session": session.as_json(), "sessions_left": left}
    attempts = _new_attempts(previous, order)
    entered = _ENTERED.get(order.status) if previous and previous.status is not order.status else None
    # A refusal says the order stays payable: one that arrives once it is paid (confirmations are not ordered) is
    # recorded in its attempts and publishes nothing.
    payable = order.status is OrderStatus.AWAITING_PAYMENT
    for attempt in attempts:
        if entered and not attempt.refused and attempt.instalment is None:
            detail = {"attempt": attempt.as_json(), "authorisation_number": order.authorisation_number}
            yield entered, attempt.received_at, detail
            entered = None
        elif attempt.refused and attempt.instalment is None and payable:
            yield PAYMENT_REFUSED, attempt.received_at, {"attempt": attempt.as_json()}
    if entered:  # entered without a confirmation of its own (set right from the bank's status)
        yield entered, order.paid_at or order.created_at, {"authorisation_number": order.authorisation_number}
    yield from _money_changes(previous, order)
    old_reviews = len(previous.reviews) if previous else 0
    for review in order.reviews[old_reviews:]:
        yield ORDER_NEEDS_REVIEW, review.at, {"review": _review(review)}


def events_of_change(previous: Order | None, order: Order) -> list[DomainEvent]:
    """The events one write produced: ``previous`` and ``order`` are the stream record's old and new images."""
    events = []
    for position, (kind, time, specific) in enumerate(_changes(previous, order)):
        detail = {
            **_common(order, previous),
            **specific,
            "event_id": f"{order.reference}/{order.version}/{position}/{kind}",
            "time": _iso(time),
        }
        events.append(DomainEvent(kind, order.reference, time, detail))
    return events


class EventPublisher:
    """The orders' EventBridge bus. ``publish`` succeeds for every event or raises ``EventsUnavailableError``."""

    client: LazyClient[EventBridgeClient] = LazyClient("events")

    def __init__(self, bus_name: str, client: EventBridgeClient | None = None) -> None:
        self.bus_name = bus_name
        self._client = client

    def publish(self, events: Sequence[DomainEvent]) -> None:
        # A partly failed batch is sent again whole by the caller: subscribers deduplicate on event_id.
        for start in range(0, len(events), PUT_EVENTS_MAX):
            batch = events[start : start + PUT_EVENTS_MAX]
            try:
                answer = self.client.put_events(Entries=[event.entry(self.bus_name) for event in batch])  # type: ignore[misc]
            except (ClientError, BotoCoreError) as exc:
                raise EventsUnavailableError(f"EventBridge PutEvents failed: {exc}") from exc
            failed = [e for e in answer.get("Entries", []) if e.get("ErrorCode")]
            if answer.get("FailedEntryCount", 0) or failed:
                codes = ", ".join(sorted({str(e.get("ErrorCode")) for e in failed})) or "unknown"
                raise EventsUnavailableError(f"EventBridge refused {len(failed)} of {len(batch)} events ({codes})")
