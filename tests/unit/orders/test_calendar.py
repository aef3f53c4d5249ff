"""The merchant's deadline is the protocol's (the sandbox bank computes the same one)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from orders.calendar import deferral_deadline

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("ordered", "days", "deadline"),
    [
        # 23:30 UTC on Thursday 26/11 is already Friday 27/11 in Paris: one working day is Monday 30/11.
        (datetime(2026, 11, 26, 23, 30, tzinfo=UTC), 1, datetime(2026, 12, 1, 0, 0, tzinfo=PARIS)),
        # Wednesday 23/12: Thursday 24, (Christmas), Monday 28, Tuesday 29.
        (datetime(2026, 12, 23, 10, 0, tzinfo=PARIS), 3, datetime(2026, 12, 30, 0, 0, tzinfo=PARIS)),
        # 0 days: the end of the order's own day.
        (datetime(2026, 5, 14, 9, 0, tzinfo=PARIS), 0, datetime(2026, 5, 15, 0, 0, tzinfo=PARIS)),
    ],
)
def test_deadline_counts_french_working_days_in_the_terminals_zone(
    ordered: datetime, days: int, deadline: datetime
) -> None:
    assert deferral_deadline(ordered, days, "Europe/Paris") == deadline
