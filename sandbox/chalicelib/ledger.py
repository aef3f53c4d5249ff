"""The bank's book of payments: what was asked, every card attempt, captures, cancellations and refunds.

One ``Payment`` per (TPE, reference). Every change happens under ``Ledger.lock``; the rules that refuse an
operation raise ``Refusal`` with the code and label the back-office answers carry (docs/protocol.md, Back-office calls).
Amounts are exact ``Decimal``; times are aware datetimes (UTC inside, the terminal's zone on the pages).
"""

from __future__ import annotations

import enum
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import holidays

import sealing
from sealing import Money

from .cards import Card
from .sessions import DashboardSession, LoginFailures
from .terminals import BankTerminal, EndPolicy, Mode, RefundPolicy

ZERO = Decimal(0)
MAX_ATTEMPTS = 4
SESSION_MINUTES = 45


class Status(enum.Enum):
    OPEN = "open"  # on the payment page, no card accepted yet
    REFUSED = "refused"  # every attempt was refused
    ABANDONED = "abandoned"  # the buyer cancelled on the payment page
    PAID = "paid"  # immediate: authorised and captured
    AUTHORIZED = "authorized"  # deferred payment: waiting for validation
    REGISTERED = "registered"  # deferred authorisation: waiting for (partial) validations
    CAPTURED = "captured"  # deferred: validated (all, or in part and the rest cancelled)
    CANCELLED = "cancelled"  # deferred: cancelled before anything was captured

    @property
    def accepted(self) -> bool:
        return self in _ACCEPTED

    @property
    def pending(self) -> bool:
        return self in (Status.AUTHORIZED, Status.REGISTERED)


_ACCEPTED = frozenset({Status.PAID, Status.AUTHORIZED, Status.REGISTERED, Status.CAPTURED, Status.CANCELLED})
_REFUNDABLE = frozenset({Status.PAID, Status.REGISTERED, Status.CAPTURED})


class Refusal(Exception):
    """The bank refuses an operation: ``code`` is the answer's ``cdr``, ``label`` its ``lib``."""

    def __init__(self, code: int, label: str) -> None:
        super().__init__(label)
        self.code = code
        self.label = label


@dataclass
class Attempt:
    at: datetime
    card: str  # masked
    brand: str
    refusal: str  # "" when accepted
    authorisation_number: str
    return_code: str
    acknowledged: bool | None = None  # None while the confirmation is on its way
    acknowledgement: str = ""  # what went wrong with it, when it did


@dataclass(frozen=True)
class Capture:
    at: datetime
    amount: Decimal
    authorisation_number: str
    by: str  # "payment", "back-office", "dashboard", "deadline"


@dataclass(frozen=True)
class Refund:
    at: datetime
    amount: Decimal
    by: str


@dataclass(frozen=True)
class Alert:
    """The bank's "mail d'alerte" (docs/protocol.md, The bank's pages): the merchant's server did not (or not
    properly) acknowledge a confirmation."""

    at: datetime
    tpe: str
    reference: str
    detail: str


@dataclass
class Payment:
    tpe: str
    reference: str
    amount: Money
    ordered_at: datetime  # the request's ``date``, in the terminal's zone
    language: str
    email: str
    free_text: str
    return_ok_url: str
    return_err_url: str
    fields: tuple[tuple[str, str], ...]  # the request as posted, MAC included
    session: str
    created_at: datetime
    status: Status = Status.OPEN
    attempts: list[Attempt] = field(default_factory=list)
    authorisation_number: str = ""
    authorised_at: datetime | None = None
    card: str = ""
    brand: str = ""
    deadline: datetime | None = None
    captures: list[Capture] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    cancelled: Decimal = ZERO
    cancelled_at: datetime | None = None
    acknowledgement_failed: bool = False
    first_instalment: Money | None = None
    card_alias: str = ""  # aliascb: the buyer whose card the bank keeps on file
    force_card_entry: bool = False  # forcesaisiecb=1: the card is typed even when one is on file

    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def captured(self) -> Decimal:
        return sum((c.amount for c in self.captures), ZERO)

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), ZERO)

    @property
    def open_amount(self) -> Decimal:
        """What is authorised (or registered) and neither captured nor cancelled."""
        return self.amount.amount - self.captured - self.cancelled if self.status.pending else ZERO

    @property
    def refundable(self) -> Decimal:
        """What was captured and not refunded yet: a partial payment's captures are refundable while the rest
        still waits for validation."""
        return self.captured - self.refunded if self.status in _REFUNDABLE else ZERO

    @property
    def attempts_left(self) -> int:
        return MAX_ATTEMPTS - len(self.attempts)

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)

    def session_expired(self, now: datetime) -> bool:
        return now - self.created_at > timedelta(minutes=SESSION_MINUTES)


