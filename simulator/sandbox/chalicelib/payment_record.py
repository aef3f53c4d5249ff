"""What the bank keeps of one payment: the request, every card attempt, instalments, captures, refunds.

One ``Payment`` per (TPE, reference), kept by the ledger as JSON (``to_data`` / ``from_data``). Amounts are exact
``Decimal``; times are aware datetimes (UTC inside, the terminal's zone on the pages); the order's own date is
local to the terminal, whose zone the payment keeps.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sealing import Money

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
REFUNDABLE = frozenset({Status.PAID, Status.REGISTERED, Status.CAPTURED})
_STATES = {
    Status.OPEN: "AP",
    Status.ABANDONED: "AP",
    Status.REFUSED: "RE",
    Status.PAID: "PA",
    Status.AUTHORIZED: "PA",
    Status.REGISTERED: "PA",
    Status.CAPTURED: "PA",
    Status.CANCELLED: "AN",
}


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
    cvv_entered: bool = True


@dataclass(frozen=True)
class Capture:
    at: datetime
    amount: Decimal
    authorisation_number: str
    by: str  # "payment", "instalment", "back-office", "dashboard", "deadline"


@dataclass(frozen=True)
class Declined:
    """A validation whose authorisation the card's bank refused (deferred authorisation): nothing captured."""

    at: datetime
    amount: Decimal
    refusal: str
    by: str


@dataclass(frozen=True)
class Refund:
    at: datetime
    amount: Decimal
    by: str


@dataclass
class Instalment:
    """One part of a split payment (``nbrech``): the first is paid at the order, each other on its day."""

    number: int
    due: date
    amount: Decimal
    outcome: str = ""  # "" not asked yet, "paid" or "refused"
    at: datetime | None = None  # when its authorisation was asked
    authorisation_number: str = ""
    refusal: str = ""
    acknowledged: bool | None = None
    acknowledgement: str = ""

    @property
    def return_code(self) -> str:
        return f"{'paiement' if self.outcome == 'paid' else 'Annulation'}_pf{self.number}"


@dataclass(frozen=True)
class Alert:
    """The bank's "mail d'alerte": the merchant's server did not (or not properly) acknowledge a confirmation."""

    at: datetime
    tpe: str
    reference: str
    detail: str


@dataclass(frozen=True)
class MerchantMail:
    """A mail the bank sent the merchant (the optional payment confirmation), as the bank composed it."""

    at: datetime
    tpe: str
    reference: str
    to: str
    subject: str
    text: str


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
    card: str = ""  # masked
    brand: str = ""
    card_hash: str = ""  # what later confirmations say of the accepted card (``hpancb``, ``vld``, ``cvx``)
    card_expiry: str = ""
    cvv_entered: bool = False
    client_ip: str = ""
    deadline: datetime | None = None
    captures: list[Capture] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    cancelled: Decimal = ZERO
    cancelled_at: datetime | None = None
    acknowledgement_failed: bool = False
    instalments: list[Instalment] = field(default_factory=list)
    # What the card's bank answers to any authorisation asked after the order ("" granted): a deferred
    # authorisation's validations, a split payment's later instalments.
    later_refusal: str = ""
    declined: list[Declined] = field(default_factory=list)
    card_alias: str = ""  # aliascb: the buyer whose card the bank keeps on file
    force_card_entry: bool = False  # forcesaisiecb=1: the card is typed even when one is on file
    version: int = 0  # the ledger's, for its conditional writes; not part of the data

    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def timezone(self) -> str:
        return str(self.ordered_at.tzinfo)

    @property
    def first_instalment(self) -> Money | None:
        return self.money(self.instalments[0].amount) if self.instalments else None

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
        return self.captured - self.refunded if self.status in REFUNDABLE else ZERO

    @property
    def bank_state(self) -> str:
        """``etat`` as the status call and the export of payments say it: PA, AN, RE or AP."""
        if self.status is Status.CAPTURED and self.captured == 0:
            return "AN"  # validated for nothing: the rest cancelled
        return _STATES[self.status]

    @property
    def attempts_left(self) -> int:
        return MAX_ATTEMPTS - len(self.attempts)

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)

    def session_expired(self, now: datetime) -> bool:
        return now - self.created_at > timedelta(minutes=SESSION_MINUTES)

    def instalment_due_at(self, instalment: Instalment) -> datetime:
        """An instalment falls due on its day at the order's time of day, in the terminal's zone."""
        return datetime.combine(instalment.due, self.ordered_at.time(), ZoneInfo(self.timezone))

    def waiting_instalments(self) -> list[Instalment]:
        """The later instalments of an accepted split payment not asked yet."""
        if not self.status.accepted:
            return []
        return [i for i in self.instalments if not i.outcome]

    def next_due(self) -> datetime | None:
        """When the bank has something to do on its own: the end of the deferral, or the next instalment."""
        moments = [self.instalment_due_at(i) for i in self.waiting_instalments()]
        if self.status.pending and self.deadline is not None:
            moments.append(self.deadline)
        return min(moments, default=None)


def new_session() -> str:
    return secrets.token_urlsafe(18)


def new_authorisation_number() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


# -- the ledger's JSON ------------------------------------------------------------------------------------------


