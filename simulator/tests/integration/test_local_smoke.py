"""The local stack with the real CGI1/CGI2 handlers, in process: order → checkout page → order → confirmation."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from local import LocalConfig, LocalStack

ORDER = {
    "amount": "62.73",
    "currency": "EUR",
    "email": "buyer@example.com",
    "billing": {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"},
}


def _call(method: str, url: str, body: bytes | None = None, content_type: str = "") -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - 127.0.0.1 only
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Each local stack builds its functions' dependencies (clients bound to its own moto): nothing to forget.
    with LocalStack(LocalConfig(port=0, quiet=True, schedule_interval_seconds=None)) as stack:
        yield stack


@pytest.fixture(scope="module")
def order(stack: LocalStack) -> dict[str, Any]:
    status, _, body = _call("POST", f"{stack.base_url}/orders", json.dumps(ORDER).encode(), "application/json")
    assert status == 201, body
    return dict(json.loads(body))


def test_create_order(stack: LocalStack, order: dict[str, Any]) -> None:
    assert order["status"] == "awaiting_payment"
    assert order["checkout_url"].startswith(f"{stack.base_url}/checkout/")
    assert order["form"]["fields"]["TPE"] == "0900157"
    assert order["form"]["fields"]["url_retour_ok"] == f"{stack.base_url}/_local/return/ok"


def test_checkout_page(order: dict[str, Any]) -> None:
    status, headers, page = _call("GET", order["checkout_url"])
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "Paiement par carte bancaire" in page
    assert order["form"]["fields"]["MAC"] in page


def test_read_order(stack: LocalStack, order: dict[str, Any]) -> None:
    status, _, body = _call("GET", f"{stack.base_url}/orders/{order['reference']}")
    assert status == 200
    assert json.loads(body)["status"] == "awaiting_payment"


def test_tampered_confirmation_is_refused(stack: LocalStack, order: dict[str, Any]) -> None:
    form = f"TPE=0900157&reference={order['reference']}&montant=62.73EUR&code-retour=paiement&MAC={'0' * 40}"
    status, headers, body = _call(
        "POST", f"{stack.base_url}/confirmation", form.encode(), "application/x-www-form-urlencoded"
    )
    assert (status, body) == (200, "version=2\ncdr=1\n")
    assert headers["Content-Type"].startswith("text/plain")
