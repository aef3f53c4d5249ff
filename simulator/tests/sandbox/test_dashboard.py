"""The merchant dashboard ("gestionnaire commerçant") over HTTP: password, summary, histories, pending deferred
and partial payments, refunds, the daily XML file, and alerts in red."""

from __future__ import annotations

import http.client
import http.cookiejar
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree
from decimal import Decimal
from html import unescape
from urllib.parse import urlencode, urlsplit

import pytest

from chalicelib import sessions
from chalicelib.cards import REFUSED, REFUSED_LATER
from chalicelib.payment_record import Status
from sealing import read_payments_csv
from simulator.tests.support.sandbox import DAY, Answer, Browser, NoRedirect, Sandbox, pay


@pytest.fixture
def browser(sandbox: Sandbox) -> Browser:
    return Browser(sandbox.server.base_url)


def test_the_dashboard_is_behind_a_password(sandbox: Sandbox, browser: Browser) -> None:
    status, _, page = browser.open("/test/gestion/")
    assert status == 200
    assert 'id="login-password"' in page
    status, _, page = browser.login("0900157", "wrong")
    assert status == 401
    assert "TPE ou mot de passe incorrect" in page
    assert browser.login("9999999")[0] == 401
    status, headers, _ = browser.login("0900157")
    assert status == 303
    assert "HttpOnly" in headers["Set-Cookie"]
    _, _, page = browser.open("/test/gestion/")
    assert "Tableau de bord commerçant" in page
    assert "Aujourd'hui, aucun paiement mis en recouvrement." in unescape(page)


def test_the_cookie_is_not_secure_over_plain_http_whatever_the_client_says(browser: Browser) -> None:
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        f"{browser.base}/test/gestion/connexion",
        data=urlencode({"tpe": "0900157", "password": "secret"}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-Proto": "https"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:  # the 303, not followed
        browser.opener.open(request, timeout=10)
    assert caught.value.code == 303
    cookie = caught.value.headers["Set-Cookie"]
    assert "Path=/test/gestion; HttpOnly; SameSite=Strict" in cookie
    assert "Secure" not in cookie  # a Secure cookie would never come back over http://


def test_a_forged_session_is_refused(sandbox: Sandbox, browser: Browser) -> None:
    forged = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        f"{browser.base}/test/gestion/", headers={"Cookie": "gestion=0900157.9999999999.00"}
    )
    with urllib.request.urlopen(forged, timeout=10) as answer:  # noqa: S310
        assert 'id="login-password"' in answer.read().decode()


@pytest.mark.parametrize(
    "cookie",
    [
        "gestion=0900157.9999999999.\u00e9\u00e9",  # a non-ASCII signature
        "gestion=0900157.\u00e9.00",
        "gestion=\u00e9\u00e9\u00e9.9999999999.00",
    ],
)
def test_a_session_cookie_with_other_characters_is_refused_not_an_error(browser: Browser, cookie: str) -> None:
    forged = urllib.request.Request(f"{browser.base}/test/gestion/", headers={"Cookie": cookie})  # noqa: S310
    with urllib.request.urlopen(forged, timeout=10) as answer:  # noqa: S310 - 127.0.0.1 only
        assert answer.status == 200
        assert 'id="login-password"' in answer.read().decode()


@pytest.mark.parametrize(
    ("tpe", "path", "form"),
    [
        ("0900158", "/test/gestion/differes", {"action-NONASCII1": "valider"}),
        ("0900159", "/test/gestion/partiels", {"action-NONASCII1": "vt"}),
        ("0900157", "/test/gestion/commande/NONASCII1/recredit", {"montant": "1.00"}),
    ],
)
def test_a_csrf_token_with_other_characters_is_refused_not_an_error(
    sandbox: Sandbox, browser: Browser, tpe: str, path: str, form: dict[str, str]
) -> None:
    pay(sandbox, "NONASCII1", tpe=tpe)
    browser.login(tpe)
    status, _, page = browser.open(path, {"jeton": "j\u00e9ton\u2603", **form})
    assert status == 200
    assert "Formulaire expiré" in page
    payment = sandbox.bank.ledger.get(tpe, "NONASCII1")
    assert payment is not None
    assert (payment.captured, payment.refunded) == ((Decimal("62.73"), 0) if tpe == "0900157" else (0, 0))


