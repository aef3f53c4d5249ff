"""The API's answer to an error of the orders layer: its status, its message and field, from the error itself.

    except (OrdersError, FieldError) as exc:
        return answer(exc, logger, metrics)

What an error logs and counts (the bank unavailable, its state differed, the store down...) is declared on the
error class (``orders.exceptions``), so no handler keeps a ladder of ``except`` clauses to say it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sealing import FieldError

from ..exceptions import OrdersError
from .http import error_response

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

ApiError = OrdersError | FieldError
# Per handler: what to say instead of an error's own answer, by its class (the back-office's store failure).
Messages = Mapping[type[OrdersError], str]


def described(exc: ApiError, messages: Messages | None = None) -> tuple[int, str, str | None]:
    """The HTTP status, the message and the field (if any) an API answers ``exc`` with."""
    if not isinstance(exc, OrdersError):  # a value the protocol refuses (a reference, an amount): the caller's
        return 400, str(exc), exc.field
    for kind, message in (messages or {}).items():
        if isinstance(exc, kind):
            return exc.status, message, exc.field
    return exc.status, exc.answer(), exc.field


def report(exc: ApiError, logger: Logger, metrics: Metrics | None = None) -> None:
    """Log and count ``exc`` as its class says (nothing for a caller's mistake)."""
    if not isinstance(exc, OrdersError) or exc.log is None:
        return
    extra: dict[str, Any] = {"detail": str(exc)}
    getattr(logger, exc.log_level)(exc.log, extra=extra)
    if exc.metric and metrics is not None:
        from aws_lambda_powertools.metrics import MetricUnit

        metrics.add_metric(name=exc.metric, unit=MetricUnit.Count, value=1)


def answer(
    exc: ApiError, logger: Logger, metrics: Metrics | None = None, messages: Messages | None = None
) -> dict[str, Any]:
    """``exc`` reported, and the API Gateway response that answers it (``{"error": {"message", "field"}}``)."""
    report(exc, logger, metrics)
    return error_response(*described(exc, messages))
