"""The console's orders: the list (filters, counts), one order (its amounts, its timeline, its actions) and the
actions behind their confirmation, as a signed-in viewer or operator uses them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import pytest

from orders.model import OrderStatus
from tests.support.console import Browser, confirmation, console_at, operator_at
from tests.support.console import text as words
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import TEST_KEY, confirm, stored_order

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def console(aws: Any, lambda_context: Any) -> Any:
    return console_at(aws, lambda_context, NOW)


@pytest.fixture
def operator(aws: Any) -> Browser:
    return operator_at(aws, NOW, "ops@shop.example")


@pytest.fixture
def viewer(aws: Any) -> Browser:
    return Browser(aws.store, "viewer", NOW)


def paid(aws: Any, lambda_context: Any, reference: str, tpe: str = "0900157", **order: Any) -> None:
    """An order paid on ``tpe``; on an immediate terminal, the bank (``aws.deps.bank_transport``) captured it."""
    stored_order(aws, reference, tpe=tpe, **order)
    confirm(aws, lambda_context, reference=reference + "00", tpe=tpe)
    bank = aws.deps.bank_transport
    if tpe == "0900157" and isinstance(bank, FakeBank):
        bank.accounts[reference + "00"] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"))


def text(html: str) -> str:
    """The page's words as a reader sees them (entities read)."""
    return unescape(words(html))


def test_find_an_order_by_the_buyers_email_and_filter_the_list(
    aws: Any, lambda_context: Any, console: Any, viewer: Browser
) -> None:
    stored_order(aws, "FIND1", email="Jeanne.Martin@example.com", created_at=NOW - timedelta(hours=1))
    stored_order(aws, "FIND2", email="paul@example.com", amount="12.50", created_at=NOW - timedelta(hours=2))
    paid(aws, lambda_context, "FIND3", created_at=NOW - timedelta(days=1))
    page = console(viewer.get("/console/orders", text="jeanne.martin"))
    assert page["statusCode"] == 200
    listed = text(page["body"])
    assert "FIND1" in listed
    assert "FIND2" not in listed
    assert "27/11/2026" not in listed  # English dates
    assert "2026-11-27 12:00" in listed  # made at 11:00 UTC: the terminal's time, Paris
    everything = text(console(viewer.get("/console/orders"))["body"])
    assert everything.index("FIND1") < everything.index("FIND2") < everything.index("FIND3")  # newest first
    assert re.search(r"Orders from \S+ to \S+: 3, by status", everything)
    assert "Awaiting payment: 2" in everything
    assert "Paid: 1" in everything
    by_amount = text(console(viewer.get("/console/orders", amount="12.50"))["body"])
    assert ("FIND2" in by_amount, "FIND1" in by_amount) == (True, False)
    paid_only = text(console(viewer.get("/console/orders", status="paid"))["body"])
    assert ("FIND3" in paid_only, "FIND1" in paid_only) == (True, False)
    french = text(console(viewer.get("/console/orders", lang="fr"))["body"])
    assert "En attente de paiement : 2" in french
    assert "Payée : 1" in french
    assert "27/11/2026 11:00" in french  # FIND2, made at 10:00 UTC


def test_a_malformed_filter_is_a_400_naming_it(console: Any, viewer: Browser) -> None:
    for query, field in (({"amount": "12,50"}, "amount"), ({"tpe": "nope"}, "tpe"), ({"colour": "red"}, "colour")):
        page = console(viewer.get("/console/orders", **query))
        assert page["statusCode"] == 400
        assert text(page["body"]).count(f"{field}:") == 1
        assert "Traceback" not in page["body"]


def test_the_list_pages_with_a_link(aws: Any, console: Any, viewer: Browser) -> None:
    for number in range(3):
        stored_order(aws, f"PAGE{number}", created_at=NOW - timedelta(minutes=number))
    first = console(viewer.get("/console/orders", text="page"))["body"]
    assert "PAGE2" in first
    # The page size is the API's 50; ask for a smaller one through the same parameters the link keeps.
    small = console(viewer.get("/console/orders", text="page", limit="2"))["body"]
    link = re.search(r'<a href="([^"]+)" rel="next">', small)
    assert link is not None
    assert "text=page" in link.group(1)
    assert "cursor=" in link.group(1)


