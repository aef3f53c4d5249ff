"""Shop keys' rules: their form, their keyed hash, when one stops working, what each scope may call."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from orders import keys
from orders.exceptions import InvalidOrderError, ShopKeyRefusedError, ShopKeyScopeError
from tests.support.log_scan import leaks

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _key(**times: datetime | None) -> keys.ShopKey:
    return keys.ShopKey("abcdefghij12", "test", keys.SHOP, "web shop", NOW, "00", **times)


def test_a_new_key_names_its_environment_and_has_an_id_and_a_long_random_secret() -> None:
    first, second = keys.new_key("test"), keys.new_key("test")
    match = keys.KEY.fullmatch(first)
    assert match is not None
    assert match.group(1) == "test"
    assert len(match.group(3)) == 40
    assert first != second
    assert keys.new_key("live").startswith("mk_live_")
    with pytest.raises(ValueError, match="production"):
        keys.new_key("production")


def test_a_production_stack_takes_live_keys_and_any_other_test_keys() -> None:
    assert keys.key_environment("production") == "live"
    assert [keys.key_environment(e) for e in ("test", "")] == ["test", "test"]


def test_the_hash_is_hmac_sha256_with_the_pepper_never_the_key() -> None:
    key = keys.new_key("test")
    digest = keys.key_hash(b"p" * 32, key)
    assert digest == hmac.new(b"p" * 32, key.encode(), hashlib.sha256).hexdigest()
    assert digest != keys.key_hash(b"q" * 32, key)
    assert key not in digest


@pytest.mark.parametrize(
    ("times", "refusal"),
    [
        ({}, None),
        ({"expires_at": NOW + timedelta(seconds=1)}, None),
        ({"expires_at": NOW}, "the key expired at 2026-11-27T10:00:00Z"),
        ({"revoked_at": NOW + timedelta(hours=1)}, None),
        ({"revoked_at": NOW - timedelta(seconds=1)}, "the key was revoked at 2026-11-27T09:59:59Z"),
    ],
)
def test_a_key_stops_working_at_its_expiry_or_its_revocation(times: dict[str, datetime], refusal: str | None) -> None:
    found = _key(**times).refusal(NOW)
    assert found == refusal if refusal is None else found is not None and found.startswith(refusal)


def test_the_console_shows_a_key_without_its_hash() -> None:
    shown = _key(expires_at=NOW + timedelta(days=1)).as_json()
    assert shown["id"] == "abcdefghij12"
    assert shown["expires_at"] == "2026-11-28T10:00:00Z"
    assert "00" not in shown.values()
    assert "key_hash" not in shown


@pytest.mark.parametrize(
    ("scope", "method", "resource"),
    [
        (keys.SHOP, "POST", "/orders"),
        (keys.SHOP, "GET", "/orders/{reference}"),
        (keys.READ_ONLY, "GET", "/orders"),
        (keys.READ_ONLY, "GET", "/books/captures"),
        (keys.READ_ONLY, "GET", "/orders/{reference}"),
        (keys.BACK_OFFICE, "POST", "/orders/{reference}/capture"),
        (keys.BACK_OFFICE, "POST", "/orders"),
        (keys.BACK_OFFICE, "GET", "/terminals/{tpe}/golive"),
    ],
)
def test_a_scope_covers_its_routes(scope: str, method: str, resource: str) -> None:
    keys.check_scope(scope, method, resource)


@pytest.mark.parametrize(
    ("scope", "method", "resource", "needs"),
    [
        (keys.SHOP, "POST", "/orders/{reference}/capture", "needs a back_office key"),
        (keys.SHOP, "GET", "/orders", "needs a read_only or back_office key"),
        (keys.READ_ONLY, "POST", "/orders", "needs a shop or back_office key"),
        (keys.READ_ONLY, "POST", "/orders/{reference}/refund", "needs a back_office key"),
        (keys.BACK_OFFICE, "POST", "/keys", r"needs a SigV4 \(IAM\) caller"),
        (keys.BACK_OFFICE, "GET", "/keys", r"needs a SigV4 \(IAM\) caller"),
    ],
)
def test_a_scope_refuses_the_other_routes_naming_the_scope_needed(
    scope: str, method: str, resource: str, needs: str
) -> None:
    with pytest.raises(ShopKeyScopeError, match=needs) as refused:
        keys.check_scope(scope, method, resource)
    assert refused.value.status == 403
    assert f"scope is {scope}" in str(refused.value)


def test_a_request_without_a_key_scope_is_iams_to_decide() -> None:
    keys.check_event_scope({"httpMethod": "POST", "resource": "/orders/{reference}/capture", "requestContext": {}})
    shop = {"authorizer": {"scope": keys.SHOP}}
    event = {"httpMethod": "POST", "resource": "/orders/{reference}/capture", "requestContext": shop}
    with pytest.raises(ShopKeyScopeError):
        keys.check_event_scope(event)


@pytest.mark.parametrize(
    ("header", "message"),
    [(None, keys.MISSING), ("", keys.MISSING), ("Basic abc", keys.UNKNOWN), ("Bearer ", keys.UNKNOWN)],
)
def test_the_header_must_carry_a_bearer_key(header: str | None, message: str) -> None:
    with pytest.raises(ShopKeyRefusedError) as refused:
        keys.bearer(header)
    assert str(refused.value) == message
    assert refused.value.status == 401
    assert keys.bearer("Bearer mk_test_x") == "mk_test_x"


@pytest.mark.parametrize("value", ["tomorrow", "2026-12-01T00:00:00"])
def test_a_time_must_be_iso_with_its_offset(value: str) -> None:
    with pytest.raises(InvalidOrderError, match="--at"):
        keys.parse_time(value, "--at")
    assert keys.parse_time("2026-12-01T01:00:00+01:00", "--at") == datetime(2026, 12, 1, tzinfo=UTC)


def test_the_log_scan_catches_a_shop_key() -> None:
    key = keys.new_key("live")
    assert leaks(f"Authorization: Bearer {key}") == ["shop key mk_live_..."]
    assert leaks("send Authorization: Bearer mk_test_… or mk_live_…") == []
