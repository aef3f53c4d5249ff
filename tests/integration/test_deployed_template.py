"""The template as CloudFormation receives it, after the SAM transform: what actually gets deployed.

SAM adds resources and settings of its own (a second stage, caller credentials on integrations, roles and
managed policies): these tests read the transformed template, made by ``samtranslator`` in the tools
environment (``.tools``, which ``make test`` builds first), and hold it to what a payments team would sign off.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from stacktools.template import ROOT, Resolver, Template
from tests.support.deployed import actions, choose, role_of, statements, transformed

TABLE = {"Fn::GetAtt": ["OrdersTable", "Arn"]}
QUEUE = {"Fn::GetAtt": ["ConfirmationQueue", "Arn"]}
PARTS = {"Fn::GetAtt": ["ReconciliationQueue", "Arn"]}
SECRET = {"Ref": "TerminalsSecretArn"}
PEPPER = {"Ref": "ShopKeysPepper"}  # the pepper of the shop keys' hashes, not a terminal's key
STREAM = {"Fn::GetAtt": ["OrdersTable", "StreamArn"]}
POOL = {"Fn::GetAtt": ["ConsoleUserPool", "Arn"]}  # the console's users, and no other pool of the account
# A stack that sends e-mails (the mail function's only way to send is this parameter's identity).
MAILING = {"MailIdentity": "shop.example", "MailSettingsParameter": "/merchant-kit/mail"}
MAIL_SETTINGS = {
    "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${MailSettingsParameter}"
}

# What each function's code calls, and why; a function is granted these and nothing else.
CODE_CALLS: dict[str, dict[str, str]] = {
    "ShopKeyAuthorizerFunction": {
        "dynamodb:GetItem": "the shop key by its id (pk SHOPKEY)",
        "dynamodb:UpdateItem": "the key's last use, at most once a minute",
        "secretsmanager:GetSecretValue": "the pepper of the keys' hashes",
    },
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
        "sqs:ReceiveMessage": "Lambda's poller reads the confirmation queue",
        "sqs:DeleteMessage": "Lambda's poller deletes a message applied",
        "sqs:GetQueueAttributes": "Lambda's poller reads the queue's settings",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "BackofficeFunction": {
        "dynamodb:GetItem": "the order, an Idempotency-Key's record",
        "dynamodb:UpdateItem": "the operation's journal, a key's answer, a mark of the reviews",
        "dynamodb:PutItem": "an Idempotency-Key claimed",
        "dynamodb:DeleteItem": "an Idempotency-Key forgotten when its request did nothing",
        "dynamodb:Query": "orders by day (DateIndex), the orders needing attention (AttentionIndex)",
        "dynamodb:BatchGetItem": "the orders DateIndex and AttentionIndex name, read by key",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "DeferredSweeperFunction": {
        "dynamodb:GetItem": "the due order",
        "dynamodb:UpdateItem": "the operation's journal, the run's lease",
        "dynamodb:Query": "the due orders (DeadlineIndex), the second payments still to give back (GiveBackIndex)",
        "dynamodb:BatchGetItem": "the due orders DeadlineIndex names, read by key",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "GiveBackFunction": {
        "dynamodb:GetItem": "the order holding a second payment",
        "dynamodb:UpdateItem": "the give-back's journal entry and outcome",
        "secretsmanager:GetSecretValue": "the terminal configuration",
        "dynamodb:DescribeStream": "Lambda's poller reads the table's stream",
        "dynamodb:GetRecords": "Lambda's poller reads the table's stream",
        "dynamodb:GetShardIterator": "Lambda's poller reads the table's stream",
        "dynamodb:ListStreams": "Lambda's poller finds the table's stream",
    },
    "OrderEventsFunction": {
        "events:PutEvents": "the order events, on the stack's bus",
        "sqs:SendMessage": "Lambda's poller: a stream position it gave up on, to the dead-letter queue",
        "dynamodb:DescribeStream": "Lambda's poller reads the table's stream",
        "dynamodb:GetRecords": "Lambda's poller reads the table's stream",
        "dynamodb:GetShardIterator": "Lambda's poller reads the table's stream",
        "dynamodb:ListStreams": "Lambda's poller finds the table's stream",
    },
    "OrderMailFunction": {
        "dynamodb:GetItem": "the event's order",
        "dynamodb:PutItem": "a mail claimed once (MAIL# items only)",
        "dynamodb:DeleteItem": "a claim released when SES refused the mail",
        "ses:SendRawEmail": "the mail",
        "sqs:SendMessage": "Lambda: an event whose mail failed three times, to the dead-letter queue",
        "ssm:GetParameter": "the terminals' mail settings (MailSettingsParameter): never the terminal secret",
    },
    "ReconciliationFunction": {
        "dynamodb:GetItem": "the order a bank file's payment belongs to",
        "dynamodb:Query": "orders changed that day (ChangedIndex), orders awaiting payment by day (DateIndex), split"
        " payments by order month (SplitPaymentIndex)",
        "dynamodb:BatchGetItem": "the orders those indexes name, read by key",
        "s3:GetObject": "the bank's uploaded file of captures",
        "s3:PutObject": "the report, a run's plan",
        "s3:ListBucket": "a run with nothing to check: its report written once",
        "sqs:SendMessage": "a run's parts, to the reconciliation queue",
        "events:PutEvents": "ReconciliationReported",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "ReconciliationPartsFunction": {
        "dynamodb:GetItem": "the order checked",
        "dynamodb:UpdateItem": "a missed confirmation or a dashboard action repaired",
        "s3:GetObject": "the run's plan, the pieces assembled",
        "s3:PutObject": "the part's piece, the run's report",
        "s3:ListBucket": "the pieces kept (the checkpoint), the report written once",
        "sqs:SendMessage": "the rest of a part cut short by its time budget",
        "sqs:ReceiveMessage": "Lambda's poller reads the reconciliation queue",
        "sqs:DeleteMessage": "Lambda's poller deletes a part checked",
        "sqs:GetQueueAttributes": "Lambda's poller reads the queue's settings",
        "events:PutEvents": "ReconciliationReported",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
    "ConsoleFunction": {
        "dynamodb:GetItem": "an order, an Idempotency-Key's record, a session",
        "dynamodb:BatchGetItem": "the orders of a day DateIndex names, read by key",
        "dynamodb:Query": "orders by day (DateIndex), split payments (SplitPaymentIndex), what needs attention "
        "(AttentionIndex), an order's e-mails (MAIL#<reference>)",
        "dynamodb:UpdateItem": "an action's journal, a key's answer, reviews marked reviewed, a session's last page",
        "dynamodb:PutItem": "an Idempotency-Key claimed, a session opened",
        "dynamodb:DeleteItem": "an Idempotency-Key forgotten, a session closed (sign-out)",
        "s3:GetObject": "the reconciliation reports (reconciliation/), the last go-live and smoke results (checks/)",
        "s3:ListBucket": "the reconciliation reports of a day (reconciliation/), a terminal's results (checks/)",
        "secretsmanager:GetSecretValue": "the terminal configuration",
        "cognito-idp:AdminInitiateAuth": "a user's e-mail and password (the admin authentication flow)",
        "cognito-idp:AdminRespondToAuthChallenge": "a new password, an authenticator's code",
        "cognito-idp:AdminGetUser": "the user still enabled, their e-mail",
        "cognito-idp:AdminListGroupsForUser": "the user's role, at sign-in and before every action",
    },
    "GoLiveFunction": {
        "dynamodb:Query": "the day's test payments (DateIndex)",
        "dynamodb:BatchGetItem": "the orders of those days DateIndex names, read by key",
        "dynamodb:PutItem": "the smoke test's order (ORDER# items only)",
        "dynamodb:GetItem": "the smoke test's order read back",
        "dynamodb:DeleteItem": "the smoke test's order removed at its end",
        "s3:PutObject": "the terminal's last go-live check and smoke test kept (checks/<tpe>/)",
        "cloudwatch:SetAlarmState": "the smoke test's alarm set to ALARM, then back to OK",
        "cloudwatch:DescribeAlarmHistory": "what CloudWatch did with the smoke test's alarm action",
        "ses:GetIdentityVerificationAttributes": "the mail sender verified",
        "sns:GetTopicAttributes": "the alarm topic's key and access policy let CloudWatch publish",
        "sns:ListSubscriptionsByTopic": "someone hears the alarms",
        "kms:GetKeyPolicy": "the alarm topic's key lets CloudWatch use it",
        "ssm:GetParameter": "the terminal's mail settings, for its sender's check",
        "secretsmanager:GetSecretValue": "the terminal configuration",
    },
}
# Where each action may apply (besides the table, its indexes and the terminal secret).
RESOURCES: dict[str, list[Any]] = {
    "sqs:ChangeMessageVisibility": [QUEUE],
    "sqs:ReceiveMessage": [QUEUE, PARTS],
    "sqs:DeleteMessage": [QUEUE, PARTS],
    "sqs:GetQueueAttributes": [QUEUE, PARTS],
    "dynamodb:DescribeStream": [STREAM],
    "dynamodb:GetRecords": [STREAM],
    "dynamodb:GetShardIterator": [STREAM],
    "dynamodb:ListStreams": [{"Fn::Sub": "${OrdersTable.Arn}/stream/*"}],
    "sqs:SendMessage": [
        QUEUE,
        PARTS,
        {"Fn::GetAtt": ["OrderEventsDeadLetterQueue", "Arn"]},
        {"Fn::GetAtt": ["OrderMailDeadLetterQueue", "Arn"]},
    ],
    "events:PutEvents": [{"Fn::GetAtt": ["OrderEventsBus", "Arn"]}],
    "s3:GetObject": [
        {"Fn::Sub": "${ReconciliationBucket.Arn}/*"},
        {"Fn::Sub": "${ReconciliationBucket.Arn}/reconciliation/*"},
        [
            {"Fn::Sub": "${ReconciliationBucket.Arn}/reconciliation/*"},
            {"Fn::Sub": "${ReconciliationBucket.Arn}/checks/*"},
        ],
        [
            {"Fn::Sub": "${ReconciliationBucket.Arn}/runs/*"},
            {"Fn::Sub": "${ReconciliationBucket.Arn}/reconciliation/*"},
        ],
    ],
    "s3:PutObject": [
        {"Fn::Sub": "${ReconciliationBucket.Arn}/*"},
        {"Fn::Sub": "${ReconciliationBucket.Arn}/checks/*"},
        [
            {"Fn::Sub": "${ReconciliationBucket.Arn}/runs/*"},
            {"Fn::Sub": "${ReconciliationBucket.Arn}/reconciliation/*"},
        ],
    ],
    "s3:ListBucket": [{"Fn::GetAtt": ["ReconciliationBucket", "Arn"]}],
    "ses:SendRawEmail": [
        {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailIdentity}"}
    ],
    # SES defines no resource type for this read-only call: "*" is the only resource it takes.
    "ses:GetIdentityVerificationAttributes": ["*"],
    "sns:GetTopicAttributes": [{"Ref": "AlarmTopic"}],
    "sns:ListSubscriptionsByTopic": [{"Ref": "AlarmTopic"}],
    "kms:GetKeyPolicy": [{"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}],
    "cloudwatch:SetAlarmState": [{"Fn::GetAtt": ["SmokeTestAlarm", "Arn"]}],
    "cloudwatch:DescribeAlarmHistory": [{"Fn::GetAtt": ["SmokeTestAlarm", "Arn"]}],
    "secretsmanager:GetSecretValue": [SECRET, PEPPER],
    "cognito-idp:AdminInitiateAuth": [POOL],
    "cognito-idp:AdminRespondToAuthChallenge": [POOL],
    "cognito-idp:AdminGetUser": [POOL],
    "cognito-idp:AdminListGroupsForUser": [POOL],
    "ssm:GetParameter": [MAIL_SETTINGS],
}
# Who may read the terminal secret, and why: its keys seal and verify. A function that seals nothing and calls no
# bank does not hold it (the mail function reads its settings from MailSettingsParameter).
KEY_READERS = {
    "Cgi1Function": "seals the payment form of the order it creates",
    "CheckoutFunction": "seals the payment form it serves",
    "Cgi2Function": "verifies the bank's confirmations",
    "ConfirmationConsumerFunction": "verifies the queued confirmations again",
    "BackofficeFunction": "seals the bank's back-office calls (capture, cancel, refund, status)",
    "DeferredSweeperFunction": "seals the bank's back-office calls at the end of a deferral",
    "GiveBackFunction": "seals the refund or cancel of a second payment",
    "ReconciliationPartsFunction": "seals the status requests and the repairs' back-office calls",
    "GoLiveFunction": "the key's control string; the smoke test seals its refusals",
    "ConsoleFunction": "seals the bank's back-office calls of the console's actions (capture, cancel, refund)",
    # Seals nothing: it reads the terminals' time zones (the days of the books) from the same document.
    "ReconciliationFunction": "the terminals' time zones, for the days it plans and the books it compares",
}
# The AWS managed policies a function's role may hold, and what each grants: their documents are AWS's (AWS
# Managed Policy Reference, docs.aws.amazon.com/aws-managed-policy/latest/reference/<name>.html), every action on
# "*". SAM attaches the first two to each role it makes (Tracing: Active brings X-Ray's).
AWS_MANAGED: dict[str, tuple[str, ...]] = {
    # "Provides write permissions to CloudWatch Logs."
    "service-role/AWSLambdaBasicExecutionRole": ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
    # "AWS X-Ray write only managed policy"
    "AWSXrayWriteOnlyAccess": (
        "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    ),
}  # fmt: skip
# What SAM attaches for an event source unless the function has a role of its own: data actions on every queue
# or every stream of the account. No role may hold them; the pollers' roles name their queue and stream instead.
REFUSED_MANAGED: dict[str, tuple[str, ...]] = {
    "service-role/AWSLambdaSQSQueueExecutionRole": (
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
    ),
    "service-role/AWSLambdaDynamoDBExecutionRole": (
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
    ),
}  # fmt: skip
DATA_SERVICES = ("dynamodb:", "sqs:", "secretsmanager:", "kms:", "s3:")


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


APIS = ("Api", "KeysApi")  # the API of SigV4 callers and the public routes, and the one of shop keys' callers


def integrations(resources: dict[str, dict[str, Any]], api: str = "Api") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, integration) of every operation of a REST API's OpenAPI body."""
    body = resources[api]["Properties"]["Body"]
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation["x-amazon-apigateway-integration"]


