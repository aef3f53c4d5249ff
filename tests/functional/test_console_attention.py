"""The console's "Needs attention" page: each order needing review with what happened and what to do, the
confirmations that matched no order, and an operator's mark (recorded with their e-mail) taking them off the list."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from console.i18n import LANGUAGES
from orders.actors import Actor, ActorKind
from orders.model import OperationRecord, Review, ReviewReason
from sealing import Money
from tests.support.console import Browser, console_at, event, operator_at, text
from tests.support.merchant import ACK_OK, confirm, stored_order

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
OPERATOR = "ops@shop.example"


@pytest.fixture
def console(aws: Any, lambda_context: Any) -> Any:
    return console_at(aws, lambda_context, NOW)


@pytest.fixture
def operator(aws: Any) -> Browser:
    return operator_at(aws, NOW, OPERATOR)


def mismatched(aws: Any, lambda_context: Any, reference: str) -> None:
    stored_order(aws, reference, created_at=NOW)
    assert confirm(aws, lambda_context, reference=reference + "00", amount="70.00EUR")["body"] == ACK_OK


def conflict(aws: Any, reference: str, at: datetime = LATER) -> None:
    late = OperationRecord("slowcall", "refund_full", Money(Decimal("62.73"), "EUR"), at, "done", actor=None)
    aws.store.record_conflict(reference, late, at)


def seen_on_page(body: str, reference: str) -> str:
    """The number of reviews the page's form for ``reference`` says were shown."""
    form = re.search(rf'action="[^"]*/console/orders/{reference}/reviewed">(.*?)</form>', body, re.S)
    assert form is not None, f"no mark form for {reference}"
    found = re.search(r'name="reviews" value="(\d+)"', form.group(1))
    assert found is not None
    return found.group(1)


def words(page: str) -> str:
    """What a reader sees of a page: its text, entities read back."""
    return html.unescape(text(page))


def done(answer: dict[str, Any]) -> str:
    assert answer["statusCode"] == 303
    return parse_qs(urlparse(answer["headers"]["Location"]).query)["done"][0]


def test_each_order_to_review_says_what_happened_and_what_to_do(
    aws: Any, lambda_context: Any, console: Any, operator: Browser
) -> None:
    mismatched(aws, lambda_context, "CAMISMATCH")
    stored_order(aws, "CACONFLICT", created_at=NOW)
    conflict(aws, "CACONFLICT")
    answer = console(operator.get("/console/attention"))
    assert answer["statusCode"] == 200
    page = words(answer["body"])
    assert page.index("Order CACONFLICT") < page.index("Order CAMISMATCH")  # latest review first
    assert "The bank confirmed a payment for another amount than the order's." in page
    assert "Nothing was recorded as paid." in page
    assert "ended after its entry was already settled" in page
    assert "2026-11-27 13:05 (Europe/Paris)" in page  # the terminal's time zone
    assert 'href="/Prod/console/orders/CAMISMATCH"' in answer["body"]
    assert seen_on_page(answer["body"], "CAMISMATCH") == "1"


def test_the_page_speaks_french(aws: Any, lambda_context: Any, console: Any, operator: Browser) -> None:
    mismatched(aws, lambda_context, "CAFRENCH")
    page = words(console(operator.get("/console/attention", lang="fr"))["body"])
    assert "À examiner" in page
    assert "La banque a confirmé un paiement d'un autre montant que celui de la commande." in page
    assert "Marquer examinée" in page


def test_marking_takes_the_order_off_the_list_and_records_the_users_e_mail(
    aws: Any, lambda_context: Any, console: Any, operator: Browser
) -> None:
    mismatched(aws, lambda_context, "CAMARK")
    answer = console(operator.post("/console/orders/CAMARK/reviewed", {"reviews": "1"}))
    assert done(answer) == "reviewed"
    [mark] = aws.store.get("CAMARK").review_marks
    assert (mark.actor, mark.at, mark.covers) == (Actor(ActorKind.CONSOLE_USER, OPERATOR), NOW, 1)
    page = words(console(operator.get("/console/attention", done="reviewed", reference="CAMARK"))["body"])
    assert "Order CAMARK: reviews marked reviewed. It no longer needs attention." in page
    assert "No order needs attention." in page


def test_a_review_arriving_between_the_page_and_the_mark_keeps_the_order_listed(
    aws: Any, lambda_context: Any, console: Any, operator: Browser
) -> None:
    mismatched(aws, lambda_context, "CARACE")
    seen = seen_on_page(console(operator.get("/console/attention"))["body"], "CARACE")
    conflict(aws, "CARACE")  # before the operator clicks
    assert done(console(operator.post("/console/orders/CARACE/reviewed", {"reviews": seen}))) == "newer_open"
    body = console(operator.get("/console/attention"))["body"]
    assert seen_on_page(body, "CARACE") == "2"
    page = words(body)
    assert "The bank confirmed a payment for another amount" not in page  # covered by the mark
    assert "ended after its entry was already settled" in page
    assert f"earlier reviews marked by {OPERATOR}" in page


