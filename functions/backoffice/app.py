"""The merchant console (the bank's "gestionnaire commerçant") as an API, IAM only.

GET /orders?status=&from=&to=&limit=&cursor=          orders by order date, newest first
POST /orders/{reference}/capture   {"amount": "10.00"}   (no amount: all that remains)
POST /orders/{reference}/cancel                          (cancels what remains)
POST /orders/{reference}/refund    {"amount": "5.00"}    (no amount: all that is refundable)
GET /attention?limit=&cursor=                            orders holding a review nobody marked, latest first
POST /orders/{reference}/reviewed  {"reviews": 2}        the first 2 reviews (those seen) marked reviewed
GET /books/captures?day=&format=json|csv|xml&tpe=&cursor=  payments by capture date (xml: the bank's daily file)
GET /books/refunds?day=&format=json|csv&cursor=         refunds by date (json: page by page, "next")
POST /keys {"scope": "shop", "label": "web shop", "expires_at": null}   a shop key, shown this once (201)
GET /keys                                                   the shop keys (never a key itself)
POST /keys/{id}/revoke {"at": "2026-12-01T00:00:00Z"}      (no at: now) the key refused from then on

An ``Idempotency-Key`` header makes a retried operation answer what the first one did instead of
doing it again (``orders.idempotency``: 409 while the first is in flight, 422 for a key sent with another
request).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from orders.actors import Actor
from orders.attention import limit_of, mark_reviewed, orders_needing_attention
from orders.backoffice import BackOffice
from orders.books import Books
from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import (
    BankRefusedError,
    BankStateDifferedError,
    InvalidOrderError,
    OrderNotFoundError,
    PreviousOperationAppliedError,
    StoreUnavailableError,
    TransitionNotAllowedError,
    UnknownTerminalError,
)
from orders.idempotency import IdempotencyKeys, Keep, fingerprint
from orders.keys import ShopKeys, parse_time
from orders.listing import list_orders
from orders.model import Order
from orders.web import errors
from orders.web.callers import caller
from orders.web.http import body_bytes, header, json_body, json_response, text_response
from orders.web.resolver import api_handler, resolver, response
from sealing import FieldError, check_reference

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
logger = Logger()
metrics = Metrics()
# What the console says where the API's general answer would mislead: after a store failure the bank may have
# done it (the order's journal settles it before anything else), and any terminal missing is a configuration
# to repair.
MESSAGES: errors.Messages = {
    StoreUnavailableError: (
        "the order store is unavailable; read the order before retrying (an open operation is settled first)"
    ),
    UnknownTerminalError: "the terminal configuration is unusable; see the function's log",
}


def _fields(event: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The body (empty, or a JSON object of the fields the operation knows), read before anything is done."""
    body = json_body(event)
    unknown = sorted(set(body) - known)
    if unknown:
        takes = f"takes only {', '.join(sorted(known))}" if known else "takes none"
        raise InvalidOrderError(unknown[0], f"is not a field of this operation, which {takes}")
    return body


def _amount(event: dict[str, Any]) -> str | None:
    """The amount as the merchant wrote it, read in the order's currency by the operation (``62.73`` EUR)."""
    body = _fields(event, frozenset({"amount"}))
    if "amount" not in body:
        return None  # all that remains, or all that is refundable
    value = body["amount"]
    if not isinstance(value, str):  # null included: only leaving the field out means "everything"
        raise InvalidOrderError("amount", 'must be a string like "10.00" (leave the field out for everything)')
    return value


def _cancel(
    office: BackOffice, reference: str, event: dict[str, Any], now: datetime, actor: Actor, key: str | None
) -> Order:
    _fields(event, frozenset())  # what remains is cancelled; a malformed body must not cancel anything
    return office.cancel(reference, now, actor, key)


def _books(deps: Dependencies, query: dict[str, str], kind: str) -> dict[str, Any]:
    books = Books(deps.store, deps.terminals)
    asked = books.query(query, deps.clock(), kind)
    if asked.shape == "json":
        return json_response(200, books.page(asked))
    export = books.export(asked)
    headers = {"Content-Type": export.content_type, "Content-Disposition": f"attachment; filename={export.filename}"}
    return text_response(200, export.text, headers)


