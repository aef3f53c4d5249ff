"""Every metric the code emits that signals trouble has an alarm; every alarm watches a metric that exists.

The metric names are read from the code (``add_metric(name=...)``, and CGI2's outcome table), the namespace and
the ``service`` dimension from the environment the template gives the functions (Powertools reads them there).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from stacktools.template import ROOT, Resolver, Template

CODE = [*ROOT.glob("functions/*/*.py"), *ROOT.glob("layers/*/*/**/*.py")]  # the packages' subpackages too
# Metrics that only inform (counts of normal work): no alarm, and why.
INFORMATIONAL = {
    "OrdersCreated": "normal work",
    "Confirmations": "normal work: every confirmation applied",
    "ConfirmationReplays": "the bank sending a confirmation again is normal (its retries)",
    "QueuedConfirmationsApplied": "the queue doing its job; its trouble is ConfirmationsQueued and the dead letters",
    "QueuedConfirmationsRetried": "retries end in the dead-letter queue, which is alarmed",
    "BackOfficeOperations": "normal work",
    "ShopKeysRefused": "a shop sending a revoked, expired or wrong key: answered 401, each saying why",
    "ShopKeysLastUseNotWritten": "the key's call goes on; its last use is written at a later call",
    "BankStateDiffered": "the merchant acted in the bank's dashboard: recorded on the order, answered 409",
    "SweepDue": "normal work",
    "GiveBacks": "normal work: second payments given back (each also an order review)",
    "GiveBacksDeferred": "left to the sweeper's next run, whose failures are SweepFailures",
    "SweepsUnfinished": "the next run goes on from there; what fails is SweepFailures",
    "OrderEventsPublished": "normal work; what fails is OrderEventsNotPublished",
    "MailsSent": "normal work; what fails is MailsNotSent",
    "ReconciliationChecked": "normal work",
    "ReconciliationRepaired": "a repair is applied and reported; what is left is ReconciliationDifferences",
}
# AWS metrics with an alarm: (namespace, metric, the resource its dimension names).
AWS_ALARMS = {
    ("AWS/Lambda", "Errors", "Cgi2Function"),
    ("AWS/Lambda", "Throttles", "Cgi2Function"),
    ("AWS/Lambda", "Errors", "DeferredSweeperFunction"),
    ("AWS/ApiGateway", "5XXError", "AWS::StackName"),
    ("AWS/ApiGateway", "4XXError", "AWS::StackName"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "ConfirmationDeadLetterQueue"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "ReconciliationDeadLetterQueue"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "OrderEventsDeadLetterQueue"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "OrderMailDeadLetterQueue"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "ShopWebhookDeadLetterQueue"),
    ("AWS/Lambda", "IteratorAge", "OrderEventsFunction"),
    ("AWS/Lambda", "Errors", "ReconciliationFunction"),
}
SMOKE_ALARM = "SmokeTestAlarm"
LITERAL = re.compile(r'add_metric\(\s*name="(\w+)"')
ANY_CALL = re.compile(r"add_metric\(\s*name=([^,]+),")
OUTCOME_TABLE = re.compile(r'Answer\("(\w+)"')  # CGI2's outcome → metric table
ERROR_METRIC = re.compile(r'^\s+metric = "(\w+)"', re.MULTILINE)  # an error class's metric (orders.exceptions)


def code_metrics(files: list[Path]) -> set[str]:
    names = set()
    for path in files:
        source = path.read_text(encoding="utf-8")
        for argument in ANY_CALL.findall(source):
            # A name that is not a literal must come from a table read below, or it would go unseen here.
            allowed = ("answer.metric", "exc.metric")
            assert argument.startswith('"') or argument in allowed, f"{path}: add_metric(name={argument})"
        names |= set(LITERAL.findall(source)) | set(OUTCOME_TABLE.findall(source)) | set(ERROR_METRIC.findall(source))
    return names


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def all_alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {name: res["Properties"] for name, res in template.resources_of_type("AWS::CloudWatch::Alarm").items()}


@pytest.fixture(scope="module")
def alarms(all_alarms: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The alarms on one metric (those on an expression are tests/unit/test_bank_route.py's)."""
    return {name: alarm for name, alarm in all_alarms.items() if "Metrics" not in alarm}


def test_the_code_is_read(template: Template) -> None:
    names = code_metrics(CODE)
    assert {"ConfirmationsNotStored", "Confirmations", "SweepFailures", "OrdersNeedingReview"} <= names
    assert "QueuedConfirmationsApplied" in names


