"""Orders as the merchant's side keeps them: states, attempts, review markers, amounts in Decimal."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sealing import Instalment, Money, PaymentMode

from .actors import Actor


class OrderStatus(enum.Enum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    AUTHORIZED = "authorized"
    CARD_REGISTERED = "card_registered"
    PARTIALLY_CAPTURED = "partially_captured"
    CAPTURED = "captured"
    CANCELLED = "cancelled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class ReviewReason(enum.Enum):
    """Why an order needs a human look; it never changes the order's state by itself."""

    AMOUNT_MISMATCH = "amount_mismatch"
    TEST_PAYMENT_ON_PRODUCTION = "test_payment_on_production"
    SECOND_ACCEPTANCE = "second_acceptance"
    INSTALMENT_REFUSED = "instalment_refused"
    OPERATION_CONFLICT = "operation_conflict"  # a bank operation's outcome arrived after its entry was closed
    END_OF_PERIOD_REFUSED = "end_of_period_refused"  # the bank refused the sweeper's capture or cancel: not resent
    UNKNOWN_INSTALMENT = "unknown_instalment"  # the bank collected an instalment the order's schedule does not have
    SECOND_PAYMENT_GIVEN_BACK = "second_payment_given_back"  # a second payment was refunded or cancelled at the bank
    SECOND_PAYMENT_NOT_GIVEN_BACK = "second_payment_not_given_back"  # the bank would not take it back: a human must
    SECOND_PAYMENT_CAPTURED = "second_payment_captured"  # the bank captured a second authorisation: it is refunded


# How an operation ended (``OperationRecord.outcome``).
DONE = "done"  # the bank accepted it
REFUSED = "refused"  # the bank refused it: nothing happened
APPLIED = "applied"  # its answer was lost; the bank's status showed it done
NOT_APPLIED = "not_applied"  # its answer was lost; the bank's status showed it not done
APPLIED_BY_BANK = "applied_by_bank"  # the bank's own end-of-period action, under the terminal's contract
APPLIED_OUTSIDE_API = "applied_outside_api"  # done at the bank but not through this API (its dashboard)
APPLIED_OUTCOMES = frozenset({DONE, APPLIED, APPLIED_BY_BANK, APPLIED_OUTSIDE_API})


@dataclass(frozen=True)
class Attempt:
    """One confirmation received for the order."""

    return_code: str
    received_at: datetime
    reason: str = ""
    authorisation_number: str = ""
    card_brand: str = ""
    amount: str = ""
    instalment: int | None = None
    confirmation_id: str = ""
    bank_reference: str = ""  # the payment session's reference, as the bank knows it
    card_saved: bool | None = None  # cbenregistree: the bank kept the card under the order's card_alias

    @property
    def refused(self) -> bool:
        """A refusal (``Annulation`` in any letter case), of the payment or of one of its instalments."""
        return self.return_code.lower().startswith("annulation")

    def as_json(self) -> dict[str, Any]:
        """The attempt as the merchant API and the order events show it (no card data, no confirmation id)."""
        return {
            "bank_reference": self.bank_reference,
            "return_code": self.return_code,
            "time": self.received_at.astimezone(UTC).isoformat(),
            "reason": self.reason,
            "authorisation_number": self.authorisation_number,
            "card_brand": self.card_brand,
            "amount": self.amount,
            "instalment": self.instalment,
            "card_saved": self.card_saved,
        }


class InstalmentState(enum.Enum):
    """Where one instalment of a split payment stands: due (not confirmed yet), collected, or refused."""

    DUE = "due"
    COLLECTED = "collected"
    REFUSED = "refused"


@dataclass(frozen=True)
class InstalmentOutcome:
    """What the bank confirmed of one instalment (``number`` 1 is paid at the order, 2 to 4 on their days):
    collected, booked as a capture on ``day`` (the terminal's local day the bank confirmed it), or refused."""

    number: int
    state: InstalmentState
    at: datetime
    day: date | None = None
    authorisation_number: str = ""
    confirmation_id: str = ""  # the confirmation that said so (``status:...`` when read from the bank's status)


@dataclass(frozen=True)
class Review:
    reason: ReviewReason
    at: datetime
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        return {"reason": self.reason.value, "time": self.at.isoformat(), "detail": self.detail}


@dataclass(frozen=True)
class ReviewMark:
    """Who marked an order's reviews as reviewed, and when: the first ``covers`` of them (those they saw). A review
    appended later is not covered: the order needs attention again until another mark covers it."""

    actor: Actor
    at: datetime
    covers: int

    def as_json(self) -> dict[str, Any]:
        return {"actor": self.actor.as_json(), "time": self.at.isoformat(), "reviews": self.covers}


