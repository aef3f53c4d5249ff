"""Attacks on the dashboard after its move to blueprints and Jinja2 templates: every form it takes (found from the
app's own routes, so a new one is covered the day it is added) refuses a post without this session's token and
changes nothing; every template escapes what a merchant or a buyer typed."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from chalice.app import Chalice

from chalicelib.dashboard import BASE
from chalicelib.templating import ENVIRONMENT, TEMPLATES
from simulator.tests.support.sandbox import Browser, Sandbox, pay

# The forms a browser may post without a session: the login itself (its brake is tested with the sessions).
OPEN_FORMS = {f"{BASE}/connexion"}
# Each terminal with a payment its forms could change: paid (refund), deferred (validate), partial (capture).
PAYMENTS = {"0900157": "ATKPAID", "0900158": "ATKDEFER", "0900159": "ATKPART"}


def dashboard_forms(app: Chalice) -> list[str]:
    return sorted(path for path, methods in app.routes.items() if path.startswith(BASE) and "POST" in methods)


def tampering(reference: str) -> dict[str, str]:
    """Every field any dashboard form reads, set to do something."""
    return {
        f"action-{reference}": "valider",
        f"montant-{reference}": "1.00",
        "montant": "1.00",
        "actuel": "secret",
        "nouveau": "a-new-password-42",
        "confirmation": "a-new-password-42",
    }


def test_the_dashboard_takes_the_forms_it_always_took(sandbox: Sandbox) -> None:
    """The list the next test attacks is the app's: if it were empty, the next test would prove nothing."""
    assert {path.removeprefix(BASE) for path in dashboard_forms(sandbox.server.app)} >= {
        "/connexion", "/deconnexion", "/mot-de-passe", "/differes", "/partiels", "/commande/{reference}/recredit",
    }  # fmt: skip


@pytest.mark.parametrize("tpe", list(PAYMENTS))
@pytest.mark.parametrize("token", ["none", "empty", "forged", "another_session"])
def test_no_dashboard_form_does_anything_without_the_sessions_token(sandbox: Sandbox, tpe: str, token: str) -> None:
    reference = PAYMENTS[tpe]
    pay(sandbox, reference, tpe=tpe)
    other = Browser(sandbox.server.base_url)
    other.login(tpe)
    browser = Browser(sandbox.server.base_url)
    browser.login(tpe)
    own = browser.token()
    jeton = {"none": None, "empty": "", "forged": "A" * len(own), "another_session": other.token()}[token]
    before = sandbox.bank.ledger.get(tpe, reference)
    for path in dashboard_forms(sandbox.server.app):
        if path in OPEN_FORMS:
            continue
        form: dict[str, Any] = tampering(reference)
        if jeton is not None:
            form["jeton"] = jeton
        status, _, page = browser.open(path.replace("{reference}", reference), form)
        assert status in (200, 403), (path, status)
        assert "Formulaire expiré" in page, path
    assert sandbox.bank.ledger.get(tpe, reference) == before
    status, _, page = browser.open(f"{BASE}/differes")  # still logged in, with the same token
    assert status == 200
    assert browser.token() == own
    assert Browser(sandbox.server.base_url).login(tpe, "secret")[0] == 303  # the password did not change


def test_every_template_is_autoescaped_and_none_marks_a_value_safe() -> None:
    names = ENVIRONMENT.list_templates(filter_func=lambda name: name.endswith(".html"))
    assert len(names) > 10
    for name in names:
        source = (TEMPLATES / name).read_text()
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup\(", source), name
        template = ENVIRONMENT.get_template(name)
        assert ENVIRONMENT.autoescape is True or ENVIRONMENT.autoescape(template.name), name


def test_a_reference_typed_into_the_search_is_escaped_on_every_page_that_shows_it(
    sandbox: Sandbox,
) -> None:
    hostile = '<img src=x onerror=alert(1)>"'
    browser = Browser(sandbox.server.base_url)
    browser.login("0900157")
    for path in (f"{BASE}/recherche?reference=", f"{BASE}/commande/"):
        _, _, page = browser.open(path + quote(hostile, safe=""))
        assert "<img src=x" not in page
