"""The bill of one paid order, before deploying: ``write_units_per_paid_order`` and ``cost_per_million_orders_usd``.

One real journey runs on moto, through the functions' own handlers, with the table as template.yaml declares it:
the shop creates an order (``POST /orders``), the buyer opens the checkout page (``GET /checkout/{token}``), the
bank confirms the payment (``POST /confirmation``), the table's stream hands every order record to the events
function (one batch each: records of one order come minutes apart), and the bus hands each event its rule matches
to the mail function, which claims and sends the buyer's and the merchant's mails. Every DynamoDB call is recorded
with the item as it was before and after it (read past the call with a client of its own), every PutEvents entry,
every mail SES is given and every SQS message.

Write units are then counted the way DynamoDB bills them (developer guide, "Read/write capacity mode" and
"Provisioned throughput considerations for Global Secondary Indexes", section "Write capacity units"):

- the table: 1 unit per KB (rounded up, at least 1) of the larger of the item before and after a put or an
  update, of the item deleted by a delete; a conditional write that fails still costs the item's size (at least
  1); a transactional write twice that;
- each global secondary index the item is in before or after the write: an item entering the index is one put
  of its index entry, one leaving it one delete, an index key changed a delete and a put, projected attributes
  changed under the same key one write, nothing when the entry is the same. An entry is the table's key, the
  index's key and the projected attributes, sized by DynamoDB's item rules (``tests/support/item_size.py``).

Read units: a consistent read 1 unit per 4 KB read (rounded up), an eventually consistent one half that (every
index query is); a query's items are counted at the size of what it returned.

The cost adds, per order, at the list prices below: the API's requests, each Lambda invocation (request and
duration at the template's memory and architecture, durations ASSUMED: see ``ASSUMED_MS``), the write and read
units (on demand), the events put on the bus and archived, the e-mails, the SQS messages. Not counted, since they
do not grow with orders or are off by default: the stack's monthly fixed costs (alarms, the KMS key, the web ACL,
the secret, custom metrics — billed per metric per month, not per order), CloudWatch Logs and X-Ray, the scheduled
sweeper and the daily reconciliation, the shop's webhook (an API destination, when ``ShopWebhookUrl`` is set),
data transfer, storage, the free tiers. Reading the stream costs nothing when Lambda reads it.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import boto3

from benchmarks.figures import Figure, sealed_confirmation
from orders.dependencies import Dependencies
from orders.events import SOURCE, EventPublisher
from orders.mail import MailSender
from orders.store import OrderStore
from stacktools.streams import stream_record
from stacktools.template import TEMPLATE_PATH, Template, load_yaml
from tests.support.aws import (
    TABLE_STREAM_ENDPOINT,
    create_orders_table,
    event,
    load_function,
    mail_config,
    serialised_mock_aws,
    terminals_config,
)
from tests.support.item_size import item_size

REGION = "eu-west-3"
TABLE = "orders-bill"
BUS = "orders-bill"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SENDER = "boutique@shop.example"
MERCHANT = "orders@shop.example"
# An order as a shop sends it (the README's example): a description, the buyer's addresses, its return pages.
ADDRESS = {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"}
ORDER = {
    "amount": "62.73",
    "currency": "EUR",
    "email": "buyer@example.com",
    "language": "FR",
    "free_text": "basket 42",
    "description": "2 BIC Bleu (par 10), 7 Calvados",
    "card_alias": "client7",
    "billing": {**ADDRESS, "firstName": "Marie", "lastName": "Curie"},
    "shipping": {**ADDRESS, "firstName": "Marie", "lastName": "Curie", "shipIndicator": "billing_address"},
    "return_ok_url": "https://shop.example/ok",
    "return_err_url": "https://shop.example/err",
}
WRITES = ("PutItem", "UpdateItem", "DeleteItem")
READS = ("GetItem", "BatchGetItem", "Query", "Scan")
GOAL_WRITE_UNITS = 8

# List prices, in USD, of Europe (Paris), eu-west-3, as of PRICES_AS_OF, the day they were written down here, for
# the service and tier named beside each: AWS changes them, and a free tier or a volume tier may apply to you.
# Check each on the service's AWS pricing page before relying on the sum, and correct it here (and its date).
PRICES_AS_OF = "2025-06-01"
PRICES = {
    "api_request": Decimal("3.70") / 1_000_000,  # API Gateway, REST API, first 333 million a month
    "lambda_request": Decimal("0.20") / 1_000_000,  # AWS Lambda, requests
    "lambda_gb_second_arm64": Decimal("0.0000133334"),  # AWS Lambda, duration, Arm
    "lambda_gb_second_x86_64": Decimal("0.0000166667"),  # AWS Lambda, duration, x86
    "write_unit": Decimal("0.7375") / 1_000_000,  # Amazon DynamoDB, on-demand, write request unit (Standard)
    "read_unit": Decimal("0.1475") / 1_000_000,  # Amazon DynamoDB, on-demand, read request unit (Standard)
    "event": Decimal("1.00") / 1_000_000,  # Amazon EventBridge, custom events (per 64 KB chunk)
    "archived_gb": Decimal("0.10"),  # Amazon EventBridge, archive, per GB of events processed
    "mail": Decimal("0.10") / 1_000,  # Amazon SES, outbound e-mail
    "sqs_message": Decimal("0.40") / 1_000_000,  # Amazon SQS, standard queue requests
}
# Billed milliseconds ASSUMED for one warm invocation of each function on the journey (Lambda bills by the
# millisecond): a few DynamoDB calls each, SES twice for the mails. Handlers timed on moto here take less.
ASSUMED_MS = {
    "Cgi1Function": 120,
    "CheckoutFunction": 80,
    "Cgi2Function": 80,
    "OrderEventsFunction": 80,
    "OrderMailFunction": 250,
    "GiveBackFunction": 300,  # its filter takes only a second payment to give back: not on this journey
}


# --- what the journey did ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """One write to the table: its operation and the item before and after it (``None``: no item)."""

    operation: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    failed: bool = False  # its condition did not hold: nothing changed, the units are still spent
    transactional: bool = False


@dataclass(frozen=True)
class Read:
    operation: str
    units: float


@dataclass
class Journey:
    writes: list[Write] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)
    api_requests: list[str] = field(default_factory=list)
    invocations: Counter[str] = field(default_factory=Counter)
    events: list[dict[str, Any]] = field(default_factory=list)  # the PutEvents entries
    mails: list[str] = field(default_factory=list)  # the recipient of each mail SES was given
    sqs_messages: int = 0


def _read_units(size: int, consistent: bool) -> float:
    """Read units of ``size`` bytes read at once: 4 KB a unit, rounded up, half when eventually consistent."""
    units = max(math.ceil(size / 4096), 1)
    return float(units) if consistent else units / 2


def read_units(operation: str, params: Mapping[str, Any], answer: Mapping[str, Any]) -> float:
    """The read units a DynamoDB read call (its parameters and its answer) costs: an item read by key its own
    size, each item of a ``BatchGetItem`` its own, a query's or a scan's items together (the items a filter
    dropped are not in the answer: not counted)."""
    if "Error" in answer:
        return 0.0
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        return _read_units(item_size(answer.get("Item") or {}), consistent)
    if operation == "BatchGetItem":
        items = [item for found in answer.get("Responses", {}).values() for item in found]
        consistent = any(request.get("ConsistentRead") for request in params["RequestItems"].values())
        return sum(_read_units(item_size(item), consistent) for item in items)
    return _read_units(sum(item_size(item) for item in answer.get("Items", [])), consistent)


class Recorder:
    """Records a DynamoDB client's writes (with the items before and after, read with ``reader``) and reads."""

    def __init__(self, journey: Journey, reader: Any, table: str) -> None:
        self.journey = journey
        self.reader = reader
        self.table = table
        self._pending: list[tuple[dict[str, Any], Mapping[str, Any] | None]] = []

    def _item(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        answer = self.reader.get_item(TableName=self.table, Key=dict(key), ConsistentRead=True)
        found: dict[str, Any] | None = answer.get("Item")
        return found

    @staticmethod
    def _key(params: Mapping[str, Any]) -> dict[str, Any]:
        key = params.get("Key") or params["Item"]
        return {"pk": key["pk"], "sk": key["sk"]}

    def watch(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self._before_call)
        client.meta.events.register("after-call.dynamodb", self._after_call)

    def _before_call(self, model: Any, params: Mapping[str, Any], **_: Any) -> None:
        if model.name not in (*WRITES, *READS):
            raise AssertionError(f"the bill does not know how DynamoDB bills {model.name}")
        before = self._item(self._key(params)) if model.name in WRITES else None
        self._pending.append((dict(params), before))

    def _after_call(self, model: Any, parsed: Mapping[str, Any], **_: Any) -> None:
        params, before = self._pending.pop()
        if model.name in WRITES:
            failed = "Error" in parsed
            after = before if failed else self._item(self._key(params))
            self.journey.writes.append(Write(model.name, before, after, failed))
            return
        self.journey.reads.append(Read(model.name, read_units(model.name, params, parsed)))


# --- the journey ---------------------------------------------------------------------------------------------


class Context:
    function_name = "bill"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:bill"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


@dataclass
class Stack:
    """The functions of the journey on one set of dependencies, each invocation counted."""

    deps: Dependencies
    journey: Journey
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def invoke(self, function: str, payload: dict[str, Any]) -> Any:
        if function not in self.handlers:
            directory = Template.load().function(function).code_uri.name  # functions/<its directory>/
            self.handlers[function] = load_function(directory).create_handler(self.deps)
        self.journey.invocations[function] += 1
        return self.handlers[function](payload, Context())

    def request(self, function: str, payload: dict[str, Any]) -> dict[str, Any]:
        """An API request: API Gateway's, then the function's invocation."""
        self.journey.api_requests.append(f"{payload['httpMethod']} {payload['resource']}")
        answer: dict[str, Any] = self.invoke(function, payload)
        if answer["statusCode"] >= 300:
            raise AssertionError(f"{payload['httpMethod']} {payload['resource']} answered {answer}")
        return answer


def _api_event(name: str, body: bytes | None = None, **path: str) -> dict[str, Any]:
    request = event(name)
    if body is not None:
        request["body"] = base64.b64encode(body).decode()
        request["isBase64Encoded"] = True
    if path:
        request["pathParameters"] = path
        request["path"] = "/".join([request["resource"].split("/{")[0], *path.values()])
    return request


def _stream_filters() -> dict[str, list[dict[str, Any]]]:
    """Each stream consumer of the template (by function) and its filter patterns."""
    template = Template.load()
    found: dict[str, list[dict[str, Any]]] = {}
    for spec in template.functions():
        for stream in spec.streams:
            criteria = spec.properties["Events"][stream.event]["Properties"].get("FilterCriteria") or {}
            found[spec.logical_id] = [json.loads(f["Pattern"]) for f in criteria.get("Filters", [])]
    return found


def _mail_rule() -> dict[str, Any]:
    """The event pattern of the mail function's rule on the orders' bus."""
    events = Template.load().function("OrderMailFunction").properties["Events"]
    rules = [e["Properties"]["Pattern"] for e in events.values() if e["Type"] == "EventBridgeRule"]
    (pattern,) = rules
    return dict(pattern)


def _matches(pattern: Mapping[str, Any], value: Mapping[str, Any]) -> bool:
    """An event pattern's plain form (lists of exact values, nested objects) on a JSON value."""
    for name, wanted in pattern.items():
        if name not in value:
            return False
        if isinstance(wanted, Mapping):
            if not (isinstance(value[name], Mapping) and _matches(wanted, value[name])):
                return False
        elif value[name] not in wanted:
            return False
    return True


# The functions' environment, as the template gives it (what the handlers read of it: the rest is passed in).
ENVIRONMENT = {
    "ORDERS_TABLE": TABLE,
    "POWERTOOLS_SERVICE_NAME": "merchant-kit",
    "POWERTOOLS_METRICS_NAMESPACE": "MerchantKit/bill",
    "STACK_ENVIRONMENT": "test",
    "CHECKOUT_BASE_URL": "",
}


@contextmanager
def _environment() -> Iterator[None]:
    """The functions' variables set, and their log lines and metrics (printed) kept off the bench's output."""
    saved = {name: os.environ.get(name) for name in ENVIRONMENT}
    os.environ.update(ENVIRONMENT)
    try:
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _aws(journey: Journey) -> Iterator[Stack]:
    with _environment(), serialised_mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_orders_table(dynamodb, TABLE)
        Recorder(journey, boto3.client("dynamodb", region_name=REGION), TABLE).watch(dynamodb)
        ses = boto3.client("ses", region_name=REGION)
        ses.verify_email_identity(EmailAddress=SENDER)
        mail = {"sender": SENDER, "merchant": MERCHANT, "buyer": True, "merchant_language": "FR"}
        secrets = boto3.client("secretsmanager", region_name=REGION)
        config = json.dumps(terminals_config())
        arn = secrets.create_secret(Name="merchant-kit/terminals", SecretString=config)["ARN"]
        ssm = boto3.client("ssm", region_name=REGION)
        ssm.put_parameter(Name="/merchant-kit/mail", Value=json.dumps(mail_config(**{"0900157": mail})), Type="String")
        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name=BUS)

        def put_events(params: Mapping[str, Any], **_: Any) -> None:
            journey.events.extend(params["Entries"])

        def sent(params: Mapping[str, Any], **_: Any) -> None:
            journey.mails.extend(params["Destinations"])

        def queued(model: Any, params: Mapping[str, Any], **_: Any) -> None:
            if model.name in {"SendMessage", "SendMessageBatch"}:
                journey.sqs_messages += len(params.get("Entries") or [params])

        events.meta.events.register("provide-client-params.events.PutEvents", put_events)
        ses.meta.events.register("provide-client-params.ses.SendRawEmail", sent)
        sqs = boto3.client("sqs", region_name=REGION)
        sqs.meta.events.register("before-call.sqs", queued)
        from orders.confirmation_queue import ConfirmationQueue
        from orders.dependencies import ParameterMailSettings, SecretTerminals

        queue = ConfirmationQueue(sqs.create_queue(QueueName="confirmations-bill")["QueueUrl"], client=sqs)
        deps = Dependencies(
            store=OrderStore(TABLE, client=dynamodb),
            terminals=SecretTerminals(arn, client=secrets),
            mail_settings=ParameterMailSettings("/merchant-kit/mail", client=ssm),
            queue=queue,
            publisher=EventPublisher(BUS, client=events),
            mail_sender=MailSender(client=ses),
        )
        yield Stack(deps, journey)


