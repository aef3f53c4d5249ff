"""Back-office messages (docs/protocol.md, Back-office calls): capture, cancel, refund, status, the answers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from sealing import (
    CAPTURE_CGI,
    REFUND_CGI,
    STATUS_CGI,
    BackOfficeRequest,
    Bank,
    BankAnswerError,
    CaptureResult,
    Environment,
    FieldError,
    MalformedMessageError,
    MerchantKey,
    Money,
    PaymentState,
    SealVariant,
    Terminal,
    cancel_request,
    capture_request,
    capture_result,
    parse_lines_answer,
    parse_status_answer,
    refund_request,
    status_request,
    terminal_from_mapping,
)
from tests.support import sealing_vectors as v

KEY = MerchantKey(v.TEST_KEY)
TERMINAL = Terminal(tpe="1234567", key=KEY, societe="monSite1")
AT = datetime(2006, 12, 10, 9, 0, 0)


def eur(text: str) -> Money:
    return Money(Decimal(text), "EUR")


def assert_sealed_dsp2(request: BackOfficeRequest) -> None:
    names = [name for name, _ in request.fields]
    assert names[-1] == "MAC"
    assert len(set(names)) == len(names)
    assert request.as_dict()["MAC"] == v.hmac_hex(v.TEST_KEY_BYTES, v.dsp2_string(list(request.fields)))


def capture(**changes: Any) -> BackOfficeRequest:
    values: dict[str, Any] = {
        "reference": "ABERTPY00145",
        "ordered_on": date(2006, 12, 5),
        "total": eur("62.73"),
        "to_capture": eur("30.00"),
        "already_captured": eur("0"),
        "remaining": eur("32.73"),
        "at": AT,
    }
    values.update(changes)
    return capture_request(TERMINAL, **values)


def test_capture_fields_and_seal() -> None:
    request = capture()
    assert request.cgi == CAPTURE_CGI
    assert [name for name, _ in request.fields] == [
        "version",
        "TPE",
        "date",
        "date_commande",
        "montant",
        "montant_a_capturer",
        "montant_deja_capture",
        "montant_restant",
        "reference",
        "texte-libre",
        "lgue",
        "societe",
        "MAC",
    ]
    fields = request.as_dict()
    assert fields["date"] == "10/12/2006:09:00:00"
    assert fields["date_commande"] == "05/12/2006"
    assert fields["montant"] == "62.73EUR"
    assert_sealed_dsp2(request)
    assert TERMINAL.url(request.cgi) == "https://ssl.paiement.cic-banques.fr/test/capture_paiement.cgi"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"to_capture": eur("30.00"), "remaining": eur("32.72")}, "montant"),
        ({"to_capture": eur("30.00"), "remaining": eur("32.74")}, "montant"),
        ({"already_captured": eur("10.00")}, "montant"),
        ({"to_capture": eur("0"), "remaining": eur("62.73")}, "to_capture"),
        ({"remaining": Money(Decimal("32.73"), "USD")}, "remaining"),
        ({"to_capture": Money(Decimal("30.00"), "USD")}, "to_capture"),
        ({"reference": "ABC-1"}, "reference"),
    ],
)
def test_capture_checks_the_sum_rule(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldError) as error:
        capture(**changes)
    assert error.value.field == field


def test_a_second_partial_capture() -> None:
    fields = capture(to_capture=eur("12.73"), already_captured=eur("30.00"), remaining=eur("20.00")).as_dict()
    assert (fields["montant_a_capturer"], fields["montant_deja_capture"], fields["montant_restant"]) == (
        "12.73EUR",
        "30.00EUR",
        "20.00EUR",
    )


def test_cancel_sends_nothing_to_capture_and_nothing_remaining() -> None:
    request = cancel_request(
        TERMINAL,
        reference="ABERTPY00145",
        ordered_on=date(2006, 12, 5),
        total=eur("62.73"),
        already_captured=eur("0"),
        at=AT,
    )
    fields = request.as_dict()
    assert request.cgi == CAPTURE_CGI
    assert fields["montant_a_capturer"] == "0EUR"
    assert fields["montant_restant"] == "0EUR"
    assert fields["montant_deja_capture"] == "0EUR"
    assert fields["montant"] == "62.73EUR"
    assert_sealed_dsp2(request)


def test_cancel_after_a_partial_capture() -> None:
    fields = cancel_request(
        TERMINAL,
        reference="ABERTPY00145",
        ordered_on=date(2006, 12, 5),
        total=eur("62.73"),
        already_captured=eur("30.00"),
        at=AT,
    ).as_dict()
    assert (fields["montant_a_capturer"], fields["montant_deja_capture"], fields["montant_restant"]) == (
        "0EUR",
        "30.00EUR",
        "0EUR",
    )


@pytest.mark.parametrize("already", [eur("62.74"), Money(Decimal("1"), "USD")])
def test_cancel_refuses_an_impossible_captured_amount(already: Money) -> None:
    with pytest.raises(FieldError) as error:
        cancel_request(
            TERMINAL,
            reference="ABERTPY00145",
            ordered_on=date(2006, 12, 5),
            total=eur("62.73"),
            already_captured=already,
            at=AT,
        )
    assert error.value.field == "already_captured"


def test_legacy_cancel_uses_the_fixed_order_capture_string() -> None:
    legacy = Terminal(tpe="1234567", key=KEY, societe="monSite1", seal=SealVariant.LEGACY)
    fields = cancel_request(
        legacy,
        reference="ABERTPY00145",
        ordered_on=date(2006, 12, 5),
        total=eur("62.73"),
        already_captured=eur("0"),
        at=AT,
    ).as_dict()
    sealed = "1234567*10/12/2006:09:00:00*0EUR0EUR0EUR*ABERTPY00145**3.0*FR*monSite1*"
    assert fields["MAC"] == v.hmac_hex(v.TEST_KEY_BYTES, sealed)


def refund(**changes: Any) -> BackOfficeRequest:
    values: dict[str, Any] = {
        "reference": "ABERTPY00145",
        "ordered_on": date(2006, 12, 5),
        "captured_on": date(2006, 12, 6),
        "authorisation_number": "010101",
        "total": eur("62.73"),
        "refund": eur("20.00"),
        "refundable": eur("62.73"),
        "at": AT,
    }
    values.update(changes)
    return refund_request(TERMINAL, **values)


def test_refund_fields_and_seal() -> None:
    request = refund()
    assert request.cgi == REFUND_CGI
    fields = request.as_dict()
    assert [name for name, _ in request.fields] == [
        "version",
        "TPE",
        "date",
        "date_commande",
        "date_remise",
        "num_autorisation",
        "montant",
        "montant_recredit",
        "montant_possible",
        "reference",
        "lgue",
        "societe",
        "MAC",
    ]
    assert (fields["montant_recredit"], fields["montant_possible"], fields["date_remise"]) == (
        "20.00EUR",
        "62.73EUR",
        "06/12/2006",
    )
    assert_sealed_dsp2(request)
    # The whole refundable amount is allowed.
    assert refund(refund=eur("62.73")).as_dict()["montant_recredit"] == "62.73EUR"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"refund": eur("62.74")}, "refund"),
        ({"refund": eur("20.01"), "refundable": eur("20.00")}, "refund"),
        ({"refund": eur("0")}, "refund"),
        ({"refund": Money(Decimal("1"), "USD")}, "refund"),
        ({"refundable": Money(Decimal("1"), "USD")}, "refundable"),
    ],
)
def test_refund_above_what_is_refundable_is_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldError) as error:
        refund(**changes)
    assert error.value.field == field


def test_status_request_fields() -> None:
    request = status_request(TERMINAL, reference="ABERTPY00145", total=eur("62.73"), at=AT)
    assert request.cgi == STATUS_CGI
    assert request.fields[:-1] == (
        ("version", "2.0"),
        ("TPE", "1234567"),
        ("date", "10/12/2006:09:00:00"),
        ("montant", "62.73EUR"),
        ("reference", "ABERTPY00145"),
        ("societe", "monSite1"),
    )
    assert_sealed_dsp2(request)


def test_the_back_office_host_is_configurable() -> None:
    terminal = Terminal(tpe="1234567", key=KEY, societe="monSite1", backoffice_base_url="https://payment-api.e-i.com/")
    assert terminal.url(STATUS_CGI) == "https://payment-api.e-i.com/etatpaiement.cgi"
    assert terminal.payment_url == "https://ssl.paiement.cic-banques.fr/test/paiement.cgi"


@pytest.mark.parametrize(
    ("environment", "url"),
    [
        (Environment.PRODUCTION, "https://p.monetico-services.com/capture_paiement.cgi"),
        (Environment.TEST, "https://p.monetico-services.com/test/capture_paiement.cgi"),
    ],
)
def test_monetico_back_office_calls_go_to_the_payment_host_unless_configured(
    environment: Environment, url: str
) -> None:
    # What most public integrations do; the API host of some others is one setting away.
    terminal = Terminal(tpe="1234567", key=KEY, societe="monSite1", bank=Bank.MONETICO, environment=environment)
    assert terminal.url(CAPTURE_CGI) == url
    assert terminal.url(REFUND_CGI) == url.replace(CAPTURE_CGI, REFUND_CGI)
    api = terminal_from_mapping(
        "1234567",
        {"key": v.TEST_KEY, "societe": "monSite1", "bank": "monetico", "environment": environment.value,
         "backoffice_base_url": "https://payment-api.e-i.com"},
        "terminals.1234567",
    )  # fmt: skip
    assert api.url(CAPTURE_CGI) == "https://payment-api.e-i.com/capture_paiement.cgi"
    assert api.payment_url == url.replace(CAPTURE_CGI, "paiement.cgi")


# --- answers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "cdr", "label"),
    [
        (b"version=1.0\nreference=ABERTPY00145\ncdr=1\nlib=paiement accepte\naut=123456\n", 1, "paiement accepte"),
        (b"version=1.0\r\ncdr=0\r\nlib=commande non authentifiee\r\n", 0, "commande non authentifiee"),
        ("version=1.0&cdr=-1&lib=erreur", -1, "erreur"),
        (b"cdr=-46\nlib=d\xe9j\xe0 rembours\xe9", -46, "déjà remboursé"),
    ],
)
def test_lines_answers(body: bytes | str, cdr: int, label: str) -> None:
    answer = parse_lines_answer(body)
    assert (answer.cdr, answer.label) == (cdr, label)


def test_lines_answer_authorisation_and_capture_result() -> None:
    answer = parse_lines_answer(b"version=1.0\ncdr=1\naut=123456\n")
    assert answer.authorisation_number == "123456"
    assert capture_result(answer) is CaptureResult.ACCEPTED
    assert capture_result(parse_lines_answer("cdr=0")) is CaptureResult.REFUSED
    assert capture_result(parse_lines_answer("cdr=-1")) is CaptureResult.ERROR
    with pytest.raises(MalformedMessageError):
        capture_result(parse_lines_answer("cdr=2"))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"version=1.0\nlib=ok\n",
        b"cdr=\n",
        b"cdr=abc\n",
        "cdr=\u0661".encode(),
        b"cdr=1_0",
        b"cdr=" + b"9" * 5000,
        b"<html><body>502 Bad Gateway</body></html>",
        b"cdr=1\nthis is not a field\n",
        b"\x00\xff\xfe",
        b"cdr=1\n" + b"x" * 70_000,
    ],
)
def test_garbage_lines_answers_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedMessageError):
        parse_lines_answer(body)


STATUS_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<etatpaiement>
  <version>2.0</version>
  <reference>ABERTPY00145</reference>
  <etat>PA</etat>
  <numauto>010101</numauto>
  <montantrecouvre>62.73EUR</montantrecouvre>
  <recredits>10.00EUR</recredits>
</etatpaiement>
"""