def stage_of(resources: dict[str, Any], api: str) -> dict[str, Any]:
    (stage,) = [
        stage
        for stage in of_type(resources, "AWS::ApiGateway::Stage").values()
        if stage["Properties"]["RestApiId"] == {"Ref": api}
    ]
    return stage


# -- the API --------------------------------------------------------------------------------------------------


def test_the_only_stage_is_the_parameters_and_no_deployment_makes_another(resources: dict[str, Any]) -> None:
    stages = of_type(resources, "AWS::ApiGateway::Stage")
    assert len(stages) == len(APIS)
    assert [stage_of(resources, api)["Properties"]["StageName"] for api in APIS] == [{"Ref": "StageName"}] * len(APIS)
    for name, deployment in of_type(resources, "AWS::ApiGateway::Deployment").items():
        assert "StageName" not in deployment["Properties"], f"{name} creates a stage of its own"


def test_no_integration_runs_with_the_callers_credentials(resources: dict[str, Any], template: Template) -> None:
    operations = [operation for api in APIS for operation in integrations(resources, api)]
    assert len(operations) == len(template.routes())
    for method, path, integration in operations:
        assert "credentials" not in integration, f"{method} {path}: callers would need lambda:InvokeFunction"


def test_api_gateway_may_invoke_every_function_behind_a_route(resources: dict[str, Any], template: Template) -> None:
    permitted = {
        resource["Properties"]["FunctionName"]["Ref"]
        for resource in of_type(resources, "AWS::Lambda::Permission").values()
        if resource["Properties"]["Principal"] == "apigateway.amazonaws.com"
        and "Ref" in resource["Properties"]["FunctionName"]
    }
    assert permitted == {route.function for route in template.routes()}
    # The shop keys' authorizer is invoked by API Gateway as an authorizer, not behind a route.
    authorizers = {
        resource["Properties"]["FunctionName"]["Fn::GetAtt"][0]
        for resource in of_type(resources, "AWS::Lambda::Permission").values()
        if "Fn::GetAtt" in resource["Properties"]["FunctionName"]
    }
    assert authorizers == {"ShopKeyAuthorizerFunction"}


