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
from orders.records import Record, batch_response, record_id
from orders.store import ORDER_SK, item_to_order

logger = Logger()
metrics = Metrics()


def record_events(record: Record) -> list[DomainEvent]:
    """The events of one stream record: none for anything but an order's insert or update."""
    change = record.get("dynamodb") or {}
    if record.get("eventName") not in ("INSERT", "MODIFY") or change.get("Keys", {}).get("sk", {}).get("S") != ORDER_SK:
        return []
    old = change.get("OldImage")
    return events_of_change(item_to_order(old) if old else None, item_to_order(change["NewImage"]))


def create_handler(deps: Dependencies) -> Handler:
    """The stream consumer's handler on ``deps``."""

    def publish(record: Record) -> bool:
        """Publish one record's events; one that cannot be is retried with every later one, in order."""
        try:
            events = record_events(record)
            deps.event_publisher().publish(events)
        except Exception:
            logger.exception("order events not published", extra={"sequence_number": record_id(record)})
            metrics.add_metric(name="OrderEventsNotPublished", unit=MetricUnit.Count, value=1)
            return False
        for published in events:
            logger.info("order event published", extra={"type": published.type, "event_id": published.id})
        if events:
            metrics.add_metric(name="OrderEventsPublished", unit=MetricUnit.Count, value=len(events))
        return True

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return batch_response(event, publish, logger, ordered=True)

    return handler


lambda_handler = environment_handler(create_handler)
