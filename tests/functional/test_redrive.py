"""``python -m orders.redrive``: the order events of a dead-letter queue put back on the bus, on moto's SQS and
EventBridge.

The dead letters are made as AWS makes them: the shop webhook's by EventBridge itself (a rule's target queue holds the
event exactly as EventBridge delivers it), the mails' as Lambda's on-failure destination writes its invocation record
(AWS Lambda developer guide, "Capturing records of Lambda asynchronous invocations": ``requestPayload`` is the event).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from orders.events import SOURCE, DomainEvent, EventPublisher
from orders.redrive import main

BUS = "orders-test"
NOW = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)


class Queues:
    def __init__(self, sqs: Any, events: Any) -> None:
        self.sqs, self.events = sqs, events
        self.dead = self._queue("dead-letters")
        self.delivered = self._queue("delivered")

    def _queue(self, name: str) -> str:
        return str(self.sqs.create_queue(QueueName=name)["QueueUrl"])

    def arn(self, url: str) -> str:
        return str(self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    def route(self, rule: str, url: str) -> None:
        pattern = json.dumps({"source": [SOURCE]})
        self.events.put_rule(Name=rule, EventBusName=BUS, EventPattern=pattern)
        self.events.put_targets(Rule=rule, EventBusName=BUS, Targets=[{"Id": "q", "Arn": self.arn(url)}])

    def unroute(self, rule: str) -> None:
        self.events.remove_targets(Rule=rule, EventBusName=BUS, Ids=["q"])

    def bodies(self, url: str) -> list[str]:
        found = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [m["Body"] for m in found.get("Messages", [])]

    def counts(self, url: str) -> tuple[int, int]:
        """Messages visible, and in flight (received by the redrive and left there)."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return int(attributes[names[0]]), int(attributes[names[1]])


@pytest.fixture
def queues(aws: Any) -> Queues:
    events = boto3.client("events", region_name="eu-west-3")
    events.create_event_bus(Name=BUS)
    return Queues(aws.sqs, events)


def _event(kind: str, reference: str) -> DomainEvent:
    return DomainEvent(kind, reference, NOW, {"event_id": f"{reference}/{kind}", "reference": reference, "schema": 1})


def _dead_webhook_events(queues: Queues, *events: DomainEvent) -> list[dict[str, Any]]:
    """The events as the webhook's target queue gets them from EventBridge (its dead-letter queue holds the same)."""
    queues.route("webhook", queues.dead)
    EventPublisher(BUS, client=queues.events).publish(list(events))
    queues.unroute("webhook")
    return [json.loads(body) for body in queues.bodies(queues.dead)]


def _invocation_record(event: dict[str, Any]) -> str:
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-11-28T10:15:03.000Z",
            "requestContext": {
                "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
                "functionArn": "arn:aws:lambda:eu-west-3:123456789012:function:order-mail:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "buyer: Throttling", "errorType": "MailUnavailableError"},
        }
    )


def _redrive(queues: Queues, url: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main([url, "--bus", BUS], out, sqs=queues.sqs, events=queues.events)
    return code, out.getvalue()


def test_the_webhook_dead_letters_go_back_on_the_bus_as_they_were_and_leave_the_queue(queues: Queues) -> None:
    dead = _dead_webhook_events(queues, _event("OrderPaid", "RD1"), _event("OrderRefunded", "RD2"))
    assert len(dead) == 2
    queues.route("shop", queues.delivered)
    assert _redrive(queues, queues.dead) == (0, f"2 event(s) put back on {BUS}\n")
    again = sorted((json.loads(body) for body in queues.bodies(queues.delivered)), key=lambda e: e["detail-type"])
    key = ("source", "detail-type", "detail", "time")
    assert [{k: e[k] for k in key} for e in again] == sorted(
        ({k: e[k] for k in key} for e in dead), key=lambda e: e["detail-type"]
    )
    assert queues.counts(queues.dead) == (0, 0)


def test_the_mail_dead_letters_are_invocation_records_whose_event_goes_back(queues: Queues) -> None:
    (event,) = _dead_webhook_events(queues, _event("OrderPaid", "RD3"))
    queues.sqs.purge_queue(QueueUrl=queues.dead)
    queues.sqs.send_message(QueueUrl=queues.dead, MessageBody=_invocation_record(event))
    queues.route("mail", queues.delivered)
    assert _redrive(queues, queues.dead)[0] == 0
    (back,) = [json.loads(body) for body in queues.bodies(queues.delivered)]
    assert (back["detail-type"], back["detail"]) == ("OrderPaid", event["detail"])
    assert queues.counts(queues.dead) == (0, 0)


def test_what_is_not_an_order_event_stays_on_the_queue_named_with_why(queues: Queues) -> None:
    (event,) = _dead_webhook_events(queues, _event("OrderPaid", "RD4"))
    strangers = {
        "not json {": "not JSON",
        json.dumps({**event, "source": "someone.else"}): f"not an event of {SOURCE}",
        json.dumps({**event, "detail": {"reference": "RD4"}}): "an order event needs a detail-type and a detail",
        json.dumps({**event, "time": "yesterday"}): "time 'yesterday' is not an ISO 8601 time",
    }
    ids = {queues.sqs.send_message(QueueUrl=queues.dead, MessageBody=b)["MessageId"]: w for b, w in strangers.items()}
    queues.route("shop", queues.delivered)
    code, said = _redrive(queues, queues.dead)
    assert code == 1
    first, *kept = said.splitlines()
    assert first == f"1 event(s) put back on {BUS}"
    reasons = dict(line.removeprefix("kept on the queue: message ").split(": ", 1) for line in kept)
    assert set(reasons) == set(ids)
    for message_id, why in ids.items():
        assert reasons[message_id].startswith(why), (reasons[message_id], why)
    assert len(queues.bodies(queues.delivered)) == 1
    assert queues.counts(queues.dead) == (0, len(strangers)), "kept, hidden from this run only"


def test_a_message_is_deleted_only_once_eventbridge_took_its_event(queues: Queues) -> None:
    assert len(_dead_webhook_events(queues, _event("OrderPaid", "RD5"), _event("OrderPaid", "RD6"))) == 2

    def refuse_one(parsed: dict[str, Any], **_: Any) -> None:
        # EventBridge's partial failure (PutEvents API reference: FailedEntryCount, the entry's ErrorCode in place).
        parsed["Entries"][0] = {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}
        parsed["FailedEntryCount"] = 1

    queues.events.meta.events.register("after-call.events.PutEvents", refuse_one)
    code, said = _redrive(queues, queues.dead)
    assert code == 1
    first, kept = said.splitlines()
    assert first == f"1 event(s) put back on {BUS}"
    assert kept.endswith(": EventBridge refused it: InternalFailure try again")
    assert queues.counts(queues.dead) == (0, 1), "the refused one stays (in flight until this run's hold ends)"


def test_a_queue_that_cannot_be_read_is_one_line_and_exit_2(queues: Queues) -> None:
    code, said = _redrive(queues, queues.dead.replace("dead-letters", "no-such-queue"))
    assert code == 2
    assert said.startswith("cannot redrive ")
    assert said.endswith("(0 event(s) put back before)\n")
    assert len(said.splitlines()) == 1
