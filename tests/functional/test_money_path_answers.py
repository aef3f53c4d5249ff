"""What the money path's handlers answer (the dependencies object, errors carrying their status, Powertools'
resolver for CGI1 and the console), whatever the route, the error's class or the moment: each error as
its class declares, never ``cdr=0`` without a durable write, never a capture twice.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

import orders
from orders.bank import BankError, BankRefusedError, BankUnavailableError
from orders.exceptions import (
    BankStateDifferedError,
    ConcurrentUpdateError,
    ConfigurationError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    InvalidOrderError,
    OperationInProgressError,
    OrderNotFoundError,
    OrdersError,
    PreviousOperationAppliedError,
    StoreUnavailableError,
    TransitionNotAllowedError,
    UnknownTerminalError,
)
from orders.model import OrderStatus
from orders.store import OrderStore
from orders.terminals import Terminals
from sealing import FieldError, MerchantKey, seal
from tests.support.aws import TEST_KEY, event, load_function, terminals_config
from tests.support.fakebank import FakeBank
from tests.support.instances import at_once
from tests.support.merchant import (
    ACK_BAD,
    ACK_OK,
    BILLING,
    SESSION,
    age_pending_operation,
    call,
    confirm,
    create,
    post_confirmation,
    registered,
    stored_order,
)

CAPTURE = "/orders/{reference}/capture"


def console_event(
    method: str, resource: str, reference: str = "", body: Any = None, *, base_path: str = "", **extra: Any
) -> dict[str, Any]:
    """A console (or CGI1) request as API Gateway sends it; ``base_path``: the custom domain's mapping, which
    API Gateway leaves at the start of ``path`` (``resource`` is the API's own)."""
    request = event("get_order.json")
    path = base_path + resource.replace("{reference}", reference)
    encoded = None if body is None else base64.b64encode(json.dumps(body).encode()).decode()
    request.update(
        httpMethod=method,
        resource=resource,
        path=path,
        pathParameters={"reference": reference} if reference else None,
        queryStringParameters=None,
        body=encoded,
        isBase64Encoded=body is not None,
    )
    request["requestContext"] = {**request["requestContext"], "path": path, "resourcePath": resource}
    request.update(extra)
    return request


def answered(response: dict[str, Any]) -> tuple[int, Any]:
    return response["statusCode"], json.loads(response["body"])


# --- the resolver -----------------------------------------------------------------------------------------


def test_the_apis_behind_a_custom_domain_base_path_answer_their_routes(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    """A custom domain mapped with a base path (``https://pay.shop.example/shop`` → the stage) leaves that base
    path at the start of ``path``: the routes are the API's resources, as the handlers always read them."""
    custom = {"Host": "pay.shop.example"}
    body = {"amount": "62.73", "email": "buyer@example.com", "billing": BILLING}
    created = console_event("POST", "/orders", body=body, base_path="/shop", headers=custom)
    status, order = answered(aws.invoke("cgi1", created, lambda_context))
    assert status == 201, order
    read = console_event("GET", "/orders/{reference}", order["reference"], base_path="/shop", headers=custom)
    assert answered(aws.invoke("cgi1", read, lambda_context))[0] == 200
    registered(aws, lambda_context, "CUSTOM1")
    capture = console_event("POST", CAPTURE, "CUSTOM1", {"amount": "10.00"}, base_path="/shop", headers=custom)
    status, captured = answered(aws.invoke("backoffice", capture, lambda_context))
    assert (status, captured["captured"]) == (200, "10.00")
    assert bank.captures() == 1


@pytest.mark.parametrize("reference", ["a#b", 'a"b', "a?b", "é" * 3, "a/b", "x" * 3000])
def test_a_reference_no_order_can_have_is_a_404_naming_the_reference(
    aws: Any, lambda_context: Any, bank: FakeBank, reference: str
) -> None:
    """Whatever characters API Gateway decoded into the path parameter: 404 naming ``reference``."""
    for function, method, resource in (("cgi1", "GET", "/orders/{reference}"), ("backoffice", "POST", CAPTURE)):
        status, answer = answered(aws.invoke(function, console_event(method, resource, reference), lambda_context))
        assert (status, answer["error"].get("field")) == (404, "reference"), (function, answer)
        assert len(answer["error"]["message"]) < 100
    assert bank.calls == []


@pytest.mark.parametrize(
    ("function", "method", "resource"),
    [
        ("backoffice", "DELETE", CAPTURE),
        ("backoffice", "GET", CAPTURE),
        ("backoffice", "POST", "/orders/{reference}/void"),
        ("backoffice", "POST", "/orders"),
        ("cgi1", "PUT", "/orders"),
        ("cgi1", "POST", "/orders/{reference}"),
        ("cgi1", "GET", "/checkout/{token}"),
    ],
)
def test_an_unknown_route_or_method_is_the_404_body_of_the_api(
    aws: Any, lambda_context: Any, bank: FakeBank, function: str, method: str, resource: str
) -> None:
    registered(aws, lambda_context, "ROUTE1")
    before = aws.store.get("ROUTE1")
    response = aws.invoke(function, console_event(method, resource, "ROUTE1", {}), lambda_context)
    assert answered(response) == (404, {"error": {"message": "no such route"}})
    assert response["headers"]["Content-Type"] == "application/json"
    assert aws.store.get("ROUTE1") == before
    assert bank.calls == []


def test_a_body_on_a_get_and_headers_in_any_case(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "CASE1")
    listed = console_event("GET", "/orders", body={"status": "cancelled"})
    status, page = answered(aws.invoke("backoffice", listed, lambda_context))
    assert status == 200
    assert [o["reference"] for o in page["orders"]] == ["CASE1"]
    for name in ("idempotency-key", "IDEMPOTENCY-KEY"):
        request = console_event("POST", CAPTURE, "CASE1", {"amount": "1.00"}, headers={name: "case-key-0001"})
        status, answer = answered(aws.invoke("backoffice", request, lambda_context))
        assert (status, answer["captured"]) == (200, "1.00")  # the second is the first one's answer again
    assert bank.captures() == 1


# --- retried and concurrent operations on one handler, serialised DynamoDB -------------------------------


@pytest.mark.parametrize("key", [None, "same-key-0001"])
def test_concurrent_captures_of_one_order_capture_once(
    aws: Any, lambda_context: Any, bank: FakeBank, key: str | None
) -> None:
    registered(aws, lambda_context, "RACE1")
    headers = {"Idempotency-Key": key} if key else {}
    request = console_event("POST", CAPTURE, "RACE1", {"amount": "62.73"}, headers=headers)
    statuses = at_once([lambda: aws.invoke("backoffice", dict(request), lambda_context)["statusCode"]] * 8)
    assert len(statuses) == 8
    assert 200 in statuses
    assert set(statuses) <= {200, 409}
    assert bank.captures() == 1
    assert str(aws.store.get("RACE1").captured) == "62.73"


class Surprise(Exception):
    """An exception class the store was never meant to raise."""


@pytest.mark.parametrize("fault", [StoreUnavailableError, Surprise])
@pytest.mark.parametrize("key", [None, "fault-key-0001"])
@pytest.mark.parametrize("operation", ["capture", "refund", "cancel"])
def test_a_store_fault_after_the_bank_call_is_settled_by_the_journal(
    aws: Any,
    lambda_context: Any,
    bank: FakeBank,
    monkeypatch: pytest.MonkeyPatch,
    key: str | None,
    operation: str,
    fault: type[Exception],
) -> None:
    """The bank did it, the write that records it failed: 503 saying to read the order (or, for an exception no
    one expected, Lambda's error: never a 200); a retry settles the open operation first (from the bank's
    status) and never does it a second time."""
    registered(aws, lambda_context, "JRNL1")
    body = {} if operation == "cancel" else {"amount": "10.00"}
    if operation == "refund":
        assert call(aws, lambda_context, "POST", CAPTURE, "JRNL1", {"amount": "20.00"})[0] == 200
    real_finish = OrderStore.finish_operation
    failures = [1]

    def finish(store: OrderStore, *args: Any, **kwargs: Any) -> Any:
        if failures:
            failures.pop()
            raise fault("injected: the write after the bank's answer failed")
        return real_finish(store, *args, **kwargs)

    monkeypatch.setattr(OrderStore, "finish_operation", finish)
    headers = {"Idempotency-Key": key} if key else {}
    resource = f"/orders/{{reference}}/{operation}"
    if fault is Surprise:  # the API's 500, its traceback in the log only
        status, answer = call(aws, lambda_context, "POST", resource, "JRNL1", body, headers=headers)
        assert (status, answer) == (500, {"error": {"message": "internal error; see the function's log"}})
    else:
        status, answer = call(aws, lambda_context, "POST", resource, "JRNL1", body, headers=headers)
        assert status == 503
        assert answer["error"]["message"].startswith("the order store is unavailable; read the order before")
    age_pending_operation(aws, "JRNL1")
    status, answer = call(aws, lambda_context, "POST", resource, "JRNL1", body, headers=headers)
    assert status in (200, 409), answer
    order = aws.store.get("JRNL1")
    assert order.pending is None
    money = [(name, fields) for name, fields in bank.calls if name != "etatpaiement.cgi"]
    assert len(money) == (2 if operation == "refund" else 1)  # the refund's capture, then the operation once
    if operation == "capture":
        assert str(order.captured) == "10.00"
    elif operation == "refund":
        assert (str(order.captured), str(order.refunded)) == ("20.00", "10.00")
    else:
        assert order.status is OrderStatus.CANCELLED


# --- every error, answered, logged and counted as its class declares ----------------------------------------

STORE_DOWN = "the order store is unavailable; read the order before retrying (an open operation is settled first)"
CONFIG = "the terminal configuration is unusable; see the function's log"
# (error, status, message, field, logged message, level, metric) as the console answered each before.
CONSOLE_ERRORS: list[tuple[OrdersError | FieldError, int, str | None, str | None, str | None, str | None, str | None]]
CONSOLE_ERRORS = [
    (OrderNotFoundError("R1"), 404, None, "reference", None, None, None),
    (IdempotencyKeyReusedError("k" * 8), 422, None, "Idempotency-Key", None, None, None),
    (IdempotencyKeyInUseError("k" * 8), 409, None, "Idempotency-Key", None, None, None),
    (
        BankStateDifferedError("R", "capture", "refused", "a capture"),
        409,
        None,
        None,
        "the bank's state differed; recorded what it shows",
        "WARNING",
        "BankStateDiffered",
    ),
    (TransitionNotAllowedError("R", "paid", "capture"), 409, None, None, None, None, None),
    (OperationInProgressError("R", "capture"), 409, None, None, None, None, None),
    (PreviousOperationAppliedError("R", "capture", "10.00 EUR"), 409, None, None, None, None, None),
    (
        ConcurrentUpdateError("lost"),
        409,
        "the order changed meanwhile; read it again before deciding",
        None,
        None,
        None,
        None,
    ),
    (
        BankUnavailableError("capture", "timeout"),
        502,
        "capture: timeout; the outcome will be checked with the bank before anything else is done to this order",
        None,
        "the bank's answer is unknown",
        "WARNING",
        "BankUnavailable",
    ),
    (
        BankRefusedError("capture", "no", 3),
        502,
        "the bank refused: capture: no",
        None,
        "the bank refused",
        "WARNING",
        None,
    ),
    (BankError("capture", "x"), 502, "the bank refused: capture: x", None, "the bank refused", "WARNING", None),
    (ConfigurationError("bad"), 500, CONFIG, None, "the terminal configuration is unusable", "ERROR", None),
    (UnknownTerminalError("0900999"), 500, CONFIG, None, "order of an unconfigured terminal", "ERROR", None),
    (StoreUnavailableError("down"), 503, STORE_DOWN, None, "the orders table is unavailable", "ERROR", None),
    (InvalidOrderError("amount", "bad"), 400, "amount: bad", "amount", None, None, None),
    (FieldError("montant", "bad"), 400, "montant: bad", "montant", None, None, None),
]


@pytest.mark.parametrize("case", CONSOLE_ERRORS, ids=lambda case: type(case[0]).__name__)
def test_every_error_of_an_operation_is_answered_logged_and_counted_as_its_class_declares(
    aws: Any,
    lambda_context: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    case: tuple[Any, ...],
) -> None:
    error, status, message, field, logged, level, metric = case

    def failing() -> Terminals:
        raise error

    registered(aws, lambda_context, "ERR1")
    capsys.readouterr()
    caplog.clear()
    aws.use(terminals=failing)
    got = call(aws, lambda_context, "POST", CAPTURE, "ERR1", {"amount": "1.00"})
    expected: dict[str, Any] = {"message": message or str(error)}
    if field:
        expected["field"] = field
    assert got == (status, {"error": expected})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    problems = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno > logging.INFO]
    assert problems == ([(level, logged)] if logged else [])
    if isinstance(error, StoreUnavailableError):  # logged with its traceback
        assert [r.exc_info is not None for r in caplog.records if r.levelno > logging.INFO] == [True]
    counted = {name for line in lines for m in line.get("_aws", {}).get("CloudWatchMetrics", []) for name in
               (d["Name"] for d in m["Metrics"])}  # fmt: skip
    assert (metric in counted) if metric else not (counted & {"BankUnavailable", "BankStateDiffered"})


# --- CGI2: never cdr=0 without a durable write -----------------------------------------------------------


@pytest.mark.parametrize("surprise", [Surprise("boom"), KeyError("pk"), ConcurrentUpdateError("odd"), RecursionError()])
def test_an_unexpected_store_error_is_queued_and_never_acknowledged_unchecked(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch, surprise: BaseException
) -> None:
    stored_order(aws, "EVTSAMPLE0")

    def broken(*_: Any, **__: Any) -> Any:
        raise surprise

    for method in ("apply", "get"):
        monkeypatch.setattr(OrderStore, method, broken)
    response = confirm(aws, lambda_context)
    assert response["body"] != ACK_OK or len(aws.queued()) == 1
    assert response["statusCode"] in (200, 503)
    if response["statusCode"] == 200:  # only if the exact bytes are on the queue
        assert len(aws.queued()) == 1


def test_store_and_queue_both_failing_is_never_cdr_0(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orders.confirmation_queue import ConfirmationQueue
    from orders.exceptions import QueueUnavailableError

    stored_order(aws, "EVTSAMPLE0")

    def store_down(*_: Any, **__: Any) -> Any:
        raise StoreUnavailableError("down")

    def queue_down(*_: Any, **__: Any) -> Any:
        raise QueueUnavailableError("down too")

    monkeypatch.setattr(OrderStore, "apply", store_down)
    monkeypatch.setattr(OrderStore, "get", store_down)
    monkeypatch.setattr(ConfirmationQueue, "put", queue_down)
    response = confirm(aws, lambda_context)
    assert (response["statusCode"], response["body"]) == (503, "not stored\n")

    def queue_surprise(*_: Any, **__: Any) -> Any:
        raise Surprise("the queue client raised something else")

    monkeypatch.setattr(ConfirmationQueue, "put", queue_surprise)
    response = confirm(aws, lambda_context)  # the API's 500, never cdr=0: the bank retries
    assert response["statusCode"] == 500
    assert "cdr" not in response["body"]


def _sealed_fields(reference: str = SESSION, amount: str = "62.73EUR") -> list[tuple[str, str]]:
    fields = [
        ("TPE", "0900157"), ("date", "27/11/2026_a_10:15:00"), ("montant", amount), ("reference", reference),
        ("texte-libre", ""), ("code-retour", "payetest"), ("cvx", "oui"), ("vld", "1228"), ("brand", "VI"),
        ("status3ds", "1"), ("numauto", "123456"), ("motifrefus", ""), ("originecb", "FRA"), ("bincb", "411111"),
        ("hpancb", "74E94B03C22D786E0F2C2CADBFC1C00B004B7C45"), ("ipclient", "203.0.113.9"),
    ]  # fmt: skip
    return [*fields, ("MAC", seal(MerchantKey(TEST_KEY), fields))]


def _forgeries() -> dict[str, bytes]:
    good = _sealed_fields()
    mac = good[-1][1]
    fields = dict(good[:-1])
    return {
        "forged_amount": urlencode({**fields, "montant": "0.01EUR", "MAC": mac}).encode(),
        "mac_lowercase_padded": urlencode({**fields, "MAC": " " + mac.lower() + " "}).encode(),
        "mac_twice": urlencode(good).encode() + b"&MAC=" + b"0" * 40,
        "field_twice": urlencode(good).encode() + b"&montant=0.01EUR",
        "padded_value": urlencode({**fields, "montant": "62.73EUR ", "MAC": mac}).encode(),
        "latin1": urlencode(good).encode().replace(b"texte-libre=", b"texte-libre=\xe9"),
        "nul_byte": urlencode(good).encode() + b"\x00",
        "oversized": urlencode(good).encode() + b"&texte-libre2=" + b"A" * 300_000,
        "empty": b"",
        "no_mac": urlencode(good[:-1]).encode(),
        "other_terminal": urlencode({**fields, "TPE": "0900999", "MAC": mac}).encode(),
    }


@pytest.mark.parametrize("name", list(_forgeries()))
def test_a_forged_padded_or_malformed_confirmation_changes_nothing(
    aws: Any, lambda_context: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, name: str
) -> None:
    stored_order(aws, "EVTSAMPLE0")
    before = aws.store.get("EVTSAMPLE0")
    body = _forgeries()[name]
    response = post_confirmation(aws, lambda_context, body)
    assert (response["statusCode"], response["body"]) == (200, ACK_BAD)
    assert aws.store.get("EVTSAMPLE0") == before
    assert aws.queued() == []
    # No MAC the merchant key makes over the attacker's data may be logged (an oracle for forgeries).
    fields: dict[str, str] = {}
    for name_, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        fields.setdefault(name_, value)
    fields.pop("MAC", None)
    oracle = seal(MerchantKey(TEST_KEY), list(fields.items())) if fields else "-" * 40
    logged = capsys.readouterr().out + "".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert oracle.lower() not in logged.lower()


def test_a_bad_base64_body_is_refused_not_lost_as_a_surprise(aws: Any, lambda_context: Any) -> None:
    request = event("confirmation_accepted.json")
    request["body"] = "not base64!!"
    response = aws.invoke("cgi2", request, lambda_context)
    assert (response["statusCode"], response["body"]) == (200, ACK_BAD)
    request.update(body="TPE=0900157&MAC=\udcff", isBase64Encoded=False)  # a lone surrogate
    response = aws.invoke("cgi2", request, lambda_context)
    assert (response["statusCode"], response["body"]) == (200, ACK_BAD)


def test_a_replayed_confirmation_many_times_at_once_applies_once(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, "EVTSAMPLE0")
    body = base64.b64encode(urlencode(_sealed_fields()).encode()).decode()
    request = {**event("confirmation_accepted.json"), "body": body}
    answers = at_once([lambda: aws.invoke("cgi2", dict(request), lambda_context)["body"]] * 10)
    assert answers == [ACK_OK] * 10
    order = aws.store.get("EVTSAMPLE0")
    assert order.status is OrderStatus.PAID
    assert len(order.attempts) == 1


# --- the dependencies: nothing cached that must refresh, the clock ----------------------------------------


def test_the_terminal_secret_is_read_again_after_five_minutes(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warm function picks up a rotated key within five minutes, without a cold start (and at once for a seal
    no cached key holds: tests/functional/test_key_rotation.py)."""
    from aws_lambda_powertools.utilities.parameters import base

    rotated = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
    stored_order(aws, "EVTSAMPLE0")
    handler = load_function("cgi2").create_handler(aws.deps)
    reads: list[str] = []
    aws.secrets.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **_: reads.append("read"))

    def post(key: str) -> str:
        fields = [(k, v) for k, v in _sealed_fields() if k != "MAC"]
        request = event("confirmation_accepted.json")
        body = urlencode([*fields, ("MAC", seal(MerchantKey(key), fields))]).encode()
        request["body"] = base64.b64encode(body).decode()
        return str(handler(request, lambda_context)["body"])

    assert post(TEST_KEY) == ACK_OK  # the secret is read, and cached
    assert reads == ["read"]
    aws.secrets.put_secret_value(
        SecretId=aws.secret_arn, SecretString=json.dumps(terminals_config(**{"0900157": {"key": rotated}}))
    )
    assert post(TEST_KEY) == ACK_OK  # within the cache's five minutes: the key cached holds, nothing read
    assert reads == ["read"]
    real = base.datetime

    class Later(real):  # type: ignore[misc,valid-type]
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return real.now(tz) + timedelta(seconds=301)

    monkeypatch.setattr(base, "datetime", Later)
    assert post(rotated) == ACK_OK  # a replay of the payment, sealed with the new key: the secret read again
    assert reads == ["read", "read"]  # by the cache's age, not by the seal: once


def test_the_sweeper_reads_the_dependencies_clock_when_the_event_has_no_time(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    from datetime import UTC, datetime

    fixed = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    aws.use(clock=lambda: fixed)
    answer = aws.invoke("deferred_sweeper", {"detail-type": "Scheduled Event"}, lambda_context)
    assert answer["time"] == fixed.isoformat()


# --- logs ---------------------------------------------------------------------------------------------------


def test_no_email_is_logged_on_the_merchant_paths(
    aws: Any, lambda_context: Any, bank: FakeBank, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    email = "private.buyer+attack@example.org"
    capsys.readouterr()
    created = create(aws, lambda_context, email=email)
    assert created["status"] == 201
    bad = create(aws, lambda_context, email=email + "\n<script>")
    assert bad["status"] == 400
    reference = created["json"]["reference"]
    confirm(aws, lambda_context, reference=reference + "00", amount="62.73EUR")
    call(aws, lambda_context, "POST", CAPTURE, reference, {"amount": "999.00"})
    call(aws, lambda_context, "GET", "/orders")
    out = capsys.readouterr().out + "".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert caplog.records
    assert "private.buyer" not in out
    assert "attack@example" not in out


def test_errors_never_answer_a_stack_trace(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "TRACE1")

    def failing() -> Terminals:
        raise StoreUnavailableError("down")

    aws.use(terminals=failing)
    for function, method, resource in (("backoffice", "POST", CAPTURE), ("cgi1", "GET", "/orders/{reference}")):
        response = aws.invoke(function, console_event(method, resource, "TRACE1", {}), lambda_context)
        assert "Traceback" not in response["body"]


@pytest.mark.parametrize("function", ["cgi1", "backoffice"])
@pytest.mark.parametrize(
    "event", [{}, {"httpMethod": None, "resource": "/orders"}, {"httpMethod": "GET"}], ids=["empty", "null", "bare"]
)
def test_an_event_that_is_not_an_api_request_is_a_404_not_a_crash(
    aws: Any, lambda_context: Any, function: str, event: dict[str, Any]
) -> None:
    # A direct invoke (a console test event, a mistaken rule) has no method or resource to route on.
    response = aws.invoke(function, event, lambda_context)
    assert answered(response) == (404, {"error": {"message": "no such route"}})


def test_a_read_that_counts_nothing_warns_nothing(aws: Any, lambda_context: Any, recwarn: Any) -> None:
    # Powertools warns when a handler flushes no metric: the log of a good read must not look like a failure.
    # The orders package silences that one warning when imported; pytest resets the filters around each test,
    # so import it again here, as a cold start does.
    importlib.reload(orders)
    registered(aws, lambda_context, "QUIET1")
    recwarn.clear()
    read = event("get_order.json")
    read.update(path="/orders/QUIET1", pathParameters={"reference": "QUIET1"})
    assert aws.invoke("cgi1", read, lambda_context)["statusCode"] == 200
    assert [str(w.message) for w in recwarn if "metrics" in str(w.message)] == []
