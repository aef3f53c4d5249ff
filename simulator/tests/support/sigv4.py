"""AWS Signature Version 4 checked as API Gateway checks it, step by step from AWS's specification (canonical
request, string to sign, derived key) and without botocore, so that a client is held to the protocol, not to
the signer it was written with."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"?SignedHeaders=(?P<signed>[^,]+), ?Signature=(?P<signature>[0-9a-f]{64})"
)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def expected_signature(
    method: str, path: str, headers: dict[str, str], body: bytes, signed: str, scope: dict[str, str], secret: str
) -> str:
    """The signature of a request without a query string; ``headers`` by lower-case name."""
    names = signed.split(";")
    canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in names)
    canonical = "\n".join(
        [method, quote(path, safe="/-_.~"), "", canonical_headers, signed, hashlib.sha256(body).hexdigest()]
    )
    credential_scope = f"{scope['date']}/{scope['region']}/{scope['service']}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", headers["x-amz-date"], credential_scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(f"AWS4{secret}".encode(), scope["date"])
    for part in (scope["region"], scope["service"], "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def check(
    method: str, path: str, headers: dict[str, str], body: bytes, access_key: str, secret: str, region: str
) -> dict[str, str] | None:
    """The signature's scope (key, date, region, service, signed headers) when ``headers``' Authorization signs
    this request for API Gateway (``execute-api``) in ``region`` with ``access_key``'s ``secret``, over at least
    the host and the date; else None."""
    match = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
    if not match:
        return None
    scope = match.groupdict()
    names = set(scope["signed"].split(";"))
    if (
        (scope["key"], scope["region"], scope["service"]) != (access_key, region, "execute-api")
        or not {"host", "x-amz-date"} <= names
        or not names <= set(headers)
    ):
        return None
    expected = expected_signature(method, path, headers, body, scope["signed"], scope, secret)
    return scope if hmac.compare_digest(scope["signature"], expected) else None


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` (a server that checks signatures) on a free port of 127.0.0.1: its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