def test_public_routes_are_throttled_on_the_stage(resources: dict[str, Any], template: Template) -> None:
    stage = stage_of(resources, "Api")
    settings = {
        (setting["HttpMethod"], setting["ResourcePath"].replace("~1", "/")[1:]): setting
        for setting in stage["Properties"]["MethodSettings"]
    }
    public = {(r.method, r.path) for r in template.routes() if r.authorizer == "NONE"}
    console = {("GET", "/console"), ("GET", "/console/{proxy+}"), ("POST", "/console/{proxy+}")}
    assert public == {("GET", "/checkout/{token}"), ("POST", "/confirmation")} | console
    for route in public:
        assert "ThrottlingRateLimit" in settings[route], route
        assert "ThrottlingBurstLimit" in settings[route], route
    parameters = template.parameters
    for name in ("CheckoutRateLimit", "CheckoutBurstLimit", "ConfirmationRateLimit", "ConfirmationBurstLimit"):
        assert parameters[name]["Type"] == "Number"
        assert parameters[name]["MinValue"] >= 1


def test_every_route_of_the_key_callers_api_is_throttled(resources: dict[str, Any], template: Template) -> None:
    (setting,) = stage_of(resources, "KeysApi")["Properties"]["MethodSettings"]
    assert (setting["HttpMethod"], setting["ResourcePath"]) == ("*", "/*")
    assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (
        {"Ref": "KeysApiRateLimit"}, {"Ref": "KeysApiBurstLimit"},
    )  # fmt: skip
    for name in ("KeysApiRateLimit", "KeysApiBurstLimit"):
        assert template.parameters[name]["Type"] == "Number"
        assert template.parameters[name]["MinValue"] >= 1


