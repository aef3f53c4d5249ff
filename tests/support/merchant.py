"""What the merchant-side functional tests share: the sample order and its confirmations, CGI1's create request,
the console's calls, the confirmation queue's events. Each takes the ``aws`` fixture (tests/functional/conftest.py),
whose dependencies every handler is built on."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from boto3.dynamodb.types import TypeSerializer

from orders.actors import Actor, ActorKind
from orders.model import Order, OrderStatus
from orders.sessions import first_session
from orders.store import order_to_item
from orders.terminals import PaymentMode
from sealing import MerchantKey, Money, seal
from tests.support.aws import TEST_KEY, event

SAMPLE = "EVTSAMPLE0"  # the order; the bank knows its first payment session as SESSION
SESSION = SAMPLE + "00"
ACK_OK = "version=2\ncdr=0\n"
ACK_BAD = "version=2\ncdr=1\n"
BILLING = {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"}
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)  # past the lease of an operation's journal entry
CONSOLE = Actor(ActorKind.IAM, "arn:aws:iam::123456789012:user/back-office")  # who the console's calls are made by


# --- orders and confirmations (CGI2) ---------------------------------------------------------------------


def stored_order(aws: Any, reference: str, tpe: str = "0900157", amount: str = "62.73", **changes: Any) -> Order:
    created_at = changes.pop("created_at", datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    mode = {"0900158": PaymentMode.DEFERRED, "0900159": PaymentMode.DEFERRED_AUTHORIZATION}.get(
        tpe, PaymentMode.IMMEDIATE
    )
    order = Order(
        reference=reference,
        tpe=tpe,
        mode=mode,
        status=OrderStatus.AWAITING_PAYMENT,
        amount=Money(Decimal(amount), "EUR"),
        **{
            "language": "FR",
            "email": "buyer@example.com",
            "checkout_token_hash": "0" * 64,
            "created_at": created_at,
            "sessions": (first_session(reference, created_at),),
            **changes,
        },
    )
    aws.store.create(order)
    return order


def confirm(
    aws: Any, lambda_context: Any, code: str = "payetest", numauto: str = "123456", **fields: Any
) -> dict[str, Any]:
    """The bank's sealed confirmation of a payment session (``sealed_confirmation``), posted to CGI2; CGI2's
    response."""
    return post_confirmation(aws, lambda_context, sealed_confirmation(code, numauto, **fields))


def sealed_confirmation(
    code: str = "payetest",
    numauto: str = "123456",
    *,
    reference: str = SESSION,
    tpe: str = "0900157",
    amount: str = "62.73EUR",
    date: str = "27/11/2026_a_10:15:00",
    reason: str = "",
    key: str = TEST_KEY,
    extra: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """The bank's sealed confirmation of a payment session, as the bank posts it."""
    fields = [
        ("TPE", tpe), ("date", date), ("montant", amount), ("reference", reference), ("texte-libre", ""),
        ("code-retour", code), ("cvx", "oui"), ("vld", "1228"), ("brand", "VI"), ("status3ds", "1"),
        ("numauto", numauto), ("motifrefus", reason), ("originecb", "FRA"), ("bincb", "411111"),
        ("hpancb", "74E94B03C22D786E0F2C2CADBFC1C00B004B7C45"), ("ipclient", "203.0.113.9"), *extra,
    ]  # fmt: skip
    fields.append(("MAC", seal(MerchantKey(key), fields)))
    return urlencode(fields).encode()


def post_confirmation(aws: Any, lambda_context: Any, body: bytes) -> dict[str, Any]:
    """``body``, exactly, posted to CGI2."""
    request = event("confirmation_accepted.json")
    request["body"] = base64.b64encode(body).decode()
    return aws.invoke("cgi2", request, lambda_context)  # type: ignore[no-any-return]


def sample_body() -> bytes:
    return base64.b64decode(event("confirmation_accepted.json")["body"])


def paid(aws: Any, lambda_context: Any, reference: str, tpe: str) -> Order:
    stored_order(aws, reference, tpe=tpe)
    confirm(aws, lambda_context, reference=reference + "00", tpe=tpe)  # its first session, as the bank knows it
    return aws.store.get(reference)  # type: ignore[no-any-return]


def registered(aws: Any, lambda_context: Any, reference: str, tpe: str = "0900159") -> None:
    paid(aws, lambda_context, reference, tpe)


