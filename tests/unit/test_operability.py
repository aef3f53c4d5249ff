"""Operability in the template: the event archive, the on-call dashboard, and for each dead-letter queue the
command its messages go back with (moto runs neither dashboards nor SQS message move tasks: an AWS CLI command's
arguments are checked against botocore's model of the API, as the AWS CLI builds the call from it; the order events'
redrive, ``python -m orders.redrive``, is run on moto in tests/functional/test_redrive.py)."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import botocore.session
import pytest

from orders.redrive import arguments
from stacktools.template import ROOT, Resolver, Template
from tests.support.readme import text

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
    assert f"{source}DeadLettersRedriveCommand" in text()


# Each dead-letter queue, and the output that says what to do with its messages.
DEAD_LETTERS = {
    "ConfirmationDeadLetterQueue": "ConfirmationDeadLettersRedriveCommand",
    "OrderMailDeadLetterQueue": "OrderMailDeadLettersRedriveCommand",
    "ShopWebhookDeadLetterQueue": "ShopWebhookDeadLettersRedriveCommand",
    "OrderEventsDeadLetterQueue": "OrderEventsDeadLettersReadCommand",
    "ReconciliationDeadLetterQueue": "ReconciliationDeadLettersRedriveCommand",
}


DEAD_LETTER_ARN = {"RedrivePolicy": "deadLetterTargetArn", "DeadLetterConfig": "Arn", "OnFailure": "Destination"}


def _dead_letter_targets(node: Any) -> set[str]:
    """The queues the template names as a dead-letter queue: an SQS redrive policy's target, an EventBridge target's
    DeadLetterConfig, an event source's or asynchronous invocation's OnFailure destination."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            arn = DEAD_LETTER_ARN.get(key)
            if arn and isinstance(value, dict) and "Fn::GetAtt" in value.get(arn, {}):
                found.add(value[arn]["Fn::GetAtt"][0])
            found |= _dead_letter_targets(value)
    elif isinstance(node, list):
        for item in node:
            found |= _dead_letter_targets(item)
    return found


def test_every_dead_letter_queue_has_an_output_saying_what_to_do_with_its_messages(template: Template) -> None:
    dead = _dead_letter_targets(template.resources)
    assert dead == set(DEAD_LETTERS), "a dead-letter queue with no command (or a command for no such queue)"
    outputs = template.data["Outputs"]
    for queue, output in DEAD_LETTERS.items():
        assert template.resources[queue]["Type"] == "AWS::SQS::Queue"
        assert f"${{{queue}" in str(outputs[output]["Value"]), f"{output} names {queue}"
        assert outputs[output].get("Condition") == template.resources[queue].get("Condition"), output
    rows = [line for line in text().splitlines() if line.startswith("| `")]
    for queue, output in DEAD_LETTERS.items():
        (row,) = [row for row in rows if row.startswith(f"| `{queue}` |")] or [""]
        assert f"`{output}`" in row, f"the dead-letter table (docs/operate.md): {queue}, what a message is and {output}"


def test_the_order_events_of_the_mail_and_webhook_dead_letters_go_back_with_the_stack_output(
    template: Template,
) -> None:
    """The mail queue is the mail function's on-failure destination (its messages: Lambda's invocation records), the
    webhook's the EventBridge target's dead-letter queue (its messages: the events); orders.redrive reads both."""
    urls = {queue: f"https://sqs.eu-west-3.amazonaws.com/123456789012/merchant-kit-{queue}-X" for queue in DEAD_LETTERS}
    resolver = Resolver(
        template, resources={**urls, "OrderEventsBus": "merchant-kit-orders"}, stack_name="merchant-kit"
    )
    for queue in ("OrderMailDeadLetterQueue", "ShopWebhookDeadLetterQueue"):
        command = shlex.split(resolver.resolve(template.data["Outputs"][DEAD_LETTERS[queue]]["Value"]))
        # run from the checkout's root, as printed: a bare `python` outside .venv has no `orders`
        assert command[:3] == [".venv/bin/python", "-m", "orders.redrive"]
        parsed = arguments().parse_args(command[3:])
        assert (parsed.queue_url, parsed.bus) == (urls[queue], "merchant-kit-orders")
    destination = template.properties_of("OrderMailFunction")["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert destination == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["OrderMailDeadLetterQueue", "Arn"]}}
    (target,) = template.properties_of("ShopWebhookRule")["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ShopWebhookDeadLetterQueue", "Arn"]}}


