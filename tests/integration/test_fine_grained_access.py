"""The restricted roles' DynamoDB requests against what IAM would let through, read from the translated template.

moto evaluates no IAM policy: a condition on ``dynamodb:Attributes`` or ``dynamodb:LeadingKeys`` that refuses the
code's own requests passes every local test and fails in the account. So the requests are captured where the
code really makes them (the function's handler run on moto, its store given a recording client), and each must
be allowed by a statement of the function's role in the template CloudFormation receives, its conditions
evaluated as IAM evaluates them (IAM User Guide, "IAM JSON policy elements: Condition operators" and "Multivalued
context keys": ``ForAllValues`` holds when every value of the request is among the policy's; ``...IfExists``
holds when the request has no such key).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest

from orders.confirmation_queue import ConfirmationQueue, QueuedConfirmation
from orders.dependencies import Dependencies
from orders.events import EventPublisher, events_of_change
from orders.exceptions import MailUnavailableError
from orders.mail import MailSender
from orders.model import OperationRecord, OrderStatus, PaymentSession
from orders.payment import create_order
from orders.reconciliation import Plan, Reconciler, ReportBucket
from orders.reconciliation_runs import FannedOutRuns, PartQueue
from orders.smoke import Smoke
from orders.store import GIVE_BACK_PARTITION, ORDER_SK, OrderStore
from orders.terminals import Terminals
from sealing import Money
from stacktools.template import ROOT, Resolver, Template
from tests.support.aws import (
    create_orders_table,
    event,
    load_function,
    mail_settings,
    serialised_mock_aws,
    terminals_config,
)
from tests.support.deployed import actions, role_of, statements, transformed
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import (
    ACK_OK,
    SAMPLE,
    SESSION,
    call,
    confirm,
    create_request,
    sealed_confirmation,
    sqs_event,
    stored_order,
)
from tests.support.recording import RecordingClient, Request, partition_key, top_level_attributes
from tests.support.smoke import ALARM, API, FakeCloudWatch, action_item, in_process_api

TABLE = "orders-iam"
TABLE_ARN = {"Fn::GetAtt": ["OrdersTable", "Arn"]}
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
BILLING = {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"}
CONTEXT = SimpleNamespace(
    function_name="test",
    memory_limit_in_mb=256,
    invoked_function_arn="arn:aws:lambda:eu-west-3:123456789012:function:test",
    aws_request_id="00000000-0000-0000-0000-000000000000",
)


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return dict(transformed()["Resources"])


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_DEFAULT_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "MerchantKitTest")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with serialised_mock_aws():
        client = boto3.client("dynamodb")
        create_orders_table(client, TABLE)
        yield client


# -- IAM's evaluation of the DynamoDB condition keys the template uses -------------------------------------------


def _request_values(key: str, request: Request) -> list[str]:
    if key == "dynamodb:Attributes":
        return sorted(top_level_attributes(request))
    if key == "dynamodb:LeadingKeys":
        return [partition_key(request)]
    if key == "dynamodb:ReturnValues":
        return [request.parameters["ReturnValues"]] if "ReturnValues" in request.parameters else []
    pytest.fail(f"condition key {key}: teach this test how IAM reads it from a DynamoDB request")


def _holds(operator: str, found: list[str], wanted: list[str]) -> bool:
    equals = operator.removeprefix("ForAllValues:").removesuffix("IfExists") == "StringEquals"

    def matches(value: str) -> bool:
        return value in wanted if equals else any(fnmatch.fnmatchcase(value, p) for p in wanted)

    if operator.startswith("ForAllValues:"):
        return all(matches(v) for v in found)  # an empty set holds, as IAM says
    if operator.endswith("IfExists") and not found:
        return True
    if operator.removesuffix("IfExists") not in ("StringEquals", "StringLike"):
        pytest.fail(f"condition operator {operator}: teach this test how IAM evaluates it")
    return bool(found) and all(matches(v) for v in found)


def permits(statement: dict[str, Any], request: Request) -> bool:
    """Whether an Allow statement on the table lets ``request`` through, every condition of it evaluated."""
    if statement["Effect"] != "Allow" or f"dynamodb:{request.operation}" not in actions(statement):
        return False
    index = request.parameters.get("IndexName")  # a query of an index: the index's ARN, not the table's
    named = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    if (TABLE_ARN if index is None else {"Fn::Sub": f"${{OrdersTable.Arn}}/index/{index}"}) not in named:
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        for key, wanted in conditions.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            if not _holds(operator, _request_values(key, request), values):
                return False
    return True


def role_statements(resources: dict[str, Any], template: Template, function: str) -> list[dict[str, Any]]:
    role = role_of(resources, function)
    return [s for policy in role.get("Policies", []) for s in statements(policy["PolicyDocument"], Resolver(template))]


def refused(requests: list[Request], held: list[dict[str, Any]]) -> list[str]:
    """The requests no statement lets through, each with what it named."""
    return [
        f"{r.operation} {r.parameters.get('IndexName') or partition_key(r)} naming {sorted(top_level_attributes(r))}"
        for r in requests
        if not any(permits(statement, r) for statement in held)
    ]


# -- what each restricted function's code really sends --------------------------------------------------------


@dataclass
class Stack:
    """What tests/support/merchant's helpers take as ``aws``: the table written with a plain client to set a
    journey up (``store``), and the handlers invoked on dependencies whose store records what they send."""

    dynamodb: Any
    terminals: Terminals
    recorder: RecordingClient = field(init=False)
    store: OrderStore = field(init=False)
    deps: Dependencies = field(init=False)

    def __post_init__(self) -> None:
        self.recorder = RecordingClient(self.dynamodb)
        self.store = OrderStore(TABLE, client=self.dynamodb)
        recording = OrderStore(TABLE, client=self.recorder)
        self.deps = Dependencies(store=recording, terminals=lambda: self.terminals, clock=lambda: NOW)

    def use(self, **changes: Any) -> None:
        self.deps = replace(self.deps, **changes)

    def invoke(self, function: str, event: dict[str, Any], context: Any) -> Any:
        return _function(function).create_handler(self.deps)(event, context)


@cache
def _function(name: str) -> ModuleType:
    return load_function(name)


def _stack(dynamodb: Any, **terminals: dict[str, Any]) -> Stack:
    return Stack(dynamodb, Terminals.from_json(json.dumps(terminals_config(**terminals))))


def cgi1_journey(dynamodb: Any) -> list[Request]:
    """An order created by the merchant's backend (its own item, put once), then read back."""
    stack = _stack(dynamodb)
    body = {"amount": "62.73", "email": "buyer@example.com", "billing": BILLING}
    created = stack.invoke("cgi1", create_request(body), CONTEXT)
    assert created["statusCode"] == 201, created["body"]
    get = event("get_order.json")
    get["pathParameters"] = {"reference": json.loads(created["body"])["reference"]}
    assert stack.invoke("cgi1", get, CONTEXT)["statusCode"] == 200
    operations = {(r.operation, partition_key(r).split("#")[0]) for r in stack.recorder.requests}
    assert {("PutItem", "ORDER"), ("GetItem", "ORDER")} <= operations
    return stack.recorder.requests


