"""Reconciliation with the bank: the books against the bank's status, and against its daily file of captures.

Every order changed on the days checked (its last write, ``ChangedIndex``) and every order of the recent order
days still awaiting payment is compared with what the bank's status (``etatpaiement``) says of it. Two
differences are repaired, each in one conditional write the stream turns into the usual events:

- a missed confirmation: an order still ``awaiting_payment``, whose current session the bank takes no more
  (``sessions.session_may_be_live``), that the bank shows paid under one of its sessions' references. It is
  recorded as that payment (an attempt whose id is ``status:<bank reference>``, so a second run, or the late
  confirmation itself, changes nothing more);
- what was done in the bank's dashboard (a capture, a cancel, a refund): recorded ``applied_outside_api`` or
  ``applied_by_bank``, as the console and the sweeper already do.

Anything else that differs is reported, never overwritten. The bank's XML file of a day's captured payments
(``<recouvrements><paiement><reference>...``) is compared with the books too, and only reported.
"""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sealing import Money, PaymentState, SealingError, StatusAnswer, parse_wire_amount

from .bank import BankClient
from .calendar import deferral_deadline, local_day
from .clients import LazyClient
from .exceptions import ConcurrentUpdateError, OrderNotFoundError, OrdersError, ReportUnavailableError
from .lifecycle import Decision, Verdict
from .model import Attempt, Order, OrderStatus, PaymentSession
from .operations import BackOffice, BankFactory
from .sessions import order_reference_of, session_may_be_live
from .store import OrderStore
from .terminals import PaymentMode, Terminals

MISSED = "missed_confirmation"
DASHBOARD = "done_at_the_bank"
STATUS_DIFFERS = "status_differs"
PAID_AMOUNT_DIFFERS = "paid_amount_differs"
XML_UNKNOWN = "captured_unknown_order"
XML_DIFFERS = "captured_amount_differs"
XML_MALFORMED = "unreadable_file"
_ACCEPTED_STATE = {
    PaymentMode.IMMEDIATE: OrderStatus.PAID,
    PaymentMode.DEFERRED: OrderStatus.AUTHORIZED,
    PaymentMode.DEFERRED_AUTHORIZATION: OrderStatus.CARD_REGISTERED,
}


@dataclass(frozen=True)
class Difference:
    reference: str
    kind: str
    detail: str
    repaired: bool

    def as_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "kind": self.kind, "detail": self.detail, "repaired": self.repaired}


@dataclass
class Report:
    source: str  # schedule | console | the imported file's name
    started_at: datetime
    days: list[str] = field(default_factory=list)
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # reference -> why it could not be checked

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "started_at": self.started_at.isoformat(),
            "days": self.days,
            "checked": self.checked,
            "differences": [d.as_json() for d in self.differences],
            "repaired": sum(1 for d in self.differences if d.repaired),
            "failures": self.failures,
        }


