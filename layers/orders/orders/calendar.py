"""Working days for deferral deadlines: Monday to Friday, without French public holidays, Europe/Paris."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")


@lru_cache(maxsize=64)
def _french_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _french_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The working day ``days`` working days after ``start`` (``start`` itself when ``days`` is 0)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def deferral_deadline(ordered_at: datetime, days: int, zone: ZoneInfo = PARIS) -> datetime:
    """End of the deferral period: the end of the ``days``-th working day after the order, local time.

    With 0 days the period ends at the end of the order's day.
    """
    local_day = ordered_at.astimezone(zone).date()
    last_day = add_working_days(local_day, days)
    return datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=zone)