@dataclass(frozen=True)
class Plan:
    """One back-office operation (capture, cancel, refund) and the order's bookkeeping once it is done."""

    event: str
    amount: Money
    leaves: OrderStatus
    enters: OrderStatus
    captured: Decimal
    refunded: Decimal
    cancelled: Decimal


@dataclass(frozen=True)
class PendingOperation:
    """An operation asked of the bank whose outcome is not recorded yet (the journal entry), and who asked for it
    (``None``: the entry does not say)."""

    id: str
    plan: Plan
    started_at: datetime
    actor: Actor | None


@dataclass(frozen=True)
class OperationRecord:
    """A back-office operation as it ended: done, refused, or found not applied when checked.

    ``bank_day`` is the day the bank booked it (a capture's ``date_remise``), when the bank said so; ``actor`` who
    did it (``None``: the record does not say).
    """

    id: str
    event: str
    amount: Money
    at: datetime
    outcome: str
    detail: str = ""
    authorisation_number: str = ""
    bank_day: date | None = None
    actor: Actor | None = field(kw_only=True)

    def as_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "amount": str(self.amount.amount),
            "time": self.at.isoformat(),
            "outcome": self.outcome,
            "detail": self.detail,
            "bank_day": self.bank_day.isoformat() if self.bank_day else None,
            "actor": self.actor.as_json() if self.actor else None,
        }


# Where a second payment stands (``SecondPayment.state``): to give back, given back, or left to a human (the bank
# refused to give it back, or no back-office call can give it back alone). A second authorisation the bank would not
# cancel is watched all the same (``Order.watches``): the bank may still capture it at its deadline.
GIVE_BACK_DUE, GIVEN_BACK, NOT_GIVEN_BACK = "due", "given_back", "not_given_back"


@dataclass(frozen=True)
class GiveBack:
    """The journal entry of a second payment's give-back: the bank is being asked, the outcome is not written yet;
    ``actor`` is who asked (``None``: the entry does not say)."""

    id: str
    started_at: datetime
    actor: Actor | None


@dataclass(frozen=True)
class SecondPayment:
    """A payment the bank accepted for an order already paid (another session, or another authorisation under the
    paid one): kept apart from the order's books, and given back through the back office.

    On an immediate terminal it was captured when accepted and is refunded; on a deferred one it is an
    authorisation, cancelled before the bank captures it at the deadline. One the bank captured all the same (its
    cancel refused, or too late: the bank's end-of-period validation) holds that capture in ``bank_capture``, booked
    on the bank's day, and is refunded. ``ordered_at`` is its session's form date (the ``date_commande`` the bank
    holds for it); ``outcome`` is how the give-back ended.
    """

    bank_reference: str
    authorisation_number: str
    amount: Money
    received_at: datetime
    mode: PaymentMode
    ordered_at: datetime
    confirmation_id: str
    state: str = GIVE_BACK_DUE
    giving_back: GiveBack | None = None
    outcome: OperationRecord | None = None
    bank_capture: OperationRecord | None = None

    @property
    def captured(self) -> bool:
        """Whether the bank captured it: when it accepted it (an immediate payment), or later (``bank_capture``).
        The buyer was debited."""
        return self.mode is PaymentMode.IMMEDIATE or self.bank_capture is not None

    @property
    def event(self) -> str:
        """What gives it back: a refund of what was captured, or the cancellation of the authorisation."""
        return "refund_full" if self.captured else "cancel"

    def as_json(self) -> dict[str, Any]:
        """The second payment as the merchant API and the order events show it."""
        return {
            "bank_reference": self.bank_reference,
            "authorisation_number": self.authorisation_number,
            "amount": str(self.amount.amount),
            "currency": self.amount.currency,
            "time": self.received_at.astimezone(UTC).isoformat(),
            "mode": self.mode.value,
            "state": self.state,
            "give_back": self.event,
            "outcome": self.outcome.as_json() if self.outcome else None,
            "bank_capture": self.bank_capture.as_json() if self.bank_capture else None,
        }


@dataclass(frozen=True)
class UnmatchedConfirmation:
    """A sealed confirmation that named no order of its terminal, as kept (``UNMATCHED#<tpe>#<reference>``): what it
    said of the payment (its amount and return code as the bank wrote them; no card data), why it matched nothing,
    and who marked it reviewed (``None``: nobody yet). ``key`` is its item's key (``pk``, ``sk``)."""

    key: tuple[str, str]
    tpe: str
    reference: str
    reason: str
    received_at: datetime
    amount: str = ""
    return_code: str = ""
    reviewed: tuple[Actor, datetime] | None = None


