"""What happens to an order: the transition table and the rules for a confirmation (docs/protocol.md, Confirmation).

Everything here is pure: it decides, the store writes. A decision names the state the order leaves so the
write can be conditional on it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sealing import Confirmation, Outcome, canonical_mac

from .calendar import deferral_deadline, local_day, zone
from .model import (
    NOT_GIVEN_BACK,
    Attempt,
    InstalmentOutcome,
    InstalmentState,
    Order,
    OrderStatus,
    PaymentSession,
    Review,
    ReviewReason,
    SecondPayment,
)
from .terminals import PaymentMode, TerminalConfig


class Event(enum.Enum):
    PAYMENT_ACCEPTED = "payment_accepted"  # immediate terminal: authorised and captured
    PAYMENT_AUTHORIZED = "payment_authorized"  # deferred payment: authorised, captured later
    CARD_REGISTERED = "card_registered"  # deferred authorisation: authorised at each validation
    PAYMENT_REFUSED = "payment_refused"
    CAPTURE_PARTIAL = "capture_partial"
    CAPTURE_FULL = "capture_full"
    CANCEL = "cancel"
    REFUND_PARTIAL = "refund_partial"
    REFUND_FULL = "refund_full"


S, E = OrderStatus, Event
TRANSITIONS: dict[tuple[OrderStatus, Event], OrderStatus] = {
    (S.AWAITING_PAYMENT, E.PAYMENT_ACCEPTED): S.PAID,
    (S.AWAITING_PAYMENT, E.PAYMENT_AUTHORIZED): S.AUTHORIZED,
    (S.AWAITING_PAYMENT, E.CARD_REGISTERED): S.CARD_REGISTERED,
    (S.AWAITING_PAYMENT, E.PAYMENT_REFUSED): S.AWAITING_PAYMENT,  # an order survives a refused card
    (S.AUTHORIZED, E.CAPTURE_FULL): S.CAPTURED,
    (S.AUTHORIZED, E.CANCEL): S.CANCELLED,
    (S.CARD_REGISTERED, E.CAPTURE_PARTIAL): S.PARTIALLY_CAPTURED,
    (S.CARD_REGISTERED, E.CAPTURE_FULL): S.CAPTURED,
    (S.CARD_REGISTERED, E.CANCEL): S.CANCELLED,
    (S.PARTIALLY_CAPTURED, E.CAPTURE_PARTIAL): S.PARTIALLY_CAPTURED,
    (S.PARTIALLY_CAPTURED, E.CAPTURE_FULL): S.CAPTURED,
    (S.PARTIALLY_CAPTURED, E.CANCEL): S.CAPTURED,  # what was captured stays captured; the rest is cancelled
    # What was captured can be refunded while the rest is still authorised (docs/protocol.md, Payment modes: refunds).
    (S.PARTIALLY_CAPTURED, E.REFUND_PARTIAL): S.PARTIALLY_CAPTURED,
    (S.PARTIALLY_CAPTURED, E.REFUND_FULL): S.PARTIALLY_CAPTURED,
    (S.PAID, E.REFUND_PARTIAL): S.PARTIALLY_REFUNDED,
    (S.PAID, E.REFUND_FULL): S.REFUNDED,
    (S.CAPTURED, E.REFUND_PARTIAL): S.PARTIALLY_REFUNDED,
    (S.CAPTURED, E.REFUND_FULL): S.REFUNDED,
    (S.PARTIALLY_REFUNDED, E.REFUND_PARTIAL): S.PARTIALLY_REFUNDED,
    (S.PARTIALLY_REFUNDED, E.REFUND_FULL): S.REFUNDED,
}
del S, E


def next_status(status: OrderStatus, event: Event) -> OrderStatus | None:
    """The state after ``event``, or ``None`` when the table does not allow it.

    One refinement lives in the bookkeeping: an order that reaches ``captured`` after part of it was already
    refunded (refunds while partially captured) enters ``partially_refunded`` or ``refunded`` instead.
    """
    return TRANSITIONS.get((status, event))


_ACCEPTANCE_BY_MODE = {
    PaymentMode.IMMEDIATE: Event.PAYMENT_ACCEPTED,
    PaymentMode.DEFERRED: Event.PAYMENT_AUTHORIZED,
    PaymentMode.DEFERRED_AUTHORIZATION: Event.CARD_REGISTERED,
}


class Verdict(enum.Enum):
    """What the confirmation did, for logs and metrics."""

    REPLAY = "replay"  # seen before: nothing to write
    ACCEPTED = "accepted"
    REFUSED = "refused"
    INSTALMENT = "instalment"
    FLAGGED = "flagged"  # recorded, not applied, marked for review


@dataclass(frozen=True)
class Presumption:
    """What CGI2 takes for granted about an order it has not read, so that a first confirmation costs one call.

    The usual order a confirmation finds: awaiting payment on that terminal and mode, for the amount and
    currency the bank confirmed, with the confirmation's session at its number, nothing seen under that MAC,
    room for one more attempt and review. A deferred acceptance also presumes the session was opened on the
    confirmation's local day (its deadline counts from that day). The store writes the decision made on
    ``order`` on exactly these conditions, and gets the real item back when one of them does not hold.
    """

    order: Order
    session_number: int
    opened_from: datetime  # the local day the session is presumed opened on, as UTC bounds
    opened_until: datetime


@dataclass(frozen=True)
class Decision:
    """The outcome of a confirmation for one order: what to append and where the order goes."""

    verdict: Verdict
    leaves: OrderStatus
    enters: OrderStatus
    attempt: Attempt | None = None
    reviews: tuple[Review, ...] = ()
    changes: dict[str, object] = field(default_factory=dict)
    # The order keeps as many attempts as it can hold: this one is counted (``attempts_not_kept``), not kept.
    counted_only: bool = False
    # Made on a presumed order (one call, no read): written only if the presumption holds.
    presumed: Presumption | None = None
    # A payment accepted once the order was paid: kept as its own entry, to give back (never the order's books).
    second_payment: SecondPayment | None = None

    @property
    def writes(self) -> bool:
        return self.attempt is not None


# What one order keeps, whatever is sent to it: past these, a refusal or a flagged copy is counted, not kept,
# so that no sequence of confirmations can grow the item towards DynamoDB's 400 KB and block a real payment.
MAX_ATTEMPTS_KEPT = 100
MAX_REVIEWS_KEPT = 50
MAX_TEXT_KEPT = 200  # a sealed value the bank sends is short; never store more UTF-8 bytes of one than this
# Each second payment is a real debit the bank accepted, so this is never reached by a buyer; past it a second
# payment is flagged for review only, not given back by itself.
MAX_SECOND_PAYMENTS = 20


def confirmation_id(confirmation: Confirmation) -> str:
    """The identity of one confirmation: its MAC in its one spelling (40 lower-case hex digits).

    The MAC seals every field the bank sent, and the order's reference and terminal are in them; a padded or
    re-cased copy of the same MAC is the same confirmation (and a padded one never passes the seal check).
    """
    mac = confirmation.field("MAC") or ""
    return canonical_mac(mac) or mac.strip().lower()[:40]


def presume(
    order_reference: str, confirmation: Confirmation, terminal: TerminalConfig, received_at: datetime
) -> Presumption | None:
    """The order a first confirmation usually finds (see ``Presumption``); ``None`` when the bank reference
    names no session number (the order must be read)."""
    try:
        number = int(confirmation.reference[len(order_reference) :], 36)
    except ValueError:
        return None
    timezone = terminal.terminal.timezone
    day = local_day(received_at, timezone)
    opened_from = datetime.combine(day, time(0, 0), tzinfo=zone(timezone))
    opened_until = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone(timezone))
    order = Order(
        reference=order_reference,
        tpe=terminal.tpe,
        mode=terminal.mode,
        status=OrderStatus.AWAITING_PAYMENT,
        amount=confirmation.amount,
        email="",
        language="",
        created_at=received_at,
        checkout_token_hash="",
        sessions=(PaymentSession(number, confirmation.reference, received_at),),
    )
    return Presumption(order, number, opened_from, opened_until)


def _short(text: str) -> str:
    """At most ``MAX_TEXT_KEPT`` bytes of ``text`` in UTF-8, cut between characters."""
    return text.encode()[:MAX_TEXT_KEPT].decode(errors="ignore")


def decide_confirmation(
    order: Order, confirmation: Confirmation, terminal: TerminalConfig, received_at: datetime
) -> Decision:
    """Apply the confirmation rules to ``order`` without touching storage."""
    identity = confirmation_id(confirmation)
    if identity in order.confirmation_ids:
        return Decision(Verdict.REPLAY, order.status, order.status)
    code = confirmation.return_code
    attempt = Attempt(
        return_code=str(code),
        received_at=received_at,
        reason=_short(confirmation.refusal_reason or confirmation.authorisation_refusal_reason),
        authorisation_number=_short(confirmation.authorisation_number),
        card_brand=_short(confirmation.card_brand),
        amount=confirmation.field("montant") or "",  # as the bank wrote it, in any currency
        instalment=code.instalment,
        confirmation_id=identity,
        bank_reference=confirmation.reference,
        card_saved=confirmation.card_saved,
    )
    full = len(order.attempts) >= MAX_ATTEMPTS_KEPT

    def flag(reason: ReviewReason, detail: str, *, money_moved: bool = True) -> Decision:
        # An acceptance a human must look at is always listed (the buyer was debited), however full the order;
        # a refused instalment is counted once the list is full.
        if (full and not money_moved) or len(order.reviews) >= MAX_REVIEWS_KEPT:
            return Decision(Verdict.FLAGGED, order.status, order.status, attempt, counted_only=True)
        review = Review(reason, received_at, detail)
        return Decision(Verdict.FLAGGED, order.status, order.status, attempt, (review,))

    if code.instalment is not None:
        return _instalment(order, confirmation, terminal, attempt, full, flag)
    if code.outcome is Outcome.REFUSED:
        return Decision(Verdict.REFUSED, order.status, order.status, attempt, counted_only=full)
    if confirmation.is_test_payment and not terminal.terminal.is_test:
        return flag(ReviewReason.TEST_PAYMENT_ON_PRODUCTION, "payetest received on a production terminal")
    if confirmation.amount != order.amount:
        return flag(ReviewReason.AMOUNT_MISMATCH, f"bank confirmed {confirmation.amount}, order is {order.amount}")
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        if known_payment(order, confirmation.reference, confirmation.authorisation_number):
            return Decision(Verdict.REPLAY, order.status, order.status)
        return second_payment(order, attempt)

    day = _bank_day(confirmation, received_at, terminal)
    enters, changes = acceptance(
        order, terminal, confirmation.reference, confirmation.authorisation_number, received_at, day, identity
    )
    return Decision(Verdict.ACCEPTED, order.status, enters, attempt, changes=changes)


def known_payment(order: Order, bank_reference: str, authorisation_number: str) -> bool:
    """Whether an acceptance under ``bank_reference`` is a payment the order holds already (sent again, another
    date). Under another session it is another payment, whatever its authorisation number (the issuer's 6
    characters). Under the same one it is another only when both authorisation numbers are known and differ: a
    payment recorded from the bank's status may have none (its late confirmation then brings one), and an
    acceptance without one cannot be told from the payment it names, nor given back apart from it."""
    known = [(order.bank_payment_reference, order.authorisation_number)]
    known += [(p.bank_reference, p.authorisation_number) for p in order.second_payments]
    return any(
        reference == bank_reference and (number == authorisation_number or not number or not authorisation_number)
        for reference, number in known
    )


def _instalment(
    order: Order,
    confirmation: Confirmation,
    terminal: TerminalConfig,
    attempt: Attempt,
    full: bool,
    flag: Callable[..., Decision],
) -> Decision:
    """``paiement_pfN`` / ``Annulation_pfN``: one the schedule lacks, or another session's, is flagged; the paid
    schedule's is recorded (``_later_instalment``)."""
    code = confirmation.return_code
    assert code.instalment is not None
    refused = code.outcome is Outcome.REFUSED
    did = "refused" if refused else "collected"
    if code.instalment > len(order.instalments):
        detail = f"the bank {did} instalment {code.instalment}; the order has {len(order.instalments)}"
        return flag(ReviewReason.UNKNOWN_INSTALMENT, detail, money_moved=not refused)
    if order.bank_reference and confirmation.reference != order.bank_reference:
        # Another session's schedule (a split payment paid twice): never the paid one's instalment.
        detail = f"the bank {did} instalment {code.instalment} under"
        detail += f" {confirmation.reference}, not the paid {order.bank_reference}: not the order's"
        if not refused:
            detail += "; refund it and stop that reference's instalments in the bank's dashboard"
        return flag(ReviewReason.SECOND_ACCEPTANCE, detail, money_moved=not refused)
    return _later_instalment(order, confirmation, terminal, attempt, full)


