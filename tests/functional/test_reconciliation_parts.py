"""The daily reconciliation fanned out on moto: the schedule plans the run and queues its parts, the parts' function
checks them (each within its time budget, resuming from its checkpoint when cut short, changing nothing when
delivered twice), and the last part assembles the report a single run would have written."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from orders.events import EventPublisher
from orders.exceptions import EventsUnavailableError
from orders.model import OrderStatus
from orders.reconciliation import Reconciler, changed_days, reconciliation_days
from orders.reconciliation_runs import Part
from orders.store import OrderStore
from tests.support.aws import create_orders_table
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import confirm, stored_order
from tests.support.reconciliation import Reconciliation, deliver, drain, reconciliation_resources

NOW = datetime.now(UTC).replace(microsecond=0)  # confirm() writes at the real clock: the run reads today's changes
RUN_AT = NOW + timedelta(hours=2)  # every session of the orders below is past its page's life
CREATED = NOW - timedelta(hours=1)
SCHEDULE = {"detail-type": "Scheduled Event", "source": "aws.events", "time": RUN_AT.isoformat()}


class Budget:
    """A Lambda context whose remaining time allows ``orders`` checks, then only the part's margin."""

    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-3:123456789012:function:test"
    aws_request_id = "00000000-0000-0000-0000-000000000001"

    def __init__(self, orders: int) -> None:
        self.asked = 0
        self.orders = orders

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1  # asked before each order but the first
        return 300_000 if self.asked < self.orders else 30_000


@pytest.fixture
def resources(aws: Any, bank: FakeBank) -> Reconciliation:
    aws.use(reconciliation_part_size=3)
    return reconciliation_resources(aws)


def day_of_orders(aws: Any, lambda_context: Any, bank: FakeBank) -> list[str]:
    """Nine orders of today: one paid at the bank never confirmed, one refunded in the bank's dashboard, one the
    bank holds less of than the books, three paid alike, three never paid."""
    references = [f"EVTPART{n:02d}0" for n in range(9)]
    for reference in references:
        stored_order(aws, reference, created_at=CREATED)
    session = {reference: f"{reference}00" for reference in references}
    for reference in references[1:6]:
        confirm(aws, lambda_context, reference=session[reference])
        bank.accounts[session[reference]] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))
    bank.accounts[session[references[0]]] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))
    bank.accounts[session[references[1]]].refunded = Decimal("20.00")
    bank.accounts[session[references[2]]].captured = Decimal("50.00")
    bank.calls.clear()
    return references


def status_calls(bank: FakeBank) -> list[str]:
    return [fields["reference"] for cgi, fields in bank.calls if cgi == "etatpaiement.cgi"]


def single_run_on_a_copy(aws: Any, bank: FakeBank) -> dict[str, Any]:
    """What one run in one go reports at RUN_AT on a copy of the table and of the bank (the copies change)."""
    client = boto3.client("dynamodb")
    create_orders_table(client, "orders-copy")
    for item in aws.dynamodb.scan(TableName=aws.store.table_name)["Items"]:
        client.put_item(TableName="orders-copy", Item=item)
    copied = replace(bank, accounts=copy.deepcopy(bank.accounts), calls=[])
    deps = replace(aws.deps, store=OrderStore("orders-copy", client=client), bank_transport=copied)
    reconciler = Reconciler(deps.store, deps.terminals(), deps.bank_client)
    awaiting = reconciliation_days(RUN_AT, "Europe/Paris", deps.reconciliation_days)
    return reconciler.run(changed_days(RUN_AT), RUN_AT, "schedule", awaiting).as_json()


def planned(aws: Any, lambda_context: Any, bank: FakeBank) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """The day of orders, what a single run reports on a copy of it, and the scheduled run planned on it."""
    references = day_of_orders(aws, lambda_context, bank)
    expected = single_run_on_a_copy(aws, bank)
    return references, expected, aws.invoke("reconciliation", SCHEDULE, lambda_context)


def test_the_schedule_queues_parts_and_the_last_part_writes_the_report_a_single_run_would(
    aws: Any, lambda_context: Any, bank: FakeBank, resources: Reconciliation
) -> None:
    references, expected, started = planned(aws, lambda_context, bank)
    assert (started["orders"], started["parts"]) == (9, 3)
    assert [json.loads(m["Body"])["start"] for m in resources.parts()] == [0, 3, 6]
    assert bank.calls == [], "planning asks the bank nothing"
    assert resources.keys("reconciliation/") == []

    assert drain(aws, resources, Budget(orders=1000)) == 3
    report = resources.report(started["report_key"])
    assert report == expected
    assert sorted(status_calls(bank)) == sorted(f"{reference}00" for reference in references)
    assert [(d["reference"], d["kind"], d["repaired"]) for d in report["differences"]] == [
        (references[0], "missed_confirmation", True),
        (references[1], "done_at_the_bank", True),
        (references[2], "status_differs", False),
    ]
    assert aws.store.get(references[0]).status is OrderStatus.PAID
    (told,) = resources.reported()
    assert (told["detail-type"], told["detail"]["report_key"], told["detail"]["differences"]) == (
        "ReconciliationReported",
        started["report_key"],
        3,
    )


