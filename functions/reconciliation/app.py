"""Reconciliation with the bank: daily on a schedule, on demand from the console, and for each bank file (its XML
file of captured payments or its CSV export of payments) the merchant uploads (to the reports bucket under
``imports/``: S3's EventBridge notification) or posts to the console.

A check with the bank's status (the schedule, ``POST /reconciliation``) is planned here and sent in parts to the
reconciliation queue (``orders.reconciliation_runs``): ``functions/reconciliation_parts`` checks them and the last
part assembles the report. A bank file is compared here, at once.

Each run's report goes to the reports bucket (``reconciliation/<day>/...json``); its differences are counted
in metrics (the unrepaired ones alarmed) and, when there are any, published on the orders' bus as one
``ReconciliationReported`` event. The repairs themselves are order writes: the stream publishes their events.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.calendar import scheduled_time
from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import InvalidOrderError
from orders.reconciliation import Reconciler, Report, changed_days, reconciliation_days
from orders.reconciliation_runs import FannedOutRuns, announce
from orders.web.http import body_bytes, json_body, json_response
from orders.web.resolver import resolve, resolver, response
from sealing import read_bank_file

logger = Logger()
metrics = Metrics()
# The console's runs log under the API's request id (its access log's requestId), the others under their event's id.
REQUEST_ID = f"{correlation_paths.API_GATEWAY_REST} || id"


class Runs:
    """The reconciliation's ways in (the schedule, an uploaded file, the console's two routes) on ``deps``."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def _reconciler(self) -> Reconciler:
        return Reconciler(self.deps.store, self.deps.terminals, self.deps.bank_client)

    def _awaiting(self, now: datetime) -> list[date]:
        """The order days an order still awaiting payment is looked for (changed ones: ChangedIndex)."""
        timezone = self.deps.terminals().get().terminal.timezone
        return reconciliation_days(now, timezone, self.deps.reconciliation_days)

    def finish(self, report: Report) -> dict[str, Any]:
        """Keep a bank file's report, count it, tell the bus when something differed; the report with its key."""
        key = self.deps.report_bucket().keep(report)
        data = announce(report, key, self.deps.event_publisher(), metrics)
        logger.info("reconciliation done", extra={"report_key": key, "differences": len(report.differences)})
        return data

    def start(self, days: list[date], now: datetime, source: str, awaiting: list[date]) -> dict[str, Any]:
        """Plan a check with the bank's status and send its parts: the run, its size and its report's key (the
        report itself when there was nothing to check)."""
        reconciler = self._reconciler()
        runs = FannedOutRuns(
            reconciler, self.deps.report_bucket(), self.deps.reconciliation_queue(), self.deps.reconciliation_part_size
        )
        started = runs.start(reconciler.plan(days, now, source, awaiting))
        logger.info("reconciliation planned", extra=started.as_json())
        if started.report is not None:
            return announce(started.report, started.report_key, self.deps.event_publisher(), metrics)
        return started.as_json()

    def scheduled(self, now: datetime) -> dict[str, Any]:
        return self.start(changed_days(now), now, "schedule", self._awaiting(now))

    def uploaded(self, event: dict[str, Any], now: datetime) -> dict[str, Any]:
        """An S3 "Object Created" event (the bucket's EventBridge notifications): the uploaded file, imported (a
        file that is not the bank's is reported ``unreadable_file``: nobody is there to answer)."""
        key = str(event["detail"]["object"]["key"])
        data = self.deps.report_bucket().read(key)
        return self.finish(self._reconciler().import_file(data, now, key))

    def console_run(self, event: dict[str, Any], now: datetime) -> dict[str, Any]:
        body = json_body(event) if event.get("body") else {}
        unknown = set(body) - {"day"}
        if unknown:
            raise InvalidOrderError(sorted(unknown)[0], "unknown field (give only day, or nothing)")
        if "day" in body:
            try:
                days = [date.fromisoformat(str(body["day"]))]
            except ValueError:
                raise InvalidOrderError("day", "give a date like 2026-11-27") from None
            awaiting = days
        else:
            days, awaiting = changed_days(now), self._awaiting(now)
        started = self.start(days, now, "console", awaiting)
        return json_response(200 if "checked" in started else 202, started)

    def console_import(self, event: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The bank's XML file of captured payments or its CSV export of payments, told by its content; a file
        that is neither answers 400 naming where it is wrong (a line and column, an element, or ``body``)."""
        data = body_bytes(event)
        if not data.strip():
            raise InvalidOrderError(
                "body", "post the bank's XML file of captured payments or its CSV export of payments"
            )
        bank_file = read_bank_file(data)
        report = self._reconciler().compare_file(bank_file, now, f"console-import-{bank_file.format}")
        return json_response(200, self.finish(report))


def create_handler(deps: Dependencies) -> Handler:
    """The reconciliation's handler on ``deps``: the console's routes through the API's resolver (a request's field,
    or where a posted file is not the bank's, is a 400 naming it), the schedule and the uploads by their event."""
    runs = Runs(deps)
    app = resolver(logger, metrics)

    @app.post("/reconciliation")
    def run() -> Response[str]:
        return response(runs.console_run(app.current_event.raw_event, deps.clock()))

    @app.post("/reconciliation/captures")
    def captures() -> Response[str]:
        return response(runs.console_import(app.current_event.raw_event, deps.clock()))

    @logger.inject_lambda_context(clear_state=True, correlation_id_path=REQUEST_ID)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if "httpMethod" in event:
            return resolve(app, event, context)
        if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
            return runs.uploaded(event, deps.clock())
        if event.get("detail-type") == "Scheduled Event":
            return runs.scheduled(scheduled_time(event, deps.clock))
        logger.error("unknown event: nothing done", extra={"source": event.get("source"), "keys": sorted(event)})
        return {"error": "unknown event"}

    return handler


lambda_handler = environment_handler(create_handler)
