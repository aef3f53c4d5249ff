"""The books as the merchant reads them, one use case for the API (``GET /books/captures|refunds``) and the console
(its books page and its CSV download): what a query asks (the terminal, the day, the format), one page of a day's
books, a whole day's entries, a day's export file (CSV, or the bank's XML shape), and the last days' figures the
console charts. ``orders.daybook`` finds the entries; this module answers what was asked of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .calendar import local_day
from .daybook import (
    EXPORT_READS,
    WINDOW_DAYS,
    Entry,
    as_bank_xml,
    as_csv,
    booked_page,
    booked_pages,
    entries_of,
    read_orders,
)
from .exceptions import BooksTooLargeError, InvalidOrderError, UnknownTerminalError
from .store import OrderStore
from .terminals import TerminalConfig, Terminals, TerminalsProvider

KINDS = ("captures", "refunds")
PARAMETERS = ("day", "format", "tpe", "cursor")
CHART_DAYS = 30
# Orders the chart of the last 30 days reads at most: the books of 30 days read the order days of the 62 days
# before them too (92 DateIndex partitions, and a year of split payments' months), each order once.
CHART_READS = 20_000


@dataclass(frozen=True)
class BooksQuery:
    """What was asked of the books: which (captures or refunds), the terminal, the day, the format, where a JSON
    page goes on; ``one_terminal`` when the terminal was named (only its entries), rather than the default one."""

    kind: str
    terminal: TerminalConfig
    day: date
    shape: str  # json | csv | xml
    cursor: str | None = None
    one_terminal: bool = False


@dataclass(frozen=True)
class Export:
    """A day's books as a file to download."""

    filename: str
    text: str
    content_type: str


def terminal_asked(terminals: Terminals, tpe: str | None) -> TerminalConfig:
    """The terminal ``tpe`` names (none: the default one); a 400 naming ``tpe`` for one the stack does not have."""
    try:
        return terminals.get(tpe or None)
    except UnknownTerminalError as exc:
        raise InvalidOrderError("tpe", str(exc)) from None


def parse_query(
    terminals: Terminals, query: Mapping[str, str], now: datetime, kind: str, *, days_back: int = 0
) -> BooksQuery:
    """The books ``query`` asks for: ``tpe`` (default the default terminal), ``day`` (default ``days_back`` days
    before today in that terminal's zone), ``format`` (json, csv, xml for captures), ``cursor`` (JSON pages only).
    A 400 naming the parameter that is not right."""
    unknown = set(query) - set(PARAMETERS)
    if unknown:
        raise InvalidOrderError(sorted(unknown)[0], f"unknown parameter ({', '.join(PARAMETERS)})")
    if kind not in KINDS:
        raise InvalidOrderError("kind", "captures or refunds")
    terminal = terminal_asked(terminals, query.get("tpe"))
    try:
        today = local_day(now, terminal.terminal.timezone)
        day = date.fromisoformat(query["day"]) if query.get("day") else today - timedelta(days=days_back)
    except ValueError:
        raise InvalidOrderError("day", f"{query['day']!r} is not a date like 2026-11-27") from None
    shape = query.get("format") or "json"
    if shape not in ("json", "csv", "xml") or (shape == "xml" and kind != "captures"):
        raise InvalidOrderError("format", "json or csv (and xml for captures: the bank's daily file)")
    if shape != "json" and query.get("cursor"):
        raise InvalidOrderError("cursor", "pages are JSON's: a CSV or XML export is the whole day")
    return BooksQuery(kind, terminal, day, shape, query.get("cursor") or None, bool(query.get("tpe")))