class Reconciler:
    def __init__(self, store: OrderStore, terminals: Terminals, bank: BankFactory = BankClient) -> None:
        self.store = store
        self.terminals = terminals
        self.office = BackOffice(store, terminals, bank)

    # --- against the bank's status ----------------------------------------------------------------------

    def run(
        self, days: Iterable[date], now: datetime, source: str, awaiting_days: Iterable[date] | None = None
    ) -> Report:
        """Check with the bank's status every order changed on ``days`` (UTC days of their last write), and every
        order of ``awaiting_days`` (order days; ``days`` when not given) still awaiting payment. Each is read
        through an index that holds only those orders, and checked once."""
        report = Report(source, now)
        changed = list(days)
        fetches: list[Callable[..., tuple[list[Order], dict[str, Any] | None]]] = []
        for day in changed:
            report.days.append(day.isoformat())
            fetches.append(partial(self.store.orders_changed_on, day.isoformat(), limit=100))
        for day in changed if awaiting_days is None else awaiting_days:
            status = OrderStatus.AWAITING_PAYMENT.value
            fetches.append(partial(self.store.orders_of_day, day.isoformat(), limit=100, status=status))
        seen: set[str] = set()
        for fetch in fetches:
            for order in _pages(fetch):
                if order.reference in seen:
                    continue
                seen.add(order.reference)
                try:
                    self.check(order, now, report)
                except (OrdersError, SealingError) as exc:
                    report.failures[order.reference] = f"{type(exc).__name__}: {exc}"
        return report

    def check(self, order: Order, now: datetime, report: Report) -> None:
        if order.pending is not None:
            return  # an operation's journal entry: the console and the sweeper settle it with the bank
        if order.status is OrderStatus.AWAITING_PAYMENT:
            self._awaiting(order, now, report)
            return
        report.checked += 1
        bank = self.office.bank(order)
        status = bank.status(reference=order.bank_payment_reference, total=order.amount, at=now)
        found = self.office.bank_actions(order, status, now)
        if found is not None:
            first, *more = found.records
            self.store.finish_operation(order, first, found.books, also=more)
            report.differences.append(Difference(order.reference, DASHBOARD, f"recorded {found.describe()}", True))
            return
        differs = _differs(order, status)
        if differs:
            report.differences.append(Difference(order.reference, STATUS_DIFFERS, differs, False))

    def _awaiting(self, order: Order, now: datetime, report: Report) -> None:
        current = order.current_session
        if current is not None and session_may_be_live(order, current, now):
            return  # the buyer may still be on the bank's page
        report.checked += 1
        sessions = order.sessions or (PaymentSession(0, order.reference, order.created_at),)
        bank = self.office.bank(order)
        for session in sessions:
            status = bank.status(reference=session.bank_reference, total=order.amount, at=now)
            if status.state is PaymentState.PAID:
                report.differences.append(self._missed(order, session, status, now))
                return

    def _missed(self, order: Order, session: PaymentSession, status: StatusAnswer, now: datetime) -> Difference:
        """Record the payment the bank shows under ``session`` whose confirmation never came."""
        paid = status.collected if order.mode is PaymentMode.IMMEDIATE else status.remaining or status.collected
        if paid is not None and paid != order.amount:
            detail = f"the bank shows {session.bank_reference} paid {paid}, the order is {order.amount}: not recorded"
            return Difference(order.reference, PAID_AMOUNT_DIFFERS, detail, False)
        terminal = self.terminals.get(order.tpe)
        attempt = Attempt(
            return_code="paiement",
            received_at=now,
            reason="recorded from the bank's status: its confirmation never came",
            authorisation_number=status.authorisation_number,
            amount=order.amount.wire(),
            confirmation_id=f"status:{session.bank_reference}",
            bank_reference=session.bank_reference,
        )
        changes: dict[str, object] = {
            "bank_reference": session.bank_reference,
            "authorisation_number": status.authorisation_number,
            "paid_at": now,
        }
        if order.mode is PaymentMode.IMMEDIATE:
            changes["captured"] = order.amount.amount
        else:
            tz = terminal.terminal.timezone
            changes["deadline"] = deferral_deadline(session.opened_at, terminal.deferral_days, tz)
        decision = Decision(Verdict.ACCEPTED, order.status, _ACCEPTED_STATE[order.mode], attempt, changes=changes)
        try:
            self.store.apply(order, decision)
        except ConcurrentUpdateError:
            detail = f"the bank shows {session.bank_reference} paid; the order changed meanwhile: checked next run"
            return Difference(order.reference, MISSED, detail, False)
        detail = f"the bank shows {session.bank_reference} paid ({status.authorisation_number}): recorded"
        return Difference(order.reference, MISSED, detail, True)

    # --- against the bank's daily file of captured payments ---------------------------------------------

    def import_captures(self, xml: bytes | str, now: datetime, source: str) -> Report:
        """Compare the bank's file of a day's captures with the books: report, never change."""
        report = Report(source, now)
        try:
            captures = parse_captures(xml)
        except ValueError as exc:
            report.differences.append(Difference("", XML_MALFORMED, str(exc), False))
            return report
        for bank_reference, amount in captures.items():
            report.checked += 1
            order = self._owner(bank_reference)
            if order is None:
                detail = f"the bank captured {amount} under {bank_reference}: no such order"
                report.differences.append(Difference(bank_reference, XML_UNKNOWN, detail, False))
                continue
            if amount.currency != order.currency or amount.amount > order.captured:
                detail = f"the bank captured {amount} under {bank_reference}, the books say {order.captured}"
                report.differences.append(Difference(order.reference, XML_DIFFERS, detail, False))
        return report

    def _owner(self, bank_reference: str) -> Order | None:
        """The order a bank reference is a session of (an older order's own reference is its bank's too)."""
        for reference in (order_reference_of(bank_reference), bank_reference):
            if not reference:
                continue
            try:
                order = self.store.get(reference)
            except OrderNotFoundError:
                continue
            if order.reference == bank_reference or order.session(bank_reference) is not None:
                return order
        return None


