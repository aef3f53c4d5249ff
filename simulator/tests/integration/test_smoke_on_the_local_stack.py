"""The go-live check and the smoke test a merchant runs after deploying, run as docs/go-live.md prints them
(``.venv/bin/python -m orders.golive [--smoke]`` with its exports, its own process) against the local stack over
HTTP: the API's checkout and CGI2, the table and the secret, and the alarm's action in moto's CloudWatch and SNS
(``local.alarms``: moto evaluates no key or topic policy, so that failure is tests/functional/test_smoke.py's).
Then the console's ``POST /terminals/{tpe}/smoke`` on the same stack.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local import LocalConfig, LocalStack
from local.aws import FAKE_ACCESS_KEY, FAKE_SECRET_KEY
from simulator.tests.support.local_api import request
from tests.support.printed import run_as_printed
from tests.support.readme import Command, printed_commands


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(LocalConfig(port=0, quiet=True, schedule_interval_seconds=None)) as stack:
        yield stack


def printed(heading: str) -> Command:
    (command,) = [c for c in printed_commands() if c.heading == heading and "-m orders.golive" in c.line]
    return command


def _stack_values(stack: LocalStack) -> dict[str, str]:
    """The placeholders of the printed commands, filled in as a reader would, with the local stack's values."""
    return {
        "<the stack's region>": stack.config.region,
        "<the secret>": stack.secret_arn,
        "<OrdersTableName output>": stack.table_name("OrdersTable"),
        "<SmokeTestAlarmName output>": stack.alarm_name("SmokeTestAlarm"),
        "<AlarmTopicArn output>": stack.topics["AlarmTopic"],
        "https://<api>/v1": stack.base_url,
    }


def _credentials(stack: LocalStack) -> dict[str, str]:
    """What the reader's shell holds besides: credentials for the account (here the embedded AWS's)."""
    return {
        "AWS_ENDPOINT_URL": stack.aws_endpoint_url,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
    }


def run_printed(stack: LocalStack, heading: str) -> subprocess.CompletedProcess[str]:
    command = printed(heading)
    values = {
        name: value for name, value in _stack_values(stack).items() if name in str(command.exports) + command.line
    }
    return run_as_printed(command, values, _credentials(stack))


def smoke(stack: LocalStack) -> subprocess.CompletedProcess[str]:
    """The smoke test as docs/go-live.md prints it (``.venv/bin/python -m orders.golive --smoke``, with its exports),
    the placeholders filled in with the stack's values."""
    return run_printed(stack, "After every deploy: the smoke test")


def test_the_go_live_check_runs_as_printed_and_says_what_is_not_ready(stack: LocalStack) -> None:
    """The local terminal has the kits' public test key and a plain-HTTP CGI2: not ready, exit 1, each failing
    point with its fix, never a traceback nor `No module named 'orders'`."""
    run = run_printed(stack, "The go-live check")
    assert (run.returncode, run.stderr) == (1, ""), run.stdout + run.stderr
    assert "FAIL key" in run.stdout
    assert "Traceback" not in run.stdout


def alarm_state(stack: LocalStack) -> str:
    cloudwatch = boto3.client("cloudwatch", region_name=stack.config.region)
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[stack.alarm_name("SmokeTestAlarm")])["MetricAlarms"]
    return str(alarm["StateValue"])


def orders_left(stack: LocalStack) -> list[Any]:
    table = stack.table_name("OrdersTable")
    items = boto3.client("dynamodb", region_name=stack.config.region).scan(TableName=table)["Items"]
    return [item for item in items if item["sk"]["S"] == "ORDER"]


def test_the_smoke_test_passes_on_the_local_stack_and_leaves_nothing(stack: LocalStack) -> None:
    before = orders_left(stack)
    run = smoke(stack)
    assert run.returncode == 0, run.stdout + run.stderr
    kept, *lines = run.stdout.splitlines()
    assert kept.startswith("smoke result "), kept  # kept as the terminal's last, or why not
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "ok   order", "ok   checkout", "ok   confirmation", "ok   second_session", "ok   order_read", "ok   alarm",
        "ok   cleanup",
    ]  # fmt: skip
    assert "CloudWatch published it: Successfully executed action arn:aws:sns:" in lines[5]
    assert lines[-1] == "the stack works"
    assert orders_left(stack) == before
    assert alarm_state(stack) == "OK"


def test_the_console_route_runs_it_against_its_own_api(stack: LocalStack) -> None:
    status, text, _ = request("POST", f"{stack.base_url}/terminals/0900157/smoke")
    answer = json.loads(text)
    assert (status, answer["passed"]) == (200, True), text
    assert alarm_state(stack) == "OK"


def test_an_alarm_action_that_cannot_publish_fails_the_alarm_step_with_its_fix(stack: LocalStack) -> None:
    """The alarm topic gone: CloudWatch records the action as failed, and the smoke test says so, exit 1."""
    sns = boto3.client("sns", region_name=stack.config.region)
    topic = stack.topics["AlarmTopic"]
    sns.delete_topic(TopicArn=topic)
    try:
        run = smoke(stack)
    finally:
        sns.create_topic(Name=topic.rsplit(":", 1)[1])
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    (alarm,) = [index for index, line in enumerate(lines) if line.startswith("FAIL alarm:")]
    assert f"could not publish it: Failed to execute action {topic}" in lines[alarm]
    assert lines[alarm + 1].startswith("     -> let cloudwatch.amazonaws.com use the topic's key and publish to it")
    assert lines[-2].startswith("ok   cleanup: order ")
    assert lines[-1] == "the stack does not work yet"
    assert alarm_state(stack) == "OK"
