"""Powertools' REST API resolver, set up as every merchant API of the kit answers: the error body
``{"error": {"message", "field"}}`` for the orders layer's errors, for an unknown route (404) and for any other
exception (500, its traceback in the log only), and the responses single-valued (API Gateway takes either form; the
kit never repeats a header).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from ..exceptions import ShopKeyScopeError
from ..keys import check_event_scope
from . import errors
from .http import error_response

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

UNEXPECTED = "internal error; see the function's log"


def response(answer: dict[str, Any]) -> Response[str]:
    """One of ``orders.web.http``'s API Gateway responses, as the resolver takes them."""
    return Response(status_code=answer["statusCode"], body=answer["body"], headers=dict(answer["headers"]))


def resolver(
    logger: Logger, metrics: Metrics | None = None, messages: errors.Messages | None = None
) -> APIGatewayRestResolver:
    """A resolver whose routes may raise any error of the orders layer (or ``sealing``'s ``FieldError`` and
    ``ConfigurationError``)."""
    app = APIGatewayRestResolver()

    @app.not_found
    def no_such_route(_: NotFoundError) -> Response[str]:
        return response(error_response(404, "no such route"))

    @app.exception_handler(list(errors.API_ERRORS))  # type: ignore[untyped-decorator]
    def failed(exc: errors.ApiError) -> Response[str]:
        return response(errors.answer(exc, logger, metrics, messages))

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def crashed(_: Exception) -> Response[str]:
        # Not an error the kit knows: its traceback to the log only (never the body, whatever POWERTOOLS_DEV says),
        # and the API's 500 rather than Lambda failing, which API Gateway answers 502 (read as "the bank refused").
        logger.exception("unexpected error")
        if metrics is not None:
            metrics.add_metric(name="UnexpectedErrors", unit=MetricUnit.Count, value=1)
        return response(error_response(500, UNEXPECTED))

    return app


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``app``'s answer to ``event``, with single-valued headers."""
    if not isinstance(event.get("httpMethod"), str) or not isinstance(event.get("resource") or event.get("path"), str):
        # Not an API Gateway request (a direct invoke, a test event): no route, rather than a crash.
        return error_response(404, "no such route")
    # Routed on the resource API Gateway matched (``/orders/{reference}``), not on the path: behind a custom
    # domain's base path mapping the path starts with that base path (every route would be a 404), and a reference
    # may hold what a route's pattern refuses ('#', '/', '"'); the routes read the reference API Gateway decoded
    # (``pathParameters``).
    try:
        check_event_scope(event)  # a shop key's scope, as its authorizer answered it; SigV4: IAM decided
    except ShopKeyScopeError as exc:  # the caller's: nothing to log
        return error_response(*errors.described(exc))
    answer = app.resolve({**event, "path": event.get("resource") or event.get("path")}, context)
    # A REST API takes either form; ours never repeats a header, so the single-valued one says the same.
    multi = answer.pop("multiValueHeaders", None) or {}
    answer["headers"] = {name: values[-1] for name, values in multi.items() if values}
    return answer


def api_handler(
    app: APIGatewayRestResolver, logger: Logger, metrics: Metrics
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler answering with ``app``: the logger's context and the metrics flushed per invocation."""

    @logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return resolve(app, event, context)

    return handler
