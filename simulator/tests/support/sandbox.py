"""The sandbox bank on a free port for tests: its test terminals, a stand-in merchant CGI2 that records
confirmations, helpers to build sealed requests the way the merchant side does (``sealing``), to pay, to call
the back-office, and a browser for the merchant dashboard (the fixtures are in
``simulator/tests/sandbox/conftest.py``)."""

from __future__ import annotations

import http.client
import http.cookiejar
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

from chalicelib.bank import Bank
from chalicelib.devserver import SandboxServer
from orders.bank import BankClient, Transport, urllib_transport
from orders.terminals import TerminalConfig
from sealing import (
    MerchantKey,
    Money,
    PaymentRequest,
    SealVariant,
    Terminal,
    build_payment_form,
    parse_form,
    seal,
    verify_confirmation,
)

KEY_TEXT = "12345678901234567890123456789012345678P0"

KEY = MerchantKey(KEY_TEXT)

BILLING = {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"}

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

TERMINALS: dict[str, dict[str, Any]] = {
    "0900157": {"mode": "immediate"},
    "0900158": {"mode": "deferred", "deferral_days": 3, "end_policy": "validate"},
    "0900159": {"mode": "deferred_authorization", "deferral_days": 7},
    "0900160": {"mode": "deferred", "deferral_days": 3, "end_policy": "cancel"},
    "0900161": {"mode": "immediate", "seal": "legacy"},
    "0900162": {"mode": "immediate", "refunds": "partial_only"},
    "0900163": {"mode": "immediate", "refunds": "full_only"},
    "0900164": {"mode": "immediate", "refunds": "none"},
    "0900165": {"mode": "immediate", "backoffice_ips": ["192.0.2.7"]},
    "0900166": {"mode": "immediate", "backoffice_ips": ["127.0.0.2"]},  # a loopback address tests can call from
    "0900167": {"mode": "deferred", "deferral_days": 3, "seal": "legacy"},
    # An American Express contract, Crédit Mutuel's branding and the merchant's own text for the link back.
    "0900168": {
        "mode": "immediate",
        "bank": "creditmutuel",
        "american_express": True,
        "return_link_text": {"FR": "Retour à la boutique", "EN": "Back to the shop"},
    },
    "0900169": {"mode": "immediate", "bank": "obc", "return_link_text": "Revenir chez La boutique du CD"},
    # The bank mails the merchant each accepted payment.
    "0900170": {"mode": "immediate", "merchant_email": "commandes@boutiqueducd.example", "confirmation_mail": True},
}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Merchant:
    """A stand-in CGI2: checks the seal like the real one and answers the acknowledgement, or misbehaves."""

    url: str = ""
    mode: str = "ok"  # ok | cdr1 | html | garbage | error500 | redirect
    received: list[list[tuple[str, str]]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)

    def answer(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        self.raw.append(body)
        form = parse_form(body)
        self.received.append([(name, value.decode()) for name, value in form.fields])
        variant = SealVariant.LEGACY if TERMINALS.get(form.tpe, {}).get("seal") == "legacy" else SealVariant.DSP2
        try:
            verify_confirmation(form, KEY, variant.for_confirmation(), tpe=form.tpe)
            ack = b"version=2\ncdr=0\n"
        except ValueError:
            ack = b"version=2\ncdr=1\n"
        if self.mode == "cdr1":
            ack = b"version=2\ncdr=1\n"
        if self.mode == "html":  # the right words, the wrong type
            return 200, {"Content-Type": "text/html"}, ack
        if self.mode == "garbage":
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, b"merci\n"
        if self.mode == "error500":
            return 500, {"Content-Type": "text/plain"}, b"oops"
        if self.mode == "redirect":
            return 302, {"Location": "https://elsewhere.example/"}, b""
        return 200, {"Content-Type": "text/plain", "Pragma": "no-cache"}, ack

    def last(self) -> dict[str, str]:
        return dict(self.received[-1])


def bank_config(cgi2_url: str, **extra: dict[str, Any]) -> dict[str, Any]:
    terminals = {}
    for tpe, settings in {**TERMINALS, **extra}.items():
        terminals[tpe] = {
            "key": KEY_TEXT,
            "societe": "boutiqueducd",
            "merchant_name": "La boutique du CD",
            "cgi2_url": cgi2_url,
            "logo_url": "http://127.0.0.1:9/logo.svg",
            "dashboard_password": "secret",
            **settings,
        }
    return {"terminals": terminals}


@dataclass
class Sandbox:
    server: SandboxServer
    clock: Clock
    merchant: Merchant

    @property
    def bank(self) -> Bank:
        return self.server.bank

    @property
    def url(self) -> str:
        return self.server.test_url

    def terminal(self, tpe: str = "0900157") -> Terminal:
        legacy = TERMINALS.get(tpe, {}).get("seal") == "legacy"
        return Terminal(
            tpe=tpe,
            key=KEY,
            societe="boutiqueducd",
            seal=SealVariant.LEGACY if legacy else SealVariant.DSP2,
            payment_base_url=self.url,
            backoffice_base_url=self.url,
        )

    def client(self, tpe: str = "0900157", transport: Transport = urllib_transport) -> BankClient:
        return BankClient(
            TerminalConfig(self.terminal(tpe)), transport, timeout=5, status_attempts=1, sleep=lambda _: None
        )

    def request_fields(
        self, reference: str, amount: str = "62.73", tpe: str = "0900157", language: str = "FR", **kw: Any
    ) -> list[tuple[str, str]]:
        request = PaymentRequest(
            amount=Money(Decimal(amount), "EUR"),
            reference=reference,
            ordered_at=self.clock.now,
            email="buyer@example.com",
            language=language,
            free_text="panier 42",
            return_ok_url="http://shop.example/ok",
            return_err_url="http://shop.example/err",
            billing=BILLING,
            **kw,
        )
        return list(build_payment_form(self.terminal(tpe), request).fields)


Answer = tuple[int, dict[str, str], str]


def post(url: str, fields: list[tuple[str, str]] | Mapping[str, str] | bytes) -> Answer:
    body = fields if isinstance(fields, bytes) else urlencode(fields).encode()
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        url, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    return _open(request)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def from_address(source: str, headers: Mapping[str, str] | None = None) -> Transport:
    """A back-office transport whose connections leave from ``source`` (127.0.0.2: loopback, but not
    127.0.0.1), sending ``headers`` too."""

    def transport(url: str, body: bytes, timeout: float) -> bytes:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(
            parts.hostname or "", parts.port, timeout=timeout, source_address=(source, 0)
        )
        try:
            connection.request(
                "POST", parts.path, body, {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
            )
            return connection.getresponse().read()
        finally:
            connection.close()

    return transport


def post_from(source: str, url: str, fields: Mapping[str, str], headers: Mapping[str, str] | None = None) -> str:
    """POST a form from ``source``: the page."""
    return from_address(source, headers)(url, urlencode(fields).encode(), 10).decode()


def get(url: str) -> Answer:
    return _open(urllib.request.Request(url))  # noqa: S310


def _open(request: urllib.request.Request) -> Answer:
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def resealed(fields: list[tuple[str, str]], tpe_key: MerchantKey = KEY) -> list[tuple[str, str]]:
    """The fields with a fresh DSP2 seal (after a test changed one)."""
    fields = [(name, value) for name, value in fields if name != "MAC"]
    return [*fields, ("MAC", seal(tpe_key, fields))]


def session_of(page: str) -> str:
    match = re.search(r'name="session" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def card(session: str, number: str, month: str = "12", year: str = "2030", cvv: str = "123") -> dict[str, str]:
    return {"session": session, "card_number": number, "expiry_month": month, "expiry_year": year, "cvv": cvv}


def pay(sandbox: Sandbox, reference: str, number: str = "4111111111111111", **kw: Any) -> str:
    """Post the merchant's form, then one card: the page after the card."""
    status, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields(reference, **kw))
    assert status == 200, page
    status, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), number))
    assert status == 200, page
    return page


TOTAL = Money(Decimal("62.73"), "EUR")


DAY = date(2026, 11, 26)


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def paid(sandbox: Sandbox, reference: str, tpe: str = "0900157") -> str:
    """Pay ``reference`` on ``tpe``; its authorisation number."""
    pay(sandbox, reference, tpe=tpe)
    payment = sandbox.bank.ledger.get(tpe, reference)
    assert payment is not None
    assert payment.status.accepted
    return payment.authorisation_number


def client_now() -> datetime:
    return START + timedelta(hours=1)


def at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """``work(i)`` in ``count`` threads released together; their results (or exceptions) in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # the test looks at it
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def open(self, path: str, form: dict[str, str] | None = None) -> Answer:
        data = urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data)  # noqa: S310 - 127.0.0.1 only
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(request, timeout=10) as answer:
                return answer.status, dict(answer.headers), answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def login(self, tpe: str, password: str = "secret") -> Answer:  # noqa: S107 - the test terminals' password
        return self.open("/test/gestion/connexion", {"tpe": tpe, "password": password})

    def token(self) -> str:
        _, _, page = self.open("/test/gestion/differes")
        match = re.search(r'name="jeton" value="([^"]+)"', page)
        assert match
        return match.group(1)
