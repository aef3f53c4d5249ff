"""The ledger in DynamoDB: a sandbox that goes cold (a new Lambda instance, a new process) finds every payment,
payment-page session, alert and dashboard sign-in where it left them; two requests that change one payment at
once are both applied, one after the other (conditional writes), never one lost and never one twice."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from chalicelib import rules, sessions
from chalicelib.bank import Bank
from chalicelib.cards import ACCEPTED_MASTERCARD, ACCEPTED_VISA, Card
from chalicelib.devserver import SandboxServer
from chalicelib.ledger import Ledger
from chalicelib.payment_record import (
    Attempt,
    Capture,
    Declined,
    Instalment,
    Payment,
    Refund,
    Status,
    from_data,
    to_data,
)
from chalicelib.terminals import BankConfig, RefundPolicy
from sealing import Money, capture_request
from simulator.tests.support.sandbox import (
    DAY,
    START,
    TOTAL,
    Clock,
    Merchant,
    Sandbox,
    at_once,
    bank_config,
    card,
    client_now,
    eur,
    paid,
    post,
    session_of,
)


def capture_fields(sandbox: Sandbox, reference: str, tpe: str, amount: str) -> list[tuple[str, str]]:
    message = capture_request(
        sandbox.terminal(tpe), reference=reference, ordered_on=DAY, total=TOTAL, to_capture=eur(amount),
        already_captured=eur("0"), remaining=eur(str(TOTAL.amount - Decimal(amount))), at=client_now(),
    )  # fmt: skip
    return list(message.fields)


def payment(number: int, tpe: str = "0900157") -> Payment:
    return Payment(
        tpe=tpe,
        reference=f"T{number}",
        amount=Money(Decimal("62.73"), "EUR"),
        ordered_at=START,
        language="FR",
        email="buyer@example.com",
        free_text="",
        return_ok_url="http://shop.example/ok",
        return_err_url="http://shop.example/err",
        fields=(("TPE", tpe), ("MAC", "0" * 40)),
        session=f"session{number}",
        created_at=START,
    )


def test_a_payment_keeps_every_detail_through_the_table(ledger: Ledger) -> None:
    kept = payment(1)
    kept.status = Status.REGISTERED
    kept.attempts = [
        Attempt(START, "400000######0002", "VI", "Refus", "", "Annulation", acknowledged=False, acknowledgement="x"),
        Attempt(START, "411111######1111", "VI", "", "123456", "payetest", acknowledged=True, cvv_entered=False),
    ]
    kept.deadline = START + timedelta(days=7)
    kept.captures = [Capture(START, Decimal("10.00"), "654321", "dashboard")]
    kept.refunds = [Refund(START, Decimal("2.50"), "back-office")]
    kept.declined = [Declined(START, Decimal("5.00"), "Refus", "back-office")]
    kept.instalments = [Instalment(1, date(2026, 11, 26), Decimal("31.37"), "paid", START, "123456")]
    kept.later_refusal, kept.card_hash, kept.client_ip = "Refus", "AB" * 20, "192.0.2.1"
    assert ledger.create(kept)
    found = ledger.get("0900157", "T1")
    assert found is not None
    assert to_data(found) == to_data(kept)
    assert found.deadline == kept.deadline
    assert found.ordered_at.tzinfo is not None
    assert from_data(to_data(kept)).captured == Decimal("10.00")


def test_a_reference_is_created_once(ledger: Ledger) -> None:
    assert ledger.create(payment(2))
    other = payment(2)
    other.email = "someone@example.com"
    assert not ledger.create(other)
    found = ledger.get("0900157", "T2")
    assert found is not None
    assert found.email == "buyer@example.com"


def test_a_cold_sandbox_finds_the_payment_session_alerts_and_dashboard_sign_in(
    merchant: Merchant, ledger: Ledger
) -> None:
    """A deployed sandbox is a Lambda instance that may be replaced between two requests of one buyer: the
    second instance, with nothing in memory, serves the card and the merchant's dashboard all the same."""
    merchant.mode, merchant.received[:] = "cdr1", []  # an alert to find again
    config = bank_config(merchant.url)
    clock = Clock()

    def instance() -> SandboxServer:
        table = Ledger(ledger.table_name, boto3.client("dynamodb", region_name="eu-west-3"))
        server = SandboxServer(Bank(BankConfig.from_mapping(config), ledger=table, clock=clock), port=0, quiet=True)
        server.start()
        return server

    first = instance()
    sandbox = Sandbox(first, clock, merchant)
    try:
        _, _, page = post(f"{first.test_url}/paiement.cgi", sandbox.request_fields("COLD1", tpe="0900159"))
        session = session_of(page)
        login_cookie = _login(first.base_url, "0900159")
    finally:
        first.stop()

    second = instance()
    try:
        status, _, page = post(f"{second.test_url}/paiement.cgi", card(session, "4111111111111111"))
        assert status == 200
        assert "Votre carte bancaire a été acceptée" in page
        assert second.bank.ledger.get("0900159", "COLD1").status is Status.REGISTERED  # type: ignore[union-attr]
        [alert] = second.bank.ledger.alerts("0900159")
        assert alert.reference == "COLD1"
        status, page = _get(second.base_url, "/test/gestion/partiels", login_cookie)
        assert status == 200
        assert "COLD1" in page  # the same sign-in, served by the new instance
        assert 'class="alert"' in page
    finally:
        second.stop()