class Books:
    """The day's books of the stack's terminals, read from the orders table."""

    def __init__(self, store: OrderStore, terminals: TerminalsProvider) -> None:
        self.store = store
        self.terminals = terminals

    def query(self, query: Mapping[str, str], now: datetime, kind: str, *, days_back: int = 0) -> BooksQuery:
        return parse_query(self.terminals(), query, now, kind, days_back=days_back)

    def page(self, asked: BooksQuery) -> dict[str, Any]:
        """One page of the day's books as the API answers it: ``{"day", <kind>: [...], "next"}``."""
        page = booked_page(self.store, self.terminals, asked.day, asked.kind, asked.cursor)
        entries = [e for e in page.entries if not asked.one_terminal or e.tpe == asked.terminal.tpe]
        return {"day": asked.day.isoformat(), asked.kind: [entry.as_json() for entry in entries], "next": page.cursor}

    def entries(self, asked: BooksQuery, most_reads: int = EXPORT_READS) -> list[Entry]:
        """Every entry of the day (the terminal's, when named or for the bank's XML), in time order; past
        ``most_reads`` orders read, ``BooksTooLargeError``."""
        entries = booked_pages(self.store, self.terminals, asked.day, asked.kind, most_reads)
        if asked.one_terminal or asked.shape == "xml":
            entries = [e for e in entries if e.tpe == asked.terminal.tpe]
        return entries

    def export(self, asked: BooksQuery) -> Export:
        """The day's books as a CSV file, or for captures as the bank's daily XML file of one terminal."""
        entries = self.entries(asked)
        if asked.shape == "xml":
            terminal = asked.terminal
            text = as_bank_xml(entries, terminal.tpe, terminal.terminal.societe, asked.day, terminal.terminal.timezone)
            return Export(f"recouvrements-{terminal.tpe}-{asked.day}.xml", text, "application/xml; charset=utf-8")
        return Export(f"{asked.kind}-{asked.day}.csv", as_csv(entries), "text/csv; charset=utf-8")

    def activity(
        self, terminal: TerminalConfig, last_day: date, days: int = CHART_DAYS, most_reads: int = CHART_READS
    ) -> list[DayFigures]:
        """The terminal's figures of each of the ``days`` days to ``last_day``, oldest first: its captures and
        refunds as its books hold them, and its refused payment attempts by the bank's reason, each on its day in
        the terminal's zone. One pass over the orders the books of those days read (``daybook.read_orders``);
        past ``most_reads`` of them, ``BooksTooLargeError``."""
        first_day = last_day - timedelta(days=days - 1)
        figures = {first_day + timedelta(days=n): DayFigures(first_day + timedelta(days=n)) for n in range(days)}
        configuration = self.terminals()
        timezone = terminal.terminal.timezone
        read = 0
        for order, kinds in read_orders(self.store, configuration, first_day, last_day, WINDOW_DAYS):
            read += 1
            if read > most_reads:
                raise BooksTooLargeError(last_day, most_reads)
            if order.tpe != terminal.tpe:
                continue
            for kind in kinds:
                for entry in entries_of(order, configuration, kind):
                    if entry.day in figures:
                        figures[entry.day].add(kind, entry)
            if "refunds" in kinds:  # an order of the days read on their own: its attempts are its order day's
                for attempt in order.attempts:
                    day = local_day(attempt.received_at, timezone)
                    if attempt.refused and day in figures:
                        figures[day].refused(attempt.reason)
        return list(figures.values())


@dataclass
class DayFigures:
    """One day of a terminal: the captures (how many, how much per currency), the refunds, the refusals by the
    bank's reason (``motifrefus`` as it came, ``""`` when it gave none)."""

    day: date
    captures: int = 0
    captured: dict[str, Decimal] = field(default_factory=dict)
    refunds: int = 0
    refunded: dict[str, Decimal] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, entry: Entry) -> None:
        amount = entry.amount
        if kind == "captures":
            self.captures += 1
            self.captured[amount.currency] = self.captured.get(amount.currency, Decimal(0)) + amount.amount
        else:
            self.refunds += 1
            self.refunded[amount.currency] = self.refunded.get(amount.currency, Decimal(0)) + amount.amount

    def refused(self, reason: str) -> None:
        self.refusals[reason] = self.refusals.get(reason, 0) + 1

    @property
    def refusal_count(self) -> int:
        return sum(self.refusals.values())