def test_summary_histories_and_the_daily_xml(sandbox: Sandbox, browser: Browser) -> None:
    pay(sandbox, "DASH1")
    pay(sandbox, "DASH2", amount="10.00")
    pay(sandbox, "OTHER1", tpe="0900158")  # another terminal: not on this one's dashboard
    browser.login("0900157")
    _, _, page = browser.open("/test/gestion/")
    assert "Aujourd'hui, 2 paiements mis en recouvrement." in unescape(page)
    _, _, page = browser.open("/test/gestion/paiements?par=commande")
    assert '<a href="/test/gestion/paiements/commande/2026-11-26">26/11/2026</a></td><td>2</td>' in page
    _, _, page = browser.open("/test/gestion/paiements/commande/2026-11-26")
    assert "DASH1" in page
    assert "DASH2" in page
    assert "OTHER1" not in page
    _, _, page = browser.open("/test/gestion/paiements?par=recouvrement")
    assert "/test/gestion/xml/2026-11-26.xml" in page
    status, headers, text = browser.open("/test/gestion/xml/2026-11-26.xml")
    assert status == 200
    assert headers["Content-Type"].startswith("application/xml")
    assert "attachment" in headers["Content-Disposition"]
    root = ElementTree.fromstring(text)  # noqa: S314 - the sandbox's own answer
    assert root.get("tpe") == "0900157"
    captured = {p.findtext("reference"): p.findtext("montant_recouvre") for p in root.findall("paiement")}
    assert captured == {"DASH1": "62.73EUR", "DASH2": "10.00EUR"}
    status, headers, _ = browser.open("/test/gestion/recherche?reference=DASH2")
    assert (status, headers["Location"]) == (303, "/test/gestion/commande/DASH2")
    assert browser.open("/test/gestion/recherche?reference=OTHER1")[0] == 404


def test_the_export_of_payments_is_the_banks_csv(sandbox: Sandbox, browser: Browser) -> None:
    pay(sandbox, "EXPO1")
    pay(sandbox, "EXPO2", number=REFUSED)  # refused once: listed, nothing collected
    pay(sandbox, "EXPO3", tpe="0900159")  # registered, nothing captured yet: PA without a collection day
    pay(sandbox, "OTHER1", tpe="0900158")  # another terminal: not in this one's export
    browser.login("0900157")
    _, _, page = browser.open("/test/gestion/paiements?par=recouvrement")
    assert "/test/gestion/export?du=2026-11-26&amp;au=2026-11-26" in page
    assert 'id="export"' in page
    status, headers, text = browser.open("/test/gestion/export?du=2026-11-26&au=2026-11-26")
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == 'attachment; filename="paiements-0900157-2026-11-26.csv"'
    assert text.endswith("\r\n")
    assert all(line.count(";") == 20 for line in text.splitlines())
    exported = read_payments_csv(text.encode())
    assert [(p.reference, p.state.value, str(p.amount), p.collected) for p in exported.payments] == [
        ("EXPO1", "PA", "62.73 EUR", True),
        ("EXPO2", "AP", "62.73 EUR", False),  # attempts left: still awaiting payment
    ]
    assert exported.payments[0].collected_on == DAY
    assert "62.73;EUR" in text  # the amount with a dot, its currency in the next column
    assert browser.open("/test/gestion/export?du=2026-11-27")[2].count("\r\n") == 0  # nothing that day
    assert browser.open("/test/gestion/export?du=2026-11-27&au=2026-11-26")[0] == 400
    assert browser.open("/test/gestion/export?du=2026-01-01&au=2026-11-26")[0] == 400  # more than 120 days
    browser.login("0900159")
    _, _, text = browser.open("/test/gestion/export?du=2026-11-26")
    (registered,) = read_payments_csv(text.encode()).payments
    assert (registered.reference, registered.state.value, registered.collected) == ("EXPO3", "PA", False)


