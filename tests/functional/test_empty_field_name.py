"""A JSON field whose name is empty ("") is a 400 that still names where the fault is (found by schemathesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.merchant import BILLING, call, create_request


def test_an_order_with_an_empty_field_name_is_a_400_naming_the_body(aws: Any, lambda_context: Any) -> None:
    body = {"amount": "10.00", "email": "buyer@example.com", "billing": BILLING, "": "x"}
    response = aws.invoke("cgi1", create_request(body), lambda_context)
    assert response["statusCode"] == 400
    error = json.loads(response["body"])["error"]
    assert error["field"] == "body"
    assert 'empty name ("")' in error["message"]
    assert aws.writes == []


@pytest.mark.parametrize("operation", ["capture", "cancel", "refund"])
def test_an_operation_with_an_empty_field_name_is_a_400_naming_the_body(
    aws: Any, lambda_context: Any, operation: str
) -> None:
    status, answer = call(aws, lambda_context, "POST", f"/orders/{{reference}}/{operation}", "NOPE000001", body={"": 1})
    assert status == 400
    assert answer["error"]["field"] == "body"
