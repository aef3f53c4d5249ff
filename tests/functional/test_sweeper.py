"""The scheduled sweeper's time budget and its lease: a run stops before its timeout, and runs never overlap."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orders.model import OrderStatus
from orders.sweep_lease import SweepLease
from tests.support.fakebank import FakeBank
from tests.support.merchant import registered

DUE = {"source": "aws.events", "detail-type": "Scheduled Event", "time": "2026-12-24T08:00:00Z"}


class Clock:
    """A Lambda context whose remaining time drops by ``step`` ms each time it is asked (a slow bank)."""

    function_name = "sweeper"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-3:123456789012:function:sweeper"
    aws_request_id = "11111111-1111-1111-1111-111111111111"

    def __init__(self, remaining_ms: int, step_ms: int) -> None:
        self.remaining_ms, self.step_ms = remaining_ms, step_ms

    def get_remaining_time_in_millis(self) -> int:
        remaining = self.remaining_ms
        self.remaining_ms -= self.step_ms
        return remaining


def test_a_run_out_of_time_stops_and_the_next_one_finishes(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    for reference in ("TB1", "TB2", "TB3"):
        registered(aws, lambda_context, reference, "0900158")
    # 300 s at the start, 60 s kept in hand, 150 s gone by each question: one order, then the run stops.
    first = aws.invoke("deferred_sweeper", DUE, Clock(300_000, 150_000))
    assert first["finished"] is False
    assert len(first["outcomes"]) == 1
    assert first["failures"] == {}
    second = aws.invoke("deferred_sweeper", DUE, lambda_context)
    assert second["finished"] is True
    assert set(first["outcomes"]) | set(second["outcomes"]) == {"TB1", "TB2", "TB3"}
    assert all(aws.store.get(ref).status is OrderStatus.CAPTURED for ref in ("TB1", "TB2", "TB3"))
    captures = [fields.get("reference") for cgi, fields in bank.calls if cgi.startswith("capture")]
    assert sorted(captures) == ["TB100", "TB200", "TB300"], "each captured once (under its session's reference)"


def test_a_run_stands_aside_while_another_holds_the_lease(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "LS1", "0900158")
    lease = SweepLease(aws.store)
    token = lease.take(seconds=300)
    assert token is not None
    skipped = aws.invoke("deferred_sweeper", DUE, lambda_context)
    assert "skipped" in skipped
    assert aws.store.get("LS1").status is OrderStatus.AUTHORIZED
    lease.give_back(token)
    done = aws.invoke("deferred_sweeper", DUE, lambda_context)
    assert done["outcomes"] == {"LS1": "capture_full"}


def test_a_lease_whose_time_is_over_is_taken_over(aws: Any) -> None:
    lease = SweepLease(aws.store)
    stale = lease.take(seconds=300, now=1_000_000.0)
    assert stale is not None
    assert lease.take(seconds=300, now=1_000_100.0) is None  # still held
    fresh = lease.take(seconds=300, now=1_000_400.0)  # its holder died: its time is over
    assert fresh is not None
    lease.give_back(stale)  # too late: the stale holder gives back nothing
    assert lease.take(seconds=300, now=1_000_500.0) is None


def test_the_lease_never_enters_the_sweepers_index(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    SweepLease(aws.store).take(seconds=1, now=0.0)
    assert aws.invoke("deferred_sweeper", DUE, lambda_context)["items_read"] == 0


def test_a_scheduled_event_without_a_time_runs_at_the_dependencies_clock(aws: Any, lambda_context: Any) -> None:
    moment = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    aws.use(clock=lambda: moment)
    timeless = {"source": "aws.events", "detail-type": "Scheduled Event"}
    assert aws.invoke("deferred_sweeper", timeless, lambda_context)["time"] == moment.isoformat()