# An Idempotency-Key's states (``IdempotencyRecord.state``): a request holds it, let it go without an answer to
# keep, or answered (every retry gets that answer again).
KEY_IN_FLIGHT, KEY_RELEASED, KEY_DONE = "in_flight", "released", "done"


@dataclass(frozen=True)
class IdempotencyRecord:
    """What the orders table keeps for one ``Idempotency-Key``: the request's fingerprint, who holds the key
    now (``claim``, while ``state`` is ``in_flight``) and, once ``done``, the response it answered."""

    key: str
    fingerprint: str
    state: str  # KEY_IN_FLIGHT, KEY_RELEASED or KEY_DONE
    claim: str
    claimed_at: datetime
    status_code: int = 0
    body: str = ""


@dataclass(frozen=True)
class MailRecord:
    """A mail an order event sent: the event's id, the recipient's kind (buyer, merchant), when it was claimed (then
    sent), and SES's reason when SES refused it for good (``None``: sent)."""

    event_id: str
    kind: str
    at: datetime
    rejected: str | None = None


DEFERRAL_STATES = frozenset({OrderStatus.AUTHORIZED, OrderStatus.CARD_REGISTERED, OrderStatus.PARTIALLY_CAPTURED})


@dataclass(frozen=True)
class PaymentSession:
    """One trip to the bank's payment page: its own bank reference (the bank caps attempts per reference and
    keeps a reference for about 45 minutes), the time its form was made (the form's order date) and, once its
    form was served again, when that was last recorded (``orders.sessions``)."""

    number: int
    bank_reference: str
    opened_at: datetime
    served_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        """The session as the merchant API, the order events and the orders table keep it."""
        opened_at = self.opened_at.astimezone(UTC).isoformat()
        return {"number": self.number, "bank_reference": self.bank_reference, "opened_at": opened_at}