# --- the confirmation queue ------------------------------------------------------------------------------


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
            }
            for m in messages
        ]
    }


def consume(aws: Any, lambda_context: Any) -> dict[str, Any]:
    """The queue consumer run on every message queued."""
    messages = aws.queued()
    assert messages
    return aws.invoke("confirmation_consumer", sqs_event(messages), lambda_context)  # type: ignore[no-any-return]


# --- CGI1 and the checkout page --------------------------------------------------------------------------


def create_request(body: dict[str, Any]) -> dict[str, Any]:
    created = event("create_order.json")
    created["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    return created


def create(aws: Any, lambda_context: Any, **fields: Any) -> dict[str, Any]:
    body = {"amount": "62.73", "email": "buyer@example.com", "billing": BILLING, **fields}
    response = aws.invoke("cgi1", create_request(body), lambda_context)
    return {"status": response["statusCode"], "json": json.loads(response["body"]), "headers": response["headers"]}


class CheckoutForm(HTMLParser):
    """The sealed form of a checkout page: its action, its hidden fields, its buttons' words."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: list[tuple[str, str]] = []
        self.buttons: list[str] = []
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = values["action"]
        if tag == "input" and values.get("type") == "hidden":
            self.fields.append((values["name"], values["value"]))
        self._in_button = tag == "button"

    def handle_data(self, data: str) -> None:
        if self._in_button:
            self.buttons.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_button = False


# --- the console (back-office) ---------------------------------------------------------------------------


def call(
    aws: Any,
    lambda_context: Any,
    method: str,
    resource: str,
    reference: str = "",
    body: Any = None,
    headers: dict[str, str] | None = None,
    context: dict[str, Any] | None = None,
    **query: str,
) -> Any:
    """A console request (``body``: bytes sent as they are, anything else as JSON; ``context``: what API Gateway
    adds to its ``requestContext``, such as the caller's ``identity``); its status and JSON."""
    request = event("get_order.json")
    request["headers"] = {**request["headers"], **(headers or {})}
    request["requestContext"] = {**request["requestContext"], **(context or {})}
    request.update(
        httpMethod=method,
        resource=resource,
        path=resource.replace("{reference}", reference),
        pathParameters={"reference": reference} if reference else None,
        queryStringParameters=query or None,
        body=base64.b64encode(body if isinstance(body, bytes) else json.dumps(body).encode()).decode()
        if body is not None
        else None,
        isBase64Encoded=body is not None,
    )
    response = aws.invoke("backoffice", request, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def age_pending_operation(aws: Any, reference: str) -> None:
    """Make the order's open journal entry look an hour old: its call can no longer be running."""
    aws.dynamodb.update_item(
        TableName=aws.store.table_name,
        Key={"pk": {"S": f"ORDER#{reference}"}, "sk": {"S": "ORDER"}},
        UpdateExpression="SET pending.started_at = :t",
        ExpressionAttributeValues={":t": {"S": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}},
    )


def write_authorized_orders(aws: Any, deadlines: dict[str, tuple[datetime, str]]) -> None:
    """Deferred orders ``authorized`` with these deadlines and deadline-index shards, written 25 to a request
    (BatchWriteItem's limit): one request per order would make a test's set-up, not the sweeper, the slowest
    thing in the suite."""
    serializer = TypeSerializer()
    items = []
    for reference, (deadline, shard) in deadlines.items():
        order = Order(
            reference=reference,
            tpe="0900158",
            mode=PaymentMode.DEFERRED,
            status=OrderStatus.AUTHORIZED,
            amount=Money(Decimal("10.00"), "EUR"),
            email="buyer@example.com",
            language="FR",
            created_at=NOW - timedelta(days=4),
            checkout_token_hash="0" * 64,
            version=1,
        )
        item = order_to_item(order) | {"deadline": deadline.isoformat(), "deadline_shard": shard}
        items.append({"PutRequest": {"Item": {name: serializer.serialize(value) for name, value in item.items()}}})
    for start in range(0, len(items), 25):
        batch = {aws.store.table_name: items[start : start + 25]}
        while batch:  # what DynamoDB could not take this time comes back as UnprocessedItems
            batch = aws.dynamodb.batch_write_item(RequestItems=batch)["UnprocessedItems"]
