"""A bank key rotation with confirmations in flight on both keys: none is answered ``cdr=1`` while a key the
merchant configured holds its seal (README, "Rotate a terminal's key").

The secret is changed as the merchant changes it (``put_secret_value``, the functions' cache left as it is): a warm
function reads it again at most five minutes later, or at once when a seal holds with no key it has.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest

from orders.confirmation_queue import QueuedConfirmation
from orders.exceptions import BankUnavailableError
from orders.model import OrderStatus
from sealing import MerchantKey, SealMismatchError, verify
from tests.support.aws import TEST_KEY, terminals_config
from tests.support.merchant import (
    ACK_BAD,
    ACK_OK,
    BILLING,
    SAMPLE,
    consume,
    create_request,
    post_confirmation,
    sealed_confirmation,
    sqs_event,
    stored_order,
)

NEW_KEY = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
WRONG_KEY = "0" * 40
RECEIVED = datetime.now(UTC).replace(microsecond=0)
UNTIL = RECEIVED + timedelta(days=7)


def rotated(until: datetime | None = UNTIL, **changes: Any) -> dict[str, Any]:
    """The secret once the merchant put the bank's new key as ``key`` and the one it replaces as ``previous_key``."""
    rotation: dict[str, Any] = {"key": NEW_KEY, "previous_key": TEST_KEY, **changes}
    if until is not None:
        rotation["previous_key_until"] = until.isoformat()
    return terminals_config(**{"0900157": rotation})


def edit_secret(aws: Any, data: dict[str, Any]) -> None:
    """The merchant changes the secret; a warm function still has the configuration it read in its cache."""
    aws.secrets.put_secret_value(SecretId=aws.secret_arn, SecretString=json.dumps(data))


def secret_reads(aws: Any) -> list[str]:
    reads: list[str] = []
    aws.secrets.meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **_: reads.append("GetSecretValue")
    )
    return reads


def refusal(reference: str, key: str, numauto: str = "") -> bytes:
    return sealed_confirmation("Annulation", numauto, reference=reference + "00", reason="Refus", key=key)


@pytest.fixture
def warm(aws: Any) -> Any:
    """A function that read the secret (the kits' key, the one the bank uses before the rotation) and cached it."""
    aws.use(clock=lambda: RECEIVED)
    aws.terminals()
    return aws


def test_a_seal_with_a_key_put_in_the_secret_since_the_last_read_is_read_again_and_applied(
    warm: Any, lambda_context: Any
) -> None:
    stored_order(warm, SAMPLE)
    edit_secret(warm, terminals_config(**{"0900157": {"key": NEW_KEY}}))  # no previous_key: switched at once
    reads = secret_reads(warm)
    assert post_confirmation(warm, lambda_context, sealed_confirmation(key=NEW_KEY))["body"] == ACK_OK
    assert warm.store.get(SAMPLE).status is OrderStatus.PAID
    assert reads == ["GetSecretValue"]  # once, past the five minutes' cache
    assert warm.queued() == []


def test_a_bad_seal_reads_the_secret_once_more_then_is_refused(warm: Any, lambda_context: Any) -> None:
    stored_order(warm, SAMPLE)
    reads = secret_reads(warm)
    assert post_confirmation(warm, lambda_context, sealed_confirmation(key=WRONG_KEY))["body"] == ACK_BAD
    assert reads == ["GetSecretValue"]
    assert warm.queued() == []
    assert warm.store.get(SAMPLE).status is OrderStatus.AWAITING_PAYMENT


