"""HTTP request ⇄ API Gateway REST (v1) Lambda proxy event, as API Gateway builds and reads them.

- ``path`` is kept as received (percent-encoded), ``pathParameters`` and the query string parameters are
  decoded; ``headers`` / ``queryStringParameters`` keep the last value of a repeated name and the
  ``multiValue...`` twins keep them all; an absent part is ``None``, not ``{}``.
- A body whose Content-Type matches one of the API's ``BinaryMediaTypes`` (``*/*`` matches all) is delivered
  base64-encoded with ``isBase64Encoded: true``; any other body is delivered as text.
- The handler's answer: ``statusCode``, ``headers`` and ``multiValueHeaders`` (merged: for a name in both,
  ``multiValueHeaders`` wins), ``body`` (base64-decoded when ``isBase64Encoded``). A malformed answer is
  API Gateway's 502 ``{"message": "Internal server error"}``.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from devhttp import HttpRequest, HttpResponse, Match


def decode_media_type(declared: str) -> str:
    """SAM/CloudFormation write ``/`` as ``~1`` in BinaryMediaTypes (a JSON-pointer escape)."""
    return declared.replace("~1", "/").replace("~0", "~")


def is_binary(content_type: str | None, binary_media_types: Sequence[str]) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    for declared in binary_media_types:
        pattern = decode_media_type(declared).lower()
        if pattern == "*/*" or (media_type and fnmatch.fnmatchcase(media_type, pattern)):
            return True
    return False


def _single_and_multi(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return single, multi


@dataclass(frozen=True)
class ApiContext:
    """What the event says about the API itself."""

    stage: str = "v1"
    binary_media_types: tuple[str, ...] = ()
    api_id: str = "local"
    account_id: str = "123456789012"
    domain_name: str = "127.0.0.1"


def proxy_event(
    request: HttpRequest,
    match: Match[Any],
    api: ApiContext,
    *,
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The REST API (v1) Lambda proxy event API Gateway would send for this request and route."""
    now = now or datetime.now(UTC)
    request_id = request_id or str(uuid.uuid4())
    headers = list(request.headers)
    present = {key.lower() for key, _ in headers}
    # API Gateway adds these before the integration sees the request.
    for name, value in (
        ("X-Forwarded-For", request.client_ip),
        ("X-Forwarded-Proto", "http"),
        ("X-Amzn-Trace-Id", f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}"),
    ):
        if name.lower() not in present:
            headers.append((name, value))
    single_headers, multi_headers = _single_and_multi(headers)
    query, multi_query = _single_and_multi(parse_qsl(request.query, keep_blank_values=True))

    body: str | None = None
    is_base64 = False
    if request.body:
        if is_binary(request.header("Content-Type"), api.binary_media_types):
            body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
        else:
            body = request.body.decode("utf-8", errors="replace")

    host = request.header("Host") or api.domain_name
    return {
        "resource": match.resource,
        "path": request.path,
        "httpMethod": request.method.upper(),
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, match.resource).hex[:6],
            "resourcePath": match.resource,
            "httpMethod": request.method.upper(),
            "extendedRequestId": request_id.replace("-", "")[:16] + "=",
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            # The local server answers at the root, like a custom domain mapped to the stage.
            "path": request.path,
            "accountId": api.account_id,
            "protocol": "HTTP/1.1",
            "stage": api.stage,
            "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.client_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.header("User-Agent"),
                "user": None,
            },
            "domainName": host,
            "apiId": api.api_id,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


class BadProxyResponse(Exception):
    """The handler's return value is not a Lambda proxy response."""


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise BadProxyResponse(f"a header value must be a string or a number, got {type(value).__name__}")


def _status(result: Mapping[str, Any]) -> int:
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise BadProxyResponse(f"statusCode {status!r} is not an HTTP status")
    return status


def _headers(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``headers`` and ``multiValueHeaders`` merged; for a name in both, ``multiValueHeaders`` wins."""
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise BadProxyResponse("headers and multiValueHeaders must be mappings")
    multi_names = {str(name).lower() for name in multi}
    headers = [
        (str(name), _header_value(value)) for name, value in single.items() if str(name).lower() not in multi_names
    ]
    for name, values in multi.items():
        if not isinstance(values, list):
            raise BadProxyResponse(f"multiValueHeaders[{name!r}] must be a list")
        headers.extend((str(name), _header_value(value)) for value in values)
    return headers


def _body(result: Mapping[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise BadProxyResponse(f"body must be a string, got {type(body).__name__}")
    if not result.get("isBase64Encoded"):
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise BadProxyResponse("isBase64Encoded is true but the body is not base64") from None


def http_response(result: Any) -> HttpResponse:
    """The HTTP response API Gateway makes of a Lambda proxy response; ``BadProxyResponse`` if malformed."""
    if not isinstance(result, Mapping):
        raise BadProxyResponse(f"the handler returned {type(result).__name__}, not a mapping")
    return HttpResponse(_status(result), _headers(result), _body(result))


@dataclass
class LambdaContext:
    """The parts of the Lambda context object handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 128
    timeout_seconds: float = 3.0
    region: str = "eu-west-3"
    account_id: str = "123456789012"
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{datetime.now(UTC):%Y/%m/%d}/[{self.function_version}]local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
