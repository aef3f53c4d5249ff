"""The sandbox's back-office CGIs over HTTP, called with the merchant's own client (``orders.bank``) and with
hand-made messages: every rule of docs/protocol.md, Back-office calls, and its documented code, and the end of
deferral periods."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.cards import REFUSED_LATER
from chalicelib.payment_record import Status
from orders.bank import BankClient
from orders.exceptions import BankRefusedError
from sealing import (
    BankAnswerError,
    Money,
    PaymentState,
    SealVariant,
    capture_request,
    parse_lines_answer,
    parse_status_answer,
    refund_request,
    status_request,
)
from simulator.tests.support.sandbox import (
    DAY,
    TOTAL,
    Sandbox,
    card,
    client_now,
    eur,
    from_address,
    paid,
    pay,
    post,
    resealed,
    session_of,
)


def status(client: BankClient, reference: str, total: Money = TOTAL) -> Any:
    return client.status(reference=reference, total=total, at=client_now())


def capture(client: BankClient, reference: str, amount: str, already: str = "0") -> Any:
    return client.capture(
        reference=reference,
        ordered_on=DAY,
        total=TOTAL,
        to_capture=eur(amount),
        already_captured=eur(already),
        at=client_now(),
    )


def cancel(client: BankClient, reference: str, already: str = "0") -> Any:
    return client.cancel(
        reference=reference, ordered_on=DAY, total=TOTAL, already_captured=eur(already), at=client_now()
    )


def refund(
    client: BankClient, reference: str, amount: str, possible: str, numauto: str, captured_on: date = DAY
) -> Any:
    return client.refund(
        reference=reference,
        ordered_on=DAY,
        captured_on=captured_on,
        authorisation_number=numauto,
        total=TOTAL,
        refund=eur(amount),
        refundable=eur(possible),
        at=client_now(),
    )


def raw_refund(sandbox: Sandbox, tpe: str, reference: str, amount: str, possible: str, numauto: str) -> int:
    """A refund message the merchant's client would not send (it checks ``amount <= possible`` first)."""
    message = refund_request(
        sandbox.terminal(tpe), reference=reference, ordered_on=DAY, captured_on=DAY, authorisation_number=numauto,
        total=TOTAL, refund=eur(amount), refundable=eur(amount), at=client_now(),
    )  # fmt: skip
    fields = [(n, eur(possible).wire() if n == "montant_possible" else v) for n, v in message.fields]
    return parse_lines_answer(post(f"{sandbox.url}/recredit_paiement.cgi", resealed(fields))[2]).cdr


def refused(call: Callable[[], Any]) -> BankRefusedError:
    with pytest.raises(BankRefusedError) as caught:
        call()
    return caught.value


# -- immediate payments -------------------------------------------------------------------------------------------


def test_an_immediate_payment_is_collected_and_refunded_in_parts(sandbox: Sandbox) -> None:
    client = sandbox.client()
    numauto = paid(sandbox, "IMM1")
    answer = status(client, "IMM1")
    assert answer.state is PaymentState.PAID
    assert answer.authorisation_number == numauto
    assert answer.collected == TOTAL
    assert answer.refunded == eur("0")

    assert refused(lambda: capture(client, "IMM1", "62.73")).code == 0  # captured at the order already
    assert refused(lambda: cancel(client, "IMM1", "62.73")).code == 0

    assert refund(client, "IMM1", "20.00", "62.73", numauto).label == "recredit effectue"
    assert status(client, "IMM1").refunded == eur("20.00")
    assert refused(lambda: refund(client, "IMM1", "10.00", "62.73", numauto)).code == -52  # stale montant_possible
    assert refund(client, "IMM1", "42.73", "42.73", numauto)
    assert status(client, "IMM1").refunded == TOTAL
    assert raw_refund(sandbox, "0900157", "IMM1", "1.00", "0.00", numauto) == -46


