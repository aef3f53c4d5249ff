"""The day's books as the bank's dashboard lists them: payments by capture date, refunds by date, and the daily
export of what was captured (JSON, CSV, and the shape of the bank's own XML file).

A capture's day is the bank's (``date_remise``) when it said so, else the day it was recorded in the terminal's
time zone; an immediate payment is captured the day it was paid, a split payment's instalments each on the day the
bank collected it. A second payment of an order (accepted once it was paid, and given back) is booked on its own
bank reference: its capture (a second authorisation's only when the bank captured it, on the bank's day), and the
refund that gave it back. Orders are read by order day (``DateIndex``) over
the ``window_days`` before the day asked, and split payments over the year before it (``SplitPaymentIndex``): a
capture or refund of an older order is not listed.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sealing import Money

from .calendar import local_day, zone
from .model import APPLIED_OUTCOMES, InstalmentState, Order, SecondPayment
from .operations import CAPTURES, REFUNDS
from .store import OrderStore, split_months
from .terminals import PaymentMode, Terminals

WINDOW_DAYS = 62


@dataclass(frozen=True)
class Entry:
    """One capture or refund, as booked."""

    reference: str
    bank_reference: str
    tpe: str
    at: datetime
    day: date
    amount: Money  # what this entry captured or refunded
    order_amount: Money
    order_date: date
    authorisation_number: str
    kind: str  # payment | capture_partial | capture_full | refund_partial | refund_full

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "bank_reference": self.bank_reference,
            "tpe": self.tpe,
            "time": self.at.isoformat(),
            "day": self.day.isoformat(),
            "amount": str(self.amount.amount),
            "currency": self.amount.currency,
            "order_amount": str(self.order_amount.amount),
            "order_date": self.order_date.isoformat(),
            "authorisation_number": self.authorisation_number,
            "kind": self.kind,
        }


def _entries(order: Order, timezone: str, wanted: frozenset[str]) -> list[Entry]:
    def entry(at: datetime, day: date | None, amount: Money, kind: str, of: SecondPayment | None = None) -> Entry:
        # A second payment is booked on its own session: its reference, form date and authorisation number.
        return Entry(
            order.reference, of.bank_reference if of else order.bank_payment_reference, order.tpe, at,
            day or local_day(at, timezone), amount, order.amount,
            local_day(of.ordered_at if of else order.bank_ordered_at, timezone),
            of.authorisation_number if of else order.authorisation_number, kind,
        )  # fmt: skip

    found = []
    if "payment" in wanted and order.books_instalments:  # each instalment captured as the bank collected it
        for outcome in order.instalment_outcomes:
            if outcome.state is InstalmentState.COLLECTED:
                amount = order.instalments[outcome.number - 1].amount
                found.append(entry(outcome.at, outcome.day, amount, "payment" if outcome.number == 1 else "instalment"))
    elif "payment" in wanted and order.paid_at and order.mode is PaymentMode.IMMEDIATE:  # captured as it was paid
        found.append(entry(order.paid_at, None, order.amount, "payment"))
    for record in order.operations:
        if record.event in wanted and record.outcome in APPLIED_OUTCOMES:
            found.append(entry(record.at, record.bank_day, record.amount, record.event))
    for payment in order.second_payments:
        if payment.captured:  # an authorisation given back by cancelling it was never captured
            found.extend(entry(*booking, payment) for booking in _second_payment_bookings(payment, wanted))
    return found


def _second_payment_bookings(
    payment: SecondPayment, wanted: frozenset[str]
) -> list[tuple[datetime, date | None, Money, str]]:
    """A captured second payment's capture (when it was accepted, or the bank's capture of an authorisation on the
    bank's day) and the refund that gave it back, as (time, day, amount, kind)."""
    bookings: list[tuple[datetime, date | None, Money, str]] = []
    capture = payment.bank_capture
    if capture is not None and capture.event in wanted:
        bookings.append((capture.at, capture.bank_day, payment.amount, capture.event))
    elif capture is None and "payment" in wanted:
        bookings.append((payment.received_at, None, payment.amount, "payment"))
    given = payment.outcome
    if given is not None and given.event in wanted and given.outcome in APPLIED_OUTCOMES:
        bookings.append((given.at, None, given.amount, given.event))
    return bookings


