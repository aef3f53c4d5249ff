"""The reconciliation's resources on moto for the functional tests (the reports bucket, the bus with a queue that
hears ``ReconciliationReported``, the queue of parts), and Lambda's event source mapping of that queue, played."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from orders.events import EventPublisher
from orders.reconciliation import ReportBucket
from orders.reconciliation_runs import PartQueue
from tests.support.merchant import sqs_event

BUCKET = "reports-test"


@dataclass
class Reconciliation:
    s3: Any
    sqs: Any
    reported_url: str  # the queue the bus's ReconciliationReported events reach
    parts_url: str

    def report(self, key: str) -> dict[str, Any]:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())  # type: ignore[no-any-return]

    def keys(self, prefix: str) -> list[str]:
        answer = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return [item["Key"] for item in answer.get("Contents") or []]

    def reported(self) -> list[dict[str, Any]]:
        """The ReconciliationReported events told so far (taken off their queue)."""
        answer = self.sqs.receive_message(QueueUrl=self.reported_url, MaxNumberOfMessages=10)
        messages = answer.get("Messages") or []
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.reported_url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"]) for message in messages]

    def parts(self) -> list[dict[str, Any]]:
        """The parts waiting on the queue, left there (visible again at once)."""
        found: dict[str, dict[str, Any]] = {}
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.parts_url, MaxNumberOfMessages=10, VisibilityTimeout=5)
            messages = answer.get("Messages") or []
            if not messages or all(m["MessageId"] in found for m in messages):
                break
            found |= {m["MessageId"]: m for m in messages}
        for message in found.values():
            self.sqs.change_message_visibility(
                QueueUrl=self.parts_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return list(found.values())


def reconciliation_resources(aws: Any) -> Reconciliation:
    """The bucket, the bus and the queue of parts, on ``aws``'s handlers from now on."""
    s3 = boto3.client("s3", region_name="eu-west-3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    events = boto3.client("events", region_name="eu-west-3")
    events.create_event_bus(Name="orders-test")
    reported_url = aws.sqs.create_queue(QueueName="reported")["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=reported_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="r", EventBusName="orders-test", EventPattern=json.dumps({"detail-type": ["ReconciliationReported"]})
    )
    events.put_targets(Rule="r", EventBusName="orders-test", Targets=[{"Id": "q", "Arn": arn}])
    parts_url = aws.sqs.create_queue(QueueName="reconciliation-parts")["QueueUrl"]
    aws.use(
        reports=ReportBucket(BUCKET, client=s3),
        publisher=EventPublisher("orders-test", client=events),
        parts=PartQueue(parts_url, client=aws.sqs),
    )
    return Reconciliation(s3, aws.sqs, reported_url, parts_url)


def deliver(aws: Any, message: dict[str, Any], context: Any) -> dict[str, Any]:
    """One part handed to the parts' function as Lambda hands it (a batch of one)."""
    return aws.invoke("reconciliation_parts", sqs_event([message]), context)  # type: ignore[no-any-return]


def drain(aws: Any, resources: Reconciliation, context: Any, most: int = 1000) -> int:
    """Lambda's event source mapping of the parts' queue, one part at a time until the queue is empty: a part
    the function did not report failed is deleted. How many parts were delivered."""
    delivered = 0
    while delivered < most:
        answer = resources.sqs.receive_message(QueueUrl=resources.parts_url, MaxNumberOfMessages=1)
        messages = answer.get("Messages") or []
        if not messages:
            return delivered
        (message,) = messages
        delivered += 1
        if not deliver(aws, message, context)["batchItemFailures"]:
            resources.sqs.delete_message(QueueUrl=resources.parts_url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError(f"the parts' queue was still not empty after {most} parts")