def test_status_answer() -> None:
    answer = parse_status_answer(STATUS_XML)
    assert answer.state is PaymentState.PAID
    assert not answer.state.failed
    assert answer.authorisation_number == "010101"
    assert answer.collected == eur("62.73")
    assert answer.refunded == eur("10.00")
    assert answer.fields["reference"] == "ABERTPY00145"


@pytest.mark.parametrize(
    ("etat", "state", "failed"),
    [
        ("AN", PaymentState.CANCELLED, False),
        ("RE", PaymentState.REFUSED, True),
        ("GR", PaymentState.REJECTED, True),
        ("AP", PaymentState.AWAITING, True),
    ],
)
def test_status_states(etat: str, state: PaymentState, failed: bool) -> None:
    answer = parse_status_answer(f"<r><etat>{etat}</etat></r>")
    assert answer.state is state
    assert answer.state.failed is failed
    assert answer.collected is None
    assert answer.refunded is None


def test_refunds_given_one_by_one_are_read_from_their_total() -> None:
    body = b"""<etatpaiement><etat>PA</etat><montant>62.73EUR</montant><montantrecouvre>62.73EUR</montantrecouvre>
      <recredits>
        <recredit><date>11/12/2006</date><montant>10.00EUR</montant></recredit>
        <recredit><date>12/12/2006</date><montant>5.50EUR</montant></recredit>
        <total>15.50EUR</total>
      </recredits></etatpaiement>"""
    answer = parse_status_answer(body)
    assert answer.refunded == eur("15.50")
    assert answer.collected == eur("62.73")
    assert answer.fields["montant"] == "62.73EUR"  # the order's, not a refund's
    assert parse_status_answer(b"<r><etat>PA</etat><recredits><total>0EUR</total></recredits></r>").refunded == eur("0")