def entries_of(order: Order, terminals: Terminals, kind: str) -> list[Entry]:
    """The order's captures (``kind="captures"``) or refunds (``"refunds"``) as booked, whatever their day."""
    wanted = frozenset({"payment", *CAPTURES}) if kind == "captures" else frozenset(REFUNDS)
    timezone = terminals.get(order.tpe).terminal.timezone if order.tpe in terminals else "Europe/Paris"
    return _entries(order, timezone, wanted)


def booked(
    store: OrderStore, terminals: Terminals, day: date, kind: str, window_days: int = WINDOW_DAYS
) -> list[Entry]:
    """The captures (``kind="captures"``) or refunds (``"refunds"``) booked on ``day``, in time order."""
    return booked_on(store, terminals, [day], kind, window_days)[day]


def booked_on(
    store: OrderStore, terminals: Terminals, days: Iterable[date], kind: str, window_days: int = WINDOW_DAYS
) -> dict[date, list[Entry]]:
    """The entries booked on each of ``days``, in time order: each order day (and, for captures, each month of
    split payments) is read once, whatever the days."""
    found: dict[date, dict[tuple[str, str, str, datetime], Entry]] = {day: {} for day in days}
    if not found:
        return {}

    def read(fetch: Callable[..., tuple[list[Order], dict[str, Any] | None]], order_day: date | None) -> None:
        start: dict[str, Any] | None = None
        while True:
            orders, start = fetch(limit=100, start_key=start)
            for order in orders:
                for entry in entries_of(order, terminals, kind):
                    in_window = order_day is None or 0 <= (entry.day - order_day).days <= window_days
                    if entry.day in found and in_window:  # an order read twice (by day, as a split payment): once
                        key = (entry.bank_reference, entry.authorisation_number, entry.kind, entry.at)
                        found[entry.day][key] = entry
            if not start:
                return

    first = min(found) - timedelta(days=window_days)
    for back in range((max(found) - first).days + 1):
        order_day = first + timedelta(days=back)
        read(partial(store.orders_of_day, order_day.isoformat()), order_day)
    if kind == "captures":  # a split payment's instalments fall up to a year after its order
        for month in split_months(min(found), max(found)):
            read(partial(store.split_payments_of_month, month), None)
    return {day: sorted(entries.values(), key=lambda e: e.at) for day, entries in found.items()}


def as_csv(entries: list[Entry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = ["reference", "bank_reference", "tpe", "time", "day", "amount", "currency", "order_amount",
               "order_date", "authorisation_number", "kind"]  # fmt: skip
    writer.writerow(columns)
    for entry in entries:
        row = entry.as_json()
        # A cell starting like a formula is kept as text by spreadsheets (CSV injection).
        writer.writerow([("'" + v) if v[:1] in "=+-@" else v for v in (str(row[c]) for c in columns)])
    return out.getvalue()


def as_bank_xml(entries: list[Entry], tpe: str, societe: str, day: date, timezone: str) -> str:
    """The captures of one terminal in the shape of the bank's daily file (``recouvrements``), card excepted."""
    root = ElementTree.Element("recouvrements", {"tpe": tpe, "societe": societe, "date": f"{day:%d/%m/%Y}"})
    for entry in (e for e in entries if e.tpe == tpe):
        item = ElementTree.SubElement(root, "paiement")
        moment = entry.at.astimezone(zone(timezone))
        for tag, value in (
            ("reference", entry.bank_reference),
            ("date_commande", f"{entry.order_date:%d/%m/%Y}"),
            ("heure", f"{moment:%H:%M:%S}"),
            ("montant", entry.order_amount.wire()),
            ("montant_recouvre", entry.amount.wire()),
            ("numauto", entry.authorisation_number),
        ):
            ElementTree.SubElement(item, tag).text = value
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