def test_a_deferred_authorisation_captured_in_part_then_the_rest(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "CAP1", "0900159")
    page = text(console(operator.get("/console/orders/CAP1"))["body"])
    assert "Capture everything (62.73 EUR)" in page
    assert "Cancel what remains (62.73 EUR)" in page
    assert "Refund everything" not in page  # nothing was captured: not offered
    form = confirmation(console, operator, "/console/orders/CAP1/capture", amount="10.00")
    asked = text(console(operator.get("/console/orders/CAP1/capture", amount="10.00"))["body"])
    assert "Capture 10.00 EUR of order CAP1 (buyer@example.com)?" in asked
    answer = console(operator.post("/console/orders/CAP1/capture", form))
    assert answer["statusCode"] == 200
    assert "Done: the bank accepted the capture." in text(answer["body"])
    order = aws.store.get("CAP1")
    assert (order.status, order.captured) == (OrderStatus.PARTIALLY_CAPTURED, Decimal(10))
    assert order.operations[-1].actor is not None
    assert (order.operations[-1].actor.kind.value, order.operations[-1].actor.name) == (
        "console_user",
        "ops@shop.example",
    )
    rest = confirmation(console, operator, "/console/orders/CAP1/capture")
    assert console(operator.post("/console/orders/CAP1/capture", rest))["statusCode"] == 200
    order = aws.store.get("CAP1")
    assert (order.status, order.captured) == (OrderStatus.CAPTURED, Decimal("62.73"))
    assert bank.accounts["CAP100"].captured == order.captured
    timeline = text(console(operator.get("/console/orders/CAP1"))["body"])
    assert "Partial capture of 10.00 EUR: done." in timeline
    assert "Capture of 52.73 EUR: done." in timeline
    assert "By ops@shop.example (console)" in timeline
    assert "event OrderCaptured sent to the shop" in timeline
    assert "Capture everything" not in timeline  # nothing left to capture


def test_a_paid_order_refunded_in_part_and_a_double_post_done_once(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "REF1")
    page = text(console(operator.get("/console/orders/REF1"))["body"])
    assert "Refund everything (62.73 EUR)" in page
    assert "Capture" not in page.split("Actions", 1)[1].split("What happened", 1)[0]  # an immediate payment
    form = confirmation(console, operator, "/console/orders/REF1/refund", amount="20.00")
    first = console(operator.post("/console/orders/REF1/refund", form))
    again = console(operator.post("/console/orders/REF1/refund", form))  # a double click: the same key
    assert "Done" in text(first["body"])
    assert "Already done: this confirmation was sent before, and it was done once." in text(again["body"])
    order = aws.store.get("REF1")
    assert (order.status, order.refunded) == (OrderStatus.PARTIALLY_REFUNDED, 20)
    assert bank.accounts["REF100"].refunded == 20
    assert [cgi for cgi, _ in bank.calls if cgi == "recredit_paiement.cgi"] == ["recredit_paiement.cgi"]  # once
    assert len([op for op in order.operations if op.event == "refund_partial"]) == 1
    assert text(console(operator.get("/console/orders/REF1"))["body"]).count("Partial refund of 20.00 EUR") == 1


def test_a_bank_refusal_is_said_in_text(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "REF2")
    form = confirmation(console, operator, "/console/orders/REF2/refund")
    bank.refuse_next = 1
    answer = console(operator.post("/console/orders/REF2/refund", form))
    assert answer["statusCode"] == 502
    assert text(answer["body"]).startswith(text(answer["body"]).split("Not done: the bank refused")[0])
    assert "Not done: the bank refused" in text(answer["body"])
    assert aws.store.get("REF2").refunded == 0


def test_a_refused_card_is_told_in_words_in_french_and_english(
    aws: Any, lambda_context: Any, console: Any, viewer: Browser
) -> None:
    stored_order(aws, "RFS1")
    confirm(aws, lambda_context, "Annulation", "", reference="RFS100", reason="filtrage")
    english = text(console(viewer.get("/console/orders/RFS1"))["body"])
    assert "Payment refused (Annulation): stopped by the bank's fraud filters." in english
    french = text(console(viewer.get("/console/orders/RFS1", lang="fr"))["body"])
    assert "Paiement refusé (Annulation) : arrêté par les filtres anti-fraude de la banque." in french


