"""The back office's routes for what needs attention: GET /attention lists, POST /orders/{reference}/reviewed marks
by the caller (SigV4's principal, or a shop key with the back_office scope)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orders.model import OperationRecord
from sealing import Money
from tests.support.merchant import ACK_OK, CONSOLE, LATER, NOW, call, confirm, stored_order

REVIEWED = "/orders/{reference}/reviewed"
SIGNED = {"identity": {"userArn": CONSOLE.name}}


@pytest.fixture(autouse=True)
def flagged(aws: Any, lambda_context: Any) -> None:
    """An order the bank confirmed for another amount than its own."""
    aws.use(clock=lambda: NOW)
    stored_order(aws, "APIFLAG", created_at=NOW)
    assert confirm(aws, lambda_context, reference="APIFLAG00", amount="70.00EUR")["body"] == ACK_OK


def key_context(scope: str) -> dict[str, Any]:
    return {"authorizer": {"scope": scope, "label": "warehouse", "key_id": "3hx9q2k7w1ab"}}


def test_the_list_names_the_order_and_marking_takes_it_out(aws: Any, lambda_context: Any) -> None:
    status, page = call(aws, lambda_context, "GET", "/attention", context=SIGNED)
    assert status == 200
    assert [(o["reference"], o["needs_review"], len(o["reviews"])) for o in page["orders"]] == [("APIFLAG", True, 1)]
    assert page["next"] is None
    aws.use(clock=lambda: LATER)
    status, order = call(aws, lambda_context, "POST", REVIEWED, "APIFLAG", {"reviews": 1}, context=SIGNED)
    assert status == 200
    assert order["needs_review"] is False
    assert order["reviewed"] == [{"actor": CONSOLE.as_json(), "time": LATER.isoformat(), "reviews": 1}]
    assert call(aws, lambda_context, "GET", "/attention", context=SIGNED)[1]["orders"] == []
    again = call(aws, lambda_context, "POST", REVIEWED, "APIFLAG", {"reviews": 1}, context=key_context("back_office"))
    assert again == (200, order)  # marked already: nothing written, the first mark stays


def test_a_review_appended_since_the_page_stays_listed(aws: Any, lambda_context: Any) -> None:
    late = OperationRecord("slowcall", "refund_full", Money(Decimal("62.73"), "EUR"), LATER, "done", actor=CONSOLE)
    aws.store.record_conflict("APIFLAG", late, LATER)
    status, order = call(aws, lambda_context, "POST", REVIEWED, "APIFLAG", {"reviews": 1}, context=SIGNED)
    assert (status, order["needs_review"], len(order["reviews"])) == (200, True, 2)
    listed = call(aws, lambda_context, "GET", "/attention", context=SIGNED)[1]["orders"]
    assert [o["reference"] for o in listed] == ["APIFLAG"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "reviews"), ({"reviews": "1"}, "reviews"), ({"reviews": True}, "reviews"), ({"reviews": 2}, "reviews"),
     ({"reviews": 1, "by": "me"}, "by")],
)  # fmt: skip
def test_a_body_that_says_no_count_of_the_orders_reviews_is_a_400_naming_the_field(
    aws: Any, lambda_context: Any, body: dict[str, Any], field: str
) -> None:
    status, answer = call(aws, lambda_context, "POST", REVIEWED, "APIFLAG", body, context=SIGNED)
    assert (status, answer["error"]["field"]) == (400, field)
    assert aws.store.get("APIFLAG").review_marks == ()


def test_an_unknown_order_is_a_404(aws: Any, lambda_context: Any) -> None:
    for reference in ("NOSUCH", "x" * 300):
        assert call(aws, lambda_context, "POST", REVIEWED, reference, {"reviews": 1}, context=SIGNED)[0] == 404


def test_a_read_only_key_lists_but_does_not_mark(aws: Any, lambda_context: Any) -> None:
    read_only = key_context("read_only")
    assert call(aws, lambda_context, "GET", "/attention", context=read_only)[0] == 200
    assert call(aws, lambda_context, "POST", REVIEWED, "APIFLAG", {"reviews": 1}, context=read_only)[0] == 403
    assert aws.store.get("APIFLAG").review_marks == ()
    status, order = call(
        aws, lambda_context, "POST", REVIEWED, "APIFLAG", {"reviews": 1}, context=key_context("back_office")
    )
    assert (status, order["reviewed"][0]["actor"]) == (200, {"kind": "key", "name": "warehouse (3hx9q2k7w1ab)"})


def test_a_bad_page_request_is_a_400_naming_the_field(aws: Any, lambda_context: Any) -> None:
    for query, field in (({"limit": "0"}, "limit"), ({"cursor": "zzz"}, "cursor"), ({"status": "paid"}, "status")):
        status, answer = call(aws, lambda_context, "GET", "/attention", context=SIGNED, **query)
        assert (status, answer["error"]["field"]) == (400, field)
