"""Publish the orders' domain events from the orders table's stream (the outbox) to the EventBridge bus.

A small stream consumer rather than EventBridge Pipes: which events a write produced is a comparison of the
old and new order (new attempts, operations, reviews, sessions, the state entered) that Pipes' filters cannot
express, and a Pipes enrichment would be a Lambda function anyway. Records are handled in stream order; at
the first one that cannot be published the rest of the batch is left (``ReportBatchItemFailures`` with its
sequence number): Lambda retries from there, bisecting, and when the records are about to leave the stream
it puts their position on the dead-letter queue (alarmed). A record published twice repeats its event ids.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.dependencies import Dependencies, Handler, environment_handler
from orders.events import DomainEvent, events_of_change
from orders.store import ORDER_SK, item_to_order

logger = Logger()
metrics = Metrics()


def record_events(record: dict[str, Any]) -> list[DomainEvent]:
    """The events of one stream record: none for anything but an order's insert or update."""
    change = record.get("dynamodb") or {}
    if record.get("eventName") not in ("INSERT", "MODIFY") or change.get("Keys", {}).get("sk", {}).get("S") != ORDER_SK:
        return []
    old = change.get("OldImage")
    return events_of_change(item_to_order(old) if old else None, item_to_order(change["NewImage"]))


def create_handler(deps: Dependencies) -> Handler:
    """The stream consumer's handler on ``deps``."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        publisher = deps.event_publisher()
        for record in event.get("Records") or []:
            sequence = (record.get("dynamodb") or {}).get("SequenceNumber", "")
            try:
                events = record_events(record)
                publisher.publish(events)
            except Exception:  # this record and every later one are retried, in order
                logger.exception("order events not published", extra={"sequence_number": sequence})
                metrics.add_metric(name="OrderEventsNotPublished", unit=MetricUnit.Count, value=1)
                return {"batchItemFailures": [{"itemIdentifier": sequence}]}
            for published in events:
                logger.info("order event published", extra={"type": published.type, "event_id": published.id})
            if events:
                metrics.add_metric(name="OrderEventsPublished", unit=MetricUnit.Count, value=len(events))
        return {"batchItemFailures": []}

    return handler


lambda_handler = environment_handler(create_handler)
