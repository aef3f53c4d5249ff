"""What the smoke test's tests share: the deployed API's checkout and CGI2 answered in process (their handlers on
the test's dependencies, through API Gateway's events), and CloudWatch's alarm calls answered as AWS answers them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from orders.checks import Http
from tests.support.aws import event, load_function

API = "https://abcdef1234.execute-api.eu-west-3.amazonaws.com/v1"
ALARM = "merchant-kit-SmokeTestAlarm-1A2B3C"
TOPIC = "arn:aws:sns:eu-west-3:123456789012:merchant-kit-AlarmTopic-1A2B3C"


def in_process_api(deps: Any, context: Any) -> Http:
    """``GET /checkout/{token}`` and ``POST /confirmation`` of ``API``, by the checkout's and CGI2's handlers built
    on ``deps``; anything else is a 404, as API Gateway answers a route it does not have."""
    handlers = {name: load_function(name).create_handler(deps) for name in ("checkout", "cgi2")}

    def http(method: str, url: str, body: bytes | None) -> tuple[int, str]:
        path = urlsplit(url).path.removeprefix(urlsplit(API).path)
        if method == "GET" and path.startswith("/checkout/"):
            request = event("checkout.json")
            token = path.removeprefix("/checkout/")
            request.update(path=path, pathParameters={"token": token})
            answer = handlers["checkout"](request, context)
        elif method == "POST" and path == "/confirmation":
            request = event("confirmation_accepted.json")
            request["body"] = base64.b64encode(body or b"").decode()
            answer = handlers["cgi2"](request, context)
        else:
            return 404, json.dumps({"message": "Missing Authentication Token"})
        text = answer["body"]
        return int(answer["statusCode"]), base64.b64decode(text).decode() if answer.get("isBase64Encoded") else text

    return http


def action_item(state: str, when: datetime, error: str = "") -> dict[str, Any]:
    """An ``Action`` item of an alarm's history as CloudWatch writes it for an SNS action (``HistorySummary``:
    "Successfully executed action <arn>" or "Failed to execute action <arn>"; ``HistoryData``'s ``actionState``
    ``Succeeded`` or ``Failed``, with an ``error``)."""
    summary = ("Successfully executed action " if state == "Succeeded" else "Failed to execute action ") + TOPIC
    data: dict[str, Any] = {"actionState": state, "notificationResource": TOPIC, "stateUpdateTimestamp": 0}
    if error:
        data["error"] = error
    return {
        "AlarmName": ALARM,
        "AlarmType": "MetricAlarm",
        "Timestamp": when,
        "HistoryItemType": "Action",
        "HistorySummary": summary,
        "HistoryData": json.dumps(data),
    }


class FakeCloudWatch:
    """The two calls the smoke test makes, recorded; the alarm's action recorded as ``action`` says (``None``:
    CloudWatch records nothing)."""

    def __init__(self, action: Callable[[], dict[str, Any] | None]) -> None:
        self.action = action
        self.states: list[str] = []

    def set_alarm_state(self, *, AlarmName: str, StateValue: str, StateReason: str) -> dict[str, Any]:
        assert AlarmName == ALARM
        self.states.append(StateValue)
        return {}

    def describe_alarm_history(self, **parameters: Any) -> dict[str, Any]:
        assert parameters["AlarmName"] == ALARM
        assert parameters["HistoryItemType"] == "Action"
        item = self.action()
        return {"AlarmHistoryItems": [item] if item is not None else []}
