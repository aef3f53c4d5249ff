"""The sandbox's payment page over HTTP: the merchant's sealed request, card attempts, confirmations to CGI2
(with their acknowledgement checked), the receipt, and every bad-seal and bad-field case."""

from __future__ import annotations

import base64
import html
import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from chalicelib import rules
from chalicelib.payment_record import MAX_ATTEMPTS, Status
from chalicelib.protocol import PostResult, post_confirmation
from orders.sessions import CARD_ATTEMPTS_PER_REFERENCE
from sealing import (
    Instalment,
    Money,
    Outcome,
    Variant,
    parse_form,
    read_confirmation,
    verify_confirmation,
)
from simulator.tests.support.sandbox import KEY, START, Sandbox, card, get, pay, post, post_from, resealed, session_of

DSP2_FIELDS = {
    "TPE", "date", "montant", "reference", "texte-libre", "code-retour", "cvx", "vld", "brand", "status3ds",
    "numauto", "motifrefus", "originecb", "bincb", "hpancb", "ipclient", "originetr", "veres", "pares",
    "montantech", "filtragecause", "filtragevaleur", "cbenregistree", "cbmasquee", "authentification", "usage",
    "typecompte", "ecard", "modepaiement", "motifrefusautorisation", "filtrage_etat", "MAC",
}  # fmt: skip


def test_the_page_shows_the_merchant_the_order_and_the_card_form(sandbox: Sandbox) -> None:
    status, headers, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields("REF1"))
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    for text in ("La boutique du CD", "0900157", "REF1", "62.73 EUR", "Paiement sécurisé par carte bancaire"):
        assert text in page
    assert '<img src="http://127.0.0.1:9/logo.svg"' in page
    for name in ("card_number", "expiry_month", "expiry_year", "cvv"):
        assert f'name="{name}"' in page
    assert 'type="hidden" name="session"' in page
    assert "Annuler et retourner à la société La boutique du CD" in page
    assert sandbox.bank.ledger.get("0900157", "REF1") is not None


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("FR", "Montant de la transaction"),
        ("EN", "Transaction amount"),
        ("DE", "Betrag der Transaktion"),
        ("IT", "Importo della transazione"),
        ("ES", "Importe de la transacción"),
        ("NL", "Transaction amount"),  # a protocol language the pages do not have: English
    ],
)
def test_the_page_speaks_the_requested_language(sandbox: Sandbox, language: str, text: str) -> None:
    _, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields("LANG1", language=language))
    assert text in page


def _confirmation(sandbox: Sandbox, index: int = -1) -> Any:
    raw = sandbox.merchant.raw[index]
    form = parse_form(raw)
    verify_confirmation(form, KEY, Variant.DSP2)  # the merchant's own check holds
    return read_confirmation(form)


def test_an_accepted_card_confirms_payetest_and_shows_the_receipt(sandbox: Sandbox) -> None:
    page = pay(sandbox, "OK1")
    confirmation = _confirmation(sandbox)
    fields = sandbox.merchant.last()
    assert set(fields) == DSP2_FIELDS
    assert confirmation.return_code.outcome is Outcome.ACCEPTED_TEST
    assert confirmation.amount == Money(Decimal("62.73"), "EUR")
    assert confirmation.reference == "OK1"
    assert confirmation.free_text == "panier 42"
    assert confirmation.card_brand == "VI"
    assert confirmation.cvx_entered is True
    assert confirmation.card_expiry == "1230"
    assert fields["bincb"] == "411111"
    assert fields["cbmasquee"] == "411111******1111"
    assert fields["date"] == "26/11/2026_a_10:00:00"  # Paris time
    assert json.loads(base64.b64decode(fields["authentification"]))["status"] == "authenticated"
    assert len(confirmation.authorisation_number) == 6
    # The receipt (docs/protocol.md, The bank's pages): amount, currency, date and time, authorisation, masked card.
    for text in ("62.73 EUR", "2026-11-26 10:00:00", confirmation.authorisation_number, "411111######1111"):
        assert text in page
    assert 'href="http://shop.example/ok"' in page
    payment = sandbox.bank.ledger.get("0900157", "OK1")
    assert payment is not None
    assert payment.status is Status.PAID
    assert payment.attempts[-1].acknowledged is True
    assert sandbox.bank.ledger.alerts() == []