def test_marking_twice_is_harmless(aws: Any, lambda_context: Any, console: Any, operator: Browser) -> None:
    mismatched(aws, lambda_context, "CATWICE")
    assert done(console(operator.post("/console/orders/CATWICE/reviewed", {"reviews": "1"}))) == "reviewed"
    assert done(console(operator.post("/console/orders/CATWICE/reviewed", {"reviews": "1"}))) == "already"
    assert len(aws.store.get("CATWICE").review_marks) == 1


def test_a_viewer_sees_the_list_but_the_route_refuses_the_mark(aws: Any, lambda_context: Any, console: Any) -> None:
    mismatched(aws, lambda_context, "CAVIEWER")
    viewer = Browser(aws.store, "viewer", NOW)
    answer = console(viewer.get("/console/attention"))
    assert answer["statusCode"] == 200
    assert "Order CAVIEWER" in words(answer["body"])
    assert "/reviewed" not in answer["body"]  # no form offered
    refused = console(viewer.post("/console/orders/CAVIEWER/reviewed", {"reviews": "1"}))
    assert refused["statusCode"] == 403
    assert aws.store.get("CAVIEWER").review_marks == ()


def test_a_mark_without_the_forms_token_is_refused(
    aws: Any, lambda_context: Any, console: Any, operator: Browser
) -> None:
    mismatched(aws, lambda_context, "CACSRF")
    assert console(operator.post("/console/orders/CACSRF/reviewed", {"reviews": "1"}, csrf=False))["statusCode"] == 403
    assert aws.store.get("CACSRF").review_marks == ()


def test_an_unknown_order_is_404_and_a_bad_count_400(
    aws: Any, lambda_context: Any, console: Any, operator: Browser
) -> None:
    assert console(operator.post("/console/orders/NOSUCHORDER/reviewed", {"reviews": "1"}))["statusCode"] == 404
    assert console(operator.post("/console/orders/" + "x" * 80 + "/reviewed", {"reviews": "1"}))["statusCode"] == 404
    mismatched(aws, lambda_context, "CACOUNT")
    for count in ("2", "0", "one", ""):
        answer = console(operator.post("/console/orders/CACOUNT/reviewed", {"reviews": count}))
        assert answer["statusCode"] == 400
        assert "reviews" in words(answer["body"])
    assert console(operator.get("/console/attention", cursor="not-a-cursor"))["statusCode"] == 400


def test_what_the_kit_recorded_is_escaped(aws: Any, console: Any, operator: Browser) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    review = Review(ReviewReason.OPERATION_CONFLICT, NOW, hostile)
    stored_order(aws, "CAESCAPE", created_at=NOW, reviews=(review,))
    body = console(operator.get("/console/attention"))["body"]
    assert "Order CAESCAPE" in words(body)
    assert "<script>" not in body
    assert "<img" not in body
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body


def test_a_confirmation_that_matched_no_order_is_listed_until_marked(
    aws: Any, lambda_context: Any, console: Any, operator: Browser
) -> None:
    assert confirm(aws, lambda_context, reference="NOSUCHORD01", amount="12.50EUR")["body"] == ACK_OK
    body = console(operator.get("/console/attention"))["body"]
    page = words(body)
    assert "NOSUCHORD01" in page
    assert "12.50EUR" in page
    assert "no such order for this terminal" in page
    assert "411111" not in body  # the card's BIN the confirmation carried is not shown
    pk = re.search(r'name="pk" value="([^"]+)"', body)
    sk = re.search(r'name="sk" value="([^"]+)"', body)
    assert pk
    assert sk
    viewer = Browser(aws.store, "viewer", NOW)
    form = {"pk": html.unescape(pk.group(1)), "sk": html.unescape(sk.group(1))}
    assert console(viewer.post("/console/attention/unmatched", form))["statusCode"] == 403
    assert done(console(operator.post("/console/attention/unmatched", form))) == "unmatched_reviewed"
    assert "NOSUCHORD01" not in words(console(operator.get("/console/attention"))["body"])
    assert done(console(operator.post("/console/attention/unmatched", form))) == "unmatched_already"


def test_the_pages_texts_exist_in_every_language() -> None:
    keys = [
        set(json.loads(resources.files("console").joinpath("locales", f"attention.{lang}.json").read_text()))
        for lang in LANGUAGES
    ]
    assert all(k == keys[0] for k in keys)
    assert {f"attention.reason.{reason.value}" for reason in ReviewReason} <= keys[0]
    assert {f"attention.todo.{reason.value}" for reason in ReviewReason} <= keys[0]


def test_a_signed_out_browser_is_sent_to_sign_in(console: Any) -> None:
    answer = console(event("GET", "/console/attention"))
    assert answer["statusCode"] == 303
    assert "/console/sign-in" in answer["headers"]["Location"]