def test_deferred_payments_validate_leave_cancel(sandbox: Sandbox, browser: Browser) -> None:
    for reference in ("DEFA", "DEFB", "DEFC"):
        pay(sandbox, reference, tpe="0900158")
    browser.login("0900158")
    _, _, page = browser.open("/test/gestion/differes")
    assert "automatiquement validés à la date indiquée" in page
    assert "01/12/2026" in page  # the last day of the 3 working days
    _, _, page = browser.open("/test/gestion/differes", {"action-DEFA": "valider", "action-DEFC": "annuler"})
    assert "Formulaire expiré" in page  # no token, nothing done
    form = {"jeton": browser.token(), "action-DEFA": "valider", "action-DEFB": "laisser", "action-DEFC": "annuler"}
    _, _, page = browser.open("/test/gestion/differes", form)
    assert "DEFA validé; DEFC annulé" in page
    ledger = sandbox.bank.ledger
    statuses = {ref: ledger.get("0900158", ref).status for ref in ("DEFA", "DEFB", "DEFC")}  # type: ignore[union-attr]
    assert statuses == {"DEFA": Status.CAPTURED, "DEFB": Status.AUTHORIZED, "DEFC": Status.CANCELLED}


def test_partial_validation_then_a_refund(sandbox: Sandbox, browser: Browser) -> None:
    pay(sandbox, "PARTA", tpe="0900159")
    browser.login("0900159")
    _, _, page = browser.open("/test/gestion/partiels")
    assert "Montant restant à recouvrer" in page
    assert "07/12/2026" in page
    token = browser.token()
    _, _, page = browser.open("/test/gestion/partiels", {"jeton": token, "action-PARTA": "vp", "montant-PARTA": "100"})
    assert "montant errone" in page
    for typed in ("20,50", "1E+1", "2.505", "NaN", "-5", "0", ""):  # read strictly, never guessed
        _, _, page = browser.open(
            "/test/gestion/partiels", {"jeton": token, "action-PARTA": "vp", "montant-PARTA": typed}
        )
        assert "PARTA : montant à recouvrer invalide (un montant comme 62.73" in page, typed
        assert sandbox.bank.ledger.get("0900159", "PARTA").captured == 0  # type: ignore[union-attr]
    _, _, page = browser.open(
        "/test/gestion/partiels", {"jeton": token, "action-PARTA": "vp", "montant-PARTA": "20.50"}
    )
    assert "PARTA validé pour 20.50 EUR" in page
    payment = sandbox.bank.ledger.get("0900159", "PARTA")
    assert payment is not None
    assert (payment.status, payment.captured, payment.open_amount) == (
        Status.REGISTERED,
        Decimal("20.50"),
        Decimal("42.23"),
    )
    _, _, page = browser.open("/test/gestion/commande/PARTA")
    assert "Recouvrement(s)" in page
    assert "cliquer ici" in page
    _, _, page = browser.open("/test/gestion/commande/PARTA/recredit", {"jeton": token, "montant": "30.00"})
    assert "Re-crédit refusé (-48)" in page
    for typed in ("5,00", "5E+0"):
        _, _, page = browser.open("/test/gestion/commande/PARTA/recredit", {"jeton": token, "montant": typed})
        assert "Montant à re-créditer invalide (un montant comme 62.73" in page
        assert payment.refunded == 0
    _, _, page = browser.open("/test/gestion/commande/PARTA/recredit", {"jeton": token, "montant": "5.00"})
    assert "Re-crédit de 5 EUR effectué." in page
    payment = sandbox.bank.ledger.get("0900159", "PARTA")
    assert payment is not None
    assert payment.refunded == Decimal("5.00")
    _, _, page = browser.open("/test/gestion/recredits")
    assert "26/11/2026" in page
    _, _, page = browser.open("/test/gestion/partiels", {"jeton": token, "action-PARTA": "annuler"})
    payment = sandbox.bank.ledger.get("0900159", "PARTA")
    assert payment is not None
    assert payment.status is Status.CAPTURED
    assert payment.cancelled == Decimal("42.23")