def test_a_refused_card_then_an_accepted_one(sandbox: Sandbox) -> None:
    _, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields("RETRY1"))
    session = session_of(page)
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session, "4000000000000002"))
    assert "Paiement refusé (refus de la banque de la carte)" in page
    assert "tentative 2 sur 4" in page
    refused = _confirmation(sandbox)
    assert refused.return_code.outcome is Outcome.REFUSED
    assert refused.refusal_reason == "Refus"
    assert refused.authorisation_number == ""
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "5555555555554444"))
    accepted = _confirmation(sandbox)
    assert accepted.return_code.outcome is Outcome.ACCEPTED_TEST
    assert accepted.card_brand == "MC"
    assert "555555######4444" in page
    payment = sandbox.bank.ledger.get("0900157", "RETRY1")
    assert payment is not None
    assert [a.return_code for a in payment.attempts] == ["Annulation", "payetest"]


def test_ipclient_is_the_buyers_real_address_never_x_forwarded_for(sandbox: Sandbox) -> None:
    _, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields("IP1"))
    spoofed = {"X-Forwarded-For": "203.0.113.9"}
    page = post_from("127.0.0.1", f"{sandbox.url}/paiement.cgi", card(session_of(page), "4000000000000002"), spoofed)
    assert sandbox.merchant.last()["ipclient"] == "127.0.0.1"
    post_from("127.0.0.2", f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111"), spoofed)
    assert sandbox.merchant.last()["ipclient"] == "127.0.0.2"


def test_a_card_in_opposition_is_refused_interdit(sandbox: Sandbox) -> None:
    page = pay(sandbox, "STOLEN1", "4000000000000069")
    assert "Paiement refusé (carte en opposition)" in page
    assert _confirmation(sandbox).refusal_reason == "Interdit"


def test_four_refusals_end_the_payment(sandbox: Sandbox) -> None:
    fields = sandbox.request_fields("FOUR1")
    _, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    session = session_of(page)
    for _ in range(4):
        _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session, "4000000000000002"))
    assert "Le nombre maximum de tentatives est atteint" in page
    assert 'href="http://shop.example/err"' in page
    assert len(sandbox.merchant.received) == 4
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session, "4111111111111111"))
    assert "Le nombre maximum de tentatives est atteint" in page  # no fifth attempt
    assert len(sandbox.merchant.received) == 4
    status, _, page = post(f"{sandbox.url}/paiement.cgi", fields)  # the merchant's checkout again
    assert status == 409
    assert "Le nombre maximum de tentatives de paiement pour cette commande est atteint." in page
    assert 'href="http://shop.example/err"' in page


@pytest.mark.parametrize(
    ("number", "month", "year", "cvv", "message"),
    [
        ("4111111111111112", "12", "2030", "123", "Le numéro de carte est invalide."),
        ("41111111", "12", "2030", "123", "Le numéro de carte est invalide."),
        ("4111111111111111", "10", "2026", "123", "La carte est expirée."),
        ("4111111111111111", "13", "2030", "123", "La date d'expiration est invalide."),
        ("4111111111111111", "12", "2030", "12", "Le cryptogramme visuel doit comporter 3 chiffres."),
        ("4111111111111111", "12", "2030", "abc", "Le cryptogramme visuel doit comporter 3 chiffres."),
    ],
)
def test_card_details_are_checked_before_any_authorisation(
    sandbox: Sandbox, number: str, month: str, year: str, cvv: str, message: str
) -> None:
    _, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields("CHECK1"))
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), number, month, year, cvv))
    assert message in html.unescape(page)
    assert sandbox.merchant.received == []
    payment = sandbox.bank.ledger.get("0900157", "CHECK1")
    assert payment is not None
    assert payment.attempts == []


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        ("cdr1", "cdr=1"),
        ("garbage", "accusé de réception invalide: 'merci'"),
        ("html", "accusé de réception en 'text/html', text/plain attendu"),
        ("error500", "HTTP 500"),
        ("redirect", "HTTP 302"),
    ],
)
def test_a_bad_acknowledgement_is_an_alert_and_the_payment_stands(sandbox: Sandbox, mode: str, problem: str) -> None:
    sandbox.merchant.mode = mode
    page = pay(sandbox, "ALERT1")
    assert "Votre carte bancaire a été acceptée" in page
    payment = sandbox.bank.ledger.get("0900157", "ALERT1")
    assert payment is not None
    assert payment.status is Status.PAID
    assert payment.acknowledgement_failed
    [alert] = sandbox.bank.ledger.alerts()
    assert alert.reference == "ALERT1"
    assert problem in alert.detail


