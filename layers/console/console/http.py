"""API Gateway's proxy event in, its answer out: the console's request and response, and the headers every page
carries (a strict Content-Security-Policy: no script at all, styles from the console's own stylesheet only)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from .exceptions import FormError

MAX_FORM_BYTES = 16 * 1024
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # the console's path, from /console on, as API Gateway decoded it
    base: str  # what comes before it in the browser's URL (the stage, or a custom domain's base path)
    query: dict[str, str]
    form: dict[str, str]
    cookies: dict[str, str]
    headers: dict[str, str]  # names in lower case
    source_ip: str = ""

    def url(self, path: str) -> str:
        """``path`` (from /console on) as the browser must ask for it."""
        return f"{self.base}{path}"


@dataclass
class Response:
    status: int
    body: str = ""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)  # Set-Cookie values

    def as_event(self) -> dict[str, Any]:
        headers = {**SECURITY_HEADERS, "Content-Type": self.content_type, **self.headers}
        answer: dict[str, Any] = {
            "statusCode": self.status,
            "headers": headers,
            "body": self.body,
            "isBase64Encoded": False,
        }
        if self.cookies:
            answer["multiValueHeaders"] = {"Set-Cookie": list(self.cookies)}
        return answer


def redirect(location: str, cookies: list[str] | None = None) -> Response:
    """303 See Other: after a form, the browser reads the next page with a GET."""
    return Response(303, headers={"Location": location}, cookies=list(cookies or []))


def _headers(event: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if values:
            headers[str(name).lower()] = str(values[-1])
    for name, value in (event.get("headers") or {}).items():
        if value is not None:
            headers[str(name).lower()] = str(value)
    return headers


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def _form(event: dict[str, Any], headers: dict[str, str]) -> dict[str, str]:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise FormError("body", "is not valid base64") from None
    else:
        raw = body.encode("utf-8", "replace") if isinstance(body, str) else bytes(body)
    if not raw:
        return {}
    if len(raw) > MAX_FORM_BYTES:
        raise FormError("body", f"is larger than {MAX_FORM_BYTES} bytes")
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise FormError("Content-Type", "must be application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        raise FormError("body", "is not a form this console sent") from None
    return dict(pairs)


def parse(event: dict[str, Any]) -> Request:
    """The request API Gateway passed (REST API, proxy integration)."""
    headers = _headers(event)
    path = str(event.get("path") or "/console")
    context = event.get("requestContext") or {}
    full = str(context.get("path") or path)
    base = full[: -len(path)] if full.endswith(path) and full != path else ""
    method = str(event.get("httpMethod") or "GET").upper()
    query = {str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items() if v is not None}
    return Request(
        method=method,
        path=path,
        base=base,
        query=query,
        form=_form(event, headers) if method == "POST" else {},
        cookies=_cookies(headers),
        headers=headers,
        source_ip=str((context.get("identity") or {}).get("sourceIp") or ""),
    )
