"""Who is signed in to the dashboard, and the brake on password guessing; kept in the ledger, the bank's store.

A session is a random id in the browser's cookie. The bank keeps, under the id's SHA-256 (a copy of the store
holds no usable cookie), the terminal, the session's own CSRF token and its times: logout deletes it, and it
ends by itself after ``SESSION_IDLE`` unused or ``SESSION_LIFETIME`` in all.

Wrong passwords are counted per terminal and per client address. The ``MAX_FAILURES``-th in a row (none more
than ``FAILURE_WINDOW`` apart) locks that terminal and that address for ``FIRST_DELAY``; each further failure
once the lock has passed locks again for twice as long, up to ``LONGEST_DELAY``. While locked, no password is
even checked. A good password clears its terminal's count, never its address's (one's own terminal must not
reset a guesser's count on the others).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the ledger keeps these records: it imports this module
    from .ledger import Ledger

SESSION_IDLE = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=8)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)
FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(hours=1)


@dataclass
class DashboardSession:
    tpe: str
    csrf_token: str
    started_at: datetime
    seen_at: datetime

    def expired(self, now: datetime) -> bool:
        return now - self.seen_at > SESSION_IDLE or now - self.started_at > SESSION_LIFETIME


@dataclass
class LoginFailures:
    """Wrong passwords in a row for one terminal or one client address."""

    count: int
    last_at: datetime
    locked_until: datetime | None = None

    def forgotten(self, now: datetime) -> bool:
        quiet_since = max(self.last_at, self.locked_until or self.last_at)
        return now - quiet_since > FAILURE_WINDOW

    def lock(self) -> None:
        if self.count >= MAX_FAILURES:
            doublings = min(self.count - MAX_FAILURES, 12)  # 2**12 minutes is far past the longest delay
            self.locked_until = self.last_at + min(FIRST_DELAY * 2**doublings, LONGEST_DELAY)


def terminal_key(tpe: str) -> str:
    return f"tpe:{tpe}"


def address_key(address: str) -> str:
    return f"ip:{address}"


def _stored_as(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


def start(ledger: Ledger, tpe: str, now: datetime) -> str:
    """A new session for ``tpe``: its id, for the cookie."""
    session_id = secrets.token_urlsafe(32)
    with ledger.lock:
        for key in [k for k, s in ledger.dashboard_sessions.items() if s.expired(now)]:
            del ledger.dashboard_sessions[key]
        ledger.dashboard_sessions[_stored_as(session_id)] = DashboardSession(tpe, secrets.token_urlsafe(24), now, now)
    return session_id


def find(ledger: Ledger, session_id: str, now: datetime) -> DashboardSession | None:
    """The live session of that id (and it was used now), or None: unknown, ended or expired."""
    key = _stored_as(session_id)
    with ledger.lock:
        session = ledger.dashboard_sessions.get(key)
        if session is None:
            return None
        if session.expired(now):
            del ledger.dashboard_sessions[key]
            return None
        session.seen_at = now
        return session


def end(ledger: Ledger, session_id: str) -> None:
    with ledger.lock:
        ledger.dashboard_sessions.pop(_stored_as(session_id), None)


def locked_until(ledger: Ledger, keys: list[str], now: datetime) -> datetime | None:
    """When the latest lock on any of ``keys`` ends, if one is on now."""
    with ledger.lock:
        ends = [
            failures.locked_until
            for key in keys
            if (failures := ledger.login_failures.get(key)) is not None
            and failures.locked_until is not None
            and failures.locked_until > now
        ]
    return max(ends, default=None)


def failed(ledger: Ledger, keys: list[str], now: datetime) -> datetime | None:
    """Count a wrong password against each of ``keys``: when the lock it brings on ends, if it brings one."""
    with ledger.lock:
        for key in [k for k, f in ledger.login_failures.items() if f.forgotten(now)]:
            del ledger.login_failures[key]
        for key in keys:
            failures = ledger.login_failures.setdefault(key, LoginFailures(0, now))
            failures.count += 1
            failures.last_at = now
            failures.lock()
    return locked_until(ledger, keys, now)


def succeeded(ledger: Ledger, tpe: str) -> None:
    with ledger.lock:
        ledger.login_failures.pop(terminal_key(tpe), None)