def test_an_unreachable_cgi2_is_an_alert(sandbox: Sandbox) -> None:
    with socket.socket() as probe:  # a port nothing listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/confirmation"
    sandbox.bank.poster = lambda _url, body, timeout: post_confirmation(url, body, 2)
    pay(sandbox, "DOWN1")
    [alert] = sandbox.bank.ledger.alerts()
    assert "pas de réponse" in alert.detail


@contextmanager
def raw_cgi2(answer: bytes) -> Iterator[str]:
    """A CGI2 that reads the request and answers ``answer``, whatever it is, then hangs up: its URL."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *([0-9]+)", head)
                while length and len(body) < int(length.group(1)):  # all of it: no reset for unread bytes
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    body += chunk
                connection.sendall(answer)
                connection.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/confirmation"
    finally:
        listener.close()
        thread.join(5)


NOT_HTTP = [
    (b"HELLO THERE\r\n", "BadStatusLine"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nversion=2\n", "IncompleteRead"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "IncompleteRead"),
]


@pytest.mark.parametrize(("answer", "error"), NOT_HTTP)
def test_a_cgi2_answer_that_is_not_http_is_no_answer(answer: bytes, error: str) -> None:
    with raw_cgi2(answer) as url:
        result = post_confirmation(url, b"TPE=0900157", 5)
    assert result.status == 0
    assert error in result.error


@pytest.mark.parametrize(("answer", "error"), NOT_HTTP)
def test_a_cgi2_that_does_not_speak_http_is_an_alert_and_the_buyer_gets_the_receipt(
    sandbox: Sandbox, answer: bytes, error: str
) -> None:
    with raw_cgi2(answer) as url:
        sandbox.bank.poster = lambda _url, body, timeout: post_confirmation(url, body, 5)
        page = pay(sandbox, "NOTHTTP1")
    assert "Votre carte bancaire a été acceptée" in page
    payment = sandbox.bank.ledger.get("0900157", "NOTHTTP1")
    assert payment is not None
    assert payment.status is Status.PAID
    assert payment.attempts[-1].acknowledged is False
    [alert] = sandbox.bank.ledger.alerts()
    assert "pas de réponse" in alert.detail
    assert error in alert.detail


def test_any_failure_of_the_post_is_an_alert_and_the_payment_stands(sandbox: Sandbox) -> None:
    def broken(url: str, body: bytes, timeout: float) -> PostResult:
        raise RuntimeError("the poster broke")

    sandbox.bank.poster = broken
    page = pay(sandbox, "BROKEN1")
    assert "Votre carte bancaire a été acceptée" in page
    payment = sandbox.bank.ledger.get("0900157", "BROKEN1")
    assert payment is not None
    assert payment.status is Status.PAID
    assert payment.attempts[-1].acknowledged is False
    [alert] = sandbox.bank.ledger.alerts()
    assert "RuntimeError: the poster broke" in alert.detail


def test_cancel_returns_to_the_merchant_and_the_order_can_be_paid_later(sandbox: Sandbox) -> None:
    fields = sandbox.request_fields("CANCEL1")
    _, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    session = session_of(page)
    status, headers, _ = get(f"{sandbox.url}/paiement.cgi?session={session}&annuler=1")
    assert status == 303
    assert headers["Location"] == "http://shop.example/err"
    assert sandbox.merchant.received == []  # no card, no confirmation
    payment = sandbox.bank.ledger.get("0900157", "CANCEL1")
    assert payment is not None
    assert payment.status is Status.ABANDONED
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session, "4111111111111111"))
    assert "Le paiement a été abandonné" in page  # the old session is over
    _, _, page = post(f"{sandbox.url}/paiement.cgi", fields)  # the merchant's checkout again
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111"))
    assert "Votre carte bancaire a été acceptée" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("texte-libre", "panier 43"),
        ("mail", "someone.else@example.com"),
        ("lgue", "EN"),
        ("url_retour_ok", "http://elsewhere.example/ok"),
        ("montant", "1.00EUR"),
        ("date", "27/11/2026:10:00:00"),
        ("aliascb", "client1"),  # a field the first post did not have
    ],
)
def test_a_reference_posted_again_with_other_fields_is_refused(sandbox: Sandbox, field: str, value: str) -> None:
    """The bank keeps the order as first posted: the same reference with another texte-libre, mail, lgue... is
    refused, naming the field, and the confirmation keeps carrying the first post's fields."""
    fields = sandbox.request_fields("REPOST1")
    _, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    session = session_of(page)
    status, _, page = post(f"{sandbox.url}/paiement.cgi", _set(fields, field, value))
    assert status == 400, page
    assert f"<code>{field}</code>" in page
    assert "differs from the first request for this reference" in page
    payment = sandbox.bank.ledger.get("0900157", "REPOST1")
    assert payment is not None
    assert (payment.free_text, payment.email, payment.language) == ("panier 42", "buyer@example.com", "FR")
    assert payment.session == session  # the first session goes on
    post(f"{sandbox.url}/paiement.cgi", card(session, "4111111111111111"))
    assert sandbox.merchant.last()["texte-libre"] == "panier 42"
    status, _, page = post(f"{sandbox.url}/paiement.cgi", list(reversed(fields)))  # the same post, reordered
    assert status == 409  # paid now: refused as paid, not as different
    assert "Cette commande a déjà été payée." in page
    status, _, page = post(f"{sandbox.url}/paiement.cgi", _set(fields, field, value))
    assert status == 409  # paid is what matters to the buyer, whatever the form now says
    assert f"<code>{field}</code>" not in page


