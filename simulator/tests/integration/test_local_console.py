"""The console on the local stack: its user pool made in moto from template.yaml, the test users, and the banner's
link that opens the console signed in (through the console's own sign-in form)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from urllib.parse import urlsplit

import boto3
import pytest

from local import LocalConfig, LocalStack
from local.__main__ import banner
from local.console import TEST_USERS

SESSION = "__Host-console_session"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(LocalConfig(port=0, quiet=True, schedule_interval_seconds=None)) as stack:
        yield stack


def request(stack: LocalStack, path: str, cookie: str = "") -> http.client.HTTPResponse:
    """One GET, no redirect followed (as a browser sees the answer)."""
    where = urlsplit(stack.base_url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    answer = connection.getresponse()
    answer.read()
    connection.close()
    return answer


def session_cookie(answer: http.client.HTTPResponse) -> str:
    (cookie,) = [c for c in answer.headers.get_all("Set-Cookie") or [] if c.startswith(SESSION + "=")]
    return cookie.split(";", 1)[0]


def test_the_pool_is_the_templates_with_a_confirmed_operator_and_viewer(stack: LocalStack) -> None:
    assert stack.console_users is not None
    idp = boto3.client("cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=stack.console_users.pool_id)["UserPool"]
    assert pool["MfaConfiguration"] == "OPTIONAL"  # a test stack's
    assert pool["UsernameAttributes"] == ["email"]
    for role, (email, _) in TEST_USERS.items():
        user = idp.admin_get_user(UserPoolId=stack.console_users.pool_id, Username=email)
        assert user["UserStatus"] == "CONFIRMED"
        groups = idp.admin_list_groups_for_user(UserPoolId=stack.console_users.pool_id, Username=email)["Groups"]
        assert [g["GroupName"] for g in groups] == [role]
    assert stack.environment["CONSOLE_USER_POOL_ID"] == stack.console_users.pool_id
    assert stack.environment["CONSOLE_CLIENT_ID"] == stack.console_users.client_id


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_the_banners_link_opens_the_console_signed_in(stack: LocalStack, role: str) -> None:
    answer = request(stack, f"/_local/console-sign-in?as={role}")
    assert answer.status == 303
    assert answer.headers["Location"] == "/console"
    cookie = session_cookie(answer)
    home = request(stack, "/console", cookie)
    assert (home.status, home.headers["Location"]) == (303, "/console/orders")
    assert request(stack, "/console").headers["Location"].startswith("/console/sign-in")  # without: signed out


def test_the_link_takes_only_the_test_roles(stack: LocalStack) -> None:
    assert request(stack, "/_local/console-sign-in?as=admin").status == 400


def test_the_banner_prints_the_console_and_its_link(stack: LocalStack) -> None:
    text = banner(stack)
    assert f"{stack.base_url}/console " in text
    assert f"{stack.base_url}/_local/console-sign-in?as=operator" in text
