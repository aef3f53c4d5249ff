"""The merchant console (the bank's "gestionnaire commerçant") as an API, IAM only.

GET /orders?status=&from=&to=&limit=&cursor=          orders by order date, newest first
POST /orders/{reference}/capture   {"amount": "10.00"}   (no amount: all that remains)
POST /orders/{reference}/cancel                          (cancels what remains)
POST /orders/{reference}/refund    {"amount": "5.00"}    (no amount: all that is refundable)
GET /books/captures?day=&format=json|csv|xml&tpe=      payments by capture date (xml: the bank's daily file)
GET /books/refunds?day=&format=json|csv                 refunds by date

An ``Idempotency-Key`` header makes a retried operation answer what the first one did instead of
doing it again (``orders.idempotency``: 409 while the first is in flight, 422 for a key sent with another
request).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import books, config
from orders.bank import BankError, BankRefusedError, BankUnavailableError
from orders.calendar import local_day
from orders.exceptions import (
    BankStateDifferedError,
    ConcurrentUpdateError,
    ConfigurationError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    InvalidOrderError,
    OperationInProgressError,
    OrderNotFoundError,
    PreviousOperationAppliedError,
    StoreUnavailableError,
    TransitionNotAllowedError,
    UnknownTerminalError,
)
from orders.http import BadRequest, body_bytes, error_response, header, json_body, json_response, text_response
from orders.idempotency import IdempotencyKeys, Keep, fingerprint
from orders.listing import list_orders
from orders.model import Order
from orders.operations import BackOffice
from orders.terminals import TerminalConfig
from sealing import FieldError, check_reference, parse_decimal

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
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


def _amount(event: dict[str, Any]) -> Decimal | None:
    body = _fields(event, frozenset({"amount"}))
    if "amount" not in body:
        return None  # all that remains, or all that is refundable
    value = body["amount"]
    if not isinstance(value, str):  # null included: only leaving the field out means "everything"
        raise InvalidOrderError("amount", 'must be a string like "10.00" (leave the field out for everything)')
    amount = parse_decimal(value)
    if amount <= 0:
        raise InvalidOrderError("amount", "must be more than zero (leave the field out for everything)")
    return amount


def _cancel(office: BackOffice, reference: str, event: dict[str, Any], now: datetime, key: str | None) -> Order:
    _fields(event, frozenset())  # what remains is cancelled; a malformed body must not cancel anything
    return office.cancel(reference, now, key)


def _list(event: dict[str, Any]) -> dict[str, Any]:
    zones = {terminal.terminal.timezone for terminal in config.load_terminals().by_tpe.values()}
    page = list_orders(config.order_store(), event.get("queryStringParameters") or {}, datetime.now(UTC), zones)
    return json_response(200, {"orders": [order.as_json() for order in page.orders], "next": page.cursor})


def _books_query(event: dict[str, Any], kind: str) -> tuple[TerminalConfig, date, str]:
    """The terminal (``tpe``, default the default one), the day (default today there) and the format asked."""
    query = event.get("queryStringParameters") or {}
    unknown = set(query) - {"day", "format", "tpe"}
    if unknown:
        raise InvalidOrderError(sorted(unknown)[0], "unknown parameter (day, format, tpe)")
    try:
        terminal = config.load_terminals().get(query.get("tpe"))
    except UnknownTerminalError as exc:
        raise InvalidOrderError("tpe", str(exc)) from None
    try:
        today = local_day(datetime.now(UTC), terminal.terminal.timezone)
        day = date.fromisoformat(query["day"]) if query.get("day") else today
    except ValueError:
        raise InvalidOrderError("day", f"{query['day']!r} is not a date like 2026-11-27") from None
    shape = query.get("format") or "json"
    if shape not in ("json", "csv", "xml") or (shape == "xml" and kind != "captures"):
        raise InvalidOrderError("format", "json or csv (and xml for captures: the bank's daily file)")
    return terminal, day, shape


def _books(kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def route(event: dict[str, Any]) -> dict[str, Any]:
        terminal, day, shape = _books_query(event, kind)
        entries = books.booked(config.order_store(), config.load_terminals(), day, kind)
        if (event.get("queryStringParameters") or {}).get("tpe") or shape == "xml":
            entries = [e for e in entries if e.tpe == terminal.tpe]
        if shape == "csv":
            name = f"{kind}-{day}.csv"
            text, content_type = books.as_csv(entries), "text/csv; charset=utf-8"
        elif shape == "xml":
            name = f"recouvrements-{terminal.tpe}-{day}.xml"
            text = books.as_bank_xml(entries, terminal.tpe, terminal.terminal.societe, day, terminal.terminal.timezone)
            content_type = "application/xml; charset=utf-8"
        else:
            return json_response(200, {"day": day.isoformat(), kind: [entry.as_json() for entry in entries]})
        headers = {"Content-Type": content_type, "Content-Disposition": f"attachment; filename={name}"}
        return text_response(200, text, headers)

    return route


def _idempotency_key(event: dict[str, Any]) -> str | None:
    key = header(event, "Idempotency-Key")
    if not key:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidOrderError("Idempotency-Key", "must be 8 to 64 letters, digits, '-' or '_'")
    return key


Operation = Callable[[BackOffice, str, dict[str, Any], datetime, str | None], Order]
# A request that ended this way has a definitive answer, replayed to every retry with its Idempotency-Key.
# "The earlier one was found applied" is one too: a retry with this key must not then do it.
DEFINITIVE = (BankRefusedError, TransitionNotAllowedError, BankStateDifferedError, PreviousOperationAppliedError)
# One that ended this way changed nothing: its key may be sent again, with a corrected request.
NOTHING_DONE = (BadRequest, InvalidOrderError, FieldError, OrderNotFoundError)


def _answered(attempt: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], Keep]:
    """``attempt``'s response, errors mapped as the handler maps them, and what its key keeps of it."""
    failures: list[Exception] = []

    def watched() -> dict[str, Any]:
        try:
            return attempt()
        except Exception as exc:
            failures.append(exc)
            raise

    response = _guarded(watched)
    if not failures:
        return response, Keep.ANSWER
    failure = failures[0]
    keep = Keep.ANSWER if isinstance(failure, DEFINITIVE) else Keep.RETRY
    return response, Keep.NOTHING if isinstance(failure, NOTHING_DONE) else keep


