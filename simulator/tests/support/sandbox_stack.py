"""``make run``'s system in tests: a merchant order created through the API, its checkout form paid in the
sandbox bank, the order read back, and the sandbox's dashboard logged in."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import date
from typing import Any
from urllib.parse import urlencode

from local.sandbox import DEFAULT_PASSWORD
from simulator.tests.support.full_stack import FullStack
from simulator.tests.support.local_api import ORDER, Form
from simulator.tests.support.sandbox import Browser, NoRedirect


def call(
    url: str, body: bytes | None = None, content_type: str = "", opener: urllib.request.OpenerDirector | None = None
) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")  # noqa: S310
    if content_type:
        request.add_header("Content-Type", content_type)
    opener = opener or urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=15) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def create(system: FullStack, **extra: Any) -> dict[str, Any]:
    status, _, body = call(f"{system.api}/orders", json.dumps({**ORDER, **extra}).encode(), "application/json")
    assert status == 201, body
    return dict(json.loads(body))


FORM = "application/x-www-form-urlencoded"


def open_tab(
    order: dict[str, Any], opener: urllib.request.OpenerDirector | None = None
) -> tuple[dict[str, str], str, str]:
    """The merchant's checkout page (in a tab of its own), its form posted to the bank: the form's fields, the
    bank page's session and the bank's URL."""
    _, _, page = call(order["checkout_url"])
    form = Form()
    form.feed(page)
    status, _, page = call(form.action, urlencode(form.fields).encode(), FORM, opener)
    assert status == 200, page
    session = re.search(r'name="session" value="([^"]+)"', page)
    assert session
    return dict(form.fields), session[1], form.action


def card_attempt(
    action: str, session: str, number: str = "4111111111111111", opener: urllib.request.OpenerDirector | None = None
) -> str:
    """One card typed on the bank's page of ``session``: the page the bank answers."""
    year = str(date.today().year + 2)  # the real clock here: always a future expiry
    card = {"session": session, "card_number": number, "expiry_month": "12", "expiry_year": year, "cvv": "123"}
    status, _, page = call(action, urlencode(card).encode(), FORM, opener)
    assert status == 200, page
    return page


def checkout_and_pay(
    system: FullStack,
    order: dict[str, Any],
    number: str = "4111111111111111",
    opener: urllib.request.OpenerDirector | None = None,
) -> str:
    _, session, action = open_tab(order, opener)
    assert action == f"{system.sandbox.test_url}/paiement.cgi"
    return card_attempt(action, session, number, opener)


def merchant_order(system: FullStack, reference: str) -> dict[str, Any]:
    status, _, body = call(f"{system.api}/orders/{reference}")
    assert status == 200, body
    return dict(json.loads(body))


def dashboard(system: FullStack, tpe: str) -> Browser:
    browser = Browser(system.sandbox.base_url)
    status, _, _ = browser.login(tpe, DEFAULT_PASSWORD)
    assert status == 303
    return browser


def paid_order(system: FullStack, tpe: str) -> tuple[str, str]:
    """The merchant's reference of a paid order, and the reference the bank knows its payment by."""
    order = create(system, tpe=tpe)
    checkout_and_pay(system, order)
    return str(order["reference"]), str(merchant_order(system, order["reference"])["bank_reference"])
