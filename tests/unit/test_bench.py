"""make bench's figures, at small sizes: the goals the README states hold on the real code paths, and each
figure follows what it measures (a worse code path gives a worse figure)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

import sealing
from benchmarks import bench, reconciliation_load, verify_confirmation


def figures(found: list[bench.Figure]) -> dict[str, float]:
    return {figure.name: figure.value for figure in found}


def test_a_first_acceptance_and_a_first_refusal_cost_one_call_each() -> None:
    assert figures(bench.confirmation_round_trips()) == {
        "confirmation_round_trips": 1,
        "confirmation_round_trips_acceptance": 1,
        "confirmation_round_trips_refusal": 1,
    }


def test_the_sweeper_reads_one_item_per_due_order_whatever_the_table_holds() -> None:
    found = bench.sweeper_reads([40, 400], due=10)
    assert figures(found) == {
        "sweeper_reads_per_due_order": 1,
        "sweeper_reads_per_due_order_40": 1,
        "sweeper_reads_per_due_order_400": 1,
    }
    assert all(figure.met for figure in found)


def test_creating_and_paying_orders_writes_no_shared_item() -> None:
    found = figures(bench.shared_item_writes(12))
    assert found["shared_item_writes_per_order"] == 0
    assert found["deadline_index_hottest_partition_share"] < 0.5  # 12 deferred orders over 16 shards, not one


def test_a_missed_goal_fails_the_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench, "confirmation_round_trips", lambda: [bench.Figure("x", 2, "1", False)])
    monkeypatch.setattr(bench, "sweeper_reads", lambda sizes: [])
    monkeypatch.setattr(bench, "shared_item_writes", lambda orders: [])
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
    found = figures(bench.sweeper_reads([20, 100], due=10))
    # every item scanned, then one read per due order: (size + 10) / 10
    assert (found["sweeper_reads_per_due_order_20"], found["sweeper_reads_per_due_order_100"]) == (3, 11)
    assert found["sweeper_reads_per_due_order"] == 11


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


# --- the daily reconciliation at a million orders a month ---------------------------------------------------------


def test_a_days_reconciliation_at_a_million_orders_a_month_fits_its_goal_at_the_templates_concurrency() -> None:
    seconds, calls, concurrency = reconciliation_load.reconciliation_figures(40)
    assert (seconds.name, seconds.met) == ("reconciliation_seconds_1m_month", True)
    assert concurrency.value == reconciliation_load.template_concurrency() == 40
    assert 50_000 < calls.value < 80_000, "two days of changes, a week of unpaid sessions, the instalments due"
    assert seconds.value == pytest.approx(calls.value * 0.150 / concurrency.value, rel=1e-3)


def test_a_run_asking_the_bank_twice_per_order_takes_twice_as_long(monkeypatch: pytest.MonkeyPatch) -> None:
    (base, *_) = reconciliation_load.reconciliation_figures(40)

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