@dataclass(frozen=True)
class Order:
    reference: str
    tpe: str
    mode: PaymentMode
    status: OrderStatus
    amount: Money
    email: str
    language: str
    created_at: datetime
    checkout_token_hash: str
    free_text: str = ""
    billing: dict[str, str] = field(default_factory=dict)
    shipping: dict[str, str] = field(default_factory=dict)
    three_ds_challenge: str = ""
    return_ok_url: str = ""
    return_err_url: str = ""
    instalments: tuple[Instalment, ...] = ()
    attempts: tuple[Attempt, ...] = ()
    reviews: tuple[Review, ...] = ()
    review_marks: tuple[ReviewMark, ...] = ()  # who marked the reviews reviewed, each covering more of them
    confirmation_ids: frozenset[str] = frozenset()
    authorisation_number: str = ""
    paid_at: datetime | None = None
    # The bank's day of an immediate payment when it is not paid_at's day in the terminal's zone (a confirmation,
    # or the bank's status, read after the day the bank took it): the day the books count it on.
    paid_on: date | None = None
    deadline: datetime | None = None
    captured: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    cancelled: Decimal = Decimal(0)
    pending: PendingOperation | None = None
    operations: tuple[OperationRecord, ...] = ()
    attempts_not_kept: int = 0  # confirmations counted but not listed, once ``attempts`` is full
    last_attempt_not_kept: Attempt | None = None
    sessions: tuple[PaymentSession, ...] = ()
    bank_reference: str = ""  # the session the bank accepted: what back-office calls name
    version: int = 0
    description: str = ""  # what was bought (the bank kit's "Descriptif"); the merchant's own, not sent to the bank
    card_alias: str = ""  # the buyer whose card the bank keeps on file (aliascb)
    instalment_outcomes: tuple[InstalmentOutcome, ...] = ()  # what the bank confirmed, instalment by instalment
    second_payments: tuple[SecondPayment, ...] = ()  # payments accepted once the order was paid: given back

    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def reviews_covered(self) -> int:
        """How many of the reviews (the first ones) a mark covers."""
        return max((mark.covers for mark in self.review_marks), default=0)

    @property
    def open_reviews(self) -> tuple[Review, ...]:
        """The reviews no mark covers yet: while there is one, the order needs attention (``AttentionIndex``)."""
        return self.reviews[self.reviews_covered :]

    def instalment_outcome(self, number: int) -> InstalmentOutcome | None:
        return next((o for o in self.instalment_outcomes if o.number == number), None)

    def instalment_state(self, number: int) -> InstalmentState:
        outcome = self.instalment_outcome(number)
        return outcome.state if outcome else InstalmentState.DUE

    @property
    def books_instalments(self) -> bool:
        """Whether ``captured`` counts the instalments one by one as the bank collects them: a split payment,
        which only an immediate terminal takes."""
        return bool(self.instalments) and self.mode is PaymentMode.IMMEDIATE

    @property
    def instalments_due(self) -> bool:
        """Whether a later instalment of a split payment is still to be collected (neither collected nor refused)."""
        return any(self.instalment_outcome(n) is None for n in range(2, len(self.instalments) + 1))

    def instalments_json(self) -> list[dict[str, Any]]:
        """The schedule as the merchant API shows it: each instalment's due day, amount and state."""
        schedule = []
        for number, instalment in enumerate(self.instalments, 1):
            outcome = self.instalment_outcome(number)
            schedule.append(
                {
                    "number": number,
                    "due": instalment.due.isoformat(),
                    "amount": str(instalment.amount.amount),
                    "state": (outcome.state if outcome else InstalmentState.DUE).value,
                    "collected_on": outcome.day.isoformat() if outcome and outcome.day else None,
                    "authorisation_number": (outcome.authorisation_number or None) if outcome else None,
                }
            )
        return schedule

    @property
    def current_session(self) -> PaymentSession | None:
        return self.sessions[-1] if self.sessions else None

    def session(self, bank_reference: str) -> PaymentSession | None:
        return next((s for s in self.sessions if s.bank_reference == bank_reference), None)

    @property
    def bank_ordered_at(self) -> datetime:
        """The order date the bank holds for the payment: the paid session's form date (``date_commande``)."""
        paid = self.session(self.bank_reference) if self.bank_reference else None
        return paid.opened_at if paid else self.created_at

    @property
    def bank_payment_reference(self) -> str:
        """The reference the bank knows the payment by (older orders have none of their own)."""
        return self.bank_reference or self.reference

    def gives_back_alone(self, payment: SecondPayment) -> bool:
        """Whether a back-office call can give ``payment`` back alone: not a cancel under the paid session's
        reference (it would cancel the paid authorisation too)."""
        return payment.captured or payment.bank_reference != self.bank_payment_reference

    def watches(self, payment: SecondPayment) -> bool:
        """Whether ``payment`` is an authorisation not given back that the bank may still capture (its cancel was
        refused): its own reference's status is asked until the bank captures it (then it is refunded) or cancels
        it."""
        return payment.state == NOT_GIVEN_BACK and not payment.captured and self.gives_back_alone(payment)

    def keeps_giving_back(self, payment: SecondPayment) -> bool:
        """Whether ``payment`` keeps the order in ``GiveBackIndex``: due, being given back, or watched."""
        return payment.state == GIVE_BACK_DUE or payment.giving_back is not None or self.watches(payment)

    def with_changes(self, **changes: Any) -> Order:
        return replace(self, **changes)

    def as_json(self) -> dict[str, Any]:
        """The merchant API's view of the order."""
        return {
            "reference": self.reference,
            "status": self.status.value,
            "amount": str(self.amount.amount),
            "currency": self.currency,
            "tpe": self.tpe,
            "mode": self.mode.value,
            "email": self.email,
            "language": self.language,
            "description": self.description or None,
            "card_alias": self.card_alias or None,
            "created_at": self.created_at.isoformat(),
            "paid_at": self.paid_at.isoformat() if self.paid_at else None,
            "authorisation_number": self.authorisation_number or None,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "captured": str(self.captured),
            "refunded": str(self.refunded),
            "cancelled": str(self.cancelled),
            "needs_review": bool(self.open_reviews),
            "reviews": [review.as_json() for review in self.reviews],
            "reviewed": [mark.as_json() for mark in self.review_marks],
            "instalments": self.instalments_json(),
            "attempts": [attempt.as_json() for attempt in self.attempts],
            "attempts_not_kept": self.attempts_not_kept,
            "bank_reference": self.bank_reference or None,
            "sessions": [session.as_json() for session in self.sessions],
            "operations": [operation.as_json() for operation in self.operations],
            "second_payments": [payment.as_json() for payment in self.second_payments],
            "pending_operation": (
                {
                    "event": self.pending.plan.event,
                    "amount": str(self.pending.plan.amount.amount),
                    "actor": self.pending.actor.as_json() if self.pending.actor else None,
                }
                if self.pending
                else None
            ),
        }
