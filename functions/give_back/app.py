"""Give back a second payment, off the orders table's stream (orders.giveback).

CGI2 records a second payment of a paid order in its one write and marks the order ``giveback_due``; the event
source mapping hands this function only those records (its filter), and the handler checks again. For each such
order it gives back every second payment still due, through the bank's back office, once each. What cannot be
finished now (the bank unavailable, a give-back still under way in another process) is left in ``GiveBackIndex``
for the deferred sweeper's next run; a record is handed over again only when the table itself failed, so a bank
that is down never holds the stream up.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.actors import GIVE_BACK
from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import OrderNotFoundError, OrdersError, StoreUnavailableError
from orders.giveback import GiveBacks
from orders.model import NOT_GIVEN_BACK
from orders.records import Record, batch_response
from orders.store import GIVE_BACK_PARTITION, ORDER_SK

logger = Logger()
metrics = Metrics()


def due_reference(record: Record) -> str | None:
    """The order a stream record names when its new image has a give-back due; ``None`` for anything else."""
    change = record.get("dynamodb") or {}
    if record.get("eventName") not in ("INSERT", "MODIFY") or change.get("Keys", {}).get("sk", {}).get("S") != ORDER_SK:
        return None
    image = change.get("NewImage") or {}
    if image.get("giveback_due", {}).get("S") != GIVE_BACK_PARTITION:
        return None
    return str(image["reference"]["S"])


def create_handler(deps: Dependencies) -> Handler:
    """The give-back stream consumer's handler on ``deps``."""

    def give_back(reference: str) -> bool:
        """Give back the order's second payments still due; not done only when the table failed (the record and
        every later one are handed over again)."""
        try:
            givebacks = GiveBacks(deps.store, deps.terminals, deps.bank_client)
            outcomes = givebacks.give_back(reference, deps.clock(), GIVE_BACK)
        except StoreUnavailableError:
            logger.exception("give-back not done: the table failed", extra={"reference": reference})
            return False
        except OrderNotFoundError:
            return True
        except OrdersError as exc:  # the bank unavailable, another process on it: the sweeper's run retries it
            logger.warning("give-back left to the sweeper", extra={"reference": reference, "error": str(exc)})
            metrics.add_metric(name="GiveBacksDeferred", unit=MetricUnit.Count, value=1)
            return True
        logger.info("second payments given back", extra={"reference": reference, "outcomes": outcomes})
        metrics.add_metric(name="GiveBacks", unit=MetricUnit.Count, value=len(outcomes))
        refused = sum(1 for outcome in outcomes.values() if outcome.startswith(NOT_GIVEN_BACK))
        if refused:  # the bank would not take it back: the order's review says what to do
            metrics.add_metric(name="OrdersNeedingReview", unit=MetricUnit.Count, value=refused)
        return True

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        done: set[str] = set()  # an order named by several records of the batch is given back once

        def handle(record: Record) -> bool:
            reference = due_reference(record)
            if reference is None or reference in done:
                return True
            done.add(reference)
            return give_back(reference)

        return batch_response(event, handle, logger, ordered=True)

    return handler


lambda_handler = environment_handler(create_handler)