def test_while_the_secret_holds_both_keys_confirmations_sealed_with_either_are_applied(
    warm: Any, lambda_context: Any
) -> None:
    """The rotation as the README does it: new key and previous key in the secret, then the bank switches, with
    confirmations sealed with the old key (payments started before) and the new one arriving in any order."""
    for reference in ("EVTSAMPLE0", "EVTSAMPLE1", "EVTSAMPLE2", "EVTSAMPLE3"):
        stored_order(warm, reference)
    edit_secret(warm, rotated())
    # Cached, the old configuration: an old seal holds at once; a new one reads the secret again.
    assert post_confirmation(warm, lambda_context, refusal("EVTSAMPLE0", TEST_KEY))["body"] == ACK_OK
    assert post_confirmation(warm, lambda_context, refusal("EVTSAMPLE1", NEW_KEY))["body"] == ACK_OK
    # Now read: the new key first, and the previous one until its date.
    reads = secret_reads(warm)
    assert post_confirmation(warm, lambda_context, sealed_confirmation(reference="EVTSAMPLE200"))["body"] == ACK_OK
    new_seal = sealed_confirmation(reference="EVTSAMPLE300", key=NEW_KEY)
    assert post_confirmation(warm, lambda_context, new_seal)["body"] == ACK_OK
    assert reads == []  # both held with the configuration cached: no read past the cache
    assert [warm.store.get(r).status for r in ("EVTSAMPLE2", "EVTSAMPLE3")] == [OrderStatus.PAID] * 2
    assert [len(warm.store.get(r).attempts) for r in ("EVTSAMPLE0", "EVTSAMPLE1")] == [1, 1]


def test_past_previous_key_until_the_previous_key_is_refused(warm: Any, lambda_context: Any) -> None:
    stored_order(warm, SAMPLE)
    warm.set_terminals(rotated(until=RECEIVED - timedelta(seconds=1)))
    assert post_confirmation(warm, lambda_context, sealed_confirmation(key=TEST_KEY))["body"] == ACK_BAD
    assert warm.queued() == []
    assert warm.store.get(SAMPLE).status is OrderStatus.AWAITING_PAYMENT
    assert post_confirmation(warm, lambda_context, sealed_confirmation(key=NEW_KEY))["body"] == ACK_OK


def test_previous_key_until_is_the_last_moment_it_is_accepted(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    aws.set_terminals(rotated(until=RECEIVED))
    aws.use(clock=lambda: RECEIVED)
    assert post_confirmation(aws, lambda_context, sealed_confirmation(key=TEST_KEY))["body"] == ACK_OK


def test_queued_confirmations_are_checked_with_the_keys_of_the_time_the_bank_posted_them(
    warm: Any, lambda_context: Any
) -> None:
    """The table fails during the rotation: both confirmations are queued; the consumer applies them after
    ``previous_key_until``, with the keys that held when they were received."""
    stored_order(warm, "EVTSAMPLE0")
    stored_order(warm, "EVTSAMPLE1")
    edit_secret(warm, rotated(until=RECEIVED + timedelta(minutes=1)))
    failing = [0]

    def throttled(**_: Any) -> None:
        from botocore.exceptions import ClientError

        failing.append(1)
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "X")

    warm.dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", throttled)
    assert post_confirmation(warm, lambda_context, sealed_confirmation(reference="EVTSAMPLE000"))["body"] == ACK_OK
    new_seal = sealed_confirmation(reference="EVTSAMPLE100", key=NEW_KEY)
    assert post_confirmation(warm, lambda_context, new_seal)["body"] == ACK_OK
    warm.dynamodb.meta.events.unregister("before-call.dynamodb.UpdateItem", throttled)
    assert len(warm.queued()) == 2
    warm.use(clock=lambda: RECEIVED + timedelta(hours=2))  # the table is back, past previous_key_until
    warm.terminals.clear_cache()  # and a cold start of the consumer: the rotated secret read afresh
    assert consume(warm, lambda_context) == {"batchItemFailures": []}
    assert [warm.store.get(r).status for r in ("EVTSAMPLE0", "EVTSAMPLE1")] == [OrderStatus.PAID] * 2


def test_a_queued_confirmation_received_after_previous_key_until_is_not_applied_with_it(
    aws: Any, lambda_context: Any
) -> None:
    stored_order(aws, SAMPLE)
    aws.set_terminals(rotated(until=RECEIVED))
    late = QueuedConfirmation(sealed_confirmation(key=TEST_KEY), RECEIVED + timedelta(seconds=1))
    aws.queue.put(late)
    [message] = aws.queued()
    answer = aws.invoke("confirmation_consumer", sqs_event([message]), lambda_context)
    assert answer == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}  # retried, never dropped
    assert aws.store.get(SAMPLE).status is OrderStatus.AWAITING_PAYMENT