def test_a_part_cut_short_by_its_budget_keeps_its_piece_and_queues_the_rest(
    aws: Any, lambda_context: Any, bank: FakeBank, resources: Reconciliation
) -> None:
    references, expected, started = planned(aws, lambda_context, bank)
    first = next(m for m in resources.parts() if json.loads(m["Body"])["start"] == 0)
    assert deliver(aws, first, Budget(orders=2)) == {"batchItemFailures": []}
    resources.sqs.delete_message(QueueUrl=resources.parts_url, ReceiptHandle=first["ReceiptHandle"])
    assert status_calls(bank) == [f"{references[0]}00", f"{references[1]}00"]
    run = started["run"]
    assert resources.keys(f"runs/{run}/pieces/") == [f"runs/{run}/pieces/0000000-0000002.json"]
    rest = [json.loads(m["Body"]) for m in resources.parts() if json.loads(m["Body"])["start"] == 2]
    assert rest == [{"run": run, "start": 2, "references": [references[2]]}]

    bank.calls.clear()
    drain(aws, resources, Budget(orders=1000))
    assert sorted(status_calls(bank)) == sorted(f"{reference}00" for reference in references[2:])
    assert resources.report(started["report_key"]) == expected


def test_a_part_delivered_again_resumes_from_its_checkpoint_and_changes_nothing_once_kept(
    aws: Any, lambda_context: Any, bank: FakeBank, resources: Reconciliation
) -> None:
    references = day_of_orders(aws, lambda_context, bank)
    started = aws.invoke("reconciliation", SCHEDULE, lambda_context)
    first = next(m for m in resources.parts() if json.loads(m["Body"])["start"] == 0)
    deliver(aws, first, Budget(orders=1))  # cut short after one order, and its message not deleted
    # The same part again (SQS delivers at least once): it starts after its piece.
    bank.calls.clear()
    assert deliver(aws, first, Budget(orders=1000)) == {"batchItemFailures": []}
    assert status_calls(bank) == [f"{references[1]}00", f"{references[2]}00"]
    resources.sqs.delete_message(QueueUrl=resources.parts_url, ReceiptHandle=first["ReceiptHandle"])
    drain(aws, resources, Budget(orders=1000))
    report = resources.report(started["report_key"])
    assert report["checked"] == 9
    assert len(resources.reported()) == 1
    orders = [aws.store.get(reference) for reference in references]
    # Delivered once more after the report: no bank call, no write, no second report nor event.
    bank.calls.clear()
    writes = len(aws.writes)
    assert deliver(aws, first, Budget(orders=1000)) == {"batchItemFailures": []}
    assert (bank.calls, len(aws.writes)) == ([], writes)
    assert [aws.store.get(reference) for reference in references] == orders
    assert resources.report(started["report_key"]) == report
    assert resources.reported() == []
    assert len(resources.keys("reconciliation/")) == 1


def test_a_run_with_nothing_to_check_writes_its_report_at_once(
    aws: Any, lambda_context: Any, resources: Reconciliation
) -> None:
    answer = aws.invoke("reconciliation", SCHEDULE, lambda_context)
    assert (answer["checked"], answer["differences"], answer["days"]) == (
        0,
        [],
        [d.isoformat() for d in changed_days(RUN_AT)],
    )
    assert resources.report(answer["report_key"])["checked"] == 0
    assert resources.parts() == []


def test_the_console_run_answers_where_its_report_will_be(
    aws: Any, lambda_context: Any, bank: FakeBank, resources: Reconciliation
) -> None:
    day_of_orders(aws, lambda_context, bank)
    aws.use(clock=lambda: RUN_AT)
    request = {"httpMethod": "POST", "resource": "/reconciliation", "headers": {}, "body": None}
    answer = aws.invoke("reconciliation", request, lambda_context)
    assert answer["statusCode"] == 202
    body = json.loads(answer["body"])
    assert (body["orders"], body["parts"]) == (9, 3)
    drain(aws, resources, Budget(orders=1000))
    assert resources.report(body["report_key"])["source"] == "console"


RUN = "20261127T053000Z-0badcafe"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("not json", "a part is a JSON object"),
        (json.dumps({"run": "x", "start": 0, "references": ["EVTPART000"]}), "run: "),
        (json.dumps({"run": RUN, "start": -1, "references": ["EVTPART000"]}), "start: "),
        (json.dumps({"run": RUN, "start": 0, "references": ["../../etc"]}), "references: not order references"),
        (json.dumps({"run": RUN, "start": 0, "references": []}), "references: from 1 to 100"),
        (json.dumps({"run": RUN, "start": 0, "references": ["A"], "more": 1}), "a part holds run, start and"),
    ],
)
def test_a_message_that_is_no_part_fails_and_goes_to_the_dead_letters(
    aws: Any, lambda_context: Any, resources: Reconciliation, body: str, why: str
) -> None:
    message = {"MessageId": "m1", "ReceiptHandle": "h1", "Body": body}
    assert deliver(aws, message, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    with pytest.raises(ValueError, match=why):
        Part.from_message(body)


def test_the_report_is_told_on_the_bus_once_the_bus_takes_it_even_when_it_failed_on_the_part_that_wrote_it(
    aws: Any, lambda_context: Any, bank: FakeBank, resources: Reconciliation, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, started = planned(aws, lambda_context, bank)
    refusals = [1]

    def bus_down_once(publisher: EventPublisher, events: Any) -> None:
        if refusals:
            refusals.pop()
            raise EventsUnavailableError("EventBridge PutEvents failed: injected")
        real_publish(publisher, events)

    real_publish = EventPublisher.publish
    monkeypatch.setattr(EventPublisher, "publish", bus_down_once)
    # The part completing the run writes the report, the bus refuses the event: the part comes back from the queue
    # (at once here: no visibility timeout).
    resources.sqs.set_queue_attributes(QueueUrl=resources.parts_url, Attributes={"VisibilityTimeout": "0"})
    assert drain(aws, resources, Budget(orders=1000)) == 4
    assert refusals == []
    (told,) = resources.reported()  # told once the bus took it, not lost with the report already written
    assert (told["detail-type"], told["detail"]["report_key"]) == ("ReconciliationReported", started["report_key"])