def sweeper_journey(dynamodb: Any) -> list[Request]:
    """A deferred order at the end of its period, captured by a scheduled run under its lease."""
    stack = _stack(dynamodb)
    stack.use(bank_transport=FakeBank())
    reference = "SWIAM00001"
    stored_order(stack, reference, tpe="0900158")
    assert confirm(stack, CONTEXT, reference=reference + "00", tpe="0900158")["body"] == ACK_OK
    stack.recorder.requests.clear()  # CGI2's, not the sweeper's
    stack.use(clock=lambda: NOW + timedelta(days=30))
    due = {"source": "aws.events", "detail-type": "Scheduled Event", "time": "2026-12-27T08:00:00Z"}
    timed = SimpleNamespace(**vars(CONTEXT), get_remaining_time_in_millis=lambda: 300_000)
    assert stack.invoke("deferred_sweeper", due, timed)["outcomes"] == {reference: "capture_full"}
    assert stack.store.get(reference).status is OrderStatus.CAPTURED
    single = [r for r in stack.recorder.requests if r.operation in ("GetItem", "UpdateItem")]  # not the index's
    operations = {(r.operation, partition_key(r).split("#")[0]) for r in single}
    assert {("UpdateItem", "ORDER"), ("UpdateItem", "LEASE")} <= operations
    return stack.recorder.requests