def test_a_refund_above_what_was_captured_is_refused(sandbox: Sandbox) -> None:
    numauto = paid(sandbox, "IMM2")
    terminal = sandbox.terminal()
    message = refund_request(
        terminal, reference="IMM2", ordered_on=DAY, captured_on=DAY, authorisation_number=numauto, total=TOTAL,
        refund=eur("70.00"), refundable=eur("70.00"), at=client_now(),
    )  # fmt: skip
    # montant_possible says 70, the bank can refund 62.73: the already-refunded amount is wrong.
    answer = parse_lines_answer(post(f"{sandbox.url}/recredit_paiement.cgi", list(message.fields))[2])
    assert answer.cdr == -52
    message = refund_request(
        terminal, reference="IMM2", ordered_on=DAY, captured_on=DAY, authorisation_number=numauto, total=TOTAL,
        refund=eur("62.73"), refundable=eur("62.73"), at=client_now(),
    )  # fmt: skip
    fields = [(n, "70.00EUR" if n == "montant_recredit" else v) for n, v in message.fields]
    answer = parse_lines_answer(post(f"{sandbox.url}/recredit_paiement.cgi", resealed(fields))[2])
    assert answer.cdr == -48


@pytest.mark.parametrize(
    ("tpe", "amount", "code"),
    [
        ("0900162", "62.73", -51),  # partial refunds only: a full one is refused
        ("0900163", "10.00", -48),  # full refunds only: a partial one is refused
        ("0900164", "10.00", -48),  # no refunds on this contract
        ("0900165", "10.00", -30),  # the caller's address is not allowed
    ],
)
def test_refund_contracts(sandbox: Sandbox, tpe: str, amount: str, code: int) -> None:
    numauto = paid(sandbox, "CONTRACT1", tpe)
    assert refused(lambda: refund(sandbox.client(tpe), "CONTRACT1", amount, "62.73", numauto)).code == code


def test_partial_refunds_only_can_refund_the_last_part(sandbox: Sandbox) -> None:
    client = sandbox.client("0900162")
    numauto = paid(sandbox, "PARTREF1", "0900162")
    assert refund(client, "PARTREF1", "20.00", "62.73", numauto).label == "recredit effectue"
    assert refund(client, "PARTREF1", "42.73", "42.73", numauto).label == "recredit effectue"  # what is left
    assert status(client, "PARTREF1").refunded == TOTAL
    assert raw_refund(sandbox, "0900162", "PARTREF1", "1.00", "0.00", numauto) == -46


def test_full_refunds_only_refunds_everything_once(sandbox: Sandbox) -> None:
    client = sandbox.client("0900163")
    numauto = paid(sandbox, "FULLREF1", "0900163")
    assert refused(lambda: refund(client, "FULLREF1", "20.00", "62.73", numauto)).code == -48
    assert refund(client, "FULLREF1", "62.73", "62.73", numauto).label == "recredit effectue"
    assert status(client, "FULLREF1").refunded == TOTAL


@pytest.mark.parametrize("forwarded", ["192.0.2.7", "192.0.2.7, 127.0.0.1"])
def test_x_forwarded_for_does_not_get_past_the_ip_allow_list(sandbox: Sandbox, forwarded: str) -> None:
    numauto = paid(sandbox, "XFF1", "0900165")  # allows 192.0.2.7 only
    client = sandbox.client("0900165", from_address("127.0.0.1", {"X-Forwarded-For": forwarded}))
    assert refused(lambda: refund(client, "XFF1", "10.00", "62.73", numauto)).code == -30
    payment = sandbox.bank.ledger.get("0900165", "XFF1")
    assert payment is not None
    assert payment.refunds == []


def test_the_allowed_address_gets_through(sandbox: Sandbox) -> None:
    numauto = paid(sandbox, "IPOK1", "0900166")  # allows 127.0.0.2 only
    spoofed = sandbox.client("0900166", from_address("127.0.0.1", {"X-Forwarded-For": "127.0.0.2"}))
    assert refused(lambda: refund(spoofed, "IPOK1", "10.00", "62.73", numauto)).code == -30
    assert refused(lambda: refund(sandbox.client("0900166"), "IPOK1", "10.00", "62.73", numauto)).code == -30
    allowed = sandbox.client("0900166", from_address("127.0.0.2"))
    assert refund(allowed, "IPOK1", "10.00", "62.73", numauto).label == "recredit effectue"
    assert status(allowed, "IPOK1").refunded == eur("10.00")


