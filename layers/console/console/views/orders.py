"""The orders: the list (filters, counts per status, newest first, paged), one order (its amounts, its timeline, the
actions its state allows) and the actions themselves — capture, cancel, refund — each behind a confirmation.

Every action is the back-office use case the API's routes call (``orders.web.operations``), recorded with the
signed-in user's e-mail. The confirmation page carries an Idempotency-Key made when it is shown: the same
confirmation sent twice (a double click, the back button) is one request, done once. The key is sealed to what the
page repeated (``confirmation_key``): the session, the order, the operation and the amount; a form changed to
another amount or sent to another order is refused, and a confirmation of "everything" is not carried out once the
order holds another amount than the one it repeated (another tab acted meanwhile).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from decimal import Decimal

from aws_lambda_powertools import Logger, Metrics

from orders.actors import Actor, ActorKind
from orders.amounts import refundable, remaining
from orders.exceptions import OrderNotFoundError
from orders.listing import count_orders, filters_of, list_orders
from orders.model import Order, OrderStatus
from orders.terminals import Terminals
from orders.timeline import Entry, Kind, Party, timeline
from orders.web.operations import (
    IDEMPOTENCY_KEY,
    OPERATIONS,
    Offer,
    OperationAnswer,
    OperationRequest,
    Outcome,
    check_request,
    offers,
    operate,
)
from sealing import FieldError, parse_amount

from ..exceptions import FormError, PageNotFound
from ..http import Response
from ..i18n import Translator
from ..routing import Context, Route, form_field

logger = Logger()
metrics = Metrics()
# The bank's refusal reasons (``motifrefus``) the console says in words; another is shown as the bank wrote it.
REASONS = {"appel phonie": "call", "refus": "refused", "interdit": "forbidden", "filtrage": "filtering",
           "scoring": "scoring", "3dsecure": "3dsecure", "-": "none", "": "none"}  # fmt: skip
LIST_PARAMETERS = ("status", "tpe", "from", "to", "amount", "text")
NONCE_CHARACTERS = 16  # the key's random part (12 bytes, base64url); its seal follows (16 bytes: 22 characters)


def _field_error(exc: FieldError) -> FormError:
    return FormError(exc.field or "", exc.reason)


def _terminals(ctx: Context) -> Terminals:
    return ctx.deps.terminals()


def orders_page(ctx: Context) -> Response:
    terminals = _terminals(ctx)
    zones = {config.terminal.timezone for config in terminals.by_tpe.values()}
    query = {name: value for name, value in ctx.request.query.items() if name != "lang"}
    try:
        filters = filters_of({k: v for k, v in query.items() if k != "cursor"}, ctx.now, zones, set(terminals.by_tpe))
        page = list_orders(ctx.deps.store, query, ctx.now, zones, set(terminals.by_tpe))
    except FieldError as exc:
        raise _field_error(exc) from None
    counts = count_orders(ctx.deps.store, filters)
    rows = [
        {
            "order": order,
            "when": ctx.t.time(order.created_at, terminals.timezone(order.tpe)),
            "amount": ctx.t.money(order.amount.amount, order.currency),
        }
        for order in page.orders
    ]
    kept = {name: query.get(name, "") for name in LIST_PARAMETERS}
    next_url = ctx.url("/console/orders", **kept, cursor=page.cursor) if page.cursor else None
    return ctx.page(
        "orders/list.html",
        rows=rows,
        counts=counts,
        filters=kept,
        first=filters.first.isoformat(),
        last=filters.last.isoformat(),
        statuses=[status.value for status in OrderStatus],
        tpes=sorted(terminals.by_tpe),
        next_url=next_url,
        searched_to=page.searched_to.isoformat() if page.searched_to else None,
    )


def _order(ctx: Context) -> Order:
    reference = ctx.params.get("reference", "")
    try:
        check_request("capture", reference, None)
        return ctx.deps.store.get(reference)
    except OrderNotFoundError:
        raise PageNotFound() from None


def _reason(reason: str, t: Translator) -> str:
    known = REASONS.get(reason.strip().lower())
    return t(f"reason.{known}") if known else t("reason.other", reason=reason)


def _who(entry: Entry, t: Translator) -> str:
    if entry.who is Party.ACTOR:
        if entry.actor is None:
            return t("who.unknown")
        return t(f"actor.{entry.actor.kind.value}", name=entry.actor.name)
    return t(f"who.{entry.who.value}")


def _describe(entry: Entry, order: Order, t: Translator) -> str:
    """What the entry says, in words."""
    d = entry.details
    if entry.kind is Kind.ATTEMPT:
        if d["outcome"] == "refused":
            return t("timeline.attempt_refused", code=d["return_code"], reason=_reason(d["reason"], t))
        return t("timeline.attempt_accepted", code=d["return_code"], number=d["authorisation_number"] or "—")
    if entry.kind in (Kind.OPERATION, Kind.OPERATION_PENDING):
        text = t(
            f"timeline.{entry.kind.value}",
            operation=t(f"operation.{d['operation']}"),
            amount=t.money(Decimal(d["amount"]), d["currency"]),
        )
        if entry.kind is Kind.OPERATION:
            text += " " + t(f"outcome.{d['outcome']}")
            if d["outcome"] == "refused":
                text += " " + d["detail"]
        return text
    if entry.kind in (Kind.SECOND_PAYMENT, Kind.SECOND_PAYMENT_GIVEN_BACK):
        return t(f"timeline.{entry.kind.value}", amount=t.money(Decimal(d["amount"]), d["currency"]),
                 reference=d["bank_reference"])  # fmt: skip
    if entry.kind is Kind.REVIEW:
        return t("timeline.review", reason=t(f"review.{d['reason']}"), detail=d["detail"])
    if entry.kind is Kind.MAIL:
        key = "timeline.mail_rejected" if d["rejected"] else "timeline.mail"
        return t(key, recipient=t(f"recipient.{d['recipient']}"), event=d["event"], reason=d["rejected"])
    if entry.kind is Kind.CREATED:
        return t("timeline.created", amount=t.money(order.amount.amount, order.currency))
    if entry.kind in (Kind.SESSION_OPENED, Kind.SESSION_SERVED):  # the first page is number 0
        return t(f"timeline.{entry.kind.value}", number=int(d["number"]) + 1, bank_reference=d["bank_reference"])
    if entry.kind is Kind.INSTALMENT:
        return t(f"timeline.instalment_{d['state']}", number=d["number"])
    return t(f"timeline.{entry.kind.value}", **d)


@dataclass(frozen=True)
class _Row:
    when: str
    who: str
    text: str
    event: str | None
    refused: bool


def order_page(ctx: Context) -> Response:
    order = _order(ctx)
    timezone = _terminals(ctx).timezone(order.tpe)
    entries = timeline(order, ctx.deps.store.mails_of(order.reference))
    rows = [
        _Row(
            ctx.t.time(e.at, timezone),
            _who(e, ctx.t),
            _describe(e, order, ctx.t),
            e.event,
            e.details.get("outcome") == "refused",
        )
        for e in entries.entries
    ]
    money = ctx.t.money
    summary = {
        "amount": money(order.amount.amount, order.currency),
        "captured": money(order.captured, order.currency),
        "refunded": money(order.refunded, order.currency),
        "remaining": money(remaining(order), order.currency),
        "refundable": money(refundable(order), order.currency),
    }
    actions = offers(order) if ctx.can("operator") else []
    return ctx.page(
        "orders/order.html",
        order=order,
        summary=summary,
        rows=rows,
        not_kept=entries.attempts_not_kept,
        actions=[(offer, money(offer.most, order.currency)) for offer in actions],
        timezone=timezone,
    )


def _offer(order: Order, operation: str) -> Offer:
    for offer in offers(order):
        if offer.operation == operation:
            return offer
    raise FormError("operation", f"{operation} is not allowed while the order is {order.status.value}")


def _amount(order: Order, offer: Offer, text: str) -> Decimal | None:
    """The amount asked (``None``: everything), checked against what the order allows."""
    if not text:
        return None
    if not offer.in_part:
        raise FormError("amount", f"a {offer.operation} of this order is for everything: leave the amount out")
    try:
        amount = parse_amount(text, order.currency, "amount").amount
    except FieldError as exc:
        raise _field_error(exc) from None
    if not 0 < amount <= offer.most:
        raise FormError("amount", f"must be more than zero and at most {offer.most} {order.currency}")
    return amount


def _operation(ctx: Context) -> str:
    operation = ctx.request.path.rsplit("/", 1)[-1]
    assert operation in OPERATIONS  # the routes name them
    return operation


def confirmation_key(csrf: str, reference: str, operation: str, amount: str, whole: str, nonce: str = "") -> str:
    """The Idempotency-Key of one confirmation page: random, sealed (HMAC with the session's CSRF token, which no
    other session and no other site knows) to the order, the operation and the amount it repeated (``amount`` as
    the form sends it, or ``whole``: the whole amount shown)."""
    nonce = nonce or secrets.token_urlsafe(12)
    message = "|".join((nonce, reference, operation, amount, whole)).encode()
    seal = hmac.new(csrf.encode(), message, hashlib.sha256).digest()[:16]
    return nonce + base64.urlsafe_b64encode(seal).decode().rstrip("=")


def confirm_page(ctx: Context) -> Response:
    order, operation = _order(ctx), _operation(ctx)
    offer = _offer(order, operation)
    text = ctx.request.query.get("amount", "").strip()
    amount = _amount(order, offer, text)
    whole = str(offer.most) if amount is None else ""
    assert ctx.session is not None  # the route needs an operator
    return ctx.page(
        "orders/confirm.html",
        order=order,
        operation=operation,
        amount=text,
        whole=whole,
        shown=ctx.t.money(offer.most if amount is None else amount, order.currency),
        key=confirmation_key(ctx.session.csrf, order.reference, operation, text, whole),
    )


def _confirmed(ctx: Context, order: Order, operation: str, key: str, text: str) -> str:
    """The whole amount the confirmation repeated ("" for a part); ``FormError`` when the form is not the one
    the confirmation page sent (its key sealed to another order, operation or amount, or to no page at all)."""
    assert ctx.session is not None  # the route needs an operator
    whole = ctx.request.form.get("whole", "").strip()
    expected = confirmation_key(ctx.session.csrf, order.reference, operation, text, whole, key[:NONCE_CHARACTERS])
    if not hmac.compare_digest(key.encode(), expected.encode()):
        raise FormError("key", "is not the one of this confirmation: open the order again and confirm what it shows")
    return whole


def _changed_since(ctx: Context, order: Order, operation: str, key: str, whole: str) -> str | None:
    """What the order now allows when a confirmation of "everything" (``whole``) sent for the first time repeated
    another amount, in words; ``None`` when it may go on (a part, the same amount, or the key's retry)."""
    if not whole or ctx.deps.store.key_record(key) is not None:
        return None
    offer = next((o for o in offers(order) if o.operation == operation), None)
    if offer is not None and offer.most == Decimal(whole):
        return None
    now = ctx.t.money(offer.most, order.currency) if offer else ctx.t.money(Decimal(0), order.currency)
    return ctx.t("answer.changed", shown=ctx.t.money(Decimal(whole), order.currency), now=now)


def _said(answer: OperationAnswer, operation: str, t: Translator) -> tuple[str, str]:
    """The answer in words, and how it reads (done, refused, unknown)."""
    outcome = answer.outcome
    if outcome is Outcome.DONE:
        return t("answer.done", operation=t(f"operation.{operation}")), "done"
    if outcome is Outcome.ANSWERED_BEFORE:
        if answer.status == 200:
            return t("answer.done_before"), "done"
        return t("answer.answered_before", message=answer.message), "error"
    if outcome is Outcome.REFUSED:
        return t("answer.refused", message=answer.message), "error"
    if outcome is Outcome.STATE_DIFFERED:
        return t("answer.state_differed", message=answer.message), "error"
    return t("answer.unknown"), "error"


def operate_page(ctx: Context) -> Response:
    order, operation = _order(ctx), _operation(ctx)
    key = form_field(ctx, "key", IDEMPOTENCY_KEY.pattern)
    text = form_field(ctx, "amount", required=False)
    if text:  # an amount not written as one is named as such, before the key it does not match
        try:
            parse_amount(text, order.currency, "amount")
        except FieldError as exc:
            raise _field_error(exc) from None
    whole = _confirmed(ctx, order, operation, key, text)
    changed = _changed_since(ctx, order, operation, key, whole)
    if changed is not None:
        return ctx.page("orders/answer.html", status=409, order=order, message=changed, tone="error")
    assert ctx.session is not None  # the route needs an operator
    user = Actor(ActorKind.CONSOLE_USER, ctx.session.email)
    request = OperationRequest(operation, order.reference, text or None, user, key)
    answer = operate(ctx.deps, request, logger, metrics)
    if answer.outcome is Outcome.INVALID:
        if isinstance(answer.error, OrderNotFoundError):
            raise PageNotFound()
        field = getattr(answer.error, "field", None) or "key"
        raise FormError(field, answer.message)
    message, tone = _said(answer, operation, ctx.t)
    status = 200 if tone == "done" else answer.status
    return ctx.page("orders/answer.html", status=status, order=order, message=message, tone=tone)


ROUTES = [
    Route("GET", "/console/orders", "viewer", orders_page),
    Route("GET", "/console/orders/{reference}", "viewer", order_page),
    *(Route("GET", f"/console/orders/{{reference}}/{name}", "operator", confirm_page) for name in OPERATIONS),
    *(Route("POST", f"/console/orders/{{reference}}/{name}", "operator", operate_page) for name in OPERATIONS),
]
