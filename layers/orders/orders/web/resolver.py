"""Powertools' REST API resolver, set up as every merchant API of the kit answers: the error body
``{"error": {"message", "field"}}`` for the orders layer's errors and for an unknown route (404), and the
responses single-valued (API Gateway takes either form; the kit never repeats a header).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from . import errors
from .http import error_response

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics


class ThreadSafeResolver(APIGatewayRestResolver):
    """Powertools' resolver with the request it is answering kept per thread.

    Powertools keeps the current event on a class attribute, shared by every resolver of the process: right for
    Lambda, which runs one invocation at a time, wrong for the local stack and the tests, which run invocations
    in threads (two requests would read each other's path). Here what the routes and the resolver read is this
    thread's, and a route's first request (when Powertools builds its middleware) runs alone.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._first = threading.Lock()
        self._answered: set[tuple[str, str]] = set()  # the routes (method, resource) past their first request
        super().__init__()

    @property  # type: ignore[override]
    def current_event(self) -> APIGatewayProxyEvent:
        event: APIGatewayProxyEvent = self._local.event
        return event

    @current_event.setter
    def current_event(self, value: APIGatewayProxyEvent) -> None:
        self._local.event = value

    @property
    def context(self) -> dict[str, Any]:
        if not hasattr(self._local, "context"):
            self._local.context = {}
        context: dict[str, Any] = self._local.context
        return context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._local.context = value

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        # Routed on the resource API Gateway matched (``/orders/{reference}``), as the handlers always were, not on
        # the path: behind a custom domain's base path mapping the path starts with that base path (every route
        # would be a 404), and a reference may hold what a route's pattern refuses ('#', '/', '"'); the routes read
        # the reference API Gateway decoded (``pathParameters``).
        routed = {**event, "path": event.get("resource") or event.get("path")}
        self._local.event = APIGatewayProxyEvent(routed)
        route = (str(routed.get("httpMethod")), str(routed.get("path")))
        if route in self._answered:
            return super().resolve(routed, context)
        # Powertools builds a route's middleware on its first call, unguarded: two first calls at once wrap it
        # twice, and the route then fails every request (TypeError). A route's first request runs alone.
        with self._first:
            try:
                return super().resolve(routed, context)
            finally:
                self._answered.add(route)


def response(answer: dict[str, Any]) -> Response[str]:
    """One of ``orders.web.http``'s API Gateway responses, as the resolver takes them."""
    return Response(status_code=answer["statusCode"], body=answer["body"], headers=dict(answer["headers"]))


def resolver(
    logger: Logger, metrics: Metrics | None = None, messages: errors.Messages | None = None
) -> ThreadSafeResolver:
    """A resolver whose routes may raise any error of the orders layer (or ``sealing``'s ``FieldError`` and
    ``ConfigurationError``)."""
    app = ThreadSafeResolver()

    @app.not_found
    def no_such_route(_: NotFoundError) -> Response[str]:
        return response(error_response(404, "no such route"))

    @app.exception_handler(list(errors.API_ERRORS))  # type: ignore[untyped-decorator]
    def failed(exc: errors.ApiError) -> Response[str]:
        return response(errors.answer(exc, logger, metrics, messages))

    return app


def resolve(app: ThreadSafeResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``app``'s answer to ``event``, with single-valued headers."""
    if not isinstance(event.get("httpMethod"), str) or not isinstance(event.get("resource") or event.get("path"), str):
        # Not an API Gateway request (a direct invoke, a test event): no route, rather than a crash.
        return error_response(404, "no such route")
    answer = app.resolve(event, context)
    # A REST API takes either form; ours never repeats a header, so the single-valued one says the same.
    multi = answer.pop("multiValueHeaders", None) or {}
    answer["headers"] = {name: values[-1] for name, values in multi.items() if values}
    return answer


def api_handler(
    app: ThreadSafeResolver, logger: Logger, metrics: Metrics
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler answering with ``app``: the logger's context and the metrics flushed per invocation."""

    @logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return resolve(app, event, context)

    return handler