def test_the_stage_writes_an_access_log_unless_told_not_to(resources: dict[str, Any], template: Template) -> None:
    keys_stage = stage_of(resources, "KeysApi")["Properties"]["AccessLogSetting"]["Fn::If"]
    assert keys_stage[0] == "HasAccessLog"
    assert '"caller":"$context.authorizer.principalId"' in keys_stage[1]["Format"], "a key's id, never the key"
    stage = stage_of(resources, "Api")
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
    assert set(functions) == set(CODE_CALLS)
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


def aws_managed(arn: Any) -> str:
    """The name of an AWS managed policy (``service-role/...``) from its ARN as SAM or the template writes it;
    "" for a policy of the template's own."""
    text = arn if isinstance(arn, str) else arn.get("Fn::Sub", "")
    prefix = re.match(r"arn:(aws|\$\{AWS::Partition\}):iam::aws:policy/", text)
    return text[prefix.end() :] if prefix else ""


def managed_policies(resources: dict[str, Any], function: str) -> list[str]:
    return [name for arn in role_of(resources, function).get("ManagedPolicyArns", []) if (name := aws_managed(arn))]


def granted(resources: dict[str, Any], function: str, resolver: Resolver) -> list[dict[str, Any]]:
    """Every statement the function's role holds: inline policies, and the template's own managed policies."""
    role = role_of(resources, function)
    found = [s for policy in role.get("Policies", []) for s in statements(policy["PolicyDocument"], resolver)]
    for arn in role.get("ManagedPolicyArns", []):
        if aws_managed(arn):
            continue  # what these grant: test_the_aws_managed_policies_grant_no_data_access
        policy = resources[arn["Ref"]]
        assert policy["Type"] == "AWS::IAM::ManagedPolicy"
        found += statements(policy["Properties"]["PolicyDocument"], resolver)
    return found


