"""Payment sessions: an order stays payable for as long as it is ``awaiting_payment``.

The bank keeps a payment reference for about 45 minutes and caps the card attempts made under it, and it never
takes a reference it has seen before for a new form. So each trip to the payment page is a session with its own
bank reference: the order's reference (10 characters) and the session's number in two base36 digits. A
confirmation names the bank reference, and its first 10 characters name the order: CGI2 needs no extra read.

**One payable session at a time.** While the bank still takes the current session's reference, every checkout
serves that session's form again, the same fields, date and seal: a buyer with two tabs, or the back button,
pays under one reference, which the bank pays once. A new session is opened only when the bank can no longer
take the current reference:

- its attempts are used: the bank gives a buyer ``CARD_ATTEMPTS_PER_REFERENCE`` card attempts per reference,
  each confirmed to CGI2, so the confirmations received under it are counted; an acceptance under it ends it too;
- or it has been idle longer than the bank keeps a payment page alive (``SESSION_LIFETIME``), since the last
  time the bank may have restarted its clock: a post of its form (the bank restarts its clock on every post)
  or a confirmation received under it (``last_activity``).

The checkout cannot know when the buyer posts the form, only when it served it. Recording that on every view
would cost a write per page, so a served form is recorded (in the session, inside the ``sessions`` attribute,
the one the checkout's role may write besides ``version``) only once the recorded time is ``SERVED_AT_STEP``
old: a checkout at most every few minutes writes, the others only read. The price is the step itself: a form
served after the recorded time may have been posted up to ``SERVED_AT_STEP`` later, so the session is taken
as live for that much longer, never shorter.

Counting reads the attempts the order lists (``lifecycle.MAX_ATTEMPTS_KEPT``) and the last one counted past
them: on an order past that many confirmations, a session whose confirmations are no longer listed ends by its
idle time only. ``session_may_be_live`` is the one definition of "the bank may still take this reference",
for the checkout and the reconciliation alike.

**Every session used.** An order opens at most ``MAX_SESSIONS`` sessions (fewer than the 1,296 numbers of two
base36 digits, so that the order's item stays under DynamoDB's 400 KB whatever happens to it: README, "What one
order can hold"). When the last one is over the order stays ``awaiting_payment``: the checkout page tells the
buyer it can no longer be paid and to contact the merchant, and the last session's ``PaymentSessionOpened``
event said ``sessions_left: 0``.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from .model import Order, OrderStatus, PaymentSession

ORDER_REFERENCE_LENGTH = 10
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_SESSIONS = 400  # what one order opens at most (see "Every session used"); two base36 digits number 1,296
# The bank keeps a payment page alive about 45 minutes after its last post, and gives the buyer 4 card attempts
# per reference (docs/protocol.md, Payment request; the sandbox bank's MAX_ATTEMPTS).
SESSION_LIFETIME = timedelta(minutes=45)
CARD_ATTEMPTS_PER_REFERENCE = 4
# A form served again is recorded once the recorded time is this old (see above).
SERVED_AT_STEP = timedelta(minutes=5)


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


def _confirmations(order: Order, session: PaymentSession) -> list[datetime | None]:
    """When each confirmation of the session's payment (not of a later instalment) was received, and ``None`` for
    an acceptance (it ends the session whenever it came)."""
    heard = [*order.attempts, *([order.last_attempt_not_kept] if order.last_attempt_not_kept else [])]
    return [
        attempt.received_at if attempt.refused else None
        for attempt in heard
        if attempt.bank_reference == session.bank_reference and attempt.instalment is None
    ]


def last_activity(order: Order, session: PaymentSession) -> datetime:
    """The latest time the bank may have restarted its clock for the session's reference: its form served (up to
    ``SERVED_AT_STEP`` after the time recorded) or a confirmation received under it."""
    served = (session.served_at or session.opened_at) + SERVED_AT_STEP
    received = [moment for moment in _confirmations(order, session) if moment is not None]
    return max([served, *received])


def session_may_be_live(order: Order, session: PaymentSession, now: datetime) -> bool:
    """Whether the bank may still take the session's reference: attempts left, none accepted, not idle past
    ``SESSION_LIFETIME`` (see the module's docstring)."""
    confirmations = _confirmations(order, session)
    if None in confirmations or len(confirmations) >= CARD_ATTEMPTS_PER_REFERENCE:
        return False
    return now - last_activity(order, session) < SESSION_LIFETIME


def session_for_checkout(order: Order, now: datetime) -> PaymentSession | None:
    """The session a checkout must use: the current one while the bank may take it (with ``served_at`` moved
    to ``now`` when the recorded time is ``SERVED_AT_STEP`` old: the caller records it), else a new one (not
    yet stored).

    ``None`` when the order cannot be paid any more (not awaiting payment, or every session used), or the bank
    already confirmed an instalment of it: one of its sessions was paid, whose first confirmation is still to come
    (or to be read from the bank's status by the reconciliation).
    """
    if order.status is not OrderStatus.AWAITING_PAYMENT or order.instalment_outcomes:
        return None
    current = order.current_session
    if current is not None and session_may_be_live(order, current, now):
        if now - (current.served_at or current.opened_at) >= SERVED_AT_STEP:
            return replace(current, served_at=now)
        return current
    number = current.number + 1 if current is not None else 0
    if number >= MAX_SESSIONS:
        return None
    return PaymentSession(number, bank_reference(order.reference, number), now)