def test_a_cold_sandbox_offers_the_card_kept_on_file(merchant: Merchant, ledger: Ledger) -> None:
    """The card on file is in the table with the rest of the book: an instance that never saw the first payment
    offers it to the returning buyer."""
    merchant.mode = "ok"
    config = bank_config(merchant.url)
    clock = Clock()

    def instance() -> SandboxServer:
        table = Ledger(ledger.table_name, boto3.client("dynamodb", region_name="eu-west-3"))
        server = SandboxServer(Bank(BankConfig.from_mapping(config), ledger=table, clock=clock), port=0, quiet=True)
        server.start()
        return server

    first = instance()
    try:
        fields = Sandbox(first, clock, merchant).request_fields("ALIASC1", card_alias="client20")
        _, _, page = post(f"{first.test_url}/paiement.cgi", fields)
        post(f"{first.test_url}/paiement.cgi", card(session_of(page), "5555555555554444"))
    finally:
        first.stop()
    assert list(ledger.records("card")) == ["0900157#client20"]

    second = instance()
    try:
        fields = Sandbox(second, clock, merchant).request_fields("ALIASC2", card_alias="client20")
        _, _, page = post(f"{second.test_url}/paiement.cgi", fields)
        assert 'id="saved_card">555555######4444</strong>' in page
    finally:
        second.stop()


def _login(base: str, tpe: str) -> str:
    """Sign in to the dashboard: the session's cookie."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(
            "POST", "/test/gestion/connexion", f"tpe={tpe}&password=secret",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        answer = connection.getresponse()
        assert answer.status == 303
        return (answer.getheader("Set-Cookie") or "").split(";", 1)[0]
    finally:
        connection.close()


def _get(base: str, path: str, cookie: str) -> tuple[int, str]:
    request = urllib.request.Request(f"{base}{path}", headers={"Cookie": cookie})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# -- two requests at once ---------------------------------------------------------------------------------------


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Threads switch as often as the interpreter allows: a race shows at once."""
    import sys

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def test_concurrent_changes_to_one_payment_are_all_applied(ledger: Ledger, fast_switching: None) -> None:
    kept = payment(3)
    kept.status = Status.PAID
    kept.captures = [Capture(START, Decimal("62.73"), "123456", "payment")]
    ledger.create(kept)

    def refund_ten_cents(index: int) -> None:
        for _ in range(5):
            ledger.update("0900157", "T3", lambda p: rules.refund(p, Decimal("0.10"), RefundPolicy.ANY, START, "x"))

    at_once(8, refund_ten_cents)
    found = ledger.get("0900157", "T3")
    assert found is not None
    assert (len(found.refunds), found.refunded) == (40, Decimal("4.00"))