def _bank_day(confirmation: Confirmation, received_at: datetime, terminal: TerminalConfig) -> date:
    """The day the bank says it took the payment (its ``date``, in the terminal's zone), else the day received."""
    if confirmation.paid_at is not None:
        return confirmation.paid_at.date()
    return local_day(received_at, terminal.terminal.timezone)


def acceptance(
    order: Order,
    terminal: TerminalConfig,
    bank_reference: str,
    authorisation_number: str,
    at: datetime,
    day: date,
    source: str,
) -> tuple[OrderStatus, dict[str, object]]:
    """The state an order awaiting payment enters when the bank accepts ``bank_reference``, and what is written.

    An immediate payment is captured in full; a split one captures its first instalment only (the others as
    the bank collects them, on their days); a deferred one gets its deadline. ``source`` names the confirmation
    (or the bank's status) that said so.
    """
    event = _ACCEPTANCE_BY_MODE[order.mode]
    enters = next_status(order.status, event)
    assert enters is not None  # awaiting_payment accepts every acceptance event
    changes: dict[str, object] = {
        "bank_reference": bank_reference,
        "authorisation_number": authorisation_number,
        "paid_at": at,
    }
    if order.instalments and event is Event.PAYMENT_ACCEPTED:
        first = InstalmentOutcome(1, InstalmentState.COLLECTED, at, day, authorisation_number, source)
        changes.update(_with_outcome(order, first))
        changes["captured"] = order.captured + order.instalments[0].amount.amount
    elif event is Event.PAYMENT_ACCEPTED:
        changes["captured"] = order.amount.amount
    else:
        # The bank counts the period from the order date of the form the buyer paid (the session's).
        session = order.session(bank_reference)
        ordered_at = session.opened_at if session else order.created_at
        changes["deadline"] = deferral_deadline(ordered_at, terminal.deferral_days, terminal.terminal.timezone)
    return enters, changes


