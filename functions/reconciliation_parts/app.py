"""Check the parts of the reconciliation's runs (SQS, one part a message, partial batch responses).

Each part asks the bank's status of its orders within a time budget: what Lambda leaves of the function's timeout,
less ``MARGIN_SECONDS`` to keep its piece of the report and send the rest of the part back to the queue
(``orders.reconciliation_runs``). The part that completes a run writes the run's report, counts it in the metrics
and tells the bus, as a run in one go did. How many parts run at once, and so how many status calls are in flight
toward the bank, is the event source's maximum concurrency (the template's ``ReconciliationConcurrency``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import ConfigurationError, OrdersError
from orders.reconciliation import Reconciler
from orders.reconciliation_runs import FannedOutRuns, Part, announce
from orders.records import Record, batch_response

logger = Logger()
metrics = Metrics()
# The longest one order's check may take (an order awaiting payment asks each of its sessions, two attempts of
# BANK_TIMEOUT_SECONDS each at worst) and the time to keep the piece and send the rest.
MARGIN_SECONDS = 60


def out_of_time(context: LambdaContext) -> Callable[[], bool]:
    """Whether the time left to the invocation is only its margin."""
    return lambda: context.get_remaining_time_in_millis() < MARGIN_SECONDS * 1000


def create_handler(deps: Dependencies) -> Handler:
    """The reconciliation parts' handler on ``deps``."""

    def runs() -> FannedOutRuns:
        reconciler = Reconciler(deps.store, deps.terminals, deps.bank_client)
        return FannedOutRuns(reconciler, deps.report_bucket(), deps.reconciliation_queue())

    def check(record: Record, context: LambdaContext) -> bool:
        """Whether the part is done with (kept, or its rest sent back); a failed one comes back from the queue."""
        try:
            part = Part.from_message(record["body"])
        except ValueError as exc:  # never sent by the planner: it goes to the dead letters, alarmed, not dropped
            logger.error("not a part of a reconciliation run", extra={"detail": str(exc)})
            return False
        logger.append_keys(run=part.run, start=part.start, end=part.end)
        try:
            fanned_out = runs()
            assembled = fanned_out.check(part, out_of_time(context))
            if assembled is not None:  # told, then marked told: a bus that fails has the part come back to tell it
                announce(assembled.report, assembled.key, deps.event_publisher(), metrics)
                fanned_out.told(part.run)
        except (OrdersError, ConfigurationError):  # the table, the bucket, the queue, the secret or the bus failed
            logger.exception("reconciliation part failed")
            return False
        if assembled is not None:
            differences = len(assembled.report.differences)
            logger.info("reconciliation done", extra={"report_key": assembled.key, "differences": differences})
        return True

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return batch_response(event, lambda record: check(record, context), logger, ordered=False)

    return handler


lambda_handler = environment_handler(create_handler)
