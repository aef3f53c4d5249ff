"""Put the order events a dead-letter queue holds back on the orders' bus, once what kept them there is fixed.

    python -m orders.redrive <queue URL> --bus <bus name>      # the stack's *RedriveCommand outputs say it whole

Two of the stack's dead-letter queues hold order events that did not reach their consumer:

- the shop webhook's (``ShopWebhookDeadLetterQueue``, the dead-letter queue of the EventBridge rule's target): each
  message's body is the event as EventBridge delivered it;
- the mails' (``OrderMailDeadLetterQueue``, the on-failure destination of the mail function's asynchronous
  invocations): each message is Lambda's invocation record, whose ``requestPayload`` is the event.

Each event goes back on the bus with PutEvents, as it was (source, detail-type, detail, time): every rule of the bus
gets it again under its ``event_id``, which the consumers deduplicate on (the mail function sends only the mails not
sent yet, the shop's webhook is told to). A message is deleted only once EventBridge took its event; one that holds
no order event, or whose event EventBridge refused, stays on the queue (visible again after ``KEEP_SECONDS``) and is
named with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .events import PUT_EVENTS_MAX, SOURCE, DomainEvent

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_sqs.client import SQSClient

KEEP_SECONDS = 30  # how long a message left on the queue stays hidden from this run (and any other reader)
WAIT_SECONDS = 2  # long polling: an empty answer means the queue has nothing more for this run


@dataclass
class Redriven:
    """What a run did: the events put back on the bus, and each message left on the queue with why."""

    moved: int = 0
    kept: dict[str, str] = field(default_factory=dict)  # message id -> why it stays


def order_event(body: str) -> DomainEvent:
    """The order event a dead letter holds (the event itself, or Lambda's invocation record of it); ``ValueError``
    saying why when it holds none."""
    try:
        message = json.loads(body)
    except ValueError:
        raise ValueError("not JSON") from None
    event = message.get("requestPayload", message) if isinstance(message, dict) else None
    if not isinstance(event, dict) or event.get("source") != SOURCE:
        raise ValueError(f"not an event of {SOURCE}")
    detail, kind, time = event.get("detail"), event.get("detail-type"), event.get("time")
    if not isinstance(detail, dict) or not detail.get("event_id") or not isinstance(kind, str) or not kind:
        raise ValueError("an order event needs a detail-type and a detail with its event_id")
    try:
        moment = datetime.fromisoformat(str(time))
    except ValueError:
        raise ValueError(f"time {time!r} is not an ISO 8601 time") from None
    return DomainEvent(kind, str(detail.get("reference", "")), moment, detail)


class Redrive:
    """One dead-letter queue emptied onto the orders' bus."""

    def __init__(self, queue_url: str, bus_name: str, sqs: SQSClient, events: EventBridgeClient) -> None:
        self.queue_url = queue_url
        self.bus_name = bus_name
        self.sqs = sqs
        self.events = events
        self.done = Redriven()  # so far: what a failed run did before it failed is still said

    def run(self) -> Redriven:
        """Every message the queue gives, once each: a message kept comes back only after this run."""
        done = self.done
        seen: set[str] = set()
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=PUT_EVENTS_MAX,
                WaitTimeSeconds=WAIT_SECONDS,
                VisibilityTimeout=KEEP_SECONDS,
            )
            messages = [m for m in answer.get("Messages", []) if m["MessageId"] not in seen]
            if not messages:
                return done
            seen.update(m["MessageId"] for m in messages)
            self._batch(messages, done)

    def _batch(self, messages: Sequence[Any], done: Redriven) -> None:
        readable: list[tuple[Any, DomainEvent]] = []
        for message in messages:
            try:
                readable.append((message, order_event(message.get("Body", ""))))
            except ValueError as exc:
                done.kept[message["MessageId"]] = str(exc)
        if not readable:
            return
        answer = self.events.put_events(Entries=[event.entry(self.bus_name) for _, event in readable])  # type: ignore[misc]
        taken = []
        for (message, _), entry in zip(readable, answer.get("Entries", []), strict=False):
            if entry.get("EventId") and not entry.get("ErrorCode"):
                taken.append(message)
            else:
                reason = f"EventBridge refused it: {entry.get('ErrorCode')} {entry.get('ErrorMessage', '')}".rstrip()
                done.kept[message["MessageId"]] = reason
        for message, _ in readable[len(answer.get("Entries", [])) :]:  # no entry answered: not known to be taken
            done.kept[message["MessageId"]] = "EventBridge gave no answer for it"
        if taken:
            self._delete(taken, done)
            done.moved += len(taken)

    def _delete(self, messages: Sequence[Any], done: Redriven) -> None:
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
        answer = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
        for failed in answer.get("Failed", []):
            # The event is on the bus; the message comes back and its event goes again (deduplicated on event_id).
            message = messages[int(failed["Id"])]
            done.kept[message["MessageId"]] = f"put back on the bus, but not deleted: {failed.get('Code')}"
            done.moved -= 1


def arguments() -> argparse.ArgumentParser:
    """The command line's arguments (the stack's outputs give them whole)."""
    parser = argparse.ArgumentParser(prog="python -m orders.redrive", description=__doc__.splitlines()[0])
    parser.add_argument("queue_url", help="the dead-letter queue's URL")
    parser.add_argument("--bus", required=True, help="the orders' bus (the stack's OrderEventsBusName)")
    return parser


def queue_region(queue_url: str) -> str | None:
    """The region an SQS queue URL names (``https://sqs.eu-west-3.amazonaws.com/...``); ``None`` for another URL (a
    local endpoint's), where the environment's region applies."""
    host = urlsplit(queue_url).hostname or ""
    parts = host.split(".")
    return parts[1] if len(parts) >= 4 and parts[0] == "sqs" and parts[2] == "amazonaws" else None


def main(
    argv: Sequence[str] | None = None,
    out: TextIO = sys.stdout,
    sqs: SQSClient | None = None,
    events: EventBridgeClient | None = None,
) -> int:
    """The command line: 0 when the queue is empty of order events, 1 when messages were left on it, 2 when the queue
    or the bus could not be reached. The bus is looked for in the queue's region."""
    args = arguments().parse_args(argv)
    done = Redriven()
    try:
        region = queue_region(args.queue_url)
        sqs = sqs or boto3.client("sqs", region_name=region)
        redrive = Redrive(args.queue_url, args.bus, sqs, events or boto3.client("events", region_name=region))
        done = redrive.done
        redrive.run()
    except (ClientError, BotoCoreError) as exc:
        print(f"cannot redrive {args.queue_url}: {exc} ({done.moved} event(s) put back before)", file=out)
        return 2
    print(f"{done.moved} event(s) put back on {args.bus}", file=out)
    for message_id, reason in sorted(done.kept.items()):
        print(f"kept on the queue: message {message_id}: {reason}", file=out)
    return 1 if done.kept else 0


if __name__ == "__main__":
    sys.exit(main())