def checkout_journey(dynamodb: Any) -> list[Request]:
    """An order created, then the checkout page served three times: the session reused, then (its 45 minutes
    over) a second and a third session opened, the checkout's only write."""
    stack = _stack(dynamodb)
    created = create_order(
        {"amount": "62.73", "email": "buyer@example.com", "billing": BILLING}, stack.terminals, stack.store, NOW
    )
    for minutes in (1, 50, 100):
        stack.use(clock=lambda minutes=minutes: NOW + timedelta(minutes=minutes))
        request = {
            "httpMethod": "GET",
            "resource": "/checkout/{token}",
            "pathParameters": {"token": created.checkout_token},
        }
        assert stack.invoke("checkout", request, CONTEXT)["statusCode"] == 200
    writes = [r for r in stack.recorder.requests if r.operation == "UpdateItem"]
    assert len(writes) == 2, "two payment sessions opened: the journey covers the restricted write"
    return stack.recorder.requests


def cgi2_journey(dynamodb: Any) -> list[Request]:
    """A payment refused then accepted, the acceptance posted again, and a sealed confirmation of no order."""
    stack = _stack(dynamodb)
    stored_order(stack, SAMPLE)
    for code in ("Annulation", "payetest", "payetest"):
        assert confirm(stack, CONTEXT, code)["body"] == ACK_OK
    assert confirm(stack, CONTEXT, reference="NOSUCHORD000")["body"] == ACK_OK
    operations = {(r.operation, partition_key(r).split("#")[0]) for r in stack.recorder.requests}
    assert {("UpdateItem", "ORDER"), ("PutItem", "UNMATCHED")} <= operations
    return stack.recorder.requests


def consumer_journey(dynamodb: Any) -> list[Request]:
    """Confirmations CGI2 queued while the table failed, applied by the consumer: one of an order, one of none."""
    stack = _stack(dynamodb)
    stored_order(stack, SAMPLE)
    sqs = boto3.client("sqs")
    queue = ConfirmationQueue(sqs.create_queue(QueueName="confirmations-iam")["QueueUrl"], client=sqs)
    stack.use(queue=queue)
    for reference in (SESSION, "NOSUCHORD000"):
        queue.put(QueuedConfirmation(sealed_confirmation(reference=reference), NOW))
    messages = sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10)["Messages"]
    assert stack.invoke("confirmation_consumer", sqs_event(messages), CONTEXT) == {"batchItemFailures": []}
    operations = {(r.operation, partition_key(r).split("#")[0]) for r in stack.recorder.requests}
    assert {("UpdateItem", "ORDER"), ("PutItem", "UNMATCHED")} <= operations
    return stack.recorder.requests


def backoffice_journey(dynamodb: Any) -> list[Request]:
    """Captures with an Idempotency-Key (kept, replayed), a refund, a key whose request changed nothing, and the
    day's orders listed (DateIndex, then the orders read by key)."""
    stack = _stack(dynamodb)
    stack.use(bank_transport=FakeBank())
    reference = "BOIAM1"
    stored_order(stack, reference, tpe="0900159")
    assert confirm(stack, CONTEXT, reference=reference + "00", tpe="0900159")["body"] == ACK_OK
    stack.recorder.requests.clear()  # CGI2's, not the console's
    capture, refund = "/orders/{reference}/capture", "/orders/{reference}/refund"
    headers = {"Idempotency-Key": "iam-capture-1"}
    assert call(stack, CONTEXT, "POST", capture, reference, {"amount": "10.00"}, headers=headers)[0] == 200
    assert call(stack, CONTEXT, "POST", capture, reference, {"amount": "10.00"}, headers=headers)[0] == 200
    assert call(stack, CONTEXT, "POST", capture, reference, {}, headers={"Idempotency-Key": "iam-capture-2"})[0] == 200
    assert call(stack, CONTEXT, "POST", refund, reference, {"amount": "1.00"})[0] == 200
    bad = {"Idempotency-Key": "iam-refund-bad"}
    assert call(stack, CONTEXT, "POST", refund, reference, {"amount": "1,00"}, headers=bad)[0] == 400
    operations = {(r.operation, partition_key(r).split("#")[0]) for r in stack.recorder.requests}
    assert {("UpdateItem", "ORDER"), ("PutItem", "IDEMPOTENCY"), ("UpdateItem", "IDEMPOTENCY")} <= operations
    assert ("DeleteItem", "IDEMPOTENCY") in operations
    status, listed = call(stack, CONTEXT, "GET", "/orders", status="partially_refunded", **{"from": "2026-11-27"})
    assert (status, [order["reference"] for order in listed["orders"]]) == (200, [reference])
    assert {"Query", "BatchGetItem"} <= {r.operation for r in stack.recorder.requests}
    late = OperationRecord("slowcall", "refund_full", Money(Decimal("1.00"), "EUR"), NOW, "done", actor=None)
    stack.store.record_conflict(reference, late, NOW)  # a review: the order needs attention
    status, listed = call(stack, CONTEXT, "GET", "/attention")
    assert (status, [order["reference"] for order in listed["orders"]]) == (200, [reference])
    assert call(stack, CONTEXT, "POST", "/orders/{reference}/reviewed", reference, {"reviews": 1})[0] == 200
    assert any(
        r.operation == "Query" and r.parameters.get("IndexName") == "AttentionIndex" for r in stack.recorder.requests
    )
    return stack.recorder.requests


