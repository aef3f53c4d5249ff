"""The key callers' API (KeysApi) on the local stack, at ``/keys-api``: the template's authorizer function run as
API Gateway runs it (``local.authorizer``), the ready test key the stack makes at start, the SigV4 API beside it;
and ``python -m orders.keys create|list|revoke`` run as docs/integrating.md prints them, against the stack's AWS.

The keys are read from the stack object and sent in headers, never printed: the log scan would fail the test."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local import LocalConfig, LocalStack
from local.__main__ import banner
from local.aws import FAKE_ACCESS_KEY, FAKE_SECRET_KEY
from orders.keys import KEY, ShopKeys, from_environment
from simulator.tests.support.local_api import ORDER
from tests.support.printed import run_as_printed
from tests.support.readme import Command, printed_commands


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(LocalConfig(port=0, quiet=True, schedule_interval_seconds=None)) as stack:
        yield stack


def keys(stack: LocalStack) -> ShopKeys:
    return from_environment(stack.environment)


def call(url: str, key: str | None, method: str = "GET", body: Any = None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    data = json.dumps(body).encode() if body is not None else None
    sent = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - 127.0.0.1
    try:
        with urllib.request.urlopen(sent, timeout=30) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_banner_prints_the_keys_api_and_a_ready_key(stack: LocalStack) -> None:
    text = banner(stack)
    assert stack.keys_api_url == f"{stack.base_url}/keys-api"
    assert f"Keys API     {stack.keys_api_url} " in text
    assert f"Shop key (test): {stack.test_key} " in text
    (key,) = [k for k in keys(stack).list() if k.key_id in stack.test_key]
    assert (key.scope, key.label, key.environment) == ("back_office", "local test key", "test")


def test_the_printed_key_creates_and_reads_an_order(stack: LocalStack) -> None:
    status, order = call(f"{stack.keys_api_url}/orders", stack.test_key, "POST", ORDER)
    assert status == 201, order
    assert order["checkout_url"].startswith(f"{stack.base_url}/checkout/")
    status, read = call(f"{stack.keys_api_url}/orders/{order['reference']}", stack.test_key)
    assert (status, read["reference"], read["status"]) == (200, order["reference"], "awaiting_payment")


def test_no_key_is_refused_with_the_templates_message(stack: LocalStack) -> None:
    status, answer = call(f"{stack.keys_api_url}/orders", None, "POST", ORDER)
    assert status == 401
    assert answer["error"]["field"] == "Authorization"
    assert answer["error"]["message"].startswith("no key: send Authorization: Bearer mk_test_")


def test_a_malformed_key_is_refused_saying_so(stack: LocalStack) -> None:
    status, answer = call(f"{stack.keys_api_url}/orders/NOPE", "not-a-key")
    assert status == 401
    assert answer["error"]["message"].startswith("the key is malformed or unknown")


def test_a_revoked_key_is_refused_saying_when(stack: LocalStack) -> None:
    now = datetime.now(UTC)
    created = keys(stack).create("shop", "revoked in a test", now)
    keys(stack).revoke(created.shop_key.key_id, now - timedelta(seconds=1))
    status, answer = call(f"{stack.keys_api_url}/orders", created.key, "POST", ORDER)
    assert status == 401
    assert answer["error"]["message"].startswith("the key was revoked at ")


def test_a_key_revoked_after_use_passes_until_the_authorizers_cache_ends(stack: LocalStack) -> None:
    created = keys(stack).create("shop", "cached in a test", datetime.now(UTC))
    url = f"{stack.keys_api_url}/orders/NOPE"
    assert call(url, created.key)[0] == 404  # let through: the function's own answer
    keys(stack).revoke(created.shop_key.key_id, datetime.now(UTC) - timedelta(seconds=1))
    assert call(url, created.key)[0] == 404  # the answer cached for this header
    authorizer = stack.authorizers[("KeysApi", "ShopKeys")]
    real = authorizer.clock
    authorizer.clock = lambda: real() + authorizer.spec.ttl_seconds
    try:
        status, answer = call(url, created.key)
    finally:
        authorizer.clock = real
    assert (status, answer["error"]["message"][:19]) == (401, "the key was revoked")


def test_a_shop_key_cannot_capture(stack: LocalStack) -> None:
    created = keys(stack).create("shop", "a shop in a test", datetime.now(UTC))
    status, order = call(f"{stack.keys_api_url}/orders", created.key, "POST", ORDER)
    assert status == 201, order
    status, answer = call(f"{stack.keys_api_url}/orders/{order['reference']}/capture", created.key, "POST", {})
    assert status == 403, answer
    assert answer["error"]["message"].startswith("this key's scope is shop;")


def test_the_sigv4_api_still_lets_its_callers_through(stack: LocalStack) -> None:
    status, order = call(f"{stack.base_url}/orders", None, "POST", ORDER)
    assert status == 201, order


# -- python -m orders.keys, as the documentation prints it -------------------------------------------------------


def printed_key_commands() -> dict[str, Command]:
    found = {c.words[3]: c for c in printed_commands() if c.line.startswith(".venv/bin/python -m orders.keys ")}
    assert sorted(found) == ["create", "list", "revoke"]
    return found


def _stack_environment(stack: LocalStack) -> dict[str, str]:
    """What the page says to set (the stack's variables), and what a reader's shell holds besides: credentials
    for the account and its region, here the embedded AWS's."""
    names = ("ORDERS_TABLE", "SHOP_KEYS_PEPPER_ARN", "STACK_ENVIRONMENT")
    return {
        **{name: stack.environment[name] for name in names},
        "AWS_ENDPOINT_URL": stack.aws_endpoint_url,
        "AWS_DEFAULT_REGION": stack.config.region,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
    }


def test_the_key_commands_run_as_printed_against_the_local_stack(stack: LocalStack) -> None:
    commands, environment = printed_key_commands(), _stack_environment(stack)
    created = run_as_printed(commands["create"], environ=environment)
    assert (created.returncode, created.stderr) == (0, ""), created.stderr
    first, second = created.stdout.splitlines()
    key_id, environment_name, scope, label = first.split()[:4]
    assert (environment_name, scope, label) == ("test", "shop", "'web")
    key = second.rsplit(" ", 1)[1]
    match = KEY.fullmatch(key)
    assert match is not None
    assert match.group(2) == key_id
    status, order = call(f"{stack.keys_api_url}/orders", key, "POST", ORDER)  # the stack's pepper, its table
    assert status == 201, order

    listed = run_as_printed(commands["list"], environ=environment)
    assert listed.returncode == 0, listed.stderr
    assert any(
        line.startswith(f"{key_id}  test  shop ") and "last_used_at=" in line for line in listed.stdout.splitlines()
    )

    revoked = run_as_printed(commands["revoke"], {"<id>": key_id}, environment)
    assert (revoked.returncode, revoked.stderr) == (0, ""), revoked.stderr
    assert revoked.stdout.startswith(key_id)
    assert "revoked_at=2026-12-01T00:00:00Z" in revoked.stdout
    (after,) = [k for k in keys(stack).list() if k.key_id == key_id]
    assert after.revoked_at == datetime(2026, 12, 1, tzinfo=UTC)