def _with_outcome(order: Order, outcome: InstalmentOutcome) -> dict[str, object]:
    """The change that records ``outcome`` among the order's instalment outcomes."""
    outcomes = (*(o for o in order.instalment_outcomes if o.number != outcome.number), outcome)
    return {"instalment_outcomes": tuple(sorted(outcomes, key=lambda o: o.number))}


def instalment_collected(
    order: Order, number: int, at: datetime, day: date, authorisation_number: str, source: str
) -> tuple[OrderStatus, dict[str, object]]:
    """The state and the changes when the bank collected later instalment ``number`` (booked on ``day``)."""
    outcome = InstalmentOutcome(number, InstalmentState.COLLECTED, at, day, authorisation_number, source)
    changes = _with_outcome(order, outcome)
    if order.books_instalments:
        changes["captured"] = order.captured + order.instalments[number - 1].amount.amount
    # The order keeps its state: paid from its first instalment on (refunds of it made while instalments were
    # due are partial ones), or still awaiting the confirmation of its first, which decides it.
    return order.status, changes


def _later_instalment(
    order: Order, confirmation: Confirmation, terminal: TerminalConfig, attempt: Attempt, full: bool
) -> Decision:
    """``paiement_pfN`` / ``Annulation_pfN``: instalment N collected (a capture on the bank's day) or refused."""
    number = confirmation.return_code.instalment
    assert number is not None
    at = attempt.received_at
    state = order.instalment_state(number)
    refused = confirmation.return_code.outcome is Outcome.REFUSED
    if state is InstalmentState.COLLECTED or (refused and state is InstalmentState.REFUSED):
        # Another copy of what the bank said already (a refusal after a collection moves no money either).
        if refused and state is InstalmentState.COLLECTED:
            return Decision(Verdict.INSTALMENT, order.status, order.status, attempt, counted_only=full)
        return Decision(Verdict.REPLAY, order.status, order.status)
    expected = order.instalments[number - 1].amount
    said = confirmation.instalment_amount
    if not refused and said is not None and said != expected:
        detail = f"the bank collected {said} for instalment {number}, the schedule says {expected}"
        return _flagged(order, attempt, Review(ReviewReason.AMOUNT_MISMATCH, at, detail))
    if refused:
        outcome = InstalmentOutcome(number, InstalmentState.REFUSED, at, confirmation_id=attempt.confirmation_id)
        review = Review(ReviewReason.INSTALMENT_REFUSED, at, f"instalment {number} of {expected} was refused")
        reviews = (review,) if len(order.reviews) < MAX_REVIEWS_KEPT else ()
        changes = _with_outcome(order, outcome)
        return Decision(Verdict.FLAGGED, order.status, order.status, attempt, reviews, changes, counted_only=full)
    day = _bank_day(confirmation, at, terminal)
    enters, changes = instalment_collected(
        order, number, at, day, confirmation.authorisation_number, attempt.confirmation_id
    )
    return Decision(Verdict.INSTALMENT, order.status, enters, attempt, changes=changes, counted_only=full)


