"""Working days: Monday to Friday without French public holidays, in Paris time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from orders.calendar import add_working_days, deferral_deadline, is_working_day

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 11, 27), True),  # a Friday
        (date(2026, 11, 28), False),  # Saturday
        (date(2026, 11, 29), False),  # Sunday
        (date(2026, 4, 6), False),  # Easter Monday 2026
        (date(2026, 5, 14), False),  # Ascension 2026
        (date(2026, 7, 14), False),  # 14 July
        (date(2026, 12, 25), False),  # Christmas
        (date(2027, 3, 29), False),  # Easter Monday 2027
        (date(2026, 12, 24), True),
    ],
)
def test_working_days(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "days", "end"),
    [
        (date(2026, 11, 27), 0, date(2026, 11, 27)),
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # over the weekend
        (date(2026, 12, 23), 3, date(2026, 12, 29)),  # over Christmas and the weekend
        (date(2026, 4, 2), 2, date(2026, 4, 7)),  # Good Friday is worked in France, Easter Monday is not
        (date(2026, 5, 13), 1, date(2026, 5, 15)),  # over Ascension
        (date(2026, 7, 13), 1, date(2026, 7, 15)),  # over 14 July
        (date(2026, 12, 31), 1, date(2027, 1, 4)),  # over New Year and a weekend
    ],
)
def test_add_working_days(start: date, days: int, end: date) -> None:
    assert add_working_days(start, days) == end


def test_deadline_is_the_end_of_the_last_working_day_in_paris() -> None:
    # 23:30 UTC on Thursday 26/11 is already Friday 27/11 in Paris.
    ordered = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    assert deferral_deadline(ordered, 1, "Europe/Paris") == datetime(2026, 12, 1, 0, 0, tzinfo=PARIS)


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_days(date(2026, 11, 27), -1)