def test_the_secret_unreadable_when_no_cached_key_holds_is_never_cdr_1(warm: Any, lambda_context: Any) -> None:
    """The bank switched, the function's cache has the old key only, and Secrets Manager does not answer: the seal
    cannot be called bad; the bytes are queued (503, no cdr) and applied once the secret is read."""
    stored_order(warm, SAMPLE)
    edit_secret(warm, rotated())

    def unreachable(**_: Any) -> None:
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="https://secretsmanager.eu-west-3.amazonaws.com")

    warm.secrets.meta.events.register("before-call.secrets-manager.GetSecretValue", unreachable)
    response = post_confirmation(warm, lambda_context, sealed_confirmation(key=NEW_KEY))
    assert response["statusCode"] == 503
    assert "cdr" not in response["body"]
    assert len(warm.queued()) == 1
    warm.secrets.meta.events.unregister("before-call.secrets-manager.GetSecretValue", unreachable)
    assert consume(warm, lambda_context) == {"batchItemFailures": []}
    assert warm.store.get(SAMPLE).status is OrderStatus.PAID


def test_forms_are_sealed_with_the_current_key_only(aws: Any, lambda_context: Any) -> None:
    aws.set_terminals(rotated())
    body = {"amount": "62.73", "email": "buyer@example.com", "billing": BILLING}
    created = json.loads(aws.invoke("cgi1", create_request(body), lambda_context)["body"])
    fields = list(created["form"]["fields"].items())
    verify(MerchantKey(NEW_KEY), fields, created["form"]["fields"]["MAC"])
    with pytest.raises(SealMismatchError):
        verify(MerchantKey(TEST_KEY), fields, created["form"]["fields"]["MAC"])


def test_back_office_calls_are_sealed_with_the_current_key_only(aws: Any) -> None:
    from orders.terminals import Terminals

    terminal = Terminals.from_mapping(rotated()).get("0900157")
    sent: list[bytes] = []

    def transport(url: str, body: bytes, timeout: float) -> bytes:
        sent.append(body)
        return b"version=1.0\nreference=EVTSAMPLE000\ncdr=1\nlib=paiement accepte\n"

    order = stored_order(aws, SAMPLE)
    aws.use(bank_transport=transport)
    client = aws.deps.bank_client(terminal)
    with contextlib.suppress(BankUnavailableError):  # its answer does not matter here: what it sent does
        client.status(reference=order.sessions[0].bank_reference, total=order.amount, at=order.sessions[0].opened_at)
    fields = parse_qsl(sent[0].decode(), keep_blank_values=True)
    mac = dict(fields)["MAC"]
    verify(MerchantKey(NEW_KEY), fields, mac)
    with pytest.raises(SealMismatchError):
        verify(MerchantKey(TEST_KEY), fields, mac)


def test_cgi2_logs_which_key_held_never_the_key(
    warm: Any, lambda_context: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stored_order(warm, SAMPLE)
    warm.set_terminals(rotated())
    caplog.set_level(logging.INFO)
    assert post_confirmation(warm, lambda_context, sealed_confirmation(key=TEST_KEY))["body"] == ACK_OK
    [handled] = [r for r in caplog.records if r.getMessage() == "confirmation handled"]
    assert handled.__dict__["sealed_with"] == "previous_key"
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert not any(key.lower() in logged.lower() for key in (TEST_KEY, NEW_KEY, "1234567890" * 4))


def test_a_previous_key_kept_for_months_is_refused_at_every_read(aws: Any, lambda_context: Any) -> None:
    """Like any unusable configuration: the API answers 500 (the log names the setting), CGI2 queues the bytes and
    answers 503, no cdr."""
    stored_order(aws, SAMPLE)
    aws.set_terminals(rotated(until=datetime.now(UTC) + timedelta(days=31)))
    response = post_confirmation(aws, lambda_context, sealed_confirmation(key=NEW_KEY))
    assert (response["statusCode"], "cdr" in response["body"]) == (503, False)
    assert len(aws.queued()) == 1
    created = aws.invoke("cgi1", create_request({"amount": "62.73", "email": "b@example.com"}), lambda_context)
    assert created["statusCode"] == 500
    assert json.loads(created["body"])["error"]["message"].startswith("the terminal configuration is unusable")