def test_a_viewer_sees_no_action_and_the_route_refuses_it(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, viewer: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "VIEW1")
    page = text(console(viewer.get("/console/orders/VIEW1"))["body"])
    assert "Refund everything" not in page
    assert "Actions" not in page
    assert console(viewer.get("/console/orders/VIEW1/refund"))["statusCode"] == 403
    form = confirmation(console, operator, "/console/orders/VIEW1/refund")
    refused = console(viewer.post("/console/orders/VIEW1/refund", form))
    assert refused["statusCode"] == 403
    assert aws.store.get("VIEW1").refunded == 0
    assert bank.accounts["VIEW100"].refunded == 0


def test_an_action_not_allowed_or_a_bad_amount_is_a_400_naming_the_field(
    aws: Any, lambda_context: Any, console: Any, operator: Browser, bank: FakeBank
) -> None:
    paid(aws, lambda_context, "BAD1")
    for path, query, field in (
        ("/console/orders/BAD1/refund", {"amount": "12,50"}, "amount"),
        ("/console/orders/BAD1/refund", {"amount": "100.00"}, "amount"),
        ("/console/orders/BAD1/refund", {"amount": "<b>"}, "amount"),
        ("/console/orders/BAD1/capture", {}, "operation"),
    ):
        page = console(operator.get(path, **query))
        assert page["statusCode"] == 400, (path, query)
        assert f"{field}:" in text(page["body"])
        assert "<b>" not in page["body"]
    form = confirmation(console, operator, "/console/orders/BAD1/refund")
    bad = console(operator.post("/console/orders/BAD1/refund", {**form, "amount": "1.234"}))
    assert (bad["statusCode"], "amount:" in text(bad["body"])) == (400, True)
    no_key = console(operator.post("/console/orders/BAD1/refund", {}))
    assert (no_key["statusCode"], "key:" in text(no_key["body"])) == (400, True)
    assert bank.accounts["BAD100"].refunded == 0


def test_an_unknown_order_is_a_404(console: Any, operator: Browser) -> None:
    assert console(operator.get("/console/orders/NOSUCH1"))["statusCode"] == 404
    assert console(operator.get("/console/orders/NOSUCH1/refund"))["statusCode"] == 404
    assert console(operator.get("/console/orders/%3Cscript%3E"))["statusCode"] == 404
    answer = console(operator.post("/console/orders/NOSUCH1/refund", {"key": "k" * 20}))
    assert answer["statusCode"] == 404


def test_markup_in_an_email_or_a_description_is_escaped_and_no_secret_is_shown(
    aws: Any, lambda_context: Any, console: Any, operator: Browser
) -> None:
    hostile = '"><script>alert(1)</script>@example.com'
    stored_order(aws, "ESC1", email=hostile, description="<img src=x onerror=alert(1)>")
    confirm(aws, lambda_context, reference="ESC100")
    for path in ("/console/orders", "/console/orders/ESC1", "/console/orders/ESC1/refund"):
        page = console(operator.get(path))
        assert page["statusCode"] == 200, path
        assert "<script>" not in page["body"]
        assert "<img" not in page["body"]
        assert "&lt;script&gt;" in page["body"]
        assert TEST_KEY not in page["body"]
        for card in ("411111", "74E94B03C22D786E0F2C2CADBFC1C00B004B7C45", "1228"):
            assert card not in page["body"], (path, card)


def test_every_state_reason_and_actor_has_its_words_in_both_languages() -> None:
    """A state, a review reason or an actor kind added without its texts would fail the order page: each has them,
    and the orders' texts have the same keys in French and English."""
    import json
    from importlib import resources

    from orders.actors import ActorKind
    from orders.model import ReviewReason

    texts = {
        language: json.loads(resources.files("console").joinpath("locales", f"orders.{language}.json").read_text())
        for language in ("en", "fr")
    }
    assert set(texts["en"]) == set(texts["fr"])
    needed = {f"status.{s.value}" for s in OrderStatus} | {f"review.{r.value}" for r in ReviewReason}
    needed |= {f"actor.{kind.value}" for kind in ActorKind}
    assert needed <= set(texts["en"])
