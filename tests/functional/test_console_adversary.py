"""The console attacked: a hostile or clumsy user, a flaky network and a dying process on the money path and on
access. Each test is an attack; it passes when the console holds."""

from __future__ import annotations

import base64
import json
import urllib.error
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import Message
from html import unescape
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from console.http import CONTENT_SECURITY_POLICY
from console.sessions import COOKIE, Sessions
from orders.exceptions import StoreUnavailableError
from orders.store import OrderStore
from tests.support.console import Browser, LazyUserPool, Visitor, confirmation, event, hidden, operator_at
from tests.support.console import text as words
from tests.support.fakebank import Account, FakeBank
from tests.support.instances import at_once
from tests.support.merchant import confirm, stored_order

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
OPERATOR = "ops@shop.example"
REFUND = "recredit_paiement.cgi"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(aws: Any) -> Clock:
    moving = Clock()
    aws.use(clock=moving)
    return moving


@pytest.fixture
def console(aws: Any, lambda_context: Any, clock: Clock) -> Any:
    return lambda sent: aws.invoke("console", sent, lambda_context)


@pytest.fixture
def operator(aws: Any) -> Browser:
    return operator_at(aws, NOW, OPERATOR)


def paid(aws: Any, lambda_context: Any, bank: FakeBank, reference: str, tpe: str = "0900157") -> None:
    """An order paid on ``tpe``; on the immediate terminal, captured at the bank."""
    stored_order(aws, reference, tpe=tpe)
    confirm(aws, lambda_context, reference=reference + "00", tpe=tpe)
    if tpe == "0900157":
        bank.accounts[reference + "00"] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))


def text(html: str) -> str:
    return unescape(words(html))


def refunds(bank: FakeBank) -> int:
    return sum(1 for cgi, _ in bank.calls if cgi == REFUND)


# --- 1. actions ----------------------------------------------------------------------------------------------


def test_one_confirmation_posted_twice_at_once_calls_the_bank_once(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, bank, "TWICE1")
    form = confirmation(console, operator, "/console/orders/TWICE1/refund", amount="20.00")
    answers = at_once([lambda: console(operator.post("/console/orders/TWICE1/refund", form))] * 2)
    assert refunds(bank) == 1
    order = aws.store.get("TWICE1")
    assert [op.event for op in order.operations] == ["refund_partial"]
    assert order.refunded == 20
    statuses = sorted(answer["statusCode"] for answer in answers)
    assert statuses[0] == 200
    for answer in answers:
        assert "Traceback" not in answer["body"]
        if answer["statusCode"] != 200:  # the other one is told the first is still under way, in words
            assert answer["statusCode"] == 409
            assert "Idempotency-Key" not in text(answer["body"])


def test_two_tabs_refunding_everything_refund_it_once_and_the_second_is_told(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, bank, "TABS1")
    first = confirmation(console, operator, "/console/orders/TABS1/refund")
    second = confirmation(console, operator, "/console/orders/TABS1/refund")
    assert first["key"] != second["key"]
    assert console(operator.post("/console/orders/TABS1/refund", first))["statusCode"] == 200
    late = console(operator.post("/console/orders/TABS1/refund", second))
    assert late["statusCode"] in (409, 422)
    said = text(late["body"])
    assert "Not done" in said
    assert bank.accounts["TABS100"].refunded == Decimal("62.73")
    assert aws.store.get("TABS1").refunded == Decimal("62.73")
    assert refunds(bank) == 1


def test_two_tabs_refunding_in_parts_never_refund_more_than_was_captured(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, bank, "TABS2")
    first = confirmation(console, operator, "/console/orders/TABS2/refund", amount="40.00")
    second = confirmation(console, operator, "/console/orders/TABS2/refund", amount="40.00")
    answers = at_once([lambda f=f: console(operator.post("/console/orders/TABS2/refund", f)) for f in (first, second)])  # type: ignore[misc]
    assert sorted(a["statusCode"] for a in answers)[0] == 200
    assert aws.store.get("TABS2").refunded == 40
    assert bank.accounts["TABS200"].refunded == 40
    for answer in answers:
        if answer["statusCode"] != 200:
            assert "Not done" in text(answer["body"]) or "not known" in text(answer["body"]).lower()


