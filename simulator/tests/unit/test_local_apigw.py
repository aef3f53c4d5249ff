"""HTTP request → API Gateway REST proxy event → handler answer → HTTP response, as API Gateway does it."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from devhttp import HttpRequest, Match, internal_server_error
from local.apigw import (
    ApiContext,
    BadProxyResponse,
    LambdaContext,
    http_response,
    is_binary,
    proxy_event,
)

BINARY = ("application~1x-www-form-urlencoded", "*~1*")
API = ApiContext(stage="v1", binary_media_types=BINARY, domain_name="127.0.0.1:3000")
NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def _event(request: HttpRequest, match: Match[Any] | None = None, api: ApiContext = API) -> dict[str, Any]:
    match = match or Match(target=None, resource=request.path, method=request.method, path_parameters={})
    return proxy_event(request, match, api, request_id="11111111-2222-3333-4444-555555555555", now=NOW)


def test_path_parameters_and_resource() -> None:
    request = HttpRequest("GET", "/checkout/abc%2Edef", headers=[("Host", "127.0.0.1:3000")])
    match = Match(target=None, resource="/checkout/{token}", method="GET", path_parameters={"token": "abc.def"})
    event = _event(request, match)
    assert event["resource"] == "/checkout/{token}"
    assert event["path"] == "/checkout/abc%2Edef", "the path is kept as received"
    assert event["pathParameters"] == {"token": "abc.def"}
    assert event["httpMethod"] == "GET"
    context = event["requestContext"]
    assert context["resourcePath"] == "/checkout/{token}"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/checkout/abc%2Edef"
    assert context["stage"] == "v1"
    assert context["requestId"] == "11111111-2222-3333-4444-555555555555"
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["requestTimeEpoch"] == int(NOW.timestamp() * 1000)
    assert context["requestTime"] == "27/Nov/2026:10:00:00 +0000"


def test_no_path_parameters_query_or_body_are_none() -> None:
    event = _event(HttpRequest("POST", "/orders"))
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_query_strings_single_and_multi_value_decoded() -> None:
    event = _event(HttpRequest("GET", "/orders?day=2026-11-27&tag=a&tag=b%20c&empty=&plus=x+y"))
    assert event["queryStringParameters"] == {"day": "2026-11-27", "tag": "b c", "empty": "", "plus": "x y"}
    assert event["multiValueQueryStringParameters"] == {
        "day": ["2026-11-27"],
        "tag": ["a", "b c"],
        "empty": [""],
        "plus": ["x y"],
    }
    assert event["path"] == "/orders"


def test_headers_single_and_multi_value() -> None:
    request = HttpRequest(
        "GET",
        "/orders/X",
        headers=[("Host", "127.0.0.1:3000"), ("X-Tag", "1"), ("X-Tag", "2"), ("User-Agent", "curl/8")],
        client_ip="127.0.0.9",
    )
    event = _event(request)
    assert event["headers"]["X-Tag"] == "2"
    assert event["multiValueHeaders"]["X-Tag"] == ["1", "2"]
    assert event["headers"]["Host"] == "127.0.0.1:3000"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.9"
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.9"
    assert event["requestContext"]["identity"]["userAgent"] == "curl/8"


def test_form_body_is_delivered_base64_byte_exact() -> None:
    raw = b"TPE=0900157&texte-libre=caf%E9+%C3%A9&MAC=ABC"  # not even valid UTF-8 once decoded: kept as sent
    request = HttpRequest("POST", "/confirmation", [("Content-Type", "application/x-www-form-urlencoded")], raw)
    event = _event(request)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_any_body_is_base64_when_the_api_declares_all_types_binary() -> None:
    request = HttpRequest("POST", "/orders", [("Content-Type", "application/json")], b'{"amount": "62.73"}')
    event = _event(request)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b'{"amount": "62.73"}'


def test_text_body_when_the_type_is_not_binary() -> None:
    api = ApiContext(binary_media_types=("application~1x-www-form-urlencoded",))
    request = HttpRequest(
        "POST", "/orders", [("Content-Type", "application/json; charset=utf-8")], b'{"a": "\xc3\xa9"}'
    )
    event = _event(request, api=api)
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"a": "é"}'


@pytest.mark.parametrize(
    ("content_type", "types", "binary"),
    [
        ("application/x-www-form-urlencoded", ("application~1x-www-form-urlencoded",), True),
        ("application/x-www-form-urlencoded; charset=UTF-8", ("application~1x-www-form-urlencoded",), True),
        ("Application/X-WWW-Form-Urlencoded", ("application~1x-www-form-urlencoded",), True),
        ("application/json", ("application~1x-www-form-urlencoded",), False),
        ("image/png", ("image~1*",), True),
        ("application/json", ("*~1*",), True),
        (None, ("*~1*",), True),
        (None, ("application~1x-www-form-urlencoded",), False),
        ("application/json", (), False),
    ],
)
def test_binary_media_types(content_type: str | None, types: tuple[str, ...], binary: bool) -> None:
    assert is_binary(content_type, types) is binary


def test_response_headers_merge_multi_value_wins() -> None:
    response = http_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "Set-Cookie": "ignored"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": '{"ok": true}',
        }
    )
    assert response.status == 201
    assert response.headers == [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    assert response.body == b'{"ok": true}'


def test_response_body_text_is_utf8_and_base64_is_decoded() -> None:
    assert http_response({"statusCode": 200, "body": "déjà"}).body == "déjà".encode()
    raw = bytes(range(256))
    encoded = base64.b64encode(raw).decode()
    assert http_response({"statusCode": 200, "body": encoded, "isBase64Encoded": True}).body == raw
    assert http_response({"statusCode": 204}).body == b""
    assert http_response({"statusCode": "200", "headers": {"X-N": 1, "X-B": True}}).headers == [
        ("X-N", "1"),
        ("X-B", "true"),
    ]


@pytest.mark.parametrize(
    "result",
    [
        None,
        "text",
        {},
        {"statusCode": "abc"},
        {"statusCode": 1000},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "multiValueHeaders": {"X": "not-a-list"}},
        {"statusCode": 200, "headers": {"X": {"nested": 1}}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_malformed_answers_are_refused(result: Any) -> None:
    with pytest.raises(BadProxyResponse):
        http_response(result)


def test_internal_server_error_is_api_gateways() -> None:
    response = internal_server_error()
    assert response.status == 502
    assert response.body == b'{"message": "Internal server error"}'
    assert response.header("content-type") == "application/json"


def test_lambda_context() -> None:
    context = LambdaContext(function_name="merchant-kit-Cgi1Function", memory_limit_in_mb=256, timeout_seconds=10)
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-3:123456789012:function:merchant-kit-Cgi1Function"
    assert context.log_group_name == "/aws/lambda/merchant-kit-Cgi1Function"
    assert context.function_version == "$LATEST"
    assert len(context.aws_request_id) == 36
    first = context.get_remaining_time_in_millis()
    assert 9_000 < first <= 10_000
    time.sleep(0.01)
    assert context.get_remaining_time_in_millis() < first
    assert LambdaContext("f").aws_request_id != LambdaContext("f").aws_request_id