@pytest.mark.parametrize("function", sorted(CODE_CALLS))
def test_each_function_holds_exactly_the_data_actions_its_code_calls(
    resources: dict[str, Any], template: Template, function: str
) -> None:
    held = granted(resources, function, Resolver(template, parameters=MAILING))
    named = set()
    for statement in held:
        assert statement["Effect"] == "Allow"
        for action in actions(statement):
            assert "*" not in action, f"{function}: wildcard action {action}"
            named.add(action)
    assert named == set(CODE_CALLS[function])
    for statement in held:
        for action in actions(statement):
            if action == "dynamodb:Query" and statement["Resource"] == TABLE:
                # A query of the table itself reads its partitions only: the shop keys' (pk SHOPKEY), an order's
                # e-mails (pk MAIL#<reference>).
                leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                assert leading in (["SHOPKEY"], ["MAIL#*"]), f"{function}: a table query without its partition"
            elif action == "dynamodb:Query":
                indexes = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                for index in indexes:
                    assert index["Fn::Sub"].startswith("${OrdersTable.Arn}/index/"), f"{function}: an index"
            elif action in RESOURCES:
                assert statement["Resource"] in RESOURCES[action], f"{function}: {action} on {statement['Resource']}"
            elif action.startswith("dynamodb:"):
                assert statement["Resource"] == TABLE
            else:
                assert statement["Resource"] in RESOURCES[action], f"{function}: {action} on {statement['Resource']}"


