"""Needs attention: the orders holding a review nobody marked reviewed, each with what happened and what to do, and
the confirmations that matched no order; an operator marks them reviewed, recorded with their e-mail.

The page and the API call the same use cases (``orders.attention``); a mark covers the reviews the page showed
(their number, a hidden field), so a review that arrived since keeps the order on the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from orders.actors import Actor, ActorKind
from orders.attention import (
    MarkOutcome,
    limit_of,
    mark_reviewed,
    mark_unmatched_reviewed,
    orders_needing_attention,
    unmatched_confirmations,
)
from orders.exceptions import ConcurrentUpdateError, InvalidOrderError, OrderNotFoundError, UnknownTerminalError
from orders.model import Order, Review
from sealing import FieldError, check_reference

from ..exceptions import FormError, PageNotFound
from ..http import Response
from ..i18n import Translator
from ..routing import Context, Route, form_field

DEFAULT_ZONE = "Europe/Paris"
PAGE_SIZE = "20"
# What a redirect after a mark may say (``done``): a mark's outcome, or the order kept changing meanwhile.
BUSY = "busy"
UNMATCHED_DONE = ("unmatched_reviewed", "unmatched_already")
DONE = frozenset({outcome.value for outcome in MarkOutcome} | {BUSY, *UNMATCHED_DONE})


@dataclass(frozen=True)
class OpenReview:
    reason: str  # ReviewReason value: its words come from the locales
    time: str
    detail: str


@dataclass(frozen=True)
class OrderRow:
    reference: str
    amount: str
    status: str
    seen: int  # how many reviews the page showed: what a mark covers
    reviews: list[OpenReview]
    marked_by: str  # who marked the reviews before these ("" when nobody)


def _timezone(ctx: Context, tpe: str) -> str:
    try:
        return ctx.deps.terminals().get(tpe).terminal.timezone
    except UnknownTerminalError:
        return DEFAULT_ZONE


def _time(t: Translator, moment: datetime, timezone: str) -> str:
    return f"{t.time(moment, timezone)} ({timezone})"


def _review(t: Translator, review: Review, timezone: str) -> OpenReview:
    return OpenReview(review.reason.value, _time(t, review.at, timezone), review.detail)


def _row(ctx: Context, order: Order) -> OrderRow:
    timezone = _timezone(ctx, order.tpe)
    last = order.review_marks[-1] if order.review_marks else None
    return OrderRow(
        reference=order.reference,
        amount=ctx.t.money(order.amount.amount, order.currency),
        status=ctx.t(f"status.{order.status.value}"),
        seen=len(order.reviews),
        reviews=[_review(ctx.t, review, timezone) for review in order.open_reviews],
        marked_by=ctx.t("attention.marked_before", who=last.actor.name, time=_time(ctx.t, last.at, timezone))
        if last
        else "",
    )


def page(ctx: Context) -> Response:
    query = ctx.request.query
    name = "cursor"  # the parameter read: a refusal names it
    try:
        orders = orders_needing_attention(ctx.deps.store, limit=limit_of(PAGE_SIZE), cursor=query.get(name))
        name = "unmatched_cursor"
        unmatched = unmatched_confirmations(ctx.deps.store, limit=limit_of(PAGE_SIZE), cursor=query.get(name))
    except InvalidOrderError:
        raise FormError(name, ctx.t("attention.bad_cursor")) from None
    done = query.get("done", "")
    return ctx.page(
        "attention.html",
        orders=[_row(ctx, order) for order in orders.orders],
        next_orders=orders.cursor,
        unmatched=[(c, _time(ctx.t, c.received_at, _timezone(ctx, c.tpe))) for c in unmatched.confirmations],
        next_unmatched=unmatched.cursor,
        done=done if done in DONE else "",
        done_reference=query.get("reference", "")[:64] if done in DONE else "",
        can_mark=ctx.can("operator"),
    )


def _user(ctx: Context) -> Actor:
    assert ctx.session is not None  # the route needs a role: the router signed the user in
    return Actor(ActorKind.CONSOLE_USER, ctx.session.email)


def mark(ctx: Context) -> Response:
    reference = ctx.params["reference"]
    try:
        check_reference(reference)
    except FieldError:
        raise PageNotFound() from None
    seen = int(form_field(ctx, "reviews", r"[0-9]{1,4}"))
    try:
        marked = mark_reviewed(ctx.deps.store, reference, seen, _user(ctx), ctx.now)
    except OrderNotFoundError:
        raise PageNotFound() from None
    except InvalidOrderError as exc:
        raise FormError(exc.field or "reviews", ctx.t("attention.bad_count")) from None
    except ConcurrentUpdateError:
        return ctx.redirect("/console/attention", done=BUSY, reference=reference)
    return ctx.redirect("/console/attention", done=marked.outcome.value, reference=reference)


def mark_unmatched(ctx: Context) -> Response:
    pk = form_field(ctx, "pk", r"UNMATCHED#.{1,250}")
    sk = form_field(ctx, "sk", r"CONFIRMATION#.{1,100}")
    marked = mark_unmatched_reviewed(ctx.deps.store, pk, sk, _user(ctx), ctx.now)
    reference = pk.split("#", 2)[-1]
    return ctx.redirect("/console/attention", done=UNMATCHED_DONE[0 if marked else 1], reference=reference)


ROUTES = [
    Route("GET", "/console/attention", "viewer", page),
    Route("POST", "/console/orders/{reference}/reviewed", "operator", mark),
    Route("POST", "/console/attention/unmatched", "operator", mark_unmatched),
]
