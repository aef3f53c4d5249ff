"""Every metric the code emits that signals trouble has an alarm; every alarm watches a metric that exists.

The metric names are read from the code (``add_metric(name=...)``, and CGI2's outcome table), the namespace and
the ``service`` dimension from the environment the template gives the functions (Powertools reads them there).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from local.template import ROOT, Template

CODE = [*ROOT.glob("functions/*/*.py"), *ROOT.glob("layers/*/*/*.py")]
# Metrics that only inform (counts of normal work): no alarm, and why.
INFORMATIONAL = {
    "OrdersCreated": "normal work",
    "Confirmations": "normal work: every confirmation applied",
    "ConfirmationReplays": "the bank sending a confirmation again is normal (its retries)",
    "QueuedConfirmationsApplied": "the queue doing its job; its trouble is ConfirmationsQueued and the dead letters",
    "QueuedConfirmationsRetried": "retries end in the dead-letter queue, which is alarmed",
    "BackOfficeOperations": "normal work",
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
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "ConfirmationDeadLetterQueue"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "OrderEventsDeadLetterQueue"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "OrderMailDeadLetterQueue"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "ShopWebhookDeadLetterQueue"),
    ("AWS/Lambda", "IteratorAge", "OrderEventsFunction"),
    ("AWS/Lambda", "Errors", "ReconciliationFunction"),
}
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
def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {name: res["Properties"] for name, res in template.resources_of_type("AWS::CloudWatch::Alarm").items()}


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
    ours = {name: alarm for name, alarm in alarms.items() if alarm["Namespace"] == namespace}
    watched = {alarm["MetricName"] for alarm in ours.values()}
    assert watched == emitted - set(INFORMATIONAL), "a trouble metric without an alarm, or an alarm on nothing"
    for name, alarm in ours.items():
        assert alarm["Dimensions"] == [{"Name": "service", "Value": service}], name


def test_the_aws_metrics_that_signal_trouble_are_alarmed(template: Template, alarms: dict[str, dict[str, Any]]) -> None:
    found = set()
    for name, alarm in alarms.items():
        if not alarm["Namespace"].startswith("AWS/"):
            continue
        values = [dimension["Value"] for dimension in alarm["Dimensions"]]
        target = values[0].get("Ref") or values[0]["Fn::GetAtt"][0]
        assert target in template.resources or target.startswith("AWS::"), name
        found.add((alarm["Namespace"], alarm["MetricName"], target))
    assert found == AWS_ALARMS
    api = template.properties_of("Api")
    assert api["Name"] == {"Ref": "AWS::StackName"}, "the 5XX alarm's ApiName dimension"


def test_every_alarm_notifies_the_topic_and_says_what_to_do(alarms: dict[str, dict[str, Any]]) -> None:
    assert len(alarms) >= 12
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert len(alarm["AlarmDescription"]) > 60, name


def test_readme_explains_every_alarm(alarms: dict[str, dict[str, Any]]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in alarms:
        assert f"`{name}`" in readme, f"the README's deploy section does not explain {name}"
