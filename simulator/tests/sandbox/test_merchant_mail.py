"""The bank's optional payment confirmation to the merchant: one mail per accepted payment on a terminal that asks
for it, in French, with the reference, amount, date and time, authorisation number and masked card, never the
card's number or cryptogram; none for a refused card, none on a terminal that does not ask."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.terminals import BankConfig, ConfigurationError
from simulator.tests.support.sandbox import Sandbox, card, pay, post, session_of

TPE = "0900170"  # confirmation_mail: true (conftest)


def test_an_accepted_payment_mails_the_merchant_once(sandbox: Sandbox) -> None:
    page = pay(sandbox, "MAIL1", tpe=TPE)
    assert "Votre carte bancaire a été acceptée" in page
    [mail] = sandbox.bank.ledger.merchant_mails(TPE)
    payment = sandbox.bank.ledger.get(TPE, "MAIL1")
    assert payment is not None
    assert (mail.tpe, mail.reference, mail.to) == (TPE, "MAIL1", "commandes@boutiqueducd.example")
    assert mail.at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert mail.subject == "Paiement accepté : commande MAIL1, 62.73 EUR"
    for line in (
        "Référence de la commande : MAIL1",
        "Montant : 62.73 EUR",
        "Date et heure : 26/11/2026 à 10:00:00 (Europe/Paris)",  # the terminal's time
        f"Numéro d'autorisation : {payment.authorisation_number}",
        "Carte : 411111######1111",
    ):
        assert line in mail.text.splitlines()
    assert len(payment.authorisation_number) == 6
    assert "4111111111111111" not in mail.text + mail.subject
    assert "123" not in mail.text.replace(payment.authorisation_number, "")  # the cryptogram typed in conftest.card
    status, _, _ = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields("MAIL1", tpe=TPE))
    assert status == 409  # the paid reference again: refused by the bank, nothing mailed
    assert len(sandbox.bank.ledger.merchant_mails()) == 1


def test_a_refused_card_mails_nothing_then_the_accepted_one_mails_once(sandbox: Sandbox) -> None:
    _, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields("MAIL2", tpe=TPE))
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4000000000000002"))
    assert "Paiement refusé" in page
    assert sandbox.bank.ledger.merchant_mails() == []
    post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "5555555555554444"))
    [mail] = sandbox.bank.ledger.merchant_mails()
    assert "Carte : 555555######4444" in mail.text


def test_the_mail_goes_even_when_cgi2_does_not_acknowledge(sandbox: Sandbox) -> None:
    sandbox.merchant.mode = "cdr1"
    pay(sandbox, "MAIL3", tpe=TPE)
    assert [a.reference for a in sandbox.bank.ledger.alerts(TPE)] == ["MAIL3"]
    assert [m.reference for m in sandbox.bank.ledger.merchant_mails(TPE)] == ["MAIL3"]


def test_a_terminal_that_does_not_ask_gets_no_mail(sandbox: Sandbox) -> None:
    pay(sandbox, "MAIL4")  # 0900157: no confirmation_mail
    assert sandbox.bank.ledger.merchant_mails() == []


def test_the_mail_needs_the_merchants_address() -> None:
    base = {"key": "12345678901234567890123456789012345678P0", "societe": "s", "cgi2_url": "http://127.0.0.1/c"}
    with pytest.raises(ConfigurationError, match=r"^terminals\.0900157\.merchant_email: is required"):
        BankConfig.from_mapping({"terminals": {"0900157": {**base, "confirmation_mail": True}}})
    with pytest.raises(ConfigurationError, match=r"^terminals\.0900157\.merchant_email: 'nobody' is not an e-mail"):
        BankConfig.from_mapping({"terminals": {"0900157": {**base, "merchant_email": "nobody"}}})
    with pytest.raises(ConfigurationError, match=r"^terminals\.0900157\.confirmation_mail: 'yes' must be true"):
        BankConfig.from_mapping(
            {"terminals": {"0900157": {**base, "merchant_email": "a@b.ex", "confirmation_mail": "yes"}}}
        )
    example = BankConfig.from_file("simulator/sandbox/terminals.example.json")
    assert {t.confirmation_mail for t in example.terminals.values()} == {False}  # off unless asked