def test_partial_validation_and_the_refund_form_need_the_form_token(sandbox: Sandbox, browser: Browser) -> None:
    pay(sandbox, "CSRF1", tpe="0900159")
    other = Browser(browser.base)  # another terminal's session: its token is not this one's
    other.login("0900157")
    foreign = other.token()
    browser.login("0900159")
    payment = sandbox.bank.ledger.get("0900159", "CSRF1")
    assert payment is not None
    for form in ({}, {"jeton": ""}, {"jeton": "0" * 32}, {"jeton": foreign}):
        _, _, page = browser.open("/test/gestion/partiels", {**form, "action-CSRF1": "vt"})
        assert "Formulaire expiré" in page
        assert (payment.status, payment.captured) == (Status.REGISTERED, 0)
    token = browser.token()
    _, _, page = browser.open("/test/gestion/partiels", {"jeton": token, "action-CSRF1": "vp", "montant-CSRF1": "10"})
    assert "CSRF1 validé pour 10 EUR" in page
    for form in ({}, {"jeton": ""}, {"jeton": "0" * 32}, {"jeton": foreign}):
        _, _, page = browser.open("/test/gestion/commande/CSRF1/recredit", {**form, "montant": "5.00"})
        assert "Formulaire expiré" in page
        assert payment.refunds == []
    _, _, page = browser.open("/test/gestion/commande/CSRF1/recredit", {"jeton": token, "montant": "5.00"})
    assert "Re-crédit de 5 EUR effectué." in page


def test_no_refund_form_when_the_contract_allows_none(sandbox: Sandbox, browser: Browser) -> None:
    pay(sandbox, "NOREF1", tpe="0900164")
    pay(sandbox, "YESREF1", tpe="0900157")
    browser.login("0900164")
    _, _, page = browser.open("/test/gestion/commande/NOREF1")
    assert 'id="recredit"' not in page
    assert "cliquer ici" not in page
    assert "ne permet pas de re-crédit" in page
    token = browser.token()
    _, _, page = browser.open("/test/gestion/commande/NOREF1/recredit", {"jeton": token, "montant": "1.00"})
    assert "Re-crédit refusé (-48) : recredit non autorise pour ce TPE" in page  # posted anyway: the bank refuses
    other = Browser(browser.base)
    other.login("0900157")
    _, _, page = other.open("/test/gestion/commande/YESREF1")
    assert 'id="recredit"' in page
    assert "ne permet pas de re-crédit" not in page


def test_references_whose_acknowledgement_failed_are_red(sandbox: Sandbox, browser: Browser) -> None:
    sandbox.merchant.mode = "cdr1"
    pay(sandbox, "RED1")
    sandbox.merchant.mode = "ok"
    pay(sandbox, "GREEN1")
    browser.login("0900157")
    _, _, page = browser.open("/test/gestion/")
    assert 'id="alerts"' in page
    assert 'class="alert"><a href="/test/gestion/commande/RED1">RED1</a>' in page
    _, _, page = browser.open("/test/gestion/paiements/commande/2026-11-26")
    assert '<a class="alert" href="/test/gestion/commande/RED1"' in page
    assert '<a href="/test/gestion/commande/GREEN1"' in page
    assert "Références de couleur rouge" in page


def test_the_red_legend_is_shown_only_where_a_reference_is_red(sandbox: Sandbox, browser: Browser) -> None:
    pay(sandbox, "GREEN2", tpe="0900158")
    browser.login("0900158")
    pages = [browser.open(path)[2] for path in ("/test/gestion/", "/test/gestion/differes")]
    pages += [browser.open("/test/gestion/paiements/commande/2026-11-26")[2]]
    pages += [browser.open("/test/gestion/commande/GREEN2")[2]]
    assert ["Références de couleur rouge" in page for page in pages] == [False] * 4
    sandbox.merchant.mode = "cdr1"
    pay(sandbox, "RED2", tpe="0900158")
    sandbox.merchant.mode = "ok"
    for path in ("/", "/differes", "/paiements/commande/2026-11-26", "/commande/RED2"):
        assert "Références de couleur rouge" in browser.open(f"/test/gestion{path}")[2], path
    assert "Références de couleur rouge" not in browser.open("/test/gestion/commande/GREEN2")[2]


