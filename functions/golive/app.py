"""The console's go-live check and smoke test, on one terminal.

``GET /terminals/{tpe}/golive`` answers every go-live point, each with what to do; the CGI2 URL checked is this
API's own ``/confirmation`` (the one to register with the bank). ``POST /terminals/{tpe}/smoke`` runs the smoke test
(``orders.smoke``) against this API and answers each step, what failed and how to fix it; ``passed`` is false when
one failed. Each run is kept as the terminal's last of its kind in the reports bucket (``orders.checks``), which the
merchant's console shows on its terminals page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response

from orders.checks import Check, CheckRun, Http, http_call
from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import UnknownTerminalError
from orders.golive import golive, keep_last
from orders.smoke import Smoke
from orders.terminals import TerminalConfig
from orders.web.http import api_base_url, error_response, json_response
from orders.web.resolver import api_handler, resolver, response

logger = Logger()
metrics = Metrics()
SMOKE_ALARM_WAIT_SECONDS = 10.0  # the steps and this wait fit API Gateway's 29 s


def create_handler(deps: Dependencies, *, http: Http = http_call, cloudwatch: Any = None) -> Handler:
    """The go-live check's and the smoke test's handler on ``deps`` (``http`` and ``cloudwatch``: what the smoke
    test reaches the stack with)."""

    def smoke_checks(event: dict[str, Any], terminal: TerminalConfig) -> list[Check]:
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
        return smoke.run()

    def golive_checks(event: dict[str, Any], terminal: TerminalConfig) -> list[Check]:
        return golive(
            terminal,
            cgi2_url=f"{api_base_url(event)}/confirmation",
            store=deps.store,
            now=deps.clock(),
            alarm_topic_arn=deps.alarm_topic_arn,
            mail=deps.mail_settings().get(terminal.tpe),
        )

    def answered(
        verdict: str, kind: str, run: Callable[[dict[str, Any], TerminalConfig], list[Check]]
    ) -> Response[str]:
        event = app.current_event.raw_event
        tpe = str((event.get("pathParameters") or {}).get("tpe", ""))  # as API Gateway decoded it
        try:
            terminal = deps.terminals().get(tpe)
        except UnknownTerminalError as exc:  # the path names it: not found, rather than a terminal gone missing
            return response(error_response(404, str(exc), "tpe"))
        checks = run(event, terminal)
        passed = all(check.ok for check in checks)
        failed = [check.name for check in checks if not check.ok]
        ran = CheckRun(
            tpe, kind, deps.clock(), f"{event.get('httpMethod', '')} {event.get('resource', '')}", tuple(checks)
        )
        kept = keep_last(deps.reports, ran)
        logger.info(f"{verdict} checked", extra={"tpe": tpe, verdict: passed, "failed": failed, "kept": kept})
        body = {"tpe": tpe, verdict: passed, "checks": [check.as_json() for check in checks]}
        return response(json_response(200, body))

    # The secret or the table unreadable: the resolver's JSON error, logged.
    app = resolver(logger, metrics)
    app.get("/terminals/<path_tpe>/golive")(lambda path_tpe: answered("ready", "golive", golive_checks))
    app.post("/terminals/<path_tpe>/smoke")(lambda path_tpe: answered("passed", "smoke", smoke_checks))
    return api_handler(app, logger, metrics)


lambda_handler = environment_handler(create_handler)
