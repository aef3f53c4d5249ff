"""The merchant console (the bank's "gestionnaire commerçant") as an API, IAM only.

GET /orders?status=&tpe=&from=&to=&amount=&text=&limit=&cursor=   orders by order date, newest first
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
request). The operations are the use case the merchant's console calls too (``orders.web.operations``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response

from orders.attention import limit_of, mark_reviewed, orders_needing_attention
from orders.books import Books
from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import InvalidOrderError, OrderNotFoundError
from orders.keys import ShopKeys, parse_time
from orders.listing import list_orders
from orders.web.callers import caller
from orders.web.http import header, json_body, json_response, text_response
from orders.web.operations import MESSAGES, OPERATIONS, TAKES_AMOUNT, OperationRequest, check_request, operate
from orders.web.resolver import api_handler, resolver, response
from sealing import FieldError, check_reference

logger = Logger()
metrics = Metrics()


def _fields(event: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The body (empty, or a JSON object of the fields the operation knows), read before anything is done."""
    body = json_body(event)
    unknown = sorted(set(body) - known)
    if unknown:
        takes = f"takes only {', '.join(sorted(known))}" if known else "takes none"
        raise InvalidOrderError(unknown[0], f"is not a field of this operation, which {takes}")
    return body


def _books(deps: Dependencies, query: dict[str, str], kind: str) -> dict[str, Any]:
    books = Books(deps.store, deps.terminals)
    asked = books.query(query, deps.clock(), kind)
    if asked.shape == "json":
        return json_response(200, books.page(asked))
    export = books.export(asked)
    headers = {"Content-Type": export.content_type, "Content-Disposition": f"attachment; filename={export.filename}"}
    return text_response(200, export.text, headers)


def _operate(deps: Dependencies, operation: str, event: dict[str, Any]) -> dict[str, Any]:
    """``POST /orders/{reference}/{operation}``: the request read from the event, carried out by the one use case."""
    reference = str((event.get("pathParameters") or {}).get("reference", ""))
    key = header(event, "Idempotency-Key") or None
    check_request(operation, reference, key)  # refused before the body is read
    known = frozenset({"amount"}) if operation in TAKES_AMOUNT else frozenset()
    body = _fields(event, known)
    amount = body.get("amount")
    if "amount" in body and not isinstance(amount, str):  # null included: only leaving the field out means all
        raise InvalidOrderError("amount", 'must be a string like "10.00" (leave the field out for everything)')
    request = OperationRequest(operation, reference, amount, caller(event), key)
    return operate(deps, request, logger, metrics).response


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
        terminals = deps.terminals().by_tpe
        zones = {terminal.terminal.timezone for terminal in terminals.values()}
        page = list_orders(deps.store, query(), deps.clock(), zones, set(terminals))
        return response(json_response(200, {"orders": [o.as_json() for o in page.orders], "next": page.cursor}))

    def books_of(kind: str) -> Callable[[], Response[str]]:
        return lambda: response(_books(deps, query(), kind))

    def operation(name: str) -> Callable[[str], Response[str]]:
        # The reference is read as API Gateway decoded it (pathParameters), not from the matched path.
        return lambda reference: response(_operate(deps, name, app.current_event.raw_event))

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
    for name in OPERATIONS:
        app.post(f"/orders/<reference>/{name}")(operation(name))

    return api_handler(app, logger, metrics)


lambda_handler = environment_handler(create_handler)