def test_a_reference_posted_again_after_a_refusal_keeps_its_attempts_left(sandbox: Sandbox) -> None:
    # The merchant's checkout serves the same sealed form while the reference has attempts left: a second tab
    # posts it again, and the buyer goes on where the first tab left off, under the one reference.
    fields = sandbox.request_fields("TABS1")
    _, _, first = post(f"{sandbox.url}/paiement.cgi", fields)
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(first), "4000000000000002"))
    assert "tentative 2 sur 4" in page
    status, _, second = post(f"{sandbox.url}/paiement.cgi", fields)  # the same form, from the other tab
    assert status == 200, second
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(second), "4000000000000002"))
    assert "tentative 3 sur 4" in page  # the attempts are the reference's, not the tab's
    post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111"))
    payment = sandbox.bank.ledger.get("0900157", "TABS1")
    assert payment is not None
    assert payment.status is Status.PAID
    assert [a.return_code for a in payment.attempts] == ["Annulation", "Annulation", "payetest"]


def test_the_bank_gives_the_attempts_the_merchant_kit_counts() -> None:
    assert MAX_ATTEMPTS == CARD_ATTEMPTS_PER_REFERENCE == 4


def test_a_reference_posted_again_unchanged_resumes_the_payment(sandbox: Sandbox) -> None:
    fields = sandbox.request_fields("REPOST2")
    _, _, first = post(f"{sandbox.url}/paiement.cgi", fields)
    status, _, page = post(f"{sandbox.url}/paiement.cgi", list(reversed(fields)))
    assert status == 200, page
    assert session_of(page) != session_of(first)  # a new session for the same order
    assert "Paiement refusé" not in page


CLOSED_MESSAGES = {
    "FR": ("Cette commande a déjà été payée.", "Le nombre maximum de tentatives de paiement pour cette commande"),
    "EN": ("This order has already been paid.", "The maximum number of payment attempts for this order"),
    "DE": ("Diese Bestellung wurde bereits bezahlt.", "Die maximale Anzahl an Zahlungsversuchen für diese"),
    "IT": ("Questo ordine è già stato pagato.", "È stato raggiunto il numero massimo di tentativi di pagamento"),
    "ES": ("Este pedido ya ha sido pagado.", "Se ha alcanzado el número máximo de intentos de pago para este"),
}


def _closed_message(page: str) -> str:
    match = re.search(r'<div class="error" id="message">([^<]*)</div>', page)
    assert match, page
    return html.unescape(match.group(1))


@pytest.mark.parametrize("language", list(CLOSED_MESSAGES))
def test_a_paid_reference_cannot_be_paid_again(sandbox: Sandbox, language: str) -> None:
    """The buyer comes back to pay an order already paid: told so, in the page's language, with the way back
    to the merchant, and nothing more happens."""
    pay(sandbox, "TWICE1", language=language)
    status, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields("TWICE1", language=language))
    assert status == 409
    assert f'<html lang="{language.lower()}">' in page
    assert _closed_message(page).startswith(CLOSED_MESSAGES[language][0])
    assert re.findall(r'<a id="back" href="([^"]*)"', page) == ["http://shop.example/err"]
    assert 'name="card_number"' not in page
    assert "<code>reference</code>" not in page  # not the merchant's field error page
    assert len(sandbox.merchant.received) == 1