def test_refund_checks_the_order(sandbox: Sandbox) -> None:
    client = sandbox.client()
    numauto = paid(sandbox, "IMM3")
    assert refused(lambda: refund(client, "IMM3", "1.00", "62.73", "999999")).code == -48  # not its authorisation
    assert refused(lambda: refund(client, "IMM3", "1.00", "62.73", numauto, DAY + timedelta(days=1))).code == -48
    assert refused(lambda: refund(client, "NOSUCH", "1.00", "62.73", numauto)).code == -48


# -- deferred payment -----------------------------------------------------------------------------------------------


def test_a_deferred_payment_is_captured_in_full_once(sandbox: Sandbox) -> None:
    client = sandbox.client("0900158")
    numauto = paid(sandbox, "DEF1", "0900158")
    answer = status(client, "DEF1")
    assert answer.state is PaymentState.PAID
    assert answer.collected == eur("0")
    assert raw_refund(sandbox, "0900158", "DEF1", "1.00", "0.00", numauto) == -48  # nothing captured yet
    assert refused(lambda: capture(client, "DEF1", "20.00")).code == 0  # a deferred payment: all or nothing
    outcome = capture(client, "DEF1", "62.73")
    assert outcome.authorisation_number == numauto
    assert status(client, "DEF1").collected == TOTAL
    assert str(refused(lambda: capture(client, "DEF1", "62.73"))).endswith("commande deja traitee")
    assert refused(lambda: cancel(client, "DEF1", "62.73")).code == 0


def test_a_deferred_payment_can_be_cancelled(sandbox: Sandbox) -> None:
    client = sandbox.client("0900158")
    paid(sandbox, "DEF2", "0900158")
    assert cancel(client, "DEF2").label == "commande annulee"
    answer = status(client, "DEF2")
    assert answer.state is PaymentState.CANCELLED
    assert answer.collected == eur("0")
    assert refused(lambda: capture(client, "DEF2", "62.73")).code == 0


# -- deferred authorisation (partial payments) --------------------------------------------------------------------


def test_partial_captures_each_ask_an_authorisation_then_the_rest_is_cancelled(sandbox: Sandbox) -> None:
    client = sandbox.client("0900159")
    paid(sandbox, "PART1", "0900159")
    first = capture(client, "PART1", "20.00")
    second = capture(client, "PART1", "10.00", already="20.00")
    assert first.authorisation_number != second.authorisation_number
    assert status(client, "PART1").collected == eur("30.00")
    # What the merchant says was captured must be what the bank captured.
    assert refused(lambda: capture(client, "PART1", "5.00", already="20.00")).code == 0
    assert cancel(client, "PART1", already="30.00")
    answer = status(client, "PART1")
    assert answer.state is PaymentState.PAID
    assert answer.collected == eur("30.00")
    payment = sandbox.bank.ledger.get("0900159", "PART1")
    assert payment is not None
    assert payment.status is Status.CAPTURED
    assert payment.cancelled == Decimal("32.73")
    refund(client, "PART1", "30.00", "30.00", payment.authorisation_number)
    assert status(client, "PART1").refunded == eur("30.00")


def test_each_validation_asks_its_authorisation_which_the_cards_bank_may_refuse(sandbox: Sandbox) -> None:
    """Each validation of a deferred authorisation asks for an authorisation (docs/protocol.md, Payment modes).
    A card that registers at the order and is refused later: every validation is refused, nothing is captured,
    the refusals are kept, and what is registered can still be cancelled."""
    client = sandbox.client("0900159")
    pay(sandbox, "LATE1", REFUSED_LATER, tpe="0900159")
    assert sandbox.merchant.last()["code-retour"] == "payetest"  # registered at the order
    partial = refused(lambda: capture(client, "LATE1", "20.00"))
    assert (partial.code, str(partial)) == (0, "capture: autorisation refusee (Refus): rien n'a ete capture")
    assert refused(lambda: capture(client, "LATE1", "62.73")).code == 0  # a total validation alike
    answer = status(client, "LATE1")
    assert (answer.state, answer.collected) == (PaymentState.PAID, eur("0"))  # registered, nothing collected
    payment = sandbox.bank.ledger.get("0900159", "LATE1")
    assert payment is not None
    assert (payment.status, payment.captures, payment.open_amount) == (Status.REGISTERED, [], TOTAL.amount)
    assert [(d.amount, d.refusal, d.by) for d in payment.declined] == [
        (Decimal("20.00"), "Refus", "back-office"),
        (Decimal("62.73"), "Refus", "back-office"),
    ]
    assert cancel(client, "LATE1")
    assert status(client, "LATE1").state is PaymentState.CANCELLED