def test_the_order_events_dead_letters_are_read_with_the_command_the_stack_outputs(template: Template) -> None:
    """SQS API reference, ReceiveMessage: QueueUrl required; a visibility timeout of 0 leaves the messages for the
    next reader. AWS Lambda developer guide, DynamoDB streams' on-failure destination: the record says the batch's
    shard and sequence numbers and arrival times, not the records."""
    url = "https://sqs.eu-west-3.amazonaws.com/123456789012/merchant-kit-OrderEventsDeadLetterQueue-X"
    resolver = Resolver(template, resources={"OrderEventsDeadLetterQueue": url}, stack_name="merchant-kit")
    command = shlex.split(resolver.resolve(template.data["Outputs"]["OrderEventsDeadLettersReadCommand"]["Value"]))
    assert command[:3] == ["aws", "sqs", "receive-message"]
    options = dict(zip(command[3::2], command[4::2], strict=True))
    assert options["--queue-url"] == url
    model = botocore.session.get_session().get_service_model("sqs").operation_model("ReceiveMessage")
    given = {_member(option) for option in options}
    assert given <= set(model.input_shape.members), "an option the SQS API does not take"
    assert set(model.input_shape.required_members) <= given


def _member(option: str) -> str:
    """The API member an AWS CLI option names: --source-arn is SourceArn."""
    return "".join(word.capitalize() for word in option.removeprefix("--").split("-"))


def test_the_api_requests_are_sampled_at_the_rate_the_stack_is_given(template: Template) -> None:
    """API Gateway developer guide, "Configure AWS X-Ray sampling rules for API Gateway APIs": service name
    {api name}/{stage}, service type AWS::ApiGateway::Stage, resource ARN the stage's. X-Ray API reference,
    SamplingRule: RuleName at most 32 characters, FixedRate from 0 to 1."""
    parameter = template.parameters["TracingSamplingRate"]
    assert (parameter["Type"], parameter["MinValue"], parameter["MaxValue"]) == ("Number", 0, 1)
    stack = "merchant-kit-a-stack-name-longer-than-thirty-two-characters"
    stack_id = f"arn:aws:cloudformation:eu-west-3:123456789012:stack/{stack}/1c2fa620-982a-11e3-aff7-50e2416294e0"

    class Deployed(Resolver):
        def pseudo(self, name: str) -> Any:
            return stack_id if name == "AWS::StackId" else super().pseudo(name)

    deployed = Deployed(
        template, parameters={"TracingSamplingRate": 0.2}, resources={"Api": "a1b2c3d4e5"}, stack_name=stack
    )
    rule = deployed.resolve(template.properties_of("ApiSamplingRule")["SamplingRule"])
    api = template.properties_of("Api")
    assert rule["ServiceName"] == f"{deployed.resolve(api['Name'])}/{deployed.resolve(api['StageName'])}"
    assert rule["ServiceName"] == f"{stack}/v1"
    assert rule["ResourceARN"] == "arn:aws:apigateway:eu-west-3::/restapis/a1b2c3d4e5/stages/v1"
    assert (rule["ServiceType"], rule["FixedRate"], rule["ReservoirSize"]) == ("AWS::ApiGateway::Stage", 0.2, 1)
    assert rule["RuleName"] == "merchant-kit-1c2fa620"
    assert len(rule["RuleName"]) <= 32
    assert 1 <= rule["Priority"] < 10000, "before X-Ray's default rule (priority 10000)"
    assert (rule["Host"], rule["HTTPMethod"], rule["URLPath"]) == ("*", "*", "*")
    assert api["TracingEnabled"] is True
    assert template.data["Globals"]["Function"]["Tracing"] == "Active"
