"""The bank's book, in DynamoDB: payments, their payment-page sessions, alerts, mails to the merchant, and the
dashboard's records.

A deployed sandbox forgets nothing when its Lambda instance goes cold, and two instances (or two threads of
the dev server) can serve the same payment: every change is a conditional write naming the version it read
(``update`` reads, applies a change, writes only if nobody wrote meanwhile, else reads again and re-applies).
The rules that refuse a change raise before anything is written.

One table (``SANDBOX_TABLE``, default ``sandbox-bank``), keys ``pk`` / ``sk``:

| item | pk | sk |
|---|---|---|
| payment | ``PAYMENT#<tpe>`` | reference |
| payment-page session | ``SESSION#<id>`` | ``-`` |
| alert | ``ALERT#<tpe>`` | time and a random suffix |
| mail to the merchant | ``MAIL#<tpe>`` | time and a random suffix |
| dashboard record (sign-in, wrong passwords, password) | ``<KIND>#<key>`` | ``-`` |
| card on file (``aliascb``) | ``CARD#<tpe>#<alias>`` | ``-`` |

A payment with something due on the bank's side (the end of its deferral, an instalment) is in the sparse index
``due`` (``due`` = "due", ``due_at`` the UTC time), so the end-of-period work reads what is due, not the table.
Sessions and dashboard records carry ``expires`` (DynamoDB's time to live).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from .cards import Card
from .exceptions import ConcurrentChangeError
from .payment_record import Alert, MerchantMail, Payment, from_data, to_data

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TABLE_VARIABLE = "SANDBOX_TABLE"
DEFAULT_TABLE = "sandbox-bank"
DUE_INDEX = "due"
SESSION_DAYS = 1  # a payment-page session item outlives its 45 minutes, then DynamoDB drops it
MAX_TRIES = 50  # conflicting writes on one payment before giving up (each try reads the latest)


def _conflict(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in (
        "ConditionalCheckFailedException",
        "TransactionConflictException",
    )


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class Ledger:
    """Every payment the sandbox knows, and what its dashboard keeps, in one DynamoDB table."""

    def __init__(self, table_name: str = DEFAULT_TABLE, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @classmethod
    def from_environment(cls) -> Ledger:
        return cls(os.environ.get(TABLE_VARIABLE) or DEFAULT_TABLE)

    @property
    def client(self) -> DynamoDBClient:
        # Made on first use: the local stack points the process at its moto server after the sandbox is made.
        if self._client is None:
            self._client = boto3.client("dynamodb")
        return self._client

    # -- the table --------------------------------------------------------------------------------------------

    def ensure_table(self) -> None:
        """Create the table if it does not exist (at a cold start, the first time a sandbox is deployed)."""
        try:
            self.client.describe_table(TableName=self.table_name)
            return
        except self.client.exceptions.ResourceNotFoundException:
            pass
        with contextlib.suppress(self.client.exceptions.ResourceInUseException):  # another instance creates it
            self.client.create_table(**table_definition(self.table_name))
        self.client.get_waiter("table_exists").wait(
            TableName=self.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        try:
            self.client.update_time_to_live(
                TableName=self.table_name, TimeToLiveSpecification={"AttributeName": "expires", "Enabled": True}
            )
        except ClientError as exc:  # already on (another instance): expired records are also checked when read
            if "already enabled" not in str(exc).lower():
                raise

    # -- payments ---------------------------------------------------------------------------------------------

    @staticmethod
    def _payment_key(tpe: str, reference: str) -> dict[str, Any]:
        return {"pk": _s(f"PAYMENT#{tpe}"), "sk": _s(reference)}

    @staticmethod
    def _payment_of(item: dict[str, Any]) -> Payment:
        return from_data(json.loads(item["data"]["S"]), int(item["version"]["N"]))

    def _item(self, payment: Payment, version: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            **self._payment_key(payment.tpe, payment.reference),
            "version": _n(version),
            "data": _s(json.dumps(to_data(payment), separators=(",", ":"))),
        }
        due = payment.next_due()
        if due is not None:
            item["due"] = _s("due")
            item["due_at"] = _s(due.astimezone(UTC).isoformat())
        return item

    def get(self, tpe: str, reference: str) -> Payment | None:
        answer = self.client.get_item(
            TableName=self.table_name, Key=self._payment_key(tpe, reference), ConsistentRead=True
        )
        return self._payment_of(answer["Item"]) if "Item" in answer else None

    def create(self, payment: Payment) -> bool:
        """Store a new payment; False (nothing written) if its reference is already in the book."""
        try:
            self.client.put_item(
                TableName=self.table_name, Item=self._item(payment, 1), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if _conflict(exc):
                return False
            raise
        payment.version = 1
        self._remember_session(payment)
        return True

    def update[T](self, tpe: str, reference: str, change: Callable[[Payment], T]) -> tuple[Payment, T]:
        """Apply ``change`` to the payment as stored and write it back, unless someone wrote in between: then
        read it again and apply ``change`` to that. What ``change`` raises propagates and nothing is written; a
        change that changes nothing writes nothing. ``LookupError`` when there is no such payment."""
        for _ in range(MAX_TRIES):
            payment = self.get(tpe, reference)
            if payment is None:
                raise LookupError(f"{tpe}/{reference}")
            before = to_data(payment)
            result = change(payment)
            if to_data(payment) == before:
                return payment, result
            try:
                self.client.put_item(
                    TableName=self.table_name,
                    Item=self._item(payment, payment.version + 1),
                    ConditionExpression="version = :read",
                    ExpressionAttributeValues={":read": _n(payment.version)},
                )
            except ClientError as exc:
                if _conflict(exc):
                    continue
                raise
            payment.version += 1
            if payment.session != before["session"]:
                self._remember_session(payment)
            return payment, result
        raise ConcurrentChangeError(f"{tpe}/{reference} changed {MAX_TRIES} times while being updated")

    def _remember_session(self, payment: Payment) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": _s(f"SESSION#{payment.session}"),
                "sk": _s("-"),
                "tpe": _s(payment.tpe),
                "reference": _s(payment.reference),
                "expires": _n(_epoch(payment.created_at) + SESSION_DAYS * 86_400),
            },
        )

    def by_session(self, session: str) -> Payment | None:
        """The payment whose current payment-page session this is (an older session of it is unknown)."""
        if not session:
            return None
        answer = self.client.get_item(
            TableName=self.table_name, Key={"pk": _s(f"SESSION#{session}"), "sk": _s("-")}, ConsistentRead=True
        )
        item = answer.get("Item")
        if item is None:
            return None
        payment = self.get(item["tpe"]["S"], item["reference"]["S"])
        return payment if payment is not None and payment.session == session else None

    def _query(self, **request: Any) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(TableName=self.table_name, **request):
            yield from page.get("Items", [])

    def of_terminal(self, tpe: str) -> list[Payment]:
        items = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"PAYMENT#{tpe}")},
            ConsistentRead=True,
        )
        return [self._payment_of(item) for item in items]

    def due(self, now: datetime) -> list[tuple[str, str]]:
        """(TPE, reference) of the payments with something due by ``now`` (the index may lag a write: whoever
        acts re-reads the payment)."""
        items = self._query(
            IndexName=DUE_INDEX,
            KeyConditionExpression="#due = :due AND due_at <= :now",
            ExpressionAttributeNames={"#due": "due"},
            ExpressionAttributeValues={":due": _s("due"), ":now": _s(now.astimezone(UTC).isoformat())},
        )
        return [(item["pk"]["S"].removeprefix("PAYMENT#"), item["sk"]["S"]) for item in items]

    def _scan(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            FilterExpression="begins_with(pk, :prefix)",
            ExpressionAttributeValues={":prefix": _s(prefix)},
            ConsistentRead=True,
        ):
            yield from page.get("Items", [])

    def __iter__(self) -> Iterator[Payment]:
        """Every payment of every terminal (a scan: for tests and tools, never on a request's path)."""
        return iter([self._payment_of(item) for item in self._scan("PAYMENT#")])

    # -- alerts -----------------------------------------------------------------------------------------------

    def alert(self, tpe: str, reference: str, at: datetime, detail: str) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": _s(f"ALERT#{tpe}"),
                "sk": _s(f"{at.astimezone(UTC).isoformat()}#{secrets.token_hex(4)}"),
                "reference": _s(reference),
                "detail": _s(detail),
            },
        )

    @staticmethod
    def _alert_of(item: dict[str, Any]) -> Alert:
        at = datetime.fromisoformat(item["sk"]["S"].rsplit("#", 1)[0])
        return Alert(at, item["pk"]["S"].removeprefix("ALERT#"), item["reference"]["S"], item["detail"]["S"])

    def alerts(self, tpe: str | None = None) -> list[Alert]:
        """A terminal's alerts (every terminal's: a scan, for tests and tools), oldest first."""
        if tpe is None:
            found = [self._alert_of(item) for item in self._scan("ALERT#")]
            return sorted(found, key=lambda alert: alert.at)
        items = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"ALERT#{tpe}")},
            ConsistentRead=True,
        )
        return [self._alert_of(item) for item in items]

    # -- mails to the merchant ---------------------------------------------------------------------------------

    def merchant_mail(self, mail: MerchantMail) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": _s(f"MAIL#{mail.tpe}"),
                "sk": _s(f"{mail.at.astimezone(UTC).isoformat()}#{secrets.token_hex(4)}"),
                "reference": _s(mail.reference),
                "to": _s(mail.to),
                "subject": _s(mail.subject),
                "text": _s(mail.text),
            },
        )

    @staticmethod
    def _mail_of(item: dict[str, Any]) -> MerchantMail:
        at = datetime.fromisoformat(item["sk"]["S"].rsplit("#", 1)[0])
        tpe = item["pk"]["S"].removeprefix("MAIL#")
        fields = (item[name]["S"] for name in ("reference", "to", "subject", "text"))
        return MerchantMail(at, tpe, *fields)

    def merchant_mails(self, tpe: str | None = None) -> list[MerchantMail]:
        """The mails sent to a terminal's merchant (every terminal's: a scan, for tests and tools), oldest first."""
        if tpe is None:
            return sorted((self._mail_of(item) for item in self._scan("MAIL#")), key=lambda mail: mail.at)
        items = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"MAIL#{tpe}")},
            ConsistentRead=True,
        )
        return [self._mail_of(item) for item in items]

    # -- cards on file --------------------------------------------------------------------------------------------

    def card_on_file(self, payment: Payment) -> Card | None:
        """The card kept under the payment's alias, unless the request asks for the card to be typed."""
        if not payment.card_alias or payment.force_card_entry:
            return None
        found = self.read("card", f"{payment.tpe}#{payment.card_alias}")
        if found is None:
            return None
        data = found[0]
        return Card(data["number"], data["expiry_month"], data["expiry_year"], cvv_entered=data["cvv_entered"])

    def keep_card(self, payment: Payment, card: Card) -> bool:
        """Keep ``card`` under the payment's alias (after an accepted payment); whether it was not kept already.
        A conditional write like every other: of two payments keeping a card under one alias at once, the second
        re-reads and finds the first's (the same card: not kept anew). Whether it has a cryptogram is kept too:
        the bank asks it again for a card that has one."""
        if not payment.card_alias:
            return False
        key = f"{payment.tpe}#{payment.card_alias}"
        data: dict[str, Any] = {
            "number": card.number,
            "expiry_month": card.expiry_month,
            "expiry_year": card.expiry_year,
            "cvv_entered": card.cvv_entered,
        }
        for _ in range(MAX_TRIES):
            found = self.read("card", key)
            if found is not None and (found[0]["number"], found[0]["expiry_month"], found[0]["expiry_year"]) == (
                card.number,
                card.expiry_month,
                card.expiry_year,
            ):
                return False
            if self.write("card", key, data, found[1] if found is not None else 0, None):
                return True
        raise ConcurrentChangeError(f"card {key} changed {MAX_TRIES} times while being kept")

    # -- the dashboard's records ------------------------------------------------------------------------------

    @staticmethod
    def _record_key(kind: str, key: str) -> dict[str, Any]:
        return {"pk": _s(f"{kind.upper()}#{key}"), "sk": _s("-")}

    def read(self, kind: str, key: str) -> tuple[dict[str, Any], int] | None:
        """A record and its version, or None."""
        answer = self.client.get_item(TableName=self.table_name, Key=self._record_key(kind, key), ConsistentRead=True)
        item = answer.get("Item")
        return (json.loads(item["data"]["S"]), int(item["version"]["N"])) if item else None

    def write(self, kind: str, key: str, data: dict[str, Any], read_version: int, expires: datetime | None) -> bool:
        """Write a record if it is still at ``read_version`` (0: if there is none); False when someone wrote it
        meanwhile (nothing written)."""
        item = {
            **self._record_key(kind, key),
            "data": _s(json.dumps(data, separators=(",", ":"))),
            "version": _n(read_version + 1),
        }
        if expires is not None:
            item["expires"] = _n(_epoch(expires))
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if read_version == 0
            else {"ConditionExpression": "version = :read", "ExpressionAttributeValues": {":read": _n(read_version)}}
        )
        try:
            self.client.put_item(TableName=self.table_name, Item=item, **condition)
        except ClientError as exc:
            if _conflict(exc):
                return False
            raise
        return True

    def delete(self, kind: str, key: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key=self._record_key(kind, key))

    def records(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every record of a kind by key (a scan: for tests and tools)."""
        prefix = f"{kind.upper()}#"
        return {item["pk"]["S"].removeprefix(prefix): json.loads(item["data"]["S"]) for item in self._scan(prefix)}


def table_definition(name: str) -> dict[str, Any]:
    """The sandbox's table: on demand, ``pk``/``sk``, and the sparse ``due`` index."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "due", "AttributeType": "S"},
            {"AttributeName": "due_at", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": DUE_INDEX,
                "KeySchema": [
                    {"AttributeName": "due", "KeyType": "HASH"},
                    {"AttributeName": "due_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    }
