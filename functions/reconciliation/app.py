"""Reconciliation with the bank: daily on a schedule, on demand from the console, and for each file of captured
payments the merchant uploads (to the reports bucket under ``imports/``: S3's EventBridge notification) or posts
to the console.

Each run's report goes to the reports bucket (``reconciliation/<day>/...json``); its differences are counted
in metrics (the unrepaired ones alarmed) and, when there are any, published on the orders' bus as one
``ReconciliationReported`` event. The repairs themselves are order writes: the stream publishes their events.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import config
from orders.calendar import scheduled_time
from orders.events import DomainEvent
from orders.http import BadRequest, body_bytes, error_response, json_body, json_response
from orders.reconciliation import Reconciler, Report, changed_days, reconciliation_days

logger = Logger()
metrics = Metrics()
REPORTED = "ReconciliationReported"


def _reconciler() -> Reconciler:
    return Reconciler(config.order_store(), config.load_terminals(), config.bank_client)


def _days_back() -> int:
    """How many order days back an order still awaiting payment is looked for (changed ones: ChangedIndex)."""
    return int(os.environ.get("RECONCILIATION_DAYS", "7") or 7)


def _finish(report: Report) -> dict[str, Any]:
    """Keep the report, count it, tell the bus when something differed; the report as JSON, with its key."""
    key = config.report_bucket().keep(report)
    data = {**report.as_json(), "report_key": key}
    unrepaired = sum(1 for d in report.differences if not d.repaired)
    metrics.add_metric(name="ReconciliationChecked", unit=MetricUnit.Count, value=report.checked)
    metrics.add_metric(name="ReconciliationRepaired", unit=MetricUnit.Count, value=data["repaired"])
    metrics.add_metric(name="ReconciliationDifferences", unit=MetricUnit.Count, value=unrepaired)
    metrics.add_metric(name="ReconciliationFailures", unit=MetricUnit.Count, value=len(report.failures))
    if report.differences or report.failures:
        summary = {key_: data[key_] for key_ in ("source", "days", "checked", "repaired", "report_key")}
        detail = {**summary, "differences": len(report.differences), "failures": len(report.failures)}
        detail["event_id"] = f"reconciliation/{key}"
        config.event_publisher().publish([DomainEvent(REPORTED, "", report.started_at, detail)])
    logger.info("reconciliation done", extra={"report_key": key, "differences": len(report.differences)})
    return data


def _scheduled(event: dict[str, Any], now: datetime) -> dict[str, Any]:
    terminals = config.load_terminals()
    timezone = terminals.get().terminal.timezone
    awaiting = reconciliation_days(now, timezone, _days_back())
    return _finish(_reconciler().run(changed_days(now), now, "schedule", awaiting))


def _uploaded(event: dict[str, Any], now: datetime) -> dict[str, Any]:
    """An S3 "Object Created" event (the bucket's EventBridge notifications): the uploaded file, imported."""
    key = str(event["detail"]["object"]["key"])
    xml = config.report_bucket().read(key)
    return _finish(_reconciler().import_captures(xml, now, key))


def _console_run(event: dict[str, Any], now: datetime) -> dict[str, Any]:
    body = json_body(event) if event.get("body") else {}
    unknown = set(body) - {"day"}
    if unknown:
        raise BadRequest(sorted(unknown)[0], "unknown field (give only day, or nothing)")
    if "day" in body:
        try:
            days = [date.fromisoformat(str(body["day"]))]
        except ValueError:
            raise BadRequest("day", "give a date like 2026-11-27") from None
        awaiting = days
    else:
        days = changed_days(now)
        awaiting = reconciliation_days(now, config.load_terminals().get().terminal.timezone, _days_back())
    return json_response(200, _finish(_reconciler().run(days, now, "console", awaiting)))


def _console_import(event: dict[str, Any], now: datetime) -> dict[str, Any]:
    xml = body_bytes(event)
    if not xml.strip():
        raise BadRequest("body", "post the bank's XML file of captured payments")
    return json_response(200, _finish(_reconciler().import_captures(xml, now, "console-import")))


ROUTES: dict[tuple[str, str], Callable[[dict[str, Any], datetime], dict[str, Any]]] = {
    ("POST", "/reconciliation"): _console_run,
    ("POST", "/reconciliation/captures"): _console_import,
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "httpMethod" in event:
        route = ROUTES.get((event.get("httpMethod", ""), event.get("resource", "")))
        if route is None:
            return error_response(404, "no such route")
        try:
            return route(event, datetime.now(UTC))
        except BadRequest as exc:
            return error_response(400, str(exc), exc.field)
    if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        return _uploaded(event, datetime.now(UTC))
    if event.get("detail-type") == "Scheduled Event":
        return _scheduled(event, scheduled_time(event))
    logger.error("unknown event: nothing done", extra={"source": event.get("source"), "keys": sorted(event)})
    return {"error": "unknown event"}
