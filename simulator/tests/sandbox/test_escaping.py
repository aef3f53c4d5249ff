"""What an attacker chooses (an order's free text, a searched reference, a field of a refused request) is shown
as text on the bank's pages, never run: the templates escape every value."""

from __future__ import annotations

from urllib.parse import quote

from simulator.tests.support.sandbox import Browser, Sandbox, card, post, resealed, session_of

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _with(fields: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return resealed([(key, value if key == name else old) for key, old in fields])


def test_a_free_text_with_a_script_is_text_on_the_payment_pages_and_in_the_dashboard(sandbox: Sandbox) -> None:
    fields = _with(sandbox.request_fields("XSS1"), "texte-libre", SCRIPT)
    status, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    assert status == 200, page
    status, _, receipt = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111"))
    assert status == 200, receipt
    browser = Browser(sandbox.server.base_url)
    browser.login("0900157")
    status, _, detail = browser.open("/test/gestion/commande/XSS1")
    assert status == 200
    assert f'<p id="description">{ESCAPED}</p>' in detail
    for shown in (page, receipt, detail):
        assert SCRIPT not in shown


def test_a_searched_reference_with_a_script_is_text(sandbox: Sandbox) -> None:
    browser = Browser(sandbox.server.base_url)
    browser.login("0900157")
    status, _, page = browser.open(f"/test/gestion/recherche?reference={quote(SCRIPT)}")
    assert status == 404
    assert f"Aucune commande « {ESCAPED} »" in page
    assert SCRIPT not in page


def test_a_refused_field_with_a_script_is_text_on_the_error_page(sandbox: Sandbox) -> None:
    fields = _with(sandbox.request_fields("XSS2"), "reference", SCRIPT)
    status, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    assert status == 400
    assert '<td id="field"><code>reference</code></td>' in page
    assert "&lt;script&gt;" in page
    assert "<script>" not in page


def test_a_merchant_link_with_a_quote_cannot_leave_its_attribute(sandbox: Sandbox) -> None:
    fields = _with(sandbox.request_fields("XSS3"), "url_retour_err", 'http://shop.example/err?"><script>')
    status, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    assert '"><script>' not in page, (status, page)