def _flagged(order: Order, attempt: Attempt, review: Review) -> Decision:
    """Recorded, not applied, marked for review (counted only once the order holds all the reviews it may)."""
    if len(order.reviews) >= MAX_REVIEWS_KEPT:
        return Decision(Verdict.FLAGGED, order.status, order.status, attempt, counted_only=True)
    return Decision(Verdict.FLAGGED, order.status, order.status, attempt, (review,))


def second_payment(order: Order, attempt: Attempt) -> Decision:
    """Another acceptance for an order already paid, under ``attempt.bank_reference`` (a confirmation, or the bank's
    status read by the reconciliation): the buyer was debited twice. It is recorded as its own entry, to give back
    through the back office, with a review; the order's state and books stay the paid payment's."""
    received_at = attempt.received_at
    session = order.session(attempt.bank_reference)
    split = order.instalments and order.mode is PaymentMode.IMMEDIATE
    entry = SecondPayment(
        bank_reference=attempt.bank_reference,
        authorisation_number=attempt.authorisation_number,
        # What the bank debited on accepting it (the order's amount, as the acceptance's was checked to be): a split
        # payment's first instalment (its later ones are flagged).
        amount=order.instalments[0].amount if split else order.amount,
        received_at=received_at,
        mode=order.mode,
        ordered_at=session.opened_at if session else order.created_at,
        confirmation_id=attempt.confirmation_id,
    )
    what = f"another acceptance for a {order.status.value} order, under {entry.bank_reference}"
    what += f" ({entry.authorisation_number or 'no authorisation number'}, {entry.amount})"
    kept: SecondPayment | None
    if len(order.second_payments) >= MAX_SECOND_PAYMENTS:
        detail = f"{what}: the order holds all the second payments it may, give it back in the bank's dashboard"
        kept = None
    elif entry.bank_reference == order.bank_payment_reference and not entry.captured:
        # A cancel names the reference alone: it would cancel the paid authorisation with this one.
        detail = f"{what}: under the paid session's reference, so it cannot be cancelled alone; cancel that"
        detail += f" authorisation ({entry.authorisation_number}) in the bank's dashboard"
        kept = replace(entry, state=NOT_GIVEN_BACK)
    else:
        action = "refunded" if entry.captured else "cancelled"
        detail = f"{what}: it is {action} at the bank automatically"
        kept = entry
    review = Review(ReviewReason.SECOND_ACCEPTANCE, received_at, detail)
    reviews = (review,) if len(order.reviews) < MAX_REVIEWS_KEPT else ()
    return Decision(Verdict.FLAGGED, order.status, order.status, attempt, reviews, second_payment=kept)
