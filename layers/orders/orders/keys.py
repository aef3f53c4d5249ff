"""Shop keys: secret keys for shops outside AWS, ``Authorization: Bearer mk_test_…`` / ``mk_live_…``.

A key reads ``mk_<environment>_<id>_<secret>``: the environment (``test`` on a test stack, ``live`` on a
production one: a key of one is refused by the other), its id (12 lowercase letters and digits, shown in lists) and
40 random letters and digits. The table keeps only its keyed hash (HMAC-SHA256 with the stack's pepper, a Secrets
Manager secret), never the key: it is shown once, when created.

Each key has a scope (``SCOPES``: what its routes are), a label, a creation time, an optional expiry, an optional
revocation time (now, or later: a rotation revokes the key it replaces once the new one is in place) and the last
time it was used, written at most once per ``LAST_USED_EVERY`` per key (a conditional write, never one per request).

Items: ``pk = SHOPKEY``, ``sk = <id>`` in the orders table: one partition read by id (the authorizer) and listed
whole (the console), which the functions' roles may reach alone (``dynamodb:LeadingKeys``).

    python -m orders.keys create --scope shop --label "web shop" [--expires 2027-01-01T00:00:00Z]
    python -m orders.keys list
    python -m orders.keys revoke <id> [--at 2026-12-01T00:00:00Z]

read the stack from the environment (``ORDERS_TABLE``, ``SHOP_KEYS_PEPPER_ARN``, ``STACK_ENVIRONMENT``); bad
input is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import string
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from .exceptions import (
    ConfigurationError,
    InvalidOrderError,
    OrdersError,
    ShopKeyNotFoundError,
    ShopKeyRefusedError,
    ShopKeyScopeError,
    StoreUnavailableError,
)

if TYPE_CHECKING:
    from .store import OrderStore

SHOP, BACK_OFFICE, READ_ONLY = "shop", "back_office", "read_only"
SCOPES = {
    SHOP: "create and read orders (POST /orders, GET /orders/{reference})",
    BACK_OFFICE: "everything the console routes do, but manage keys",
    READ_ONLY: "the GET routes",
}
# What a shop key may never do, whatever its scope: keys are managed with SigV4 (the console's IAM callers) or the
# command line, so a leaked key cannot make itself another.
KEY_ROUTES = "/keys"
SHOP_ROUTES = frozenset({("POST", "/orders"), ("GET", "/orders/{reference}")})
ENVIRONMENTS = ("test", "live")
ID_LENGTH = 12
SECRET_LENGTH = 40
KEY = re.compile(rf"mk_(test|live)_([a-z0-9]{{{ID_LENGTH}}})_([A-Za-z0-9]{{{SECRET_LENGTH}}})")
KEY_ID = re.compile(rf"[a-z0-9]{{{ID_LENGTH}}}")
# A key, or enough of one, in a text shown to others (a label is the actor the order's history and events name).
KEY_IN_TEXT = re.compile(r"mk_(test|live)_[A-Za-z0-9_]{8,}")
PARTITION = "SHOPKEY"
LAST_USED_EVERY = timedelta(seconds=60)
LABEL_MAX = 100
# The answers of a key refused (never "no such key": a malformed key and an unknown one are answered alike).
UNKNOWN = "the key is malformed or unknown: send Authorization: Bearer mk_test_… or mk_live_…"
REVOKED = "the key was revoked at {at}: use the key that replaced it"
EXPIRED = "the key expired at {at}: create another"
OTHER_ENVIRONMENT = "the key is a {key} key and this stack takes {stack} keys"
MISSING = "no key: send Authorization: Bearer mk_test_… or mk_live_…"
NOT_AN_ID = f"is not a key's id: {ID_LENGTH} lowercase letters and digits, as the list of keys shows them"
KEYS_OFF = "this stack takes SigV4 callers only (CallerAuthentication iam): no key is accepted"
_ALPHABET = string.ascii_letters + string.digits
_ID_ALPHABET = string.ascii_lowercase + string.digits


def key_environment(stack_environment: str) -> str:
    """The keys a stack takes: ``live`` on a production stack, ``test`` on any other (the local stack too)."""
    return "live" if stack_environment == "production" else "test"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(value: str, name: str) -> datetime:
    """An ISO 8601 time with its offset (``2026-12-01T00:00:00Z``); ``name`` is the field a bad one is refused as."""
    shown = "the value" if KEY_IN_TEXT.search(value) else repr(value[:40])  # a key pasted here is never echoed
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidOrderError(name, f"{shown} is not a time like 2026-12-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidOrderError(name, f"{shown} has no offset: write it like 2026-12-01T00:00:00Z")
    return moment.astimezone(UTC)


def key_hash(pepper: bytes, key: str) -> str:
    """The key's keyed hash, as the table keeps it (hex)."""
    return hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()


