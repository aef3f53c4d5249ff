"""The console's go-live check and smoke test, on one terminal.

``GET /terminals/{tpe}/golive`` answers every go-live point, each with what to do; the CGI2 URL checked is this
API's own ``/confirmation`` (the one to register with the bank). ``POST /terminals/{tpe}/smoke`` runs the smoke test
(``orders.smoke``) against this API and answers each step, what failed and how to fix it; ``passed`` is false when
one failed.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.checks import Check, Http, http_call
from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import ConfigurationError, OrdersError, UnknownTerminalError
from orders.golive import golive
from orders.smoke import Smoke
from orders.terminals import TerminalConfig
from orders.web.errors import answer
from orders.web.http import api_base_url, error_response, json_response

logger = Logger()
SMOKE_ROUTE = "/terminals/{tpe}/smoke"
SMOKE_ALARM_WAIT_SECONDS = 10.0  # the steps and this wait fit API Gateway's 29 s


def create_handler(deps: Dependencies, *, http: Http = http_call, cloudwatch: Any = None) -> Handler:
    """The go-live check's and the smoke test's handler on ``deps`` (``http`` and ``cloudwatch``: what the smoke
    test reaches the stack with)."""

    def checks_of(event: dict[str, Any], terminal: TerminalConfig) -> tuple[str, list[Check]]:
        if event.get("resource") == SMOKE_ROUTE:
            smoke = Smoke(
                terminal,
                deps.store,
                api_base_url(event),
                cloudwatch or boto3.client("cloudwatch"),
                deps.smoke_alarm_name,
                clock=deps.clock,
                http=http,
                alarm_wait_seconds=SMOKE_ALARM_WAIT_SECONDS,
            )
            return "passed", smoke.run()
        checks = golive(
            terminal,
            cgi2_url=f"{api_base_url(event)}/confirmation",
            store=deps.store,
            now=deps.clock(),
            alarm_topic_arn=deps.alarm_topic_arn,
            mail=deps.mail_settings().get(terminal.tpe),
        )
        return "ready", checks

    @logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        tpe = str((event.get("pathParameters") or {}).get("tpe", ""))
        try:
            verdict, checks = checks_of(event, deps.terminals().get(tpe))
        except UnknownTerminalError as exc:  # the path names it: not found, rather than a terminal gone missing
            return error_response(404, str(exc), "tpe")
        except (OrdersError, ConfigurationError) as exc:  # the secret or the table unreadable: JSON, logged
            return answer(exc, logger)
        passed = all(check.ok for check in checks)
        failed = [check.name for check in checks if not check.ok]
        logger.info(f"{verdict} checked", extra={"tpe": tpe, verdict: passed, "failed": failed})
        return json_response(200, {"tpe": tpe, verdict: passed, "checks": [check.as_json() for check in checks]})

    return handler


lambda_handler = environment_handler(create_handler)