def test_a_deferred_payment_was_authorised_at_the_order_so_its_validation_is_not_refused(sandbox: Sandbox) -> None:
    client = sandbox.client("0900158")
    pay(sandbox, "LATE2", REFUSED_LATER, tpe="0900158")
    assert capture(client, "LATE2", "62.73")
    assert status(client, "LATE2").collected == TOTAL


def _capture_fields(sandbox: Sandbox, reference: str, tpe: str, **amounts: str) -> list[tuple[str, str]]:
    message = capture_request(
        sandbox.terminal(tpe), reference=reference, ordered_on=DAY, total=TOTAL, to_capture=eur("10.00"),
        already_captured=eur("0"), remaining=eur("52.73"), at=client_now(),
    )  # fmt: skip
    fields = [(n, amounts.get(n, v)) for n, v in message.fields]
    return resealed(fields)


@pytest.mark.parametrize(
    ("amounts", "cdr", "label"),
    [
        ({"montant_restant": "50.00EUR"}, -1, "montant != montant_a_capturer"),  # the sum rule
        ({"montant_a_capturer": "70.00EUR", "montant_restant": "0EUR", "montant": "70.00EUR"}, 0, "montant errone"),
        ({"montant_a_capturer": "10.00USD"}, -1, "n'est pas en EUR"),
        ({"montant_a_capturer": "dix"}, -1, "parametre incorrect"),
        ({"date_commande": "27/11/2026"}, 0, "date de commande erronee"),
        ({"date": "hier"}, -1, "parametre incorrect: date"),
        ({"societe": "autre"}, -1, "parametre incorrect: societe"),
    ],
)
def test_capture_message_rules(sandbox: Sandbox, amounts: dict[str, str], cdr: int, label: str) -> None:
    paid(sandbox, "RULE1", "0900159")
    answer = parse_lines_answer(
        post(f"{sandbox.url}/capture_paiement.cgi", _capture_fields(sandbox, "RULE1", "0900159", **amounts))[2]
    )
    assert answer.cdr == cdr
    assert label in answer.label
    payment = sandbox.bank.ledger.get("0900159", "RULE1")
    assert payment is not None
    assert payment.captured == 0


def test_no_capture_above_what_remains(sandbox: Sandbox) -> None:
    client = sandbox.client("0900159")
    paid(sandbox, "RULE2", "0900159")
    capture(client, "RULE2", "60.00")
    fields = _capture_fields(
        sandbox, "RULE2", "0900159",
        montant_a_capturer="10.00EUR", montant_deja_capture="60.00EUR", montant_restant="-7.27EUR",
    )  # fmt: skip
    answer = parse_lines_answer(post(f"{sandbox.url}/capture_paiement.cgi", fields)[2])
    assert answer.cdr == -1
    assert capture(client, "RULE2", "2.73", already="60.00")  # what does remain
    assert status(client, "RULE2").collected == TOTAL


def test_an_order_that_was_never_paid_cannot_be_captured(sandbox: Sandbox) -> None:
    post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields("OPEN1", tpe="0900159"))  # on the page, no card
    client = sandbox.client("0900159")
    assert str(refused(lambda: capture(client, "OPEN1", "10.00"))).endswith("commande non autorisee")
    assert status(client, "OPEN1").state is PaymentState.AWAITING
    assert str(refused(lambda: capture(client, "NOSUCH", "10.00"))).endswith("commande inexistante")
    assert status(client, "NOSUCH").state is PaymentState.AWAITING


