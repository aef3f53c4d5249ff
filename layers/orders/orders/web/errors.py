"""The API's answer to an error of the orders layer: its status, its message and field, from the error itself.

    except API_ERRORS as exc:
        return answer(exc, logger, metrics)

What an error logs and counts (the bank unavailable, its state differed, the store down...) is declared on the
error class (``orders.exceptions``), so no handler keeps a ladder of ``except`` clauses to say it again. The two
errors of ``sealing`` an API answers are read here: a ``FieldError`` is the caller's (400, its field), a
``ConfigurationError`` the merchant's settings (500, logged, never repeated to the caller).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sealing import ConfigurationError, FieldError

from ..exceptions import OrdersError
from .http import error_response

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

ApiError = OrdersError | FieldError | ConfigurationError
API_ERRORS = (OrdersError, FieldError, ConfigurationError)
CONFIGURATION_LOG = "the terminal configuration is unusable"
CONFIGURATION_ANSWER = f"{CONFIGURATION_LOG}; see the function's log"
# Per handler: what to say instead of an error's own answer, by its class (the back-office's store failure).
Messages = Mapping[type[OrdersError], str]


def described(exc: ApiError, messages: Messages | None = None) -> tuple[int, str, str | None]:
    """The HTTP status, the message and the field (if any) an API answers ``exc`` with."""
    if isinstance(exc, ConfigurationError):  # which setting is the log's to say, not the caller's
        return 500, CONFIGURATION_ANSWER, None
    if not isinstance(exc, OrdersError):  # a value the protocol refuses (a reference, an amount): the caller's
        return 400, str(exc), exc.field
    for kind, message in (messages or {}).items():
        if isinstance(exc, kind):
            return exc.status, message, exc.field
    return exc.status, exc.answer(), exc.field


def report(exc: ApiError, logger: Logger, metrics: Metrics | None = None) -> None:
    """Log and count ``exc`` as its class says (nothing for a caller's mistake)."""
    if isinstance(exc, ConfigurationError):
        logger.error(CONFIGURATION_LOG, extra={"detail": str(exc)})
        return
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