def new_session() -> str:
    return secrets.token_urlsafe(18)


def new_authorisation_number() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


class Ledger:
    """Every payment the sandbox knows, in memory (one process: ``make run``, the tests, a warm Lambda)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._payments: dict[tuple[str, str], Payment] = {}
        self._sessions: dict[str, tuple[str, str]] = {}
        self.alerts: list[Alert] = []
        # The dashboard's sign-ins live with the payments, so whatever keeps the bank's state keeps them too.
        self.dashboard_sessions: dict[str, DashboardSession] = {}  # by the SHA-256 of the cookie's id
        self.login_failures: dict[str, LoginFailures] = {}  # by "tpe:<TPE>" and "ip:<address>"
        # Cards on file, by (TPE, aliascb): a returning buyer pays with one, typing only its CVV.
        self.cards: dict[tuple[str, str], Card] = {}

    def get(self, tpe: str, reference: str) -> Payment | None:
        return self._payments.get((tpe, reference))

    def by_session(self, session: str) -> Payment | None:
        key = self._sessions.get(session)
        return self._payments.get(key) if key else None

    def add(self, payment: Payment) -> None:
        self._payments[(payment.tpe, payment.reference)] = payment
        self._sessions[payment.session] = (payment.tpe, payment.reference)

    def new_session(self, payment: Payment) -> None:
        self._sessions.pop(payment.session, None)
        payment.session = new_session()
        self._sessions[payment.session] = (payment.tpe, payment.reference)

    def of_terminal(self, tpe: str) -> list[Payment]:
        # Under the lock: chalice's dev server is threaded, and a payment opened meanwhile would change the
        # dict's size during the iteration (RuntimeError, a 500 on the dashboard).
        with self.lock:
            return [p for (t, _), p in self._payments.items() if t == tpe]

    def __iter__(self) -> Iterator[Payment]:
        with self.lock:
            return iter(list(self._payments.values()))

    def card_on_file(self, payment: Payment) -> Card | None:
        """The card kept under the payment's alias, unless the request asks for the card to be typed."""
        if not payment.card_alias or payment.force_card_entry:
            return None
        return self.cards.get((payment.tpe, payment.card_alias))

    def keep_card(self, payment: Payment, card: Card) -> bool:
        """Keep ``card`` under the payment's alias (after an accepted payment); whether it was not kept already."""
        if not payment.card_alias:
            return False
        key = (payment.tpe, payment.card_alias)
        kept = self.cards.get(key)
        if kept is not None and (kept.number, kept.expiry) == (card.number, card.expiry):
            return False
        self.cards[key] = card
        return True

    def alert(self, payment: Payment, at: datetime, detail: str) -> None:
        payment.acknowledgement_failed = True
        self.alerts.append(Alert(at, payment.tpe, payment.reference, detail))


# -- working days and deadlines (docs/protocol.md, Payment modes: at most 7 working days) ------------------------------


@lru_cache(maxsize=64)
def _french_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", years=year))


def _is_holiday(day: date) -> bool:
    return day in _french_holidays(day.year)


def deferral_deadline(ordered_at: datetime, days: int, timezone: str) -> datetime:
    """The end of the deferral period, by the protocol's own rule (``sealing.deferral_deadline``, the same
    as the merchant's side), with France's public holidays."""
    return sealing.deferral_deadline(ordered_at, days, timezone, _is_holiday)


# -- the rules of the back-office (docs/protocol.md, Back-office calls), shared by the CGIs and the dashboard ---------


