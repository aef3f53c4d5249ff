"""The end of the deferral period, on an EventBridge schedule.

Finds the orders whose deadline has passed (through the sparse deadline index), records what the bank
did by itself, otherwise applies the terminal's end policy. Rerunning is always safe: what keeps failing is
reported (metric + log) and retried on the next run. A run stops taking orders before the function's timeout
(the rest stay due, for the next run), and runs never overlap (a lease on the table, ``orders.sweep_lease``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.backoffice import BackOffice
from orders.calendar import scheduled_time
from orders.dependencies import Dependencies, Handler, environment_handler
from orders.sweep_lease import SweepLease

logger = Logger()
metrics = Metrics()
# Time kept in hand when the run stops taking orders: one order can take a status request, the operation and
# another status request at the bank client's timeout each, and its writes.
RESERVE_MS = 60_000


def create_handler(deps: Dependencies) -> Handler:
    """The sweeper's handler on ``deps``."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        now = scheduled_time(event, deps.clock)
        budget_ms = context.get_remaining_time_in_millis()
        reserve_ms = min(RESERVE_MS, budget_ms // 4)  # a short timeout keeps a quarter of it in hand
        lease = SweepLease(deps.store)
        token = lease.take(seconds=budget_ms / 1000)
        if token is None:
            logger.warning("another sweep is still running: this run leaves the due orders to it")
            return {"time": now.isoformat(), "skipped": "another sweep is still running"}
        try:
            office = BackOffice(deps.store, deps.terminals, deps.bank_client)
            report = office.sweep(now, out_of_time=lambda: context.get_remaining_time_in_millis() < reserve_ms)
        finally:
            lease.give_back(token)
        metrics.add_metric(name="SweepDue", unit=MetricUnit.Count, value=len(report.outcomes) + len(report.failures))
        metrics.add_metric(name="SweepFailures", unit=MetricUnit.Count, value=len(report.failures))
        if report.flagged:
            metrics.add_metric(name="OrdersNeedingReview", unit=MetricUnit.Count, value=len(report.flagged))
        if not report.finished:
            metrics.add_metric(name="SweepsUnfinished", unit=MetricUnit.Count, value=1)
            logger.warning("out of time: the due orders left are the next run's", extra={"done": len(report.outcomes)})
        for reference, failure in report.failures.items():
            logger.error("end of deferral failed, retried next run", extra={"reference": reference, "error": failure})
        logger.info("sweep done", extra={"items_read": report.items_read, "outcomes": report.outcomes})
        return {
            "time": now.isoformat(),
            "items_read": report.items_read,
            "outcomes": report.outcomes,
            "failures": report.failures,
            "finished": report.finished,
        }

    return handler


lambda_handler = environment_handler(create_handler)
