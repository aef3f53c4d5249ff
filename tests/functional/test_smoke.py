"""The smoke test (orders.smoke) on moto, the deployed API's checkout and CGI2 answered in process: every step, what
each failure says and how to fix it, and what it made removed whatever failed. (On the local stack over HTTP:
simulator/tests/integration/test_smoke_on_the_local_stack.py.)"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from orders import golive
from orders.exceptions import ConcurrentUpdateError
from orders.model import OrderStatus
from orders.smoke import DESCRIPTION, Smoke
from orders.terminals import Terminals
from tests.support.aws import load_function, terminals_config
from tests.support.merchant import SAMPLE, confirm, stored_order
from tests.support.smoke import ALARM, API, FakeCloudWatch, action_item, in_process_api

NOW = datetime.now(UTC).replace(microsecond=0)
KMS_ERROR = "User: cloudwatch.amazonaws.com is not authorized to perform: kms:GenerateDataKey"


def smoke(aws: Any, context: Any, cloudwatch: Any, **changes: Any) -> Smoke:
    terminal = Terminals.from_mapping(terminals_config(**changes)).get("0900157")
    return Smoke(
        terminal,
        aws.store,
        API,
        cloudwatch,
        ALARM,
        clock=lambda: NOW,
        http=in_process_api(aws.deps, context),
        sleep=lambda seconds: None,
    )


def succeeded() -> dict[str, Any]:
    return action_item("Succeeded", NOW)


def outcome(checks: list[Any]) -> dict[str, bool]:
    return {check.name: check.ok for check in checks}


def made_orders(aws: Any) -> list[dict[str, Any]]:
    return [item for item in aws.dynamodb.scan(TableName=aws.store.table_name)["Items"] if item["sk"]["S"] == "ORDER"]


def test_on_a_working_stack_every_step_passes_and_nothing_is_left(aws: Any, lambda_context: Any) -> None:
    cloudwatch = FakeCloudWatch(succeeded)
    run = smoke(aws, lambda_context, cloudwatch)
    checks = run.run()
    assert outcome(checks) == {
        "order": True, "checkout": True, "confirmation": True, "second_session": True, "order_read": True,
        "alarm": True, "cleanup": True,
    }  # fmt: skip
    by_name = {check.name: check for check in checks}
    assert by_name["second_session"].detail.endswith(f"{run._reference}01")
    assert by_name["order_read"].detail == "awaiting_payment, 2 payment sessions, 4 refusals recorded"
    assert "Successfully executed action arn:aws:sns:" in by_name["alarm"].detail
    assert cloudwatch.states == ["ALARM", "OK"]
    assert made_orders(aws) == []


def test_the_alarm_calls_are_cloudwatchs_own(aws: Any, lambda_context: Any) -> None:
    """The calls as botocore's model of CloudWatch takes them (Stubber checks each against it)."""
    client = boto3.client("cloudwatch", region_name="eu-west-3")
    stubber = Stubber(client)
    reason = {"AlarmName": ALARM, "StateReason": ANY}
    stubber.add_response("set_alarm_state", {}, {**reason, "StateValue": "ALARM"})
    history = {"AlarmName": ALARM, "HistoryItemType": "Action", "StartDate": ANY, "ScanBy": "TimestampDescending"}
    stubber.add_response("describe_alarm_history", {"AlarmHistoryItems": []}, history)
    stubber.add_response("describe_alarm_history", {"AlarmHistoryItems": [succeeded()]}, history)
    stubber.add_response("set_alarm_state", {}, {**reason, "StateValue": "OK"})
    with stubber:
        checks = smoke(aws, lambda_context, client).run()
    stubber.assert_no_pending_responses()
    assert all(check.ok for check in checks)


def test_an_alarm_cloudwatch_could_not_publish_says_why_and_what_to_fix(aws: Any, lambda_context: Any) -> None:
    cloudwatch = FakeCloudWatch(lambda: action_item("Failed", NOW, KMS_ERROR))
    alarm = {c.name: c for c in smoke(aws, lambda_context, cloudwatch).run()}["alarm"]
    assert not alarm.ok
    assert "Failed to execute action arn:aws:sns:" in alarm.detail
    assert KMS_ERROR in alarm.detail
    assert "cloudwatch.amazonaws.com use the topic's key" in alarm.fix
    assert cloudwatch.states == ["ALARM", "OK"]  # set back all the same


