"""The merchant's console (``/console``, pages for the shop's staff): orders, actions, books, terminals.

Its routes are public to API Gateway (no IAM signature from a browser): the console signs its users in itself
(``console.views.account``, Amazon Cognito) and ``console.routing`` checks the session, the role and the CSRF
token of every request before its view runs.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from console.exceptions import FormError
from console.http import Response, parse
from console.i18n import Translator
from console.routing import Router, context
from console.sessions import Sessions
from console.views import ROUTES
from orders.dependencies import Dependencies, Handler, environment_handler

logger = Logger()
metrics = Metrics()


def _plain(status: int, text: str) -> dict[str, Any]:
    return Response(status, text, "text/plain; charset=utf-8").as_event()


def create_handler(deps: Dependencies) -> Handler:
    """The console's handler on ``deps``."""
    router = Router(ROUTES)
    sessions = Sessions(deps.store)

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
        try:
            request = parse(event)
        except FormError as exc:
            return _plain(400, Translator("en")("error.form", field=exc.field, message=exc.message))
        try:
            ctx = context(deps, sessions, request, deps.clock())
            logger.append_keys(route=f"{request.method} {request.path}", user=ctx.session.email if ctx.session else "")
            return router.answer(ctx).as_event()
        except Exception:
            # No trace reaches the page; the log has it, the metric counts it (UnexpectedErrorsAlarm).
            logger.exception("console request failed")
            metrics.add_metric(name="UnexpectedErrors", unit=MetricUnit.Count, value=1)
            return _plain(500, Translator("en")("error.unexpected"))

    return handler


lambda_handler = environment_handler(create_handler)