@pytest.mark.parametrize(
    "amount",
    [
        "1.234",
        "-5.00",
        "1e3",
        " 10,00 ",
        "9" * 40 + ".00",
        "10.00 USD",
        "NaN",
        "\uff11\uff10.\uff10\uff10",
        "10.00\x00",
    ],
)
def test_a_posted_amount_not_written_as_one_is_a_400_naming_it_and_nothing_is_done(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank, amount: str
) -> None:
    paid(aws, lambda_context, bank, "AMT1")
    form = confirmation(console, operator, "/console/orders/AMT1/refund", amount="10.00")
    answer = console(operator.post("/console/orders/AMT1/refund", {**form, "amount": amount}))
    assert answer["statusCode"] == 400, text(answer["body"])
    assert "amount:" in text(answer["body"])
    assert "Traceback" not in answer["body"]
    assert refunds(bank) == 0
    assert aws.store.get("AMT1").refunded == 0


def test_a_key_sent_again_with_another_amount_never_applies_the_new_amount(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, bank, "KEY1")
    form = confirmation(console, operator, "/console/orders/KEY1/refund", amount="10.00")
    assert console(operator.post("/console/orders/KEY1/refund", form))["statusCode"] == 200
    again = console(operator.post("/console/orders/KEY1/refund", {**form, "amount": "30.00"}))
    assert again["statusCode"] in (400, 422)
    assert "Traceback" not in again["body"]
    assert aws.store.get("KEY1").refunded == 10
    assert bank.accounts["KEY100"].refunded == 10


