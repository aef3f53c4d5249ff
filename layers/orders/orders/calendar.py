"""Calendar days in a terminal's time zone, and working days for deferral deadlines: Monday to Friday,
without French public holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sealing

PARIS = ZoneInfo("Europe/Paris")


def zone(name: str) -> ZoneInfo:
    """A terminal's time zone (its configuration was checked when it was read)."""
    return ZoneInfo(name)


def local_day(moment: datetime, timezone: str) -> date:
    """The calendar day ``moment`` falls on in ``timezone``: order days, ``date_commande``, capture days."""
    return moment.astimezone(zone(timezone)).date()


@lru_cache(maxsize=64)
def _french_holidays(year: int) -> frozenset[date]:
    # Imported here: only deadlines need it, and it weighs on every cold start (all its countries' calendars).
    import holidays

    return frozenset(holidays.country_holidays("FR", years=year))


def _is_holiday(day: date) -> bool:
    return day in _french_holidays(day.year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not _is_holiday(day)


def add_working_days(start: date, days: int) -> date:
    """The working day ``days`` working days after ``start`` (``start`` itself when ``days`` is 0)."""
    return sealing.add_working_days(start, days, _is_holiday)


def deferral_deadline(ordered_at: datetime, days: int, timezone: str) -> datetime:
    """End of the deferral period: the end of the ``days``-th working day after the order, in the terminal's
    ``timezone`` (the bank counts its days there).

    With 0 days the period ends at the end of the order's day. The rule itself is the protocol's
    (``sealing.deferral_deadline``), shared with the sandbox bank.
    """
    return sealing.deferral_deadline(ordered_at, days, timezone, _is_holiday)


def scheduled_time(event: dict[str, Any]) -> datetime:
    """An EventBridge event's own ``time`` (so a scheduled run can be replayed at a moment), else now."""
    try:
        return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return datetime.now(UTC)
