"""What needs a human look, and who looked: the orders holding a review nobody marked reviewed, and the
confirmations that matched no order, listed latest first page by page from ``AttentionIndex`` (never a scan);
marking them reviewed records who did it and when.

An order's reviews are appended by the confirmation's decision, the back office, the sweeper and the give-back of
second payments; each of those writes puts the order in the index. A mark covers the reviews its author saw (their
number): when the order still holds exactly that many it leaves the index, and a review appended in between stays
open, the order listed, until someone marks it too. Marking what a mark covers already writes nothing.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .actors import Actor
from .exceptions import ConcurrentUpdateError, InvalidOrderError
from .listing import index_key, string_key
from .model import Order, ReviewMark, UnmatchedConfirmation
from .store import ATTENTION_ORDERS, ATTENTION_UNMATCHED, OrderStore

MAX_LIMIT = 100
DEFAULT_LIMIT = 25
MARK_ATTEMPTS = 3  # a mark read again after losing to a review appended (or another mark) meanwhile
_KEY_ATTRIBUTES = {"pk", "sk", "attention", "attention_at"}
_UNMATCHED_KEY = re.compile(r"UNMATCHED#[^#]{1,20}#.{1,200}", re.DOTALL)


class MarkOutcome(enum.Enum):
    REVIEWED = "reviewed"  # every review the order holds is covered: it needs no more attention
    NEWER_OPEN = "newer_open"  # those seen are covered; reviews appended since stay open
    ALREADY = "already"  # a mark covered them already: nothing written


@dataclass(frozen=True)
class Marked:
    order: Order  # as the mark left it (or found it, ``ALREADY``)
    outcome: MarkOutcome


@dataclass(frozen=True)
class OrdersPage:
    orders: list[Order]
    cursor: str | None


@dataclass(frozen=True)
class UnmatchedPage:
    confirmations: list[UnmatchedConfirmation]
    cursor: str | None


def limit_of(text: str | None) -> int:
    """The page size asked (``limit``), 1 to ``MAX_LIMIT``; ``DEFAULT_LIMIT`` when not asked."""
    text = text or str(DEFAULT_LIMIT)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidOrderError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def _encode(key: dict[str, Any] | None) -> str | None:
    if key is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def _unmatched_key(key: Any) -> bool:
    return (
        string_key(key, _KEY_ATTRIBUTES)
        and key["attention"]["S"] == ATTENTION_UNMATCHED
        and bool(_UNMATCHED_KEY.fullmatch(key["pk"]["S"]))
        and key["sk"]["S"].startswith("CONFIRMATION#")
        and len(key["sk"]["S"]) <= 100
    )


def _decode(cursor: str | None, partition: str) -> dict[str, Any] | None:
    """The index key a cursor this module gave holds (400 naming ``cursor`` for anything else)."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        key = None
    if partition == ATTENTION_ORDERS:
        valid = index_key(key, _KEY_ATTRIBUTES, "attention", partition)
    else:
        valid = _unmatched_key(key)
    if not valid:
        raise InvalidOrderError("cursor", "is not a cursor this API gave")
    return key  # type: ignore[no-any-return]


def orders_needing_attention(store: OrderStore, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> OrdersPage:
    """The orders holding a review nobody marked reviewed, latest review first: one page, and the cursor of the
    next (``None``: the last)."""
    orders, key = store.orders_needing_attention(limit=limit, start_key=_decode(cursor, ATTENTION_ORDERS))
    return OrdersPage(orders, _encode(key))


def unmatched_confirmations(
    store: OrderStore, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> UnmatchedPage:
    """The confirmations kept because they matched no order, nobody marked reviewed, latest first: one page."""
    found, key = store.unmatched_confirmations(limit=limit, start_key=_decode(cursor, ATTENTION_UNMATCHED))
    return UnmatchedPage(found, _encode(key))


def mark_reviewed(store: OrderStore, reference: str, seen: int, actor: Actor, now: datetime) -> Marked:
    """Mark the first ``seen`` reviews of the order reviewed by ``actor`` at ``now``: those its author was shown.

    ``OrderNotFoundError`` for no such order; ``InvalidOrderError`` (``reviews``) when it does not hold that many.
    """
    for _ in range(MARK_ATTEMPTS):
        order = store.get(reference)
        if not 1 <= seen <= len(order.reviews):
            held = len(order.reviews)
            raise InvalidOrderError("reviews", f"must be the number of reviews seen, from 1 to {held} (the order's)")
        if order.reviews_covered >= seen:
            return Marked(order, MarkOutcome.ALREADY)
        mark = ReviewMark(actor, now, seen)
        every_review = seen == len(order.reviews)
        try:
            store.mark_reviewed(order.reference, mark, every_review=every_review)
        except ConcurrentUpdateError:
            continue  # a review appended, or another mark, since it was read: decide again on the order as it is
        marked = order.with_changes(review_marks=(*order.review_marks, mark))
        return Marked(marked, MarkOutcome.REVIEWED if every_review else MarkOutcome.NEWER_OPEN)
    raise ConcurrentUpdateError(f"order {reference} kept changing while its reviews were marked; try again")


def mark_unmatched_reviewed(store: OrderStore, pk: str, sk: str, actor: Actor, now: datetime) -> bool:
    """Mark a kept unmatched confirmation reviewed; False when it was marked already (or is not kept)."""
    try:
        store.mark_unmatched_reviewed(pk, sk, actor, now)
    except ConcurrentUpdateError:
        return False
    return True
