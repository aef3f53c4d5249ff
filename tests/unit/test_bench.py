"""make bench's figures, at small sizes: the goals the README states hold on the real code paths, and each
figure follows what it measures (a worse code path gives a worse figure)."""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

import sealing
from benchmarks import bench, bill, reconciliation_load, verify_confirmation


def figures(found: list[bench.Figure]) -> dict[str, float]:
    return {figure.name: figure.value for figure in found}


def test_a_first_acceptance_and_a_first_refusal_cost_one_call_each() -> None:
    assert figures(bench.confirmation_round_trips()) == {
        "confirmation_round_trips": 1,
        "confirmation_round_trips_acceptance": 1,
        "confirmation_round_trips_refusal": 1,
    }


def test_the_sweepers_read_units_follow_the_due_orders_whatever_the_table_holds() -> None:
    found = figures(bench.sweeper_reads([40, 400], due=10))
    assert set(found) == {
        "sweeper_read_units_per_due_order",
        "sweeper_read_units_per_due_order_40",
        "sweeper_read_units_per_due_order_400",
    }
    assert found["sweeper_read_units_per_due_order_40"] == found["sweeper_read_units_per_due_order_400"]
    # 17 index queries (the 16 shards, the give-backs) at their half unit, then each due order read by key, half a
    # unit: (17 / 2 + 10 / 2) / 10
    assert found["sweeper_read_units_per_due_order"] == (17 / 2 + 10 / 2) / 10


def test_creating_and_paying_orders_writes_no_shared_item() -> None:
    found = figures(bench.shared_item_writes(12))
    assert found["shared_item_writes_per_order"] == 0
    assert found["deadline_index_hottest_partition_share"] < 0.5  # 12 deferred orders over 16 shards, not one


