"""Payment sessions: an order stays payable for as long as it is ``awaiting_payment``.

The bank keeps a payment reference for about 45 minutes and caps the card attempts made under it, and it never
takes a reference it has seen before for a new form. So each trip to the payment page is a session with its own
bank reference: the order's reference (10 characters) and the session's number in two base36 digits. A
confirmation names the bank reference, and its first 10 characters name the order: CGI2 needs no extra read.

A checkout reuses the current session while the bank could still take its reference and nothing came back for it;
otherwise it opens the next one.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from .model import Order, OrderStatus, PaymentSession

ORDER_REFERENCE_LENGTH = 10
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_SESSIONS = len(_ALPHABET) ** 2  # two base36 digits
# The bank gives a buyer about 45 minutes on its page; a session is not reused after that.
SESSION_LIFETIME = timedelta(minutes=45)


def base36(number: int, width: int) -> str:
    digits = ""
    for _ in range(width):
        number, digit = divmod(number, 36)
        digits = _ALPHABET[digit] + digits
    return digits


_EPOCH = 1577836800  # 2020-01-01T00:00:00Z: a reference's time part counts seconds from here


def new_order_reference(now: datetime) -> str:
    """A fresh order reference: 6 base36 digits of time and 4 random ones (1.6 million a second).

    No counter item is shared by all orders: uniqueness comes from the order's conditional put, and the rare
    collision is retried with new random digits. Six digits of seconds last until 2089.
    """
    seconds = max(int(now.timestamp()) - _EPOCH, 0)
    return base36(seconds, 6) + base36(secrets.randbelow(36**4), 4)


def bank_reference(order_reference: str, number: int) -> str:
    return order_reference + base36(number, 2)


def order_reference_of(reference: str) -> str | None:
    """The order a bank reference belongs to (all but its last two characters), or ``None`` when it cannot be a
    session's reference."""
    if len(reference) < 3 or not reference.isascii() or not reference.isalnum():
        return None
    return reference[:-2]


def first_session(order_reference: str, now: datetime) -> PaymentSession:
    return PaymentSession(0, bank_reference(order_reference, 0), now)


def _heard_back(order: Order, session: PaymentSession) -> bool:
    """Whether the bank sent anything under the session's reference (a refusal ends the buyer's trip)."""
    heard = [*order.attempts, *([order.last_attempt_not_kept] if order.last_attempt_not_kept else [])]
    return any(attempt.bank_reference == session.bank_reference for attempt in heard)


def session_for_checkout(order: Order, now: datetime) -> PaymentSession | None:
    """The session a checkout must use: the current one if still usable, else a new one (not yet stored).

    ``None`` when the order cannot be paid any more (not awaiting payment, or every session number is used).
    """
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return None
    current = order.current_session
    if current is not None and now - current.opened_at < SESSION_LIFETIME and not _heard_back(order, current):
        return current
    number = current.number + 1 if current is not None else 0
    if number >= MAX_SESSIONS:
        return None
    return PaymentSession(number, bank_reference(order.reference, number), now)
