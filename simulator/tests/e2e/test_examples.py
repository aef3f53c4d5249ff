"""The shop examples (examples/<language>/), each run with its language's own toolchain, by the commands its
README prints, against the local system `make run` starts: the order created (its calls signed, and the signature
checked as API Gateway checks it), paid with the sandbox card, read back paid, refunded, and the order events
delivered by the local stack to the example's webhook receiver, which keeps each once.

A missing toolchain fails its test by name (`make toolchains` installs them), never skips it."""

from __future__ import annotations

import json
import re
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from local.config import LocalConfig
from orders.keys import from_environment as shop_keys
from simulator.tests.support.full_stack import FullStack, full_stack
from simulator.tests.support.sandbox_stack import card_attempt, open_tab
from simulator.tests.support.sigv4 import check, serving
from tests.support.printed import as_printed, run_as_printed
from tests.support.readme import ROOT, Command, printed_commands

pytestmark = pytest.mark.e2e

EXAMPLES = ROOT / "examples"
# What the READMEs print, replaced here by the test's own: make run's API, the receiver's port and directory.
PRINTED_API, PRINTED_PORT, PRINTED_DIRECTORY, PRINTED_TOKEN = (
    "http://127.0.0.1:3000",
    "4242",
    "webhook-events",
    "<ShopWebhookToken>",
)
# The credentials and the region the READMEs print for the local stack.
ACCESS_KEY, SECRET_KEY, REGION = "testing", "testing", "eu-west-3"
STAGE = "/v1"  # a deployed ApiUrl ends with its stage: the examples must sign the path they call


def _works(*command: str) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=60, check=False).returncode == 0  # noqa: S603
    except OSError:
        return False


@dataclass(frozen=True)
class Example:
    language: str
    # Each check of the toolchain, and what `make toolchains` installs for it.
    toolchain: tuple[tuple[tuple[str, ...], str], ...]
    has_receiver: bool = True

    @property
    def readme(self) -> Path:
        return EXAMPLES / self.language / "README.md"

    def commands(self) -> list[Command]:
        return printed_commands([self.readme])

    def command(self, word: str) -> Command:
        (found,) = [command for command in self.commands() if re.search(rf"\b{word}\b", command.line)]
        return found

    def missing(self) -> list[str]:
        return [package for check_, package in self.toolchain if not _works(*check_)]