def test_a_missed_goal_fails_the_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench, "confirmation_round_trips", lambda: [bench.Figure("x", 2, "1", False)])
    monkeypatch.setattr(bench, "sweeper_reads", lambda sizes: [])
    monkeypatch.setattr(bench, "shared_item_writes", lambda orders: [])
    monkeypatch.setattr(bench, "bill_figures", lambda: [])
    monkeypatch.setattr(bench, "verify_vs_minimal", lambda number, repeat: [bench.Figure("y", 0.5, "<= 1.0", True)])
    monkeypatch.setattr(bench, "reconciliation_figures", lambda per_day: [])
    assert bench.main(["--quick", "--no-stack"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == ["x: 2  (goal 1: MISSED)", "y: 0.50  (goal <= 1.0: met)"]


# --- each figure moves with what it measures ----------------------------------------------------------------------
# The figures above hold on today's code; these make the code worse on purpose and check that the figure sees it,
# so that a figure cannot pass whatever the code does.


@pytest.fixture
def table_client(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The watched DynamoDB client of each ``moto_store`` the run opens, for the worsened code to call."""
    opened: dict[str, Any] = {}
    real = bench.moto_store

    @contextmanager
    def remembered() -> Iterator[tuple[Any, Any, Any]]:
        with real() as (store, client, calls):
            opened["client"] = client
            yield store, client, calls

    monkeypatch.setattr(bench, "moto_store", remembered)
    return opened


def test_one_more_call_in_the_confirmation_path_is_counted_and_misses_the_goal(
    monkeypatch: pytest.MonkeyPatch, table_client: dict[str, Any]
) -> None:
    real = bench.receive_confirmation

    def with_one_more_call(*args: Any, **kwargs: Any) -> Any:
        table_client["client"].describe_table(TableName=bench.TABLE)
        return real(*args, **kwargs)

    monkeypatch.setattr(bench, "receive_confirmation", with_one_more_call)
    found = {figure.name: figure for figure in bench.confirmation_round_trips()}
    assert {name: figure.value for name, figure in found.items()} == {
        "confirmation_round_trips": 2,
        "confirmation_round_trips_acceptance": 2,
        "confirmation_round_trips_refusal": 2,
    }
    assert not any(figure.met for figure in found.values())


def test_a_sweeper_that_scans_the_table_reads_more_as_the_table_grows_and_misses_the_goal(
    monkeypatch: pytest.MonkeyPatch, table_client: dict[str, Any]
) -> None:
    class ScanningBackOffice(bench.BackOffice):
        def sweep(self, *args: Any, **kwargs: Any) -> Any:
            table_client["client"].scan(TableName=bench.TABLE)
            return super().sweep(*args, **kwargs)

    monkeypatch.setattr(bench, "BackOffice", ScanningBackOffice)
    found = bench.sweeper_reads([20, 400], due=10)
    units = figures(found)
    assert units["sweeper_read_units_per_due_order_400"] > units["sweeper_read_units_per_due_order_20"]
    assert units["sweeper_read_units_per_due_order"] == units["sweeper_read_units_per_due_order_400"] > 1.5
    assert not found[0].met


def test_a_counter_item_every_order_writes_is_a_shared_write(
    monkeypatch: pytest.MonkeyPatch, table_client: dict[str, Any]
) -> None:
    real = bench.create_order

    def counting(*args: Any, **kwargs: Any) -> Any:
        counter = {"pk": {"S": "COUNTER"}, "sk": {"S": "COUNTER"}}
        table_client["client"].put_item(TableName=bench.TABLE, Item=counter)
        return real(*args, **kwargs)

    monkeypatch.setattr(bench, "create_order", counting)
    (shared, _) = bench.shared_item_writes(4)
    assert (shared.name, shared.value, shared.met) == ("shared_item_writes_per_order", 1, False)


def slowed(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, at least 2 ms a call: far above what either verifier takes (tens of microseconds)."""

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.002)
        return function(*args, **kwargs)

    return slow


def test_verify_vs_minimal_is_our_verifier_over_the_minimal_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(bench, "verify_confirmation", slowed(bench.verify_confirmation))
        (ours_slow,) = bench.verify_vs_minimal(number=5, repeat=2)
    with monkeypatch.context() as patched:
        patched.setattr(bench, "hmac", SimpleNamespace(new=slowed(hmac.new), compare_digest=hmac.compare_digest))
        (minimal_slow,) = bench.verify_vs_minimal(number=5, repeat=2)
    assert (ours_slow.value > 1, ours_slow.met) == (True, False)
    assert (minimal_slow.value < 1, minimal_slow.met) == (True, True)


def test_the_verify_benchmark_times_the_verification_against_the_bare_hmac(monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(verify_confirmation, "verify_confirmation", slowed(verify_confirmation.verify_confirmation))
        verify_slow = verify_confirmation.measure(number=5, repeat=2)
    with monkeypatch.context() as patched:
        fake_hmac = SimpleNamespace(new=slowed(hmac.new), compare_digest=hmac.compare_digest)
        patched.setattr(verify_confirmation, "hmac", fake_hmac)
        bare_slow = verify_confirmation.measure(number=5, repeat=2)
    assert verify_slow.verify_seconds >= 0.002
    assert bare_slow.bare_hmac_seconds >= 0.002
    assert verify_slow.ratio > 1 > bare_slow.ratio


def test_the_verify_benchmark_refuses_to_time_a_verification_that_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    # Timing a verifier that rejects the vector would time an early exit, not the work.
    monkeypatch.setattr(verify_confirmation, "KEY_TEXT", "0" * 40)
    with pytest.raises(sealing.SealMismatchError):
        verify_confirmation.measure(number=1, repeat=1)


# --- the bill of one paid order --------------------------------------------------------------------------------


@functools.cache
def measured_bill() -> tuple[Any, ...]:
    """The bill as the code is, measured once per process (each test below that changes the code measures again)."""
    return tuple(bill.bill_figures())


@functools.cache
def measured_reconciliation() -> tuple[Any, ...]:
    """The day's reconciliation at the template's concurrency, measured once per process."""
    return tuple(reconciliation_load.reconciliation_figures(40))


def test_a_paid_order_costs_at_most_eight_write_units_most_of_them_the_table() -> None:
    found = {figure.name: figure for figure in measured_bill()}
    total = found["write_units_per_paid_order"]
    assert (total.value <= 8, total.met, total.goal) == (True, True, "<= 8")
    parts = {name: f.value for name, f in found.items() if name.startswith("write_units_per_paid_order_")}
    assert sum(parts.values()) == total.value
    assert set(parts) == {f"write_units_per_paid_order_{name}" for name in ("table", *INDEXES)}
    assert parts["write_units_per_paid_order_table"] > total.value / 2
    costs = {name: f.value for name, f in found.items() if name.startswith("cost_per_million_orders_usd_")}
    assert found["cost_per_million_orders_usd"].value == pytest.approx(sum(costs.values()))
    # two mails at 0.10 USD a thousand; three API requests at 3.70 USD a million
    assert costs["cost_per_million_orders_usd_mail"] == pytest.approx(200)
    assert costs["cost_per_million_orders_usd_api"] == pytest.approx(3 * 3.70)


INDEXES = ("DeadlineIndex", "DateIndex", "ChangedIndex", "SplitPaymentIndex", "GiveBackIndex", "AttentionIndex")


def test_indexes_copying_whole_orders_cost_more_write_units_and_miss_the_goal(monkeypatch: pytest.MonkeyPatch) -> None:
    journey = bill.paid_order_journey()
    measured = figures(bill.bill_figures(journey))
    whole = [replace(index, projected=None) for index in bill.template_indexes()]
    monkeypatch.setattr(bill, "template_indexes", lambda: whole)
    found = {figure.name: figure for figure in bill.bill_figures(journey)}
    assert found["write_units_per_paid_order"].value > 8
    assert not found["write_units_per_paid_order"].met
    assert found["write_units_per_paid_order_DateIndex"].value > measured["write_units_per_paid_order_DateIndex"]
    assert found["write_units_per_paid_order_ChangedIndex"].value > measured["write_units_per_paid_order_ChangedIndex"]
    assert found["cost_per_million_orders_usd"].value > measured["cost_per_million_orders_usd"]


def test_a_checkout_that_writes_on_every_view_costs_more_write_units(monkeypatch: pytest.MonkeyPatch) -> None:
    measured = figures(list(measured_bill()))
    real = bill.OrderStore.get

    def get_and_touch(store: Any, reference: str) -> Any:
        order = real(store, reference)
        store.client.update_item(  # a write the journey's reads did not make
            TableName=store.table_name,
            Key={"pk": {"S": f"ORDER#{reference}"}, "sk": {"S": "ORDER"}},
            UpdateExpression="SET viewed = :now",
            ExpressionAttributeValues={":now": {"S": "2026-11-27T12:01:00+00:00"}},
        )
        return order

    monkeypatch.setattr(bill.OrderStore, "get", get_and_touch)
    worse = figures(bill.bill_figures())
    # each read of the order (the checkout's, the mailer's) writes the whole item again: 2 units each
    assert worse["write_units_per_paid_order_table"] > measured["write_units_per_paid_order_table"]
    assert worse["write_units_per_paid_order"] > 8
    assert (
        worse["cost_per_million_orders_usd_dynamodb_writes"] > measured["cost_per_million_orders_usd_dynamodb_writes"]
    )


def test_a_mailer_sending_each_mail_twice_is_billed_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    measured = figures(list(measured_bill()))
    real = bill.MailSender.send

    def twice(sender: Any, *args: Any) -> Any:
        real(sender, *args)
        return real(sender, *args)

    monkeypatch.setattr(bill.MailSender, "send", twice)
    worse = figures(bill.bill_figures())
    assert worse["cost_per_million_orders_usd_mail"] == pytest.approx(2 * measured["cost_per_million_orders_usd_mail"])
    assert worse["cost_per_million_orders_usd"] == pytest.approx(measured["cost_per_million_orders_usd"] + 200)


def item(size: int, **attributes: str) -> dict[str, Any]:
    """An order item of about ``size`` bytes by DynamoDB's count, with these attributes."""
    base = {"pk": {"S": "ORDER#3LRAO0TCQT"}, "sk": {"S": "ORDER"}}
    base |= {name: {"S": value} for name, value in attributes.items()}
    filler = size - bill.item_size(base) - len("filler")
    return base | {"filler": {"S": "x" * max(filler, 0)}}


def test_the_table_is_billed_the_larger_item_per_kb_rounded_up_and_a_failed_condition_too() -> None:
    small, large = item(900), item(1100)
    assert bill.item_size(small) == 900
    assert bill.item_size(large) == 1100
    assert bill.table_write_units(bill.Write("PutItem", None, small)) == 1
    assert bill.table_write_units(bill.Write("UpdateItem", small, large)) == 2  # the larger of before and after
    assert bill.table_write_units(bill.Write("UpdateItem", large, small)) == 2
    assert bill.table_write_units(bill.Write("DeleteItem", item(2100), None)) == 3  # the item deleted
    assert bill.table_write_units(bill.Write("UpdateItem", large, large, failed=True)) == 2  # its condition failed
    assert bill.table_write_units(bill.Write("PutItem", None, None, failed=True)) == 1  # at least one
    assert bill.table_write_units(bill.Write("PutItem", None, small, transactional=True)) == 2


def test_an_index_is_billed_for_what_its_entry_does() -> None:
    changed = bill.Index("ChangedIndex", ("changed_day", "pk"), ())
    by_day = bill.Index("DateIndex", ("order_day", "created_at"), ("status",))
    whole = bill.Index("DateIndex", ("order_day", "created_at"), None)
    day = {"order_day": "2026-11-27", "created_at": "2026-11-27T12:00:00+00:00", "changed_day": "2026-11-27"}
    created = item(1500, status="awaiting_payment", **day)
    paid = item(1900, status="paid", **day)
    next_day = item(1900, status="paid", **(day | {"changed_day": "2026-11-28"}))
    writes = {
        "enters": bill.Write("PutItem", None, created),
        "changes what the indexes do not hold": bill.Write(
            "UpdateItem", created, item(1600, **day, status="awaiting_payment")
        ),
        "changes the status": bill.Write("UpdateItem", created, paid),
        "moves to another changed day": bill.Write("UpdateItem", paid, next_day),
        "leaves": bill.Write("DeleteItem", next_day, None),
        "is not in the index": bill.Write("PutItem", None, item(500)),
        "fails its condition": bill.Write("UpdateItem", created, created, failed=True),
    }
    spent = {
        what: (bill.index_write_units(changed, w), bill.index_write_units(by_day, w), bill.index_write_units(whole, w))
        for what, w in writes.items()
    }
    assert spent == {
        "enters": (1, 1, 2),  # a put of the entry: the keys (and the status) fit in 1 KB, the whole order does not
        "changes what the indexes do not hold": (0, 0, 2),
        "changes the status": (0, 1, 2),  # a projected attribute: one write of the entry
        "moves to another changed day": (2, 0, 2),  # its key moves: a delete and a put
        "leaves": (1, 1, 2),
        "is not in the index": (0, 0, 0),
        "fails its condition": (0, 0, 0),
    }


# --- the daily reconciliation at a million orders a month ---------------------------------------------------------


def test_a_days_reconciliation_at_a_million_orders_a_month_fits_its_goal_at_the_templates_concurrency() -> None:
    seconds, calls, concurrency = measured_reconciliation()
    assert (seconds.name, seconds.met) == ("reconciliation_seconds_1m_month", True)
    assert concurrency.value == reconciliation_load.template_concurrency() == 40
    assert 50_000 < calls.value < 80_000, "two days of changes, a week of unpaid sessions, the instalments due"
    assert seconds.value == pytest.approx(calls.value * 0.150 / concurrency.value, rel=1e-3)


def test_a_run_asking_the_bank_twice_per_order_takes_twice_as_long(monkeypatch: pytest.MonkeyPatch) -> None:
    (base, *_) = measured_reconciliation()

    class AskingTwice(reconciliation_load.Reconciler):
        def check(self, *args: Any, **kwargs: Any) -> None:
            super().check(*args, **kwargs)
            super().check(*args, **kwargs)

    monkeypatch.setattr(reconciliation_load, "Reconciler", AskingTwice)
    (twice, *_) = reconciliation_load.reconciliation_figures(40)
    assert twice.value == pytest.approx(2 * base.value, rel=0.01)
    assert not twice.met


def test_fewer_parts_at_once_in_the_template_take_longer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reconciliation_load, "template_concurrency", lambda: 10)
    (seconds, _, concurrency) = reconciliation_load.reconciliation_figures(40)
    assert (concurrency.value, seconds.value > 900, seconds.met) == (10, True, False)


def test_a_run_is_never_quicker_than_its_longest_part() -> None:
    day = reconciliation_load.count_calls(40)
    (seconds, _, _) = reconciliation_load.reconciliation_figures(40, concurrency=1000)
    assert seconds.value == pytest.approx(max(day.calls_by_part) * 0.150)
    assert max(day.calls_by_part) <= reconciliation_load.PART_SIZE * 2, "a part is at most 100 orders"
