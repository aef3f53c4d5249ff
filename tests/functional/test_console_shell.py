"""The console's shell: who may reach a page, which forms are taken, and what every answer carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from console.http import CONTENT_SECURITY_POLICY
from console.sessions import COOKIE, IDLE
from tests.support.console import Browser, console_at, event

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def console(aws: Any, lambda_context: Any) -> Any:
    return console_at(aws, lambda_context, NOW)


def test_a_signed_out_browser_is_sent_to_the_sign_in_page(console: Any) -> None:
    answer = console(event("GET", "/console"))
    assert answer["statusCode"] == 303
    assert answer["headers"]["Location"] == "/Prod/console/sign-in?next=%2Fconsole"


def test_a_signed_in_viewer_reaches_the_orders(aws: Any, console: Any) -> None:
    browser = Browser(aws.store, "viewer", NOW)
    answer = console(browser.get("/console"))
    assert answer["statusCode"] == 303
    assert answer["headers"]["Location"] == "/Prod/console/orders"


def test_a_session_past_its_idle_time_is_signed_out(aws: Any, lambda_context: Any) -> None:
    browser = Browser(aws.store, "operator", NOW)
    aws.use(clock=lambda: NOW + IDLE)
    answer = aws.invoke("console", browser.get("/console"), lambda_context)
    assert answer["headers"]["Location"].startswith("/Prod/console/sign-in")


def test_every_answer_carries_the_strict_policy(console: Any) -> None:
    answer = console(event("GET", "/console/static/console.css"))
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY


def test_an_unknown_page_is_404_and_a_cookie_that_names_no_session_signs_nobody_in(console: Any) -> None:
    assert console(event("GET", "/console/nothing-here"))["statusCode"] == 404
    answer = console(event("GET", "/console", cookies={COOKIE: "made-up"}))
    assert answer["headers"]["Location"].startswith("/Prod/console/sign-in")