def test_an_alarm_with_no_action_recorded_is_a_failure_after_the_wait(aws: Any, lambda_context: Any) -> None:
    cloudwatch = FakeCloudWatch(lambda: None)
    run = smoke(aws, lambda_context, cloudwatch)
    slept: list[float] = []
    run.sleep = slept.append
    alarm = {c.name: c for c in run.run()}["alarm"]
    assert (alarm.ok, len(slept)) == (False, 15)
    assert alarm.detail.endswith("CloudWatch recorded no action in 15 s")
    assert alarm.fix == f"check its actions: aws cloudwatch describe-alarms --alarm-names {ALARM}"


def test_a_stack_sealing_with_another_key_stops_at_cgi2_and_cleans_up(aws: Any, lambda_context: Any) -> None:
    """The secret the smoke test reads is not the stack's: CGI2 answers cdr=1, the steps after it are not run."""
    cloudwatch = FakeCloudWatch(succeeded)
    checks = smoke(aws, lambda_context, cloudwatch, **{"0900157": {"key": "ABCDEF0123456789ABCDEF0123456789ABCDEF01"}})
    ran = checks.run()
    assert outcome(ran) == {"order": True, "checkout": True, "confirmation": False, "alarm": True, "cleanup": True}
    (confirmation,) = [c for c in ran if c.name == "confirmation"]
    assert confirmation.detail.startswith("CGI2 answered 200 'version=2\\ncdr=1\\n' to refusal 1")
    assert confirmation.fix.startswith("the seal did not hold")
    assert made_orders(aws) == []


def test_a_checkout_refused_its_write_fails_the_second_session_with_its_fix(aws: Any, lambda_context: Any) -> None:
    """The checkout's role refused its UpdateItem, as IAM does when dynamodb:Attributes lacks a name it uses."""
    run = smoke(aws, lambda_context, FakeCloudWatch(succeeded))
    served = run.http
    checkouts: list[str] = []

    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "UpdateItem")

    def http(method: str, url: str, body: bytes | None) -> tuple[int, str]:
        if method == "GET":
            checkouts.append(url)
            if len(checkouts) == 2:
                aws.dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", denied)
        return served(method, url, body)

    run.http = http
    ran = {c.name: c for c in run.run()}
    aws.dynamodb.meta.events.unregister("before-call.dynamodb.UpdateItem", denied)
    assert not ran["second_session"].ok
    assert ran["second_session"].detail.startswith("GET /checkout answered 5")
    assert "dynamodb:Attributes must list pk, sk, sessions and version" in ran["second_session"].fix
    assert "order_read" not in ran
    assert ran["cleanup"].ok
    assert made_orders(aws) == []


def test_the_cleanup_deletes_the_smoke_tests_order_never_another(aws: Any) -> None:
    stored_order(aws, SAMPLE)
    with pytest.raises(ConcurrentUpdateError):
        aws.store.delete_order(SAMPLE, description=DESCRIPTION)
    assert aws.store.get(SAMPLE).reference == SAMPLE
    with pytest.raises(ConcurrentUpdateError):
        aws.store.delete_order("NOSUCHORDR", description=DESCRIPTION)


def test_the_cleanup_never_deletes_an_order_that_was_paid_even_the_smoke_tests_own(
    aws: Any, lambda_context: Any
) -> None:
    """Its checkout page served a real payment form: if anyone paid it meanwhile, the order holds money the bank
    has, and deleting it would take the payment off the books. It stays, and the cleanup says so."""
    stored_order(aws, SAMPLE, description=DESCRIPTION)
    assert confirm(aws, lambda_context)["body"] == "version=2\ncdr=0\n"
    with pytest.raises(ConcurrentUpdateError):
        aws.store.delete_order(SAMPLE, description=DESCRIPTION)
    assert aws.store.get(SAMPLE).status is OrderStatus.PAID


