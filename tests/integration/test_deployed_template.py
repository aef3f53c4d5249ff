"""The template as CloudFormation receives it, after the SAM transform: what actually gets deployed.

SAM adds resources and settings of its own (a second stage, caller credentials on integrations, roles and
managed policies): these tests read the transformed template, made by ``samtranslator`` in the tools
environment (``.tools``, which ``make test`` builds first), and hold it to what a payments team would sign off.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from local.template import ROOT, Resolver, Template

TOOLS_PYTHON = ROOT / ".tools" / "bin" / "python"
TABLE = {"Fn::GetAtt": ["OrdersTable", "Arn"]}
QUEUE = {"Fn::GetAtt": ["ConfirmationQueue", "Arn"]}
SECRET = {"Ref": "TerminalsSecretArn"}

# What each function's code calls, and why; a function is granted these and nothing else.
CODE_CALLS: dict[str, dict[str, str]] = {
    "Cgi1Function": {
        "dynamodb:GetItem": "GET /orders/{reference}",
        "dynamodb:PutItem": "a new order (a put on a reference never used)",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "CheckoutFunction": {
        "dynamodb:GetItem": "the order behind the token",
        "dynamodb:UpdateItem": "a new payment session (its role may write only sessions and version)",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "Cgi2Function": {
        "dynamodb:GetItem": "the confirmation's order",
        "dynamodb:PutItem": "an unmatched confirmation, kept once",
        "dynamodb:UpdateItem": "the confirmation applied to its order",
        "sqs:SendMessage": "the exact bytes, when the table fails",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "ConfirmationConsumerFunction": {
        "dynamodb:GetItem": "the confirmation's order",
        "dynamodb:PutItem": "an unmatched confirmation, kept once",
        "dynamodb:UpdateItem": "the confirmation applied to its order",
        "sqs:ChangeMessageVisibility": "the backoff of a message not applied yet",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "BackofficeFunction": {
        "dynamodb:GetItem": "the order, an Idempotency-Key's record",
        "dynamodb:UpdateItem": "the operation's journal, a key's answer",
        "dynamodb:PutItem": "an Idempotency-Key claimed",
        "dynamodb:DeleteItem": "an Idempotency-Key forgotten when its request did nothing",
        "dynamodb:Query": "orders by day (DateIndex)",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "DeferredSweeperFunction": {
        "dynamodb:GetItem": "the due order",
        "dynamodb:UpdateItem": "the operation's journal, the run's lease",
        "dynamodb:Query": "the due orders (DeadlineIndex), the second payments still to give back (GiveBackIndex)",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "GiveBackFunction": {
        "dynamodb:GetItem": "the order holding a second payment",
        "dynamodb:UpdateItem": "the give-back's journal entry and outcome",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "OrderEventsFunction": {
        "events:PutEvents": "the order events, on the stack's bus",
        "sqs:SendMessage": "Lambda's poller: a stream position it gave up on, to the dead-letter queue",
    },
    "OrderMailFunction": {
        "dynamodb:GetItem": "the event's order",
        "dynamodb:PutItem": "a mail claimed once (MAIL# items only)",
        "dynamodb:DeleteItem": "a claim released when SES refused the mail",
        "ses:SendRawEmail": "the mail",
        "sqs:SendMessage": "Lambda: an event whose mail failed three times, to the dead-letter queue",
        "secretsmanager:GetSecretValue": "the terminal's mail settings",
    },
    "ReconciliationFunction": {
        "dynamodb:GetItem": "the order compared",
        "dynamodb:UpdateItem": "a missed confirmation or a dashboard action repaired",
        "dynamodb:Query": "orders changed that day (ChangedIndex), orders awaiting payment by day (DateIndex)",
        "s3:GetObject": "the bank's uploaded file of captures",
        "s3:PutObject": "the report",
        "events:PutEvents": "ReconciliationReported",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "GoLiveFunction": {
        "dynamodb:Query": "the day's test payments (DateIndex)",
        "ses:GetIdentityVerificationAttributes": "the mail sender verified",
        "sns:ListSubscriptionsByTopic": "someone hears the alarms",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
}
# Where each action may apply (besides the table, its indexes and the terminal secret).
RESOURCES: dict[str, list[Any]] = {
    "sqs:ChangeMessageVisibility": [QUEUE],
    "sqs:SendMessage": [
        QUEUE,
        {"Fn::GetAtt": ["OrderEventsDeadLetterQueue", "Arn"]},
        {"Fn::GetAtt": ["OrderMailDeadLetterQueue", "Arn"]},
    ],
    "events:PutEvents": [{"Fn::GetAtt": ["OrderEventsBus", "Arn"]}],
    "s3:GetObject": [{"Fn::Sub": "${ReconciliationBucket.Arn}/*"}],
    "s3:PutObject": [{"Fn::Sub": "${ReconciliationBucket.Arn}/*"}],
    "ses:SendRawEmail": [{"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"}],
    # SES defines no resource type for this read-only call: "*" is the only resource it takes.
    "ses:GetIdentityVerificationAttributes": ["*"],
    "sns:ListSubscriptionsByTopic": [{"Ref": "AlarmTopic"}],
    "secretsmanager:GetSecretValue": [SECRET],
}
# AWS managed policies SAM attaches, and why they are acceptable (none grants data access).
AWS_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": "the function's own logs",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": "X-Ray traces (Tracing: Active)",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": "Lambda's poller reads the queue",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole": "Lambda's poller reads the table's stream",
}
# Which functions each poller's managed policy may belong to.
POLLERS = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": {"ConfirmationConsumerFunction"},
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole": {"OrderEventsFunction", "GiveBackFunction"},
}
DATA_SERVICES = ("dynamodb:", "sqs:", "secretsmanager:", "kms:", "s3:")


def transformed() -> dict[str, Any]:
    if not TOOLS_PYTHON.is_file():
        pytest.fail(f"{TOOLS_PYTHON} is missing: `make .tools/.stamp` builds the tools environment (samtranslator)")
    answer = subprocess.run(  # noqa: S603 - our own script, with the tools environment's python
        [str(TOOLS_PYTHON), str(ROOT / "tests" / "support" / "translate.py"), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        check=False,
        env={"AWS_DEFAULT_REGION": "eu-west-3", "PATH": "/usr/bin:/bin"},
    )
    assert answer.returncode == 0, answer.stderr
    return dict(json.loads(answer.stdout))


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return transformed()


@pytest.fixture(scope="module")
def resources(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(cfn["Resources"])


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


def of_type(resources: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in resources.items() if resource["Type"] == kind}


def integrations(resources: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, integration) of every operation of the REST API's OpenAPI body."""
    body = resources["Api"]["Properties"]["Body"]
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation["x-amazon-apigateway-integration"]


