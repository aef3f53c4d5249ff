"""The orders list's filters (status, terminal, days, amount, text), its bounded reads and its counts per status, as
the API's ``GET /orders`` and the console read them (``orders.listing``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orders.listing import count_orders, filters_of, list_orders
from orders.model import Order, OrderStatus
from sealing import Money, PaymentMode
from tests.support.merchant import call, stored_order

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
TPES = {"0900157", "0900158", "0900159"}


@pytest.fixture
def shop(aws: Any) -> Any:
    """Six orders over three days, on two terminals, with their e-mails and amounts."""
    rows = [
        ("ORDA1", "0900157", "12.50", "Alice@Example.com", 0, OrderStatus.PAID),
        ("ORDB2", "0900157", "62.73", "bob@example.com", 0, OrderStatus.AWAITING_PAYMENT),
        ("ORDC3", "0900158", "12.50", "carol@shop.example", 1, OrderStatus.AUTHORIZED),
        ("XYZD4", "0900158", "99.00", "dave@example.com", 1, OrderStatus.PAID),
        ("ORDE5", "0900157", "12.5", "erin@example.com", 2, OrderStatus.REFUNDED),
        ("ORDF6", "0900157", "5.00", "alice@example.com", 9, OrderStatus.PAID),
    ]
    for number, (reference, tpe, amount, email, days_ago, status) in enumerate(rows):
        created = NOW - timedelta(days=days_ago, minutes=number)
        order = Order(
            reference, tpe, PaymentMode.IMMEDIATE, status, Money(Decimal(amount), "EUR"), email, "FR", created, "0" * 64
        )
        aws.store.create(order)
    return aws.store


def refs(page: Any) -> list[str]:
    return [order.reference for order in page.orders]


def test_each_filter_and_all_of_them_at_once(shop: Any) -> None:
    listed = lambda **query: refs(list_orders(shop, query, NOW, tpes=TPES))  # noqa: E731
    assert listed() == ["ORDA1", "ORDB2", "ORDC3", "XYZD4", "ORDE5", "ORDF6"]  # newest first
    assert listed(tpe="0900158") == ["ORDC3", "XYZD4"]
    assert listed(amount="12.50") == ["ORDA1", "ORDC3", "ORDE5"]  # 12.5 is 12.50
    assert listed(text="ALICE@example") == ["ORDA1", "ORDF6"]  # the e-mail, letter case aside
    assert listed(text="yzd") == ["XYZD4"]  # part of the reference
    assert listed(**{"from": "2026-11-30", "to": "2026-11-30"}) == ["ORDC3", "XYZD4"]
    assert listed(status="paid", tpe="0900157", text="alice") == ["ORDA1", "ORDF6"]
    assert listed(status="paid", tpe="0900157", text="alice", **{"from": "2026-11-25"}) == ["ORDA1"]


def test_pages_of_a_filtered_list_follow_each_other(shop: Any) -> None:
    first = list_orders(shop, {"amount": "12.50", "limit": "2"}, NOW, tpes=TPES)
    assert refs(first) == ["ORDA1", "ORDC3"]
    assert first.cursor
    second = list_orders(shop, {"amount": "12.50", "limit": "2", "cursor": first.cursor}, NOW, tpes=TPES)
    assert (refs(second), second.cursor) == (["ORDE5"], None)


def test_a_page_reads_a_bounded_number_of_entries_and_says_how_far_it_searched(shop: Any) -> None:
    page = list_orders(shop, {"text": "alice"}, NOW, tpes=TPES, max_reads=3)
    assert refs(page) == ["ORDA1"]
    assert page.searched_to == date(2026, 11, 30)
    assert page.cursor
    rest = list_orders(shop, {"text": "alice", "cursor": page.cursor}, NOW, tpes=TPES, max_reads=3)
    assert refs(rest) == ["ORDF6"]


def test_counts_per_status_over_the_filtered_range(shop: Any) -> None:
    counts = count_orders(shop, filters_of({}, NOW, tpes=TPES))
    assert (counts.complete, counts.total) == (True, 6)
    assert (counts.by_status["paid"], counts.by_status["authorized"], counts.by_status["captured"]) == (3, 1, 0)
    # The status filter is the one the counts leave out: they say how many there are of each.
    filtered = count_orders(shop, filters_of({"tpe": "0900157", "status": "paid"}, NOW, tpes=TPES))
    assert (filtered.by_status["paid"], filtered.by_status["refunded"], filtered.total) == (2, 1, 4)
    bounded = count_orders(shop, filters_of({}, NOW, tpes=TPES), bound=3)
    assert (bounded.complete, bounded.total, bounded.counted_to) == (False, 3, date(2026, 11, 30))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"tpe": "0999999"}, "tpe"),
        ({"amount": "12,50"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"text": "x" * 101}, "text"),
    ],
)
def test_the_api_names_a_parameter_unknown_or_malformed(
    aws: Any, lambda_context: Any, query: dict[str, str], field: str
) -> None:
    status, answer = call(aws, lambda_context, "GET", "/orders", **query)
    assert (status, answer["error"]["field"]) == (400, field)


def test_the_api_takes_the_same_filters(aws: Any, lambda_context: Any) -> None:
    today = datetime.now(UTC)
    stored_order(aws, "APIF1", "0900158", "12.50", email="Zoe@shop.example", created_at=today)
    stored_order(aws, "APIF2", "0900157", "12.50", email="zoe@shop.example", created_at=today)
    status, page = call(aws, lambda_context, "GET", "/orders", tpe="0900158", amount="12.50", text="zoe@")
    assert (status, [o["reference"] for o in page["orders"]]) == (200, ["APIF1"])
