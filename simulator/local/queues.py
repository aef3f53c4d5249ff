"""SQS queues from the template, in the embedded AWS, and the functions their ``Type: SQS`` events feed.

moto keeps queues, visibility timeouts and redrive policies (a message received too often moves to its
dead-letter queue), but it has no Lambda event source mapping: ``QueuePoller`` is that mapping, locally. It
receives a batch, invokes the function with the event Lambda would send, and deletes what the function did not
report as failed (``ReportBatchItemFailures``); a failed message comes back when its visibility timeout ends.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3

from stacktools.template import QueueEvent

from .aws import QueueSetup
from .polling import SourcePoller

if TYPE_CHECKING:
    from .host import Host

# CloudFormation property -> SQS attribute, for the properties a queue takes as they are.
_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
)


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def create_queue(name: str, properties: Mapping[str, Any], region: str) -> QueueSetup:
    """Create a queue from its resolved properties, without its redrive policy (``set_redrive`` adds it)."""
    client: Any = boto3.client("sqs", region_name=region)
    attributes = {key: _attribute(properties[key]) for key in _ATTRIBUTES if key in properties}
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueueSetup(name=name, url=url, arn=arn)


def set_redrive(queue: QueueSetup, properties: Mapping[str, Any], region: str) -> None:
    """The queue's redrive policy, once every queue exists (it names its dead-letter queue's ARN)."""
    policy = properties.get("RedrivePolicy")
    if policy:
        client = boto3.client("sqs", region_name=region)
        client.set_queue_attributes(QueueUrl=queue.url, Attributes={"RedrivePolicy": _attribute(policy)})


def sqs_event(messages: list[dict[str, Any]], queue: QueueSetup, region: str) -> dict[str, Any]:
    """The event Lambda sends for a batch of SQS messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes") or {},
                "messageAttributes": message.get("MessageAttributes") or {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue.arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class QueuePoller(SourcePoller[QueueEvent]):
    """Lambda's SQS event source mapping, locally: one thread polls each queue a function listens to."""

    name = "queues"

    def __init__(self, wait_seconds: int = 1) -> None:
        super().__init__()
        self.wait_seconds = wait_seconds  # receive_message waits this long for a message: no pause of its own

    def sources(self, stack: Host) -> list[QueueEvent]:
        return [event for spec in stack.template.functions() for event in spec.queues if event.enabled]

    def label(self, event: QueueEvent) -> tuple[str, str]:
        return f"local-sqs-{event.queue}", f"polling {event.queue}"

    def poll_once(self, event: QueueEvent) -> int:
        """Receive one batch and hand it to the function; the number of messages handed over."""
        stack = self.stack
        queue = stack.queues[event.queue]
        client: Any = boto3.client("sqs", region_name=stack.config.region)
        answer = client.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=min(event.batch_size, 10),
            WaitTimeSeconds=self.wait_seconds,
            MessageSystemAttributeNames=["All"],
        )
        messages = answer.get("Messages") or []
        if not messages:
            return 0
        try:
            result = stack.invoke(event.function, sqs_event(messages, queue, stack.config.region))
        except Exception:  # the whole batch failed: every message comes back after its visibility timeout
            print(f"local: {event.function} failed on a batch of {event.queue}:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            return len(messages)
        failed = set()
        if event.partial_failures and isinstance(result, dict):
            failed = {item.get("itemIdentifier") for item in result.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start:][:10])]
            client.delete_message_batch(QueueUrl=queue.url, Entries=entries)
        return len(messages)