def test_a_form_tampered_to_another_amount_than_its_confirmation_is_refused(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    """The confirmation said 10.00; the form posts 50.00 with that confirmation's fresh key: not done."""
    paid(aws, lambda_context, bank, "TAMP1")
    form = confirmation(console, operator, "/console/orders/TAMP1/refund", amount="10.00")
    for tampered in ("50.00", "0.00", "10.01"):
        answer = console(operator.post("/console/orders/TAMP1/refund", {**form, "amount": tampered}))
        assert answer["statusCode"] == 400
        assert "key:" in text(answer["body"])
    assert refunds(bank) == 0
    whole = confirmation(console, operator, "/console/orders/TAMP1/refund")  # "everything": no amount in the form
    answer = console(operator.post("/console/orders/TAMP1/refund", {**whole, "amount": "5.00"}))
    assert answer["statusCode"] == 400
    assert refunds(bank) == 0
    # the confirmation as it was shown still works
    assert console(operator.post("/console/orders/TAMP1/refund", form))["statusCode"] == 200
    assert aws.store.get("TAMP1").refunded == 10


def test_a_key_from_the_form_of_another_order_or_operation_is_refused(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, bank, "OTHER1")
    paid(aws, lambda_context, bank, "OTHER2")
    form = confirmation(console, operator, "/console/orders/OTHER1/refund", amount="10.00")
    answer = console(operator.post("/console/orders/OTHER2/refund", form))
    assert answer["statusCode"] == 400
    assert refunds(bank) == 0
    assert aws.store.get("OTHER2").refunded == 0
    whole = confirmation(console, operator, "/console/orders/OTHER1/refund")
    crossed = console(operator.post("/console/orders/OTHER1/cancel", whole))  # another operation
    assert (crossed["statusCode"], "key:" in text(crossed["body"])) == (400, True)
    made = "k" * 24  # a key no confirmation page made
    assert console(operator.post("/console/orders/OTHER2/refund", {"key": made}))["statusCode"] == 400
    assert refunds(bank) == 0


def test_a_whole_refund_confirmed_before_a_part_was_refunded_is_not_done_for_another_amount(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    """Tab A confirms "refund everything (62.73 EUR)"; tab B refunds 20.00; tab A's confirmation is sent: the
    order no longer holds what tab A repeated, so nothing is done and the operator is told to read it again."""
    paid(aws, lambda_context, bank, "WHOLE1")
    everything = confirmation(console, operator, "/console/orders/WHOLE1/refund")
    part = confirmation(console, operator, "/console/orders/WHOLE1/refund", amount="20.00")
    assert console(operator.post("/console/orders/WHOLE1/refund", part))["statusCode"] == 200
    late = console(operator.post("/console/orders/WHOLE1/refund", everything))
    assert late["statusCode"] == 409, text(late["body"])
    assert "62.73" in text(late["body"])
    assert aws.store.get("WHOLE1").refunded == 20
    assert bank.accounts["WHOLE100"].refunded == 20


# --- the bank and the store failing mid-operation -------------------------------------------------------------


class BadGateway:
    """The bank's front answering 502 (urllib raises it) to the next money operation; the status still answers."""

    def __init__(self, bank: FakeBank, after_applying: bool) -> None:
        self.bank, self.after_applying, self.left = bank, after_applying, 1

    def __call__(self, url: str, body: bytes, timeout: float) -> bytes:
        if self.left and not url.endswith("etatpaiement.cgi"):
            self.left -= 1
            if self.after_applying:
                self.bank(url, body, timeout)
            raise urllib.error.HTTPError(url, 502, "Bad Gateway", Message(), None)
        return self.bank(url, body, timeout)


@pytest.mark.parametrize("failure", ["timeout", "lost_answer", "502", "502_after_applying"])
def test_the_bank_failing_mid_refund_is_said_in_words_and_the_retry_settles_it_once(
    aws: Any, lambda_context: Any, console: Any, clock: Clock, operator: Browser, bank: FakeBank, failure: str
) -> None:
    paid(aws, lambda_context, bank, "FLAKY1")
    applied = failure in ("lost_answer", "502_after_applying")
    if failure == "timeout":
        bank.timeout_next = 1
    elif failure == "lost_answer":
        bank.lose_answer_next = 1
    else:
        aws.use(bank_transport=BadGateway(bank, after_applying=applied))
    form = confirmation(console, operator, "/console/orders/FLAKY1/refund", amount="20.00")
    first = console(operator.post("/console/orders/FLAKY1/refund", form))
    assert first["statusCode"] in (502, 503, 504), text(first["body"])
    assert "The outcome is not known yet" in text(first["body"])
    assert bank.accounts["FLAKY100"].refunded == (20 if applied else 0)
    soon = console(operator.post("/console/orders/FLAKY1/refund", form))  # at once: the call may still be under way
    assert "Traceback" not in soon["body"]
    assert soon["statusCode"] != 200 or bank.accounts["FLAKY100"].refunded == 20
    clock.now = NOW + timedelta(minutes=6)  # past the operation's lease: the bank's status settles it
    again = console(operator.post("/console/orders/FLAKY1/refund", form))
    assert again["statusCode"] == 200, text(again["body"])
    assert "Done" in text(again["body"])
    assert bank.accounts["FLAKY100"].refunded == 20
    order = aws.store.get("FLAKY1")
    assert (order.refunded, order.pending) == (20, None)
    assert len([op for op in order.operations if op.event == "refund_partial" and op.outcome != "not_applied"]) == 1
    # A refund the bank never applied is sent again, once (a 502 before the bank is a call it never received).
    assert refunds(bank) == (2 if failure == "timeout" else 1)


class StoreDownAfterTheBank(OrderStore):
    """The orders table failing when the bank's answer is to be written (the process's last write)."""

    failures = 1

    def finish_operation(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailableError("DynamoDB UpdateItem failed: ProvisionedThroughputExceededException")
        return super().finish_operation(*args, **kwargs)


def test_the_store_failing_after_the_bank_accepted_is_said_and_settled_once(
    aws: Any, lambda_context: Any, console: Any, clock: Clock, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, bank, "DOWN1")
    aws.use(store=StoreDownAfterTheBank(aws.store.table_name, client=aws.store.client))
    form = confirmation(console, operator, "/console/orders/DOWN1/refund", amount="20.00")
    first = console(operator.post("/console/orders/DOWN1/refund", form))
    assert first["statusCode"] == 503, text(first["body"])
    assert "The outcome is not known yet" in text(first["body"])
    assert "ProvisionedThroughput" not in first["body"]
    assert bank.accounts["DOWN100"].refunded == 20
    clock.now = NOW + timedelta(minutes=6)
    again = console(operator.post("/console/orders/DOWN1/refund", form))
    assert again["statusCode"] == 200, text(again["body"])
    assert (aws.store.get("DOWN1").refunded, refunds(bank)) == (20, 1)
    other = confirmation(console, operator, "/console/orders/DOWN1/refund", amount="20.00")
    assert console(operator.post("/console/orders/DOWN1/refund", other))["statusCode"] == 200  # a new refund: done
    assert (aws.store.get("DOWN1").refunded, bank.accounts["DOWN100"].refunded) == (40, 40)


# --- 2. sessions and CSRF -------------------------------------------------------------------------------------

PASSWORD = "Correct-Horse-42!"


def test_the_cookie_of_a_signed_out_session_signs_nobody_in_and_acts_on_nothing(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, bank, "OUT1")
    form = confirmation(console, operator, "/console/orders/OUT1/refund")
    assert console(operator.post("/console/sign-out"))["statusCode"] == 303
    assert console(operator.get("/console/orders/OUT1"))["statusCode"] == 303  # to the sign-in page
    answer = console(operator.post("/console/orders/OUT1/refund", form))
    assert answer["statusCode"] in (401, 403)
    assert (refunds(bank), aws.store.get("OUT1").refunded) == (0, 0)


def test_one_sessions_token_with_another_sessions_cookie_is_refused(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, bank, "CSRF1")
    form = confirmation(console, operator, "/console/orders/CSRF1/refund")
    other = Browser(aws.store, "operator", NOW, email=OPERATOR)  # the same operator, signed in elsewhere
    crossed = event(
        "POST", "/console/orders/CSRF1/refund", cookies={COOKIE: other.cookie}, form={"csrf": operator.csrf, **form}
    )
    assert console(crossed)["statusCode"] == 403
    # the other session's own token, with the first session's confirmation: the key was sealed for another session
    mixed = event(
        "POST", "/console/orders/CSRF1/refund", cookies={COOKIE: other.cookie}, form={"csrf": other.csrf, **form}
    )
    assert console(mixed)["statusCode"] == 400
    viewer = Browser(aws.store, "viewer", NOW)
    as_viewer = event(
        "POST", "/console/orders/CSRF1/refund", cookies={COOKIE: viewer.cookie}, form={"csrf": operator.csrf, **form}
    )
    assert console(as_viewer)["statusCode"] == 403
    cross_site = operator.post("/console/orders/CSRF1/refund", form)
    cross_site["headers"]["Sec-Fetch-Site"] = "cross-site"
    cross_site["multiValueHeaders"]["Sec-Fetch-Site"] = ["cross-site"]
    assert console(cross_site)["statusCode"] == 403
    assert (refunds(bank), aws.store.get("CSRF1").refunded) == (0, 0)


def test_a_session_cookie_planted_before_sign_in_is_not_the_one_signed_in(aws: Any, console: Any) -> None:
    aws.users.pool.add("ops@shop.example", PASSWORD, "operator")
    planted = Browser(aws.store, "viewer", NOW, email="attacker@shop.example")  # the attacker's own session
    visitor = Visitor(console)
    token = hidden(visitor.get("/console/sign-in")["body"], "csrf")
    visitor.cookies[COOKIE] = planted.cookie  # planted after the page was read, before the form is sent
    sign_in = {"email": "ops@shop.example", "password": PASSWORD, "next": "/console"}
    assert visitor.post("/console/sign-in", {"csrf": token, **sign_in})["statusCode"] == 403  # nothing signed in
    assert visitor.cookies[COOKIE] == planted.cookie
    # A sign-in that goes through with that cookie (its session's own token) opens a new session, the old one closed.
    answer = visitor.post("/console/sign-in", {"csrf": planted.csrf, **sign_in})
    assert answer["statusCode"] == 303
    assert visitor.cookies[COOKIE] != planted.cookie
    assert Sessions(aws.store).find(planted.cookie, NOW) is None
    session = Sessions(aws.store).find(visitor.cookies[COOKIE], NOW)
    assert session is not None
    assert (session.email, session.role) == ("ops@shop.example", "operator")


def test_a_sign_in_posted_from_another_site_is_refused(aws: Any, console: Any) -> None:
    aws.users.pool.add("ops@shop.example", PASSWORD, "operator")
    visitor = Visitor(console)
    token = hidden(visitor.get("/console/sign-in")["body"], "csrf")
    sent = event(
        "POST",
        "/console/sign-in",
        cookies=visitor.cookies,
        form={"csrf": token, "email": "ops@shop.example", "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    answer = console(sent)
    assert answer["statusCode"] == 403
    assert COOKIE not in str(answer.get("multiValueHeaders", {}))


@pytest.mark.parametrize(
    "asked",
    [
        "%2F%2Fevil.example",
        "//evil.example",
        "/\\evil.example",
        "/console/../x",
        "javascript:alert(1)",
        "/console/%2e%2e/x",
        "/console//evil.example",
        "/console/\\evil.example",
        "/console/.%2e/x",
        "/console/orders\r\nLocation: https://evil.example",
        "https:evil.example",
        "/console/orders?next=//evil",
        "\t/console",
        " //evil.example",
    ],
)
def test_next_never_leads_off_the_console(aws: Any, console: Any, asked: str) -> None:
    aws.users.pool.add("ops@shop.example", PASSWORD, "operator")
    visitor = Visitor(console)
    answer = visitor.submit("/console/sign-in", {"email": "ops@shop.example", "password": PASSWORD, "next": asked})
    assert answer["statusCode"] == 303
    assert answer["headers"]["Location"] == "/Prod/console"


def test_a_demoted_or_disabled_operator_cannot_refund_through_the_route(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, bank, "DEMO1")
    form = confirmation(console, operator, "/console/orders/DEMO1/refund")
    pool = aws.users.pool
    pool.idp.admin_remove_user_from_group(UserPoolId=pool.pool_id, Username=OPERATOR, GroupName="operator")
    pool.idp.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=OPERATOR, GroupName="viewer")
    assert console(operator.post("/console/orders/DEMO1/refund", form))["statusCode"] == 403
    pool.idp.admin_disable_user(UserPoolId=pool.pool_id, Username=OPERATOR)
    assert console(operator.post("/console/orders/DEMO1/refund", form))["statusCode"] == 403
    assert Sessions(aws.store).find(operator.cookie, NOW) is None
    assert (refunds(bank), aws.store.get("DEMO1").refunded) == (0, 0)


ODD_HEADERS = [
    {"Cookie": "x" * 20000},
    {"Cookie": f"{COOKIE}={'A' * 5000}"},
    {"Cookie": f'{COOKIE}="\\"; a=b; ;;; ==='},
    {"Cookie": f"{COOKIE}=\u00e9\u00e8; console_lang=<script>"},
    {"Cookie": "__Host-console_signin=%%%%; __Host-console_form=\x01"},
    {"Accept-Language": "*;q=abc, fr;q=2, en-US;q=-1, " + "x" * 5000},
    {"Accept-Language": "\u00ff\u00fe"},
    {"Content-Type": "application/json"},
    {"Host": "<evil>"},
]


@pytest.mark.parametrize("headers", ODD_HEADERS, ids=[str(i) for i in range(len(ODD_HEADERS))])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_odd_cookies_and_headers_never_fail_the_console(
    aws: Any, console: Any, headers: dict[str, str], method: str
) -> None:
    sent = event(method, "/console/orders", form={"csrf": "x"} if method == "POST" else None, headers=headers)
    answer = console(sent)
    assert answer["statusCode"] in (303, 400, 401, 403, 405), answer
    assert answer["headers"]["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "Traceback" not in answer["body"]


@pytest.mark.parametrize("method", ["HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "get", "CONNECT"])
@pytest.mark.parametrize(
    "path", ["/console/orders", "/console/orders/ABC1/refund", "/console/sign-in", "/console/nope"]
)
def test_another_method_is_refused_with_nothing_done(
    aws: Any, console: Any, operator: Browser, method: str, path: str
) -> None:
    sent = operator.post(path, {"key": "k" * 24})
    sent["httpMethod"] = method
    writes = len(aws.writes)
    answer = console(sent)
    assert answer["statusCode"] in (200, 303, 404, 405), (method, path, answer["statusCode"])
    if method.upper() != "GET":
        assert answer["statusCode"] in (404, 405)
    assert answer["headers"]["Cache-Control"] == "no-store"
    assert len(aws.writes) == writes


# --- 3. escaping and leaks ------------------------------------------------------------------------------------

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(1)>'


class RefusingWith:
    """The bank refusing the next money operation with ``lib`` as its words."""

    def __init__(self, bank: FakeBank, lib: str) -> None:
        self.bank, self.lib = bank, lib

    def __call__(self, url: str, body: bytes, timeout: float) -> bytes:
        if url.endswith("capture_paiement.cgi"):
            return f"version=1.0\ncdr=0\nlib={self.lib}\n".encode()
        return self.bank(url, body, timeout)


def test_what_the_bank_says_is_escaped_on_every_page(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    stored_order(aws, "REFUSED1")
    confirm(aws, lambda_context, "Annulation", "", reference="REFUSED100", reason=HOSTILE)
    paid(aws, lambda_context, bank, "BANKSAYS1", tpe="0900159")
    aws.use(bank_transport=RefusingWith(bank, HOSTILE))
    form = confirmation(console, operator, "/console/orders/BANKSAYS1/capture", amount="10.00")
    answer = console(operator.post("/console/orders/BANKSAYS1/capture", form))
    assert answer["statusCode"] == 502
    pages = [console(operator.get(f"/console/orders/{reference}"))["body"] for reference in ("REFUSED1", "BANKSAYS1")]
    assert "alert(1)" in text(pages[0])  # the refusal reason is shown, as the bank wrote it
    for body in (answer["body"], *pages):
        assert "<script>" not in body
        assert "<img" not in body
        assert "&lt;script&gt;" in body


def test_no_token_cookie_or_cognito_session_reaches_the_log(
    aws: Any, lambda_context: Any, console: Any, bank: FakeBank, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.users.pool.add("ops@shop.example", PASSWORD, "operator")
    paid(aws, lambda_context, bank, "LOGS1")
    visitor = Visitor(console)
    answer = visitor.submit("/console/sign-in", {"email": "ops@shop.example", "password": PASSWORD, "next": "/console"})
    assert answer["statusCode"] == 303
    page = visitor.get("/console/orders/LOGS1/refund")
    csrf, key = hidden(page["body"], "csrf"), hidden(page["body"], "key")
    assert (
        visitor.post("/console/orders/LOGS1/refund", {"csrf": csrf, "key": key, "whole": "62.73"})["statusCode"] == 200
    )
    visitor.post("/console/sign-in", {"csrf": "forged", "email": "ops@shop.example", "password": PASSWORD})
    logged = capsys.readouterr()
    everything = logged.out + logged.err
    assert "console request failed" not in everything
    for secret in (visitor.cookies[COOKIE], csrf, PASSWORD):
        assert secret not in everything


class Unreachable:
    """A DynamoDB client whose every call finds no endpoint (the table's region down, the network cut)."""

    def __getattr__(self, name: str) -> Any:
        def call(**_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-3.amazonaws.com")

        return call


def _broken_terminals() -> Any:
    raise RuntimeError("secret unreadable: arn:aws:secretsmanager:eu-west-3:123456789012:secret:merchant-kit")


TRACES = ("Traceback", 'File "', "Error:", "botocore", "arn:aws", "RuntimeError", "dynamodb.eu-west-3")


def test_every_error_page_carries_the_policy_and_no_trace(aws: Any, console: Any, operator: Browser) -> None:
    viewer = Browser(aws.store, "viewer", NOW)
    answers = {
        400: console(viewer.get("/console/orders", cursor="!!")),
        403: console(viewer.get("/console/orders/ABC1/refund")),
        404: console(viewer.get("/console/nothing-here")),
        405: console(event("DELETE", "/console/orders")),
    }
    aws.use(terminals=_broken_terminals)
    answers[500] = console(viewer.get("/console/orders"))
    aws.use(store=OrderStore(aws.store.table_name, client=Unreachable()))
    answers[503] = console(viewer.get("/console/orders"))
    for status, answer in answers.items():
        assert answer["statusCode"] == status, (status, answer["body"])
        assert answer["headers"]["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert answer["headers"]["Cache-Control"] == "no-store"
        assert answer["headers"]["X-Content-Type-Options"] == "nosniff"
        for trace in TRACES:
            assert trace not in answer["body"], (status, trace)


def test_the_order_store_down_is_a_503_in_words_on_every_route(aws: Any, console: Any, operator: Browser) -> None:
    aws.use(store=OrderStore(aws.store.table_name, client=Unreachable()))
    for sent in (
        operator.get("/console/orders"),
        operator.get("/console/orders/ABC1"),
        operator.post("/console/orders/ABC1/refund", {"key": "k" * 24}),
        operator.post("/console/sign-out"),
    ):
        answer = console(sent)
        assert answer["statusCode"] == 503, (sent["path"], answer["statusCode"], answer["body"])
        assert "The console failed to answer" in text(answer["body"])
    visitor = Visitor(console)  # no session to read: the sign-in page is shown, signing in opens none
    signed_in = visitor.submit(
        "/console/sign-in", {"email": "operator@shop.example", "password": LazyUserPool.password}
    )
    assert signed_in["statusCode"] == 503
    assert COOKIE not in visitor.cookies


class SignedOutMeanwhile:
    """The table's client: each session read is followed by its sign-out in another tab, before the page's touch."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def get_item(self, **kwargs: Any) -> Any:
        answer = self.client.get_item(**kwargs)
        self.client.delete_item(TableName=kwargs["TableName"], Key=kwargs["Key"])
        return answer


def test_a_session_signed_out_in_another_tab_while_a_page_is_read_is_signed_out_not_an_outage(
    aws: Any, console: Any, clock: Clock
) -> None:
    viewer = Browser(aws.store, "viewer", NOW)
    clock.now = NOW + timedelta(minutes=5)  # the page's time is written again
    aws.use(store=OrderStore(aws.store.table_name, client=SignedOutMeanwhile(aws.store.client)))
    answer = console(viewer.get("/console/orders"))
    assert answer["statusCode"] == 303
    assert "/console/sign-in" in answer["headers"]["Location"]


# --- 4. pagination and filters ----------------------------------------------------------------------------------


def _cursor(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _order_key(day: str, created_at: str = "2026-11-27T09:00:00+00:00", reference: str = "ABC1") -> dict[str, Any]:
    return {
        "pk": {"S": f"ORDER#{reference}"},
        "sk": {"S": "ORDER"},
        "order_day": {"S": day},
        "created_at": {"S": created_at},
    }


LIST_CURSORS = [
    "!!!!",
    "e30",  # {}
    "x" * 5000,
    "\u00e9\u00e9\u00e9\u00e9",
    _cursor([1, 2]),
    _cursor({"day": 20261127, "key": None}),
    _cursor({"day": "2026-13-45", "key": None}),
    _cursor({"day": "2025-01-01", "key": None}),  # another range's day
    _cursor({"day": "2026-11-27", "key": _order_key("2026-11-26")}),  # a key of another day
    _cursor({"day": "2026-11-27", "key": _order_key("2026-11-27", created_at="9" * 2000)}),  # an oversized sort key
    _cursor({"day": "2026-11-27", "key": _order_key("2026-11-27", reference="A" * 900)}),
    _cursor({"day": "2026-11-27", "key": {**_order_key("2026-11-27"), "created_at": {"N": "1"}}}),
    "[" * 3000,
]


@pytest.mark.parametrize("cursor", LIST_CURSORS, ids=[str(i) for i in range(len(LIST_CURSORS))])
def test_a_tampered_cursor_of_the_orders_list_is_a_400_naming_it(aws: Any, console: Any, cursor: str) -> None:
    viewer = Browser(aws.store, "viewer", NOW)
    answer = console(viewer.get("/console/orders", cursor=cursor))
    assert answer["statusCode"] == 400, text(answer["body"])[-300:]
    assert "cursor:" in text(answer["body"])


ATTENTION_CURSORS = [
    "!!!!",
    "x" * 5000,
    _cursor({"pk": {"S": "ORDER#ABC1"}}),
    _cursor(
        {
            "pk": {"S": "ORDER#ABC1"},
            "sk": {"S": "ORDER"},
            "attention": {"S": "ORDER"},
            "attention_at": {"S": "9" * 2000},
        }
    ),
    _cursor(
        {
            "pk": {"S": "UNMATCHED#0900157#" + "x" * 200},
            "sk": {"S": "CONFIRMATION#1"},
            "attention": {"S": "UNMATCHED"},
            "attention_at": {"S": "9" * 2000},
        }
    ),
]


@pytest.mark.parametrize("cursor", ATTENTION_CURSORS, ids=[str(i) for i in range(len(ATTENTION_CURSORS))])
@pytest.mark.parametrize("name", ["cursor", "unmatched_cursor"])
def test_a_tampered_cursor_of_the_attention_page_is_a_400_naming_it(
    aws: Any, console: Any, cursor: str, name: str
) -> None:
    viewer = Browser(aws.store, "viewer", NOW)
    answer = console(viewer.get("/console/attention", **{name: cursor}))
    assert answer["statusCode"] == 400, text(answer["body"])[-300:]
    assert f" {name}:" in f" {text(answer['body'])}"


def test_a_cancel_and_a_capture_sent_at_once_from_two_tabs_do_one_of_them(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, bank, "RACE1", tpe="0900159")
    cancel = confirmation(console, operator, "/console/orders/RACE1/cancel")
    capture = confirmation(console, operator, "/console/orders/RACE1/capture")
    answers = at_once(
        [
            lambda: console(operator.post("/console/orders/RACE1/cancel", cancel)),
            lambda: console(operator.post("/console/orders/RACE1/capture", capture)),
        ]
    )
    done = [answer for answer in answers if answer["statusCode"] == 200]
    assert len(done) <= 1, [text(a["body"]) for a in answers]
    for answer in answers:
        assert "Traceback" not in answer["body"]
        if answer["statusCode"] != 200:
            assert answer["statusCode"] in (409, 422, 503), text(answer["body"])
    account = bank.accounts.get("RACE100")
    order = aws.store.get("RACE1")
    if account is not None:
        assert not (account.cancelled and account.captured)
        assert order.captured == account.captured
    assert order.pending is None or not done
