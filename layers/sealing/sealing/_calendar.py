"""Working days as the bank counts a deferral period: Monday to Friday, without the public holidays of
metropolitan France. One calendar for the merchant's stack and the sandbox bank, so their deadlines agree."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from ._formats import zone


def easter_sunday(year: int) -> date:
    """Easter Sunday of the Gregorian calendar (the computus of Meeus, Jones and Butcher)."""
    golden = year % 19
    century, year_of_century = divmod(year, 100)
    leap_centuries, century_rest = divmod(century, 4)
    moon_correction = (century - (century + 8) // 25 + 1) // 3
    epact = (19 * golden + century - leap_centuries - moon_correction + 15) % 30
    leap_years, year_rest = divmod(year_of_century, 4)
    weekday = (32 + 2 * century_rest + 2 * leap_years - epact - year_rest) % 7
    shift = (golden + 11 * epact + 22 * weekday) // 451
    month, day = divmod(epact + weekday - 7 * shift + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def french_public_holidays(year: int) -> frozenset[date]:
    """The public holidays of metropolitan France in ``year``, for any year from 1953 (Alsace-Moselle's two
    more are not counted): 8 May was dropped from 1960 to 1981, Whit Monday was worked from 2005 to 2007."""
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1),
        easter + timedelta(days=1),  # Easter Monday
        date(year, 5, 1),
        easter + timedelta(days=39),  # Ascension
        date(year, 7, 14),
        date(year, 8, 15),
        date(year, 11, 1),
        date(year, 11, 11),
        date(year, 12, 25),
    }
    if 1953 <= year <= 1959 or year >= 1982:
        days.add(date(year, 5, 8))
    if year not in (2005, 2006, 2007):  # the "journée de solidarité" made Whit Monday a working day
        days.add(easter + timedelta(days=50))
    return frozenset(days)


def is_french_holiday(day: date) -> bool:
    return day in french_public_holidays(day.year)


def add_working_days(start: date, days: int, is_holiday: Callable[[date], bool] = is_french_holiday) -> date:
    """The day ``days`` working days after ``start`` (``start`` itself for 0): Monday-Friday, not holidays."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5 and not is_holiday(day):
            days -= 1
    return day


def deferral_deadline(
    ordered_at: datetime, days: int, timezone: str, is_holiday: Callable[[date], bool] = is_french_holiday
) -> datetime:
    """End of the deferral period: midnight after the ``days``-th working day following the order's day,
    in ``timezone`` (a naive ``ordered_at`` is taken as already local)."""
    local = zone(timezone)
    day = ordered_at.astimezone(local).date() if ordered_at.tzinfo else ordered_at.date()
    last = add_working_days(day, days, is_holiday)
    return datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=local)