def test_every_trouble_metric_has_an_alarm_and_every_alarm_a_metric(
    template: Template, alarms: dict[str, dict[str, Any]]
) -> None:
    variables = template.globals_for("Function")["Environment"]["Variables"]
    namespace, service = variables["POWERTOOLS_METRICS_NAMESPACE"], variables["POWERTOOLS_SERVICE_NAME"]
    for function in template.functions():  # one namespace and service for all: the alarms' dimensions
        assert function.environment["POWERTOOLS_METRICS_NAMESPACE"] == namespace
        assert function.environment["POWERTOOLS_SERVICE_NAME"] == service
        source = function.module_path.read_text(encoding="utf-8")
        assert "Metrics(" not in source or "Metrics()" in source, f"{function.logical_id} names its own namespace"
    emitted = code_metrics(CODE)
    assert set(INFORMATIONAL) <= emitted, "an informational metric the code no longer emits"
    # SmokeTestAlarm watches a metric nothing emits, on purpose: only the smoke test sets it (orders.smoke).
    ours = {name: alarm for name, alarm in alarms.items() if alarm["Namespace"] == namespace and name != SMOKE_ALARM}
    watched = {alarm["MetricName"] for alarm in ours.values()}
    assert watched == emitted - set(INFORMATIONAL), "a trouble metric without an alarm, or an alarm on nothing"
    assert alarms[SMOKE_ALARM]["MetricName"] not in emitted, "the smoke test's alarm never fires by itself"
    for name, alarm in ours.items():
        assert alarm["Dimensions"] == [{"Name": "service", "Value": service}], name


def test_the_aws_metrics_that_signal_trouble_are_alarmed(template: Template, alarms: dict[str, dict[str, Any]]) -> None:
    found = set()
    for name, alarm in alarms.items():
        if not str(alarm["Namespace"]).startswith("AWS/"):
            continue
        values = [dimension["Value"] for dimension in alarm["Dimensions"]]
        target = values[0].get("Ref") or values[0]["Fn::GetAtt"][0]
        assert target in template.resources or target.startswith("AWS::"), name
        found.add((alarm["Namespace"], alarm["MetricName"], target))
    assert found == AWS_ALARMS
    api = template.properties_of("Api")
    assert api["Name"] == {"Ref": "AWS::StackName"}, "the 5XX alarm's ApiName dimension"


def test_every_alarm_notifies_the_topic_and_says_what_to_do(all_alarms: dict[str, dict[str, Any]]) -> None:
    assert len(all_alarms) >= 12
    for name, alarm in all_alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert len(alarm["AlarmDescription"]) > 60, name


# -- delivery: what CloudWatch needs to publish an alarm (moto delivers none: the rules are AWS's, quoted) --------

CLOUDWATCH = "cloudwatch.amazonaws.com"


def test_the_alarm_topic_is_never_on_the_aws_managed_sns_key(template: Template) -> None:
    """SNS developer guide, "Key management" (sns-key-management.html), "Enable compatibility between event sources
    from AWS services and encrypted topics": a service such as CloudWatch publishing to an encrypted topic needs "a
    customer managed key" whose key policy lets the service principal use "kms:GenerateDataKey*" and "kms:Decrypt";
    the AWS managed key for Amazon SNS (alias/aws/sns) has a key policy that cannot be changed to allow it."""
    topic = template.resources["AlarmTopic"]["Properties"]
    assert "alias/aws/sns" not in str(topic)
    assert topic["KmsMasterKeyId"] == {"Fn::If": ["EncryptsAlarms", {"Ref": "AlarmTopicKey"}, {"Ref": "AWS::NoValue"}]}
    key = template.resources["AlarmTopicKey"]
    assert key["Condition"] == "EncryptsAlarms"
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in statements if s["Principal"] == {"Service": CLOUDWATCH}]
    assert cloudwatch["Effect"] == "Allow"
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert "Condition" not in cloudwatch, "AWS's example statement has none: a wrong condition drops every alarm"
    (account,) = [s for s in statements if "AWS" in s["Principal"]]
    assert account["Principal"]["AWS"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    assert Resolver(template).condition("EncryptsAlarms"), "encrypted by default"


def test_an_unencrypted_alarm_topic_is_a_plain_choice(template: Template) -> None:
    parameter = template.parameters["AlarmTopicEncryption"]
    assert parameter["AllowedValues"] == ["kms", "none"]
    assert parameter["Default"] == "kms"
    assert "alias/aws/sns" in parameter["Description"], "says why the AWS managed key is no option"
    assert not Resolver(template, parameters={"AlarmTopicEncryption": "none"}).condition("EncryptsAlarms")


def test_cloudwatch_may_publish_to_the_alarm_topic(template: Template) -> None:
    """SNS's access policy: an AWS::SNS::TopicPolicy replaces the topic's default policy, so the statement
    CloudWatch's alarms need is written out: the service principal may sns:Publish, for this account only
    (aws:SourceAccount, the confused-deputy guard)."""
    policies = template.resources_of_type("AWS::SNS::TopicPolicy")
    (policy,) = [p["Properties"] for p in policies.values() if {"Ref": "AlarmTopic"} in p["Properties"]["Topics"]]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": CLOUDWATCH}
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == {"Ref": "AlarmTopic"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_alarm_email_is_required_and_subscribed(template: Template) -> None:
    parameter = template.parameters["AlarmEmail"]
    assert "Default" not in parameter, "asked at deploy time, never empty by default"
    assert parameter["MinLength"] >= 3
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("ops@shop.example")
    for wrong in ("", " ", "ops", "ops@", "@shop.example", "ops@shop", "o ps@shop.example"):
        assert not pattern.fullmatch(wrong), wrong
    subscription = template.resources["AlarmEmailSubscription"]
    assert "Condition" not in subscription
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }
