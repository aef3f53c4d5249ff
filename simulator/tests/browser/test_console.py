"""The merchant's console in a real browser (Debian's chromium), in French and in English: the journeys an operator
makes every day on ``make run``'s system — sign in, find an order by the buyer's e-mail, capture a deferred
authorisation in part, refund part of a paid order, review an amount mismatch, read yesterday's books — and what a
viewer may not do. Each page is checked with axe-core in the browser (no serious or critical violation) and
photographed (``test-artifacts/console-*.png``; ``make screenshots`` copies them to ``docs/screenshots``).

The orders are paid in the sandbox bank as a buyer pays them (the checkout form posted, a card typed); the amount
mismatch is a sealed confirmation naming another amount. The module's last test moves the whole system to the next
morning (``POST /_local/clock``), as a merchant reads yesterday's books.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from console.i18n import Translator
from local.console import SIGN_IN_ROUTE, TEST_USERS
from simulator.tests.support.full_stack import FullStack
from simulator.tests.support.local_api import confirm, confirmation
from simulator.tests.support.sandbox_stack import checkout_and_pay, create, merchant_order
from simulator.tests.support.shopper import screenshot

LANGUAGES = ("en", "fr")
LOCALES = {"en": "en-GB", "fr": "fr-FR"}
SERIOUS = ("serious", "critical")
AXE = Axe()


@pytest.fixture
def operator(browser: Browser, system: FullStack, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page signed in as the local stack's test operator, in the browser's language."""
    yield from _signed_in(browser, system, "operator", request.param)


