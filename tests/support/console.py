"""The console as a browser meets it in the kit's tests: API Gateway's events for its pages, and signed-in users."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import struct
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from console.sessions import COOKIE, Sessions
from orders.store import OrderStore
from orders.users import Users
from stacktools.cognito import UserPoolRequests

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


class Visitor:
    """A browser: its cookies kept from answer to answer, its forms sent with the token the page carried."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.cookies: dict[str, str] = {}

    def _send(self, sent: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.console(sent)
        for header in (answer.get("multiValueHeaders") or {}).get("Set-Cookie", []):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in header:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return answer

    def get(self, path: str, **query: str) -> dict[str, Any]:
        return self._send(event("GET", path, cookies=self.cookies, query=query or None))

    def post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        return self._send(event("POST", path, cookies=self.cookies, form=form))

    def submit(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        """The form of the page at ``path`` filled in and sent (with the CSRF token the page gave)."""
        page = self.get(path)["body"]
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token, page
        return self.post(path, {"csrf": token.group(1), **form})


def hidden(html: str, name: str) -> str:
    """The value of the page's hidden field ``name``."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


def confirmation(console: Any, browser: Browser, path: str, **query: str) -> dict[str, str]:
    """The confirmation page of the action ``path`` (``console`` invokes the console): its form's fields, as the
    browser posts them."""
    page = console(browser.get(path, **query))
    assert page["statusCode"] == 200, text(page["body"])
    return {name: hidden(page["body"], name) for name in ("key", "amount", "whole") if f'name="{name}"' in page["body"]}


def text(html: str) -> str:
    """A page's words, tags dropped and spaces collapsed: what a test reads."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@functools.cache
def _pool_requests(stack_environment: str) -> UserPoolRequests:
    """The pool's requests, the template read once per process (reading it costs more than a test)."""
    from stacktools.cognito import user_pool_requests
    from stacktools.template import Template

    return user_pool_requests(Template.load(), {"StackEnvironment": stack_environment})


class UserPool:
    """The console's Cognito user pool of template.yaml, made in moto, and its users."""

    def __init__(self, stack_environment: str = "test") -> None:
        import boto3

        from stacktools.cognito import create_user_pool

        self.idp = boto3.client("cognito-idp")
        self.pool_id, self.client_id = create_user_pool(self.idp, _pool_requests(stack_environment))
        self.users = Users(self.pool_id, self.client_id, client=self.idp)

    def add(self, email: str, password: str, *groups: str, temporary: bool = False) -> None:
        """A user in ``groups``, whose password is ``password`` (to change at the first sign-in if ``temporary``)."""
        self.idp.admin_create_user(
            UserPoolId=self.pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
            TemporaryPassword=password,
        )
        if not temporary:
            self.idp.admin_set_user_password(UserPoolId=self.pool_id, Username=email, Password=password, Permanent=True)
        for group in groups:
            self.idp.admin_add_user_to_group(UserPoolId=self.pool_id, Username=email, GroupName=group)

    def with_authenticator(self, email: str, password: str) -> None:
        """``email`` sets up an authenticator app, and signs in with its code from now on."""
        signed_in = self.idp.admin_initiate_auth(
            UserPoolId=self.pool_id,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        access_token = signed_in["AuthenticationResult"]["AccessToken"]
        secret = self.idp.associate_software_token(AccessToken=access_token)["SecretCode"]
        self.idp.verify_software_token(AccessToken=access_token, UserCode=totp(secret))
        self.idp.admin_set_user_mfa_preference(
            UserPoolId=self.pool_id,
            Username=email,
            SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
        )


def totp(secret: str, at: float | None = None) -> str:
    """An authenticator app's code for ``secret`` (RFC 6238: SHA-1, 30 s, 6 digits), as the user types it."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset : offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


class LazyUserPool:
    """The provider of ``Dependencies.users`` in the functional tests: the pool is made at its first use (most
    tests never sign anyone in), with ``operator@shop.example`` and ``viewer@shop.example`` in their groups (the
    users ``Browser`` is signed in as by default)."""

    password = "Console-Test-Password-1!"

    def __call__(self) -> Users:
        return self.pool.users

    @functools.cached_property
    def pool(self) -> UserPool:
        pool = UserPool()
        for role in ("operator", "viewer"):
            pool.add(f"{role}@shop.example", self.password, role)
        return pool


def console_at(aws: Any, lambda_context: Any, now: datetime) -> Any:
    """The console's handler, invoked as Lambda would, at ``now``: ``console(event) -> answer``."""
    aws.use(clock=lambda: now)
    return lambda sent: aws.invoke("console", sent, lambda_context)


def operator_at(aws: Any, now: datetime, email: str = "ops@shop.example") -> Browser:
    """An operator signed in at ``now``, a user of the tests' pool (an operator's POST asks Cognito again)."""
    aws.users.pool.add(email, "Operator-Pass-Word-1!", "operator")
    return Browser(aws.store, "operator", now, email=email)
