"""Domain events from the orders table's stream: one per transition, none for a replay, none lost when the
publication fails after the write. Under moto: the table's real stream, a real bus and a rule to an SQS queue."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from orders.events import SOURCE, EventPublisher
from orders.model import PaymentSession
from orders.sessions import MAX_SESSIONS, bank_reference
from stacktools.streams import stream_record
from tests.support.aws import TABLE_STREAM_ENDPOINT
from tests.support.fakebank import FakeBank
from tests.support.merchant import SAMPLE, SESSION, call, confirm, registered, stored_order

REGION = "eu-west-3"


@dataclass
class Outbox:
    """The orders table's stream, read from where the last read stopped, and the bus's events on a queue."""

    streams: Any
    stream_arn: str
    sqs: Any
    queue_url: str
    events_client: Any
    iterator: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)

    def new_records(self) -> list[dict[str, Any]]:
        if not self.iterator:
            shard = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
            self.iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        answer = self.streams.get_records(ShardIterator=self.iterator)
        self.iterator = answer["NextShardIterator"]
        return [stream_record(r, self.stream_arn, REGION) for r in answer["Records"]]

    def published(self) -> list[tuple[str, dict[str, Any]]]:
        """Every event the bus delivered so far: (detail-type, detail)."""
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = answer.get("Messages") or []
            if not messages:
                break
            for message in messages:
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [(e["detail-type"], e["detail"]) for e in self.seen]

    def types(self) -> list[str]:
        return [kind for kind, _ in self.published()]


def publish(aws: Any, lambda_context: Any, records: list[dict[str, Any]]) -> dict[str, Any]:
    return aws.invoke("order_events", {"Records": records}, lambda_context)  # type: ignore[no-any-return]


def second_put_events_failing(outbox: Outbox) -> list[int]:
    """The bus throttles the second PutEvents call; the calls made, as they are made."""
    calls: list[int] = []

    def fail_the_second(**_: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutEvents")

    outbox.events_client.meta.events.register("before-call.events.PutEvents", fail_the_second)
    return calls


@pytest.fixture
def outbox(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Outbox:
    stream_arn = aws.dynamodb.describe_table(TableName=aws.store.table_name)["Table"]["LatestStreamArn"]
    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name="orders-test")
    queue_url = aws.sqs.create_queue(QueueName="order-events-test")["QueueUrl"]
    queue_arn = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="orders-test", EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule="all", EventBusName="orders-test", Targets=[{"Id": "queue", "Arn": queue_arn}])
    aws.use(publisher=EventPublisher("orders-test", client=events))
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=TABLE_STREAM_ENDPOINT)
    return Outbox(streams, stream_arn, aws.sqs, queue_url, events)


def refused_then_paid(aws: Any, lambda_context: Any) -> None:
    """SAMPLE created, refused, then paid: three records."""
    stored_order(aws, SAMPLE)
    confirm(aws, lambda_context, "Annulation", "", reason="Refus")
    confirm(aws, lambda_context)


def test_a_refusal_then_a_payment_publish_one_event_each_and_no_card_data(
    aws: Any, lambda_context: Any, outbox: Outbox
) -> None:
    refused_then_paid(aws, lambda_context)
    assert publish(aws, lambda_context, outbox.new_records()) == {"batchItemFailures": []}
    assert outbox.types() == ["PaymentSessionOpened", "PaymentRefused", "OrderPaid"]
    paid = outbox.published()[-1][1]
    assert paid["reference"] == SAMPLE
    assert paid["bank_reference"] == SESSION
    assert (paid["status"], paid["previous_status"]) == ("paid", "awaiting_payment")
    assert (paid["amount"], paid["currency"], paid["tpe"]) == ("62.73", "EUR", "0900157")
    assert datetime.fromisoformat(paid["time"]).tzinfo is not None
    assert paid["authorisation_number"] == "123456"
    text = json.dumps(outbox.seen)
    for card_data in ("411111", "74E94B03C22D786E0F2C2CADBFC1C00B004B7C45", "1228", "buyer@example.com"):
        assert card_data not in text


def test_a_refusal_arriving_after_the_payment_is_recorded_and_publishes_nothing(
    aws: Any, lambda_context: Any, outbox: Outbox
) -> None:
    stored_order(aws, SAMPLE)
    confirm(aws, lambda_context)
    # The bank's refusal of an earlier card reaches CGI2 after the acceptance (confirmations are not ordered).
    confirm(aws, lambda_context, "Annulation", "", reason="Interdit", date="27/11/2026_a_10:14:00")
    assert [a.return_code for a in aws.store.get(SAMPLE).attempts] == ["payetest", "Annulation"]
    assert publish(aws, lambda_context, outbox.new_records()) == {"batchItemFailures": []}
    # PaymentRefused says the order stays payable: this one is paid.
    assert outbox.types() == ["PaymentSessionOpened", "OrderPaid"]


FULL = "EVTSAMPLE9"  # an order that opened every session but the last


def test_the_session_opened_event_says_how_many_more_the_order_may_open(
    aws: Any, lambda_context: Any, outbox: Outbox
) -> None:
    opened = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    sessions = tuple(PaymentSession(n, bank_reference(FULL, n), opened) for n in range(MAX_SESSIONS - 1))
    stored_order(aws, SAMPLE)
    assert publish(aws, lambda_context, outbox.new_records()) == {"batchItemFailures": []}
    stored_order(aws, FULL, sessions=sessions)
    outbox.new_records()  # its sessions but the last, opened long ago
    last = PaymentSession(MAX_SESSIONS - 1, bank_reference(FULL, MAX_SESSIONS - 1), opened)
    aws.store.open_session(aws.store.get(FULL), last)
    assert publish(aws, lambda_context, outbox.new_records()) == {"batchItemFailures": []}
    opened_events = [detail for kind, detail in outbox.published() if kind == "PaymentSessionOpened"]
    assert [e["sessions_left"] for e in opened_events] == [MAX_SESSIONS - 1, 0]  # 0: the last it may open
    assert opened_events[-1]["session"]["bank_reference"] == last.bank_reference


def test_a_replayed_confirmation_publishes_nothing(aws: Any, lambda_context: Any, outbox: Outbox) -> None:
    stored_order(aws, SAMPLE)
    confirm(aws, lambda_context)
    publish(aws, lambda_context, outbox.new_records())
    confirm(aws, lambda_context)  # the bank sends it again: acknowledged, nothing written
    assert outbox.new_records() == []
    assert outbox.types() == ["PaymentSessionOpened", "OrderPaid"]


def test_a_record_delivered_again_repeats_its_event_ids(aws: Any, lambda_context: Any, outbox: Outbox) -> None:
    stored_order(aws, SAMPLE)
    confirm(aws, lambda_context)
    records = outbox.new_records()
    publish(aws, lambda_context, records)
    publish(aws, lambda_context, records)  # the stream delivers at least once
    ids = [detail["event_id"] for _, detail in outbox.published()]
    assert len(ids) == 4
    assert len(set(ids)) == 2


def test_a_failed_publication_is_retried_from_its_record_and_nothing_is_lost(
    aws: Any, lambda_context: Any, outbox: Outbox
) -> None:
    stored_order(aws, SAMPLE)
    confirm(aws, lambda_context)
    records = outbox.new_records()
    second_put_events_failing(outbox)
    answer = publish(aws, lambda_context, records)
    # The write happened (the order is paid) but its event did not go out: the stream keeps it.
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert outbox.types() == ["PaymentSessionOpened"]
    # Lambda retries from the failed record.
    assert publish(aws, lambda_context, records[1:]) == {"batchItemFailures": []}
    assert outbox.types() == ["PaymentSessionOpened", "OrderPaid"]


def test_record_2_of_5_failing_leaves_every_later_record_for_the_retry_and_none_is_published_twice(
    aws: Any, lambda_context: Any, outbox: Outbox
) -> None:
    # Lambda hands the stream over again from the sequence number reported: a later record published now would be
    # published again then (a double event); it must wait, unreported, for that retry.
    refused_then_paid(aws, lambda_context)
    stored_order(aws, "ORDER2")
    confirm(aws, lambda_context, reference="ORDER200")
    records = outbox.new_records()
    assert len(records) == 5
    calls = second_put_events_failing(outbox)
    answer = publish(aws, lambda_context, records)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert outbox.types() == ["PaymentSessionOpened"]
    assert len(calls) == 2, "no record after the failed one was tried"
    assert publish(aws, lambda_context, records[1:]) == {"batchItemFailures": []}
    assert outbox.types() == [
        "PaymentSessionOpened",
        "PaymentRefused",
        "OrderPaid",
        "PaymentSessionOpened",
        "OrderPaid",
    ]
    ids = [detail["event_id"] for _, detail in outbox.published()]
    assert len(ids) == len(set(ids))


def test_refused_entries_are_a_failure_too(aws: Any, lambda_context: Any, outbox: Outbox) -> None:
    stored_order(aws, SAMPLE)
    confirm(aws, lambda_context)
    records = outbox.new_records()

    def refuse(aws, **kwargs: Any) -> dict[str, Any]:
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]}

    outbox.events_client.meta.events.register("before-call.events.PutEvents", refuse)
    answer = publish(aws, lambda_context, records)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}


def test_back_office_operations_publish_captured_refunded_cancelled(
    aws: Any,
    lambda_context: Any,
    outbox: Outbox,
    bank: FakeBank,
) -> None:
    registered(aws, lambda_context, "EVBO1")
    call(aws, lambda_context, "POST", "/orders/{reference}/capture", "EVBO1", {"amount": "10.00"})
    call(aws, lambda_context, "POST", "/orders/{reference}/capture", "EVBO1", {})
    call(aws, lambda_context, "POST", "/orders/{reference}/refund", "EVBO1", {"amount": "5.00"})
    registered(aws, lambda_context, "EVBO2", "0900158")
    call(aws, lambda_context, "POST", "/orders/{reference}/cancel", "EVBO2")
    assert publish(aws, lambda_context, outbox.new_records()) == {"batchItemFailures": []}
    by_order = [(detail["reference"], kind) for kind, detail in outbox.published()]
    assert by_order == [
        ("EVBO1", "PaymentSessionOpened"),
        ("EVBO1", "OrderAuthorized"),
        ("EVBO1", "OrderCaptured"),
        ("EVBO1", "OrderCaptured"),
        ("EVBO1", "OrderRefunded"),
        ("EVBO2", "PaymentSessionOpened"),
        ("EVBO2", "OrderAuthorized"),
        ("EVBO2", "OrderCancelled"),
    ]
    captures = [d["operation"] for kind, d in outbox.published() if kind == "OrderCaptured"]
    assert [(c["kind"], c["amount"], c["outcome"]) for c in captures] == [
        ("capture_partial", "10.00", "done"),
        ("capture_full", "52.73", "done"),
    ]
    refunded = outbox.published()[4][1]
    assert (refunded["status"], refunded["refunded"]) == ("partially_refunded", "5.00")


ARN = "arn:aws:iam::123456789012:role/back-office"


def test_back_office_events_say_who_did_it_by_kind_and_name_only(
    aws: Any, lambda_context: Any, outbox: Outbox, bank: FakeBank
) -> None:
    registered(aws, lambda_context, "EVAC1")
    signed = {"identity": {"userArn": ARN, "caller": "AROAEXAMPLE:session", "accessKey": "ASIAEXAMPLEKEY"}}
    call(aws, lambda_context, "POST", "/orders/{reference}/capture", "EVAC1", {"amount": "10.00"}, context=signed)
    secret = "mk_test_4eC39HqLyjWDarjtT1zdp7dc"  # what an authorizer must never pass on; if it does, never published
    with_key = {"authorizer": {"key_id": "key_1", "label": "WooCommerce", "scope": "back_office", "key": secret}}
    call(aws, lambda_context, "POST", "/orders/{reference}/capture", "EVAC1", {}, context=with_key)
    assert publish(aws, lambda_context, outbox.new_records()) == {"batchItemFailures": []}
    captures = [detail["operation"] for kind, detail in outbox.published() if kind == "OrderCaptured"]
    assert [c["actor"] for c in captures] == [
        {"kind": "iam", "name": ARN},
        {"kind": "key", "name": "WooCommerce (key_1)"},
    ]
    published = json.dumps(outbox.seen)
    for kept_out in (secret, "ASIAEXAMPLEKEY", "back_office"):  # the key, the access key, the key's scope
        assert kept_out not in published


def test_a_review_marker_publishes_order_needs_review(aws: Any, lambda_context: Any, outbox: Outbox) -> None:
    stored_order(aws, SAMPLE)
    confirm(aws, lambda_context, amount="1.00EUR")
    publish(aws, lambda_context, outbox.new_records())
    kind, detail = outbox.published()[-1]
    assert kind == "OrderNeedsReview"
    assert detail["review"]["reason"] == "amount_mismatch"
    assert detail["status"] == "awaiting_payment"
    assert "PaymentRefused" not in outbox.types()
    assert "OrderPaid" not in outbox.types()
