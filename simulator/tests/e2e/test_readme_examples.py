"""The documentation's requests, sent as printed to the local system `make run` starts: every curl line of every
page (the shell expands it, dates included, as it would for a reader), the `POST /orders` body, and the README's
walkthrough end to end — the signed call run as printed, its order paid with the sandbox card, then seen paid."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from simulator.tests.support.full_stack import FullStack, full_stack
from simulator.tests.support.sandbox_stack import card_attempt, create, open_tab
from tests.support.printed import run_as_printed
from tests.support.readme import README, ROOT, block_under, blocks, printed_commands

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
    assert parts.netloc == "127.0.0.1:3000"  # make run's port, printed, replaced here by the test stack's
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


CURL_LINES = [command.line for command in printed_commands() if command.line.startswith("curl ")]


def test_the_documentation_has_curl_lines_to_check() -> None:
    paths = {urlsplit(_expand(line.replace("<reference>", "R")).url).path for line in CURL_LINES}
    assert paths >= {"/orders", "/_local/sweep", "/orders/R"}


@pytest.mark.parametrize("line", CURL_LINES)
def test_every_curl_line_is_answered(system: FullStack, line: str) -> None:
    if "<reference>" in line:  # the reader's own order's reference
        line = line.replace("<reference>", create(system)["reference"])
    curl = _expand(line)
    status, body = _send(system, curl)
    assert status in {200, 201}, (line, body)
    sent = json.loads(curl.data) if curl.data else {}
    if isinstance(sent, dict) and sent.get("instalments"):
        fields = body["form"]["fields"]
        assert fields["nbrech"] == str(len(sent["instalments"]))


def test_the_order_body_is_accepted(system: FullStack) -> None:
    body = block_under("Creating an order", "json").text.encode()
    status, answer = _send(
        system, Curl("POST", "http://127.0.0.1:3000/orders", {"content-type": "application/json"}, body)
    )
    assert status == 201, answer
    assert answer["status"] == "awaiting_payment"


def test_the_readme_walkthrough_pays_the_order_it_creates(system: FullStack, tmp_path: Path) -> None:
    """Step 1 as printed (the program saved, its api_url the test stack's), step 2 with the printed card on the
    sandbox's page, step 3's curl line as printed: the order is paid."""
    (program,) = blocks("python", [README])
    saved = tmp_path / "create_order.py"
    saved.write_text(program.text.replace('"http://127.0.0.1:3000"', repr(system.api)), encoding="utf-8")
    (create_line,) = [c for c in printed_commands([README]) if c.line.endswith("create_order.py")]
    created = run_as_printed(create_line, {"create_order.py": str(saved)})
    assert (created.returncode, created.stderr) == (0, "")
    reference, checkout_url = created.stdout.split()
    assert re.fullmatch(r"[0-9A-Z]{10}", reference)

    assert "`4111 1111 1111 1111`" in README.read_text(encoding="utf-8")
    _, session, action = open_tab({"checkout_url": checkout_url})
    receipt = card_attempt(action, session, "4111111111111111")
    assert "accept" in receipt.lower() or "numéro d'autorisation" in receipt.lower(), receipt

    (see_line,) = [c.line for c in printed_commands([README]) if c.line.startswith("curl ")]
    status, order = _send(system, _expand(see_line.replace("<reference>", reference)))
    assert (status, order["reference"], order["status"]) == (200, reference, "paid")
