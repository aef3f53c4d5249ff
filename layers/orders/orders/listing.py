"""The orders list (the API's ``GET /orders``, the console's orders page): orders by order day (in their terminal's
time zone), newest first, filtered, paged; and how many there are in each status.

Reads the sparse ``DateIndex`` day by day (never a scan); the cursor says which day and where in it to resume. The
index holds an order's day, time and status only: the other filters (terminal, amount, text) are applied to the
orders it names once read by key, so a page reads at most ``MAX_READS`` index entries whatever it finds, and says
how far back it searched (``Page.searched_to``) when that bound stopped it: its cursor goes on from there. The counts
per status read at most ``COUNT_READS`` entries of the range, newest first (the index alone when no filter needs
the order itself), and say when they stopped short (``Counts.complete``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .calendar import local_day
from .exceptions import InvalidOrderError
from .model import Order, OrderStatus
from .store import ORDER_SK, OrderStore

HISTORY_DAYS = 120  # the bank's dashboard keeps 4 months (docs/protocol.md, The bank's pages); the default window
MAX_RANGE_DAYS = 400
MAX_LIMIT = 200
MAX_READS = 1000  # index entries one page reads at most (the orders they name are read with them)
COUNT_READS = 1000  # index entries the counts per status read at most
COUNT_PAGE = 100  # index entries per query when counting (BatchGetItem's size, when the orders are read too)
MAX_TEXT = 100
PARAMETERS = ("status", "tpe", "from", "to", "amount", "text", "limit", "cursor")
_AMOUNT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,3})?")


@dataclass(frozen=True)
class Filters:
    """Which orders are listed: order days ``first`` to ``last`` and, when given, a status, a terminal, an exact
    amount (in any currency) and a text found in the reference or the buyer's e-mail (letter case aside)."""

    first: date
    last: date
    status: str | None = None
    tpe: str | None = None
    amount: Decimal | None = None
    text: str = ""

    @property
    def reads_orders(self) -> bool:
        """Whether a filter needs the order itself (the index holds its status only)."""
        return self.tpe is not None or self.amount is not None or bool(self.text)

    def matches(self, order: Order) -> bool:
        """Whether ``order`` passes the filters the index cannot apply (the status is the index's)."""
        if self.tpe is not None and order.tpe != self.tpe:
            return False
        if self.amount is not None and order.amount.amount != self.amount:
            return False
        text = self.text.casefold()
        return not text or text in order.reference.casefold() or text in order.email.casefold()


@dataclass(frozen=True)
class Page:
    orders: list[Order]
    cursor: str | None
    searched_to: date | None = None  # the read bound stopped the page: days older than this are not searched yet


@dataclass(frozen=True)
class Counts:
    """How many orders of the filtered range are in each status (every status named, zeros included)."""

    by_status: dict[str, int]
    complete: bool  # False: ``COUNT_READS`` were read before the range's end; the counts are of the newest part
    counted_to: date  # the oldest day counted (in part, when not complete)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def _day(text: str | None, field: str, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidOrderError(field, f"{text!r} is not a date like 2026-11-27") from None


