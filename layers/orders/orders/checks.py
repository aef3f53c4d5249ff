"""What the go-live check and the smoke test report: each point, whether it holds, and what to do when it does not;
and the one way both reach the deployed API (HTTP, redirects not followed: the bank follows none)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TextIO


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""  # what to do when it fails, one line

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def render(
    checks: Sequence[Check], out: TextIO, verdicts: tuple[str, str] = ("ready for production", "not ready yet")
) -> bool:
    """Print each check, and the fix of each one failing; the first verdict when all hold, else the second."""
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        print(f"{mark} {check.name}: {check.detail}", file=out)
        if not check.ok and check.fix:
            print(f"     -> {check.fix}", file=out)
    passed = all(check.ok for check in checks)
    print(verdicts[0] if passed else verdicts[1], file=out)
    return passed


Probe = Callable[[str, bytes], tuple[int, str]]  # POST body to URL, redirects not followed: (status, body)
Http = Callable[[str, str, bytes | None], tuple[int, str]]  # (method, URL, body): (status, body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer of its own: the bank does not follow it


def http_call(method: str, url: str, body: bytes | None = None) -> tuple[int, str]:
    """One request to the merchant's own API, as the bank or a buyer's browser makes it, without following a
    redirect; a form body is sent as the bank sends it."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - the stack's URL
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as answer:
            return int(answer.status), answer.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read(65536).decode("utf-8", "replace")


def http_probe(url: str, body: bytes) -> tuple[int, str]:
    """POST ``body`` to ``url`` as the bank does, without following a redirect."""
    return http_call("POST", url, body)
