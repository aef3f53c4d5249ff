"""The deadline index spread over shards: no partition takes every deferred order, and the sweeper finds every
due order, in every shard, reading only what is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orders.backoffice import BackOffice
from orders.bank import BankClient
from orders.model import Order, OrderStatus
from orders.store import DEADLINE_SHARDS, deadline_partitions, deadline_shard
from orders.terminals import Terminals
from tests.support.aws import terminals_config
from tests.support.fakebank import FakeBank
from tests.support.merchant import ACK_OK, confirm, stored_order, write_authorized_orders

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_deferred_acceptances_spread_over_the_shards(aws: Any, lambda_context: Any) -> None:
    shards = set()
    for number in range(40):
        reference = f"SHARD{number:05d}"
        stored_order(aws, reference, tpe="0900158", created_at=datetime.now(UTC))
        assert confirm(aws, lambda_context, reference=reference + "00", tpe="0900158")["body"] == ACK_OK
        raw = aws.dynamodb.get_item(
            TableName="orders-test", Key={"pk": {"S": f"ORDER#{reference}"}, "sk": {"S": "ORDER"}}
        )["Item"]
        assert raw["deadline_shard"]["S"] == deadline_shard(reference)
        shards.add(raw["deadline_shard"]["S"])
    assert len(shards) >= DEADLINE_SHARDS // 2  # 40 orders land on many partitions, not one
    assert shards <= set(deadline_partitions())


def test_the_shard_of_a_reference_is_stable() -> None:
    assert deadline_shard("ABCDEF0123") == deadline_shard("ABCDEF0123")


def test_the_sweeper_reads_the_shards_an_order_is_written_to_and_nothing_else() -> None:
    assert deadline_partitions() == tuple(f"DEFERRED#{number:02d}" for number in range(DEADLINE_SHARDS))
    assert set(deadline_partitions()) == {deadline_shard(f"R{n:09d}") for n in range(2000)}


@pytest.fixture
def office(aws: Any) -> BackOffice:
    bank = FakeBank()
    terminals = Terminals.from_mapping(terminals_config())
    return BackOffice(aws.store, terminals, lambda terminal: BankClient(terminal, bank, sleep=lambda _: None))


def test_the_sweeper_finds_due_orders_in_every_shard(aws: Any, office: BackOffice) -> None:
    due = {f"DUE{n:07d}" for n in range(60)}
    orders = {reference: (NOW - timedelta(hours=1), deadline_shard(reference)) for reference in due}
    orders |= {f"LATE{n:06d}": (NOW + timedelta(days=2), deadline_shard(f"LATE{n:06d}")) for n in range(100)}
    write_authorized_orders(aws, orders)
    report = office.sweep(NOW)
    assert report.failures == {}
    assert set(report.outcomes) == due
    assert report.items_read == len(due)  # what is due, whatever the table holds
    assert office.sweep(NOW).items_read == 0


def test_the_sweeper_reads_each_due_order_once(aws: Any, office: BackOffice) -> None:
    due = {f"ONCE{n:06d}" for n in range(20)}
    write_authorized_orders(
        aws, {reference: (NOW - timedelta(hours=1), deadline_shard(reference)) for reference in due}
    )
    aws.calls.clear()
    report = office.sweep(NOW)
    assert set(report.outcomes) == due
    assert "GetItem" not in aws.calls  # the index copy is acted on: no second read of each order
    assert report.items_read == len(due)


def _all_due(aws: Any) -> list[Order]:
    found: list[Order] = []
    start = None
    while True:
        orders, start, _ = aws.store.due_orders(NOW, start)
        found += orders
        if not start:
            return found


def test_a_stale_index_copy_never_acts_twice(aws: Any, office: BackOffice, monkeypatch: pytest.MonkeyPatch) -> None:
    write_authorized_orders(aws, {"STALE00001": (NOW - timedelta(hours=1), deadline_shard("STALE00001"))})
    stale = _all_due(aws)
    captured = office.sweep(NOW)
    assert captured.outcomes == {"STALE00001": "capture_full"}
    pages = iter([(stale, None, 1)])  # the index still shows the order as it was before the capture
    monkeypatch.setattr(aws.store, "due_orders", lambda now, start=None: next(pages))
    again = office.sweep(NOW)
    assert "ConcurrentUpdateError" in again.failures["STALE00001"]  # the conditional write refused the old copy
    order = aws.store.get("STALE00001")
    assert order.status is OrderStatus.CAPTURED
    assert [operation.event for operation in order.operations] == ["capture_full"]