def _encode(day: date, key: dict[str, Any] | None) -> str:
    raw = json.dumps({"day": day.isoformat(), "key": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_KEY_ATTRIBUTES = {"pk", "sk", "order_day", "created_at"}
_ORDER_KEY = re.compile(r"ORDER#[A-Za-z0-9]{1,12}")
# The longest key attribute a cursor may hold: the kit's are far shorter (a time, a day, an order's or an unmatched
# confirmation's key), and DynamoDB refuses an oversized one (a sort key over 1024 bytes) as if it were down.
MAX_KEY_VALUE = 256


def string_key(key: Any, attributes: set[str]) -> bool:
    """Whether ``key`` holds exactly ``attributes``, each a string no longer than ``MAX_KEY_VALUE``."""
    return (
        isinstance(key, dict)
        and set(key) == attributes
        and all(
            isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and len(v["S"]) <= MAX_KEY_VALUE
            for v in key.values()
        )
    )


def index_key(key: Any, attributes: set[str], partition: str, value: str) -> bool:
    """Whether ``key`` is an index's ``LastEvaluatedKey`` of an order item in the partition ``partition = value``:
    exactly ``attributes``, each a string of a bounded length, the order's key well formed."""
    return (
        string_key(key, attributes)
        and key[partition]["S"] == value
        and bool(_ORDER_KEY.fullmatch(key["pk"]["S"]))
        and key.get("sk", {}).get("S") == ORDER_SK
    )


def _decode(cursor: str) -> tuple[date, dict[str, Any] | None]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        day, key = date.fromisoformat(data["day"]), data["key"]
        if key is not None and not index_key(key, _KEY_ATTRIBUTES, "order_day", day.isoformat()):
            raise ValueError("not a key of the date index")
        return day, key
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        raise InvalidOrderError("cursor", "is not a cursor this API gave") from None


def filters_of(
    query: dict[str, str], now: datetime, timezones: Iterable[str] = ("Europe/Paris",), tpes: Collection[str] = ()
) -> Filters:
    """The filters ``query`` asks for (``InvalidOrderError`` naming a parameter unknown or malformed).

    ``timezones``: the terminals' zones; by default the list ends on the latest "today" among them, so an order
    made just now is listed whatever its terminal's zone. ``tpes``: the terminals a ``tpe`` may name.
    """
    unknown = sorted(set(query) - set(PARAMETERS))
    if unknown:
        raise InvalidOrderError(unknown[0], f"unknown parameter ({', '.join(PARAMETERS)})")
    today = max(local_day(now, timezone) for timezone in timezones)
    last = _day(query.get("to"), "to", today)
    first = _day(query.get("from"), "from", last - timedelta(days=HISTORY_DAYS - 1))
    if first > last:
        raise InvalidOrderError("from", "must not be after 'to'")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InvalidOrderError("from", f"the range is limited to {MAX_RANGE_DAYS} days")
    status = query.get("status") or None
    if status is not None and status not in {s.value for s in OrderStatus}:
        raise InvalidOrderError("status", f"{status!r} is not one of {', '.join(s.value for s in OrderStatus)}")
    tpe = query.get("tpe") or None
    if tpe is not None and tpe not in tpes:
        raise InvalidOrderError("tpe", f"{tpe[:20]!r} is not one of this stack's terminals ({', '.join(sorted(tpes))})")
    amount_text = (query.get("amount") or "").strip()
    if amount_text and not _AMOUNT.fullmatch(amount_text):
        raise InvalidOrderError("amount", f"{amount_text[:20]!r} is not an amount like 12.50")
    text = (query.get("text") or "").strip()
    if len(text) > MAX_TEXT:
        raise InvalidOrderError("text", f"is {len(text)} characters long, at most {MAX_TEXT}")
    return Filters(first, last, status, tpe, Decimal(amount_text) if amount_text else None, text)


def _limit(query: dict[str, str]) -> int:
    limit_text = query.get("limit") or "50"
    if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise InvalidOrderError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(limit_text)


def list_orders(
    store: OrderStore,
    query: dict[str, str],
    now: datetime,
    timezones: Iterable[str] = ("Europe/Paris",),
    tpes: Collection[str] = (),
    max_reads: int = MAX_READS,
) -> Page:
    """``query``: the filters (``filters_of``: ``status``, ``tpe``, ``from``, ``to`` as YYYY-MM-DD order days in
    each terminal's zone, ``amount``, ``text``), ``limit`` and ``cursor``; at most ``max_reads`` index entries read."""
    filters = filters_of(query, now, timezones, tpes)
    limit = _limit(query)
    first, last = filters.first, filters.last
    day, key = (last, None)
    if query.get("cursor"):
        day, key = _decode(query["cursor"])
        if not first <= day <= last:
            raise InvalidOrderError("cursor", "does not belong to this date range")
    orders: list[Order] = []
    reads = 0
    while day >= first:
        if reads >= max_reads:  # searched enough for one page: the cursor goes on from here
            return Page(orders, _encode(day, key), searched_to=day)
        asked = min(limit - len(orders), max_reads - reads)
        page, key, read = store.orders_of_day_read(day.isoformat(), limit=asked, start_key=key, status=filters.status)
        reads += read
        orders.extend(order for order in page if filters.matches(order))
        if len(orders) >= limit:
            if key is None:
                day, key = day - timedelta(days=1), None
            return Page(orders, _encode(day, key) if day >= first else None)
        if key is None:
            day -= timedelta(days=1)
    return Page(orders, None)


def count_orders(store: OrderStore, filters: Filters, bound: int = COUNT_READS) -> Counts:
    """How many orders of ``filters``' range (and terminal, amount, text: not its status) are in each status,
    newest days first, reading at most ``bound`` index entries."""
    counts = {status.value: 0 for status in OrderStatus}
    day, key, reads = filters.last, None, 0
    while day >= filters.first:
        if reads >= bound:
            return Counts(counts, False, day + timedelta(days=1) if key is None else day)
        asked = min(COUNT_PAGE, bound - reads)
        if filters.reads_orders:
            orders, key, read = store.orders_of_day_read(day.isoformat(), limit=asked, start_key=key)
            statuses = [order.status.value for order in orders if filters.matches(order)]
        else:
            statuses, key, read = store.statuses_of_day(day.isoformat(), limit=asked, start_key=key)
        reads += read
        for status in statuses:
            counts[status] = counts.get(status, 0) + 1
        if key is None:
            day -= timedelta(days=1)
    return Counts(counts, True, filters.first)
