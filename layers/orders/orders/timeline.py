"""An order's timeline: everything the kit knows happened to it, oldest first, each entry with its time, who did it
and what it said — as the console's order page shows it.

Read with two requests: the order's item (its sessions, attempts, operations and their actors, instalments, second
payments, reviews) and its mails (``OrderStore.mails_of``: one query under ``MAIL#<reference>``).

The events an entry published are derived from the order, as the stream consumer derives them from each write
(``orders.events``): every change it publishes an event for is on the order, so the entry names that event's type.
Their deliveries to the shop's webhook are made by EventBridge's API destination, which the kit does not see one by
one: the timeline does not list them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sealing import Money

from . import events
from .actors import Actor
from .model import APPLIED_OUTCOMES, GIVEN_BACK, InstalmentState, MailRecord, Order
from .terminals import PaymentMode


class Kind(enum.Enum):
    CREATED = "created"
    SESSION_OPENED = "session_opened"
    SESSION_SERVED = "session_served"
    ATTEMPT = "attempt"  # a confirmation the bank sent: accepted or refused, with its return code and reason
    PAYMENT_CONFIRMED = "payment_confirmed"
    INSTALMENT = "instalment"
    OPERATION = "operation"  # a capture, cancel or refund as it ended
    OPERATION_PENDING = "operation_pending"  # asked of the bank, its outcome not recorded yet
    SECOND_PAYMENT = "second_payment"
    SECOND_PAYMENT_GIVEN_BACK = "second_payment_given_back"
    REVIEW = "review"
    MAIL = "mail"


class Party(enum.Enum):
    """Who did what an entry says, when no actor is recorded for it."""

    SHOP = "shop"  # the shop's backend (it created the order)
    BUYER = "buyer"  # the buyer, on the checkout page or the bank's payment page
    BANK = "bank"  # the bank's confirmation
    KIT = "kit"  # the kit itself (reviews, mails)
    ACTOR = "actor"  # the entry's actor (an operation's)


@dataclass(frozen=True)
class Entry:
    kind: Kind
    at: datetime
    who: Party
    details: dict[str, str] = field(default_factory=dict)
    actor: Actor | None = None
    event: str | None = None  # the type of the order event this change published


@dataclass(frozen=True)
class Timeline:
    entries: list[Entry]
    attempts_not_kept: int  # confirmations counted but not listed (the order holds as many as it can)


def _attempt_entries(order: Order) -> list[Entry]:
    entries = []
    for attempt in order.attempts:
        event = None
        if (
            attempt.instalment is None
            and attempt.refused
            and (order.paid_at is None or attempt.received_at < order.paid_at)
        ):
            event = events.PAYMENT_REFUSED  # refused while the order was payable
        details = {
            "return_code": attempt.return_code,
            "outcome": "refused" if attempt.refused else "accepted",
            "reason": attempt.reason,
            "bank_reference": attempt.bank_reference,
            "amount": attempt.amount,
            "card_brand": attempt.card_brand,
            "authorisation_number": attempt.authorisation_number,
            "instalment": str(attempt.instalment or ""),
        }
        entries.append(Entry(Kind.ATTEMPT, attempt.received_at, Party.BUYER, details, event=event))
    return entries


def _payment_entries(order: Order) -> list[Entry]:
    entries = [Entry(Kind.CREATED, order.created_at, Party.SHOP, {"amount": str(order.amount.amount)})]
    for session in order.sessions:
        opened = {"number": str(session.number), "bank_reference": session.bank_reference}
        entries.append(
            Entry(Kind.SESSION_OPENED, session.opened_at, Party.BUYER, opened, event=events.PAYMENT_SESSION_OPENED)
        )
        if session.served_at is not None:
            entries.append(Entry(Kind.SESSION_SERVED, session.served_at, Party.BUYER, opened))
    entries.extend(_attempt_entries(order))
    if order.paid_at is not None:
        event = events.ORDER_PAID if order.mode is PaymentMode.IMMEDIATE else events.ORDER_AUTHORIZED
        details = {"mode": order.mode.value, "authorisation_number": order.authorisation_number}
        if order.deadline is not None:
            details["deadline"] = order.deadline.isoformat()
        entries.append(Entry(Kind.PAYMENT_CONFIRMED, order.paid_at, Party.BANK, details, event=event))
    for outcome in order.instalment_outcomes:
        if outcome.number == 1:
            continue  # the first instalment is the payment itself
        collected = outcome.state is InstalmentState.COLLECTED
        details = {"number": str(outcome.number), "state": outcome.state.value}
        event = events.INSTALMENT_COLLECTED if collected else events.INSTALMENT_REFUSED
        entries.append(Entry(Kind.INSTALMENT, outcome.at, Party.BANK, details, event=event))
    return entries


def _money(amount: Money) -> dict[str, str]:
    return {"amount": str(amount.amount), "currency": amount.currency}


def _operation_entries(order: Order) -> list[Entry]:
    entries = []
    for record in order.operations:
        details = {
            "operation": record.event,
            **_money(record.amount),
            "outcome": record.outcome,
            "detail": record.detail,
        }
        event = events.OPERATION_EVENTS.get(record.event) if record.outcome in APPLIED_OUTCOMES else None
        entries.append(Entry(Kind.OPERATION, record.at, Party.ACTOR, details, record.actor, event))
    if order.pending is not None:
        plan = order.pending.plan
        details = {"operation": plan.event, **_money(plan.amount)}
        entries.append(
            Entry(Kind.OPERATION_PENDING, order.pending.started_at, Party.ACTOR, details, order.pending.actor)
        )
    for payment in order.second_payments:
        details = {"bank_reference": payment.bank_reference, **_money(payment.amount), "state": payment.state}
        entries.append(Entry(Kind.SECOND_PAYMENT, payment.received_at, Party.BANK, details))
        if payment.state == GIVEN_BACK and payment.outcome is not None:
            given = {**details, "operation": payment.outcome.event, "outcome": payment.outcome.outcome}
            entries.append(
                Entry(
                    Kind.SECOND_PAYMENT_GIVEN_BACK, payment.outcome.at, Party.ACTOR, given, payment.outcome.actor,
                    events.SECOND_PAYMENT_GIVEN_BACK,
                )
            )  # fmt: skip
    for review in order.reviews:
        details = {"reason": review.reason.value, "detail": review.detail}
        entries.append(Entry(Kind.REVIEW, review.at, Party.KIT, details, event=events.ORDER_NEEDS_REVIEW))
    return entries


def _mail_entries(mails: list[MailRecord]) -> list[Entry]:
    entries = []
    for mail in mails:
        details = {"recipient": mail.kind, "event": mail.event_id.rsplit("/", 1)[-1], "rejected": mail.rejected or ""}
        entries.append(Entry(Kind.MAIL, mail.at, Party.KIT, details))
    return entries


def timeline(order: Order, mails: list[MailRecord]) -> Timeline:
    """The order's entries, oldest first (entries of one moment in the order things happen: the payment before the
    event it published, the operation before its review)."""
    entries = [*_payment_entries(order), *_operation_entries(order), *_mail_entries(mails)]
    order_of = {kind: position for position, kind in enumerate(Kind)}
    entries.sort(key=lambda entry: (entry.at, order_of[entry.kind]))
    return Timeline(entries, order.attempts_not_kept)