def _idempotency_key(event: dict[str, Any]) -> str | None:
    key = header(event, "Idempotency-Key")
    if not key:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidOrderError("Idempotency-Key", "must be 8 to 64 letters, digits, '-' or '_'")
    return key


# An operation on the order named, as asked by the request, at the time given, by the actor (the request's caller).
Operation = Callable[[BackOffice, str, dict[str, Any], datetime, Actor, str | None], Order]
# A request that ended this way has a definitive answer, replayed to every retry with its Idempotency-Key.
# "The earlier one was found applied" is one too: a retry with this key must not then do it.
DEFINITIVE = (BankRefusedError, TransitionNotAllowedError, BankStateDifferedError, PreviousOperationAppliedError)
# One that ended this way changed nothing: its key may be sent again, with a corrected request.
NOTHING_DONE = (FieldError, OrderNotFoundError)  # InvalidOrderError is a FieldError


def _answered(attempt: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], Keep]:
    """``attempt``'s response, or the API's answer to its error, and what its key keeps of it."""
    try:
        return attempt(), Keep.ANSWER
    except errors.API_ERRORS as exc:
        answer = errors.answer(exc, logger, metrics, MESSAGES)
        if isinstance(exc, NOTHING_DONE):
            return answer, Keep.NOTHING
        return answer, Keep.ANSWER if isinstance(exc, DEFINITIVE) else Keep.RETRY


OPERATIONS: dict[str, Operation] = {
    "capture": lambda o, r, e, now, actor, k: o.capture(r, _amount(e), now, actor, k),
    "cancel": _cancel,
    "refund": lambda o, r, e, now, actor, k: o.refund(r, _amount(e), now, actor, k),
}


def _operate(deps: Dependencies, run: Operation, event: dict[str, Any]) -> dict[str, Any]:
    reference = (event.get("pathParameters") or {}).get("reference", "")
    try:
        check_reference(reference)  # no order has another form; DynamoDB would refuse an oversized key (503)
    except FieldError:
        raise OrderNotFoundError(reference[:40]) from None
    logger.append_keys(reference=reference)
    key = _idempotency_key(event)
    actor = caller(event)
    now = deps.clock()

    def attempt(retry: bool = True) -> dict[str, Any]:
        # A key's first request (retry False) may find nothing done under that key before.
        office = BackOffice(deps.store, deps.terminals, deps.bank_client, fresh_key=not retry)
        order = run(office, reference, event, now, actor, key)
        logger.info("back-office operation done", extra={"status": order.status.value})
        metrics.add_metric(name="BackOfficeOperations", unit=MetricUnit.Count, value=1)
        return json_response(200, order.as_json())

    if key is None:
        return attempt()
    path = str(event.get("resource", "")).replace("{reference}", reference)
    request = fingerprint(str(event.get("httpMethod", "")), path, body_bytes(event))
    return IdempotencyKeys(deps.store).run(key, request, now, lambda retry: _answered(lambda: attempt(retry)))


def _attention(deps: Dependencies, query: dict[str, str]) -> dict[str, Any]:
    unknown = set(query) - {"limit", "cursor"}
    if unknown:
        raise InvalidOrderError(sorted(unknown)[0], "unknown parameter (limit, cursor)")
    page = orders_needing_attention(deps.store, limit=limit_of(query.get("limit")), cursor=query.get("cursor"))
    return json_response(200, {"orders": [order.as_json() for order in page.orders], "next": page.cursor})


