"""The README's requests, sent as printed to the local system `make run` starts: every curl line (the shell
expands it, dates included, as it would for a reader) and the `POST /orders` body."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from simulator.tests.support.full_stack import FullStack, full_stack
from tests.support.readme import ROOT, block_under, blocks, commands

pytestmark = pytest.mark.e2e


@dataclass
class Curl:
    method: str = "GET"
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None


def _expand(line: str) -> Curl:
    """The arguments bash gives curl for ``line``, read back from a stand-in that prints them."""
    answer = subprocess.run(  # noqa: S603 - the README's own lines
        ["bash", "-c", "curl() { printf '%s\\0' \"$@\"; }\n" + line],  # noqa: S607 - bash on PATH
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=30,
    )
    arguments = iter(answer.stdout.decode().split("\0")[:-1])
    curl = Curl()
    for argument in arguments:
        if argument == "-X":
            curl.method = next(arguments)
        elif argument == "-H":
            name, _, value = next(arguments).partition(":")
            curl.headers[name.strip()] = value.strip()
        elif argument == "-d":
            curl.data = next(arguments).encode()
            curl.method = "POST" if curl.method == "GET" else curl.method
        elif argument.startswith("http"):
            curl.url = argument
        else:
            assert argument == "-s", f"a curl option the test does not know: {argument}"
    return curl


def _send(system: FullStack, curl: Curl) -> tuple[int, dict[str, Any]]:
    parts = urlsplit(curl.url)
    assert parts.netloc == "127.0.0.1:3000"  # the README's default port, replaced here by the test stack's
    request = urllib.request.Request(  # noqa: S310 - the local stack
        f"{system.api}{parts.path}", data=curl.data, method=curl.method, headers=curl.headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def system() -> Iterator[FullStack]:
    with full_stack(schedule_interval_seconds=3600) as running:  # the scheduler on, for /_local/sweep
        yield running


CURL_LINES = [line for block in blocks("sh") for line in commands(block.text) if line.startswith("curl ")]


def test_the_readme_has_curl_lines_to_check() -> None:
    assert {urlsplit(_expand(line).url).path for line in CURL_LINES} >= {"/orders", "/_local/sweep"}


@pytest.mark.parametrize("line", CURL_LINES)
def test_every_curl_line_is_answered(system: FullStack, line: str) -> None:
    curl = _expand(line)
    status, body = _send(system, curl)
    assert status in {200, 201}, (line, body)
    sent = json.loads(curl.data) if curl.data else {}
    if isinstance(sent, dict) and sent.get("instalments"):
        fields = body["form"]["fields"]
        assert fields["nbrech"] == str(len(sent["instalments"]))


def test_the_order_body_is_accepted(system: FullStack) -> None:
    body = block_under("The merchant API", "json").text.encode()
    status, answer = _send(
        system, Curl("POST", "http://127.0.0.1:3000/orders", {"content-type": "application/json"}, body)
    )
    assert status == 201, answer
    assert answer["status"] == "awaiting_payment"