def _stream_records(arn: str, iterator: str) -> tuple[list[dict[str, Any]], str]:
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=TABLE_STREAM_ENDPOINT)
    if not iterator:
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
    answer = streams.get_records(ShardIterator=iterator)
    return [stream_record(r, arn, REGION) for r in answer["Records"]], answer["NextShardIterator"]


class Pipeline:
    """The stream's consumers and the bus's mail rule, as Lambda and EventBridge run them."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.filters = _stream_filters()
        self.mail_rule = _mail_rule()
        self.arn = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=TABLE)["Table"][
            "LatestStreamArn"
        ]
        self.iterator = ""
        self.handed_events = 0

    def run(self) -> None:
        """Hand every new stream record to each consumer whose filter takes it (one batch per record), then each
        new event the mail rule matches to the mail function."""
        records, self.iterator = _stream_records(self.arn, self.iterator)
        for record in records:
            for function, patterns in self.filters.items():
                if not patterns or any(_matches(p, record) for p in patterns):
                    answer = self.stack.invoke(function, {"Records": [record]})
                    if answer.get("batchItemFailures"):
                        raise AssertionError(f"{function} failed on {record['eventName']}: {answer}")
        for entry in self.stack.journey.events[self.handed_events :]:
            envelope = {"source": entry["Source"], "detail-type": entry["DetailType"]}
            envelope["detail"] = json.loads(entry["Detail"])
            if entry["Source"] == SOURCE and _matches(self.mail_rule, envelope):
                self.stack.invoke("OrderMailFunction", envelope)
        self.handed_events = len(self.stack.journey.events)


def paid_order_journey() -> Journey:
    """An order created, its checkout page opened, paid at the bank, its events published and its mails sent."""
    journey = Journey()
    clock = {"now": NOW}
    with _aws(journey) as stack:
        stack.deps = replace(stack.deps, clock=lambda: clock["now"])
        pipeline = Pipeline(stack)
        created = stack.request("Cgi1Function", _api_event("create_order.json", json.dumps(ORDER).encode()))
        answer = json.loads(created["body"])
        pipeline.run()
        clock["now"] = NOW + timedelta(minutes=1)
        token = urlsplit(answer["checkout_url"]).path.rsplit("/", 1)[-1]
        stack.request("CheckoutFunction", _api_event("checkout.json", token=token))
        pipeline.run()
        clock["now"] = NOW + timedelta(minutes=5)
        body = sealed_confirmation(answer["form"]["fields"]["reference"], "payetest", "0900157", "62.73EUR")
        stack.request("Cgi2Function", _api_event("confirmation_accepted.json", body))
        clock["now"] = NOW + timedelta(minutes=6)
        pipeline.run()
        order = OrderStore(TABLE, client=boto3.client("dynamodb", region_name=REGION)).get(answer["reference"])
        if order.status.value != "paid" or set(journey.mails) != {ORDER["email"], MERCHANT}:
            raise AssertionError(f"the journey did not end paid, buyer and merchant mailed: {order}, {journey.mails}")
    return journey


# --- what it costs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]  # the index's key attributes
    projected: tuple[str, ...] | None  # the non-key attributes projected; None: ALL


TABLE_KEYS = ("pk", "sk")


def template_indexes(template: Mapping[str, Any] | None = None) -> list[Index]:
    """The orders table's global secondary indexes as template.yaml declares them."""
    data = template or load_yaml(TEMPLATE_PATH.read_text())
    found = []
    for index in data["Resources"]["OrdersTable"]["Properties"].get("GlobalSecondaryIndexes", []):
        keys = tuple(key["AttributeName"] for key in index["KeySchema"])
        projection = index["Projection"]
        kind = projection["ProjectionType"]
        projected = None if kind == "ALL" else tuple(projection.get("NonKeyAttributes", ()))
        found.append(Index(index["IndexName"], keys, projected))
    return found