def mail_journey(dynamodb: Any) -> list[Request]:
    """A paid order's mails sent once (an event delivered twice), and a claim given back when SES refuses."""
    mail = {"sender": "boutique@shop.example", "merchant": "commandes@shop.example"}
    stack = _stack(dynamodb)
    ses = boto3.client("ses")
    stack.use(mail_sender=MailSender(ses), mail_settings=lambda: mail_settings(**{"0900157": mail}))
    before = stored_order(stack, SAMPLE)
    assert confirm(stack, CONTEXT)["body"] == ACK_OK
    after = stack.store.get(SAMPLE)
    stack.recorder.requests.clear()  # CGI2's, not the mailer's
    (paid,) = [e for e in events_of_change(before, after) if e.type == "OrderPaid"]
    envelope = {"detail-type": paid.type, "source": "merchant-kit.orders", "detail": paid.detail}
    with pytest.raises(MailUnavailableError):
        stack.invoke("order_mail", envelope, CONTEXT)  # the sender is not verified yet: SES refuses
    ses.verify_email_identity(EmailAddress=mail["sender"])
    assert stack.invoke("order_mail", envelope, CONTEXT)["sent"]
    assert stack.invoke("order_mail", envelope, CONTEXT)["sent"] == []
    operations = {(r.operation, partition_key(r).split("#")[0]) for r in stack.recorder.requests}
    assert {("PutItem", "MAIL"), ("DeleteItem", "MAIL")} <= operations
    return stack.recorder.requests


def give_back_journey(dynamodb: Any) -> list[Request]:
    """An order paid in one tab, then in another: the stream's record of the second payment given back once."""
    stack = _stack(dynamodb)
    stack.use(bank_transport=FakeBank())
    reference = "GBIAM00001"
    sessions = (PaymentSession(0, reference + "00", NOW), PaymentSession(1, reference + "01", NOW))
    stored_order(stack, reference, sessions=sessions)
    for session, numauto in ((reference + "01", "111111"), (reference + "00", "222222")):
        assert confirm(stack, CONTEXT, reference=session, numauto=numauto)["body"] == ACK_OK
    stack.recorder.requests.clear()  # CGI2's, not the give-back's
    image = {"reference": {"S": reference}, "giveback_due": {"S": GIVE_BACK_PARTITION}}
    record = {"eventName": "MODIFY", "dynamodb": {"Keys": {"sk": {"S": ORDER_SK}}, "NewImage": image}}
    for _ in range(2):  # the stream delivers at least once
        assert stack.invoke("give_back", {"Records": [record]}, CONTEXT) == {"batchItemFailures": []}
    operations = {(r.operation, partition_key(r).split("#")[0]) for r in stack.recorder.requests}
    assert ("UpdateItem", "ORDER") in operations
    return stack.recorder.requests