@pytest.mark.parametrize("function", sorted(CODE_CALLS))
def test_the_aws_managed_policies_grant_no_data_access(resources: dict[str, Any], function: str) -> None:
    names = managed_policies(resources, function)
    for name in names:
        assert name not in REFUSED_MANAGED, f"{function}: {name} grants {REFUSED_MANAGED[name]} on every resource"
        assert name in AWS_MANAGED, f"{function}: {name} is not an AWS managed policy this test knows the grants of"
        assert [action for action in AWS_MANAGED[name] if action.startswith(DATA_SERVICES)] == []
    assert sorted(names) == sorted(AWS_MANAGED), f"{function}: its logs and traces"


def test_the_refused_managed_policies_are_what_the_pollers_would_get(resources: dict[str, Any]) -> None:
    """The reason for the pollers' own roles: what AWS's policies grant on every resource, against what the roles
    grant on the stack's queue and stream (the data actions of each managed policy, no more)."""
    for name, function in [
        ("service-role/AWSLambdaSQSQueueExecutionRole", "ConfirmationConsumerFunction"),
        ("service-role/AWSLambdaSQSQueueExecutionRole", "ReconciliationPartsFunction"),
        ("service-role/AWSLambdaDynamoDBExecutionRole", "OrderEventsFunction"),
    ]:
        data = {action for action in REFUSED_MANAGED[name] if action.startswith(DATA_SERVICES)}
        assert data <= set(CODE_CALLS[function]), f"{function} needs {sorted(data)}, on its own queue or stream"
        role = role_of(resources, function)
        assert resources[function]["Properties"]["Role"] == {"Fn::GetAtt": [f"{function}Role", "Arn"]}
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_mail_is_sent_as_the_configured_identity_only(resources: dict[str, Any], template: Template) -> None:
    mailing = [s for s in granted(resources, "OrderMailFunction", Resolver(template, parameters=MAILING))]
    (send,) = [s for s in mailing if "ses:SendRawEmail" in actions(s)]
    arn = Resolver(template, parameters=MAILING).resolve(send["Resource"])
    assert arn == "arn:aws:ses:eu-west-3:123456789012:identity/shop.example"
    silent = granted(resources, "OrderMailFunction", Resolver(template))
    assert all("ses:SendRawEmail" not in actions(s) for s in silent), "no identity: no sending"
    pattern = re.compile(template.parameters["MailIdentity"]["AllowedPattern"])
    for value in ("", "shop.example", "boutique@shop.example"):
        assert pattern.fullmatch(value), value
    for value in ("*", "identity/*", "shop", "a b.example"):
        assert not pattern.fullmatch(value), value


