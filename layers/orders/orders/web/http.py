"""API Gateway (REST, proxy) events in and responses out: the few things every handler needs."""

from __future__ import annotations

import base64
import binascii
import json
import re
from decimal import Decimal
from typing import Any

from ..exceptions import InvalidOrderError
from .pages import SUBMIT_SCRIPT_HASH

MAX_JSON_BYTES = 64 * 1024
# No request of this API nests deeper than 3; the parser recurses once per level, so a 64 KiB body of
# brackets would exhaust the interpreter's stack (RecursionError) instead of being refused.
MAX_JSON_DEPTH = 32
# A string (its closing quote optional, so an unterminated one ends the scan instead of being retried from
# every quote inside it: linear time) or a bracket.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+"?|[\[\]{}]', re.DOTALL)


def body_bytes(event: dict[str, Any]) -> bytes:
    """The request body exactly as sent: API Gateway base64-encodes binary media types (all of ours)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidOrderError("body", "is not valid base64") from None
    if isinstance(body, str):
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no byte sequence could have sent it
            raise InvalidOrderError("body", "is not UTF-8 text") from None
    return bytes(body)


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of ``text`` nest (brackets inside strings do not count)."""
    deepest = depth = 0
    for token in _JSON_TOKEN.findall(text):
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth -= 1
    return deepest


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, value in pairs:
        if name in data:  # keeping the first or the last would be a guess
            raise InvalidOrderError("body", f"{name!r} appears twice in one object: send each name once")
        data[name] = value
    return data


def _no_constant(name: str) -> Any:
    raise InvalidOrderError("body", f"{name} is not a JSON value")


def json_body(event: dict[str, Any]) -> dict[str, Any]:
    """The body as a JSON object: UTF-8, at most 64 KiB, nested at most 32 deep, no name twice in an object."""
    raw = body_bytes(event)
    if len(raw) > MAX_JSON_BYTES:
        raise InvalidOrderError("body", f"is larger than {MAX_JSON_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidOrderError("body", "is not UTF-8 text") from None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise InvalidOrderError("body", f"nests arrays or objects more than {MAX_JSON_DEPTH} deep")
    try:
        data = json.loads(text or "{}", object_pairs_hook=_unique_names, parse_constant=_no_constant)
    except InvalidOrderError:
        raise
    except ValueError:
        raise InvalidOrderError("body", "is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidOrderError("body", "must be a JSON object")
    return data


def header(event: dict[str, Any], name: str) -> str:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def _default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})},
        "body": json.dumps(data, default=_default, ensure_ascii=False),
        "isBase64Encoded": False,
    }


def error_response(status: int, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if field:
        error["field"] = field
    return json_response(status, {"error": error})


def text_response(status: int, body: str, headers: dict[str, str]) -> dict[str, Any]:
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}


def html_response(status: int, body: str) -> dict[str, Any]:
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # The one script a page may run is the checkout's self-submitting form, named by its hash.
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; script-src {SUBMIT_SCRIPT_HASH}; form-action https: http:"
        ),
    }
    return text_response(status, body, headers)


def api_base_url(event: dict[str, Any]) -> str:
    """The public base URL the request came through (``https://host/stage``)."""
    context = event.get("requestContext") or {}
    host = context.get("domainName") or header(event, "host")
    stage = context.get("stage") or ""
    proto = header(event, "x-forwarded-proto") or "https"
    # execute-api hosts carry the stage in the path; a custom domain maps it away.
    with_stage = stage and host.endswith(".amazonaws.com")
    return f"{proto}://{host}" + (f"/{stage}" if with_stage else "")