def new_key(environment: str, key_id: str | None = None) -> str:
    """A fresh key of ``environment`` (``test`` or ``live``)."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment {environment!r} is neither test nor live")
    key_id = key_id or "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))
    return f"mk_{environment}_{key_id}_{secret}"


def bearer(authorization: str | None) -> str:
    """The key in an ``Authorization: Bearer <key>`` header; refused (401) when there is none."""
    if not authorization or not authorization.strip():
        raise ShopKeyRefusedError(MISSING)
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ShopKeyRefusedError(UNKNOWN)
    return token.strip()


@dataclass(frozen=True)
class ShopKey:
    """A key as the table keeps it (its hash, never the key)."""

    key_id: str
    environment: str
    scope: str
    label: str
    created_at: datetime
    key_hash: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def refusal(self, now: datetime) -> str | None:
        """Why the key cannot be used at ``now``, or None."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return REVOKED.format(at=_iso(self.revoked_at))
        if self.expires_at is not None and self.expires_at <= now:
            return EXPIRED.format(at=_iso(self.expires_at))
        return None

    def as_json(self) -> dict[str, Any]:
        """What the console shows of a key (never its hash)."""
        times = {"expires_at": self.expires_at, "revoked_at": self.revoked_at, "last_used_at": self.last_used_at}
        return {
            "id": self.key_id,
            "environment": self.environment,
            "scope": self.scope,
            "label": self.label,
            "created_at": _iso(self.created_at),
            **{name: _iso(value) if value else None for name, value in times.items()},
        }


def _item(key: ShopKey) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": PARTITION},
        "sk": {"S": key.key_id},
        "key_hash": {"S": key.key_hash},
        "environment": {"S": key.environment},
        "scope": {"S": key.scope},
        "label": {"S": key.label},
        "created_at": {"S": _iso(key.created_at)},
    }
    if key.expires_at is not None:
        item["expires_at"] = {"S": _iso(key.expires_at)}
    return item


def _time(item: Mapping[str, Any], name: str) -> datetime | None:
    value = item.get(name, {}).get("S")
    return datetime.fromisoformat(value) if value else None


def _key(item: Mapping[str, Any]) -> ShopKey:
    return ShopKey(
        key_id=item["sk"]["S"],
        environment=item["environment"]["S"],
        scope=item["scope"]["S"],
        label=item["label"]["S"],
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        key_hash=item["key_hash"]["S"],
        expires_at=_time(item, "expires_at"),
        revoked_at=_time(item, "revoked_at"),
        last_used_at=_time(item, "last_used_at"),
    )


@dataclass(frozen=True)
class Created:
    """A key just created: ``key`` is shown this once, and kept nowhere."""

    shop_key: ShopKey
    key: str

    def as_json(self) -> dict[str, Any]:
        return {**self.shop_key.as_json(), "key": self.key}


def scopes_allowed(method: str, resource: str) -> tuple[str, ...]:
    """The scopes that may call ``method resource`` (``resource`` as API Gateway names it); none for the key
    routes, which take SigV4 callers only."""
    if resource == KEY_ROUTES or resource.startswith(KEY_ROUTES + "/"):
        return ()
    shop = (SHOP,) if (method.upper(), resource) in SHOP_ROUTES else ()
    read_only = (READ_ONLY,) if method.upper() == "GET" else ()
    return (*shop, *read_only, BACK_OFFICE)


def check_scope(scope: str, method: str, resource: str) -> None:
    """Refuse (403, naming the scope needed) a key whose ``scope`` does not cover ``method resource``."""
    allowed = scopes_allowed(method, resource)
    if scope not in allowed:
        raise ShopKeyScopeError(scope, allowed, f"{method.upper()} {resource}")