def test_status_of_refused_payments(sandbox: Sandbox) -> None:
    fields = sandbox.request_fields("REF4")

    _, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    for _ in range(4):
        _, _, page = post(
            f"{sandbox.url}/paiement.cgi", card(session_of(page) if "session" in page else "", "4000000000000002")
        )
    assert status(sandbox.client(), "REF4").state is PaymentState.REFUSED


# -- seals, terminals, formats --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cgi", ["capture_paiement.cgi", "recredit_paiement.cgi"])
def test_a_bad_seal_is_an_error_and_changes_nothing(sandbox: Sandbox, cgi: str) -> None:
    numauto = paid(sandbox, "SEAL1", "0900159")
    if cgi == "capture_paiement.cgi":
        fields = _capture_fields(sandbox, "SEAL1", "0900159")
    else:
        fields = list(
            refund_request(
                sandbox.terminal("0900159"), reference="SEAL1", ordered_on=DAY, captured_on=DAY,
                authorisation_number=numauto, total=TOTAL, refund=eur("1.00"), refundable=eur("1.00"),
                at=client_now(),
            ).fields
        )  # fmt: skip
    tampered = [(n, "f" * 40 if n == "MAC" else v) for n, v in fields]
    for body in (tampered, [(n, v) for n, v in fields if n != "MAC"], [("TPE", "0000000"), *fields[1:]]):
        status_code, headers, text = post(f"{sandbox.url}/{cgi}", body)
        assert status_code == 200
        assert headers["Content-Type"].startswith("text/plain")
        answer = parse_lines_answer(text)
        assert answer.cdr == -1
    assert parse_lines_answer(post(f"{sandbox.url}/{cgi}", b"garbage")[2]).cdr == -1
    payment = sandbox.bank.ledger.get("0900159", "SEAL1")
    assert payment is not None
    assert payment.captured == 0


def test_a_legacy_terminal_over_http(sandbox: Sandbox) -> None:
    """A terminal on the 3.0 seals: its capture and cancel messages carry the legacy capture seal; refund and
    status messages the DSP2 one (docs/protocol.md, Back-office calls), as the merchant's client sends them."""
    client = sandbox.client("0900167")
    numauto = paid(sandbox, "LEG1", "0900167")
    assert sandbox.bank.ledger.alerts() == []  # its confirmation carried the legacy seal the merchant checks
    assert status(client, "LEG1").collected == eur("0")
    assert capture(client, "LEG1", "62.73").authorisation_number == numauto
    assert status(client, "LEG1").collected == TOTAL
    assert refund(client, "LEG1", "2.73", "62.73", numauto).label == "recredit effectue"
    assert status(client, "LEG1").refunded == eur("2.73")
    paid(sandbox, "LEG2", "0900167")
    assert cancel(client, "LEG2").label == "commande annulee"
    assert status(client, "LEG2").state is PaymentState.CANCELLED


@pytest.mark.parametrize(("tpe", "seal"), [("0900167", SealVariant.DSP2), ("0900158", SealVariant.LEGACY)])
def test_a_capture_sealed_for_the_other_version_is_refused(sandbox: Sandbox, tpe: str, seal: SealVariant) -> None:
    paid(sandbox, "LEG3", tpe)
    other = replace(sandbox.terminal(tpe), seal=seal)
    message = capture_request(
        other, reference="LEG3", ordered_on=DAY, total=TOTAL, to_capture=TOTAL, already_captured=eur("0"),
        remaining=eur("0"), at=client_now(),
    )  # fmt: skip
    answer = parse_lines_answer(post(f"{sandbox.url}/capture_paiement.cgi", list(message.fields))[2])
    assert (answer.cdr, answer.label) == (-1, "commande non authentifiee (sceau invalide)")
    payment = sandbox.bank.ledger.get(tpe, "LEG3")
    assert payment is not None
    assert payment.status is Status.AUTHORIZED


