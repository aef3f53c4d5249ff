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

import base64
import binascii
import csv
import io
import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sealing import Money

from .backoffice import CAPTURES, REFUNDS
from .calendar import local_day, zone
from .exceptions import BooksTooLargeError, InvalidOrderError
from .listing import index_key
from .model import APPLIED_OUTCOMES, InstalmentState, Order, SecondPayment
from .store import OrderStore, split_months
from .terminals import PaymentMode, Terminals, TerminalsProvider

WINDOW_DAYS = 62
PAGE_READS = 1000  # orders one page of the books reads at most: one call's work, whatever the volume
EXPORT_READS = 20_000  # orders a CSV or XML export reads at most (API Gateway answers within 29 s)


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
        found.append(entry(order.paid_at, order.paid_on, order.amount, "payment"))
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
    timezone = terminals.timezone(order.tpe)
    return _entries(order, timezone, wanted)


def booked(
    store: OrderStore, terminals: TerminalsProvider, day: date, kind: str, window_days: int = WINDOW_DAYS
) -> list[Entry]:
    """The captures (``kind="captures"``) or refunds (``"refunds"``) booked on ``day``, in time order."""
    return booked_on(store, terminals, [day], kind, window_days)[day]


def booked_on(
    store: OrderStore, terminals: TerminalsProvider, days: Iterable[date], kind: str, window_days: int = WINDOW_DAYS
) -> dict[date, list[Entry]]:
    """The entries booked on each of ``days``, in time order: each order day (and, for captures, each month of
    split payments) is read once, whatever the days."""
    found: dict[date, dict[tuple[str, str, str, datetime], Entry]] = {day: {} for day in days}
    if not found:
        return {}
    configuration = terminals()
    for source in _sources(store, configuration, min(found), max(found), kind, window_days):
        start: dict[str, Any] | None = None
        while True:
            orders, start = source.fetch(limit=100, start_key=start)
            for entry in source.entries(orders, configuration, kind):
                if entry.day in found:
                    found[entry.day][_entry_key(entry)] = entry
            if not start:
                break
    return {day: sorted(entries.values(), key=lambda e: e.at) for day, entries in found.items()}


@dataclass(frozen=True)
class Page:
    """Entries of one day's books found among the orders one call read, and where the next call goes on."""

    entries: list[Entry]
    cursor: str | None


def booked_page(
    store: OrderStore,
    terminals: TerminalsProvider,
    day: date,
    kind: str,
    cursor: str | None = None,
    reads: int = PAGE_READS,
    window_days: int = WINDOW_DAYS,
) -> Page:
    """The entries booked on ``day`` among the next ``reads`` orders the books read (from ``cursor``, a cursor a page
    gave, or from the start), in time order, and the cursor of the next page (``None``: the day is complete). A
    page may hold no entry and still have a next one."""
    configuration = terminals()
    sources = _sources(store, configuration, day, day, kind, window_days)
    position, key = (0, None) if cursor is None else _decode(cursor, day, kind, sources)
    found: dict[tuple[str, str, str, datetime], Entry] = {}
    read = 0
    while position < len(sources) and read < reads:
        source = sources[position]
        orders, key = source.fetch(limit=min(100, reads - read), start_key=key)
        read += len(orders)
        for entry in source.entries(orders, configuration, kind):
            if entry.day == day:
                found[_entry_key(entry)] = entry
        if not key:
            position, key = position + 1, None
    following = _encode(day, kind, position, key) if position < len(sources) else None
    return Page(sorted(found.values(), key=lambda e: e.at), following)


