"""The back-office operations' one use case (``orders.web.operations``): the API's routes and the console call it,
so a request is one request whichever of them sends it, and its answer says how it ended."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics

from orders.actors import Actor, ActorKind
from orders.web.operations import OperationRequest, Outcome, operate
from tests.support.fakebank import FakeBank
from tests.support.merchant import CONSOLE, call, registered

logger, metrics = Logger(), Metrics()


def test_a_key_sent_by_the_api_then_by_another_caller_is_one_request(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    registered(aws, lambda_context, "UC1")
    headers = {"Idempotency-Key": "uc1-capture-0001"}
    status, order = call(
        aws, lambda_context, "POST", "/orders/{reference}/capture", "UC1", {"amount": "10.00"}, headers=headers
    )
    assert (status, order["captured"]) == (200, "10.00")
    request = OperationRequest("capture", "UC1", "10.00", CONSOLE, "uc1-capture-0001")
    answer = operate(aws.deps, request, logger, metrics)
    assert (answer.status, answer.replayed, answer.outcome) == (200, True, Outcome.ANSWERED_BEFORE)
    assert bank.captures() == 1
    other = operate(aws.deps, OperationRequest("capture", "UC1", "1.00", CONSOLE, "uc1-capture-0001"), logger, metrics)
    assert (other.status, other.outcome) == (422, Outcome.INVALID)


def test_each_answer_says_how_it_ended(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "UC2")
    user = Actor(ActorKind.IAM, "someone")
    done = operate(aws.deps, OperationRequest("capture", "UC2", "5.00", user), logger, metrics)
    assert (done.status, done.outcome, done.error, done.message) == (200, Outcome.DONE, None, "")
    bank.refuse_next = 1
    refused = operate(aws.deps, OperationRequest("capture", "UC2", "5.00", user), logger, metrics)
    assert (refused.status, refused.outcome) == (502, Outcome.REFUSED)
    assert refused.message.startswith("the bank refused")
    too_much = operate(aws.deps, OperationRequest("refund", "UC2", "500.00", user), logger, metrics)
    assert too_much.outcome is Outcome.REFUSED
    bank.lose_answer_next = 1
    lost = operate(aws.deps, OperationRequest("capture", "UC2", "5.00", user), logger, metrics)
    assert (lost.status, lost.outcome) == (502, Outcome.UNKNOWN)
    bad = operate(aws.deps, OperationRequest("cancel", "UC2", "1.00", user), logger, metrics)
    assert (bad.status, bad.outcome, bad.error and bad.error.field) == (400, Outcome.INVALID, "amount")
    missing = operate(aws.deps, OperationRequest("refund", "NOSUCH1", None, user), logger, metrics)
    assert (missing.status, missing.outcome) == (404, Outcome.INVALID)
    assert bank.captures() == 3  # done, refused, lost: the invalid and the missing ones never reached the bank
