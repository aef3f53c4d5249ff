"""The console as a browser meets it in the kit's tests: API Gateway's events for its pages, and signed-in users."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from console.sessions import COOKIE, Sessions
from orders.store import OrderStore

STAGE = "/Prod"


def event(
    method: str,
    path: str,
    *,
    cookies: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The REST API's proxy event for ``method path`` (from /console on) sent by a browser on the stage URL."""
    sent = {"Host": "abc123.execute-api.eu-west-3.amazonaws.com", "Accept-Language": "en"}
    if cookies:
        sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    body = None
    if form is not None:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form)
    sent.update(headers or {})
    return {
        "resource": "/console/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": sent,
        "multiValueHeaders": {name: [value] for name, value in sent.items()},
        "queryStringParameters": query or None,
        "pathParameters": {"proxy": path.removeprefix("/console/")},
        "requestContext": {
            "path": STAGE + path,
            "stage": "Prod",
            "domainName": sent["Host"],
            "identity": {"sourceIp": "203.0.113.9"},
            "requestId": "console-test",
        },
        "body": body,
        "isBase64Encoded": False,
    }


class Browser:
    """A signed-in user's cookie and CSRF token, as a browser holds them after signing in."""

    def __init__(self, store: OrderStore, role: str, now: datetime, email: str | None = None) -> None:
        self.email = email or f"{role}@shop.example"
        self.cookie, session = Sessions(store).open(self.email, role, now)
        self.csrf = session.csrf

    def get(self, path: str, **query: str) -> dict[str, Any]:
        return event("GET", path, cookies={COOKIE: self.cookie}, query=query or None)

    def post(self, path: str, form: dict[str, str] | None = None, *, csrf: bool = True) -> dict[str, Any]:
        fields = {"csrf": self.csrf} if csrf else {}
        fields.update(form or {})
        return event("POST", path, cookies={COOKIE: self.cookie}, form=fields)


def text(html: str) -> str:
    """A page's words, tags dropped and spaces collapsed: what a test reads."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
