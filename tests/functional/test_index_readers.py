"""Every reader of the orders table's indexes returns whole orders, as the table holds them, though each index
projects only its keys (and DateIndex the status its readers filter on): the orders it names are read by key."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orders.exceptions import StoreUnavailableError
from orders.model import Order, OrderStatus
from orders.store import OrderStore, deadline_shard
from sealing import Instalment, Money
from tests.support.merchant import confirm, stored_order

CREATED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DAY = "2026-11-27"


def changed_day(aws: Any, reference: str) -> str:
    key = {"pk": {"S": f"ORDER#{reference}"}, "sk": {"S": "ORDER"}}
    return str(aws.dynamodb.get_item(TableName=aws.store.table_name, Key=key)["Item"]["changed_day"]["S"])


def whole(aws: Any, orders: list[Order]) -> list[Order]:
    """Each order as the table holds it, read by key: what a reader must return."""
    return [aws.store.get(order.reference) for order in orders]


@pytest.fixture
def orders(aws: Any, lambda_context: Any) -> dict[str, Order]:
    """An order paid (with its attempt, its session...), one awaiting payment, a split payment, a deferred
    authorisation past its deadline; created a minute apart, in that order."""
    stored_order(aws, "IDXPAID000", created_at=CREATED, description="2 BIC Bleu", billing={"city": "Paris"})
    confirm(aws, lambda_context, reference="IDXPAID00000")
    stored_order(aws, "IDXWAIT000", created_at=CREATED + timedelta(minutes=1), free_text="basket 42")
    schedule = (
        Instalment(date(2026, 11, 27), Money(Decimal("30.00"), "EUR")),
        Instalment(date(2026, 12, 27), Money(Decimal("30.00"), "EUR")),
    )
    stored_order(aws, "IDXSPLIT00", amount="60.00", created_at=CREATED + timedelta(minutes=2), instalments=schedule)
    stored_order(aws, "IDXDEFER00", tpe="0900158", created_at=CREATED + timedelta(minutes=3))
    confirm(aws, lambda_context, reference="IDXDEFER0000", tpe="0900158")
    aws.dynamodb.update_item(  # its deadline passed (the sweeper's index)
        TableName=aws.store.table_name,
        Key={"pk": {"S": "ORDER#IDXDEFER00"}, "sk": {"S": "ORDER"}},
        UpdateExpression="SET deadline = :deadline",
        ExpressionAttributeValues={":deadline": {"S": (CREATED - timedelta(days=1)).isoformat()}},
    )
    found = {reference: aws.store.get(reference) for reference in ("IDXPAID000", "IDXWAIT000", "IDXSPLIT00")}
    found["IDXDEFER00"] = aws.store.get("IDXDEFER00")
    assert found["IDXDEFER00"].status is OrderStatus.AUTHORIZED
    assert found["IDXPAID000"].attempts
    assert found["IDXPAID000"].description == "2 BIC Bleu"
    return found


def test_the_orders_of_a_day_are_whole_newest_first_and_page_by_page(aws: Any, orders: dict[str, Order]) -> None:
    listed, key = aws.store.orders_of_day(DAY, limit=10)
    assert key is None
    assert listed == whole(aws, sorted(orders.values(), key=lambda o: o.created_at, reverse=True))
    pages, key = [], None
    while True:
        page, key = aws.store.orders_of_day(DAY, limit=3, start_key=key)
        pages.append(page)
        if key is None:
            break
    assert [o.reference for o in pages[0]] == ["IDXDEFER00", "IDXSPLIT00", "IDXWAIT000"]
    assert [o for page in pages for o in page] == listed


def test_the_orders_of_a_day_filtered_on_their_status_are_those_in_that_status(
    aws: Any, orders: dict[str, Order]
) -> None:
    awaiting, _ = aws.store.orders_of_day(DAY, limit=10, status=OrderStatus.AWAITING_PAYMENT.value)
    assert awaiting == whole(aws, [orders["IDXSPLIT00"], orders["IDXWAIT000"]])
    paid, _ = aws.store.orders_of_day(DAY, limit=10, status=OrderStatus.PAID.value)
    assert paid == whole(aws, [orders["IDXPAID000"]])


def test_the_orders_changed_on_a_day_and_the_split_payments_of_a_month_are_whole(
    aws: Any, orders: dict[str, Order]
) -> None:
    days = {changed_day(aws, reference) for reference in orders}  # created on DAY; paid on CGI2's day
    changed = []
    for day in days:
        page, key = aws.store.orders_changed_on(day, limit=10)
        assert key is None
        changed.extend(page)
    by_reference = sorted(orders.values(), key=lambda o: o.reference)
    assert sorted(changed, key=lambda o: o.reference) == whole(aws, by_reference)
    split, _ = aws.store.split_payments_of_month(DAY[:7], limit=10)
    assert split == whole(aws, [orders["IDXSPLIT00"]])
    assert split[0].instalments == orders["IDXSPLIT00"].instalments


def test_the_due_orders_are_whole(aws: Any, orders: dict[str, Order]) -> None:
    due: list[Order] = []
    start: dict[str, Any] | None = None
    while True:
        page, start, _ = aws.store.due_orders(CREATED, start)
        due.extend(page)
        if not start:
            break
    assert due == whole(aws, [orders["IDXDEFER00"]])
    assert deadline_shard("IDXDEFER00").startswith("DEFERRED#")


def test_an_order_gone_between_the_index_and_its_read_is_left_out(aws: Any, orders: dict[str, Order]) -> None:
    # The table's TTL removes an order nobody paid: the index may still name it for a moment.
    real = aws.store.client.batch_get_item

    def after_the_ttl(**kwargs: Any) -> Any:
        aws.dynamodb.delete_item(
            TableName=aws.store.table_name, Key={"pk": {"S": "ORDER#IDXWAIT000"}, "sk": {"S": "ORDER"}}
        )
        return real(**kwargs)

    aws.store.client.batch_get_item = after_the_ttl
    try:
        listed, _ = aws.store.orders_of_day(DAY, limit=10)
    finally:
        del aws.store.client.batch_get_item
    assert "IDXWAIT000" not in [o.reference for o in listed]
    assert len(listed) == 3


class Throttled:
    """A DynamoDB client whose ``BatchGetItem`` reads only ``reads`` keys (and leaves the others unread) for its
    first ``throttled`` calls."""

    def __init__(self, client: Any, throttled: int, reads: int = 1) -> None:
        self.client = client
        self.throttled = throttled
        self.reads = reads

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> Any:
        if self.throttled == 0:
            return self.client.batch_get_item(RequestItems=RequestItems)
        self.throttled -= 1
        ((table, request),) = RequestItems.items()
        read, rest = request["Keys"][: self.reads], request["Keys"][self.reads :]
        answer = self.client.batch_get_item(RequestItems={table: {"Keys": read}}) if read else {"Responses": {}}
        answer["UnprocessedKeys"] = {table: {"Keys": rest}} if rest else {}
        return answer


def test_what_dynamodb_leaves_unread_is_asked_again_after_a_growing_pause(aws: Any, orders: dict[str, Order]) -> None:
    pauses: list[float] = []
    store = OrderStore(aws.store.table_name, client=Throttled(aws.dynamodb, 2), sleep=pauses.append)
    listed, _ = store.orders_of_day(DAY, limit=10)
    assert listed == aws.store.orders_of_day(DAY, limit=10)[0]
    assert len(listed) == 4
    assert pauses == [0.05, 0.1]


def test_keys_still_unread_after_the_last_try_are_a_store_failure(aws: Any, orders: dict[str, Order]) -> None:
    pauses: list[float] = []
    store = OrderStore(aws.store.table_name, client=Throttled(aws.dynamodb, 100, reads=0), sleep=pauses.append)
    with pytest.raises(StoreUnavailableError, match="BatchGetItem left keys unread after 5 tries"):
        store.orders_of_day(DAY, limit=10)
    assert len(pauses) == 4