def test_a_refused_validation_is_said_and_kept_in_the_orders_detail(sandbox: Sandbox, browser: Browser) -> None:
    pay(sandbox, "LATE3", REFUSED_LATER, tpe="0900159")
    browser.login("0900159")
    _, _, page = browser.open("/test/gestion/partiels", {"jeton": browser.token(), "action-LATE3": "vt"})
    assert "LATE3 : autorisation refusée (Refus), rien n'a été recouvré" in unescape(page)
    assert 'class="error"' in page
    _, _, page = browser.open("/test/gestion/commande/LATE3")
    assert 'id="declined"' in page
    assert "<td>62.73 EUR</td><td>Refus</td>" in page
    assert "en attente de validation" in page  # still registered: it can be validated again, or cancelled


def test_the_orders_detail_shows_its_description_and_amounts_as_the_bank_writes_them(
    sandbox: Sandbox, browser: Browser
) -> None:
    pay(sandbox, "DESC1", amount="1.00")
    pay(sandbox, "DESC2", amount="14.50")
    browser.login("0900157")
    _, _, page = browser.open("/test/gestion/commande/DESC1")
    assert '<h2>Descriptif</h2><p id="description">panier 42</p>' in page
    assert "<td>Montant</td><td>1 EUR</td>" in page
    _, _, page = browser.open("/test/gestion/commande/DESC2")
    assert "<td>Montant</td><td>14.50 EUR</td>" in page


def test_changez_votre_mot_de_passe(sandbox: Sandbox, browser: Browser) -> None:
    browser.login("0900157")
    _, _, page = browser.open("/test/gestion/")
    assert '<a href="/test/gestion/mot-de-passe" id="password-link">Changez votre mot de passe</a>' in page
    _, _, page = browser.open("/test/gestion/mot-de-passe")
    token = re.search(r'name="jeton" value="([^"]+)"', page)[1]  # type: ignore[index]
    change = {"jeton": token, "actuel": "secret", "nouveau": "nouveau-secret", "confirmation": "nouveau-secret"}
    assert browser.open("/test/gestion/mot-de-passe", {**change, "jeton": "x"})[0] == 403
    assert browser.open("/test/gestion/mot-de-passe", {**change, "actuel": "faux"})[0] == 401
    assert browser.open("/test/gestion/mot-de-passe", {**change, "nouveau": "court", "confirmation": "court"})[0] == 400
    assert browser.open("/test/gestion/mot-de-passe", {**change, "confirmation": "autre-chose"})[0] == 400
    status, _, page = browser.open("/test/gestion/mot-de-passe", change)
    assert (status, "Votre mot de passe a été changé." in page) == (200, True)
    other = Browser(browser.base)
    assert other.login("0900157", "secret")[0] == 401  # the configuration's password no longer opens it
    assert other.login("0900157", "nouveau-secret")[0] == 303
    assert other.login("0900158", "secret")[0] == 303  # another terminal keeps its own
    stored = sandbox.bank.ledger.records(sessions.PASSWORD)["0900157"]
    assert "nouveau-secret" not in str(stored)  # a salted hash, never the password


def test_a_wrong_current_password_counts_as_a_wrong_password(sandbox: Sandbox, browser: Browser) -> None:
    browser.login("0900157")
    _, _, page = browser.open("/test/gestion/mot-de-passe")
    token = re.search(r'name="jeton" value="([^"]+)"', page)[1]  # type: ignore[index]
    wrong = {"jeton": token, "actuel": "faux", "nouveau": "nouveau-secret", "confirmation": "nouveau-secret"}
    for _ in range(sessions.MAX_FAILURES):
        assert browser.open("/test/gestion/mot-de-passe", wrong)[0] == 401
    assert browser.open("/test/gestion/mot-de-passe", {**wrong, "actuel": "secret"})[0] == 429
    assert Browser(browser.base).login("0900157")[0] == 429  # the same brake as the login page


