"""Every command the documentation prints is one a test runs as printed, or, for what needs an AWS account, checks
against the tool that runs it: a make target the Makefile has, an AWS CLI command whose service, operation and
options botocore's models hold. And no page types a measured figure: `make bench` prints those.

The runners: the `sealing` lines in simulator/tests/integration/test_readme_commands.py, the go-live check and the
smoke test in simulator/tests/integration/test_smoke_on_the_local_stack.py, `orders.keys` in
simulator/tests/integration/test_local_shop_keys.py, the import files in
tests/integration/test_import_table.py, the signed call and every curl line in
simulator/tests/e2e/test_readme_examples.py, the shop examples' lines and `make run` with a webhook in
simulator/tests/e2e/test_examples.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest

from local.config import LocalConfig
from tests.support.readme import PENDING_MAKE_TARGETS, ROOT, Command, blocks, documents, printed_commands

# What each printed command is, by its first words; a command none of these names has no test to run it.
KINDS = {
    "curl": re.compile(r"curl -s "),
    "sealing": re.compile(r"(echo .* \| )?\.venv/bin/python -m sealing "),
    "golive": re.compile(r"\.venv/bin/python -m orders\.golive "),
    "shop keys": re.compile(r"\.venv/bin/python -m orders\.keys (create|list|revoke)\b"),
    "signed call": re.compile(r"AWS_ACCESS_KEY_ID=\S+ AWS_SECRET_ACCESS_KEY=\S+ \.venv/bin/python create_order\.py$"),
    "import table": re.compile(r"\.venv/bin/python -m stacktools\.import_table "),
    "local invoke": re.compile(r"\.venv/bin/python -m local invoke \w+ -e events/\w+\.json$"),
    "pytest or lint": re.compile(r"\.venv/bin/(python -m pytest|ruff) "),
    "make": re.compile(r"make [\w-]+"),
    "example": re.compile(
        r"(SHOP_WEBHOOK_TOKEN=\S+ )?(WEBHOOK_EVENTS_DIR=\S+ )?"
        r"(\.venv/bin/python |node |java |php (-S \S+ )?)?examples/\w+/"
    ),
    "make run with a webhook": re.compile(r"LOCAL_SHOP_WEBHOOK_URL=\S+ LOCAL_SHOP_WEBHOOK_TOKEN=\S+ make run$"),
    "aws": re.compile(r"aws [a-z0-9-]+ [a-z0-9-]+"),
}


def kind_of(command: Command) -> str | None:
    return next((kind for kind, pattern in KINDS.items() if pattern.match(command.line)), None)


def test_every_printed_command_is_one_a_test_runs() -> None:
    found = printed_commands()
    kinds = {"curl", "sealing", "golive", "shop keys", "signed call", "make", "aws", "example"}
    kinds |= {"make run with a webhook"}
    assert {kind_of(command) for command in found} >= kinds
    unknown = [str(command) for command in found if kind_of(command) is None]
    assert unknown == [], "commands no test runs: give each a runner (and a kind above)"


def _make_targets() -> set[str]:
    return set(re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), flags=re.MULTILINE))


def _printed_make_targets() -> list[str]:
    return sorted({command.words[1] for command in printed_commands() if kind_of(command) == "make"})


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(target, marks=pytest.mark.xfail(strict=True, reason=f"make {target} lands with issue 20"))
        if target in PENDING_MAKE_TARGETS
        else target
        for target in _printed_make_targets()
    ],
)
def test_every_printed_make_target_exists(target: str) -> None:
    assert target in _make_targets(), f"the documentation prints `make {target}`, which the Makefile lacks"


def test_the_make_variables_printed_are_the_ones_the_makefile_reads() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for command in printed_commands():
        if kind_of(command) == "make":
            for word in command.words[2:]:
                name, _, _ = word.partition("=")
                if name in {"ENV", "GUIDED"} and "deploy" in PENDING_MAKE_TARGETS:
                    continue  # make deploy's own variables, with it
                assert f"$({name})" in makefile or f"{name} ?=" in makefile, f"{command}: {name}"


# -- aws: the AWS CLI's command is botocore's operation, its options the operation's members (or the CLI's own) ----

CLI_SERVICES = {"s3api": "s3"}
CLI_OPTIONS = {"--query", "--output", "--region", "--profile", "--cli-input-json"}


def _pascal(words: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in words.split("-"))


def _member(option: str) -> str:
    """The operation member an AWS CLI option names, in lower case: ``--event-bus-name`` is ``eventbusname``
    (``EventBusName``; API Gateway's members are camelCase, IAM's ARN upper case)."""
    return option.removeprefix("--").replace("-", "").lower()


AWS_COMMANDS = [command for command in printed_commands() if kind_of(command) == "aws"]


@pytest.mark.parametrize("command", AWS_COMMANDS, ids=[command.line[:60] for command in AWS_COMMANDS])
def test_every_printed_aws_command_is_one_the_cli_has(command: Command) -> None:
    words = command.words
    service = CLI_SERVICES.get(words[1], words[1])
    session = botocore.session.get_session()
    model = session.get_service_model(service)
    if words[2] == "wait":
        waiters = session.get_waiter_model(service).waiter_names
        assert _pascal(words[3]) in waiters, f"{command}: no waiter {words[3]}"
        operation = model.operation_model(session.get_waiter_model(service).get_waiter(_pascal(words[3])).operation)
        options = words[4:]
    else:
        operations = {_pascal(name) for name in model.operation_names}
        assert _pascal(words[2]) in operations, f"{command}: {service} has no {words[2]}"
        operation = model.operation_model(_pascal(words[2]))
        options = words[3:]
    members = {name.lower() for name in operation.input_shape.members} if operation.input_shape else set()
    given = {word for word in options if word.startswith("--")}
    for option in given - CLI_OPTIONS:
        assert _member(option) in members, f"{command}: {option} is not an option of {operation.name}"
    required = {name.lower() for name in operation.input_shape.required_members} if operation.input_shape else set()
    assert required <= {_member(option) for option in given}, f"{command}: {operation.name} also needs {required}"


# -- the signed call: its two values are the ones `make run` prints for the local stack ------------------------------


@pytest.mark.parametrize("block", blocks("python"), ids=lambda block: block.document.name)
def test_the_signed_call_defines_what_it_uses_with_make_runs_values(block: object) -> None:
    source = block.text  # type: ignore[attr-defined]
    config = LocalConfig()
    assert re.search(rf'^api_url = "http://{config.host}:{config.port}"$', source, re.MULTILINE), "api_url"
    assert re.search(rf'^region = "{config.region}"$', source, re.MULTILINE), "region"
    assert "region_name=region" in source, "the session's region is the snippet's, not AWS_DEFAULT_REGION's"


def test_every_page_prints_the_same_signed_call() -> None:
    assert len({block.text for block in blocks("python")}) == 1, "the README's and the site's signed call differ"


# -- JSON examples parse ---------------------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"<[^<>\n]+>")


@pytest.mark.parametrize("block", blocks("json"), ids=lambda block: f"{block.document.name}:{block.heading}")
def test_every_json_example_is_json(block: object) -> None:
    text = PLACEHOLDER.sub("placeholder", block.text)  # type: ignore[attr-defined]
    json.loads(text)


# -- measured figures: make bench prints them, no page types them ----------------------------------------------------

MEASURED_WORD = r"\b(?:[Mm]easured|took|takes|cold|ratio|p50|p99|wall|CPU|answers in about)\b"
DURATION = r"\d+(?:[.,]\d+)?\s?(?:ms|s|sec|seconds?|min|minutes?)\b"
MEASURED = [
    # a figure make bench prints, followed by a value: "cold_import_ratio 1.18", "`verify_vs_minimal` | 0.6"
    re.compile(
        r"\b[a-z]+(?:_[a-z0-9]+)*_(?:ratio|ms|seconds|per_second|usd|share|minimal|trips|order|month|day)\b`?"
        r"(?:\s*\([^)|\n]*\))?\s*(?:[|:=]\s*)?\d"
    ),
    # a duration near a word that says it was measured
    re.compile(
        rf"\b(?:[Mm]easured|took|takes|cold|ratio|p50|p99|wall|CPU|answers in about)\b[^.|\n]{{0,40}}?{DURATION}"
    ),
    re.compile(rf"{DURATION}[^.|\n]{{0,20}}?\b(?:of CPU|of wall time|on two workers|measured)\b"),
    # a test count, a measured size, a price
    re.compile(r"\b\d[\d,]*\s+(?:tests|passed)\b"),
    re.compile(r"\babout \d[\d,.]*\s?(?:MB|KB|GB)\b"),
    re.compile(r"\d+(?:\.\d+)?\s+USD\b|\bUSD\s\d|\$\d"),  # a price; the wire writes amounts as 0.50USD
]


def measured_figures(text: str) -> list[str]:
    return [match.group(0) for pattern in MEASURED for match in pattern.finditer(text)]


@pytest.mark.parametrize("page", documents(), ids=lambda page: str(page.relative_to(ROOT)))
def test_no_page_types_a_measured_figure(page: Path) -> None:
    assert measured_figures(page.read_text(encoding="utf-8")) == [], "say `make bench` prints it, and name it"


@pytest.mark.parametrize(
    "prose",
    [
        "costs `cold_import_ratio` 1.18 times a bare import",
        "cold_import_ratio 1.18",
        "| `verify_vs_minimal` | 0.6 to 0.95 | ≤ 1.0 |",
        "| `confirmation_round_trips` (`_acceptance`, `_refusal`) | 1, 1 | 1 |",
        "Measured on a fresh clone here: `make run` answers in about 15 s",
        "`make test-fast` takes about 20 s of CPU here",
        "the tests take 4 min 40 s on two workers",
        "1213 passed",
        "installs the runtime set (`requirements/run.txt`, about 120 MB)",
        "the alarm topic's key (about 1 USD a month)",
    ],
)
def test_the_check_finds_a_measured_figure(prose: str) -> None:
    assert measured_figures(prose)


@pytest.mark.parametrize(
    "fact",
    [
        "The bank keeps a payment reference for about 45 minutes, allows a few card attempts under it",
        "it ends after 30 minutes unused or 8 hours in all",
        "`addressLine1` and `city` 50 characters, `postalCode` 10",
        "at most 500 characters",
        "up to 20,000 orders (what API Gateway's 29 s allow)",
        "comes back later each time (30 s, 1 min, 2 min... at most an hour)",
        "a new table takes 4,000 writes/s at once",
        "The mail function reads the parameter again at most every five minutes",
        "its 4 card attempts are used",
        "`ReconciliationConcurrency` | `40` | parts of a reconciliation run checked at once (2 to 1000)",
    ],
)
def test_the_check_leaves_the_protocols_facts(fact: str) -> None:
    assert measured_figures(fact) == []


def test_every_printed_pytest_line_names_tests_that_exist() -> None:
    for command in printed_commands():
        if kind_of(command) == "pytest or lint" and "-m pytest" in command.words:
            paths = [word for word in command.words[3:] if word.startswith("tests/")]
            assert paths, str(command)
            assert all((ROOT / path).exists() for path in paths), str(command)
