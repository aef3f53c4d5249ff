"""The merchant's console on the local stack: its Cognito user pool in moto, made from template.yaml's resources
(a test stack's: MFA optional), two test users with known passwords, and a link that opens the console signed in.

The link (``/_local/console-sign-in?as=operator``, the banner prints it) exists on the local stack alone: it
signs in through the console's own sign-in form (its GET, then its POST to the console function, as a browser
does) and hands the browser the console's answer: its session cookie and its redirect. The kit never has such a
route.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3

from devhttp import HttpRequest, HttpResponse, Match
from stacktools.cognito import POOL, UserPoolRequests, create_user_pool, user_pool_requests
from stacktools.template import Template

SIGN_IN_ROUTE = "/_local/console-sign-in"
# The test users, CONFIRMED with these passwords (the pool's policy takes them), no MFA.
TEST_USERS = {
    "operator": ("operator@example.test", "Local-Operator-Pass-1!"),
    "viewer": ("viewer@example.test", "Local-Viewer-Pass-1!"),
}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class ConsoleUsers:
    pool_id: str
    client_id: str
    arn: str
    groups: dict[str, str]  # logical id -> group name


def create_console_users(template: Template, parameters: dict[str, Any], region: str) -> ConsoleUsers | None:
    """The console's pool, client, groups and test users in moto; ``None`` for a template without them."""
    if POOL not in template.resources:
        return None
    idp = boto3.client("cognito-idp", region_name=region)
    requests: UserPoolRequests = user_pool_requests(template, parameters)
    pool_id, client_id = create_user_pool(idp, requests)
    for role, (email, password) in TEST_USERS.items():
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=role)
    arn = str(idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"])
    groups = {
        logical_id: str(resource["Properties"]["GroupName"])
        for logical_id, resource in template.resources_of_type("AWS::Cognito::UserPoolGroup").items()
    }
    return ConsoleUsers(pool_id, client_id, arn, groups)


def _exchange(
    base_url: str, method: str, path: str, cookies: dict[str, str], form: dict[str, str] | None = None
) -> tuple[int, list[tuple[str, str]], str]:
    """One request to the local stack's own server, no redirect followed."""
    where = urlsplit(base_url)
    connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=30)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "Accept-Language": "en"}
    body = None
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form)
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.getheaders(), answer.read().decode("utf-8", "replace")
    finally:
        connection.close()


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    jar = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            jar[key] = rest.split(";", 1)[0]
    return jar


def sign_in_route(base_url: Any) -> Any:
    """``GET /_local/console-sign-in?as=operator|viewer``: the console's sign-in form filled in and posted for the
    test user, its answer (the session cookie, the redirect to the console) relayed to the browser.
    ``base_url``: what gives the stack's URL (known once its server is started)."""

    def handle(request: HttpRequest, match: Match[Any]) -> HttpResponse:
        role = (parse_qs(request.query).get("as") or ["operator"])[-1]
        if role not in TEST_USERS:
            message = f"as: {role!r} is neither operator nor viewer"
            return HttpResponse.json(400, {"error": {"message": message, "field": "as"}})
        email, password = TEST_USERS[role]
        status, headers, page = _exchange(base_url(), "GET", "/console/sign-in", {})
        token = CSRF.search(page)
        if status != 200 or token is None:
            return HttpResponse.json(502, {"error": {"message": f"the console's sign-in page answered {status}"}})
        form = {"csrf": token.group(1), "email": email, "password": password, "next": "/console"}
        status, headers, page = _exchange(base_url(), "POST", "/console/sign-in", _cookies(headers), form)
        if status != 303:
            return HttpResponse.json(502, {"error": {"message": f"the console refused the sign-in ({status})"}})
        relayed = [(k, v) for k, v in headers if k.lower() in ("location", "set-cookie")]
        return HttpResponse(303, relayed)

    return handle
