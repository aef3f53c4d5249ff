"""The local system's time: real time, plus however far a test or a developer moved it forward (never back: the
bank's books and the orders' histories only go forward). The stack's functions and the sandbox bank each keep one:
``POST /_local/clock`` moves both (the next morning, to read yesterday's books), ``POST /_local/sweep`` the bank's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class MovableClock:
    """Real time plus an offset that only grows."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move_to(self, at: datetime) -> None:
        if at > self():
            self.offset = at - datetime.now(UTC)