@pytest.mark.parametrize("language", list(CLOSED_MESSAGES))
def test_a_reference_with_no_attempts_left_says_so(sandbox: Sandbox, language: str) -> None:
    fields = sandbox.request_fields("SPENT1", language=language)
    _, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    for _ in range(4):
        post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4000000000000002"))
    status, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    assert status == 409
    assert f'<html lang="{language.lower()}">' in page
    assert _closed_message(page).startswith(CLOSED_MESSAGES[language][1])
    assert re.findall(r'<a id="back" href="([^"]*)"', page) == ["http://shop.example/err"]
    assert 'name="card_number"' not in page
    payment = sandbox.bank.ledger.get("0900157", "SPENT1")
    assert payment is not None
    assert (payment.status, len(payment.attempts)) == (Status.REFUSED, 4)


def test_without_url_retour_err_the_closed_reference_page_has_no_link(sandbox: Sandbox) -> None:
    """A legacy terminal may leave ``url_retour_err`` out (its seal does not cover it): no link is guessed."""
    fields = [(n, v) for n, v in sandbox.request_fields("NOERR1", tpe="0900161") if n != "url_retour_err"]
    _, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111"))
    status, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    assert status == 409
    assert _closed_message(page) == "Cette commande a déjà été payée. Aucun nouveau paiement n'est possible."
    assert 'id="back"' not in page
    assert "http://shop.example/ok" not in page


def test_a_cancelled_order_cannot_be_paid_again(sandbox: Sandbox) -> None:
    fields = sandbox.request_fields("VOID1", tpe="0900158")
    _, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111"))
    payment = sandbox.bank.ledger.get("0900158", "VOID1")
    assert payment is not None
    sandbox.bank.ledger.update("0900158", "VOID1", lambda stored: rules.cancel(stored, sandbox.clock.now))
    status, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    assert status == 409
    assert "Cette commande a été annulée par le commerçant" in _closed_message(page)


def test_the_session_expires_after_45_minutes(sandbox: Sandbox) -> None:
    _, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields("SLOW1"))
    sandbox.clock.advance(minutes=46)
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111"))
    assert "Le délai de paiement est dépassé" in page
    assert sandbox.merchant.received == []


def test_a_legacy_terminal_checks_and_seals_the_30_strings(sandbox: Sandbox) -> None:
    fields = sandbox.request_fields("LEGACY1", tpe="0900161")
    assert "contexte_commande" not in dict(fields)
    _, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111"))
    form = parse_form(sandbox.merchant.raw[-1])
    verify_confirmation(form, KEY, Variant.LEGACY_CONFIRMATION, tpe="0900161")
    assert "authentification" not in dict(sandbox.merchant.received[-1])


def test_instalments_confirm_the_first_one(sandbox: Sandbox) -> None:
    day = START.date()
    instalments = (
        Instalment(day, Money(Decimal("31.37"), "EUR")),
        Instalment(day.replace(month=12), Money(Decimal("31.36"), "EUR")),
    )
    pay(sandbox, "SPLIT1", instalments=instalments)
    assert _confirmation(sandbox).instalment_amount == Money(Decimal("31.37"), "EUR")


def test_get_on_the_payment_page_is_not_a_payment(sandbox: Sandbox) -> None:
    status, _, _ = get(f"{sandbox.url}/paiement.cgi")
    assert status == 405


# -- requests the bank refuses: its error page, and nothing recorded --------------------------------------------


def _set(fields: list[tuple[str, str]], name: str, value: str | None) -> list[tuple[str, str]]:
    changed = [(n, v) for n, v in fields if n != name]
    if value is not None:
        changed.append((name, value))
    return resealed(changed)