def _units(size: int) -> int:
    """Write units of an item or index entry of ``size`` bytes: 1 KB a unit, rounded up, at least 1."""
    return max(math.ceil(size / 1024), 1)


def _entry(index: Index, item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The item's entry in ``index``, or None when it lacks one of the index's keys (a sparse index)."""
    if item is None or any(key not in item for key in index.keys):
        return None
    if index.projected is None:
        return dict(item)
    names = {*TABLE_KEYS, *index.keys, *index.projected}
    return {name: value for name, value in item.items() if name in names}


def index_write_units(index: Index, write: Write) -> int:
    """Write units ``write`` costs ``index`` (developer guide, "Provisioned throughput considerations for Global
    Secondary Indexes", "Write capacity units")."""
    if write.failed:
        return 0
    before, after = _entry(index, write.before), _entry(index, write.after)
    if before is None and after is None:
        return 0
    if before is None:
        return _units(item_size(after or {}))  # enters the index: one put
    if after is None:
        return _units(item_size(before))  # leaves it: one delete
    if any(before[key] != after[key] for key in index.keys):
        return _units(item_size(before)) + _units(item_size(after))  # its key moves: a delete and a put
    return 0 if before == after else _units(item_size(after))  # projected attributes changed: one write


def table_write_units(write: Write) -> int:
    """Write units ``write`` costs the table: the larger of the item before and after, the deleted item's size
    for a delete, the existing item's (at least 1) for a failed condition; twice as much in a transaction."""
    sizes = [item_size(image) for image in (write.before, write.after) if image is not None]
    if write.operation == "DeleteItem" or write.failed:
        sizes = [item_size(write.before)] if write.before is not None else []
    units = _units(max(sizes, default=0))
    return 2 * units if write.transactional else units


def write_units(journey: Journey, indexes: list[Index]) -> dict[str, int]:
    """The journey's write units: ``table``, then each index by name."""
    spent = {"table": sum(table_write_units(write) for write in journey.writes)}
    for index in indexes:
        spent[index.name] = sum(index_write_units(index, write) for write in journey.writes)
    return spent


def _function_settings() -> dict[str, tuple[int, str]]:
    """Each function's memory (MB) and architecture, as the template configures it (its Globals merged)."""
    settings = {}
    for spec in Template.load().functions():
        architectures = spec.properties.get("Architectures") or ["x86_64"]
        settings[spec.logical_id] = (spec.memory_size, str(architectures[0]))
    return settings


def _event_size(entry: Mapping[str, Any]) -> int:
    """A PutEvents entry's size as EventBridge counts it: 14 bytes of time, then source, detail type, detail and
    resources in UTF-8 (EventBridge user guide, "Calculating PutEvents event entry size")."""
    texts = [entry.get("Source", ""), entry.get("DetailType", ""), entry.get("Detail", ""), *entry.get("Resources", [])]
    return 14 + sum(len(str(text).encode()) for text in texts)


def cost_per_order(journey: Journey, indexes: list[Index]) -> dict[str, Decimal]:
    """What one journey costs, by service, in USD at ``PRICES``."""
    settings = _function_settings()
    lambda_cost = Decimal(0)
    for function, count in journey.invocations.items():
        memory, architecture = settings[function]
        gb_seconds = Decimal(memory) / 1024 * Decimal(ASSUMED_MS[function]) / 1000
        each = PRICES["lambda_request"] + gb_seconds * PRICES[f"lambda_gb_second_{architecture}"]
        lambda_cost += count * each
    sizes = [_event_size(entry) for entry in journey.events]
    chunks = sum(max(math.ceil(size / 65536), 1) for size in sizes)
    return {
        "api": len(journey.api_requests) * PRICES["api_request"],
        "lambda": lambda_cost,
        "dynamodb_writes": sum(write_units(journey, indexes).values()) * PRICES["write_unit"],
        "dynamodb_reads": Decimal(str(sum(read.units for read in journey.reads))) * PRICES["read_unit"],
        "events": chunks * PRICES["event"] + Decimal(sum(sizes)) / 1024**3 * PRICES["archived_gb"],
        "mail": len(journey.mails) * PRICES["mail"],
        "sqs": journey.sqs_messages * PRICES["sqs_message"],
    }


def bill_figures(journey: Journey | None = None) -> list[Figure]:
    """``write_units_per_paid_order`` (goal <= 8) and ``cost_per_million_orders_usd``, each with its parts."""
    journey = journey or paid_order_journey()
    indexes = template_indexes()
    units = write_units(journey, indexes)
    total = sum(units.values())
    figures = [Figure("write_units_per_paid_order", total, f"<= {GOAL_WRITE_UNITS}", total <= GOAL_WRITE_UNITS)]
    figures += [Figure(f"write_units_per_paid_order_{name}", value) for name, value in units.items()]
    costs = cost_per_order(journey, indexes)
    million = {name: float(value * 1_000_000) for name, value in costs.items()}
    figures.append(Figure("cost_per_million_orders_usd", sum(million.values())))
    figures += [Figure(f"cost_per_million_orders_usd_{name}", value) for name, value in million.items()]
    return figures


def main() -> int:
    """Print the bill's figures (``python -m benchmarks.bill``, from the repository's root); 1 when a goal is
    missed."""
    os.environ.pop("AWS_ENDPOINT_URL", None)  # moto, never an endpoint of the caller's shell
    print(f"# AWS list prices of {REGION} as of {PRICES_AS_OF}; Lambda durations assumed (benchmarks/bill.py)")
    figures = bill_figures()
    for figure in figures:
        print(figure.line())
    return 0 if all(figure.met for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
