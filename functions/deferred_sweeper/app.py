"""The end of the deferral period, on an EventBridge schedule.

Finds the orders whose deadline has passed (through the sparse deadline index), records what the bank
did by itself, otherwise applies the terminal's end policy. Rerunning is always safe: what keeps failing is
reported (metric + log) and retried on the next run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import config
from orders.operations import BackOffice

logger = Logger()
metrics = Metrics()


def _now(event: dict[str, Any]) -> datetime:
    """The schedule's own time (``time`` of the EventBridge event), so a run can be replayed at a moment."""
    try:
        return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return datetime.now(UTC)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = _now(event)
    report = BackOffice(config.order_store(), config.load_terminals(), config.bank_client).sweep(now)
    metrics.add_metric(name="SweepDue", unit=MetricUnit.Count, value=len(report.outcomes) + len(report.failures))
    metrics.add_metric(name="SweepFailures", unit=MetricUnit.Count, value=len(report.failures))
    for reference, failure in report.failures.items():
        logger.error("end of deferral failed, retried next run", extra={"reference": reference, "error": failure})
    logger.info("sweep done", extra={"items_read": report.items_read, "outcomes": report.outcomes})
    return {
        "time": now.isoformat(),
        "items_read": report.items_read,
        "outcomes": report.outcomes,
        "failures": report.failures,
    }
