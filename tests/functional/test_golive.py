"""The go-live check: a terminal failing every point, each with what to do, then passing once they are fixed."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import boto3

from orders import golive
from orders.exceptions import ConfigurationError
from orders.terminals import Terminals
from tests.support.aws import mail_settings, terminals_config
from tests.support.merchant import confirm, stored_order

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
REAL_KEY = "0123456789ABCDEF0123456789ABCDEF01234567"
CGI2 = "https://api.shop.example/v1/confirmation"


def answering(status: int, body: str) -> golive.Probe:
    def probe(url: str, sent: bytes) -> tuple[int, str]:
        assert url == CGI2
        return status, body

    return probe


def check(aws: Any, tpe: str, probe: golive.Probe, topic: str) -> dict[str, golive.Check]:
    terminal = Terminals.from_json(aws.secrets.get_secret_value(SecretId=aws.secret_arn)["SecretString"]).get(tpe)
    checks = golive.golive(
        terminal,
        cgi2_url=CGI2,
        store=aws.store,
        now=NOW,
        probe=probe,
        ses=boto3.client("ses", region_name="eu-west-3"),
        sns=boto3.client("sns", region_name="eu-west-3"),
        kms=boto3.client("kms", region_name="eu-west-3"),
        alarm_topic_arn=topic,
        mail=aws.deps.mail_settings().get(tpe),
    )
    return {c.name: c for c in checks}


ACCOUNT = "123456789012"
# The key policy the stack gives the alarm topic's key (template.yaml, AlarmTopicKey): the account administers
# it, CloudWatch may use it to publish alarm notifications to the encrypted topic.
ROOT_STATEMENT = {
    "Sid": "Account",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
CLOUDWATCH_STATEMENT = {
    "Sid": "CloudWatchAlarms",
    "Effect": "Allow",
    "Principal": {"Service": "cloudwatch.amazonaws.com"},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "Resource": "*",
}
TOPIC_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "CloudWatchAlarms",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ],
}


def alarm_topic(*key_statements: dict[str, Any], alias: str = "", policy: dict[str, Any] | None = None) -> str:
    """A topic encrypted with a new key holding ``key_statements`` (or with ``alias``; neither: unencrypted),
    with ``policy`` as its access policy (SNS's default policy when ``None``), and one confirmed subscription."""
    sns = boto3.client("sns", region_name="eu-west-3")
    attributes = {}
    if key_statements:
        document = {"Version": "2012-10-17", "Statement": list(key_statements)}
        key = boto3.client("kms", region_name="eu-west-3").create_key(Policy=json.dumps(document))
        attributes["KmsMasterKeyId"] = key["KeyMetadata"]["KeyId"]
    elif alias:
        attributes["KmsMasterKeyId"] = alias
    topic = sns.create_topic(Name="alarms", Attributes=attributes)["TopicArn"]
    if policy is not None:
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy))
    sqs = boto3.client("sqs", region_name="eu-west-3")
    queue = sqs.create_queue(QueueName="alarm-mails")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic


def delivery(aws: Any, topic: str) -> dict[str, golive.Check]:
    checks = check(aws, "0900157", answering(200, CDR_1), topic)
    return {name: c for name, c in checks.items() if name.startswith("alarm")}


CDR_1 = "version=2\ncdr=1\n"


def test_alarms_on_the_aws_managed_sns_key_cannot_reach_anyone(aws: Any) -> None:
    """CloudWatch cannot use the AWS managed key alias/aws/sns (its key policy cannot be changed to let
    cloudwatch.amazonaws.com use it): every alarm action fails, whatever is subscribed."""
    checks = delivery(aws, alarm_topic(alias="alias/aws/sns", policy=TOPIC_POLICY))
    assert checks["alarms_subscribed"].ok
    assert not checks["alarm_topic_key"].ok
    assert "alias/aws/sns" in checks["alarm_topic_key"].detail
    assert "customer managed key" in checks["alarm_topic_key"].fix


