"""One correlation id from the API's access log to every function log line of that request.

API Gateway's access log (template.yaml, AccessLogSetting) writes ``$context.requestId``; the event a function
gets carries the same id as ``requestContext.requestId``. Every log line a function writes for that request carries
it as ``correlation_id``, and the order's ``reference`` beside it once the order is known.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from orders.exceptions import ConfigurationError
from orders.store import OrderStore
from stacktools.template import TEMPLATE_PATH, Template
from tests.support.aws import event
from tests.support.merchant import (
    SESSION,
    create,
    create_request,
    registered,
    sealed_confirmation,
    stored_order,
)
from tests.support.reconciliation import reconciliation_resources

REFERENCE = SESSION[:-2]


def test_the_access_log_names_each_request_by_the_id_the_functions_get() -> None:
    """API Gateway developer guide, "$context variables for data models, authorizers, mapping templates, and access
    logging": $context.requestId is the requestContext.requestId a proxy integration hands the function."""
    stage = Template.load(TEMPLATE_PATH).properties_of("Api")["AccessLogSetting"]["Fn::If"][1]
    record = json.loads(stage["Format"])
    assert record["requestId"] == "$context.requestId"
    assert record["xrayTraceId"] == "$context.xrayTraceId"  # the order the sample confirmation's session belongs to


def _request(base: dict[str, Any]) -> tuple[dict[str, Any], str]:
    request_id = str(uuid.uuid4())
    context = {**(base.get("requestContext") or {}), "requestId": request_id}
    return {**base, "requestContext": context}, request_id


Logged = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def logged() -> Iterator[Logged]:
    """What the functions' Powertools logger writes from now on, formatted by its own formatter (with the keys the
    handler appended), as JSON lines: a stream of this test's beside the logger's own."""
    powertools = Logger(service="merchant-kit")  # the functions' logger (one per service name)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(powertools.registered_formatter)
    underlying = logging.getLogger(powertools.name)
    underlying.addHandler(handler)

    def lines() -> list[dict[str, Any]]:
        text, _ = stream.getvalue(), stream.truncate(0)
        stream.seek(0)
        return [json.loads(line) for line in text.splitlines()]

    try:
        yield lines
    finally:
        underlying.removeHandler(handler)


def _correlated(logged: Logged, request_id: str) -> list[dict[str, Any]]:
    lines = logged()
    assert lines, "the request logged nothing"
    assert {line.get("correlation_id") for line in lines} == {request_id}, lines
    return lines


def test_cgi2_logs_the_api_request_id_and_the_order(aws: Any, lambda_context: Any, logged: Logged) -> None:
    stored_order(aws, REFERENCE)
    request, request_id = _request(event("confirmation_accepted.json"))
    request["body"] = base64.b64encode(sealed_confirmation()).decode()
    logged()
    answer = aws.invoke("cgi2", request, lambda_context)
    assert answer["body"] == "version=2\ncdr=0\n"
    lines = _correlated(logged, request_id)
    assert (lines[-1]["reference"], lines[-1]["bank_reference"]) == (REFERENCE, SESSION)


def test_a_rejected_confirmation_is_logged_under_the_request_id_too(
    aws: Any, lambda_context: Any, logged: Logged
) -> None:
    request, request_id = _request(event("confirmation_tampered.json"))
    logged()
    assert aws.invoke("cgi2", request, lambda_context)["body"] == "version=2\ncdr=1\n"
    _correlated(logged, request_id)


def test_cgi1_logs_the_api_request_id_and_the_new_order(aws: Any, lambda_context: Any, logged: Logged) -> None:
    body = {"amount": "62.73", "email": "buyer@example.com", "billing": {"addressLine1": "1 rue de la Paix",
            "city": "Paris", "postalCode": "75002", "country": "FR"}}  # fmt: skip
    request, request_id = _request(create_request(body))
    logged()
    answer = aws.invoke("cgi1", request, lambda_context)
    assert answer["statusCode"] == 201
    lines = _correlated(logged, request_id)
    assert {line.get("reference") for line in lines} == {json.loads(answer["body"])["reference"]}


def test_a_read_the_table_fails_is_logged_under_the_request_id_and_the_order_asked_for(
    aws: Any, lambda_context: Any, logged: Logged
) -> None:
    request, request_id = _request(event("get_order.json"))
    request["pathParameters"] = {"reference": "CORR2"}
    aws.use(store=OrderStore("no-such-table", client=aws.dynamodb))
    logged()
    assert aws.invoke("cgi1", request, lambda_context)["statusCode"] == 503
    lines = _correlated(logged, request_id)
    assert {line.get("reference") for line in lines} == {"CORR2"}


def _unreadable() -> Any:
    raise ConfigurationError("the terminal secret cannot be read: AccessDeniedException")


def test_the_console_logs_the_api_request_id_and_the_order_it_acts_on(
    aws: Any, lambda_context: Any, logged: Logged, bank: Any
) -> None:
    registered(aws, lambda_context, "CORR1")
    request, request_id = _request(event("get_order.json"))
    request.update(
        httpMethod="POST",
        resource="/orders/{reference}/cancel",
        path="/orders/CORR1/cancel",
        pathParameters={"reference": "CORR1"},
        body=None,
    )
    logged()
    answer = aws.invoke("backoffice", request, lambda_context)
    assert answer["statusCode"] == 200, answer["body"]
    lines = _correlated(logged, request_id)
    assert {line.get("reference") for line in lines} == {"CORR1"}


@pytest.mark.parametrize(("function", "sample"), [("cgi1", "create_order.json"), ("checkout", "checkout.json")])
def test_an_error_answer_is_logged_under_the_request_id(
    aws: Any, lambda_context: Any, logged: Logged, function: str, sample: str
) -> None:
    request, request_id = _request(event(sample))
    if function == "checkout":  # the page reads the order, then its terminal
        token = create(aws, lambda_context)["json"]["checkout_url"].rsplit("/", 1)[-1]
        request["pathParameters"] = {"token": token}
    aws.use(terminals=_unreadable)
    logged()
    assert aws.invoke(function, request, lambda_context)["statusCode"] == 500
    _correlated(logged, request_id)


def test_the_golive_route_and_the_reconciliation_console_log_the_api_request_id(
    aws: Any, lambda_context: Any, logged: Logged
) -> None:
    golive, request_id = _request(
        {
            "httpMethod": "GET",
            "resource": "/terminals/{tpe}/golive",
            "pathParameters": {"tpe": "0900157"},
            "headers": {"Host": "127.0.0.1:9", "X-Forwarded-Proto": "http"},
            "requestContext": {"stage": "v1"},
        }
    )
    aws.use(terminals=_unreadable)
    logged()
    assert aws.invoke("golive", golive, lambda_context)["statusCode"] == 500
    _correlated(logged, request_id)
    aws.use(terminals=aws.terminals)
    reconciliation_resources(aws)
    console, request_id = _request(
        {"httpMethod": "POST", "resource": "/reconciliation", "headers": {}, "body": "", "isBase64Encoded": False}
    )
    logged()
    assert aws.invoke("reconciliation", console, lambda_context)["statusCode"] == 200
    _correlated(logged, request_id)
    scheduled = {"id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                 "time": "2026-11-27T05:30:00Z", "detail": {}}  # fmt: skip
    aws.invoke("reconciliation", scheduled, lambda_context)
    _correlated(logged, scheduled["id"])  # a run with no API request: its event's id


def test_a_confirmation_cgi2_queued_is_applied_under_the_request_id_the_bank_was_answered_under(
    aws: Any, lambda_context: Any, logged: Logged
) -> None:
    """The table fails: CGI2 queues the bytes and acknowledges; the consumer's log lines when it applies them later
    carry that request's id (an SQS message attribute: the message body stays the bank's bytes and their time)."""
    stored_order(aws, REFERENCE)
    request, request_id = _request(event("confirmation_accepted.json"))
    request["body"] = base64.b64encode(sealed_confirmation()).decode()

    def fail(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "UpdateItem"
        )

    aws.dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", fail)
    logged()
    assert aws.invoke("cgi2", request, lambda_context)["body"] == "version=2\ncdr=0\n"
    _correlated(logged, request_id)
    aws.dynamodb.meta.events.unregister("before-call.dynamodb.UpdateItem", fail)
    answer = aws.sqs.receive_message(QueueUrl=aws.queue.url, MessageAttributeNames=["All"], VisibilityTimeout=0)
    (message,) = answer["Messages"]
    record = {  # as Lambda's SQS event source hands it over (AWS Lambda developer guide, "Using Lambda with SQS")
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {
            name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
    }
    assert aws.invoke("confirmation_consumer", {"Records": [record]}, lambda_context) == {"batchItemFailures": []}
    lines = _correlated(logged, request_id)
    assert lines[-1]["message"] == "queued confirmation applied"
    assert lines[-1]["reference"] == REFERENCE
