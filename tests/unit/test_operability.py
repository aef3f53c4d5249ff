"""Operability in the template: the event archive, the on-call dashboard, and the command that moves the
confirmation dead letters back (moto runs neither dashboards nor SQS message move tasks: the command's arguments
are checked against botocore's model of the SQS API, as the AWS CLI builds the call from it)."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import botocore.session
import pytest

from local.template import ROOT, Resolver, Template

CODE = "\n".join(p.read_text(encoding="utf-8") for p in [*ROOT.glob("functions/*/*.py"), *ROOT.glob("layers/*/*/*.py")])
QUEUES = ("ConfirmationQueue", "ConfirmationDeadLetterQueue", "OrderEventsDeadLetterQueue", "OrderMailDeadLetterQueue")


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


def _resolver(template: Template) -> Resolver:
    attributes = {f"{queue}.QueueName": f"merchant-kit-{queue}-X" for queue in QUEUES}
    for queue in ("ConfirmationDeadLetterQueue", "ReconciliationDeadLetterQueue"):
        attributes[f"{queue}.Arn"] = f"arn:aws:sqs:eu-west-3:123456789012:merchant-kit-{queue}"
    return Resolver(
        template,
        resources={"Cgi2LogGroup": "merchant-kit-Cgi2LogGroup-X"},
        attributes=attributes,
        stack_name="merchant-kit",
    )


def test_every_order_event_is_archived_as_long_as_the_logs(template: Template) -> None:
    """EventBridge user guide, "Archiving and replaying events": an archive on a bus keeps its events for
    RetentionDays, and a replay sends them to the bus again."""
    archive = template.resources["OrderEventsArchive"]
    assert archive["Type"] == "AWS::Events::Archive"
    assert "Condition" not in archive
    assert archive["Properties"]["SourceArn"] == {"Fn::GetAtt": ["OrderEventsBus", "Arn"]}
    assert archive["Properties"]["RetentionDays"] == {"Ref": "LogRetentionDays"}
    assert "EventPattern" not in archive["Properties"], "every event"


def test_the_dashboard_shows_what_the_on_call_needs_from_metrics_that_exist(template: Template) -> None:
    body = json.loads(_resolver(template).resolve(template.properties_of("OperationsDashboard")["DashboardBody"]))
    widgets = {widget["properties"]["title"]: widget for widget in body["widgets"]}
    for topic in ("Confirmations", "refused, by reason", "Queue depth", "Reviews", "reconciliation"):
        assert any(topic in title for title in widgets), topic
    ours = set()
    for widget in body["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            namespace, name, *dimensions = metric
            if namespace == "MerchantKit/merchant-kit":
                assert dimensions == ["service", "merchant-kit"], name
                ours.add(name)
            elif namespace == "AWS/SQS":
                assert dimensions[1] in {f"merchant-kit-{queue}-X" for queue in QUEUES}
            else:
                assert (namespace, name) == ("AWS/ApiGateway", "4XXError")
    for name in ours:
        assert f'"{name}"' in CODE, f"the dashboard shows {name}, which no code emits"
    (log,) = [w["properties"] for w in body["widgets"] if w["type"] == "log"]
    assert log["query"].startswith("SOURCE 'merchant-kit-Cgi2LogGroup-X' |")
    logged = re.search(r"filter message = '([^']+)'", log["query"])
    assert logged
    assert f'"{logged.group(1)}"' in (ROOT / "functions" / "cgi2" / "app.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("source", ["Confirmation", "Reconciliation"])
def test_the_dead_letters_move_back_with_the_command_the_stack_outputs(template: Template, source: str) -> None:
    """SQS API reference, StartMessageMoveTask: SourceArn, a dead-letter queue, is required; without DestinationArn
    the messages go back to the queues they came from (here the queue whose redrive names it)."""
    output = template.data["Outputs"][f"{source}DeadLettersRedriveCommand"]
    command = shlex.split(_resolver(template).resolve(output["Value"]))
    assert command[:3] == ["aws", "sqs", "start-message-move-task"]
    options = dict(zip(command[3::2], command[4::2], strict=True))
    assert options == {"--source-arn": f"arn:aws:sqs:eu-west-3:123456789012:merchant-kit-{source}DeadLetterQueue"}
    redrive = template.properties_of(f"{source}Queue")["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [f"{source}DeadLetterQueue", "Arn"]}
    model = botocore.session.get_session().get_service_model("sqs").operation_model("StartMessageMoveTask")
    members: dict[str, Any] = model.input_shape.members
    given = {_member(option) for option in options}
    assert given <= set(members), "an option the SQS API does not take"
    assert set(model.input_shape.required_members) <= given
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"{source}DeadLettersRedriveCommand" in readme


def _member(option: str) -> str:
    """The API member an AWS CLI option names: --source-arn is SourceArn."""
    return "".join(word.capitalize() for word in option.removeprefix("--").split("-"))
