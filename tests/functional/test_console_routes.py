"""Every route of the console, enumerated: none answers a signed-out browser with anything but the sign-in page
(or, for a form, a refusal with nothing done), no operator's route takes a viewer, and no form is taken without the
session's CSRF token. New pages are covered as soon as they are in ``console.views.ROUTES``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from console.routing import Route
from console.views import ROUTES
from tests.support.console import Browser, console_at, event

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PUBLIC = {"/console/static/console.css"}  # what a signed-out browser may read: the stylesheet, the sign-in pages


def _path(route: Route) -> str:
    return re.sub(r"\{\w+\}", "20261201AB12", route.path)


def _is_public(route: Route) -> bool:
    return route.role is None


def test_only_the_sign_in_pages_and_the_stylesheet_are_public() -> None:
    public = {route.path for route in ROUTES if _is_public(route)}
    assert public - PUBLIC <= {p for p in public if p.startswith(("/console/sign-in", "/console/sign-out"))}


@pytest.fixture
def console(aws: Any, lambda_context: Any) -> Any:
    return console_at(aws, lambda_context, NOW)


@pytest.mark.parametrize("route", [r for r in ROUTES if not _is_public(r)], ids=lambda r: f"{r.method} {r.path}")
def test_a_signed_out_browser_reaches_no_page_and_changes_nothing(aws: Any, console: Any, route: Route) -> None:
    writes = len(aws.writes)
    answer = console(event(route.method, _path(route), form={} if route.method == "POST" else None))
    if route.method == "GET":
        assert answer["statusCode"] == 303
        assert "/console/sign-in" in answer["headers"]["Location"]
    else:
        assert answer["statusCode"] in (401, 403)
    assert len(aws.writes) == writes, "nothing written for a signed-out browser"


@pytest.mark.parametrize("route", [r for r in ROUTES if r.role == "operator"], ids=lambda r: f"{r.method} {r.path}")
def test_a_viewer_cannot_act_the_route_refuses_it(aws: Any, console: Any, route: Route) -> None:
    viewer = Browser(aws.store, "viewer", NOW)
    writes = len(aws.writes)
    sent = viewer.post(_path(route), {"amount": "1.00"}) if route.method == "POST" else viewer.get(_path(route))
    answer = console(sent)
    assert answer["statusCode"] == 403
    assert len(aws.writes) == writes


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.method == "POST" and not _is_public(r)], ids=lambda r: f"{r.method} {r.path}"
)
def test_no_form_is_taken_without_the_sessions_csrf_token(aws: Any, console: Any, route: Route) -> None:
    operator = Browser(aws.store, "operator", NOW)
    writes = len(aws.writes)
    for sent in (
        operator.post(_path(route), {"amount": "1.00"}, csrf=False),
        operator.post(_path(route), {"amount": "1.00", "csrf": "x" * 43}, csrf=False),
    ):
        assert console(sent)["statusCode"] == 403
    cross_site = operator.post(_path(route), {"amount": "1.00"})
    cross_site["headers"]["Sec-Fetch-Site"] = "cross-site"  # the right token, from another site's page
    assert console(cross_site)["statusCode"] == 403
    assert len(aws.writes) == writes