def _cookie(headers: dict[str, str]) -> str:
    """``gestion=<id>`` from a login's ``Set-Cookie``."""
    return headers["Set-Cookie"].split(";")[0]


def _with_cookie(base: str, path: str, cookie: str, form: dict[str, str] | None = None) -> Answer:
    """A request carrying ``cookie`` by hand, as whoever kept a copy of it would send it."""
    data = urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, headers={"Cookie": cookie})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_an_old_cookie_is_refused_after_logout(sandbox: Sandbox, browser: Browser) -> None:
    pay(sandbox, "OUT1", tpe="0900158")
    _, headers, _ = browser.login("0900158")
    cookie = _cookie(headers)
    token = browser.token()
    status, headers, _ = browser.open("/test/gestion/deconnexion", {"jeton": token})
    assert status == 303
    assert "Max-Age=0" in headers["Set-Cookie"]
    status, _, page = _with_cookie(browser.base, "/test/gestion/", cookie)
    assert 'id="login-password"' in page
    assert "Tableau de bord commerçant" not in page
    status, _, page = _with_cookie(
        browser.base, "/test/gestion/differes", cookie, {"jeton": token, "action-OUT1": "valider"}
    )
    assert status == 401
    assert "Votre session a expiré" in page
    assert sandbox.bank.ledger.get("0900158", "OUT1").status is Status.AUTHORIZED  # type: ignore[union-attr]
    assert sandbox.bank.ledger.records(sessions.SESSION) == {}  # logout deleted it


def test_the_bank_keeps_a_hash_of_the_session_id_only(sandbox: Sandbox, browser: Browser) -> None:
    _, headers, _ = browser.login("0900157")
    stored = sandbox.bank.ledger.records(sessions.SESSION)
    assert len(stored) == 1
    assert _cookie(headers).split("=", 1)[1] not in stored  # a copy of the store holds no usable cookie


def test_logout_needs_the_sessions_token(sandbox: Sandbox, browser: Browser) -> None:
    browser.login("0900157")
    for form in ({}, {"jeton": "0" * 32}):  # another site's form cannot sign the merchant out
        status, _, page = browser.open("/test/gestion/deconnexion", form)
        assert status == 403
        assert "Formulaire expiré" in page
    _, _, page = browser.open("/test/gestion/")
    assert "Tableau de bord commerçant" in page


def test_each_session_has_its_own_csrf_token(sandbox: Sandbox, browser: Browser) -> None:
    pay(sandbox, "TWO1", tpe="0900158")
    other = Browser(browser.base)  # the same terminal, signed in from another browser
    browser.login("0900158")
    other.login("0900158")
    mine, theirs = browser.token(), other.token()
    assert mine != theirs
    _, _, page = browser.open("/test/gestion/differes", {"jeton": theirs, "action-TWO1": "valider"})
    assert "Formulaire expiré" in page
    assert sandbox.bank.ledger.get("0900158", "TWO1").status is Status.AUTHORIZED  # type: ignore[union-attr]
    assert other.open("/test/gestion/deconnexion", {"jeton": mine})[0] == 403
    _, _, page = browser.open("/test/gestion/differes", {"jeton": mine, "action-TWO1": "valider"})
    assert "TWO1 validé" in page
    browser.login("0900158")  # a new login, a new session: the token of the old one is no more
    assert browser.token() != mine


def test_a_session_expires_unused_and_in_any_case(sandbox: Sandbox, browser: Browser) -> None:
    browser.login("0900157")
    sandbox.clock.advance(minutes=29)
    assert "Tableau de bord commerçant" in browser.open("/test/gestion/")[2]
    sandbox.clock.advance(minutes=31)
    assert 'id="login-password"' in browser.open("/test/gestion/")[2]  # 31 minutes unused
    browser.login("0900157")
    for _ in range(16):  # used every 29 minutes, up to 7 h 44 min after the login
        sandbox.clock.advance(minutes=29)
        assert "Tableau de bord commerçant" in browser.open("/test/gestion/")[2]
    sandbox.clock.advance(minutes=17)  # 17 minutes unused, but 8 h 01 min in all
    assert 'id="login-password"' in browser.open("/test/gestion/")[2]


