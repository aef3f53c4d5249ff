"""A flood of forged confirmations reads the terminal secret at most once per ``READ_AGAIN_SECONDS`` per instance:
a bad seal makes CGI2 read the secret again past its cache, and without a bound every forged post would be a
Secrets Manager call (billed, and counted against the account's GetSecretValue quota the bank's confirmations
need). A key put in the secret is still taken once that interval has passed."""

from __future__ import annotations

import json
from typing import Any

from orders.dependencies import READ_AGAIN_SECONDS, SecretTerminals
from orders.model import OrderStatus
from tests.support.aws import terminals_config
from tests.support.merchant import ACK_BAD, ACK_OK, SAMPLE, post_confirmation, sealed_confirmation, stored_order

NEW_KEY = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
FORGED_KEY = "0" * 40


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def warm_terminals(aws: Any, ticks: Ticks) -> list[str]:
    terminals = SecretTerminals(aws.secret_arn, client=aws.secrets, monotonic=ticks)
    aws.use(terminals=terminals)
    terminals()  # a warm instance: the secret read and cached
    reads: list[str] = []
    aws.secrets.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **_: reads.append("read"))
    return reads


def test_a_flood_of_forged_seals_reads_the_secret_once_per_interval(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    ticks = Ticks()
    reads = warm_terminals(aws, ticks)
    for _ in range(50):
        answer = post_confirmation(aws, lambda_context, sealed_confirmation(key=FORGED_KEY))
        assert answer["body"] == ACK_BAD
        ticks.now += 0.1
    assert len(reads) == 1 + int(50 * 0.1 // READ_AGAIN_SECONDS)  # not fifty
    assert aws.store.get(SAMPLE).status is OrderStatus.AWAITING_PAYMENT
    assert aws.queued() == []


def test_a_key_put_in_the_secret_after_a_forged_post_is_taken_once_the_interval_passed(
    aws: Any, lambda_context: Any
) -> None:
    stored_order(aws, SAMPLE)
    ticks = Ticks()
    reads = warm_terminals(aws, ticks)
    assert post_confirmation(aws, lambda_context, sealed_confirmation(key=FORGED_KEY))["body"] == ACK_BAD
    aws.secrets.put_secret_value(
        SecretId=aws.secret_arn, SecretString=json.dumps(terminals_config(**{"0900157": {"key": NEW_KEY}}))
    )
    ticks.now += READ_AGAIN_SECONDS
    assert post_confirmation(aws, lambda_context, sealed_confirmation(key=NEW_KEY))["body"] == ACK_OK
    assert aws.store.get(SAMPLE).status is OrderStatus.PAID
    assert len(reads) == 2