@pytest.fixture
def viewer(browser: Browser, system: FullStack, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from _signed_in(browser, system, "viewer", request.param)


def _signed_in(browser: Browser, system: FullStack, role: str, language: str) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(viewport={"width": 1200, "height": 900}, locale=LOCALES[language])
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{system.api}{SIGN_IN_ROUTE}?as={role}")  # the banner's link: the console's own sign-in, done
    expect(page).to_have_url(f"{system.api}/console/orders")
    yield page
    context.close()


def accessible(page: Page, name: str) -> None:
    """No serious or critical axe-core violation on the page; its screenshot kept."""
    screenshot(page, name)
    results = AXE.run(page)
    serious = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    assert not serious, f"{name}: " + "; ".join(f"{v['id']}: {v['help']}" for v in serious)


def _paid(system: FullStack, tpe: str, email: str, amount: str = "62.73") -> str:
    order = create(system, tpe=tpe, email=email, amount=amount)
    checkout_and_pay(system, order)
    return str(order["reference"])


def _notice(page: Page) -> Any:
    return page.locator("p.notice[role=status]")


@pytest.mark.parametrize("operator", LANGUAGES, indirect=True)
def test_an_operator_finds_an_order_by_the_buyers_email(operator: Page, system: FullStack) -> None:
    language = operator.evaluate("document.documentElement.lang")
    t = Translator(language)
    email = f"claire.{language}@example.com"
    reference = _paid(system, "0900157", email)
    accessible(operator, f"console-orders-{language}")
    operator.fill("#f-text", email.upper()[:12])  # part of the e-mail, in another case
    operator.click("form.filters button[type=submit]")
    row = operator.locator("tbody tr", has_text=reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(email)
    expect(row).to_contain_text(t("status.paid"))
    row.get_by_role("link", name=reference).click()
    expect(operator.locator("h1")).to_contain_text(reference)
    expect(operator.locator("main")).to_contain_text(t("order.timeline"))
    accessible(operator, f"console-order-{language}")


@pytest.mark.parametrize("operator", LANGUAGES, indirect=True)
def test_an_operator_captures_part_of_a_deferred_authorisation(operator: Page, system: FullStack) -> None:
    language = operator.evaluate("document.documentElement.lang")
    reference = _paid(system, "0900159", f"deferred.{language}@example.com")
    operator.goto(f"{system.api}/console/orders/{reference}")
    operator.fill("#part-capture", "20.00")
    operator.locator("form:has(#part-capture) button").click()
    expect(operator.locator("main")).to_contain_text(reference)
    expect(operator.locator("main")).to_contain_text(Translator(language).money(_d("20.00"), "EUR"))
    accessible(operator, f"console-capture-confirm-{language}")
    confirm_button = operator.locator("form[method=post] button.danger")
    confirm_button.click()
    expect(_notice(operator)).to_have_class("notice done")
    accessible(operator, f"console-capture-done-{language}")
    order = merchant_order(system, reference)
    assert (order["status"], _d(order["captured"])) == ("partially_captured", _d("20.00"))


@pytest.mark.parametrize("operator", LANGUAGES, indirect=True)
def test_an_operator_refunds_part_of_a_paid_order_once_whatever_the_clicks(operator: Page, system: FullStack) -> None:
    language = operator.evaluate("document.documentElement.lang")
    reference = _paid(system, "0900157", f"refund.{language}@example.com")
    operator.goto(f"{system.api}/console/orders/{reference}")
    operator.fill("#part-refund", "12.50")
    operator.locator("form:has(#part-refund) button").click()
    accessible(operator, f"console-refund-confirm-{language}")
    form = operator.locator("form[method=post]:has(button.danger)")
    hidden = form.locator("input[type=hidden]")
    fields = {
        hidden.nth(i).get_attribute("name") or "": hidden.nth(i).get_attribute("value") or ""
        for i in range(hidden.count())
    }
    form.locator("button.danger").click()
    expect(_notice(operator)).to_have_class("notice done")
    # The same confirmation sent again (a double click, a reload): its Idempotency-Key answers, nothing is redone.
    again = operator.request.post(f"{system.api}/console/orders/{reference}/refund", form=fields)
    assert again.status == 200
    order = merchant_order(system, reference)
    assert (order["status"], _d(order["refunded"])) == ("partially_refunded", _d("12.50"))
    assert [op["event"] for op in order["operations"]].count("OrderRefunded") <= 1
    assert len([op for op in order["operations"] if op["amount"] == "12.50"]) == 1


@pytest.mark.parametrize("operator", LANGUAGES, indirect=True)
def test_an_operator_reviews_an_amount_mismatch(operator: Page, system: FullStack) -> None:
    language = operator.evaluate("document.documentElement.lang")
    order = create(system, tpe="0900157", email=f"mismatch.{language}@example.com")
    session = order["form"]["fields"]["reference"]
    answer = confirm(system.api, confirmation(session, "payetest", "654321", amount="6.27EUR"))
    assert answer == "version=2\ncdr=0\n"
    operator.goto(f"{system.api}/console/attention")
    heading = operator.locator(f"#order-{order['reference']}")
    expect(heading).to_be_visible()
    accessible(operator, f"console-attention-{language}")
    operator.locator(f"form[action$='/{order['reference']}/reviewed'] button").click()
    expect(_notice(operator)).to_contain_text(order["reference"])
    expect(operator.locator(f"#order-{order['reference']}")).to_have_count(0)
    reviewed = merchant_order(system, order["reference"])
    assert reviewed["needs_review"] is False
    assert reviewed["reviewed"][-1]["actor"] == {"kind": "console_user", "name": TEST_USERS["operator"][0]}


@pytest.mark.parametrize("viewer", LANGUAGES, indirect=True)
def test_a_viewer_reads_but_cannot_act_and_the_route_refuses_it(viewer: Page, system: FullStack) -> None:
    language = viewer.evaluate("document.documentElement.lang")
    reference = _paid(system, "0900157", f"viewer.{language}@example.com")
    viewer.goto(f"{system.api}/console/orders/{reference}")
    expect(viewer.locator("h1")).to_contain_text(reference)
    expect(viewer.locator("#part-refund")).to_have_count(0)
    accessible(viewer, f"console-order-viewer-{language}")
    csrf = viewer.locator("input[name=csrf]").first.get_attribute("value") or ""
    refused = viewer.request.post(
        f"{system.api}/console/orders/{reference}/refund", form={"csrf": csrf, "key": "k" * 32, "amount": "1.00"}
    )
    assert refused.status == 403
    assert _d(merchant_order(system, reference)["refunded"]) == 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sign_in_form_signs_an_operator_in(browser: Browser, system: FullStack, language: str) -> None:
    context = browser.new_context(locale=LOCALES[language])
    page = context.new_page()
    page.goto(f"{system.api}/console/books")
    expect(page).to_have_url(f"{system.api}/console/sign-in?next=%2Fconsole%2Fbooks")
    accessible(page, f"console-sign-in-{language}")
    email, password = TEST_USERS["operator"]
    page.fill("#email", email)
    page.fill("#password", "not the password")
    page.click("form button[type=submit]")
    expect(page.locator("main")).to_contain_text(Translator(language)("account.refused.credentials"))
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    expect(page).to_have_url(f"{system.api}/console/books")
    context.close()


@pytest.mark.parametrize("operator", LANGUAGES, indirect=True)
def test_zz_the_next_morning_an_operator_reads_yesterdays_books(operator: Page, system: FullStack) -> None:
    """Last of the module: it moves the system to the next morning."""
    language = operator.evaluate("document.documentElement.lang")
    t = Translator(language)
    reference = _paid(system, "0900157", f"books.{language}@example.com", amount="40.00")
    paid_day = _move_clock(system, datetime.now(UTC)).astimezone(ZoneInfo("Europe/Paris")).date()  # its today
    next_morning = datetime.combine(paid_day + timedelta(days=1), datetime.min.time(), ZoneInfo("Europe/Paris"))
    _move_clock(system, next_morning + timedelta(hours=9))
    operator.goto(f"{system.api}/console/books")
    if "/console/sign-in" in operator.url:  # the night ended yesterday's session: signed in again
        operator.goto(f"{system.api}{SIGN_IN_ROUTE}?as=operator")
        operator.goto(f"{system.api}/console/books")
    expect(operator.locator("h1")).to_contain_text(paid_day.isoformat())
    captures = operator.locator("#books-captures ~ table").first
    expect(captures).to_contain_text(reference)
    expect(operator.locator("main")).to_contain_text(t.money(_d("40.00"), "EUR"))
    expect(operator.locator("svg").first).to_be_visible()
    accessible(operator, f"console-books-{language}")
    with operator.expect_download() as download:
        operator.locator("a[href*='books.csv'][href*='kind=captures']").click()
    assert reference in download.value.path().read_text(encoding="utf-8")
    operator.goto(f"{system.api}/console/terminals")
    expect(operator.locator("main")).to_contain_text("0900157")
    accessible(operator, f"console-terminals-{language}")


def _move_clock(system: FullStack, at: datetime) -> datetime:
    """The system's time moved forward to ``at`` (never back): its time now."""
    sent = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        f"{system.api}/_local/clock", data=json.dumps({"now": at.isoformat()}).encode(), method="POST"
    )
    with urllib.request.urlopen(sent, timeout=10) as answer:  # noqa: S310 - 127.0.0.1 only
        return datetime.fromisoformat(json.loads(answer.read())["now"])


def _d(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)