def parse_captures(xml: bytes | str) -> dict[str, Money]:
    """The bank's XML of captured payments: the amount captured that day, by bank reference."""
    try:
        root = ElementTree.fromstring(xml)  # noqa: S314 - the bank's own file, uploaded by the merchant
    except ElementTree.ParseError as exc:
        raise ValueError(f"not the bank's XML of captured payments: {exc}") from None
    if root.tag != "recouvrements":
        raise ValueError(f"not the bank's XML of captured payments: the root is <{root.tag}>")
    captured: dict[str, Money] = {}
    for number, item in enumerate(root.iter("paiement"), 1):
        reference = (item.findtext("reference") or "").strip()
        try:
            amount = parse_wire_amount((item.findtext("montant_recouvre") or "").strip(), "montant_recouvre")
        except SealingError as exc:
            raise ValueError(f"paiement {number} ({reference or 'no reference'}): {exc}") from None
        if not reference:
            raise ValueError(f"paiement {number}: no reference")
        before = captured.get(reference)
        captured[reference] = before + amount if before is not None else amount
    return captured


def _differs(order: Order, status: StatusAnswer) -> str:
    """What the bank's status shows that the books cannot be brought to ("" when nothing)."""
    found = []
    if status.state.failed and order.captured > 0:  # an authorisation not captured yet may show as awaiting
        found.append(f"the bank's state is {status.state.value} for a {order.status.value} order")
    compared = (("captured", status.collected, order.captured), ("refunded", status.refunded, order.refunded))
    for name, said, books in compared:
        if said is not None and (said.currency != order.currency or said.amount != books):
            found.append(f"the bank shows {said} {name}, the books {Money(Decimal(books), order.currency)}")
    return "; ".join(found)


def _pages(fetch: Callable[..., tuple[list[Order], dict[str, Any] | None]]) -> Iterator[Order]:
    """Every order of a paged query, page by page (``fetch(start_key=...)`` answers a page and the next key)."""
    start: dict[str, Any] | None = None
    while True:
        orders, start = fetch(start_key=start)
        yield from orders
        if not start:
            return


def changed_days(now: datetime) -> list[date]:
    """The UTC days a daily run reads changed orders of: yesterday and today, so that what changed after the
    previous run (yesterday, later than it) is not missed."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=1), today]


def reconciliation_days(now: datetime, timezone: str, back: int = 1) -> list[date]:
    """Today and the ``back`` days before it, in the terminals' time zone (orders are filed by order day)."""
    today = local_day(now, timezone)
    return [today - timedelta(days=n) for n in range(back, -1, -1)]


def new_report_key(report: Report) -> str:
    """Where a report is kept in the bucket: by day, then time and source."""
    moment = report.started_at
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in report.source)[:60]
    return f"reconciliation/{moment:%Y-%m-%d}/{moment:%H%M%S}-{safe}-{secrets.token_hex(3)}.json"


class ReportBucket:
    """The S3 bucket of reconciliation reports (and of the bank's files the merchant uploads under imports/)."""

    client: LazyClient[Any] = LazyClient("s3")

    def __init__(self, name: str, client: Any = None) -> None:
        self.name = name
        self._client = client

    def keep(self, report: Report) -> str:
        key = new_report_key(report)
        try:
            self.client.put_object(
                Bucket=self.name,
                Key=key,
                Body=json.dumps(report.as_json(), indent=2).encode(),
                ContentType="application/json",
            )
        except (ClientError, BotoCoreError) as exc:
            raise ReportUnavailableError(f"S3 PutObject {key} failed: {exc}") from exc
        return key

    def read(self, key: str) -> bytes:
        try:
            return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise ReportUnavailableError(f"S3 GetObject {key} failed: {exc}") from exc