def check_event_scope(event: Mapping[str, Any]) -> None:
    """The scope check of an API Gateway request: a request the shop-key authorizer let through carries the
    key's scope in ``requestContext.authorizer``; a SigV4 one carries none, and IAM's policies decided."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    scope = authorizer.get("scope")
    if scope is None:
        return
    check_scope(str(scope), str(event.get("httpMethod", "")), str(event.get("resource") or event.get("path") or ""))


class ShopKeys:
    """The shop keys of the orders table; ``pepper`` gives the hashing pepper (read from its secret, cached)."""

    def __init__(
        self, store: OrderStore, pepper: Callable[[], bytes], stack_environment: str = "", *, accepted: bool = True
    ) -> None:
        """``accepted``: False on a stack whose callers are SigV4 only (``CALLER_AUTHENTICATION=iam``), whose
        authorizer refuses every key."""
        self.store = store
        self.pepper = pepper
        self.environment = key_environment(stack_environment)
        self.accepted = accepted

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.store.client, operation)(TableName=self.store.table_name, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise
            raise StoreUnavailableError(f"DynamoDB {operation} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"DynamoDB {operation} failed: {exc}") from exc

    def create(self, scope: str, label: str, now: datetime, expires_at: datetime | None = None) -> Created:
        """A new key: stored as its hash, answered once."""
        if scope not in SCOPES:
            raise InvalidOrderError("scope", f"{scope!r} is not a scope ({', '.join(SCOPES)})")
        label = label.strip()
        if not label or len(label) > LABEL_MAX or not label.isprintable():
            raise InvalidOrderError("label", f"must be 1 to {LABEL_MAX} printable characters (what the key is for)")
        if KEY_IN_TEXT.search(label):  # it names the operations the key does: never a key there
            raise InvalidOrderError("label", "holds a key: name what the key is for, or its id, never a key")
        if expires_at is not None and expires_at <= now:
            raise InvalidOrderError("expires_at", "must be in the future")
        key = new_key(self.environment)
        key_id = KEY.fullmatch(key).group(2)  # type: ignore[union-attr]
        shop_key = ShopKey(key_id, self.environment, scope, label, now, key_hash(self.pepper(), key), expires_at)
        self._call("put_item", Item=_item(shop_key), ConditionExpression="attribute_not_exists(pk)")
        return Created(shop_key, key)

    def get(self, key_id: str) -> ShopKey:
        if not KEY_ID.fullmatch(key_id):  # never repeated: it may be the key itself, pasted where its id goes
            raise InvalidOrderError("id", NOT_AN_ID)
        item = self._call("get_item", Key={"pk": {"S": PARTITION}, "sk": {"S": key_id}}, ConsistentRead=True)
        if "Item" not in item:
            raise ShopKeyNotFoundError(key_id)
        return _key(item["Item"])

    def list(self) -> list[ShopKey]:
        """Every key, newest first."""
        keys: list[ShopKey] = []
        start: dict[str, Any] | None = None
        while True:
            page = self._call(
                "query",
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": PARTITION}},
                **({"ExclusiveStartKey": start} if start else {}),
            )
            keys += [_key(item) for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                return sorted(keys, key=lambda k: k.created_at, reverse=True)

    def revoke(self, key_id: str, at: datetime) -> ShopKey:
        """The key refused from ``at`` on (now, or later during a rotation); a key already revoked earlier keeps
        its earlier time."""
        current = self.get(key_id)
        if current.revoked_at is not None and current.revoked_at <= at:
            return current
        with contextlib.suppress(ClientError):  # revoked earlier meanwhile: that time stands
            self._call(
                "update_item",
                Key={"pk": {"S": PARTITION}, "sk": {"S": key_id}},
                UpdateExpression="SET revoked_at = :at",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(revoked_at) OR revoked_at > :at)",
                ExpressionAttributeValues={":at": {"S": _iso(at)}},
            )
        return self.get(key_id)

    def authenticate(self, key: str, now: datetime) -> ShopKey:
        """The key presented, or ``ShopKeyRefusedError`` saying why. Whether a key of that id exists is told only
        to a caller holding the whole key (its hash matches): revoked and expired are said then, never before."""
        if not self.accepted:
            raise ShopKeyRefusedError(KEYS_OFF)
        match = KEY.fullmatch(key)
        if match is None:
            raise ShopKeyRefusedError(UNKNOWN)
        if match.group(1) != self.environment:
            raise ShopKeyRefusedError(OTHER_ENVIRONMENT.format(key=match.group(1), stack=self.environment))
        item = self._call("get_item", Key={"pk": {"S": PARTITION}, "sk": {"S": match.group(2)}})
        presented = key_hash(self.pepper(), key)
        stored = item.get("Item", {}).get("key_hash", {}).get("S", "")
        if not hmac.compare_digest(presented, stored or "0" * len(presented)) or not stored:
            raise ShopKeyRefusedError(UNKNOWN)
        shop_key = _key(item["Item"])
        refusal = shop_key.refusal(now)
        if refusal is not None:
            raise ShopKeyRefusedError(refusal)
        return shop_key

    def touch(self, shop_key: ShopKey, now: datetime) -> bool:
        """Record the key used at ``now`` unless it was less than ``LAST_USED_EVERY`` ago: a conditional write, so
        that however many instances see the key, it is written at most once in that time. True when written."""
        if shop_key.last_used_at is not None and now - shop_key.last_used_at < LAST_USED_EVERY:
            return False
        try:
            self._call(
                "update_item",
                Key={"pk": {"S": PARTITION}, "sk": {"S": shop_key.key_id}},
                UpdateExpression="SET last_used_at = :now",
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at <= :since)"
                ),
                ExpressionAttributeValues={":now": {"S": _iso(now)}, ":since": {"S": _iso(now - LAST_USED_EVERY)}},
            )
        except ClientError:
            return False
        return True


class SecretPepper:
    """The hashing pepper from its Secrets Manager secret (``SHOP_KEYS_PEPPER_ARN``), cached five minutes."""

    def __init__(self, secret_arn: str, client: Any = None, max_age: int = 300) -> None:
        self.secret_arn = secret_arn
        self.max_age = max_age
        self._client = client
        self._provider: Any = None

    def __call__(self) -> bytes:
        if not self.secret_arn:
            raise ConfigurationError("the environment variable SHOP_KEYS_PEPPER_ARN is not set")
        from aws_lambda_powertools.utilities import parameters

        if self._provider is None:
            self._provider = parameters.SecretsProvider(boto3_client=self._client)
        try:
            text = str(self._provider.get(self.secret_arn, max_age=self.max_age))
        except parameters.exceptions.GetParameterError as exc:
            raise ConfigurationError(f"the shop keys' pepper cannot be read: {exc}") from None
        if len(text) < 32:
            raise ConfigurationError("the shop keys' pepper is shorter than 32 characters")
        return text.encode()


def from_environment(environ: Mapping[str, str] | None = None, store: OrderStore | None = None) -> ShopKeys:
    """The stack's keys as its environment names them."""
    from .store import OrderStore

    env = os.environ if environ is None else environ
    table = env.get("ORDERS_TABLE", "")
    if store is None and not table:
        raise ConfigurationError("the environment variable ORDERS_TABLE is not set")
    return ShopKeys(
        store or OrderStore(table),
        SecretPepper(env.get("SHOP_KEYS_PEPPER_ARN", "")),
        env.get("STACK_ENVIRONMENT", ""),
        accepted=env.get("CALLER_AUTHENTICATION", "") != "iam",
    )


