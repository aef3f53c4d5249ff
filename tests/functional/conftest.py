from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest

from orders.confirmation_queue import ConfirmationQueue
from orders.dependencies import Dependencies, SecretTerminals
from orders.store import OrderStore
from tests.support.aws import create_orders_table, serialised_mock_aws, terminals_config
from tests.support.console import LazyUserPool
from tests.support.fakebank import FakeBank
from tests.support.instances import Instances

TABLE = "orders-test"


@dataclass
class Aws:
    dynamodb: Any
    secrets: Any
    secret_arn: str
    writes: list[str]
    store: OrderStore
    sqs: Any
    queue: ConfirmationQueue
    calls: list[str]  # every DynamoDB call made, reads and writes, whatever it came to
    terminals: SecretTerminals
    users: LazyUserPool  # the console's users (Cognito): operator@ and viewer@shop.example, in their groups
    deps: Dependencies  # what every handler a test invokes is built on

    def use(self, **changes: Any) -> None:
        """Build the handlers invoked from now on with these dependencies changed (a fake bank, a fixed clock...)."""
        self.deps = replace(self.deps, **changes)

    def invoke(self, function: str, event: dict[str, Any], context: Any) -> Any:
        """Invoke the function (its directory's name) on this test's dependencies, its handler built as a cold
        start builds it, on an instance that runs no other event meanwhile (``tests.support.instances``)."""
        with _instances.instance(function) as module:
            return module.create_handler(self.deps)(event, context)

    def queued(self) -> list[dict[str, Any]]:
        """Every message on the confirmation queue, left there (visible again at once)."""
        answer = self.sqs.receive_message(QueueUrl=self.queue.url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return list(answer.get("Messages") or [])

    def set_terminals(self, data: dict[str, Any]) -> None:
        self.secrets.put_secret_value(SecretId=self.secret_arn, SecretString=json.dumps(data))
        self.terminals.clear_cache()


_instances = Instances()


class Context:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-3:123456789012:function:test"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


@pytest.fixture
def lambda_context() -> Context:
    return Context()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-3",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "ORDERS_TABLE": TABLE,
        "POWERTOOLS_METRICS_NAMESPACE": "MerchantKitTest",
        "POWERTOOLS_SERVICE_NAME": "merchant-kit",
        "CHECKOUT_BASE_URL": "",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with serialised_mock_aws():
        dynamodb = boto3.client("dynamodb")
        create_orders_table(dynamodb, TABLE)
        secrets = boto3.client("secretsmanager")
        arn = secrets.create_secret(Name="merchant-kit/terminals", SecretString=json.dumps(terminals_config()))["ARN"]
        monkeypatch.setenv("TERMINALS_SECRET_ARN", arn)
        writes: list[str] = []
        calls: list[str] = []

        def count(event_name: str, parsed: dict[str, Any], **_: Any) -> None:
            # A write that took effect: a conditional one that failed changed nothing (it may have asked for
            # the item back, which is how CGI2 decides the rare cases in the same call).
            if "Error" not in parsed:
                writes.append(event_name.rsplit(".", 1)[-1])

        def call(event_name: str, **_: Any) -> None:
            calls.append(event_name.rsplit(".", 1)[-1])

        for operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"):
            dynamodb.meta.events.register(f"after-call.dynamodb.{operation}", count)
        dynamodb.meta.events.register("before-call.dynamodb", call)
        store = OrderStore(TABLE, client=dynamodb)
        sqs = boto3.client("sqs")
        queue = ConfirmationQueue(sqs.create_queue(QueueName="confirmations-test")["QueueUrl"], client=sqs)
        monkeypatch.setenv("CONFIRMATION_QUEUE_URL", queue.url)
        terminals = SecretTerminals(arn, client=secrets)
        users = LazyUserPool()
        deps = Dependencies(store=store, terminals=terminals, queue=queue, users=users)
        yield Aws(dynamodb, secrets, arn, writes, store, sqs, queue, calls, terminals, users, deps)


@pytest.fixture
def bank(aws: Aws) -> FakeBank:
    """The bank the back-office calls reach, for the handlers this test invokes."""
    fake = FakeBank()
    aws.use(bank_transport=fake)
    return fake