def booked_pages(
    store: OrderStore, terminals: TerminalsProvider, day: date, kind: str, most_reads: int, reads: int = PAGE_READS
) -> list[Entry]:
    """Every entry booked on ``day``, page after page, when the books read at most ``most_reads`` orders for it;
    ``BooksTooLargeError`` otherwise (an export is complete or is not made)."""
    configuration = terminals()  # one configuration for the whole export
    entries: list[Entry] = []
    cursor: str | None = None
    for _ in range(max(most_reads // reads, 1)):
        page = booked_page(store, configuration, day, kind, cursor, reads)
        entries.extend(page.entries)
        cursor = page.cursor
        if cursor is None:
            return sorted(entries, key=lambda e: e.at)
    raise BooksTooLargeError(day, most_reads)


def read_orders(
    store: OrderStore, terminals: Terminals, first_day: date, last_day: date, window_days: int = WINDOW_DAYS
) -> Iterator[tuple[Order, tuple[str, ...]]]:
    """Every order the books of ``first_day`` to ``last_day`` read, once each, with the books it is read for: an
    order of the order days read (``window_days`` before ``first_day`` to ``last_day``) for its captures and
    refunds, an earlier split payment for its captures (its instalments)."""
    for source in _sources(store, terminals, first_day, last_day, "captures", window_days):
        kinds = ("captures",) if source.before is not None else ("captures", "refunds")
        start: dict[str, Any] | None = None
        while True:
            orders, start = source.fetch(limit=100, start_key=start)
            for order in orders:
                if source.before is None or _order_day(order, terminals) < source.before:
                    yield order, kinds
            if not start:
                break


@dataclass(frozen=True)
class _Source:
    """One index query the books read: an order day (``DateIndex``), or a month of split payments
    (``SplitPaymentIndex``: only those ordered before ``before``, whose order day is read otherwise)."""

    name: str  # the order day, or the month: what a cursor's key must belong to
    fetch: Callable[..., tuple[list[Order], dict[str, Any] | None]]
    before: date | None = None

    def entries(self, orders: list[Order], terminals: Terminals, kind: str) -> Iterator[Entry]:
        for order in orders:
            if self.before is None or _order_day(order, terminals) < self.before:
                yield from entries_of(order, terminals, kind)


def _sources(
    store: OrderStore, terminals: Terminals, first_day: date, last_day: date, kind: str, window_days: int
) -> list[_Source]:
    """Each order day from ``window_days`` before ``first_day`` to ``last_day``, then, for captures, each month
    of split payments whose instalments may fall on those days (a year of them: their instalments)."""
    first = first_day - timedelta(days=window_days)
    sources = []
    for back in range((last_day - first).days + 1):
        order_day = (first + timedelta(days=back)).isoformat()
        sources.append(_Source(order_day, partial(store.orders_of_day, order_day)))
    if kind == "captures":
        for month in split_months(first_day, last_day):
            sources.append(_Source(month, partial(store.split_payments_of_month, month), first))
    return sources


def _order_day(order: Order, terminals: Terminals) -> date:
    timezone = terminals.timezone(order.tpe)
    return local_day(order.created_at, timezone)


def _entry_key(entry: Entry) -> tuple[str, str, str, datetime]:
    return (entry.bank_reference, entry.authorisation_number, entry.kind, entry.at)


def _encode(day: date, kind: str, position: int, key: dict[str, Any] | None) -> str:
    raw = json.dumps({"day": day.isoformat(), "kind": kind, "source": position, "key": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_DAY_KEY = ("order_day", {"pk", "sk", "order_day", "created_at"})
_SPLIT_KEY = ("split_month", {"pk", "sk", "split_month"})


def _decode(cursor: str, day: date, kind: str, sources: list[_Source]) -> tuple[int, dict[str, Any] | None]:
    """Where a page's cursor says to go on: the source and the index key; a 400 naming ``cursor`` for anything
    this API did not give for this day's books."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position, key = data["source"], data["key"]
        if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position < len(sources):
            raise ValueError("not a source of these books")
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        raise InvalidOrderError("cursor", "is not a cursor this API gave") from None
    if data.get("day") != day.isoformat() or data.get("kind") != kind:
        raise InvalidOrderError("cursor", f"belongs to other books than the {kind} of {day.isoformat()}")
    source = sources[position]
    partition, attributes = _SPLIT_KEY if source.before is not None else _DAY_KEY
    if key is not None and not index_key(key, attributes, partition, source.name):
        raise InvalidOrderError("cursor", "is not a cursor this API gave")
    return position, key


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
