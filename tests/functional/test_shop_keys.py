"""Shop keys on moto: created from the console (shown once), checked by the authorizer (401 saying why, never
which keys exist), rotated without downtime, and their scope held by the routes."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orders import keys
from orders.exceptions import ConfigurationError
from orders.keys import ShopKeys
from tests.support.aws import event

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
PEPPER = b"pepper-of-the-test-stack-32-bytes!!"


@pytest.fixture
def shop_keys(aws: Any) -> ShopKeys:
    shop_keys = ShopKeys(aws.store, lambda: PEPPER, "test")
    aws.use(shop_keys=shop_keys, clock=lambda: NOW)
    return shop_keys


def authorize(aws: Any, context: Any, authorization: str | None) -> dict[str, Any]:
    request = event("shop_key_authorizer.json")
    request["headers"] = {"Authorization": authorization} if authorization is not None else {}
    return aws.invoke("shop_key_authorizer", request, context)  # type: ignore[no-any-return]


def console(aws: Any, context: Any, method: str, resource: str, body: Any = None, **path: str) -> dict[str, Any]:
    request = event("list_orders.json")
    concrete = resource
    for name, value in path.items():
        concrete = concrete.replace(f"{{{name}}}", value)
    request.update(
        resource=resource,
        path=concrete,
        httpMethod=method,
        pathParameters=path or None,
        body=json.dumps(body) if body is not None else None,
        isBase64Encoded=False,
    )
    answer = aws.invoke("backoffice", request, context)
    return {"status": answer["statusCode"], "body": json.loads(answer["body"])}


def test_a_key_created_on_the_console_is_shown_once_and_stored_as_its_hash(
    aws: Any, shop_keys: ShopKeys, lambda_context: Any
) -> None:
    created = console(aws, lambda_context, "POST", "/keys", {"scope": "shop", "label": "web shop"})
    assert created["status"] == 201
    key = created["body"]["key"]
    assert key.startswith("mk_test_")
    assert created["body"]["scope"] == "shop"
    item = aws.dynamodb.get_item(
        TableName=aws.store.table_name, Key={"pk": {"S": "SHOPKEY"}, "sk": {"S": created["body"]["id"]}}
    )
    stored = json.dumps(item["Item"])
    assert key not in stored
    assert keys.key_hash(PEPPER, key) in stored
    listed = console(aws, lambda_context, "GET", "/keys")
    assert listed["status"] == 200
    assert key not in json.dumps(listed["body"])
    assert [k["label"] for k in listed["body"]["keys"]] == ["web shop"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "admin", "label": "x"}, "scope"),
        ({"scope": "shop"}, "label"),
        ({"scope": "shop", "label": "x", "expires_at": "soon"}, "expires_at"),
        ({"scope": "shop", "label": "x", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"scope": "shop", "label": "x", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_key_request_is_400_naming_the_field(
    aws: Any, shop_keys: ShopKeys, lambda_context: Any, body: dict[str, Any], field: str
) -> None:
    answer = console(aws, lambda_context, "POST", "/keys", body)
    assert answer["status"] == 400
    assert answer["body"]["error"]["field"] == field
    assert shop_keys.list() == []


def test_the_authorizer_allows_a_valid_key_with_its_scope_in_the_context(
    aws: Any, shop_keys: ShopKeys, lambda_context: Any
) -> None:
    created = shop_keys.create("shop", "web shop", NOW)
    answer = authorize(aws, lambda_context, f"Bearer {created.key}")
    assert answer["principalId"] == created.shop_key.key_id
    assert answer["context"] == {"key_id": created.shop_key.key_id, "label": "web shop", "scope": "shop"}
    statement = answer["policyDocument"]["Statement"][0]
    # Cached per header, whatever the route: the answer covers every route of the API's stage.
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:eu-west-3:123456789012:abcdef1234/v1/*",
    }


def _denied(answer: dict[str, Any]) -> str:
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    return str(answer["context"]["message"])


def test_the_authorizer_says_why_a_key_is_refused_never_which_keys_exist(
    aws: Any, shop_keys: ShopKeys, lambda_context: Any
) -> None:
    created = shop_keys.create("shop", "web shop", NOW)
    key_id = created.shop_key.key_id
    forged = f"mk_test_{key_id}_{'A' * 40}"  # an existing id with another secret: as unknown as any
    assert _denied(authorize(aws, lambda_context, f"Bearer {forged}")) == keys.UNKNOWN
    assert _denied(authorize(aws, lambda_context, f"Bearer {keys.new_key('test')}")) == keys.UNKNOWN
    assert _denied(authorize(aws, lambda_context, "Bearer mk_test_short")) == keys.UNKNOWN
    assert _denied(authorize(aws, lambda_context, None)) == keys.MISSING
    live = _denied(authorize(aws, lambda_context, f"Bearer {keys.new_key('live')}"))
    assert live == "the key is a live key and this stack takes test keys"
    shop_keys.revoke(key_id, NOW - timedelta(minutes=1))
    assert _denied(authorize(aws, lambda_context, f"Bearer {created.key}")).startswith("the key was revoked at")
    expiring = shop_keys.create("shop", "until tomorrow", NOW - timedelta(days=2), NOW - timedelta(days=1))
    assert _denied(authorize(aws, lambda_context, f"Bearer {expiring.key}")).startswith("the key expired at")


def test_a_live_stack_refuses_test_keys(aws: Any, lambda_context: Any) -> None:
    aws.use(shop_keys=ShopKeys(aws.store, lambda: PEPPER, "production"), clock=lambda: NOW)
    message = _denied(authorize(aws, lambda_context, f"Bearer {keys.new_key('test')}"))
    assert message == "the key is a test key and this stack takes live keys"


def test_rotation_both_keys_work_until_the_old_ones_revocation_time(
    aws: Any, shop_keys: ShopKeys, lambda_context: Any
) -> None:
    old = shop_keys.create("shop", "web shop 2026", NOW)
    new = console(aws, lambda_context, "POST", "/keys", {"scope": "shop", "label": "web shop 2027"})["body"]["key"]
    at = NOW + timedelta(hours=1)
    revoked = console(aws, lambda_context, "POST", "/keys/{id}/revoke", {"at": at.isoformat()}, id=old.shop_key.key_id)
    assert revoked["status"] == 200
    assert revoked["body"]["revoked_at"] == "2026-11-27T11:00:00Z"
    for key in (old.key, new):
        assert authorize(aws, lambda_context, f"Bearer {key}")["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    aws.use(clock=lambda: at)
    assert _denied(authorize(aws, lambda_context, f"Bearer {old.key}")).startswith("the key was revoked at")
    assert authorize(aws, lambda_context, f"Bearer {new}")["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    # Revoking again later leaves the earlier time; revoking an unknown id is 404 naming it.
    console(
        aws,
        lambda_context,
        "POST",
        "/keys/{id}/revoke",
        {"at": (at + timedelta(days=1)).isoformat()},
        id=old.shop_key.key_id,
    )
    assert shop_keys.get(old.shop_key.key_id).revoked_at == at
    missing = console(aws, lambda_context, "POST", "/keys/{id}/revoke", {}, id="zzzzzzzzzzzz")
    assert missing["status"] == 404
    assert missing["body"]["error"]["field"] == "id"


def test_last_used_is_written_at_most_once_a_minute_per_key(aws: Any, shop_keys: ShopKeys, lambda_context: Any) -> None:
    created = shop_keys.create("shop", "web shop", NOW)
    aws.writes.clear()
    for seconds in (0, 10, 59, 60, 61):
        aws.use(clock=lambda seconds=seconds: NOW + timedelta(seconds=seconds))
        authorize(aws, lambda_context, f"Bearer {created.key}")
    assert aws.writes == ["UpdateItem", "UpdateItem"]
    assert shop_keys.get(created.shop_key.key_id).last_used_at == NOW + timedelta(seconds=60)
    # Another instance that read the key before that write does not write again (the write is conditional).
    stale = shop_keys.get(created.shop_key.key_id)
    assert shop_keys.touch(stale, NOW + timedelta(seconds=61)) is False


def _with_scope(request: dict[str, Any], scope: str) -> dict[str, Any]:
    request["requestContext"]["authorizer"] = {"scope": scope, "key_id": "abcdefghij12", "label": "web shop"}
    return request


def test_a_shop_key_cannot_capture_and_is_told_the_scope_needed(aws: Any, lambda_context: Any) -> None:
    request = event("list_orders.json")
    request.update(resource="/orders/{reference}/capture", path="/orders/EVTSAMPLE0/capture", httpMethod="POST")
    request["pathParameters"] = {"reference": "EVTSAMPLE0"}
    answer = aws.invoke("backoffice", _with_scope(request, "shop"), lambda_context)
    assert answer["statusCode"] == 403
    assert json.loads(answer["body"])["error"] == {
        "message": "this key's scope is shop; POST /orders/{reference}/capture needs a back_office key",
        "field": "Authorization",
    }
    listed = aws.invoke("backoffice", _with_scope(event("list_orders.json"), "read_only"), lambda_context)
    assert listed["statusCode"] == 200
    created = aws.invoke("cgi1", _with_scope(event("create_order.json"), "read_only"), lambda_context)
    assert created["statusCode"] == 403


def test_no_key_manages_keys(aws: Any, shop_keys: ShopKeys, lambda_context: Any) -> None:
    request = event("list_orders.json")
    request.update(resource="/keys", path="/keys", httpMethod="POST", body='{"scope": "shop", "label": "x"}')
    request["isBase64Encoded"] = False
    answer = aws.invoke("backoffice", _with_scope(request, "back_office"), lambda_context)
    assert answer["statusCode"] == 403
    assert shop_keys.list() == []


def test_the_command_line_creates_lists_and_revokes(aws: Any, shop_keys: ShopKeys) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert keys.main(["create", "--scope", "read_only", "--label", "books"], out, err, shop_keys, lambda: NOW) == 0
    key = out.getvalue().split("shown once, keep it in the shop's secrets): ", 1)[1].strip()
    assert keys.KEY.fullmatch(key)
    key_id = keys.KEY.fullmatch(key).group(2)  # type: ignore[union-attr]
    listed = io.StringIO()
    assert keys.main(["list"], listed, err, shop_keys, lambda: NOW) == 0
    assert key_id in listed.getvalue()
    assert key not in listed.getvalue()
    assert (
        keys.main(["revoke", key_id, "--at", "2026-12-01T00:00:00Z"], io.StringIO(), err, shop_keys, lambda: NOW) == 0
    )
    assert shop_keys.get(key_id).revoked_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert err.getvalue() == ""


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["create", "--scope", "root", "--label", "x"], "scope: 'root' is not a scope"),
        (["create", "--scope", "shop", "--label", "x", "--expires", "tomorrow"], "--expires: 'tomorrow'"),
        (["revoke", "zzzzzzzzzzzz"], "no shop key 'zzzzzzzzzzzz'"),
        (["revoke", "zzzzzzzzzzzz", "--at", "noon"], "--at: 'noon'"),
    ],
)
def test_bad_input_on_the_command_line_is_one_line_and_exit_2(shop_keys: ShopKeys, argv: list[str], says: str) -> None:
    err = io.StringIO()
    assert keys.main(argv, io.StringIO(), err, shop_keys, lambda: NOW) == 2
    assert says in err.getvalue()
    assert err.getvalue().count("\n") == 1


def test_a_stack_of_sigv4_callers_refuses_every_key(aws: Any, lambda_context: Any) -> None:
    shop_keys = ShopKeys(aws.store, lambda: PEPPER, "test", accepted=False)
    created = shop_keys.create("shop", "web shop", NOW)
    aws.use(shop_keys=shop_keys, clock=lambda: NOW)
    assert _denied(authorize(aws, lambda_context, f"Bearer {created.key}")) == keys.KEYS_OFF


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException", "AccessDenied"])
def test_a_last_use_write_that_fails_never_fails_the_call(
    aws: Any, shop_keys: ShopKeys, lambda_context: Any, code: str
) -> None:
    created = shop_keys.create("shop", "web shop", NOW)

    def refused(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "no"}}, "UpdateItem")

    aws.dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", refused)
    answer = authorize(aws, lambda_context, f"Bearer {created.key}")
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert answer["context"]["key_id"] == created.shop_key.key_id


def test_revoking_with_the_key_itself_never_echoes_it(aws: Any, shop_keys: ShopKeys, lambda_context: Any) -> None:
    # The mistake a merchant makes while rotating: the key pasted where its id goes, on the console and the CLI.
    created = shop_keys.create("shop", "web shop", NOW)
    answer = console(aws, lambda_context, "POST", "/keys/{id}/revoke", {}, id=created.key)
    assert answer["status"] == 400
    assert answer["body"]["error"]["field"] == "id"
    assert "mk_test_" not in json.dumps(answer["body"])
    err = io.StringIO()
    assert keys.main(["revoke", created.key], io.StringIO(), err, shop_keys, lambda: NOW) == 2
    assert "mk_test_" not in err.getvalue()
    assert err.getvalue().count("\n") == 1
    assert shop_keys.get(created.shop_key.key_id).revoked_at is None


def test_the_pepper_unreadable_fails_the_authorizer_closed(aws: Any, lambda_context: Any) -> None:
    created = ShopKeys(aws.store, lambda: PEPPER, "test").create("back_office", "console", NOW)

    def unreadable() -> bytes:
        raise ConfigurationError("the shop keys' pepper cannot be read: AccessDeniedException")

    aws.use(shop_keys=ShopKeys(aws.store, unreadable, "test"), clock=lambda: NOW)
    # API Gateway answers an authorizer that fails with 500: never an Allow, never the key in what is raised.
    with pytest.raises(ConfigurationError) as raised:
        authorize(aws, lambda_context, f"Bearer {created.key}")
    assert created.key not in str(raised.value)


def test_a_label_holding_a_key_is_refused_never_kept(aws: Any, shop_keys: ShopKeys, lambda_context: Any) -> None:
    # A label is an actor's name (the order's history, the events): "replaces <the old key>" must not put a key there.
    old = shop_keys.create("back_office", "console 2026", NOW)
    label = f"replaces {old.key}"
    answer = console(aws, lambda_context, "POST", "/keys", {"scope": "back_office", "label": label})
    assert answer["status"] == 400
    assert answer["body"]["error"]["field"] == "label"
    assert old.key not in json.dumps(answer["body"])
    err = io.StringIO()
    assert keys.main(["create", "--scope", "shop", "--label", label], io.StringIO(), err, shop_keys, lambda: NOW) == 2
    assert old.key not in err.getvalue()
    assert [key.label for key in shop_keys.list()] == ["console 2026"]


def test_a_key_pasted_as_a_revocation_time_is_never_echoed(aws: Any, shop_keys: ShopKeys, lambda_context: Any) -> None:
    created = shop_keys.create("shop", "web shop", NOW)
    answer = console(aws, lambda_context, "POST", "/keys/{id}/revoke", {"at": created.key}, id=created.shop_key.key_id)
    assert (answer["status"], answer["body"]["error"]["field"]) == (400, "at")
    assert "mk_test_" not in json.dumps(answer["body"])
    err = io.StringIO()
    argv = ["revoke", created.shop_key.key_id, "--at", created.key]
    assert keys.main(argv, io.StringIO(), err, shop_keys, lambda: NOW) == 2
    assert "mk_test_" not in err.getvalue()
    assert shop_keys.get(created.shop_key.key_id).revoked_at is None
