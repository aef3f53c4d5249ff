"""Confirmations CGI2 could not store are replayed from its log lines, once."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orders import replay
from orders.model import OrderStatus
from orders.terminals import Terminals
from tests.functional.test_cgi2 import SAMPLE, cgi2, stored_order
from tests.support.aws import event, terminals_config


def logged_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The 'NOT stored' records as CloudWatch shows Powertools' JSON lines."""
    return [
        json.dumps({"message": r.getMessage(), "verified": r.verified, "fields": r.fields})  # type: ignore[attr-defined]
        for r in caplog.records
        if r.getMessage() == replay.NOT_STORED
    ]


def test_a_confirmation_logged_while_the_table_failed_is_replayed_once(
    aws: Any, lambda_context: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stored_order(aws, SAMPLE)

    def fail(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "UpdateItem")

    aws.dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", fail)
    assert cgi2.lambda_handler(event("confirmation_accepted.json"), lambda_context)["statusCode"] == 503
    aws.dynamodb.meta.events.unregister("before-call.dynamodb.UpdateItem", fail)
    lines = logged_lines(caplog)
    assert len(lines) == 1
    assert "1228" not in lines[0]  # the log line holds no card data

    terminals = Terminals.from_mapping(terminals_config())
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    outcomes = replay.replay(["not json", "", *lines], terminals, aws.store, now)
    assert outcomes == ["line 1: not JSON, skipped", f"{SAMPLE}: stored, accepted"]
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert replay.replay(lines, terminals, aws.store, now) == [f"{SAMPLE}: stored, replay: nothing changed"]
    assert aws.store.get(SAMPLE) == order


def test_unverified_lines_need_the_merchant_to_say_so(aws: Any) -> None:
    stored_order(aws, SAMPLE)
    fields = dict(json.loads(json.dumps({"TPE": "0900157", "reference": SAMPLE})))
    line = json.dumps({"message": replay.NOT_STORED, "verified": False, "fields": fields})
    terminals = Terminals.from_mapping(terminals_config())
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert "seal not checked" in replay.replay([line], terminals, aws.store, now)[0]
    assert aws.store.get(SAMPLE).status is OrderStatus.AWAITING_PAYMENT


def test_the_command_line(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay.main([], io.StringIO("")) == 0
    assert capsys.readouterr().out == ""
