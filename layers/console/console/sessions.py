"""Who is signed in: a session per sign-in, kept in the orders table, named in the browser by a random cookie.

The cookie holds 32 random bytes; the table keeps only their SHA-256 (``pk = CONSOLESESSION#<hash>``), so a read
of the table signs nobody in. A session holds the user's e-mail and role as Cognito said at sign-in, the CSRF
token of its forms, and when it ends: ``IDLE`` after its last page, ``LIFETIME`` after its sign-in at the latest
(DynamoDB's TTL removes it later; the console checks the time itself). Signing out deletes it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from orders.exceptions import ConcurrentUpdateError, StoreUnavailableError
from orders.store import OrderStore

COOKIE = "__Host-console_session"
PARTITION = "CONSOLESESSION#"
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=8)
# The last page's time is written again at most this often (a page read is not a write each time).
TOUCH_EVERY = timedelta(minutes=1)
ROLES = ("viewer", "operator")


@dataclass(frozen=True)
class Session:
    email: str
    role: str  # viewer or operator
    csrf: str  # the token every form of this session carries
    signed_in_at: datetime
    seen_at: datetime

    def ends_at(self) -> datetime:
        return min(self.seen_at + IDLE, self.signed_in_at + LIFETIME)


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def cookie_header(value: str, max_age: int) -> str:
    """The session cookie: only over HTTPS, never read by a script, never sent by another site's request."""
    return f"{COOKIE}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict"


class Sessions:
    def __init__(self, store: OrderStore) -> None:
        self.store = store

    def _call(self, operation: str, **kwargs: object) -> dict[str, object]:
        try:
            answer: dict[str, object] = getattr(self.store.client, operation)(TableName=self.store.table_name, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConcurrentUpdateError(f"DynamoDB {operation}: the session changed meanwhile") from exc
            raise StoreUnavailableError(f"DynamoDB {operation} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"DynamoDB {operation} failed: {exc}") from exc
        return answer

    def open(self, email: str, role: str, now: datetime) -> tuple[str, Session]:
        """A new session for ``email`` in ``role``: the cookie's value (shown to the browser alone) and the session."""
        if role not in ROLES:
            raise ValueError(f"role {role!r} is not one of {ROLES}")
        cookie = secrets.token_urlsafe(32)
        session = Session(email, role, secrets.token_urlsafe(32), now, now)
        self._call(
            "put_item",
            Item={
                "pk": {"S": PARTITION + _hash(cookie)},
                "sk": {"S": "SESSION"},
                "email": {"S": email},
                "role": {"S": role},
                "csrf": {"S": session.csrf},
                "signed_in_at": {"S": _iso(now)},
                "seen_at": {"S": _iso(now)},
                "expires_at": {"N": str(int((now + LIFETIME).timestamp()))},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return cookie, session

    def find(self, cookie: str, now: datetime) -> Session | None:
        """The session the cookie names, if it has not ended; its last page's time moved to ``now``."""
        if not cookie or len(cookie) > 100:
            return None
        key = {"pk": {"S": PARTITION + _hash(cookie)}, "sk": {"S": "SESSION"}}
        item = self._call("get_item", Key=key, ConsistentRead=True).get("Item")
        if not isinstance(item, dict):
            return None
        session = Session(
            email=item["email"]["S"],
            role=item["role"]["S"],
            csrf=item["csrf"]["S"],
            signed_in_at=datetime.fromisoformat(item["signed_in_at"]["S"]),
            seen_at=datetime.fromisoformat(item["seen_at"]["S"]),
        )
        if now >= session.ends_at() or session.role not in ROLES:
            return None
        if now - session.seen_at >= TOUCH_EVERY:
            try:
                self._call(
                    "update_item",
                    Key=key,
                    UpdateExpression="SET seen_at = :now",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":now": {"S": _iso(now)}},
                )
            except ConcurrentUpdateError:
                return None  # signed out (in another tab) since it was read
            session = Session(session.email, session.role, session.csrf, session.signed_in_at, now)
        return session

    def close(self, cookie: str) -> None:
        """Sign out: the session is gone, whatever its cookie still says."""
        if cookie and len(cookie) <= 100:
            self._call("delete_item", Key={"pk": {"S": PARTITION + _hash(cookie)}, "sk": {"S": "SESSION"}})