def reconciliation_parts_journey(dynamodb: Any) -> list[Request]:
    """A part of a reconciliation run: a payment whose confirmation never came, and a refund made in the bank's
    dashboard, each recorded on its order."""
    stack = _stack(dynamodb)
    bank = FakeBank()
    stack.use(bank_transport=bank)
    stored_order(stack, SAMPLE)
    bank.accounts[SESSION] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))
    refunded = "RCIAM00001"
    stored_order(stack, refunded)
    assert confirm(stack, CONTEXT, reference=refunded + "00")["body"] == ACK_OK
    bank.accounts[refunded + "00"] = Account(Decimal("62.73"), "EUR", Decimal("62.73"), refunded=Decimal("20.00"))
    stack.recorder.requests.clear()  # CGI2's, not the reconciliation's
    s3, sqs, events = (boto3.client(service) for service in ("s3", "sqs", "events"))
    s3.create_bucket(Bucket="reports-iam", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    events.create_event_bus(Name="orders-iam")
    queue = PartQueue(sqs.create_queue(QueueName="parts-iam")["QueueUrl"], client=sqs)
    reports = ReportBucket("reports-iam", client=s3)
    stack.use(reports=reports, parts=queue, publisher=EventPublisher("orders-iam", client=events))
    reconciler = Reconciler(stack.deps.store, stack.terminals, stack.deps.bank_client)
    plan = Plan("schedule", NOW + timedelta(hours=2), (NOW.date().isoformat(),), NOW.date(), (SAMPLE, refunded))
    FannedOutRuns(reconciler, reports, queue).start(plan)
    messages = sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10)["Messages"]
    timed = SimpleNamespace(**vars(CONTEXT), get_remaining_time_in_millis=lambda: 300_000)
    assert stack.invoke("reconciliation_parts", sqs_event(messages), timed) == {"batchItemFailures": []}
    repaired = [bank.accounts[SESSION].captured, stack.store.get(refunded).refunded]
    assert (stack.store.get(SAMPLE).status, repaired) == (OrderStatus.PAID, [Decimal("62.73"), Decimal("20.00")])
    operations = {(r.operation, partition_key(r).split("#")[0]) for r in stack.recorder.requests}
    assert ("UpdateItem", "ORDER") in operations
    return stack.recorder.requests


def smoke_journey(dynamodb: Any) -> list[Request]:
    """The smoke test's run (orders.smoke): its order created, read back and deleted; the checkout and CGI2 it
    calls run on their own roles (a store that records nothing)."""
    stack = _stack(dynamodb)
    others = Dependencies(store=stack.store, terminals=lambda: stack.terminals, clock=lambda: NOW)
    terminal = stack.terminals.get("0900157")
    cloudwatch = FakeCloudWatch(lambda: action_item("Succeeded", NOW))
    smoke = Smoke(
        terminal, stack.deps.store, API, cloudwatch, ALARM, clock=lambda: NOW, http=in_process_api(others, CONTEXT)
    )
    assert all(check.ok for check in smoke.run())
    operations = {(r.operation, partition_key(r).split("#")[0]) for r in stack.recorder.requests}
    assert {("PutItem", "ORDER"), ("GetItem", "ORDER"), ("DeleteItem", "ORDER")} <= operations
    return stack.recorder.requests


def shop_key_journey(dynamodb: Any) -> list[Request]:
    """The shop keys' authorizer: a key read by id, its last use written (once), a key refused."""
    from orders import keys

    stack = _stack(dynamodb)
    shop_keys = keys.ShopKeys(stack.deps.store, lambda: b"p" * 32, "test")
    created = shop_keys.create(keys.SHOP, "web shop", NOW)
    stack.recorder.requests.clear()  # the console's write, not the authorizer's
    stack.use(shop_keys=shop_keys, clock=lambda: NOW)
    request = {"methodArn": "arn:aws:execute-api:eu-west-3:123456789012:a/v1/POST/orders"}
    for authorization in (f"Bearer {created.key}", f"Bearer {created.key}", "Bearer mk_test_x"):
        stack.invoke("shop_key_authorizer", {**request, "headers": {"Authorization": authorization}}, CONTEXT)
    operations = [(r.operation, partition_key(r)) for r in stack.recorder.requests]
    assert ("UpdateItem", "SHOPKEY") in operations
    return stack.recorder.requests


