"""The local stack on free ports: moto with the template's table and the terminal secret, the HTTP server
turning requests into proxy events for stand-in handlers (and, once they exist, the real ones)."""

from __future__ import annotations

import base64
import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devhttp import HttpRequest, HttpResponse, Match
from local import LocalConfig, LocalStack
from local.__main__ import banner
from orders.terminals import EndPolicy, PaymentMode, Terminals
from stacktools.template import ROOT, Template

Answer = tuple[int, dict[str, str], bytes]


def _call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - 127.0.0.1 only
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class Recorder:
    """A stand-in handler: records the events, answers what the test asks for."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        mode = (event.get("queryStringParameters") or {}).get("mode")
        if mode == "raise":
            raise RuntimeError("boom")
        if mode == "malformed":
            return {"body": "no status"}
        if mode == "binary":
            return {"statusCode": 200, "body": base64.b64encode(b"\x00\xff").decode(), "isBase64Encoded": True}
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": json.dumps({"resource": event["resource"], "env_table": os.environ.get("ORDERS_TABLE")}),
        }


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def stack(recorder: Recorder) -> Iterator[LocalStack]:
    config = LocalConfig(port=0, quiet=True, schedule_interval_seconds=None)
    with LocalStack(
        config, handlers={"Cgi1Function": recorder, "CheckoutFunction": recorder, "Cgi2Function": recorder}
    ) as stack:
        yield stack


# -- routing and translation through real HTTP ----------------------------------------------------------------


def test_binds_to_localhost_on_a_free_port(stack: LocalStack) -> None:
    assert stack.base_url == f"http://127.0.0.1:{stack.port}"
    assert stack.port != 0
    assert stack.aws_endpoint_url.startswith("http://127.0.0.1:")


def test_unknown_route_is_404_json(stack: LocalStack) -> None:
    status, headers, body = _call("GET", f"{stack.base_url}/nope")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"message": "Not Found"}


def test_known_path_wrong_method_is_405(stack: LocalStack) -> None:
    status, headers, body = _call("GET", f"{stack.base_url}/confirmation")
    assert status == 405
    assert headers["Allow"] == "POST"
    assert json.loads(body) == {"message": "Method Not Allowed"}


def test_form_body_reaches_the_handler_byte_exact(stack: LocalStack, recorder: Recorder) -> None:
    raw = b"TPE=0900157&texte-libre=caf%E9&MAC=abc"
    status, headers, body = _call(
        "POST", f"{stack.base_url}/confirmation", raw, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200
    assert json.loads(body) == {"resource": "/confirmation", "env_table": "merchant-kit-orders"}
    event = recorder.events[-1]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw
    assert event["httpMethod"] == "POST"
    assert event["requestContext"]["stage"] == "v1"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["Host"] == f"127.0.0.1:{stack.port}"
    assert headers["x-amzn-RequestId"] == event["requestContext"]["requestId"]


def test_path_and_query_parameters(stack: LocalStack, recorder: Recorder) -> None:
    status, _, _ = _call("GET", f"{stack.base_url}/orders/ABC123?x=1&x=2&y=%C3%A9")
    assert status == 200
    event = recorder.events[-1]
    assert event["resource"] == "/orders/{reference}"
    assert event["pathParameters"] == {"reference": "ABC123"}
    assert event["queryStringParameters"] == {"x": "2", "y": "é"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["é"]}
    assert event["body"] is None


def test_context_comes_from_the_template(stack: LocalStack, recorder: Recorder) -> None:
    _call("GET", f"{stack.base_url}/checkout/tok")
    context = recorder.contexts[-1]
    assert context.function_name == "merchant-kit-CheckoutFunction"
    assert context.memory_limit_in_mb == 256
    assert 0 < context.get_remaining_time_in_millis() <= 10_000
    assert context.invoked_function_arn.endswith(":function:merchant-kit-CheckoutFunction")


def test_multi_value_response_headers(stack: LocalStack) -> None:
    request = urllib.request.Request(f"{stack.base_url}/checkout/tok")  # noqa: S310 - 127.0.0.1 only
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.headers.get_all("Set-Cookie") == ["a=1", "b=2"]


def test_base64_response_is_decoded(stack: LocalStack) -> None:
    status, _, body = _call("GET", f"{stack.base_url}/checkout/tok?mode=binary")
    assert (status, body) == (200, b"\x00\xff")


@pytest.mark.parametrize("mode", ["raise", "malformed"])
def test_handler_failure_is_api_gateways_502(stack: LocalStack, mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, body = _call("GET", f"{stack.base_url}/checkout/tok?mode={mode}")
    assert status == 502
    assert json.loads(body) == {"message": "Internal server error"}
    assert "Traceback" in capsys.readouterr().err


def test_chunked_request_body(stack: LocalStack, recorder: Recorder) -> None:
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as sock:
        sock.sendall(
            b"POST /confirmation HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nTPE=\r\n7\r\n0900157\r\n0\r\n\r\n"
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200")
    assert base64.b64decode(recorder.events[-1]["body"]) == b"TPE=0900157"


def test_local_routes_and_health(stack: LocalStack) -> None:
    status, _, body = _call("GET", f"{stack.base_url}/_local/health")
    assert status == 200
    health = json.loads(body)
    assert health["tables"] == {"OrdersTable": "merchant-kit-orders"}
    assert {"method": "POST", "path": "/confirmation", "function": "Cgi2Function", "auth": "NONE"} in health["routes"]

    def hello(request: HttpRequest, match: Match[Any]) -> HttpResponse:
        return HttpResponse.json(200, {"hello": match.path_parameters["name"], "method": request.method})

    stack.add_route("POST", "/_local/hello/{name}", hello)
    status, _, body = _call("POST", f"{stack.base_url}/_local/hello/you", b"")
    assert (status, json.loads(body)) == (200, {"hello": "you", "method": "POST"})
    status, _, body = _call("GET", f"{stack.base_url}/_local/return/ok")
    assert status == 200
    assert b"La boutique du CD" in body


def test_banner(stack: LocalStack) -> None:
    text = banner(stack)
    assert f"curl -s -X POST {stack.base_url}/orders -H 'content-type: application/json' -d '" in text
    assert f"{stack.base_url}/checkout/{{token}}" in text
    assert stack.aws_endpoint_url in text
    assert f"region: {stack.config.region}" in text  # what a signed call needs besides the URL


# -- the embedded AWS -----------------------------------------------------------------------------------------


def test_the_table_is_made_from_the_template(stack: LocalStack) -> None:
    client = boto3.client("dynamodb")  # AWS_ENDPOINT_URL points at the stack's moto
    table = client.describe_table(TableName="merchant-kit-orders")["Table"]
    declared = Template.load(ROOT / "template.yaml").properties_of("OrdersTable")
    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(declared["AttributeDefinitions"], key=str)
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    for index in declared["GlobalSecondaryIndexes"]:
        assert indexes[index["IndexName"]]["KeySchema"] == index["KeySchema"]
        assert indexes[index["IndexName"]]["Projection"] == index["Projection"]
    ttl = client.describe_time_to_live(TableName="merchant-kit-orders")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    backups = client.describe_continuous_backups(TableName="merchant-kit-orders")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert stack.tables["OrdersTable"].skipped == []


def test_the_terminal_secret(stack: LocalStack) -> None:
    client = boto3.client("secretsmanager")
    secret = client.get_secret_value(SecretId=stack.secret_arn)
    assert secret["Name"] == "merchant-kit/terminals"
    data = json.loads(secret["SecretString"])
    assert data["default_tpe"] == "0900157"
    modes = {tpe: (t["mode"], t.get("deferral_days", 0), t.get("end_policy")) for tpe, t in data["terminals"].items()}
    assert modes == {
        "0900157": ("immediate", 0, None),
        "0900158": ("deferred", 3, "validate"),
        "0900159": ("deferred_authorization", 7, "cancel"),
    }
    for terminal in data["terminals"].values():
        assert terminal["key"] == "12345678901234567890123456789012345678P0"
        assert (terminal["societe"], terminal["bank"], terminal["environment"], terminal["seal"]) == (
            "boutiqueducd",
            "cic",
            "test",
            "dsp2",
        )
        assert terminal["return_ok_url"].startswith(stack.base_url)
        assert "payment_base_url" not in terminal
    parsed = Terminals.from_json(secret["SecretString"])
    assert parsed.get().mode is PaymentMode.IMMEDIATE
    assert parsed.get("0900159").end_policy is EndPolicy.CANCEL


def test_environment_comes_from_the_template(stack: LocalStack) -> None:
    assert os.environ["ORDERS_TABLE"] == "merchant-kit-orders"
    assert os.environ["TERMINALS_SECRET_ARN"] == stack.secret_arn
    assert os.environ["CHECKOUT_BASE_URL"] == stack.base_url
    assert os.environ["POWERTOOLS_SERVICE_NAME"] == "merchant-kit"
    assert os.environ["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert os.environ["PENDING_ORDER_RETENTION_DAYS"] == "180"
    assert os.environ["AWS_ENDPOINT_URL"] == stack.aws_endpoint_url
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-3"


def test_the_functions_use_the_embedded_aws_whatever_the_template_declares(stack: LocalStack) -> None:
    assert stack.template.globals_for("Function")["Environment"]["Variables"]["AWS_ENDPOINT_URL"] == ""
    assert stack.environment["AWS_ENDPOINT_URL"] == stack.aws_endpoint_url
    assert os.environ["AWS_ENDPOINT_URL"] == stack.aws_endpoint_url
