"""The sandbox deployed with ``chalice deploy``: API Gateway's default endpoint serves it under its stage
(``/api/test/paiement.cgi``, ``/api/test/gestion/``) while the app's routes are ``/test/...``; a custom
domain's base path mapping does the same with its own prefix. Links, redirects, form actions and the
dashboard cookie's ``Path`` carry the prefix. The app is called with the events API Gateway would send."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.app import Request
from chalice.local import RouteMatcher

from chalicelib.mount import mount_prefix
from chalicelib.web import create_app
from simulator.tests.support.sandbox import Sandbox, card, session_of


class Gateway:
    """API Gateway in front of the app, mounted under ``mount`` (``/api`` for the stage ``api``)."""

    def __init__(self, sandbox: Sandbox, mount: str, stage: str) -> None:
        self.app = create_app(sandbox.bank)
        self.matcher = RouteMatcher(list(self.app.routes))
        self.mount = mount
        self.stage = stage
        self.cookie = ""

    def event(self, method: str, path: str, body: bytes | None, query: str) -> dict[str, Any]:
        route = self.matcher.match_route(f"{path}?{query}" if query else path)
        headers = {"host": "abc123.execute-api.eu-west-3.amazonaws.com", "x-forwarded-proto": "https"}
        if self.cookie:
            headers["cookie"] = self.cookie
        if body is not None:
            headers["content-type"] = "application/x-www-form-urlencoded"
        return {
            "resource": route.route,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueQueryStringParameters": route.query_params or None,
            "pathParameters": route.captured or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.route,
                "httpMethod": method,
                "path": f"{self.mount}{path}",
                "stage": self.stage,
                "identity": {"sourceIp": "198.51.100.7"},
            },
            "body": base64.b64encode(body).decode("ascii") if body is not None else None,
            "isBase64Encoded": body is not None,
        }

    def call(self, method: str, path: str, form: Any = None, query: str = "") -> tuple[int, dict[str, Any], str]:
        body = urlencode(form).encode() if form is not None else None
        answer = self.app(self.event(method, path, body, query), None)
        headers = {**answer["headers"], **answer.get("multiValueHeaders", {})}
        return answer["statusCode"], headers, answer["body"] or ""


def local_links(page: str) -> list[str]:
    """Every path the page points the browser to on this server."""
    return re.findall(r'(?:href|action)="(/[^"]*)"', page)


@pytest.mark.parametrize(("mount", "stage"), [("/api", "api"), ("/bank", "prod")])
def test_links_redirects_actions_and_the_cookie_carry_the_stage(sandbox: Sandbox, mount: str, stage: str) -> None:
    gateway = Gateway(sandbox, mount, stage)

    status, _, page = gateway.call("GET", "/")
    assert status == 200
    assert f'href="{mount}/test/gestion/"' in page

    status, _, page = gateway.call("POST", "/test/paiement.cgi", sandbox.request_fields("STAGE1"))
    assert status == 200, page
    assert f'action="{mount}/test/paiement.cgi"' in page
    assert f'href="{mount}/test/paiement.cgi?session=' in page
    status, _, page = gateway.call("POST", "/test/paiement.cgi", card(session_of(page), "4000000000000002"))
    assert "tentative 2 sur 4" in page
    assert f'action="{mount}/test/paiement.cgi"' in page
    status, headers, _ = gateway.call("GET", "/test/paiement.cgi", query=f"session={session_of(page)}&annuler=1")
    assert (status, headers["Location"]) == (303, "http://shop.example/err")  # the merchant's own URL

    status, _, page = gateway.call("GET", "/test/gestion")
    assert f'action="{mount}/test/gestion/connexion"' in page
    status, headers, _ = gateway.call("POST", "/test/gestion/connexion", {"tpe": "0900157", "password": "secret"})
    assert (status, headers["Location"]) == (303, f"{mount}/test/gestion/")
    cookie = headers["Set-Cookie"]
    assert f"; Path={mount}/test/gestion;" in cookie
    assert cookie.endswith("; Secure")  # API Gateway: HTTPS (X-Forwarded-Proto)
    gateway.cookie = cookie.split(";")[0]

    for path in ("/test/gestion", "/test/gestion/paiements", "/test/gestion/differes", "/test/gestion/commande/STAGE1"):
        status, _, page = gateway.call("GET", path)
        assert status == 200, path
        assert "Tableau de bord" in page  # logged in: the cookie came back
        links = local_links(page)
        assert links
        assert all(link.startswith(f"{mount}/test/gestion") for link in links), (path, links)
    status, headers, _ = gateway.call("GET", "/test/gestion/recherche", query="reference=STAGE1")
    assert (status, headers["Location"]) == (303, f"{mount}/test/gestion/commande/STAGE1")
    token = re.search(r'name="jeton" value="([^"]+)"', page)
    assert token
    status, headers, _ = gateway.call("POST", "/test/gestion/deconnexion", {"jeton": token.group(1)})
    assert (status, headers["Location"]) == (303, f"{mount}/test/gestion/")
    assert f"Path={mount}/test/gestion;" in headers["Set-Cookie"]


@pytest.mark.parametrize(
    ("path", "seen", "stage", "prefix"),
    [
        (None, "/test/gestion", None, ""),  # chalice's local server: the URL is the route
        ("/test/gestion", "/api/test/gestion", "api", "/api"),  # the default endpoint: the stage
        ("/test/gestion", "/test/gestion", "api", ""),  # a custom domain without a base path
        ("/test/gestion", "/shop/bank/test/gestion", "v1", "/shop/bank"),  # a base path mapping
        ("/test/a b", "/api/test/a%20b", "api", "/api"),  # not a suffix (encoding): the stage
        ("/test/gestion", '/"><script>/test/gestion', "api", ""),  # never anything unsafe in a link
    ],
)
def test_mount_prefix(path: str | None, seen: str, stage: str | None, prefix: str) -> None:
    event: dict[str, Any] = {
        "headers": {},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
        "requestContext": {"httpMethod": "GET", "resourcePath": "/test/gestion", "path": seen},
    }
    if path is not None:
        event["path"] = path
    if stage is not None:
        event["requestContext"]["stage"] = stage
    assert mount_prefix(Request(event)) == prefix
