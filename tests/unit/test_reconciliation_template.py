"""The reconciliation's fan-out in template.yaml: the queue of parts (kept, encrypted, its dead letters), the
consumer's own least-privilege role, and the concurrency toward the bank as a parameter."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from stacktools.template import ROOT, Template

QUEUE = {"Fn::GetAtt": ["ReconciliationQueue", "Arn"]}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


def statements(template: Template, role: str) -> list[dict[str, Any]]:
    properties = template.properties_of(role)
    return [s for policy in properties["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_parts_queue_is_kept_encrypted_and_its_dead_letters_alarmed(template: Template) -> None:
    for name in ("ReconciliationQueue", "ReconciliationDeadLetterQueue"):
        resource = template.resources[name]
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain"), name
        assert resource["Properties"]["SqsManagedSseEnabled"] is True, name
    queue = template.properties_of("ReconciliationQueue")
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ReconciliationDeadLetterQueue", "Arn"]}
    # AWS Lambda developer guide, "Using Lambda with Amazon SQS": a visibility timeout at least six times the
    # function's timeout, or a part still being checked is handed to a second instance.
    timeout = template.properties_of("ReconciliationPartsFunction")["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout
    alarm = template.properties_of("ReconciliationDeadLettersAlarm")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ReconciliationDeadLetterQueue", "QueueName"]}}
    ]


def test_the_parts_run_at_most_the_parameters_concurrency_one_part_an_invocation(template: Template) -> None:
    """Lambda's SQS event source: ScalingConfig.MaximumConcurrency bounds the concurrent invocations it makes,
    from 2 to 1000 (AWS Lambda API reference, ScalingConfig)."""
    (event,) = template.properties_of("ReconciliationPartsFunction")["Events"].values()
    assert event["Type"] == "SQS"
    properties = event["Properties"]
    assert properties["Queue"] == QUEUE
    assert properties["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "ReconciliationConcurrency"}}
    assert properties["BatchSize"] == 1, "one part an invocation: its time budget is the invocation's"
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    parameter = template.parameters["ReconciliationConcurrency"]
    assert (parameter["Type"], parameter["MinValue"], parameter["MaxValue"]) == ("Number", 2, 1000)
    assert 2 <= parameter["Default"] <= 1000


def test_a_parts_budget_leaves_it_time_to_check(template: Template) -> None:
    path = ROOT / "functions" / "reconciliation_parts" / "app.py"
    spec = importlib.util.spec_from_file_location("_reconciliation_parts_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    timeout = template.properties_of("ReconciliationPartsFunction")["Timeout"]
    assert timeout >= module.MARGIN_SECONDS * 2, "at least as long to check as to keep the piece"


def test_the_parts_consumer_has_its_own_role_scoped_to_its_queue_bucket_and_orders(template: Template) -> None:
    function = template.properties_of("ReconciliationPartsFunction")
    assert function["Role"] == {"Fn::GetAtt": ["ReconciliationPartsFunctionRole", "Arn"]}
    role = template.properties_of("ReconciliationPartsFunctionRole")
    managed = [arn for arn in role["ManagedPolicyArns"] if isinstance(arn, dict) and "Fn::Sub" in arn]
    assert all("AWSLambdaSQSQueueExecutionRole" not in arn["Fn::Sub"] for arn in managed)
    granted: dict[str, list[Any]] = {}
    for statement in statements(template, "ReconciliationPartsFunctionRole"):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action
            granted.setdefault(action, []).extend(as_list(statement["Resource"]))
            if action.startswith("dynamodb:"):
                leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                assert leading == ["ORDER#*"], "orders only"
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage"):
        assert granted.pop(action) == [QUEUE], action
    assert (
        granted.pop("dynamodb:GetItem")
        == granted.pop("dynamodb:UpdateItem")
        == [{"Fn::GetAtt": ["OrdersTable", "Arn"]}]
    )
    objects = [
        {"Fn::Sub": "${ReconciliationBucket.Arn}/runs/*"},
        {"Fn::Sub": "${ReconciliationBucket.Arn}/reconciliation/*"},
    ]
    assert granted.pop("s3:GetObject") == granted.pop("s3:PutObject") == objects, "never imports/"
    assert granted.pop("s3:ListBucket") == [{"Fn::GetAtt": ["ReconciliationBucket", "Arn"]}]
    assert granted.pop("events:PutEvents") == [{"Fn::GetAtt": ["OrderEventsBus", "Arn"]}]
    assert granted == {}


def test_the_planner_sends_parts_and_writes_no_order(template: Template) -> None:
    function = template.properties_of("ReconciliationFunction")
    assert function["Environment"]["Variables"]["RECONCILIATION_QUEUE_URL"] == {"Ref": "ReconciliationQueue"}
    held = [s for policy in function["Policies"] if "Statement" in policy for s in policy["Statement"]]
    actions = {action: s["Resource"] for s in held for action in as_list(s["Action"])}
    assert actions["sqs:SendMessage"] == QUEUE
    assert "dynamodb:UpdateItem" not in actions, "the repairs are the parts'"
    parts = template.properties_of("ReconciliationPartsFunction")["Environment"]["Variables"]
    assert parts["RECONCILIATION_QUEUE_URL"] == {"Ref": "ReconciliationQueue"}
    assert parts["RECONCILIATION_BUCKET"] == {"Ref": "ReconciliationBucket"}
