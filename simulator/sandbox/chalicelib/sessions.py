"""Who is signed in to the dashboard, and the brake on password guessing; kept in the ledger, the bank's store.

A session is a random id in the browser's cookie. The bank keeps, under the id's SHA-256 (a copy of the store
holds no usable cookie), the terminal, the session's own CSRF token and its times: logout deletes it, and it
ends by itself after ``SESSION_IDLE`` unused or ``SESSION_LIFETIME`` in all.

Wrong passwords are counted per terminal and per client address. The ``MAX_FAILURES``-th in a row (none more
than ``FAILURE_WINDOW`` apart) locks that terminal and that address for ``FIRST_DELAY``; each further failure
once the lock has passed locks again for twice as long, up to ``LONGEST_DELAY``. While locked, no password is
even checked. A good password clears its terminal's count, never its address's (one's own terminal must not
reset a guesser's count on the others).

A merchant who changes the password ("Changez votre mot de passe") gets it kept in the ledger as a salted PBKDF2
hash, which wins over the configuration's from then on.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ledger import Ledger
    from .terminals import BankTerminal

SESSION_IDLE = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=8)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)
FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(hours=1)
SESSION = "dashboard"  # the ledger's record kinds
FAILURES = "login"
PASSWORD = "password"  # noqa: S105 - the name of a record kind
MIN_PASSWORD = 8
PBKDF2_ROUNDS = 200_000


@dataclass
class DashboardSession:
    tpe: str
    csrf_token: str
    started_at: datetime
    seen_at: datetime

    def expired(self, now: datetime) -> bool:
        return now - self.seen_at > SESSION_IDLE or now - self.started_at > SESSION_LIFETIME

    @property
    def ends_at(self) -> datetime:
        """When it ends at the latest, unused or not (DynamoDB's time to live; expiry is checked on reading)."""
        return self.started_at + SESSION_LIFETIME

    def to_data(self) -> dict[str, Any]:
        return {
            "tpe": self.tpe,
            "csrf_token": self.csrf_token,
            "started_at": self.started_at.isoformat(),
            "seen_at": self.seen_at.isoformat(),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> DashboardSession:
        return cls(
            data["tpe"],
            data["csrf_token"],
            datetime.fromisoformat(data["started_at"]),
            datetime.fromisoformat(data["seen_at"]),
        )


@dataclass
class LoginFailures:
    """Wrong passwords in a row for one terminal or one client address."""

    count: int
    last_at: datetime
    locked_until: datetime | None = None

    def forgotten(self, now: datetime) -> bool:
        return now - self.quiet_since > FAILURE_WINDOW

    @property
    def quiet_since(self) -> datetime:
        return max(self.last_at, self.locked_until or self.last_at)

    def lock(self) -> None:
        if self.count >= MAX_FAILURES:
            doublings = min(self.count - MAX_FAILURES, 12)  # 2**12 minutes is far past the longest delay
            self.locked_until = self.last_at + min(FIRST_DELAY * 2**doublings, LONGEST_DELAY)

    def to_data(self) -> dict[str, Any]:
        locked = self.locked_until.isoformat() if self.locked_until else None
        return {"count": self.count, "last_at": self.last_at.isoformat(), "locked_until": locked}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> LoginFailures:
        locked = data.get("locked_until")
        return cls(
            data["count"], datetime.fromisoformat(data["last_at"]), datetime.fromisoformat(locked) if locked else None
        )


def terminal_key(tpe: str) -> str:
    return f"tpe:{tpe}"


def address_key(address: str) -> str:
    return f"ip:{address}"


def _stored_as(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


def start(ledger: Ledger, tpe: str, now: datetime) -> str:
    """A new session for ``tpe``: its id, for the cookie."""
    session_id = secrets.token_urlsafe(32)
    session = DashboardSession(tpe, secrets.token_urlsafe(24), now, now)
    ledger.write(SESSION, _stored_as(session_id), session.to_data(), 0, session.ends_at)
    return session_id


def find(ledger: Ledger, session_id: str, now: datetime) -> DashboardSession | None:
    """The live session of that id (and it was used now), or None: unknown, ended or expired."""
    key = _stored_as(session_id)
    stored = ledger.read(SESSION, key)
    if stored is None:
        return None
    session = DashboardSession.from_data(stored[0])
    if session.expired(now):
        ledger.delete(SESSION, key)
        return None
    if now > session.seen_at:
        session.seen_at = now
        # Lost to a concurrent request of the same session: it wrote a time as recent; nothing to retry.
        ledger.write(SESSION, key, session.to_data(), stored[1], session.ends_at)
    return session


def end(ledger: Ledger, session_id: str) -> None:
    ledger.delete(SESSION, _stored_as(session_id))


def _failures(ledger: Ledger, key: str) -> tuple[LoginFailures | None, int]:
    stored = ledger.read(FAILURES, key)
    return (LoginFailures.from_data(stored[0]), stored[1]) if stored else (None, 0)


def locked_until(ledger: Ledger, keys: list[str], now: datetime) -> datetime | None:
    """When the latest lock on any of ``keys`` ends, if one is on now."""
    ends = [
        failures.locked_until
        for key in keys
        if (failures := _failures(ledger, key)[0]) is not None
        and failures.locked_until is not None
        and failures.locked_until > now
    ]
    return max(ends, default=None)


def failed(ledger: Ledger, keys: list[str], now: datetime) -> datetime | None:
    """Count a wrong password against each of ``keys``: when the lock it brings on ends, if it brings one.
    Two wrong passwords at once both count (a conditional write, read again when it loses)."""
    for key in keys:
        while True:
            failures, version = _failures(ledger, key)
            if failures is None or failures.forgotten(now):
                failures = LoginFailures(0, now)
            failures.count += 1
            failures.last_at = now
            failures.lock()
            if ledger.write(FAILURES, key, failures.to_data(), version, failures.quiet_since + FAILURE_WINDOW):
                break
    return locked_until(ledger, keys, now)


def succeeded(ledger: Ledger, tpe: str) -> None:
    ledger.delete(FAILURES, terminal_key(tpe))


def _digest(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "replace"), salt, PBKDF2_ROUNDS)


def password_matches(ledger: Ledger, terminal: BankTerminal, password: str) -> bool:
    """The terminal's password: the one the merchant chose, else the configuration's (none: no login)."""
    stored = ledger.read(PASSWORD, terminal.tpe)
    if stored is not None:
        salt, digest = bytes.fromhex(stored[0]["salt"]), bytes.fromhex(stored[0]["digest"])
        return hmac.compare_digest(_digest(password, salt), digest)
    expected = terminal.dashboard_password
    return bool(expected) and hmac.compare_digest(expected.encode("utf-8"), password.encode("utf-8", "replace"))


def set_password(ledger: Ledger, tpe: str, password: str) -> None:
    salt = secrets.token_bytes(16)
    data = {"salt": salt.hex(), "digest": _digest(password, salt).hex()}
    while True:
        stored = ledger.read(PASSWORD, tpe)
        if ledger.write(PASSWORD, tpe, data, stored[1] if stored else 0, None):
            return
