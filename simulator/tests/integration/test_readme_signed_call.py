"""The documentation's signed call (the README's walkthrough, the site's "Integrating a shop"), run as printed —
the program saved as printed, its `api_url` pointed at a server that checks the signature on its own, and the
printed command line run in a shell with no AWS region set — so it needs nothing the page does not give.

The check below follows AWS's Signature Version 4 specification step by step (canonical request, string to
sign, derived key) without botocore, so the example is held to the protocol, not to itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from simulator.tests.support.sigv4 import AUTHORIZATION, check, expected_signature, serving
from tests.support.printed import run_as_printed
from tests.support.readme import Block, Command, blocks, printed_commands

# The credentials the walkthrough prints for the local stack, and the region its program names.
ACCESS_KEY, SECRET_KEY, REGION = "testing", "testing", "eu-west-3"


def signed_call_command(block: Block) -> Command:
    """The command line printed to run the program, on the same page."""
    (command,) = [c for c in printed_commands([block.document]) if c.line.endswith("create_order.py")]
    return command


def saved_as_printed(block: Block, api_url: str, directory: Path) -> Path:
    """The program as printed, saved as the page says, its ``api_url`` the one given (the value a reader replaces)."""
    source, replaced = re.subn(r'^api_url = ".*"$', f"api_url = {api_url!r}", block.text, flags=re.MULTILINE)
    assert replaced == 1, "the program defines api_url once, at the top"
    program = directory / "create_order.py"
    program.write_text(source, encoding="utf-8")
    return program


class Checking(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        ok = check("POST", self.path, headers, body, ACCESS_KEY, SECRET_KEY, REGION) is not None
        signed = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
        if signed:
            self.seen.append({**signed.groupdict(), "ok": ok, "body": json.loads(body)})
        created = {"reference": "3LW9LG2PQ3", "checkout_url": "https://api.example/v1/checkout/t"}
        answer = json.dumps(created if ok else {"message": "Forbidden"}).encode()
        self.send_response(201 if ok else 403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    with serving(type("Handler", (Checking,), {"seen": seen})) as url:
        yield f"{url}/v1", seen


@pytest.mark.parametrize("block", blocks("python"), ids=lambda block: block.document.name)
def test_the_printed_program_signs_calls_as_api_gateway_checks_them(
    block: Block, server: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, seen = server
    program = saved_as_printed(block, url, tmp_path)
    answer = run_as_printed(signed_call_command(block), {"create_order.py": str(program)})
    assert (answer.returncode, answer.stderr) == (0, ""), "no AWS_DEFAULT_REGION: the program names its region"
    assert answer.stdout == "3LW9LG2PQ3 https://api.example/v1/checkout/t\n"
    (call,) = seen
    assert call["ok"], "the signature does not verify"
    assert (call["key"], call["region"], call["service"]) == (ACCESS_KEY, REGION, "execute-api")
    assert call["body"]["amount"] == "62.73"


def test_the_check_refuses_a_tampered_request() -> None:
    """The server's check can fail: a signature over another body or path does not pass."""
    headers = {"host": "127.0.0.1", "x-amz-date": "20261130T000000Z"}
    scope = {"date": "20261130", "region": REGION, "service": "execute-api"}
    signature = expected_signature("POST", "/v1/orders", headers, b"{}", "host;x-amz-date", scope, SECRET_KEY)
    assert signature != expected_signature(
        "POST", "/v1/orders", headers, b'{"a":1}', "host;x-amz-date", scope, SECRET_KEY
    )
    assert signature != expected_signature("POST", "/v1/orders/x", headers, b"{}", "host;x-amz-date", scope, SECRET_KEY)
