"""The smoke test a merchant runs after deploying, run as printed (``python -m orders.golive --smoke``, its own
process) against the local stack over HTTP: the API's checkout and CGI2, the table and the secret, and the
alarm's action in moto's CloudWatch and SNS (``local.alarms``: moto evaluates no key or topic policy, so that
failure is tests/functional/test_smoke.py's). Then the console's ``POST /terminals/{tpe}/smoke`` on the same stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local import LocalConfig, LocalStack
from local.aws import FAKE_ACCESS_KEY, FAKE_SECRET_KEY
from simulator.tests.support.local_api import request
from tests.support.aws import ROOT


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(LocalConfig(port=0, quiet=True, schedule_interval_seconds=None)) as stack:
        yield stack


def smoke(stack: LocalStack) -> subprocess.CompletedProcess[str]:
    """``python -m orders.golive --smoke`` with the stack's settings, as the README has the merchant run it."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(str(ROOT / "layers" / name) for name in ("sealing", "orders")),
        "AWS_ENDPOINT_URL": stack.aws_endpoint_url,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
        "AWS_DEFAULT_REGION": stack.config.region,
        "TERMINALS_SECRET_ARN": stack.secret_arn,
        "ORDERS_TABLE": stack.table_name("OrdersTable"),
        "SMOKE_ALARM_NAME": stack.alarm_name("SmokeTestAlarm"),
    }
    command = [sys.executable, "-m", "orders.golive", "--smoke", "--tpe", "0900157", "--api-url", stack.base_url]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603


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
    lines = run.stdout.splitlines()
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