# -- the API --------------------------------------------------------------------------------------------------


def test_the_only_stage_is_the_parameters_and_no_deployment_makes_another(resources: dict[str, Any]) -> None:
    stages = of_type(resources, "AWS::ApiGateway::Stage")
    assert [stage["Properties"]["StageName"] for stage in stages.values()] == [{"Ref": "StageName"}]
    for name, deployment in of_type(resources, "AWS::ApiGateway::Deployment").items():
        assert "StageName" not in deployment["Properties"], f"{name} creates a stage of its own"


def test_no_integration_runs_with_the_callers_credentials(resources: dict[str, Any]) -> None:
    operations = list(integrations(resources))
    assert len(operations) == 13
    for method, path, integration in operations:
        assert "credentials" not in integration, f"{method} {path}: callers would need lambda:InvokeFunction"


def test_api_gateway_may_invoke_every_function_behind_a_route(resources: dict[str, Any], template: Template) -> None:
    permitted = {
        resource["Properties"]["FunctionName"]["Ref"]
        for resource in of_type(resources, "AWS::Lambda::Permission").values()
        if resource["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    assert permitted == {route.function for route in template.routes()}


def test_public_routes_are_throttled_on_the_stage(resources: dict[str, Any], template: Template) -> None:
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    settings = {
        (setting["HttpMethod"], setting["ResourcePath"].replace("~1", "/")[1:]): setting
        for setting in stage["Properties"]["MethodSettings"]
    }
    public = {(r.method, r.path) for r in template.routes() if r.authorizer == "NONE"}
    assert public == {("GET", "/checkout/{token}"), ("POST", "/confirmation")}
    for route in public:
        assert "ThrottlingRateLimit" in settings[route], route
        assert "ThrottlingBurstLimit" in settings[route], route
    parameters = template.parameters
    for name in ("CheckoutRateLimit", "CheckoutBurstLimit", "ConfirmationRateLimit", "ConfirmationBurstLimit"):
        assert parameters[name]["Type"] == "Number"
        assert parameters[name]["MinValue"] >= 1


def test_the_stage_writes_an_access_log_unless_told_not_to(resources: dict[str, Any], template: Template) -> None:
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    condition, enabled, disabled = stage["Properties"]["AccessLogSetting"]["Fn::If"]
    assert condition == "HasAccessLog"
    assert enabled["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    record = json.loads(enabled["Format"])
    assert {"requestId", "time", "ip", "caller", "method", "route", "status"} <= set(record)
    assert "$context.path" not in enabled["Format"], "a checkout path holds the buyer's token"
    assert disabled == {"Ref": "AWS::NoValue"}
    group = resources["ApiAccessLogGroup"]
    assert group["Condition"] == "HasAccessLog"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert Resolver(template).condition("HasAccessLog"), "on by default"
    assert not Resolver(template, parameters={"ApiAccessLog": "false"}).condition("HasAccessLog")


# -- functions: logs, concurrency, privileges -----------------------------------------------------------------


def test_every_function_logs_to_a_group_with_retention(resources: dict[str, Any]) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    assert len(functions) == 10
    groups = set()
    for name, function in functions.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[group]["Type"] == "AWS::Logs::LogGroup", name
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        groups.add(group)
    assert len(groups) == len(functions), "one log group per function"


def test_cgi2_reserved_concurrency_is_a_choice_off_by_default(resources: dict[str, Any], template: Template) -> None:
    reserved = resources["Cgi2Function"]["Properties"]["ReservedConcurrentExecutions"]
    assert choose({"Reserved": reserved}, Resolver(template)) == {}
    reserving = Resolver(template, parameters={"Cgi2ReservedConcurrency": "20"})
    assert choose(reserved, reserving) == {"Ref": "Cgi2ReservedConcurrency"}
    assert reserving.resolve(reserved) == "20"
    others = set(of_type(resources, "AWS::Lambda::Function")) - {"Cgi2Function"}
    assert all("ReservedConcurrentExecutions" not in resources[name]["Properties"] for name in others)


_REMOVED = object()


def choose(value: Any, resolver: Resolver) -> Any:
    """``value`` with every ``Fn::If`` decided by the resolver's parameters; other intrinsics left as they are."""
    if isinstance(value, list):
        return [item for item in (choose(v, resolver) for v in value) if item is not _REMOVED]
    if not isinstance(value, dict):
        return value
    if value == {"Ref": "AWS::NoValue"}:
        return _REMOVED
    if set(value) == {"Fn::If"}:
        name, when_true, when_false = value["Fn::If"]
        return choose(when_true if resolver.condition(name) else when_false, resolver)
    chosen = {key: choose(item, resolver) for key, item in value.items()}
    return {key: item for key, item in chosen.items() if item is not _REMOVED}


def _statements(document: dict[str, Any], resolver: Resolver) -> list[dict[str, Any]]:
    return list(choose(document["Statement"], resolver))


def granted(resources: dict[str, Any], function: str, resolver: Resolver) -> list[dict[str, Any]]:
    """Every statement the function's role holds: inline policies, and the template's own managed policies."""
    role = resources[resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = [s for policy in role.get("Policies", []) for s in _statements(policy["PolicyDocument"], resolver)]
    for arn in role.get("ManagedPolicyArns", []):
        if isinstance(arn, str):
            assert arn in AWS_MANAGED, f"{function}: {arn} is not an accepted AWS managed policy"
            assert function in POLLERS.get(arn, {function}), f"{function}: {arn}"
            continue
        policy = resources[arn["Ref"]]
        assert policy["Type"] == "AWS::IAM::ManagedPolicy"
        statements += _statements(policy["Properties"]["PolicyDocument"], resolver)
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


@pytest.mark.parametrize("function", sorted(CODE_CALLS))
def test_each_function_holds_exactly_the_data_actions_its_code_calls(
    resources: dict[str, Any], template: Template, function: str
) -> None:
    statements = granted(resources, function, Resolver(template))
    actions = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in _actions(statement):
            assert "*" not in action, f"{function}: wildcard action {action}"
            actions.add(action)
    assert actions == set(CODE_CALLS[function])
    for statement in statements:
        for action in _actions(statement):
            if action == "dynamodb:Query":
                assert statement["Resource"]["Fn::Sub"].startswith("${OrdersTable.Arn}/index/"), "an index"
            elif action.startswith("dynamodb:"):
                assert statement["Resource"] == TABLE
            else:
                assert statement["Resource"] in RESOURCES[action], f"{function}: {action} on {statement['Resource']}"


def test_a_merchants_kms_key_on_the_secret_may_decrypt_it(resources: dict[str, Any], template: Template) -> None:
    key = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with_key = Resolver(template, parameters={"TerminalsSecretKmsKeyArn": key})
    readers = [function for function, calls in CODE_CALLS.items() if "secretsmanager:GetSecretValue" in calls]
    assert len(readers) == 9, "every function but the stream consumer reads the terminals"
    for function in readers:
        statements = granted(resources, function, with_key)
        (decrypt,) = [s for s in statements if "kms:Decrypt" in _actions(s)]
        assert decrypt["Resource"] == {"Ref": "TerminalsSecretKmsKeyArn"}
        via = decrypt["Condition"]["StringEquals"]["kms:ViaService"]
        assert with_key.resolve(via) == "secretsmanager.eu-west-3.amazonaws.com"
    assert all("kms:Decrypt" not in _actions(s) for s in granted(resources, "Cgi2Function", Resolver(template)))
    pattern = re.compile(template.parameters["TerminalsSecretKmsKeyArn"]["AllowedPattern"])
    assert pattern.fullmatch("")
    assert pattern.fullmatch(key)
    assert not pattern.fullmatch("alias/my-key")


# -- the policies for callers ----------------------------------------------------------------------------------


def _route_arn(method: str, path: str) -> str:
    path = re.sub(r"\{[^}]+\}", "*", path)
    prefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/${StageName}"
    return f"{prefix}/{method}{path}"


def test_caller_policies_cover_exactly_the_merchant_routes(resources: dict[str, Any], template: Template) -> None:
    by_policy = {}
    for name in ("ShopBackendPolicy", "BackOfficePolicy"):
        (statement,) = resources[name]["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Action"] == "execute-api:Invoke"
        by_policy[name] = {arn["Fn::Sub"] for arn in statement["Resource"]}
    merchant = {(r.method, r.path): r.function for r in template.routes() if r.authorizer == "AWS_IAM"}
    assert by_policy["ShopBackendPolicy"] | by_policy["BackOfficePolicy"] == {_route_arn(*r) for r in merchant}
    assert by_policy["ShopBackendPolicy"] == {_route_arn("POST", "/orders"), _route_arn("GET", "/orders/{reference}")}
    outputs = {name: output["Value"] for name, output in template.data["Outputs"].items()}
    assert outputs["ShopBackendPolicyArn"] == {"Ref": "ShopBackendPolicy"}
    assert outputs["BackOfficePolicyArn"] == {"Ref": "BackOfficePolicy"}


# -- data -----------------------------------------------------------------------------------------------------


def test_the_orders_table_cannot_be_deleted_by_accident(resources: dict[str, Any]) -> None:
    table = resources["OrdersTable"]
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
