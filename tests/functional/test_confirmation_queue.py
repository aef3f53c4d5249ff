"""CGI2 when the orders table fails: the exact bytes on the queue, the consumer that checks the seal again.

Also the holes a hostile sender tried: no MAC, a padded MAC, flooding one order with confirmations, and fields a
legacy seal does not cover. Nothing unsealed is applied by any path.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from botocore.exceptions import ClientError

from orders.confirmation_queue import RETRY_MAX_SECONDS, QueuedConfirmation, retry_delay
from orders.lifecycle import MAX_ATTEMPTS_KEPT
from orders.model import Attempt, OrderStatus
from sealing import MerchantKey, Variant, seal
from tests.support.aws import TEST_KEY
from tests.support.merchant import (
    ACK_BAD,
    ACK_OK,
    SAMPLE,
    SESSION,
    confirm,
    consume,
    post_confirmation,
    sample_body,
    sealed_confirmation,
    sqs_event,
    stored_order,
)


def failing(aws: Any, operation: str = "UpdateItem") -> Any:
    def fail(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, operation)

    aws.dynamodb.meta.events.register(f"before-call.dynamodb.{operation}", fail)
    return lambda: aws.dynamodb.meta.events.unregister(f"before-call.dynamodb.{operation}", fail)


def metrics(capsys: pytest.CaptureFixture[str]) -> list[str]:
    names = []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith('{"_aws"'):
            names += [m["Name"] for m in json.loads(line)["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    return names


# --- the store fails: queue the exact bytes, acknowledge only then ----------------------------------------------


def test_a_store_failure_queues_the_exact_bytes_then_acknowledges(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    restore = failing(aws)
    response = post_confirmation(aws, lambda_context, sample_body())
    assert (response["statusCode"], response["body"]) == (200, ACK_OK)  # durable: SQS holds it
    [message] = aws.queued()
    queued = QueuedConfirmation.from_message(message["Body"])
    assert queued.body == sample_body()  # the exact bytes, not a re-encoding
    restore()
    assert aws.store.get(SAMPLE).status is OrderStatus.AWAITING_PAYMENT
    assert consume(aws, lambda_context) == {"batchItemFailures": []}
    assert aws.store.get(SAMPLE).status is OrderStatus.PAID


def test_no_cdr_0_when_neither_the_table_nor_the_queue_takes_it(
    aws: Any, lambda_context: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    stored_order(aws, SAMPLE)
    failing(aws)
    aws.sqs.delete_queue(QueueUrl=aws.queue.url)
    response = post_confirmation(aws, lambda_context, sample_body())
    assert response["statusCode"] == 503
    assert "cdr" not in response["body"]
    records = [r for r in caplog.records if r.getMessage() == "confirmation NOT stored"]
    assert len(records) == 1
    logged = json.dumps(records[0].__dict__, default=str)
    for card_data in ("1228", "411111", "74E94B03C22D786E0F2C2CADBFC1C00B004B7C45", TEST_KEY):
        assert card_data not in logged
    assert "ConfirmationsNotStored" in metrics(capsys)


def test_an_unusable_configuration_queues_but_never_says_intact(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    aws.set_terminals({"terminals": {}})
    response = post_confirmation(aws, lambda_context, sample_body())
    assert response["statusCode"] == 503  # the seal could not be checked: no cdr at all
    assert "cdr" not in response["body"]
    assert len(aws.queued()) == 1
    assert aws.store.get(SAMPLE).status is OrderStatus.AWAITING_PAYMENT
    from tests.support.aws import terminals_config

    aws.set_terminals(terminals_config())
    assert consume(aws, lambda_context) == {"batchItemFailures": []}
    assert aws.store.get(SAMPLE).status is OrderStatus.PAID


def test_an_unexpected_failure_queues_and_is_never_cdr_0(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored_order(aws, SAMPLE)

    def broken(*_: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(aws.store, "apply", broken)
    response = post_confirmation(aws, lambda_context, sample_body())
    assert response["statusCode"] == 503
    assert "cdr" not in response["body"]
    assert len(aws.queued()) == 1


# --- the consumer checks the seal again: nothing unsealed is ever applied ---------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        sample_body().replace(b"MAC=", b"XMAC="),  # no seal at all
        sample_body().replace(b"montant=62.73EUR", b"montant=6.73EUR"),  # tampered
    ],
)
def test_the_consumer_never_applies_what_the_seal_does_not_cover(aws: Any, lambda_context: Any, body: bytes) -> None:
    stored_order(aws, SAMPLE)
    aws.queue.put(QueuedConfirmation(body, datetime.now(UTC)))
    answer = consume(aws, lambda_context)
    assert (
        len(answer["batchItemFailures"]) == 1
    )  # kept for retries, then the dead letters: never dropped, never applied
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert order.attempts == ()


def test_the_consumer_backs_off_and_leaves_other_messages_alone(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    aws.queue.put(QueuedConfirmation(b"not a confirmation", datetime.now(UTC)))
    aws.queue.put(QueuedConfirmation(sample_body(), datetime.now(UTC)))
    messages = aws.queued()
    answer = aws.invoke("confirmation_consumer", sqs_event(messages), lambda_context)
    bad = next(m for m in messages if QueuedConfirmation.from_message(m["Body"]).body == b"not a confirmation")
    assert answer == {"batchItemFailures": [{"itemIdentifier": bad["MessageId"]}]}
    assert aws.store.get(SAMPLE).status is OrderStatus.PAID
    # The failed one is delayed (retry_later), not visible again at once; the applied one is still there only
    # because Lambda, not the function, deletes what a batch did not report failed.
    assert [m["MessageId"] for m in aws.queued()] == [m["MessageId"] for m in messages if m is not bad]


def test_a_message_raising_a_surprise_is_retried_later_and_the_others_are_applied_once(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored_order(aws, SAMPLE)
    stored_order(aws, "ORDER2")
    aws.queue.put(QueuedConfirmation(sealed_confirmation(reference="ORDER200"), datetime.now(UTC)))
    aws.queue.put(QueuedConfirmation(sample_body(), datetime.now(UTC)))
    real_apply = type(aws.store).apply

    def surprise_for_order2(store: Any, order: Any, *args: Any, **kwargs: Any) -> Any:
        if order.reference == "ORDER2":
            raise KeyError("a bug, not an error of the orders layer")
        return real_apply(store, order, *args, **kwargs)

    monkeypatch.setattr(type(aws.store), "apply", surprise_for_order2)
    messages = aws.queued()
    answer = aws.invoke("confirmation_consumer", sqs_event(messages), lambda_context)
    failed = next(m for m in messages if b"ORDER200" in QueuedConfirmation.from_message(m["Body"]).body)
    assert answer == {"batchItemFailures": [{"itemIdentifier": failed["MessageId"]}]}  # reported, not swallowed
    assert aws.store.get(SAMPLE).status is OrderStatus.PAID
    assert aws.store.get("ORDER2").status is OrderStatus.AWAITING_PAYMENT
    # The failed one is delayed (its backoff), the applied one left for Lambda to delete.
    assert [m["MessageId"] for m in aws.queued()] == [m["MessageId"] for m in messages if m is not failed]


def test_retry_delays_grow_and_are_capped() -> None:
    delays = [retry_delay(n) for n in range(1, 12)]
    assert delays[:4] == [30, 60, 120, 240]
    assert delays == sorted(delays)
    assert max(delays) == RETRY_MAX_SECONDS


def test_a_queue_message_that_is_not_ours_is_refused() -> None:
    for text in (
        "",
        "{}",
        '{"body": "!!", "received_at": "2026-01-01T00:00:00+00:00"}',
        '{"body": "", "received_at": "x"}',
    ):
        with pytest.raises(ValueError, match="not a queued confirmation"):
            QueuedConfirmation.from_message(text)


# --- no seal, or a padded one ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rename", [b"MAC=", b"mac="])
def test_a_body_without_a_mac_is_refused_cdr_1_with_one_warning(
    aws: Any, lambda_context: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], rename: bytes
) -> None:
    stored_order(aws, SAMPLE)
    body = sample_body().replace(b"MAC=", b"mac=") if rename == b"mac=" else sample_body().split(b"&MAC=")[0]
    response = post_confirmation(aws, lambda_context, body)
    assert (response["statusCode"], response["body"]) == (200, ACK_BAD)
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "ConfirmationsRejected" in metrics(capsys)
    assert aws.queued() == []
    assert aws.store.get(SAMPLE).attempts == ()


@pytest.mark.parametrize("padding", ["%20", "%09", "%0A", "%0D%0A", "%A0", "%C2%A0", "+", "0"])
def test_a_padded_mac_is_no_new_confirmation(aws: Any, lambda_context: Any, padding: str) -> None:
    stored_order(aws, SAMPLE)
    assert post_confirmation(aws, lambda_context, sample_body())["body"] == ACK_OK
    before = aws.store.get(SAMPLE)
    aws.writes.clear()
    for copy in range(3):
        padded = sample_body() + padding.encode() * (copy + 1)  # MAC is the last field of the sample
        assert post_confirmation(aws, lambda_context, padded)["body"] == ACK_BAD
    mac = sample_body().split(b"&MAC=")[1]
    assert (
        post_confirmation(aws, lambda_context, sample_body().replace(mac, mac.upper()))["body"] == ACK_OK
    )  # the same seal
    assert aws.store.get(SAMPLE) == before
    assert aws.writes == []


def refusal(aws: Any, lambda_context: Any, number: int, reason: str = "Refus") -> dict[str, Any]:
    return confirm(
        aws,
        lambda_context,
        "Annulation",
        numauto="",
        reason=reason,
        date=f"27/11/2026_a_10:{number // 60:02}:{number % 60:02}",
    )


def test_long_sealed_values_cannot_fill_an_order(aws: Any, lambda_context: Any) -> None:
    # Unbounded, seven of these refusals (each near the 64 KB body limit) pass DynamoDB's 400 KB item limit, and
    # the genuine payment after them could never be recorded.
    stored_order(aws, SAMPLE)
    for number in range(8):
        assert refusal(aws, lambda_context, number, reason="R" * 60_000)["body"] == ACK_OK
    assert confirm(aws, lambda_context)["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert max(len(a.reason) for a in order.attempts) <= 200
    raw = aws.dynamodb.get_item(TableName="orders-test", Key={"pk": {"S": f"ORDER#{SAMPLE}"}, "sk": {"S": "ORDER"}})
    assert len(json.dumps(raw["Item"])) < 20_000


def test_an_order_keeps_a_bounded_number_of_attempts_and_still_gets_paid(aws: Any, lambda_context: Any) -> None:
    kept = tuple(
        Attempt("Annulation", datetime(2026, 11, 27, 9, 1, tzinfo=UTC), "Refus", confirmation_id=f"{n:040x}")
        for n in range(MAX_ATTEMPTS_KEPT)
    )
    stored_order(aws, SAMPLE, attempts=kept)
    for number in range(3):
        assert refusal(aws, lambda_context, number)["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert (len(order.attempts), order.attempts_not_kept, order.status) == (100, 3, OrderStatus.AWAITING_PAYMENT)
    assert confirm(aws, lambda_context)["body"] == ACK_OK  # an acceptance is always recorded
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert len(order.attempts) == MAX_ATTEMPTS_KEPT + 1
    assert order.attempts[-1].return_code == "payetest"


def test_an_unmatched_confirmation_is_kept_once_whatever_its_spelling(aws: Any, lambda_context: Any) -> None:
    body = sample_body().replace(SAMPLE.encode(), b"NOSUCHORDER1")
    fields = [tuple(part.split("=", 1)) for part in body.decode().split("&") if not part.startswith("MAC=")]
    from urllib.parse import unquote_plus

    decoded = [(name, unquote_plus(value)) for name, value in fields]
    mac = seal(MerchantKey(TEST_KEY), decoded)
    for spelt in (mac, mac.upper()):
        assert post_confirmation(aws, lambda_context, urlencode([*decoded, ("MAC", spelt)]).encode())["body"] == ACK_OK
    items = aws.dynamodb.scan(TableName="orders-test")["Items"]
    assert [item["pk"]["S"] for item in items] == ["UNMATCHED#0900157#NOSUCHORDER100"]


# --- legacy seals cover a fixed list of fields --------------------------------------------------------------------


def test_a_legacy_confirmation_stores_only_what_its_seal_covers(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE, tpe="0900161")
    fields = [
        ("TPE", "0900161"), ("date", "27/11/2026_a_10:15:00"), ("montant", "62.73EUR"), ("reference", SESSION),
        ("texte-libre", ""), ("code-retour", "Annulation"), ("cvx", "oui"), ("vld", "1228"), ("brand", "VI"),
        ("status3ds", "1"), ("numauto", ""), ("motifrefus", ""),
    ]  # fmt: skip
    mac = seal(MerchantKey(TEST_KEY), fields, Variant.LEGACY_CONFIRMATION, tpe="0900161")
    unsealed = [("motifrefusautorisation", "forged by a proxy"), ("montantech", "1.00EUR")]
    body = urlencode([*fields, *unsealed, ("MAC", mac)], quote_via=quote).encode()
    assert post_confirmation(aws, lambda_context, body)["body"] == ACK_OK
    [attempt] = aws.store.get(SAMPLE).attempts
    assert attempt.return_code == "Annulation"
    assert attempt.reason == ""  # not "forged by a proxy": that field is outside the legacy seal