def test_a_key_whose_policy_leaves_out_cloudwatch_fails(aws: Any) -> None:
    checks = delivery(aws, alarm_topic(ROOT_STATEMENT, policy=TOPIC_POLICY))
    assert not checks["alarm_topic_key"].ok
    assert "cloudwatch.amazonaws.com" in checks["alarm_topic_key"].fix
    only_decrypt = {**CLOUDWATCH_STATEMENT, "Action": "kms:Decrypt"}
    checks = delivery(aws, alarm_topic(ROOT_STATEMENT, only_decrypt, policy=TOPIC_POLICY))
    assert not checks["alarm_topic_key"].ok
    assert "kms:GenerateDataKey" in checks["alarm_topic_key"].detail


def test_a_topic_policy_that_lets_cloudwatch_publish_nothing_fails(aws: Any) -> None:
    others = {
        "Version": "2012-10-17",
        "Statement": [{**TOPIC_POLICY["Statement"][0], "Principal": {"Service": "events.amazonaws.com"}}],
    }
    checks = delivery(aws, alarm_topic(ROOT_STATEMENT, CLOUDWATCH_STATEMENT, policy=others))
    assert checks["alarm_topic_key"].ok
    assert not checks["alarm_topic_policy"].ok
    denied = {"Version": "2012-10-17", "Statement": [{**TOPIC_POLICY["Statement"][0], "Effect": "Deny"}]}
    assert not delivery(aws, alarm_topic(ROOT_STATEMENT, CLOUDWATCH_STATEMENT, policy=denied))["alarm_topic_policy"].ok


def test_the_stacks_key_and_topic_policy_let_alarms_through(aws: Any) -> None:
    checks = delivery(aws, alarm_topic(ROOT_STATEMENT, CLOUDWATCH_STATEMENT, policy=TOPIC_POLICY))
    assert {name: c.ok for name, c in checks.items()} == {
        "alarm_topic_key": True, "alarm_topic_policy": True, "alarms_subscribed": True,
    }  # fmt: skip
    assert "kms:Decrypt" in checks["alarm_topic_key"].detail


def test_an_unencrypted_topic_with_snss_default_policy_lets_alarms_through(aws: Any) -> None:
    """SNS's default access policy lets the topic owner's account publish: CloudWatch's alarms of that account."""
    checks = delivery(aws, alarm_topic())
    assert {name: c.ok for name, c in checks.items()} == {
        "alarm_topic_key": True, "alarm_topic_policy": True, "alarms_subscribed": True,
    }  # fmt: skip
    assert "not encrypted" in checks["alarm_topic_key"].detail


def test_a_terminal_fails_then_passes_once_every_point_is_fixed(aws: Any, lambda_context: Any) -> None:
    sns = boto3.client("sns", region_name="eu-west-3")
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    aws.use(mail_settings=lambda: mail_settings(**{"0900157": {"sender": "shop@shop.example"}}))
    aws.set_terminals(terminals_config(**{"0900157": {"return_ok_url": "http://shop.example/ok"}}))

    sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId", AttributeValue="alias/aws/sns")
    failing = check(aws, "0900157", answering(302, ""), topic)
    assert {name for name, c in failing.items() if not c.ok} == {
        "key", "cgi2_answers", "return_urls_https", "environment_and_hosts", "test_payments",
        "mail_sender_verified", "alarm_topic_key", "alarms_subscribed",
    }  # fmt: skip
    assert all(c.fix for c in failing.values() if not c.ok)
    assert "redirect" in failing["cgi2_answers"].detail
    assert "0 accepted and 0 refused" in failing["test_payments"].detail

    # The merchant pays once and is refused once on the test configuration ...
    stored_order(aws, "GOLIVE1")
    confirm(aws, lambda_context, reference="GOLIVE100")
    stored_order(aws, "GOLIVE2")
    confirm(aws, lambda_context, "Annulation", "", reference="GOLIVE200", reason="Refus")
    # ... the bank opens the terminal, its key goes in the secret, the rest is set up.
    production = {
        "key": REAL_KEY, "environment": "production",
        "return_ok_url": "https://shop.example/ok", "return_err_url": "https://shop.example/err",
    }  # fmt: skip
    aws.set_terminals(terminals_config(**{"0900157": production}))
    boto3.client("ses", region_name="eu-west-3").verify_email_identity(EmailAddress="shop@shop.example")
    sqs_arn = aws.sqs.get_queue_attributes(QueueUrl=aws.queue.url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sqs_arn["QueueArn"])
    key = boto3.client("kms", region_name="eu-west-3").create_key(
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [ROOT_STATEMENT, CLOUDWATCH_STATEMENT]})
    )
    sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId", AttributeValue=key["KeyMetadata"]["KeyId"])

    passing = check(aws, "0900157", answering(200, "version=2\ncdr=1\n"), topic)
    assert {name: c.ok for name, c in passing.items() if not c.ok} == {}
    assert passing["key"].detail.startswith("control string for the bank's support: V1.04.sha1.py--[CtlHmac3.0")
    assert "1 accepted and 1 refused" in passing["test_payments"].detail
    out = io.StringIO()
    assert golive.render(list(passing.values()), out)
    assert out.getvalue().endswith("ready for production\n")