def test_the_console_route_answers_each_step(aws: Any, lambda_context: Any) -> None:
    cloudwatch = FakeCloudWatch(succeeded)
    http = in_process_api(aws.deps, lambda_context)
    handler = load_function("golive").create_handler(
        aws.deps.__class__(**{**aws.deps.__dict__, "smoke_alarm_name": ALARM}), http=http, cloudwatch=cloudwatch
    )
    request = {
        "httpMethod": "POST",
        "resource": "/terminals/{tpe}/smoke",
        "pathParameters": {"tpe": "0900157"},
        "headers": {"Host": "abcdef1234.execute-api.eu-west-3.amazonaws.com"},
        "requestContext": {"stage": "v1", "domainName": "abcdef1234.execute-api.eu-west-3.amazonaws.com"},
    }
    answer = handler(request, lambda_context)
    body = json.loads(answer["body"])
    assert (answer["statusCode"], body["tpe"], body["passed"]) == (200, "0900157", True)
    assert [check["name"] for check in body["checks"]] == [
        "order", "checkout", "confirmation", "second_session", "order_read", "alarm", "cleanup",
    ]  # fmt: skip
    unknown = handler({**request, "pathParameters": {"tpe": "9999999"}}, lambda_context)
    assert unknown["statusCode"] == 404


def test_the_command_line_prints_each_failure_with_its_fix_and_exits_1(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMOKE_ALARM_NAME", ALARM)
    out = io.StringIO()
    cloudwatch = FakeCloudWatch(lambda: action_item("Failed", NOW, KMS_ERROR))
    argv = ["--smoke", "--tpe", "0900157", "--api-url", API]
    code = golive.main(argv, out, http=in_process_api(aws.deps, lambda_context), cloudwatch=cloudwatch)
    kept, *lines = out.getvalue().splitlines()
    assert kept == "smoke result not kept: RECONCILIATION_BUCKET is not set (the console shows no result)"
    assert code == 1
    assert [line.split(":")[0] for line in lines if not line.startswith("     ->")][:-1] == [
        "ok   order", "ok   checkout", "ok   confirmation", "ok   second_session", "ok   order_read", "FAIL alarm",
        "ok   cleanup",
    ]  # fmt: skip
    assert lines[-3].startswith("     -> let cloudwatch.amazonaws.com use the topic's key")
    assert lines[-1] == "the stack does not work yet"
    assert made_orders(aws) == []


def test_the_command_line_exits_0_on_a_working_stack(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMOKE_ALARM_NAME", ALARM)
    out = io.StringIO()
    argv = ["--smoke", "--tpe", "0900157", "--api-url", API]
    code = golive.main(argv, out, http=in_process_api(aws.deps, lambda_context), cloudwatch=FakeCloudWatch(succeeded))
    assert (code, out.getvalue().splitlines()[-1]) == (0, "the stack works")


def test_the_command_line_needs_the_api_url(aws: Any) -> None:
    out = io.StringIO()
    assert golive.main(["--smoke", "--tpe", "0900157"], out) == 2
    assert out.getvalue() == "cannot run the smoke test: --api-url (or API_URL) must be the stack's ApiUrl output\n"


def test_the_command_line_without_a_region_says_so_in_one_line_and_exits_2(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    out = io.StringIO()
    assert golive.main(["--smoke", "--tpe", "0900157", "--api-url", API], out) == 2
    assert out.getvalue() == (
        "cannot check: You must specify a region. (set AWS_DEFAULT_REGION and the account's credentials)\n"
    )


def test_an_order_left_by_a_failed_cleanup_is_said(aws: Any, lambda_context: Any) -> None:
    run = smoke(aws, lambda_context, FakeCloudWatch(succeeded))

    def refused(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "DeleteItem")

    aws.dynamodb.meta.events.register("before-call.dynamodb.DeleteItem", refused)
    cleanup = run.run()[-1]
    assert not cleanup.ok
    assert cleanup.detail.startswith(f"order {run._reference} not deleted (")
    assert cleanup.fix.startswith("allow dynamodb:DeleteItem on ORDER# items")
    aws.dynamodb.meta.events.unregister("before-call.dynamodb.DeleteItem", refused)
    assert [item["reference"]["S"] for item in made_orders(aws)] == [run._reference]  # expires as any unpaid order