def test_the_sixth_password_after_five_wrong_ones_is_refused_even_right(sandbox: Sandbox, browser: Browser) -> None:
    for _ in range(4):
        assert browser.login("0900157", "wrong")[0] == 401
    status, headers, page = browser.login("0900157", "wrong")
    assert (status, headers["Retry-After"]) == (429, "60")
    assert "Réessayez à partir de 10:01:00 (CET), dans 1 min." in page  # 09:00 UTC + 1 minute, in Paris
    status, headers, page = browser.login("0900157")  # the right password, too early
    assert (status, headers["Retry-After"]) == (429, "60")
    assert "Set-Cookie" not in headers
    sandbox.clock.advance(seconds=45)
    status, headers, page = browser.login("0900157")
    assert (status, headers["Retry-After"]) == (429, "15")
    assert "dans 15 s." in page
    sandbox.clock.advance(seconds=15)
    status, headers, _ = browser.login("0900157")
    assert status == 303
    assert "Tableau de bord commerçant" in browser.open("/test/gestion/")[2]


def test_the_delay_grows_with_each_wrong_password_after_a_lock(sandbox: Sandbox, browser: Browser) -> None:
    delays = []
    for _ in range(8):
        status, headers, _ = browser.login("0900158", "wrong")
        delays.append(int(headers.get("Retry-After", 0)))
        sandbox.clock.advance(seconds=delays[-1])  # wait out each lock, then guess again
    assert delays == [0, 0, 0, 0, 60, 120, 240, 480]
    assert browser.login("0900158")[0] == 303
    base = sandbox.server.base_url
    assert _login_from("127.0.0.2", base, "0900158", "wrong")[0] == 401  # the right password reset the terminal
    status, headers, _ = browser.login("0900158", "wrong")  # not the address: a good login must not reset it
    assert (status, headers["Retry-After"]) == (429, "960")


def _login_from(source: str, base: str, tpe: str, password: str = "secret") -> Answer:  # noqa: S107
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10, source_address=(source, 0))
    try:
        body = urlencode({"tpe": tpe, "password": password})
        connection.request(
            "POST", "/test/gestion/connexion", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        answer = connection.getresponse()
        return answer.status, dict(answer.headers), answer.read().decode()
    finally:
        connection.close()


def test_wrong_passwords_from_one_address_lock_that_address_on_every_terminal(sandbox: Sandbox) -> None:
    base = sandbox.server.base_url
    for tpe in ("0900157", "0900158", "0900159", "0900160"):
        assert _login_from("127.0.0.2", base, tpe, "wrong")[0] == 401
    assert _login_from("127.0.0.2", base, "9999999", "wrong")[0] == 429  # an unknown TPE counts too
    status, _, page = _login_from("127.0.0.2", base, "0900161")  # a fresh terminal, its right password
    assert status == 429
    assert "Réessayez à partir de" in page
    assert _login_from("127.0.0.1", base, "0900161")[0] == 303  # another address is not this one
    assert _login_from("127.0.0.1", base, "0900157")[0] == 303  # nor were the terminals locked: one failure each
    sandbox.clock.advance(minutes=1)
    assert _login_from("127.0.0.2", base, "0900161")[0] == 303


def test_the_dashboard_is_in_french_under_the_terminals_branding(sandbox: Sandbox, browser: Browser) -> None:
    _, _, page = browser.open("/test/gestion/")
    assert '<span class="sandbox" id="badge">SANDBOX · serveur de test</span>' in page  # the login page
    browser.login("0900168")
    _, _, page = browser.open("/test/gestion/")
    assert '<html lang="fr">' in page
    assert '<span class="sandbox" id="badge">SANDBOX · serveur de test</span>' in page
    assert '<span class="brand" id="brand">CyberMUT P<em>@</em>iement</span>' in page
