"""The buyer's checkout page under moto, served by its own read-only function (functions/checkout)."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.support.aws import event

BILLING = {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"}


def _order(aws: Any, lambda_context: Any, **fields: Any) -> dict[str, Any]:
    created = event("create_order.json")
    body = {"amount": "62.73", "email": "buyer@example.com", "billing": BILLING, **fields}
    created["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    response = aws.invoke("cgi1", created, lambda_context)
    assert response["statusCode"] == 201, response
    return dict(json.loads(response["body"]))


def _checkout(aws: Any, token: str, lambda_context: Any) -> dict[str, Any]:
    request = event("checkout.json")
    request["pathParameters"] = {"token": token}
    return dict(aws.invoke("checkout", request, lambda_context))


def test_the_page_holds_the_orders_sealed_form_and_nothing_is_written(aws: Any, lambda_context: Any) -> None:
    order = _order(aws, lambda_context, language="EN")
    aws.writes.clear()
    response = _checkout(aws, order["checkout_url"].rsplit("/", 1)[-1], lambda_context)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert order["form"]["action"] in response["body"]
    assert order["form"]["fields"]["MAC"] in response["body"]
    assert "Pay by card" in response["body"]
    assert aws.writes == [], "the public checkout only reads"


def test_a_wrong_token_is_the_404_page(aws: Any, lambda_context: Any) -> None:
    token = _order(aws, lambda_context)["checkout_url"].rsplit("/", 1)[-1]
    response = _checkout(aws, token[:-1] + ("A" if token[-1] != "A" else "B"), lambda_context)
    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"].startswith("text/html")


def test_other_routes_are_not_served(aws: Any, lambda_context: Any) -> None:
    request = event("create_order.json")
    assert aws.invoke("checkout", request, lambda_context)["statusCode"] == 404
