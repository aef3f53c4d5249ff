"""``Idempotency-Key`` for the console, as the IETF "Idempotency-Key HTTP header field" draft and Stripe use it.

A key names one request across the whole stack for 24 hours. Its item in the orders table keeps a fingerprint
of the request (sha256 of the method, the path with the order's reference, and the canonical body), who holds
the key, and once the request has a definitive answer, that answer (status code and body):

- the key is claimed with a conditional put before anything else: of two concurrent requests with one key,
  one goes on and the other answers ``409``, so they never both call the bank;
- the same key with the same request answers the first answer again (a bank refusal included);
- the same key with another request answers ``422``;
- while the first request still holds the key (at most ``CLAIM_LEASE``, far above a function's timeout),
  the same request answers ``409``;
- a request that ended without a definitive answer (the bank's answer lost, the store down, another operation
  in the way) releases the key: its retry carries it out, once the order's journal has settled with the bank
  whether the first one took effect;
- a request that changed nothing (bad input, unknown order) drops the key: it may be sent again, corrected.
"""

from __future__ import annotations

import enum
import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .exceptions import (
    ConcurrentUpdateError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    StoreUnavailableError,
)
from .model import KEY_DONE, KEY_IN_FLIGHT, IdempotencyRecord
from .store import OrderStore
from .web.http import MAX_JSON_BYTES

KEY_TTL = timedelta(hours=24)
CLAIM_LEASE = timedelta(minutes=5)

Response = dict[str, Any]


class Keep(enum.Enum):
    """What a request's end means for its key."""

    ANSWER = "answer"  # a definitive answer: every retry gets it again
    RETRY = "retry"  # no definitive answer: the next request with this key carries it out
    NOTHING = "nothing"  # nothing happened: the key is free again


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request a key was first sent with: method, path (with the reference) and the body, canonical when it is
    JSON (key order and spacing do not count), as sent otherwise."""
    canonical = body
    if len(body) <= MAX_JSON_BYTES:
        try:
            data = json.loads(body or b"{}")
            canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        except (ValueError, RecursionError):
            pass  # not JSON: the request fails on its own, fingerprinted as sent
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def replayed(record: IdempotencyRecord) -> Response:
    """The response kept for a key, answered again."""
    return {
        "statusCode": record.status_code,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", "Idempotent-Replayed": "true"},
        "body": record.body,
        "isBase64Encoded": False,
    }


class IdempotencyKeys:
    def __init__(self, store: OrderStore, *, lease: timedelta = CLAIM_LEASE, ttl: timedelta = KEY_TTL) -> None:
        self.store = store
        self.lease = lease
        self.ttl = ttl

    def run(
        self, key: str, fingerprint: str, now: datetime, attempt: Callable[[bool], tuple[Response, Keep]]
    ) -> Response:
        """Answer the request ``key`` names: the kept answer, or ``attempt``'s (kept as its ``Keep`` says).

        ``attempt`` is told whether it retries a request this key already started (``True``), or is the key's
        first request (``False``: then nothing may have been done under this key before).
        """
        claim = secrets.token_hex(16)
        kept, retry = self._claim(key, fingerprint, claim, now)
        if kept is not None:
            return replayed(kept)
        try:
            response, keep = attempt(retry)
        except BaseException:
            self._end(key, claim, Keep.RETRY, {})
            raise
        self._end(key, claim, keep, response)
        return response

    def _claim(self, key: str, fingerprint: str, claim: str, now: datetime) -> tuple[IdempotencyRecord | None, bool]:
        """Hold the key for this request: the kept record when the key already has an answer, and whether this
        request retries one the key already started."""
        seen = None
        for _ in range(2):  # once more if the key was dropped between the put and the read
            try:
                self.store.claim_key(IdempotencyRecord(key, fingerprint, KEY_IN_FLIGHT, claim, now), now + self.ttl)
                return None, False
            except ConcurrentUpdateError:
                seen = self.store.key_record(key)
            if seen is not None:
                break
        if seen is None:
            raise IdempotencyKeyInUseError(key)
        if seen.fingerprint != fingerprint:
            raise IdempotencyKeyReusedError(key)
        if seen.state == KEY_DONE:
            return seen, True
        if seen.state == KEY_IN_FLIGHT and now - seen.claimed_at < self.lease:
            raise IdempotencyKeyInUseError(key)
        try:
            self.store.take_over_key(key, seen.claim, claim, now)
        except ConcurrentUpdateError:
            raise IdempotencyKeyInUseError(key) from None  # another retry took it first
        return None, True

    def _end(self, key: str, claim: str, keep: Keep, response: Response) -> None:
        try:
            if keep is Keep.ANSWER:
                self.store.answer_key(key, claim, int(response["statusCode"]), str(response["body"]))
            elif keep is Keep.RETRY:
                self.store.release_key(key, claim)
            else:
                self.store.forget_key(key, claim)
        except (ConcurrentUpdateError, StoreUnavailableError):
            # The answer still goes out. The key stays held until its lease passes; a retry then takes it
            # over, and the order's journal (the operation's id is the key) answers what was done.
            pass
