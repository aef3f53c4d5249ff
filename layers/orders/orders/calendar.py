"""Working days for deferral deadlines: Monday to Friday, without French public holidays, Europe/Paris."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

import sealing

PARIS = ZoneInfo("Europe/Paris")


@lru_cache(maxsize=64)
def _french_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", years=year))


def _is_holiday(day: date) -> bool:
    return day in _french_holidays(day.year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not _is_holiday(day)


def add_working_days(start: date, days: int) -> date:
    """The working day ``days`` working days after ``start`` (``start`` itself when ``days`` is 0)."""
    return sealing.add_working_days(start, days, _is_holiday)


def deferral_deadline(ordered_at: datetime, days: int, zone: ZoneInfo = PARIS) -> datetime:
    """End of the deferral period: the end of the ``days``-th working day after the order, local time.

    With 0 days the period ends at the end of the order's day. The rule itself is the protocol's
    (``sealing.deferral_deadline``), shared with the sandbox bank.
    """
    return sealing.deferral_deadline(ordered_at, days, zone.key, _is_holiday)