def _operation(run: Operation) -> Callable[..., dict[str, Any]]:
    def route(event: dict[str, Any]) -> dict[str, Any]:
        reference = (event.get("pathParameters") or {}).get("reference", "")
        try:
            check_reference(reference)  # no order has another form; DynamoDB would refuse an oversized key (503)
        except FieldError:
            raise OrderNotFoundError(reference[:40]) from None
        logger.append_keys(reference=reference)
        key = _idempotency_key(event)
        now = datetime.now(UTC)

        def attempt(retry: bool = True) -> dict[str, Any]:
            # A key's first request (retry False) may find nothing done under that key before.
            office = BackOffice(config.order_store(), config.load_terminals(), config.bank_client, fresh_key=not retry)
            order = run(office, reference, event, now, key)
            logger.info("back-office operation done", extra={"status": order.status.value})
            metrics.add_metric(name="BackOfficeOperations", unit=MetricUnit.Count, value=1)
            return json_response(200, order.as_json())

        if key is None:
            return attempt()
        path = str(event.get("resource", "")).replace("{reference}", reference)
        request = fingerprint(str(event.get("httpMethod", "")), path, body_bytes(event))
        return IdempotencyKeys(config.order_store()).run(
            key, request, now, lambda retry: _answered(lambda: attempt(retry))
        )

    return route


ROUTES: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("GET", "/orders"): _list,
    ("GET", "/books/captures"): _books("captures"),
    ("GET", "/books/refunds"): _books("refunds"),
    ("POST", "/orders/{reference}/capture"): _operation(lambda o, r, e, now, k: o.capture(r, _amount(e), now, k)),
    ("POST", "/orders/{reference}/cancel"): _operation(_cancel),
    ("POST", "/orders/{reference}/refund"): _operation(lambda o, r, e, now, k: o.refund(r, _amount(e), now, k)),
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    route = ROUTES.get((event.get("httpMethod", ""), event.get("resource", "")))
    if route is None:
        return error_response(404, "no such route")
    return _guarded(lambda: route(event))


def _guarded(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``call``'s response, or the API's answer to the error it raised (anything else propagates)."""
    try:
        return call()
    except (BadRequest, InvalidOrderError, FieldError) as exc:
        return error_response(400, str(exc), exc.field)
    except OrderNotFoundError as exc:
        return error_response(404, str(exc), "reference")
    except IdempotencyKeyReusedError as exc:
        return error_response(422, str(exc), exc.field)
    except IdempotencyKeyInUseError as exc:
        return error_response(409, str(exc), exc.field)
    except BankStateDifferedError as exc:
        logger.warning("the bank's state differed; recorded what it shows", extra={"detail": str(exc)})
        metrics.add_metric(name="BankStateDiffered", unit=MetricUnit.Count, value=1)
        return error_response(409, str(exc))
    except (TransitionNotAllowedError, OperationInProgressError, PreviousOperationAppliedError) as exc:
        return error_response(409, str(exc))
    except ConcurrentUpdateError:
        return error_response(409, "the order changed meanwhile; read it again before deciding")
    except BankUnavailableError as exc:
        logger.warning("the bank's answer is unknown", extra={"detail": str(exc)})
        metrics.add_metric(name="BankUnavailable", unit=MetricUnit.Count, value=1)
        message = f"{exc}; the outcome will be checked with the bank before anything else is done to this order"
        return error_response(502, message)
    except BankError as exc:
        logger.warning("the bank refused", extra={"detail": str(exc)})
        return error_response(502, f"the bank refused: {exc}")
    except (ConfigurationError, UnknownTerminalError) as exc:
        logger.error("the terminal configuration is unusable", extra={"detail": str(exc)})
        return error_response(500, "the terminal configuration is unusable; see the function's log")
    except StoreUnavailableError:
        logger.exception("the orders table is unavailable")
        # Not "try again": the bank may have done it; the order's journal settles it before anything else.
        message = "the order store is unavailable; read the order before retrying (an open operation is settled first)"
        return error_response(503, message)
