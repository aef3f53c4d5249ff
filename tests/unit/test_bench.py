"""make bench's counted figures, at small sizes: the goals the README states hold on the real code paths."""

from __future__ import annotations

import pytest

from benchmarks import bench


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
    assert bench.main(["--quick", "--no-stack"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == ["x: 2  (goal 1: MISSED)", "y: 0.50  (goal <= 1.0: met)"]