def test_status_with_a_bad_seal_or_amount_has_no_state(sandbox: Sandbox) -> None:
    paid(sandbox, "STAT1")
    message = status_request(sandbox.terminal(), reference="STAT1", total=TOTAL, at=client_now())
    tampered = [(n, "0" * 40 if n == "MAC" else v) for n, v in message.fields]
    _, headers, text = post(f"{sandbox.url}/etatpaiement.cgi", tampered)
    assert headers["Content-Type"].startswith("application/xml")
    assert "<cdr>-1</cdr>" in text
    with pytest.raises(BankAnswerError) as error:  # the bank's error, said as such: not "etat '' is unknown"
        parse_status_answer(text)
    assert error.value.cdr == "-1"
    assert "sceau invalide" in error.value.label
    wrong = status_request(sandbox.terminal(), reference="STAT1", total=eur("1.00"), at=client_now())
    assert "<cdr>0</cdr>" in post(f"{sandbox.url}/etatpaiement.cgi", list(wrong.fields))[2]


def test_the_back_office_refuses_other_content_types(sandbox: Sandbox) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310
        f"{sandbox.url}/capture_paiement.cgi", data=b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310
    assert caught.value.code == 415


# -- the end of the deferral period, on the bank's side -------------------------------------------------------------


def test_at_the_deadline_a_deferred_payment_is_validated_automatically(sandbox: Sandbox) -> None:
    client = sandbox.client("0900158")
    paid(sandbox, "END1", "0900158")
    payment = sandbox.bank.ledger.get("0900158", "END1")
    assert payment is not None
    assert payment.deadline is not None
    assert payment.deadline.isoformat() == "2026-12-02T00:00:00+01:00"  # end of Tuesday 1 December, Paris
    sandbox.clock.now = payment.deadline - timedelta(seconds=1)
    assert status(client, "END1").collected == eur("0")
    sandbox.clock.now = payment.deadline
    assert status(client, "END1").collected == TOTAL
    payment = sandbox.bank.ledger.get("0900158", "END1")
    assert payment is not None
    assert payment.captures[-1].by == "deadline"
    assert str(refused(lambda: capture(client, "END1", "62.73"))).endswith("commande deja traitee")


def test_at_the_deadline_a_deferred_payment_is_cancelled_when_the_contract_says_so(sandbox: Sandbox) -> None:
    client = sandbox.client("0900160")
    paid(sandbox, "END2", "0900160")
    sandbox.clock.advance(days=10)
    assert status(client, "END2").state is PaymentState.CANCELLED


def test_at_the_deadline_what_is_left_of_a_partial_payment_is_cancelled(sandbox: Sandbox) -> None:
    client = sandbox.client("0900159")
    paid(sandbox, "END3", "0900159")
    capture(client, "END3", "12.73")
    payment = sandbox.bank.ledger.get("0900159", "END3")
    assert payment is not None
    assert payment.deadline is not None
    assert payment.deadline.isoformat() == "2026-12-08T00:00:00+01:00"  # 7 working days after Thursday 26
    sandbox.clock.now = payment.deadline
    answer = status(client, "END3")
    assert (answer.state, answer.collected) == (PaymentState.PAID, eur("12.73"))
    payment = sandbox.bank.ledger.get("0900159", "END3")
    assert payment is not None
    assert payment.cancelled == Decimal("50.00")
    assert refused(lambda: capture(client, "END3", "1.00", already="12.73")).code == 0


def test_a_capture_and_the_status_give_the_banks_capture_day(sandbox: Sandbox) -> None:
    client = sandbox.client("0900158")
    paid(sandbox, "DAY1", "0900158")
    sandbox.clock.now = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # already Saturday 28 in Paris
    assert capture(client, "DAY1", "62.73").captured_on == date(2026, 11, 28)
    assert status(client, "DAY1").captured_on == date(2026, 11, 28)


def test_the_deadlines_validation_is_booked_on_the_deadlines_day(sandbox: Sandbox) -> None:
    client = sandbox.client("0900158")
    paid(sandbox, "DAY2", "0900158")
    sandbox.clock.advance(days=30)  # nobody asked in between: the validation is still the deadline's
    assert status(client, "DAY2").captured_on == date(2026, 12, 2)
