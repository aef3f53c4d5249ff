"""Reliability: faults during a confirmation (DynamoDB throttled, unavailable, failing, or timing out AFTER its write
committed; Secrets Manager down; a key rotated with confirmations in flight), many copies at once, and refusals and
acceptances racing. Each time: never ``cdr=0`` unless the confirmation is stored (on its order or on the queue),
the bank's retry or the queue then gets it applied, and nothing is applied twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from orders.model import OrderStatus
from orders.payment import Receipt, receive_confirmation
from sealing import MerchantKey, seal
from tests.support.aws import TEST_KEY, terminals_config
from tests.support.instances import at_once
from tests.support.merchant import (
    ACK_BAD,
    ACK_OK,
    SAMPLE,
    SESSION,
    confirm,
    consume,
    post_confirmation,
    sample_body,
    sqs_event,
    stored_order,
)


def throttled(**_: Any) -> None:
    raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "X")


def internal_error(**_: Any) -> None:
    raise ClientError({"Error": {"Code": "InternalServerError", "Message": "internal"}}, "X")


def unreachable(**_: Any) -> None:
    raise EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-3.amazonaws.com")


def timed_out(**_: Any) -> None:
    raise ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-3.amazonaws.com")


# (hook, fault): "before-call" fails the request before DynamoDB sees it; "after-call" after it committed.
FAULTS: dict[str, tuple[str, Callable[..., None]]] = {
    "throttled": ("before-call", throttled),
    "internal_error": ("before-call", internal_error),
    "unreachable": ("before-call", unreachable),
    "timeout_after_the_write_committed": ("after-call", timed_out),
}


def inject(aws: Any, fault: str, operation: str = "UpdateItem", times: int = 1, skip: int = 0) -> list[int]:
    """Let ``skip`` calls of ``operation`` through, then fail the next ``times`` with ``fault``; the list counts
    the calls seen (1: let through, 0: failed)."""
    hook, raise_fault = FAULTS[fault]
    made: list[int] = []

    def maybe_fail(**kwargs: Any) -> None:
        if len(made) < skip:
            made.append(1)
        elif made.count(0) < times:
            made.append(0)
            raise_fault(**kwargs)

    aws.dynamodb.meta.events.register(f"{hook}.dynamodb.{operation}", maybe_fail)
    return made


def assert_paid_once(aws: Any) -> None:
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert [a.return_code for a in order.attempts] == ["payetest"]
    assert order.version == 1  # one transition, whatever was retried


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_on_the_write_is_queued_then_applied_once(aws: Any, lambda_context: Any, fault: str) -> None:
    stored_order(aws, SAMPLE)
    made = inject(aws, fault)
    response = post_confirmation(aws, lambda_context, sample_body())
    assert made == [0]
    assert (response["statusCode"], response["body"]) == (200, ACK_OK)  # said only once the queue holds it
    assert len(aws.queued()) == 1
    assert consume(aws, lambda_context) == {"batchItemFailures": []}
    assert post_confirmation(aws, lambda_context, sample_body())["body"] == ACK_OK  # the bank's own retry: a replay
    assert_paid_once(aws)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_on_the_write_and_on_the_queue_is_never_cdr_0(aws: Any, lambda_context: Any, fault: str) -> None:
    stored_order(aws, SAMPLE)
    inject(aws, fault)
    queue_down = aws.sqs.meta.events.register("before-call.sqs.SendMessage", unreachable)
    response = post_confirmation(aws, lambda_context, sample_body())
    assert response["statusCode"] == 503
    assert "cdr" not in response["body"]
    aws.sqs.meta.events.unregister("before-call.sqs.SendMessage", queue_down)
    assert post_confirmation(aws, lambda_context, sample_body())["body"] == ACK_OK  # the bank retries: now it is stored
    assert_paid_once(aws)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_on_the_fallback_write_is_queued_then_applied_once(aws: Any, lambda_context: Any, fault: str) -> None:
    stored_order(aws, SAMPLE)
    assert confirm(aws, lambda_context)["body"] == ACK_OK
    # Another acceptance for a paid order: the presumed write fails its condition, the decision (flag it) is made
    # from the returned item, and that second write is the one that fails.
    made = inject(aws, fault, skip=1)
    assert confirm(aws, lambda_context, numauto="999999")["body"] == ACK_OK
    assert made == [1, 0]
    assert consume(aws, lambda_context) == {"batchItemFailures": []}
    assert confirm(aws, lambda_context, numauto="999999")["body"] == ACK_OK  # the bank's retry: a replay
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert [a.authorisation_number for a in order.attempts] == ["123456", "999999"]
    assert [r.reason.value for r in order.reviews] == ["second_acceptance"]
    assert order.version == 2


def secrets_manager(aws: Any, down: bool) -> None:
    """Secrets Manager out of reach (``down``) or back, for the client the functions read the secret with (their
    cache kept: a warm function has the terminals already)."""
    events = aws.secrets.meta.events
    events.unregister("before-call.secrets-manager.GetSecretValue", unreachable)
    if down:
        events.register("before-call.secrets-manager.GetSecretValue", unreachable)


def test_secrets_manager_down_at_cold_start_is_never_cdr_0(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    aws.terminals.clear_cache()  # a cold start: nothing cached
    secrets_manager(aws, down=True)
    response = post_confirmation(aws, lambda_context, sample_body())
    assert response["statusCode"] == 503  # the seal cannot be checked: no cdr at all
    assert "cdr" not in response["body"]
    assert len(aws.queued()) == 1  # the bytes are kept all the same
    assert aws.store.get(SAMPLE).status is OrderStatus.AWAITING_PAYMENT
    secrets_manager(aws, down=False)
    assert consume(aws, lambda_context) == {"batchItemFailures": []}  # the queued bytes, sealed, applied
    assert post_confirmation(aws, lambda_context, sample_body())["body"] == ACK_OK
    assert_paid_once(aws)


def test_secrets_manager_down_when_warm_uses_the_cached_terminals(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    stored_order(aws, "EVTSAMPLE1")
    confirm(aws, lambda_context, reference="EVTSAMPLE100")  # warm: the terminals are cached
    secrets_manager(aws, down=True)
    assert post_confirmation(aws, lambda_context, sample_body())["body"] == ACK_OK
    assert aws.queued() == []
    assert_paid_once(aws)


def test_a_key_rotated_with_a_confirmation_in_flight(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    inject(aws, "throttled")
    assert (
        post_confirmation(aws, lambda_context, sample_body())["body"] == ACK_OK
    )  # on the queue, sealed with the old key
    new_key = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
    aws.set_terminals(terminals_config(**{"0900157": {"key": new_key}}))
    [message] = aws.queued()
    answer = aws.invoke("confirmation_consumer", sqs_event([message]), lambda_context)
    assert len(answer["batchItemFailures"]) == 1  # kept for later, not applied, not dropped
    aws.sqs.change_message_visibility(
        QueueUrl=aws.queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    assert aws.store.get(SAMPLE).status is OrderStatus.AWAITING_PAYMENT
    assert (
        post_confirmation(aws, lambda_context, sample_body())["body"] == ACK_BAD
    )  # the old seal does not hold with the new key
    aws.set_terminals(terminals_config())  # the operator puts back the key the bank still uses
    assert consume(aws, lambda_context) == {"batchItemFailures": []}
    assert_paid_once(aws)


def receive(aws: Any, body: bytes) -> Receipt:
    """CGI2's service, as each Lambda execution environment runs it. (The handler's Powertools metrics are one
    object per process, flushed per invocation: Lambda never runs two invocations at once in one process, but the
    instances of a test share one, so hundreds of handlers at once would race on that object, not on the order.)"""
    return receive_confirmation(body, aws.deps.terminals, aws.deps.store, datetime.now(UTC))


def test_200_copies_of_one_confirmation_make_exactly_one_transition(aws: Any) -> None:
    stored_order(aws, SAMPLE)
    receipts = at_once([lambda: receive(aws, sample_body())] * 200)
    kinds = sorted(receipt.kind.value for receipt in receipts)
    assert kinds == ["applied"] + ["replay"] * 199  # every copy answered, one transition
    assert {receipt.acknowledgement.body for receipt in receipts} == {ACK_OK}
    assert aws.queued() == []
    assert_paid_once(aws)


def refusal_body() -> bytes:
    fields = [
        ("TPE", "0900157"), ("date", "27/11/2026_a_10:00:00"), ("montant", "62.73EUR"), ("reference", SESSION),
        ("texte-libre", ""), ("code-retour", "Annulation"), ("cvx", "oui"), ("vld", "1228"), ("brand", "VI"),
        ("status3ds", "1"), ("numauto", ""), ("motifrefus", "Refus"), ("originecb", "FRA"), ("bincb", "411111"),
        ("hpancb", "74E94B03C22D786E0F2C2CADBFC1C00B004B7C45"), ("ipclient", "203.0.113.9"),
    ]  # fmt: skip
    return urlencode([*fields, ("MAC", seal(MerchantKey(TEST_KEY), fields))]).encode()


@pytest.mark.parametrize("first", ["refused", "accepted", "together"])
def test_a_refusal_and_an_acceptance_in_any_order(aws: Any, first: str) -> None:
    stored_order(aws, SAMPLE)
    refusal, acceptance = (lambda: receive(aws, refusal_body())), (lambda: receive(aws, sample_body()))
    if first == "together":
        receipts = at_once([refusal, acceptance] * 4)
    else:
        pair = [refusal, acceptance] if first == "refused" else [acceptance, refusal]
        receipts = [call() for call in pair * 2]
    assert sorted(receipt.kind.value for receipt in receipts) == ["applied"] * 2 + ["replay"] * (len(receipts) - 2)
    assert {receipt.acknowledgement.body for receipt in receipts} == {ACK_OK}
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert sorted(a.return_code for a in order.attempts) == ["Annulation", "payetest"]  # each once
    assert order.version == 2
    assert order.bank_reference == SESSION