def _render(key: ShopKey) -> str:
    json = key.as_json()
    times = " ".join(f"{name}={json[name]}" for name in ("expires_at", "revoked_at", "last_used_at") if json[name])
    return f"{key.key_id}  {key.environment}  {key.scope:<11}  {key.label!r}  created_at={json['created_at']} {times}"


def main(
    argv: Sequence[str] | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    keys: ShopKeys | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """The command line; ``keys``: the stack's (``from_environment`` unless a test gives its own)."""
    parser = argparse.ArgumentParser(prog="python -m orders.keys", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key (shown once)")
    create.add_argument("--scope", required=True, help=", ".join(SCOPES))
    create.add_argument("--label", required=True, help="what the key is for")
    create.add_argument("--expires", default="", help="when it stops working (2027-01-01T00:00:00Z)")
    commands.add_parser("list", help="every key (never the key itself)")
    revoke = commands.add_parser("revoke", help="revoke a key, now or at a time")
    revoke.add_argument("id")
    revoke.add_argument("--at", default="", help="when (2026-12-01T00:00:00Z); now by default")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        keys = keys or from_environment()
        now = clock()
        if args.command == "create":
            expires = parse_time(args.expires, "--expires") if args.expires else None
            created = keys.create(args.scope, args.label, now, expires)
            print(_render(created.shop_key), file=out)
            print(f"key (shown once, keep it in the shop's secrets): {created.key}", file=out)
        elif args.command == "list":
            for key in keys.list():
                print(_render(key), file=out)
        else:
            at = parse_time(args.at, "--at") if args.at else now
            print(_render(keys.revoke(args.id, at)), file=out)
    except (OrdersError, ConfigurationError) as exc:
        print(f"python -m orders.keys {args.command}: {exc}", file=err)
        return 2
    except BotoCoreError as exc:
        print(f"python -m orders.keys {args.command}: {exc} (set AWS_DEFAULT_REGION and credentials)", file=err)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