def test_two_identical_captures_at_once_capture_once(sandbox: Sandbox, fast_switching: None) -> None:
    paid(sandbox, "RACE1", "0900158")
    fields = capture_fields(sandbox, "RACE1", "0900158", "62.73")
    answers = at_once(4, lambda _: post(f"{sandbox.url}/capture_paiement.cgi", fields)[2])
    accepted = [answer for answer in answers if "cdr=1" in answer]
    assert len(accepted) == 1, answers
    found = sandbox.bank.ledger.get("0900158", "RACE1")
    assert found is not None
    assert (found.captured, len(found.captures)) == (Decimal("62.73"), 1)


def test_two_buyers_opening_one_new_reference_at_once_make_one_payment(sandbox: Sandbox) -> None:
    fields = sandbox.request_fields("RACE2")
    answers = at_once(4, lambda _: post(f"{sandbox.url}/paiement.cgi", fields))
    assert [status for status, _, _ in answers] == [200] * 4
    assert [p.reference for p in sandbox.bank.ledger] == ["RACE2"]
    live = [session_of(page) for _, _, page in answers if sandbox.bank.ledger.by_session(session_of(page))]
    assert len(live) == 1  # the last one opened; the others are replaced, as on a reload


def test_a_double_click_on_validate_is_one_attempt(sandbox: Sandbox, fast_switching: None) -> None:
    _, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields("RACE3"))
    session = session_of(page)
    answers = at_once(3, lambda _: post(f"{sandbox.url}/paiement.cgi", card(session, "4111111111111111")))
    assert all("Votre carte bancaire a été acceptée" in page for _, _, page in answers)
    found = sandbox.bank.ledger.get("0900157", "RACE3")
    assert found is not None
    assert len(found.attempts) == 1
    assert len(sandbox.merchant.received) == 1


def test_two_wrong_passwords_at_once_both_count(ledger: Ledger) -> None:
    keys = [sessions.terminal_key("0900157")]
    at_once(5, lambda _: sessions.failed(ledger, keys, START))
    assert sessions.locked_until(ledger, keys, START) == START + sessions.FIRST_DELAY


def test_the_deployed_app_makes_its_table_at_its_first_cold_start(
    ledger: Ledger, merchant: Merchant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``chalice deploy`` creates no table: the app's first cold start does, and the next ones find it."""
    import importlib.util
    import json
    from pathlib import Path

    monkeypatch.setenv("SANDBOX_TABLE", "sandbox-deployed")
    monkeypatch.setenv("SANDBOX_TERMINALS", json.dumps(bank_config(merchant.url)))
    path = Path(__file__).resolve().parents[2] / "sandbox" / "app.py"
    for start in range(2):
        spec = importlib.util.spec_from_file_location(f"sandbox_app_cold_start_{start}", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.ledger.table_name == "sandbox-deployed"
    described = ledger.client.describe_table(TableName="sandbox-deployed")["Table"]
    assert [index["IndexName"] for index in described["GlobalSecondaryIndexes"]] == ["due"]
    ttl = ledger.client.describe_time_to_live(TableName="sandbox-deployed")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")


def test_one_card_kept_by_two_payments_at_once_is_kept_once(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two payments of one alias accepted at once: the other one keeps the card between this one's read and
    its write. The write is conditional, so this one re-reads, finds the same card, and says it kept nothing
    (``cbenregistree=0``): only one confirmation says the card was kept."""
    buyer = payment(4)
    buyer.card_alias = "client21"
    kept = Card(ACCEPTED_VISA, 12, 2030, cvv_entered=True)
    other_instance = Ledger(ledger.table_name, ledger.client)
    read = ledger.read
    reads: list[str] = []

    def read_then_lose_the_race(kind: str, key: str) -> tuple[dict[str, Any], int] | None:
        found = read(kind, key)
        if not reads:
            assert other_instance.keep_card(buyer, kept)
        reads.append(key)
        return found

    monkeypatch.setattr(ledger, "read", read_then_lose_the_race)
    assert ledger.keep_card(buyer, kept) is False
    assert len(reads) == 2
    assert ledger.card_on_file(buyer) == kept
    newer = Card(ACCEPTED_MASTERCARD, 1, 2031, cvv_entered=False)
    assert ledger.keep_card(buyer, newer)  # a new card replaces the old
    assert ledger.card_on_file(buyer) == newer
