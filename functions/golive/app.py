"""The console's go-live check: ``GET /terminals/{tpe}/golive`` answers every point, each with what to do.

The CGI2 URL checked is this API's own ``/confirmation`` (the one to register with the bank).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import OrdersError, UnknownTerminalError
from orders.golive import golive
from orders.web.errors import answer
from orders.web.http import api_base_url, error_response, json_response

logger = Logger()


def create_handler(deps: Dependencies) -> Handler:
    """The go-live check's handler on ``deps``."""

    @logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        tpe = str((event.get("pathParameters") or {}).get("tpe", ""))
        try:
            terminal = deps.terminals().get(tpe)
            checks = golive(
                terminal,
                cgi2_url=f"{api_base_url(event)}/confirmation",
                store=deps.store,
                now=deps.clock(),
                alarm_topic_arn=deps.alarm_topic_arn,
            )
        except UnknownTerminalError as exc:  # the path names it: not found, rather than a terminal gone missing
            return error_response(404, str(exc), "tpe")
        except OrdersError as exc:  # the secret or the table cannot be read: said as JSON, logged, never a crash
            return answer(exc, logger)
        ready = all(check.ok for check in checks)
        logger.info("go-live checked", extra={"tpe": tpe, "ready": ready})
        return json_response(200, {"tpe": tpe, "ready": ready, "checks": [check.as_json() for check in checks]})

    return handler


lambda_handler = environment_handler(create_handler)