def _reviewed(deps: Dependencies, event: dict[str, Any]) -> dict[str, Any]:
    """Mark the reviews the caller saw (``reviews``: their number) reviewed, by the caller; the order as it is."""
    reference = (event.get("pathParameters") or {}).get("reference", "")
    try:
        check_reference(reference)
    except FieldError:
        raise OrderNotFoundError(reference[:40]) from None
    seen = _fields(event, frozenset({"reviews"})).get("reviews")
    if not isinstance(seen, int) or isinstance(seen, bool):
        raise InvalidOrderError("reviews", "is required: the number of the order's reviews seen, like 2")
    marked = mark_reviewed(deps.store, reference, seen, caller(event), deps.clock())
    logger.info("reviews marked reviewed", extra={"reference": reference, "outcome": marked.outcome.value})
    return json_response(200, marked.order.as_json())


def _create_key(keys: ShopKeys, event: dict[str, Any], now: datetime) -> dict[str, Any]:
    body = _fields(event, frozenset({"scope", "label", "expires_at"}))
    for name in ("scope", "label"):
        if not isinstance(body.get(name), str):
            raise InvalidOrderError(name, "is required (a string)")
    expires = body.get("expires_at")
    if expires is not None and not isinstance(expires, str):
        raise InvalidOrderError("expires_at", "must be a time like 2027-01-01T00:00:00Z, or null")
    created = keys.create(body["scope"], body["label"], now, parse_time(expires, "expires_at") if expires else None)
    logger.info("shop key created", extra={"key_id": created.shop_key.key_id, "scope": created.shop_key.scope})
    return json_response(201, created.as_json())  # no-store: the key is shown this once


def _revoke_key(keys: ShopKeys, key_id: str, event: dict[str, Any], now: datetime) -> dict[str, Any]:
    at = _fields(event, frozenset({"at"})).get("at")
    if at is not None and not isinstance(at, str):
        raise InvalidOrderError("at", "must be a time like 2026-12-01T00:00:00Z (leave it out for now)")
    revoked = keys.revoke(key_id, parse_time(at, "at") if at else now)
    logger.info("shop key revoked", extra={"key_id": key_id, "revoked_at": revoked.as_json()["revoked_at"]})
    return json_response(200, revoked.as_json())


def create_handler(deps: Dependencies) -> Handler:
    """The console's handler on ``deps``."""
    app = resolver(logger, metrics, MESSAGES)

    def query() -> dict[str, str]:
        return dict(app.current_event.query_string_parameters or {})

    @app.get("/orders")
    def listed() -> Response[str]:
        zones = {terminal.terminal.timezone for terminal in deps.terminals().by_tpe.values()}
        page = list_orders(deps.store, query(), deps.clock(), zones)
        return response(json_response(200, {"orders": [o.as_json() for o in page.orders], "next": page.cursor}))

    def books_of(kind: str) -> Callable[[], Response[str]]:
        return lambda: response(_books(deps, query(), kind))

    def operation(run: Operation) -> Callable[[str], Response[str]]:
        # The reference is read as API Gateway decoded it (pathParameters), not from the matched path.
        return lambda reference: response(_operate(deps, run, app.current_event.raw_event))

    @app.get("/attention")
    def attention() -> Response[str]:
        return response(_attention(deps, query()))

    @app.post("/orders/<reference>/reviewed")
    def reviewed(reference: str) -> Response[str]:
        return response(_reviewed(deps, app.current_event.raw_event))

    @app.post("/keys")
    def create_key() -> Response[str]:
        return response(_create_key(deps.keys(), app.current_event.raw_event, deps.clock()))

    @app.get("/keys")
    def listed_keys() -> Response[str]:
        return response(json_response(200, {"keys": [key.as_json() for key in deps.keys().list()]}))

    @app.post("/keys/<path_id>/revoke")
    def revoke_key(path_id: str) -> Response[str]:
        key_id = str((app.current_event.path_parameters or {}).get("id", ""))  # as API Gateway decoded it
        return response(_revoke_key(deps.keys(), key_id, app.current_event.raw_event, deps.clock()))

    for kind in ("captures", "refunds"):
        app.get(f"/books/{kind}")(books_of(kind))
    for name, run in OPERATIONS.items():
        app.post(f"/orders/<reference>/{name}")(operation(run))

    return api_handler(app, logger, metrics)


lambda_handler = environment_handler(create_handler)