def test_refunds_listed_without_their_total_are_malformed() -> None:
    body = b"<r><etat>PA</etat><recredits><recredit><montant>10.00EUR</montant></recredit></recredits></r>"
    with pytest.raises(MalformedMessageError, match="total"):
        parse_status_answer(body)


@pytest.mark.parametrize(
    ("body", "cdr", "label"),
    [
        (b"<etatpaiement><version>2.0</version><cdr>-1</cdr><lib>commande non authentifiee</lib></etatpaiement>",
         "-1", "commande non authentifiee"),
        (b"<r><cdr>0</cdr><lib>montant errone</lib></r>", "0", "montant errone"),
        (b"<r><cdr>-30</cdr></r>", "-30", ""),
    ],
)  # fmt: skip
def test_an_error_answer_is_a_clear_error(body: bytes, cdr: str, label: str) -> None:
    with pytest.raises(BankAnswerError) as error:
        parse_status_answer(body)
    assert (error.value.cdr, error.value.label) == (cdr, label)
    assert f"cdr={cdr}" in str(error.value)
    assert "etat" not in str(error.value)


def test_status_answer_in_latin1() -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><r><etat>AN</etat><lib>annulé</lib></r>'.encode("latin-1")
    assert parse_status_answer(body).fields["lib"] == "annulé"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'<!DOCTYPE r [<!ENTITY e "PA">]><r><etat>&e;</etat></r>', id="entity"),
        pytest.param(
            b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<r><etat>&b;</etat></r>",
            id="billion-laughs",
        ),
        pytest.param(b'<!DOCTYPE r SYSTEM "file:///etc/passwd"><r><etat>PA</etat></r>', id="external-dtd"),
        pytest.param(b"<r><etat>&xxe;</etat></r>", id="undeclared-entity"),
        pytest.param(b"", id="empty"),
        pytest.param(b"cdr=1\nlib=ok", id="lines-not-xml"),
        pytest.param(b"<r><etat>PA</etat>", id="truncated"),
        pytest.param(b"<r><etat>ZZ</etat></r>", id="unknown-state"),
        pytest.param(b"<r><numauto>1</numauto></r>", id="no-state"),
        pytest.param(b"<r><etat>PA</etat><montantrecouvre>62,73EUR</montantrecouvre></r>", id="bad-amount"),
        pytest.param(b"<r>" * 40_000 + b"</r>" * 40_000, id="huge"),
        pytest.param(b"\xff\xfe<\x00r\x00>\x00", id="utf16"),
    ],
)
def test_garbage_or_dangerous_status_answers_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedMessageError):
        parse_status_answer(body)


def test_deeply_nested_status_answer_is_read_without_error() -> None:
    body = b"<r>" * 5000 + b"<etat>PA</etat>" + b"</r>" * 5000
    assert parse_status_answer(body).state is PaymentState.PAID