def console_journey(dynamodb: Any) -> list[Request]:
    """A user signs in to the console (a session put), reads a page a while later (the session read, its last
    page's time written), captures part of an order, reads it, marks its review reviewed, signs out (the session
    deleted)."""
    import re

    from console.sessions import COOKIE, TOUCH_EVERY
    from tests.support.console import UserPool
    from tests.support.console import event as page

    stack = _stack(dynamodb)
    pool = UserPool()
    pool.add("ops@shop.example", "Correct-Horse-42!", "operator")
    stack.use(users=lambda: pool.users)
    form = stack.invoke("console", page("GET", "/console/sign-in"), CONTEXT)
    token = re.search(r'name="csrf" value="([^"]+)"', form["body"])
    assert token
    form_cookie = form["multiValueHeaders"]["Set-Cookie"][0].split(";")[0].split("=", 1)
    fields = {"csrf": token.group(1), "email": "ops@shop.example", "password": "Correct-Horse-42!"}
    signed_in = stack.invoke(
        "console", page("POST", "/console/sign-in", cookies=dict([form_cookie]), form=fields), CONTEXT
    )
    assert signed_in["statusCode"] == 303
    session = signed_in["multiValueHeaders"]["Set-Cookie"][0].split(";")[0].split("=", 1)[1]
    stack.use(clock=lambda: NOW + TOUCH_EVERY)
    assert stack.invoke("console", page("GET", "/console", cookies={COOKIE: session}), CONTEXT)["statusCode"] == 303
    csrf = re.search(
        r'name="csrf" value="([^"]+)"',
        stack.invoke("console", page("GET", "/console/nothing", cookies={COOKIE: session}), CONTEXT)["body"],
    )
    assert csrf
    _console_actions(stack, {COOKIE: session}, csrf.group(1))
    out = page("POST", "/console/sign-out", cookies={COOKIE: session}, form={"csrf": csrf.group(1)})
    assert stack.invoke("console", out, CONTEXT)["statusCode"] == 303
    keyed = [r for r in stack.recorder.requests if "Key" in r.parameters or "Item" in r.parameters]
    operations = {(r.operation, partition_key(r).split("#")[0]) for r in keyed}
    assert {
        ("PutItem", "CONSOLESESSION"),
        ("UpdateItem", "CONSOLESESSION"),
        ("DeleteItem", "CONSOLESESSION"),
    } <= operations
    return stack.recorder.requests


def _console_actions(stack: Stack, cookies: dict[str, str], csrf: str) -> None:
    """The console's writes other than its sessions: a capture confirmed and sent (the order's journal, its
    Idempotency-Key), the order's page (its e-mails' query), a review marked reviewed."""
    import re

    from tests.support.console import event as page

    stack.use(bank_transport=FakeBank())
    reference = "CSIAM1"
    before = len(stack.recorder.requests)
    stored_order(stack, reference, tpe="0900159")
    assert confirm(stack, CONTEXT, reference=reference + "00", tpe="0900159")["body"] == ACK_OK
    del stack.recorder.requests[before:]  # the order's and CGI2's, not the console's
    path = f"/console/orders/{reference}/capture"
    shown = stack.invoke("console", page("GET", path, cookies=cookies, query={"amount": "10.00"}), CONTEXT)
    assert shown["statusCode"] == 200
    form = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', shown["body"]))
    assert stack.invoke("console", page("POST", path, cookies=cookies, form=form), CONTEXT)["statusCode"] == 200
    order_page = page("GET", f"/console/orders/{reference}", cookies=cookies)
    assert stack.invoke("console", order_page, CONTEXT)["statusCode"] == 200
    late = OperationRecord("slowcall", "capture_part", Money(Decimal("1.00"), "EUR"), NOW, "done", actor=None)
    stack.store.record_conflict(reference, late, NOW)  # a review: the order needs attention
    listed = stack.invoke("console", page("GET", "/console/attention", cookies=cookies), CONTEXT)
    seen = re.search(r'name="reviews" value="(\d+)"', listed["body"])
    assert seen
    mark = page(
        "POST", f"/console/orders/{reference}/reviewed", cookies=cookies, form={"csrf": csrf, "reviews": seen[1]}
    )
    assert stack.invoke("console", mark, CONTEXT)["statusCode"] == 303
    writes = [r for r in stack.recorder.requests if r.operation in ("PutItem", "UpdateItem", "DeleteItem")]
    operations = {(r.operation, partition_key(r).split("#")[0]) for r in writes}
    assert {("UpdateItem", "ORDER"), ("PutItem", "IDEMPOTENCY"), ("UpdateItem", "IDEMPOTENCY")} <= operations
    mails = [r for r in stack.recorder.requests if r.operation == "Query" and "IndexName" not in r.parameters]
    assert [r.parameters["ExpressionAttributeValues"][":pk"]["S"] for r in mails] == [f"MAIL#{reference}"]


