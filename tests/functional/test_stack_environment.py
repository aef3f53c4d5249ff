"""A production stack (StackEnvironment=production) with a test terminal in its secret: nothing is taken for money.

The whole configuration is refused, as any unusable one: the merchant API answers 500 naming the terminal, CGI2
queues the confirmation's bytes and answers 503 (no cdr), and the queue's consumer applies it once the secret
holds production terminals only (tests/unit/test_environments.py pins the rule itself).
"""

from __future__ import annotations

from typing import Any

import pytest

from orders.dependencies import SecretTerminals
from orders.model import OrderStatus
from tests.support.aws import terminals_config
from tests.support.merchant import SAMPLE, consume, create, post_confirmation, sample_body, stored_order


def production_stack(aws: Any) -> None:
    aws.terminals = SecretTerminals(aws.secret_arn, client=aws.secrets, stack_environment="production")
    aws.use(terminals=aws.terminals)


def test_a_production_stack_creates_no_order_on_a_test_terminal(
    aws: Any, lambda_context: Any, caplog: pytest.LogCaptureFixture
) -> None:
    production_stack(aws)
    answer = create(aws, lambda_context)
    assert answer["status"] == 500
    assert answer["json"]["error"]["message"] == "the terminal configuration is unusable; see the function's log"
    (record,) = [r for r in caplog.records if r.getMessage() == "the terminal configuration is unusable"]
    assert "terminals.0900157.environment: 'test' in a production stack" in record.__dict__["detail"]
    assert aws.writes == [], "no order written"


def test_a_production_stack_queues_a_confirmation_until_its_terminals_are_production_ones(
    aws: Any, lambda_context: Any
) -> None:
    stored_order(aws, SAMPLE)
    production_stack(aws)
    response = post_confirmation(aws, lambda_context, sample_body())
    assert response["statusCode"] == 503
    assert "cdr" not in response["body"]
    assert len(aws.queued()) == 1
    assert aws.store.get(SAMPLE).status is OrderStatus.AWAITING_PAYMENT
    # The merchant moves the terminal to production in the secret: the queued confirmation is applied, and its
    # "payetest" (the bank's test server's word) is never taken for money on a production terminal.
    production = terminals_config(**{"0900157": {"environment": "production"}})["terminals"]["0900157"]
    aws.set_terminals({"default_tpe": "0900157", "terminals": {"0900157": production}})
    assert consume(aws, lambda_context) == {"batchItemFailures": []}
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert [review.reason.value for review in order.reviews] == ["test_payment_on_production"]
