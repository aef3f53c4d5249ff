"""What every blueprint of the sandbox's Chalice app shares: its responses, the request's raw body and form, and
the bank's clock catching up before a view reads the payments."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import parse_qsl

from chalice import Response  # type: ignore[attr-defined]
from chalice.app import Request

from .bank import Bank

FORM = ["application/x-www-form-urlencoded"]
Headers = dict[str, str | list[str]]
HTML: Headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def html(body: str, status: int = 200, headers: Headers | None = None) -> Response:
    return Response(body=body, status_code=status, headers={**HTML, **(headers or {})})


def redirect(location: str, headers: Headers | None = None) -> Response:
    return Response(body="", status_code=303, headers={"Location": location, **(headers or {})})


def raw_body(request: Request) -> bytes:
    body = request.raw_body
    return body if isinstance(body, bytes) else str(body).encode("utf-8")


def form(request: Request) -> dict[str, str]:
    return dict(parse_qsl(raw_body(request).decode("utf-8", "replace"), keep_blank_values=True))


def settled[**P, R](bank: Bank, view: Callable[P, R]) -> Callable[P, R]:
    """``view``, after the deferral periods that ended are ended on the bank's side too, whoever looks first."""

    @wraps(view)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        bank.settle()
        return view(*args, **kwargs)

    return run