def test_a_cgi2_answering_anything_but_cdr_1_to_garbage_fails(aws: Any) -> None:
    checks = check(aws, "0900157", answering(200, "version=2\ncdr=0\n"), "")
    assert not checks["cgi2_answers"].ok
    assert not checks["alarms_subscribed"].ok
    assert not checks["alarm_topic_key"].ok
    assert not checks["alarm_topic_policy"].ok


def test_the_cli_prints_each_point_and_exits_non_zero_when_not_ready(aws: Any) -> None:
    out = io.StringIO()
    assert golive.main(["--tpe", "0900157", "--cgi2-url", CGI2], out, answering(200, "version=2\ncdr=1\n")) == 1
    text = out.getvalue()
    assert "FAIL key: the terminal uses the kits' public test key" in text
    assert "     -> put the key the bank gave" in text
    assert text.endswith("not ready yet\n")
    assert golive.main(["--tpe", "9999999"], io.StringIO()) == 2


def test_the_console_route_answers_the_checks_as_json(aws: Any, lambda_context: Any) -> None:
    request = {
        "httpMethod": "GET",
        "resource": "/terminals/{tpe}/golive",
        "pathParameters": {"tpe": "0900157"},
        "headers": {"Host": "127.0.0.1:9", "X-Forwarded-Proto": "http"},
        "requestContext": {"stage": "v1"},
    }
    answer = aws.invoke("golive", request, lambda_context)
    assert answer["statusCode"] == 200
    body = json.loads(answer["body"])
    assert body["ready"] is False
    https = next(c for c in body["checks"] if c["name"] == "cgi2_https")
    assert (https["ok"], https["detail"]) == (False, "CGI2 URL http://127.0.0.1:9/confirmation")
    request["pathParameters"] = {"tpe": "9999999"}
    missing = aws.invoke("golive", request, lambda_context)
    assert (missing["statusCode"], json.loads(missing["body"])["error"]["field"]) == (404, "tpe")
    assert aws.deps.terminals().get("0900157").tpe == "0900157"


def test_the_console_route_answers_an_unreadable_configuration_as_a_json_error(aws: Any, lambda_context: Any) -> None:
    def unreadable() -> Terminals:
        raise ConfigurationError("the terminal secret cannot be read: AccessDenied")

    aws.use(terminals=unreadable)
    request = {"httpMethod": "GET", "resource": "/terminals/{tpe}/golive", "pathParameters": {"tpe": "0900157"}}
    answer = aws.invoke("golive", request, lambda_context)
    assert answer["statusCode"] == 500
    assert (
        json.loads(answer["body"])["error"]["message"]
        == "the terminal configuration is unusable; see the function's log"
    )