EXAMPLE_LIST = [
    Example("python", (((str(ROOT / ".venv/bin/python"), "-c", "import requests, botocore"), "make test-fast"),)),
    Example("node", ((("node", "-e", "process.exit(typeof fetch === 'function' ? 0 : 1)"), "nodejs (18 or later)"),)),
    Example("java", ((("java", "--version"), "openjdk-17-jdk-headless"), (("javac", "--version"), "a JDK's javac"))),
    Example(
        "curl",
        ((("curl", "--version"), "curl"), (("jq", "--version"), "jq")),
        has_receiver=False,
    ),
    Example("php", ((("php", "-r", "exit(function_exists('curl_init') ? 0 : 1);"), "php-cli php-curl"),)),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SigningCheck(BaseHTTPRequestHandler):
    """API Gateway's front door, as far as a SigV4 caller sees it: the stage's path, the signature checked (403
    otherwise), then the request passed on to the local stack."""

    upstream: str
    seen: list[tuple[str, str, bool]]

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        ok = check(self.command, self.path, headers, body, ACCESS_KEY, SECRET_KEY, REGION) is not None
        self.seen.append((self.command, self.path, ok))
        if not ok or not self.path.startswith(f"{STAGE}/"):
            return self._answer(403, b'{"message": "The request signature we calculated does not match"}')
        request = urllib.request.Request(  # noqa: S310 - the local stack
            self.upstream + self.path.removeprefix(STAGE),
            data=body or None,
            method=self.command,
            headers={name: value for name, value in headers.items() if name in {"content-type", "idempotency-key"}},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                self._answer(answer.status, answer.read())
        except urllib.error.HTTPError as error:
            self._answer(error.code, error.read())

    do_GET = do_POST = _relay

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def signing_check(upstream: str) -> Iterator[tuple[str, list[tuple[str, str, bool]]]]:
    seen: list[tuple[str, str, bool]] = []
    with serving(type("Handler", (SigningCheck,), {"upstream": upstream, "seen": seen})) as url:
        yield f"{url}{STAGE}", seen


@contextmanager
def receiver(example: Example, token: str, directory: Path, output: Path) -> Iterator[str]:
    """The example's webhook receiver, started by the line its README prints: its URL."""
    port = str(free_port())
    replace = {PRINTED_TOKEN: token, PRINTED_PORT: port, PRINTED_DIRECTORY: str(directory)}
    arguments, env = as_printed(example.command("webhook"), replace)
    with output.open("w") as log:
        process = subprocess.Popen(arguments, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + 60  # the Java launcher compiles the file first
        while not _listening(int(port)):
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, f"the receiver does not listen: {output.read_text()}"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def post_event(url: str, event: dict[str, Any], token: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - the example's receiver
        url,
        data=json.dumps(event).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-Merchant-Kit-Token": token},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def wait_for(what: str, found: Callable[[], Any], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := found()):
        assert time.monotonic() < deadline, what
        time.sleep(0.3)
    return value


def stack_events(system: FullStack) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{system.api}/_local/events.json", timeout=30) as answer:  # noqa: S310
        return list(json.loads(answer.read())["events"])


@dataclass
class Run:
    example: Example
    api: str
    environ: dict[str, str] = field(default_factory=dict)  # added to the printed exports (MERCHANT_KIT_KEY)

    def __call__(self, word: str, reference: str = "") -> list[str]:
        replace = {PRINTED_API: self.api, **({"<reference>": reference} if reference else {})}
        done = run_as_printed(self.example.command(word), replace, self.environ)
        assert (done.returncode, done.stderr) == (0, ""), done.stdout
        return done.stdout.split()


def create_pay_read_refund(run: Run, system: FullStack) -> str:
    """The example's order created, paid with the sandbox card at its checkout, read back paid, refunded: its
    reference."""
    reference, checkout_url = run("create")
    assert checkout_url.startswith(f"{system.api}/checkout/")
    _, session, action = open_tab({"checkout_url": checkout_url})
    card_attempt(action, session, "4111111111111111")
    assert run("read", reference) == [reference, "paid", "refunded", "0"]
    assert run("refund", reference) == [reference, "refunded", "refunded", "62.73"]
    return reference


@pytest.mark.parametrize("example", EXAMPLE_LIST, ids=lambda example: example.language)
def test_the_example_creates_reads_refunds_and_receives_each_event_once(example: Example, tmp_path: Path) -> None:
    missing = example.missing()
    if missing:
        pytest.fail(f"the {example.language} example's toolchain is missing: {', '.join(missing)} (make toolchains)")
    token = secrets.token_urlsafe(32)
    with _system(example, token, tmp_path) as (system, hook, output):
        with signing_check(system.api) as (api, seen):
            run = Run(example, api)
            reference = create_pay_read_refund(run, system)
            assert [(method, ok) for method, _, ok in seen] == [("POST", True), ("GET", True), ("POST", True)]
            assert [path for _, path, _ in seen] == [
                f"{STAGE}/orders",
                f"{STAGE}/orders/{reference}",
                f"{STAGE}/orders/{reference}/refund",
            ]
        if hook is None:
            return
        received = wait_for(
            "the stack delivers OrderPaid and OrderRefunded to the receiver",
            lambda: (
                {"OrderPaid", "OrderRefunded"} <= set(re.findall(rf"received (\w+) {reference}", output.read_text()))
                and output.read_text()
            ),
        )
        (paid,) = [
            e for e in stack_events(system) if e["detail-type"] == "OrderPaid" and e["detail"]["reference"] == reference
        ]
        event_id = paid["detail"]["event_id"]
        assert received.count(f"received OrderPaid {reference} {event_id}\n") == 1
        assert post_event(hook, paid, "not-the-token") == 401
        assert post_event(hook, paid, "") == 401
        assert post_event(hook, paid, token) in {200, 204}  # delivered again: answered, not kept again
        assert post_event(hook, {"detail-type": "OrderPaid"}, token) == 400
        text = output.read_text()
        assert text.count(f"received OrderPaid {reference} {event_id}\n") == 1, text
        assert text.count(f"duplicate {event_id}\n") >= 1, text


def test_the_php_example_with_a_shop_key_creates_reads_and_refunds() -> None:
    """The PHP example as its README says to run it with a key: MERCHANT_KIT_KEY the local stack's test key, and
    MERCHANT_API_URL the key callers' API (KeysApiUrl), whose authorizer refuses any call without a valid key."""
    (example,) = [example for example in EXAMPLE_LIST if example.language == "php"]
    missing = example.missing()
    if missing:
        pytest.fail(f"the php example's toolchain is missing: {', '.join(missing)} (make toolchains)")
    with full_stack() as system:
        stack = system.stack
        run = Run(example, stack.keys_api_url, {"MERCHANT_KIT_KEY": stack.test_key})
        reference = create_pay_read_refund(run, system)
        (used,) = [key for key in shop_keys(stack.environment).list() if key.key_id in stack.test_key]
        assert used.last_used_at is not None
        wrong = Run(example, stack.keys_api_url, {"MERCHANT_KIT_KEY": "mk_test_wrong"})
        with pytest.raises(AssertionError, match="401"):
            wrong("read", reference)


@contextmanager
def _system(example: Example, token: str, tmp_path: Path) -> Iterator[tuple[FullStack, str | None, Path]]:
    """The whole local system, its shop webhook the example's receiver (when the example has one)."""
    output = tmp_path / "receiver.log"
    if not example.has_receiver:
        with full_stack() as system:
            yield system, None, output
        return
    with (
        receiver(example, token, tmp_path / "events", output) as hook,
        full_stack(parameter_overrides={"ShopWebhookUrl": hook, "ShopWebhookToken": token}) as system,
    ):
        yield system, hook, output


STEPS = ("create", "read", "refund", "webhook")


@pytest.mark.parametrize("example", EXAMPLE_LIST, ids=lambda example: example.language)
def test_every_line_the_readme_prints_is_a_step_the_test_runs(example: Example) -> None:
    lines = [command.line for command in example.commands()]
    steps = STEPS if example.has_receiver else STEPS[:3]
    assert lines == [example.command(step).line for step in steps]


def test_every_example_line_the_documentation_prints_is_one_a_readme_prints() -> None:
    """The site's lines (docs/integrating.md) are the examples' READMEs', which the test above runs as printed."""
    run = {(command.exports, command.line) for example in EXAMPLE_LIST for command in example.commands()}
    printed = [c for c in printed_commands() if re.match(r"(\S+=\S+ )*(\S+ )?(-S \S+ )?examples/", c.line)]
    assert len(printed) >= len(EXAMPLE_LIST)
    for command in printed:
        if "webhook" in command.line:  # printed without the exports: the receiver needs none
            assert any(command.line == line for _, line in run), str(command)
        else:
            assert (command.exports, command.line) in run, str(command)


def test_make_run_delivers_the_events_to_the_receiver_the_page_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's `make run` line gives the local stack the template's ShopWebhookUrl and ShopWebhookToken (which
    test_the_example_creates_reads_refunds_and_receives_each_event_once shows delivered), the receiver printed
    above it listening there with that token."""
    (line,) = [c.line for c in printed_commands() if c.line.endswith(" make run") and "LOCAL_SHOP_WEBHOOK" in c.line]
    variables = dict(word.split("=", 1) for word in line.split()[:-2])
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    overrides = LocalConfig.from_environ().parameter_overrides
    assert overrides == {"ShopWebhookUrl": "http://127.0.0.1:4242/", "ShopWebhookToken": PRINTED_TOKEN}
    (receiver_line,) = [
        c.line for c in printed_commands() if c.line.startswith("SHOP_WEBHOOK_TOKEN=") and "python" in c.line
    ]
    assert f"SHOP_WEBHOOK_TOKEN={PRINTED_TOKEN} " in receiver_line
    assert f" webhook {PRINTED_PORT} " in receiver_line
