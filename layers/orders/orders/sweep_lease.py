"""One deferred sweep at a time: a lease item in the orders table, taken and given back by conditional writes.

EventBridge may start a run while the previous one still works (a slow bank, a schedule shorter than the
function's timeout). Two runs over the same due orders would each ask the bank and race on every journal
entry; the lease makes the second one stand aside. A run holds it for its whole time budget, so a run that dies
without giving it back only delays the next one until that time is over.
"""

from __future__ import annotations

import secrets
import time

from botocore.exceptions import BotoCoreError, ClientError

from .exceptions import StoreUnavailableError
from .store import OrderStore

LEASE_KEY = {"pk": {"S": "LEASE#deferred-sweeper"}, "sk": {"S": "LEASE"}}
FORGET_AFTER_SECONDS = 86_400  # the item's TTL: a lease nobody renews leaves the table


class SweepLease:
    def __init__(self, store: OrderStore) -> None:
        self.store = store

    def take(self, seconds: float, now: float | None = None) -> str | None:
        """A holder token if the lease was free or its holder's time is over; None while another run holds it."""
        now = time.time() if now is None else now
        token = secrets.token_hex(8)
        try:
            self.store.client.update_item(
                TableName=self.store.table_name,
                Key=LEASE_KEY,
                UpdateExpression="SET holder = :holder, held_until = :until, expires_at = :forget",
                ConditionExpression="attribute_not_exists(held_until) OR held_until < :now",
                ExpressionAttributeValues={
                    ":holder": {"S": token},
                    ":until": {"N": str(int(now + seconds) + 1)},
                    ":forget": {"N": str(int(now) + FORGET_AFTER_SECONDS)},
                    ":now": {"N": str(int(now))},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise StoreUnavailableError(f"DynamoDB update_item (sweep lease) failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"DynamoDB update_item (sweep lease) failed: {exc}") from exc
        return token

    def give_back(self, token: str) -> None:
        """End the lease now, if this holder still has it (else its time was over and another run took it)."""
        try:
            self.store.client.update_item(
                TableName=self.store.table_name,
                Key=LEASE_KEY,
                UpdateExpression="SET held_until = :over",
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":over": {"N": "0"}, ":holder": {"S": token}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StoreUnavailableError(f"DynamoDB update_item (sweep lease) failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"DynamoDB update_item (sweep lease) failed: {exc}") from exc