JOURNEYS: dict[str, Callable[[Any], list[Request]]] = {
    "ConsoleFunction": console_journey,
    "ShopKeyAuthorizerFunction": shop_key_journey,
    "ReconciliationPartsFunction": reconciliation_parts_journey,
    "GoLiveFunction": smoke_journey,
    "Cgi1Function": cgi1_journey,
    "DeferredSweeperFunction": sweeper_journey,
    "CheckoutFunction": checkout_journey,
    "Cgi2Function": cgi2_journey,
    "ConfirmationConsumerFunction": consumer_journey,
    "BackofficeFunction": backoffice_journey,
    "OrderMailFunction": mail_journey,
    "GiveBackFunction": give_back_journey,
}


def test_every_role_with_a_condition_on_its_table_writes_has_its_journey_here(
    resources: dict[str, Any], template: Template
) -> None:
    restricted = {
        function.logical_id
        for function in template.functions()
        for statement in role_statements(resources, template, function.logical_id)
        if any(
            key.startswith("dynamodb:") for conditions in statement.get("Condition", {}).values() for key in conditions
        )
    }
    assert restricted == set(JOURNEYS)


@pytest.mark.parametrize("function", sorted(JOURNEYS))
def test_every_request_of_a_restricted_role_is_one_iam_lets_through(
    resources: dict[str, Any], template: Template, dynamodb: Any, function: str
) -> None:
    requests = JOURNEYS[function](dynamodb)
    assert requests
    assert refused(requests, role_statements(resources, template, function)) == []


# The prefixes of the items each function writes (layers/orders/orders/store.py: ORDER#<reference>,
# UNMATCHED#<tpe>#<reference>, IDEMPOTENCY#<key>, MAIL#<reference>; orders/sweep_lease.py:
# LEASE#deferred-sweeper); the journeys prove the code keeps to them.
WRITES = {
    "Cgi1Function": {"dynamodb:PutItem": ["ORDER#*"]},
    "CheckoutFunction": {"dynamodb:UpdateItem": ["ORDER#*"]},
    "DeferredSweeperFunction": {"dynamodb:UpdateItem": ["ORDER#*", "LEASE#*"]},
    "Cgi2Function": {"dynamodb:UpdateItem": ["ORDER#*"], "dynamodb:PutItem": ["UNMATCHED#*"]},
    "ConfirmationConsumerFunction": {"dynamodb:UpdateItem": ["ORDER#*"], "dynamodb:PutItem": ["UNMATCHED#*"]},
    "BackofficeFunction": {
        "dynamodb:UpdateItem": ["ORDER#*", "IDEMPOTENCY#*", "SHOPKEY"],
        "dynamodb:PutItem": ["IDEMPOTENCY#*", "SHOPKEY"],
        "dynamodb:DeleteItem": ["IDEMPOTENCY#*"],
    },
    "OrderMailFunction": {"dynamodb:PutItem": ["MAIL#*"], "dynamodb:DeleteItem": ["MAIL#*"]},
    "GiveBackFunction": {"dynamodb:UpdateItem": ["ORDER#*"]},
    "ReconciliationPartsFunction": {"dynamodb:UpdateItem": ["ORDER#*"]},
    "GoLiveFunction": {"dynamodb:PutItem": ["ORDER#*"], "dynamodb:DeleteItem": ["ORDER#*"]},
    # layers/console/console/sessions.py: CONSOLESESSION#<hash of the cookie>; the actions as the API's.
    "ConsoleFunction": {
        "dynamodb:UpdateItem": ["ORDER#*", "IDEMPOTENCY#*", "UNMATCHED#*", "CONSOLESESSION#*"],
        "dynamodb:PutItem": ["IDEMPOTENCY#*", "CONSOLESESSION#*"],
        "dynamodb:DeleteItem": ["IDEMPOTENCY#*", "CONSOLESESSION#*"],
    },
    "ShopKeyAuthorizerFunction": {"dynamodb:UpdateItem": ["SHOPKEY"]},
}


TABLE_WRITES = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")


def test_every_function_that_writes_the_table_has_its_prefixes_here(
    resources: dict[str, Any], template: Template
) -> None:
    """A role writing the orders table (or anything of it: a wildcard) is one of WRITES, so its prefixes are held
    to below; a writer added without them fails here."""
    writers = {
        function.logical_id
        for function in template.functions()
        for statement in role_statements(resources, template, function.logical_id)
        if statement["Effect"] == "Allow"
        and "OrdersTable" in json.dumps(statement["Resource"])
        and any(fnmatch.fnmatchcase(write, action) for action in actions(statement) for write in TABLE_WRITES)
    }
    assert writers == set(WRITES)