def test_only_the_functions_that_seal_or_verify_may_read_the_keys(
    resources: dict[str, Any], template: Template
) -> None:
    """The terminal secret holds every terminal's key: a function able to read it could seal a confirmation of any
    order. The mail function, which renders buyers' data into mails, reads its settings elsewhere."""
    for resolver in (Resolver(template), Resolver(template, parameters=MAILING)):
        readers = {
            function
            for function in CODE_CALLS
            for statement in granted(resources, function, resolver)
            if "secretsmanager:GetSecretValue" in actions(statement) and statement["Resource"] != PEPPER
        }
        assert readers == set(KEY_READERS)
    assert "OrderMailFunction" not in KEY_READERS
    mailer = granted(resources, "OrderMailFunction", Resolver(template, parameters=MAILING))
    assert all(s["Resource"] != SECRET and "Terminals" not in str(s["Resource"]) for s in mailer)
    (settings,) = [s for s in mailer if "ssm:GetParameter" in actions(s)]
    arn = Resolver(template, parameters=MAILING).resolve(settings["Resource"])
    assert arn == "arn:aws:ssm:eu-west-3:123456789012:parameter/merchant-kit/mail"
    assert all(
        "ssm:GetParameter" not in actions(s) for s in granted(resources, "OrderMailFunction", Resolver(template))
    )
    pattern = re.compile(template.parameters["MailSettingsParameter"]["AllowedPattern"])
    for value in ("", "/merchant-kit/mail", "/shop/mail.json"):
        assert pattern.fullmatch(value), value
    for value in ("merchant-kit/mail", "/*", "/a b", "/merchant-kit/"):
        assert not pattern.fullmatch(value), value


def test_a_merchants_kms_key_on_the_secret_may_decrypt_it(resources: dict[str, Any], template: Template) -> None:
    key = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with_key = Resolver(template, parameters={"TerminalsSecretKmsKeyArn": key})
    readers = [function for function, calls in CODE_CALLS.items() if "secretsmanager:GetSecretValue" in calls]
    assert set(readers) == {*KEY_READERS, "ShopKeyAuthorizerFunction"}
    for function in KEY_READERS:
        held = granted(resources, function, with_key)
        (decrypt,) = [s for s in held if "kms:Decrypt" in actions(s)]
        assert decrypt["Resource"] == {"Ref": "TerminalsSecretKmsKeyArn"}
        via = decrypt["Condition"]["StringEquals"]["kms:ViaService"]
        assert with_key.resolve(via) == "secretsmanager.eu-west-3.amazonaws.com"
    assert all("kms:Decrypt" not in actions(s) for s in granted(resources, "Cgi2Function", Resolver(template)))
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


def test_the_golive_check_reads_the_alarm_topics_key_only_when_it_has_one(
    resources: dict[str, Any], template: Template
) -> None:
    unencrypted = Resolver(template, parameters={"AlarmTopicEncryption": "none"})
    named = {a for s in granted(resources, "GoLiveFunction", unencrypted) for a in actions(s)}
    assert "kms:GetKeyPolicy" not in named
    assert {"sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"} <= named