def _context(**billing: str) -> str:
    base = {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"}
    return base64.b64encode(json.dumps({"billing": {**base, **billing}}).encode()).decode()


BAD_REQUESTS: list[tuple[str, Any]] = [
    ("MAC", lambda f: [(n, "0" * 40 if n == "MAC" else v) for n, v in f]),
    ("MAC", lambda f: [(n, v) for n, v in f if n != "MAC"]),
    ("MAC", lambda f: [(n, "0.01EUR" if n == "montant" else v) for n, v in f]),  # tampered after sealing
    ("TPE", lambda f: _set(f, "TPE", "9999999")),
    ("TPE", lambda f: resealed([(n, v) for n, v in f if n != "TPE"])),
    ("mail", lambda f: _set(f, "mail", None)),
    ("mail", lambda f: _set(f, "mail", "not-an-address")),
    ("version", lambda f: _set(f, "version", "2.0")),
    ("date", lambda f: _set(f, "date", "26/11/26:10:00:00")),
    ("date", lambda f: _set(f, "date", "31/02/2026:10:00:00")),
    ("montant", lambda f: _set(f, "montant", "1.234,50EUR")),
    ("montant", lambda f: _set(f, "montant", "0.00EUR")),
    ("montant", lambda f: _set(f, "montant", "62.73")),
    ("montant", lambda f: _set(f, "montant", "62.73JPY")),
    ("montant", lambda f: _set(f, "montant", "62.7EUR")),  # docs/protocol.md, Payment request: two decimals, a dot
    ("montant", lambda f: _set(f, "montant", "62EUR")),
    ("montant", lambda f: _set(f, "montant", "0062.73EUR")),
    ("montant", lambda f: _set(f, "montant", "62.730EUR")),
    ("montant", lambda f: _set(f, "montant", "62.73eur")),
    ("reference", lambda f: _set(f, "reference", "ABCDEFGHIJKLM")),
    ("reference", lambda f: _set(f, "reference", "REF-1")),
    ("texte-libre", lambda f: _set(f, "texte-libre", "x" * 3201)),
    ("lgue", lambda f: _set(f, "lgue", "XX")),
    ("societe", lambda f: _set(f, "societe", "autresite")),
    ("url_retour_ok", lambda f: _set(f, "url_retour_ok", "javascript:alert(1)")),
    ("url_retour_err", lambda f: _set(f, "url_retour_err", None)),
    ("contexte_commande", lambda f: _set(f, "contexte_commande", None)),
    ("contexte_commande", lambda f: _set(f, "contexte_commande", "not base64!")),
    ("contexte_commande", lambda f: _set(f, "contexte_commande", base64.b64encode(b"[" * 20_000).decode())),
    ("contexte_commande", lambda f: _set(f, "contexte_commande", _context(city=""))),
    (
        "contexte_commande",
        lambda f: _set(
            f, "contexte_commande", base64.b64encode(json.dumps({"billing": {}, "shipping": {}}).encode()).decode()
        ),
    ),
    ("ThreeDSecureChallenge", lambda f: _set(f, "ThreeDSecureChallenge", "always")),
    ("options", lambda f: _set(f, "options", "aliascb")),
    ("nbrech", lambda f: _set(f, "nbrech", "5")),
    ("dateech1", lambda f: _set(f, "dateech1", "01/01/2030")),
    ("montantech1", lambda f: _set(_set(f, "montantech1", "31.3EUR"), "montantech2", "31.43EUR")),
    ("montantech2", lambda f: _set(_set(f, "montantech1", "31.73EUR"), "montantech2", "31EUR")),
    ("montantech1", lambda f: _set(f, "montantech1", "031.37EUR")),
    ("formulaire", lambda f: b"\xff=="),
]


@pytest.mark.parametrize(("field", "spoil"), BAD_REQUESTS)
def test_a_bad_request_gets_the_error_page_and_nothing_is_recorded(sandbox: Sandbox, field: str, spoil: Any) -> None:
    fields = sandbox.request_fields("BAD1")
    if field in ("dateech1", "montantech1", "montantech2"):
        fields = _set(_set(fields, "nbrech", "2"), "montantech1", "31.37EUR")
        fields = _set(_set(fields, "dateech2", "01/02/2030"), "montantech2", "31.36EUR")
        fields = _set(fields, "dateech1", START.strftime("%d/%m/%Y"))
    spoiled = spoil(fields)
    status, headers, page = post(f"{sandbox.url}/paiement.cgi", spoiled)
    assert status == 400, page
    assert headers["Content-Type"].startswith("text/html")
    assert "Demande de paiement refusée" in page
    assert f"<code>{field}</code>" in page
    assert sandbox.bank.ledger.get("0900157", "BAD1") is None
    assert list(sandbox.bank.ledger) == []
    assert sandbox.merchant.received == []