def accept(payment: Payment, terminal: BankTerminal, now: datetime, authorisation_number: str) -> None:
    """A card was accepted: the payment takes the state of the terminal's mode."""
    payment.authorisation_number = authorisation_number
    payment.authorised_at = now
    if terminal.mode is Mode.IMMEDIATE:
        payment.status = Status.PAID
        payment.captures.append(Capture(now, payment.amount.amount, authorisation_number, "payment"))
        return
    payment.status = Status.AUTHORIZED if terminal.mode is Mode.DEFERRED else Status.REGISTERED
    payment.deadline = deferral_deadline(payment.ordered_at, terminal.deferral_days, terminal.timezone)


def not_pending(payment: Payment) -> Refusal:
    if payment.status is Status.PAID:
        return Refusal(0, "paiement immediat deja remis, utilisez le recredit")
    if payment.status in (Status.CAPTURED, Status.CANCELLED):
        return Refusal(0, "commande deja traitee")
    return Refusal(0, "commande non autorisee")  # never paid: open, refused or abandoned


def capture(payment: Payment, amount: Decimal, now: datetime, by: str) -> Capture:
    """Capture ``amount`` of what is open. A deferred payment is captured in one go (the rest, if any, is
    cancelled by a separate cancel); a deferred authorisation asks a new authorisation for each capture."""
    if not payment.status.pending:
        raise not_pending(payment)
    if amount <= 0:
        raise Refusal(-1, "montant a capturer nul")
    if amount > payment.open_amount:
        raise Refusal(0, f"montant errone: {amount} depasse le montant restant {payment.open_amount}")
    if payment.status is Status.AUTHORIZED and amount != payment.open_amount:
        raise Refusal(0, "validation partielle impossible sur un paiement differe")
    number = payment.authorisation_number if payment.status is Status.AUTHORIZED else new_authorisation_number()
    done = Capture(now, amount, number, by)
    payment.captures.append(done)
    if payment.open_amount == 0:
        payment.status = Status.CAPTURED
    return done


def cancel(payment: Payment, now: datetime) -> Decimal:
    """Cancel what is open; what was captured stays captured. Returns the amount cancelled."""
    if not payment.status.pending:
        raise not_pending(payment)
    left = payment.open_amount
    payment.cancelled += left
    payment.cancelled_at = now
    payment.status = Status.CAPTURED if payment.captured > 0 else Status.CANCELLED
    return left


def refund(payment: Payment, amount: Decimal, policy: RefundPolicy, now: datetime, by: str) -> Refund:
    """Refund ``amount`` of what was captured, under the terminal's refund contract (codes in docs/protocol.md,
    Back-office calls)."""
    if payment.status not in _REFUNDABLE or payment.captured == 0:
        raise Refusal(-48, "recredit refuse: paiement non remis")
    if payment.refundable == 0:
        raise Refusal(-46, "commande deja totalement recreditee")
    if amount <= 0:
        raise Refusal(-48, "recredit refuse: montant nul")
    if amount > payment.refundable:
        raise Refusal(-48, f"recredit refuse: {amount} depasse le montant possible {payment.refundable}")
    # A full refund gives back everything captured in one go; the last part of a refund made in parts is not one
    # (or a partial_only contract could never refund it, and a full_only one would refund in parts).
    full = not payment.refunds and amount == payment.captured
    if policy is RefundPolicy.NONE:
        raise Refusal(-48, "recredit non autorise pour ce TPE")
    if policy is RefundPolicy.FULL_ONLY and not full:
        raise Refusal(-48, "recredit partiel non autorise")
    if policy is RefundPolicy.PARTIAL_ONLY and full:
        raise Refusal(-51, "recredit total non autorise")
    done = Refund(now, amount, by)
    payment.refunds.append(done)
    return done


def settle_due(ledger: Ledger, terminals: dict[str, BankTerminal], now: datetime) -> list[Payment]:
    """End of the deferral period, on the bank's side: automatic validation or cancellation (docs/protocol.md,
    Payment modes)."""
    settled = []
    with ledger.lock:
        for payment in ledger:
            terminal = terminals.get(payment.tpe)
            if terminal is None or not payment.status.pending or payment.deadline is None or payment.deadline > now:
                continue
            # Booked at the deadline itself, however late this runs (a clock moved forward, a quiet sandbox).
            at = payment.deadline
            if payment.status is Status.AUTHORIZED and terminal.end_policy is EndPolicy.VALIDATE:
                capture(payment, payment.open_amount, at, "deadline")
            else:
                cancel(payment, at)
            settled.append(payment)
    return settled
