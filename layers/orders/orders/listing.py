"""The console's order list: orders by order day (in their terminal's time zone), newest first, filtered by
status, paginated.

Reads the sparse ``DateIndex`` day by day (never a scan); the cursor says which day and where in it to resume.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .calendar import local_day
from .exceptions import InvalidOrderError
from .model import Order, OrderStatus
from .store import ORDER_SK, OrderStore

HISTORY_DAYS = 120  # the bank's dashboard keeps 4 months (docs/protocol.md, The bank's pages); the default window
MAX_RANGE_DAYS = 400
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page:
    orders: list[Order]
    cursor: str | None


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


def index_key(key: Any, attributes: set[str], partition: str, value: str) -> bool:
    """Whether ``key`` is an index's ``LastEvaluatedKey`` of an order item in the partition ``partition = value``:
    exactly ``attributes``, each a string, the order's key well formed (DynamoDB refuses an oversized key as if it
    were down)."""
    return (
        isinstance(key, dict)
        and set(key) == attributes
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
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


def list_orders(
    store: OrderStore, query: dict[str, str], now: datetime, timezones: Iterable[str] = ("Europe/Paris",)
) -> Page:
    """``query``: ``status``, ``from``, ``to`` (YYYY-MM-DD, order days in each terminal's zone), ``limit``,
    ``cursor``. ``timezones``: the terminals' zones; by default the list ends on the latest "today" among them,
    so an order made just now is listed whatever its terminal's zone."""
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
    limit_text = query.get("limit") or "50"
    if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise InvalidOrderError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    limit = int(limit_text)

    day, key = (last, None)
    if query.get("cursor"):
        day, key = _decode(query["cursor"])
        if not first <= day <= last:
            raise InvalidOrderError("cursor", "does not belong to this date range")
    orders: list[Order] = []
    while day >= first:
        page, key = store.orders_of_day(day.isoformat(), limit=limit - len(orders), start_key=key, status=status)
        orders.extend(page)
        if len(orders) >= limit:
            if key is None:
                day, key = day - timedelta(days=1), None
            return Page(orders, _encode(day, key) if day >= first else None)
        if key is None:
            day -= timedelta(days=1)
    return Page(orders, None)
