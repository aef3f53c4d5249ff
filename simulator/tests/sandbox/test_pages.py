"""The buyer's pages as the bank showed them: the terminal's bank branding, "Demande d'autorisation carte en
cours", the merchant's own text for the link back, amounts written ``1 EUR`` / ``14.50 EUR``; and every word, the
header's badge and the error and refusal pages included, in the page's language."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from chalicelib.texts import TEXTS
from simulator.tests.support.sandbox import Sandbox, card, get, pay, post, resealed, session_of

LANGUAGES = ["FR", "EN", "DE", "IT", "ES"]
# What the card form shows, whatever happens on it.
FORM_KEYS = ["title", "badge", "amount", "card_number", "expiry", "cvv", "cvv_none", "cvv_some", "validate",
             "merchant_id", "reference", "authorising"]  # fmt: skip


def text(page: str) -> str:
    return html.unescape(page)


def open_page(sandbox: Sandbox, reference: str, **kw: str) -> str:
    status, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields(reference, **kw))
    assert status == 200, page
    return page


def shows(page: str, words: str) -> bool:
    """Whether the page shows ``words`` as words ("Confirm" is not in "Confirmar")."""
    return re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text(page)) is not None


def words_of_other_languages(page: str, language: str, keys: list[str]) -> list[str]:
    """The texts of ``keys`` in any other language that the page shows."""
    own = {TEXTS[language][key] for key in keys}
    return [
        TEXTS[other][key]
        for other in LANGUAGES
        if other != language
        for key in keys
        if TEXTS[other][key] not in own and shows(page, TEXTS[other][key])
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_label_of_the_card_form_is_in_the_pages_language(sandbox: Sandbox, language: str) -> None:
    page = open_page(sandbox, f"WORDS{language}", language=language)
    shown = text(page)
    for key in FORM_KEYS:
        assert TEXTS[language][key] in shown, key
    assert TEXTS[language]["cancel"].format(merchant="La boutique du CD") in shown
    assert TEXTS[language]["secure"].format(brand="P@iement CIC") in shown
    assert words_of_other_languages(page, language, FORM_KEYS) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_refusal_is_said_in_the_pages_language(sandbox: Sandbox, language: str) -> None:
    page = open_page(sandbox, f"NO{language}", language=language)
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4000000000000002"))
    message = text(re.search(r'<div class="error" id="message">([^<]*)</div>', page)[1])  # type: ignore[index]
    if language != "FR":
        assert "Refus" not in message  # the protocol's French code is not the buyer's word
        assert "Paiement refusé" not in message
    assert message.startswith(TEXTS[language]["refused"].split("(", 1)[0])


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_receipt_is_in_the_pages_language(sandbox: Sandbox, language: str) -> None:
    page = pay(sandbox, f"OK{language}", language=language)
    shown = text(page)
    for key in ("receipt", "date", "card", "authorisation", "terminal", "badge"):
        assert TEXTS[language][key] in shown, key
    assert TEXTS[language]["authorising"] not in shown
    assert TEXTS[language]["accepted"].format(merchant="La boutique du CD") in shown
    assert words_of_other_languages(page, language, ["receipt", "date", "authorisation", "badge"]) == []


def test_the_french_receipt_says_informee(sandbox: Sandbox) -> None:
    page = text(pay(sandbox, "INFO1"))
    assert "Votre carte bancaire a été acceptée. La société La boutique du CD en a été informée." in page
    assert "informé." not in page


@pytest.mark.parametrize(("language", "title"), [("DE", "Zahlungsanfrage abgelehnt"), ("ES", "Solicitud de pago")])
def test_the_request_error_page_speaks_the_forms_language(sandbox: Sandbox, language: str, title: str) -> None:
    fields = [(n, "0" * 40 if n == "MAC" else v) for n, v in sandbox.request_fields("BADSEAL", language=language)]
    status, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    assert status == 400
    assert f'<html lang="{language.lower()}">' in page
    assert title in text(page)
    assert "<code>MAC</code>" in page


def test_without_a_usable_language_the_error_page_speaks_the_browsers(sandbox: Sandbox) -> None:
    fields = [(n, "XX" if n == "lgue" else v) for n, v in sandbox.request_fields("BADLANG")]
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        f"{sandbox.url}/paiement.cgi",
        data="&".join(f"{n}={urllib.parse.quote(v, safe='')}" for n, v in resealed(fields)).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "it-IT,it;q=0.9,en;q=0.5"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert caught.value.code == 400
    page = caught.value.read().decode()
    assert "Richiesta di pagamento rifiutata" in page
    assert "<code>lgue</code>" in page


def test_an_unknown_session_page_speaks_the_browsers_language(sandbox: Sandbox) -> None:
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        f"{sandbox.url}/paiement.cgi?session=nothing&annuler=1", headers={"Accept-Language": "de-DE,de;q=0.9"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert caught.value.code == 404
    page = caught.value.read().decode()
    assert "Unbekannte Sitzung" in page
    assert TEXTS["DE"]["badge"] in page
    assert get(f"{sandbox.url}/paiement.cgi?session=nothing&annuler=1")[2].count("Session inconnue") >= 1


@pytest.mark.parametrize(
    ("tpe", "brand"), [("0900157", "P@iement CIC"), ("0900168", "CyberMUT P@iement"), ("0900169", "P@iement OBC")]
)
def test_the_pages_carry_the_terminals_bank_branding(sandbox: Sandbox, tpe: str, brand: str) -> None:
    page = open_page(sandbox, f"BRAND{tpe[-2:]}", tpe=tpe)
    header = text(re.sub(r"</?em>", "", re.search(r'<span class="brand" id="brand">(.*?)</span>', page)[1]))  # type: ignore[index]
    assert header == brand
    assert f"Votre transaction est sécurisée par {brand}." in text(page)


def test_the_authorisation_step_shows_while_the_bank_asks_and_the_receipt_says_only_the_outcome(
    sandbox: Sandbox,
) -> None:
    page = open_page(sandbox, "STEP1")
    step = '<p class="step" id="authorising" hidden>Demande d\'autorisation carte en cours ...</p>'
    assert step in html.unescape(page)
    assert "getElementById('authorising').hidden=false" in page
    assert "getElementById('validate').disabled=true" in page  # one click, one attempt
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111"))
    shown = text(page)
    assert "Votre carte bancaire a été acceptée" in shown
    assert "Demande d'autorisation carte en cours" not in shown  # the request is over: the receipt says how it ended
    assert 'id="authorising"' not in page


@pytest.mark.parametrize(
    ("tpe", "language", "link"),
    [
        ("0900168", "FR", "Retour à la boutique"),
        ("0900168", "EN", "Back to the shop"),
        ("0900168", "DE", "Hier klicken, um zu La boutique du CD zurückzukehren"),  # none given in German
        ("0900169", "ES", "Revenir chez La boutique du CD"),  # one text for every language
        ("0900157", "FR", "Cliquez ici pour revenir à la société La boutique du CD"),
    ],
)
def test_the_link_back_says_what_the_merchant_configured(sandbox: Sandbox, tpe: str, language: str, link: str) -> None:
    page = pay(sandbox, f"LINK{tpe[-2:]}{language}", tpe=tpe, language=language)
    assert re.findall(r'<a id="back" href="http://shop.example/ok">([^<]*)</a>', text(page)) == [link]


@pytest.mark.parametrize(("amount", "shown"), [("1.00", "1 EUR"), ("14.50", "14.50 EUR"), ("464.53", "464.53 EUR")])
def test_amounts_are_written_as_the_bank_writes_them(sandbox: Sandbox, amount: str, shown: str) -> None:
    page = open_page(sandbox, f"AMT{amount.replace('.', '')}", amount=amount)
    assert f'<strong id="amount">{shown}</strong>' in page
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111"))
    assert f'<td id="receipt-amount">{shown}</td>' in page
