"""Working days as the bank counts them: Monday to Friday without the public holidays of metropolitan France,
computed by sealing alone (no dependency) for the merchant's stack and the sandbox bank."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import holidays
import pytest

from sealing import add_working_days, deferral_deadline, easter_sunday, french_public_holidays, is_french_holiday

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize("year", range(1953, 2101))
def test_the_holidays_are_those_of_the_holidays_package_for_france(year: int) -> None:
    assert french_public_holidays(year) == frozenset(holidays.country_holidays("FR", years=year))


@pytest.mark.parametrize(
    ("year", "easter"),
    [(1818, date(1818, 3, 22)), (1961, date(1961, 4, 2)), (2011, date(2011, 4, 24)), (2038, date(2038, 4, 25))],
)
def test_easter_by_the_computus_including_its_earliest_and_latest_days(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        (date(2026, 4, 6), True),  # Easter Monday 2026
        (date(2026, 4, 3), False),  # Good Friday is worked in metropolitan France
        (date(2026, 5, 14), True),  # Ascension 2026
        (date(2026, 5, 25), True),  # Whit Monday 2026
        (date(2006, 6, 5), False),  # Whit Monday 2006: worked (journée de solidarité)
        (date(1976, 5, 8), False),  # 8 May was no holiday from 1960 to 1981
        (date(2026, 12, 26), False),  # St Stephen's Day is Alsace-Moselle's only
        (date(2026, 12, 24), False),
    ],
)
def test_french_holidays(day: date, holiday: bool) -> None:
    assert is_french_holiday(day) is holiday


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
def test_add_working_days_skips_weekends_and_french_holidays(start: date, days: int, end: date) -> None:
    assert add_working_days(start, days) == end


def test_deadline_is_the_end_of_the_last_working_day_in_paris() -> None:
    # 23:30 UTC on Thursday 26/11 is already Friday 27/11 in Paris.
    ordered = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    assert deferral_deadline(ordered, 1, "Europe/Paris") == datetime(2026, 12, 1, 0, 0, tzinfo=PARIS)


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_days(date(2026, 11, 27), -1)
