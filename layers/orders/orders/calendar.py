"""Calendar days in a terminal's time zone, and the deferral deadline (the protocol's rule and working-day
calendar, ``sealing.deferral_deadline``, shared with the sandbox bank)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sealing import deferral_deadline as deferral_deadline

PARIS = ZoneInfo("Europe/Paris")


def zone(name: str) -> ZoneInfo:
    """A terminal's time zone (its configuration was checked when it was read)."""
    return ZoneInfo(name)


def local_day(moment: datetime, timezone: str) -> date:
    """The calendar day ``moment`` falls on in ``timezone``: order days, ``date_commande``, capture days."""
    return moment.astimezone(zone(timezone)).date()


def scheduled_time(event: dict[str, Any], clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> datetime:
    """An EventBridge event's own ``time`` (so a scheduled run can be replayed at a moment), else ``clock``'s now
    (the function's dependencies' clock, which the tests and the local stack fix)."""
    try:
        return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return clock()