@pytest.mark.parametrize("function", sorted(WRITES))
def test_each_writer_writes_only_its_key_prefixes(resources: dict[str, Any], template: Template, function: str) -> None:
    """DynamoDB developer guide, "Using IAM policy conditions for fine-grained access control": dynamodb:LeadingKeys
    "represents the first key attribute of a table — in other words, the partition key"; with ForAllValues, a
    request is allowed only when its partition key matches the policy's values."""
    writes: dict[str, list[str]] = {}
    for statement in role_statements(resources, template, function):
        for action in actions(statement):
            if action in TABLE_WRITES:
                condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
                prefixes = condition.get("dynamodb:LeadingKeys", ["* (no condition)"])
                writes[action] = writes.get(action, []) + list(prefixes)
    assert writes == WRITES[function]


def test_an_attribute_list_names_every_key_attribute(resources: dict[str, Any], template: Template) -> None:
    """DynamoDB developer guide, "Using IAM policy conditions for fine-grained access control": "If you use
    dynamodb:Attributes, you must specify the names of all of the primary key and index key attributes for the
    table and any secondary indexes that are listed in the policy. Otherwise, DynamoDB can't use these key
    attributes to perform the requested action." """
    table = template.properties_of("OrdersTable")
    keys = {k["AttributeName"] for k in table["KeySchema"]}
    index_keys = {i["IndexName"]: {k["AttributeName"] for k in i["KeySchema"]} for i in table["GlobalSecondaryIndexes"]}
    listing = 0
    for function in template.functions():
        for statement in role_statements(resources, template, function.logical_id):
            for conditions in statement.get("Condition", {}).values():
                if "dynamodb:Attributes" not in conditions:
                    continue
                listing += 1
                allowed = set(conditions["dynamodb:Attributes"])
                assert keys <= allowed, f"{function.logical_id}: {sorted(keys - allowed)} missing"
                for index, names in index_keys.items():
                    if index in str(statement["Resource"]):
                        assert names <= allowed, f"{function.logical_id}: {index}'s keys missing"
    assert listing, "the checkout's write is restricted to a list of attributes"


def test_the_checkout_may_write_no_attribute_that_moves_money_or_state(
    resources: dict[str, Any], template: Template
) -> None:
    (write,) = [
        s for s in role_statements(resources, template, "CheckoutFunction") if "dynamodb:UpdateItem" in actions(s)
    ]
    allowed = set(write["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"])
    assert allowed == {"pk", "sk", "sessions", "version"}, "the keys, the session list and the version only"
    assert write["Condition"]["StringEqualsIfExists"]["dynamodb:ReturnValues"] == ["NONE"]


def test_the_evaluation_refuses_what_iam_would_refuse() -> None:
    """The evaluator above is the test's only IAM: it must say no where IAM says no."""
    statement = {
        "Effect": "Allow",
        "Action": "dynamodb:UpdateItem",
        "Resource": TABLE_ARN,
        "Condition": {
            "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "sk", "sessions", "version"]},
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ORDER#*"]},
            "StringEqualsIfExists": {"dynamodb:ReturnValues": ["NONE"]},
        },
    }
    key = {"pk": {"S": "ORDER#A"}, "sk": {"S": "ORDER"}}
    sessions = {"Key": key, "UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "sessions"}}
    assert permits(statement, Request("UpdateItem", sessions))
    assert not permits(statement, Request("UpdateItem", {**sessions, "ReturnValues": "ALL_NEW"}))
    assert not permits(statement, Request("UpdateItem", {**sessions, "ConditionExpression": "#st = :s"} | {
        "ExpressionAttributeNames": {"#s": "sessions", "#st": "status"}}))  # fmt: skip
    status = {"Key": key, "UpdateExpression": "SET status = :s"}
    assert not permits(statement, Request("UpdateItem", status))
    other = {"Key": {"pk": {"S": "IDEMPOTENCY#k"}, "sk": {"S": "IDEMPOTENCY"}}, "UpdateExpression": "SET sessions = :s"}
    assert not permits(statement, Request("UpdateItem", other))
    assert not permits(statement, Request("PutItem", {"Item": key}))
