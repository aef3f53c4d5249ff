"""Signing in to the console (Cognito on moto, the pool of template.yaml), its steps, signing out, and the role
read again before an operator's action."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from console.http import Response, parse
from console.routing import Route, Router, context
from console.sessions import COOKIE, TOUCH_EVERY, Sessions
from orders.users import Users
from tests.support.console import Browser, UserPool, Visitor, console_at, event, text, totp

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PASSWORD = "Correct-Horse-42!"


@pytest.fixture
def console(aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
    aws.use(clock=lambda: NOW)
    return lambda sent: aws.invoke("console", sent, lambda_context)


@pytest.fixture
def pool(aws: Any) -> UserPool:
    pool: UserPool = aws.users.pool
    return pool


def location(answer: dict[str, Any]) -> str:
    assert answer["statusCode"] == 303, answer.get("body")
    return str(answer["headers"]["Location"])


def test_an_operator_signs_in_and_reaches_the_console(console: Any, pool: UserPool) -> None:
    pool.add("ops@shop.example", PASSWORD, "operator")
    visitor = Visitor(console)
    answer = visitor.submit("/console/sign-in", {"email": "ops@shop.example", "password": PASSWORD, "next": "/console"})
    assert location(answer) == "/Prod/console"
    cookie = next(c for c in answer["multiValueHeaders"]["Set-Cookie"] if c.startswith(COOKIE))
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Strict"))
    assert location(visitor.get("/console")) == "/Prod/console/orders"


def test_a_wrong_password_and_an_unknown_user_read_the_same_words(console: Any, pool: UserPool) -> None:
    pool.add("ops@shop.example", PASSWORD, "operator")
    pages = []
    for email, password in (("ops@shop.example", "Wrong-Password-99!"), ("nobody@shop.example", PASSWORD)):
        visitor = Visitor(console)
        answer = visitor.submit("/console/sign-in", {"email": email, "password": password, "next": "/console"})
        assert answer["statusCode"] == 401
        assert COOKIE not in visitor.cookies
        pages.append(text(answer["body"]).replace(email, "EMAIL"))
    assert "Wrong e-mail address or password." in pages[0]
    assert pages[0] == pages[1]


def test_a_user_in_no_group_is_told_so(console: Any, pool: UserPool) -> None:
    pool.add("nogroup@shop.example", PASSWORD)
    answer = Visitor(console).submit("/console/sign-in", {"email": "nogroup@shop.example", "password": PASSWORD})
    assert answer["statusCode"] == 401
    assert "no role in this console" in text(answer["body"])


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [
        ("/console/orders/ABC123", "/Prod/console/orders/ABC123"),
        ("https://evil.example/console", "/Prod/console"),
        ("//evil.example/console", "/Prod/console"),
        ("/console/../../evil", "/Prod/console"),
        ("/consolex", "/Prod/console"),
        ("/console\\@evil.example", "/Prod/console"),
    ],
)
def test_next_is_followed_only_to_a_console_page(console: Any, pool: UserPool, asked: str, goes_to: str) -> None:
    pool.add("ops@shop.example", PASSWORD, "operator")
    visitor = Visitor(console)
    page = visitor.get("/console/sign-in", next=asked)["body"]
    assert f'name="next" value="{goes_to.removeprefix("/Prod")}"' in page
    answer = visitor.submit("/console/sign-in", {"email": "ops@shop.example", "password": PASSWORD, "next": asked})
    assert location(answer) == goes_to


def test_a_new_user_chooses_a_password_then_is_signed_in(console: Any, pool: UserPool) -> None:
    pool.add("new@shop.example", "Temporary-Pass-1!", "viewer", temporary=True)
    visitor = Visitor(console)
    answer = visitor.submit("/console/sign-in", {"email": "new@shop.example", "password": "Temporary-Pass-1!"})
    assert location(answer) == "/Prod/console/sign-in/new-password"
    assert COOKIE not in visitor.cookies
    mismatch = visitor.submit("/console/sign-in/new-password", {"password": PASSWORD, "confirm": PASSWORD + "x"})
    assert mismatch["statusCode"] == 400
    assert "The two passwords differ" in text(mismatch["body"])
    weak = visitor.submit("/console/sign-in/new-password", {"password": "weak", "confirm": "weak"})
    assert "This password is too weak" in text(weak["body"])
    done = visitor.submit("/console/sign-in/new-password", {"password": PASSWORD, "confirm": PASSWORD})
    assert location(done) == "/Prod/console"
    assert COOKIE in visitor.cookies
    assert "__Host-console_signin" not in visitor.cookies


def test_in_production_a_new_user_sets_up_an_authenticator(aws: Any, console: Any) -> None:
    pool = UserPool("production")
    aws.use(users=lambda: pool.users)
    pool.add("new@shop.example", "Temporary-Pass-1!", "operator", temporary=True)
    visitor = Visitor(console)
    visitor.submit("/console/sign-in", {"email": "new@shop.example", "password": "Temporary-Pass-1!"})
    answer = visitor.submit("/console/sign-in/new-password", {"password": PASSWORD, "confirm": PASSWORD})
    assert location(answer) == "/Prod/console/sign-in/authenticator"
    page = text(visitor.get("/console/sign-in/authenticator")["body"])
    secret = re.search(r"Secret key ([A-Za-z2-7]+)", page)
    assert secret, page
    assert f"otpauth://totp/Merchant%20kit%20console:new@shop.example?secret={secret.group(1)}&amp;issuer=" in page
    wrong = visitor.submit(
        "/console/sign-in/authenticator", {"code": f"{(int(totp(secret.group(1))) + 1) % 10**6:06d}"}
    )
    assert wrong["statusCode"] == 401
    assert "Wrong code" in text(wrong["body"])
    done = visitor.submit("/console/sign-in/authenticator", {"code": totp(secret.group(1))})
    assert location(done) == "/Prod/console"
    assert COOKIE in visitor.cookies


def test_a_user_with_an_authenticator_types_its_code(console: Any, pool: UserPool) -> None:
    pool.add("ops@shop.example", PASSWORD, "operator")
    pool.with_authenticator("ops@shop.example", PASSWORD)
    visitor = Visitor(console)
    answer = visitor.submit("/console/sign-in", {"email": "ops@shop.example", "password": PASSWORD})
    assert location(answer) == "/Prod/console/sign-in/code"
    secret = pool.idp.associate_software_token(Session=_cognito_session(visitor))["SecretCode"]
    assert COOKIE not in visitor.cookies
    done = visitor.submit("/console/sign-in/code", {"code": totp(secret)})
    assert location(done) == "/Prod/console"
    assert COOKIE in visitor.cookies


def _cognito_session(visitor: Visitor) -> str:
    import base64
    import json

    state = json.loads(base64.urlsafe_b64decode(visitor.cookies["__Host-console_signin"]))
    return str(state["session"])


def test_a_step_with_no_sign_in_under_way_goes_back_to_the_start(console: Any) -> None:
    visitor = Visitor(console)
    assert location(visitor.get("/console/sign-in/code")) == "/Prod/console/sign-in"
    token = re.search(r'name="csrf" value="([^"]+)"', visitor.get("/console/sign-in")["body"])
    assert token
    refused = visitor.post("/console/sign-in/code", {"csrf": token.group(1), "code": "123456"})
    assert refused["statusCode"] == 401
    assert "took too long" in text(refused["body"])


def test_a_sign_in_without_the_form_cookie_is_refused(console: Any, pool: UserPool) -> None:
    pool.add("ops@shop.example", PASSWORD, "operator")
    answer = console(event("POST", "/console/sign-in", form={"email": "ops@shop.example", "password": PASSWORD}))
    assert answer["statusCode"] == 403
    assert COOKIE not in str(answer.get("multiValueHeaders"))


def test_signing_out_ends_the_session(aws: Any, console: Any) -> None:
    browser = Browser(aws.store, "viewer", NOW)
    assert console(browser.post("/console/sign-out", csrf=False))["statusCode"] == 403
    answer = console(browser.post("/console/sign-out"))
    assert location(answer) == "/Prod/console/sign-in"
    assert f"{COOKIE}=; Path=/; Max-Age=0" in answer["multiValueHeaders"]["Set-Cookie"][0]
    assert Sessions(aws.store).find(browser.cookie, NOW) is None
    assert location(console(browser.get("/console"))).startswith("/Prod/console/sign-in")


# The role read again before an action: an operator's POST route, as the orders' actions are.
def _acted(ctx: Any) -> Response:
    return Response(200, "done")


ACT = Router([Route("POST", "/console/act", "operator", _acted)])


def act(aws: Any, browser: Browser) -> Response:
    request = parse(browser.post("/console/act"))
    return ACT.answer(context(aws.deps, Sessions(aws.store), request, NOW))


def test_an_operator_acts_while_cognito_still_says_operator(aws: Any) -> None:
    assert act(aws, Browser(aws.store, "operator", NOW)).status == 200


def test_a_demoted_operator_cannot_act_with_the_session_of_before(aws: Any) -> None:
    browser = Browser(aws.store, "operator", NOW)
    pool = aws.users.pool
    pool.idp.admin_remove_user_from_group(UserPoolId=pool.pool_id, Username=browser.email, GroupName="operator")
    pool.idp.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=browser.email, GroupName="viewer")
    answer = act(aws, browser)
    assert answer.status == 403
    assert "Your role (viewer) may not do this" in text(answer.body)


def test_a_disabled_operator_cannot_act_and_is_signed_out(aws: Any) -> None:
    browser = Browser(aws.store, "operator", NOW)
    pool = aws.users.pool
    pool.idp.admin_disable_user(UserPoolId=pool.pool_id, Username=browser.email)
    answer = act(aws, browser)
    assert answer.status == 403
    assert "Your account is disabled" in text(answer.body)
    assert Sessions(aws.store).find(browser.cookie, NOW) is None


class _CognitoDown:
    """A Cognito client that cannot be reached: no answer on the user at all."""

    def __getattr__(self, operation: str) -> Any:
        def call(**_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://cognito-idp.eu-west-3.amazonaws.com")

        return call


def _read_a_minute_later(aws: Any, lambda_context: Any, browser: Browser) -> dict[str, Any]:
    later = NOW + TOUCH_EVERY
    return dict(console_at(aws, lambda_context, later)(browser.get("/console/orders")))


def test_a_disabled_user_reads_nothing_more_within_a_minute(aws: Any, lambda_context: Any) -> None:
    browser = Browser(aws.store, "viewer", NOW)
    pool = aws.users.pool
    pool.idp.admin_disable_user(UserPoolId=pool.pool_id, Username=browser.email)
    answer = _read_a_minute_later(aws, lambda_context, browser)
    assert answer["statusCode"] == 303
    assert "/console/sign-in" in answer["headers"]["Location"]
    assert Sessions(aws.store).find(browser.cookie, NOW + TOUCH_EVERY) is None, "the session is ended, not kept"


def test_a_demoted_operator_signs_in_again_to_read_as_a_viewer(aws: Any, lambda_context: Any) -> None:
    browser = Browser(aws.store, "operator", NOW)
    pool = aws.users.pool
    pool.idp.admin_remove_user_from_group(UserPoolId=pool.pool_id, Username=browser.email, GroupName="operator")
    pool.idp.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=browser.email, GroupName="viewer")
    answer = _read_a_minute_later(aws, lambda_context, browser)
    assert answer["statusCode"] == 303
    assert "/console/sign-in" in answer["headers"]["Location"]


def test_a_user_still_allowed_reads_on_and_cognito_down_does_not_sign_anyone_out(aws: Any, lambda_context: Any) -> None:
    browser = Browser(aws.store, "viewer", NOW)
    assert _read_a_minute_later(aws, lambda_context, browser)["statusCode"] == 200
    aws.use(users=lambda: Users("eu-west-3_pool", "client", client=_CognitoDown()))
    later = NOW + 2 * TOUCH_EVERY
    assert console_at(aws, lambda_context, later)(browser.get("/console/orders"))["statusCode"] == 200


def test_every_text_is_in_french_and_english_with_the_same_placeholders() -> None:
    from console.i18n import catalog, placeholders

    english, french = catalog("en"), catalog("fr")
    assert sorted(english) == sorted(french)
    assert [k for k in english if k.startswith("account.refused.")]
    assert {k: placeholders(v) for k, v in english.items()} == {k: placeholders(v) for k, v in french.items()}