def _moment(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _read_moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def to_data(payment: Payment) -> dict[str, Any]:
    """The payment as JSON-ready values: amounts as text, times in UTC (the order's date local, with its zone)."""
    return {
        "tpe": payment.tpe,
        "reference": payment.reference,
        "amount": str(payment.amount.amount),
        "currency": payment.currency,
        "ordered_at": payment.ordered_at.replace(tzinfo=None).isoformat(),
        "timezone": payment.timezone,
        "language": payment.language,
        "email": payment.email,
        "free_text": payment.free_text,
        "return_ok_url": payment.return_ok_url,
        "return_err_url": payment.return_err_url,
        "fields": [list(pair) for pair in payment.fields],
        "session": payment.session,
        "created_at": _moment(payment.created_at),
        "status": payment.status.value,
        "attempts": [
            {
                "at": _moment(a.at),
                "card": a.card,
                "brand": a.brand,
                "refusal": a.refusal,
                "authorisation_number": a.authorisation_number,
                "return_code": a.return_code,
                "acknowledged": a.acknowledged,
                "acknowledgement": a.acknowledgement,
                "cvv_entered": a.cvv_entered,
            }
            for a in payment.attempts
        ],
        "authorisation_number": payment.authorisation_number,
        "authorised_at": _moment(payment.authorised_at),
        "card": payment.card,
        "brand": payment.brand,
        "card_hash": payment.card_hash,
        "card_expiry": payment.card_expiry,
        "cvv_entered": payment.cvv_entered,
        "client_ip": payment.client_ip,
        "deadline": _moment(payment.deadline),
        "captures": [
            {"at": _moment(c.at), "amount": str(c.amount), "authorisation_number": c.authorisation_number, "by": c.by}
            for c in payment.captures
        ],
        "refunds": [{"at": _moment(r.at), "amount": str(r.amount), "by": r.by} for r in payment.refunds],
        "cancelled": str(payment.cancelled),
        "cancelled_at": _moment(payment.cancelled_at),
        "acknowledgement_failed": payment.acknowledgement_failed,
        "instalments": [
            {
                "number": i.number,
                "due": i.due.isoformat(),
                "amount": str(i.amount),
                "outcome": i.outcome,
                "at": _moment(i.at),
                "authorisation_number": i.authorisation_number,
                "refusal": i.refusal,
                "acknowledged": i.acknowledged,
                "acknowledgement": i.acknowledgement,
            }
            for i in payment.instalments
        ],
        "later_refusal": payment.later_refusal,
        "declined": [
            {"at": _moment(d.at), "amount": str(d.amount), "refusal": d.refusal, "by": d.by} for d in payment.declined
        ],
        "card_alias": payment.card_alias,
        "force_card_entry": payment.force_card_entry,
    }


def from_data(data: dict[str, Any], version: int = 0) -> Payment:
    """The inverse of ``to_data``."""
    zone = ZoneInfo(data["timezone"])
    return Payment(
        tpe=data["tpe"],
        reference=data["reference"],
        amount=Money(Decimal(data["amount"]), data["currency"]),
        ordered_at=datetime.fromisoformat(data["ordered_at"]).replace(tzinfo=zone),
        language=data["language"],
        email=data["email"],
        free_text=data["free_text"],
        return_ok_url=data["return_ok_url"],
        return_err_url=data["return_err_url"],
        fields=tuple((name, value) for name, value in data["fields"]),
        session=data["session"],
        created_at=_at(data["created_at"]),
        status=Status(data["status"]),
        attempts=[
            Attempt(
                at=_at(a["at"]),
                card=a["card"],
                brand=a["brand"],
                refusal=a["refusal"],
                authorisation_number=a["authorisation_number"],
                return_code=a["return_code"],
                acknowledged=a["acknowledged"],
                acknowledgement=a["acknowledgement"],
                cvv_entered=a.get("cvv_entered", True),
            )
            for a in data["attempts"]
        ],
        authorisation_number=data["authorisation_number"],
        authorised_at=_read_moment(data["authorised_at"]),
        card=data["card"],
        brand=data["brand"],
        card_hash=data["card_hash"],
        card_expiry=data["card_expiry"],
        cvv_entered=data["cvv_entered"],
        client_ip=data["client_ip"],
        deadline=data["deadline"] and datetime.fromisoformat(data["deadline"]).astimezone(zone),  # a local midnight
        captures=[
            Capture(_at(c["at"]), Decimal(c["amount"]), c["authorisation_number"], c["by"]) for c in data["captures"]
        ],
        refunds=[Refund(_at(r["at"]), Decimal(r["amount"]), r["by"]) for r in data["refunds"]],
        cancelled=Decimal(data["cancelled"]),
        cancelled_at=_read_moment(data["cancelled_at"]),
        acknowledgement_failed=data["acknowledgement_failed"],
        instalments=[
            Instalment(
                number=i["number"],
                due=date.fromisoformat(i["due"]),
                amount=Decimal(i["amount"]),
                outcome=i["outcome"],
                at=_read_moment(i["at"]),
                authorisation_number=i["authorisation_number"],
                refusal=i["refusal"],
                acknowledged=i["acknowledged"],
                acknowledgement=i["acknowledgement"],
            )
            for i in data["instalments"]
        ],
        later_refusal=data["later_refusal"],
        declined=[Declined(_at(d["at"]), Decimal(d["amount"]), d["refusal"], d["by"]) for d in data["declined"]],
        card_alias=data["card_alias"],
        force_card_entry=data["force_card_entry"],
        version=version,
    )
