"""The console's go-live check: ``GET /terminals/{tpe}/golive`` answers every point, each with what to do.

The CGI2 URL checked is this API's own ``/confirmation`` (the one to register with the bank).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import config
from orders.exceptions import UnknownTerminalError
from orders.golive import golive
from orders.http import api_base_url, error_response, json_response

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    tpe = str((event.get("pathParameters") or {}).get("tpe", ""))
    try:
        terminal = config.load_terminals().get(tpe)
    except UnknownTerminalError as exc:
        return error_response(404, str(exc), "tpe")
    checks = golive(
        terminal,
        cgi2_url=f"{api_base_url(event)}/confirmation",
        store=config.order_store(),
        now=datetime.now(UTC),
        alarm_topic_arn=os.environ.get("ALARM_TOPIC_ARN", ""),
    )
    ready = all(check.ok for check in checks)
    logger.info("go-live checked", extra={"tpe": tpe, "ready": ready})
    return json_response(200, {"tpe": tpe, "ready": ready, "checks": [check.as_json() for check in checks]})
